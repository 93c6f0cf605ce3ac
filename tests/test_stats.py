"""The stats screen and its figures (tui/stats.py, tui/screens/stats_screen.py).

The oracles are what the tests put in: a library generated here from a plan (which papers
each source carried on which day, who read and starred what at which time), counted again in
Python from that plan; and, on the sample feeds, the library's own search (``source:``,
``feed:``) and each paper's record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tui.feeds.base import ParseResult
from tui.library import Library, core
from tui.models import Paper, Source
from tui.stats import (
    AGE_BUCKETS,
    BAR_MARKS,
    EMPTY,
    FIGURES,
    TITLES,
    UNDATED,
    WEEK,
    count_ticks,
    reading_stats,
    render_plot,
)

from .conftest import TODAY
from .test_app import build

UTC = timedelta(0)
SOURCES = {"hf": "hf-html", "arxiv": "arxiv-rss", "digest": "digest"}


# --------------------------------------------------------------------------- a planned library
def _paper(n: int) -> Paper:
    aid = f"2611.{n:05d}"
    return Paper(
        arxiv_id=aid,
        title=f"Planned paper number {n} on token caching for diffusion transformers",
        authors=[f"Author {n}"],
        abstract=f"Paper {n} studies caching. " * 6,
        abs_url=f"https://arxiv.org/abs/{aid}",
    )


class Plan:
    """What the planned library holds: ``carried[(day, source)]``: the paper numbers that
    source's feed carried that day; ``first[n]``: the day paper n was first carried."""

    def __init__(self) -> None:
        self.carried: dict[tuple[date, str], set[int]] = {}
        self.first: dict[int, date] = {}

    def carry(self, day: date, source: str, papers: range | list[int]) -> None:
        self.carried.setdefault((day, source), set()).update(papers)
        for n in papers:
            self.first[n] = min(self.first.get(n, day), day)


def _plan() -> Plan:
    """70 days of feeds before TODAY: hf every weekday, arXiv every other day, a digest on
    Mondays; papers that two sources (and two formats of one source) carried on one day, and
    papers an hf page carried again days later."""
    plan = Plan()
    n = 0
    for back in range(70, -1, -1):
        day = TODAY - timedelta(days=back)
        if day.weekday() < 5:
            plan.carry(day, "hf", range(n, n + 1 + back % 4))
            n += 1 + back % 4
        if back % 2 == 0:
            plan.carry(day, "arxiv", range(n, n + 3))
            plan.carry(day, "hf", [n])  # also on the HF page that day: once for each source
            n += 3
        if day.weekday() == 0:
            plan.carry(day, "digest", range(n, n + 5))
            n += 5
    # An hf page carries ten days later two papers only it carried before (one more day
    # each). (Not a paper arXiv carried too: the library keeps which sources carried a paper
    # and on which days, not which source on which day; tui/stats.py says so.)
    again = sorted(plan.carried[(TODAY - timedelta(days=19), "hf")])[:2]
    assert not any(again[0] in p for (d, s), p in plan.carried.items() if s != "hf")
    plan.carry(TODAY - timedelta(days=9), "hf", again)
    return plan


def _import(lib: Library, plan: Plan) -> None:
    feeds = []
    for (day, source), papers in sorted(plan.carried.items()):
        fmt = SOURCES[source]
        formats = [fmt, "hf-text"] if source == "hf" and day.weekday() == 2 else [fmt]
        for f in formats:  # (on Wednesdays the hf papers come as an HF page and HF text)
            origin = f"/feeds/{day.isoformat()}-{f}"
            source_ = Source(
                format=f,
                origin=origin,
                feed_date=day.isoformat(),
                digest=hashlib.sha1(origin.encode()).hexdigest()[:16],
                imported_at=f"{day.isoformat()}T07:00:00+00:00",
            )
            result = ParseResult(f, [_paper(k) for k in sorted(papers)], day.isoformat())
            feeds.append((result, source_))
    lib.import_feeds(feeds)


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr(core, "now_iso", lambda: when.isoformat(timespec="seconds"))


def _noon(day: date) -> datetime:
    """Noon UTC: the same day in every time zone from UTC-11 to UTC+11."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


@pytest.fixture
def planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Library, Plan, dict]:
    """The planned library, with state set at known times: returns it, the plan, and the
    expected read/starred days and tags (``truth``)."""
    lib = Library.open(tmp_path / "lib")
    plan = _plan()
    _import(lib, plan)
    pid = {n: lib.resolve(f"2611.{n:05d}") for n in plan.first}
    read_on: dict[int, date] = {}
    starred_on: dict[int, date] = {}
    sessions = [  # (days before TODAY, papers read, papers starred)
        (30, range(0, 12), [1, 2]),
        (9, range(12, 30), [13]),
        (2, range(30, 37), [31, 32, 33]),
        (0, range(37, 41), []),
    ]
    for back, reads, stars in sessions:
        day = TODAY - timedelta(days=back)
        _at(monkeypatch, _noon(day))
        lib.set_state([pid[k] for k in reads], "read", read=True)
        read_on.update(dict.fromkeys(reads, day))
        if stars:
            lib.set_state([pid[k] for k in stars], "star", starred=True)
            starred_on.update(dict.fromkeys(stars, day))
            read_on.update(dict.fromkeys(stars, day))  # (its state changed that day)
    # Tagged later: paper 3 (read 30 days ago) now counts as read on the day of the tag.
    tag_day = TODAY - timedelta(days=1)
    _at(monkeypatch, _noon(tag_day))
    tags = {1: ["Caching", "DiT"], 3: ["caching"], 13: ["DiT"], 50: ["later"], 31: ["DiT"]}
    for k, t in tags.items():
        lib.set_state([pid[k]], "tag", tags=t)
        for d in (read_on, starred_on):
            if k in d:
                d[k] = tag_day
    # Read then unread again: no longer read, so not counted as read on any day.
    _at(monkeypatch, _noon(TODAY))
    lib.set_state([pid[40]], "unread", read=False)
    del read_on[40]
    # Read 200 days ago (a change at a known time, before the window): on no day shown.
    _at(monkeypatch, _noon(TODAY - timedelta(days=200)))
    lib.set_state([pid[41]], "read", read=True)
    read_on[41] = TODAY - timedelta(days=200)
    return lib, plan, {"read": read_on, "starred": starred_on, "tags": tags, "pid": pid}


def test_papers_per_day_by_source_are_the_plan(planned: tuple[Library, Plan, dict]) -> None:
    lib, plan, _ = planned
    stats = reading_stats(lib, TODAY, utc_offset=UTC)
    days = stats.by_source.days
    assert len(days) == 90 and days[-1] == TODAY and days[0] == TODAY - timedelta(days=89)
    for source in SOURCES:
        expected = tuple(len(plan.carried.get((d, source), ())) for d in days)
        assert stats.by_source.counts(source) == expected, source
    # Series in order of their totals: the one that carried the most first.
    totals = [s.total for s in stats.by_source.series]
    assert totals == sorted(totals, reverse=True) and len(totals) == 3


def test_read_and_starred_per_day_by_the_day_the_state_last_changed(
    planned: tuple[Library, Plan, dict],
) -> None:
    lib, _, truth = planned
    stats = reading_stats(lib, TODAY, utc_offset=UTC)
    days = stats.triage.days
    for name in ("read", "starred"):
        per_day = Counter(truth[name].values())
        assert stats.triage.counts(name) == tuple(per_day[d] for d in days), name
    assert [s.name for s in stats.triage.series] == ["read", "starred"]
    # A shorter window drops the older days; the counts of the days kept are the same.
    week = reading_stats(lib, TODAY, days=7, utc_offset=UTC)
    assert week.triage.counts("read") == stats.triage.counts("read")[-7:]


def test_read_times_are_counted_in_the_readers_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = Library.open(tmp_path / "lib")
    plan = Plan()
    plan.carry(TODAY, "arxiv", range(3))
    _import(lib, plan)
    # 23:30 UTC on the day before TODAY: TODAY one hour east, that day at UTC.
    _at(monkeypatch, datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc))
    lib.set_state([lib.resolve("2611.00000")], "read", read=True)
    utc = reading_stats(lib, TODAY, utc_offset=UTC).triage.counts("read")
    east = reading_stats(lib, TODAY, utc_offset=timedelta(hours=1)).triage.counts("read")
    assert utc[-2:] == (1, 0)
    assert east[-2:] == (0, 1)


def test_top_tags_count_their_papers_and_starred_papers(
    planned: tuple[Library, Plan, dict],
) -> None:
    lib, _, truth = planned
    stats = reading_stats(lib, TODAY, utc_offset=UTC)
    papers: Counter[str] = Counter()
    starred: Counter[str] = Counter()
    written: dict[str, str] = {}
    for k, tags in truth["tags"].items():
        for t in tags:
            written.setdefault(t.casefold(), t)  # (shown as first written)
            papers[t.casefold()] += 1
            starred[t.casefold()] += k in truth["starred"]
    assert {(t.tag.casefold(), t.papers, t.starred) for t in stats.tags} == {
        (t, papers[t], starred[t]) for t in papers
    }
    assert [t.papers for t in stats.tags] == sorted((t.papers for t in stats.tags), reverse=True)
    assert {t.tag for t in stats.tags} <= set(written.values()) | {"caching"}


def _age_bucket(first: date | None) -> str:
    if first is None:
        return UNDATED
    age = (TODAY - first).days
    for label, days in AGE_BUCKETS:
        if days is None or age <= days:
            return label
    raise AssertionError


def test_inbox_age_counts_unread_papers_by_first_feed_date(
    planned: tuple[Library, Plan, dict],
) -> None:
    lib, plan, truth = planned
    stats = reading_stats(lib, TODAY, utc_offset=UTC)
    unread = [n for n in plan.first if n not in truth["read"] and n not in truth["starred"]]
    # (every starred paper of the plan was read too)
    assert stats.inbox.unread == len(unread) == stats.unread
    expected = Counter(_age_bucket(plan.first[n]) for n in unread)
    assert dict(stats.inbox.buckets) == {label: expected[label] for label, _ in AGE_BUCKETS}
    old = sum(1 for n in unread if (TODAY - plan.first[n]).days > WEEK)
    assert stats.inbox.older_than_week == old > 0


def test_figures_of_the_sample_feeds_agree_with_the_search(sample_library: Library) -> None:
    lib = sample_library
    stats = reading_stats(lib, TODAY, days=400, utc_offset=UTC)
    for series in stats.by_source.series:
        for day, count in zip(stats.by_source.days, series.counts, strict=True):
            found = len(lib.query(f"source:{series.name} feed:{day.isoformat()}"))
            assert count == found, (series.name, day)
    assert stats.by_source.series and sum(s.total for s in stats.by_source.series) >= 107
    expected = Counter(
        _age_bucket(date.fromisoformat(d) if (d := lib.get(pid).feed_date) else None)
        for pid in lib.query("is:unread")
    )
    labels = [label for label, _ in AGE_BUCKETS] + ([UNDATED] if expected[UNDATED] else [])
    assert dict(stats.inbox.buckets) == {label: expected[label] for label in labels}
    assert stats.papers == 107 and stats.tags == () and stats.triage.empty


def test_an_empty_library_has_nothing_to_plot(empty_library: Library) -> None:
    stats = reading_stats(empty_library, TODAY)
    assert stats.empty and stats.by_source.empty and stats.triage.empty
    assert stats.inbox.unread == 0 and stats.tags == ()
    assert render_plot(empty_library, 120, 40, TODAY) == EMPTY + "\n"


def test_count_ticks_are_whole_and_cover_the_top() -> None:
    for top in (1, 2, 5, 6, 13, 17, 99, 104, 1234, 98765):
        ticks = count_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6
        steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
        assert len(steps) == 1 and str(steps.pop()).strip("0") in ("1", "2", "5")


# --------------------------------------------------------------------------- render_plot
def test_render_plot_draws_four_plots_as_plain_text(
    planned: tuple[Library, Plan, dict],
) -> None:
    lib, _, truth = planned
    lib.set_state([truth["pid"][60]], "tag", tags=["evil\x1b[2Jtag\x1b]0;title\x07"])
    lib.set_state([truth["pid"][61]], "tag", tags=["扩散模型的特征缓存与加速方法综述"])
    text = render_plot(lib, 120, 40, TODAY)
    lines = text.splitlines()
    assert "\x1b" not in text and "\x07" not in text
    # (every line as wide on screen as asked: a Chinese tag's characters take two columns)
    assert all(cell_len(line) <= 120 for line in lines) and len(lines) == 40
    assert len({cell_len(ln[: ln.index("┤")]) for ln in lines if "★" in ln and "┤" in ln}) == 1
    assert "扩散模型的特征缓…" in text
    for figure in FIGURES:
        assert TITLES[figure] in text
    assert "eviltag" in text  # (the tag shown, its escapes not)
    # Side by side from 100 columns, one above the other below.
    assert sum(TITLES["sources"] in line and TITLES["triage"] in line for line in lines) == 1
    narrow = render_plot(lib, 80, 96, TODAY)
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert not any(TITLES["sources"] in ln and TITLES["triage"] in ln for ln in narrow.splitlines())
    coloured = render_plot(lib, 120, 40, TODAY, color=True)
    assert "\x1b[" in coloured and "\x1b[2J" not in coloured and "\x1b]" not in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).count("Top tags") == 1


# --------------------------------------------------------------------------- the screen
async def _open(pilot: Any, *keys: str) -> Any:
    from tui.screens.stats_screen import StatsScreen

    await pilot.press(*keys)
    await _drawn(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StatsScreen)
    return screen


async def _drawn(pilot: Any) -> None:
    """Wait for the figures, then for the plots drawn from them (workers started by the
    renders the figures bring)."""
    for _ in range(5):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not pilot.app.workers._workers:
            break


def _shown(screen: Any) -> list[str]:
    from tui.screens.stats_screen import StatsPlot

    return [
        p.figure
        for p in screen.query(StatsPlot)
        if p.display and p.region.width > 20 and p.region.height > 8 and p.drawn
    ]


async def test_stats_key_shows_four_plots_and_closes(
    planned: tuple[Library, Plan, dict], tmp_path: Path
) -> None:
    lib, _, _ = planned
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = await _open(pilot, "number_sign")
        assert _shown(screen) == list(FIGURES)
        status = str(screen.query_one("#stats-status").render())
        assert f"{len(lib):,} papers" in status
        starred = lib.counts()["starred"]
        await pilot.press("j", "s")  # (no paper is starred behind the screen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        await _open(pilot, "number_sign")
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and app.is_running
    assert lib.counts()["starred"] == starred


async def test_palette_opens_stats_and_small_terminals_show_one_plot(
    planned: tuple[Library, Plan, dict], tmp_path: Path
) -> None:
    lib, _, _ = planned
    app = build(lib, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p", *"reading statistics")
        await pilot.pause(0.3)
        screen = await _open(pilot, "enter")
        assert _shown(screen) == ["sources"]
        await pilot.press("tab")
        await _drawn(pilot)
        assert _shown(screen) == ["triage"]
        await pilot.press("4")
        await _drawn(pilot)
        assert _shown(screen) == ["inbox"]
        await pilot.press("left")
        await _drawn(pilot)
        assert _shown(screen) == ["tags"]


async def test_typing_hash_in_the_search_box_searches(sample_library: Library, tmp_path) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", "number_sign")
        await pilot.pause()
        assert app.search_box.value == "#"
        assert app.screen is app.screen_stack[0]
        await app.workers.wait_for_complete()  # (the search's result, before the app ends)
        await pilot.pause()


async def test_empty_library_says_nothing_to_plot(empty_library: Library, tmp_path) -> None:
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = await _open(pilot, "number_sign")
        assert _shown(screen) == []
        empty = screen.query_one("#stats-empty")
        assert empty.display and EMPTY in str(empty.render())


# --------------------------------------------------------------------------- snapshots
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_stats_screen_snapshot(
    snap_compare: Any, planned: tuple[Library, Plan, dict], tmp_path: Path, size: Any
) -> None:
    lib, _, _ = planned

    async def run_before(pilot: Any) -> None:
        await _open(pilot, "number_sign")

    app = build(lib, tmp_path, theme="textual-dark")
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_papertui_stats_plot_draws_the_four_plots_in_a_pipe(sample_library: Library) -> None:
    from .test_cli import run

    done = run("stats", "--plot", db=sample_library.root, env={"COLUMNS": "120", "LINES": "40"})
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout  # (a pipe: no colours)
    assert all(title in done.stdout for title in TITLES.values())
    assert f"{len(sample_library)} unread" in done.stdout  # (the inbox plot's headline)


# --------------------------------------------------------------------------- small sizes
LONG_TAG = "a-tag-far-longer-than-any-label-has-room-for"
FAMILY = "👨\u200d👩\u200d👧\u200d👦family"  # (a ZWJ emoji: its width depends on the terminal)


def _tagged(planned: tuple[Library, Plan, dict]) -> Library:
    lib, _, truth = planned
    lib.set_state([truth["pid"][60], truth["pid"][62]], "tag", tags=[LONG_TAG])
    lib.set_state([truth["pid"][61]], "tag", tags=[FAMILY])
    return lib


def _ticks(lines: list[str]) -> list[int]:
    """The value axis's labels of a vertical plot, top to bottom ("12┤")."""
    return [int(m.group(1)) for ln in lines if (m := re.match(r"\s*(\d+)┤", ln))]


def _joined(text: str) -> str:
    return " ".join(text.split())  # (wrapped lines joined)


@pytest.mark.parametrize("columns", [10, 24, 40, 64])
def test_papertui_stats_plot_at_small_widths_keeps_titles_and_draws_no_empty_box(
    planned: tuple[Library, Plan, dict], columns: int
) -> None:
    from .test_cli import run

    lib = _tagged(planned)
    env = {"COLUMNS": str(columns), "LINES": "10"}
    done = run("stats", "--plot", db=lib.root, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(cell_len(line) <= columns for line in lines)
    for figure in FIGURES:  # (each title whole, wrapped on narrow terminals)
        assert TITLES[figure] in _joined(done.stdout), figure
    boxes = sum(line.lstrip().startswith("┌") for line in lines)
    if columns < 30:  # too narrow to plot: the figures as lines of text, and no frame
        assert boxes == 0 and "┤" not in done.stdout
        assert "digest:" in done.stdout and "≤1 week:" in done.stdout
        assert "a-tag-" in done.stdout and "\u200d" not in done.stdout
    else:  # each figure a plot with something in it, values growing upwards
        assert boxes == 4
        assert not re.search(r"┌─*┐\n\s*└", done.stdout)  # (no frame with nothing inside)
        frames = re.findall(r"┌.*?└", done.stdout, re.S)  # (each plot's frame, its inside)
        assert len(frames) == 4
        for frame in frames:
            ticks = _ticks(frame.splitlines())
            assert ticks == sorted(set(ticks), reverse=True), frame
    assert "\u200d" not in done.stdout  # (the ZWJ emoji tag drawn without its joiners)


def test_the_tag_plot_keeps_its_title_with_long_and_emoji_tags(
    planned: tuple[Library, Plan, dict],
) -> None:
    lib = _tagged(planned)
    for width in (40, 60, 120):
        text = render_plot(lib, width, 60, TODAY)
        assert "Top tags: papers, the starred first (★)" in _joined(text), width
        bars = [ln for ln in text.splitlines() if "★" in ln and "┤" in ln]
        assert any("a-tag-" in ln for ln in bars) and any("family" in ln for ln in bars)
        assert len({cell_len(ln[: ln.index("┤")]) for ln in bars}) == 1, width  # (aligned)


def test_papertui_stats_of_an_empty_library_has_no_empty_line(empty_library: Library) -> None:
    from .test_cli import run

    done = run("stats", db=empty_library.root)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows and all(len(row.split(None, 1)) == 2 for row in rows), rows
    assert any(row.split() == ["feeds", "-"] for row in rows)


@pytest.mark.parametrize("size", [(40, 10), (60, 16), (10, 12)])
async def test_the_stats_screen_at_small_sizes_says_each_figure_or_plots_it_upright(
    planned: tuple[Library, Plan, dict], tmp_path: Path, size: tuple[int, int]
) -> None:
    from tui.screens.stats_screen import StatsPlot

    lib = _tagged(planned)
    app = build(lib, tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = await _open(pilot, "number_sign")
        for i, figure in enumerate(FIGURES):
            await pilot.press(str(i + 1))
            await _drawn(pilot)
            plot = screen.query_one(f"#plot-{figure}", StatsPlot)
            width, height = plot.size
            lines = plot.render().plain.splitlines()  # type: ignore[union-attr]
            assert 0 < len(lines) <= height and all(cell_len(ln) <= width for ln in lines)
            text = _joined("\n".join(lines))
            words = TITLES[figure].split()
            assert " ".join(words[: max(1, min(len(words), height - 1))]) in text or (
                height < 3 and words[0] in text
            ), (figure, lines)
            if "┌" in text:  # a plot: its values grow upwards, its frame holds something
                ticks = _ticks(lines)
                assert ticks == sorted(ticks, reverse=True), (figure, lines)
                assert len(lines) >= 7
            else:
                assert "┤" not in text and "└" not in text


async def test_under_no_color_the_screen_tells_series_apart_by_marks(
    planned: tuple[Library, Plan, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.screens.stats_screen import StatsPlot

    monkeypatch.setenv("NO_COLOR", "1")
    lib, _, _ = planned
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = await _open(pilot, "number_sign")
        triage = screen.query_one("#plot-triage", StatsPlot).render().plain  # type: ignore[union-attr]
        sources = screen.query_one("#plot-sources", StatsPlot).render().plain  # type: ignore[union-attr]
    assert "•• read" in triage and "xx starred" in triage  # (LINE_MARKS, not colours)
    legend = dict(re.findall(r"(\S)\1 (digest|arxiv|hf)\b", sources))
    assert len(legend) == 3 and set(legend) <= set(BAR_MARKS), sources  # three marks


def test_papertui_stats_names_the_top_tags_and_refuses_json_with_plot(
    sample_library: Library,
) -> None:
    """Found by an adversary: 100 tags made one line of 4,457 characters, and `--json
    --plot` drew boxes with exit 0 (the JSON asked for never came)."""
    from .test_cli import run

    lib = sample_library
    pid = sorted(lib)[0]
    lib.set_state([pid], "tag", add_tags=[f"topic{i:03d}" for i in range(100)])
    done = run("stats", db=lib.root)
    line = next(row for row in done.stdout.splitlines() if row.startswith("tags"))
    assert line.count("topic") == 20 and "… and 80 more (--json lists them all)" in line
    every = json.loads(run("stats", "--json", db=lib.root).stdout)["tags"]
    assert len([t for t in every if t.startswith("topic")]) == 100
    both = run("stats", "--json", "--plot", db=lib.root)
    assert both.returncode == 2 and both.stdout == ""
    assert "--json prints the figures, --plot draws them" in both.stderr
