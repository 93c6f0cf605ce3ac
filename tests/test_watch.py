"""Watch rules (tui/watch.py): parsing the config's [[watch]] tables and matching records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FEEDS, ROOT
from tui.library import Library
from tui.watch import Rule, WatchConfigError, apply, matches, plain, rules_from_config


def _rule(**table: object) -> Rule:
    return rules_from_config({"watch": [{"name": "r", "tag": "t", **table}]})[0]


PAPER = {
    "title": "SpectralDiT: Residual Correction for Flow-Matching DiTs",
    "abstract": "We study overflow matching and tokens.",
    "authors": ["Jürgen Müller", "Kaiming He"],
    "categories": ["cs.CV", "cs.LG"],
    "sources": [{"format": "arxiv-rss", "origin": "x.rss"}],
}


def test_the_readme_example_is_read() -> None:
    rules = rules_from_config(
        {
            "watch": [
                {"name": "kaiming", "author": "Kaiming He", "tag": "must-read"},
                {
                    "name": "flow",
                    "words": ["flow matching"],
                    "categories": ["cs.CV"],
                    "tag": "flow",
                    "color": "magenta",
                },
            ]
        }
    )
    assert [(r.name, r.tag, r.color) for r in rules] == [
        ("kaiming", "must-read", ""),
        ("flow", "flow", "magenta"),
    ]
    assert rules[0].authors == ("kaiming he",)
    assert rules[1].words == ("flow matching",) and rules[1].categories == ("cs.cv",)
    assert rules_from_config({}) == []


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"tag": "t", "words": ["x"]}, "[[watch]] #1: name expected"),
        ({"name": "a", "words": ["x"]}, "[[watch]] #1 'a': tag expected"),
        ({"name": "a", "tag": "t"}, "[[watch]] #1 'a': expected at least one of"),
        ({"name": "a", "tag": "t", "words": 3}, "[[watch]] #1 'a': words expected a string"),
        ({"name": "a", "tag": "t", "word": ["x"]}, "[[watch]] #1 'a': unknown key 'word'"),
        ({"name": "a", "tag": "t", "sources": ["rss"]}, "[[watch]] #1 'a': sources expected"),
        ({"name": "a", "tag": "t", "author": "x", "color": "pink"}, "'a': color expected"),
    ],
)
def test_a_bad_rule_is_one_line_naming_it(table: dict, expected: str) -> None:
    with pytest.raises(WatchConfigError) as err:
        rules_from_config({"watch": [table]})
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_two_rules_of_one_name_are_refused() -> None:
    rule = {"name": "a", "tag": "t", "author": "x"}
    with pytest.raises(WatchConfigError, match=r"#2 'a': a second rule named"):
        rules_from_config({"watch": [rule, rule]})


def test_folding_drops_case_accents_and_punctuation() -> None:
    assert plain("Jürgen  MÜLLER") == "jurgen muller"
    assert plain("Flow-Matching") == "flow matching"
    assert plain("ﬁne") == "fine"  # (the ligature, as the search folds it)


def test_authors_match_folded_whole_names() -> None:
    assert matches(_rule(author="Muller"), PAPER) is False  # a whole name, not a part
    assert matches(_rule(author="Jurgen Muller"), PAPER)
    assert matches(_rule(authors=["nobody", "KAIMING HE"]), PAPER)
    assert not matches(_rule(author="Kaiming"), PAPER)


def test_words_match_as_whole_word_phrases() -> None:
    assert matches(_rule(words=["flow matching"]), PAPER)  # "Flow-Matching" in the title
    assert matches(_rule(words=["token", "spectraldit"]), PAPER)
    assert not matches(_rule(words=["matching flow"]), PAPER)  # a phrase keeps its order
    assert not matches(_rule(words=["low matching"]), PAPER)  # not part of a word
    assert not matches(_rule(words=["overflow tokens"]), PAPER)  # the words must be adjacent


def test_categories_sources_and_all_kinds_together() -> None:
    assert matches(_rule(categories=["cs.cv"]), PAPER)
    assert matches(_rule(categories=["cs"]), PAPER)  # every cs.*
    assert not matches(_rule(categories=["cs.C"]), PAPER)
    assert matches(_rule(sources=["arxiv"]), PAPER)
    assert matches(_rule(sources=["arxiv-rss"]), PAPER)
    assert not matches(_rule(sources=["hf"]), PAPER)
    both = _rule(words=["flow matching"], categories=["cs.RO"])
    assert not matches(both, PAPER)  # every kind the rule names must hold
    assert matches(_rule(words=["flow matching"], categories=["cs.LG"]), PAPER)


# ---------------------------------------------------------------- applied at import (the CLI)

RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
CASES = ROOT / "tests" / "cases"
CONFIG = """
[[watch]]
name = "flow"
words = ["flow matching"]
sources = ["arxiv"]
tag = "flow"
color = "magenta"

[[watch]]
name = "durand"
author = "Melanie Durand"
tag = "must-read"
"""


def _items(path: Path) -> list[tuple[str, str]]:
    """(arXiv id, the item's whole text) of each item of an RSS file: the test's oracle."""
    text = path.read_text(encoding="utf-8")
    return [
        (re.search(r"abs/(\d{4}\.\d{5})", item).group(1), item)  # type: ignore[union-attr]
        for item in text.split("<item>")[1:]
    ]


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERTUI_CONFIG": str(tmp / "config.toml")}
    return subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(tmp / "lib"), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _ids(tmp: Path, query: str) -> set[str]:
    done = _cli(tmp, "list", "--search", query, "--json")
    assert done.returncode == 0, done.stderr
    return {p["id"] for p in json.loads(done.stdout)}


def test_import_says_how_many_papers_each_rule_tagged(tmp_path: Path) -> None:
    """Found last session: `papertui import` did not say that the rules tagged anything."""
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    done = _cli(tmp_path, "--create", "import", str(RSS))
    assert done.returncode == 0, done.stderr
    flow = {pid for pid, item in _items(RSS) if re.search(r"flow[\s-]+matching", item, re.I)}
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    counts = sorted([("flow", len(flow)), ("durand", len(durand))], key=lambda kv: -kv[1])
    said = ", ".join(f"{name} tagged {n} paper" + ("s" if n != 1 else "") for name, n in counts)
    assert done.stdout.splitlines()[-1] == f"watch rules: {said}"
    again = _cli(tmp_path, "import", "--json", str(RSS))  # (known papers: nothing tagged)
    assert json.loads(again.stdout)["watch_tagged"] == {}
    assert "watch rules" not in _cli(tmp_path, "import", str(RSS)).stdout


def test_import_tags_what_the_rules_match_and_an_untag_sticks(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    assert _cli(tmp_path, "--create", "import", str(RSS)).returncode == 0
    flow = {pid for pid, item in _items(RSS) if re.search(r"flow[\s-]+matching", item, re.I)}
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    assert flow and durand  # (the sample holds some of each)
    assert _ids(tmp_path, "tag:flow") == flow
    assert _ids(tmp_path, "tag:must-read") == durand
    # searchable by the rule's name, and all the watched papers together
    assert _ids(tmp_path, "watch:flow") == flow
    assert _ids(tmp_path, "watch:DURAND") == durand
    assert _ids(tmp_path, "is:watched") == flow | durand
    everything = {pid for pid, _ in _items(RSS)}
    assert _ids(tmp_path, "-is:watched") == everything - flow - durand
    wrong = _cli(tmp_path, "list", "--search", "watch:nope")
    assert wrong.returncode == 1
    assert "watch: expects the name of a watch rule (durand, flow), not 'nope'" in wrong.stderr

    # The user takes the tag off one paper; a new rule is added: the whole library is
    # looked at again, the new rule tags its papers, the untagged paper stays untagged.
    gone = sorted(flow)[0]
    assert _cli(tmp_path, "tag", gone, "--remove", "flow").returncode == 0
    more = CONFIG + '\n[[watch]]\nname = "all"\ncategories = ["cs"]\ntag = "cs"\n'
    (tmp_path / "config.toml").write_text(more, encoding="utf-8")
    assert _cli(tmp_path, "import", str(FEEDS / "digest-text-to-image.txt")).returncode == 0
    assert _ids(tmp_path, "tag:flow") == flow - {gone}
    assert {pid for pid, _ in _items(RSS)} <= _ids(tmp_path, "tag:cs")


def test_a_bad_rule_is_reported_and_the_feed_still_imported(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[[watch]]\nname = "x"\ntag = "t"\n')
    done = _cli(tmp_path, "--create", "import", str(RSS))
    line = f"{tmp_path / 'config.toml'}: [[watch]] #1 'x': expected at least one of"
    assert line in done.stderr
    assert len(_ids(tmp_path, "")) == len(_items(RSS))


def test_one_application_is_one_undoable_step(sample_library: Library, monkeypatch) -> None:
    rules = rules_from_config(
        {
            "watch": [
                {"name": "a", "tag": "ta", "categories": ["cs"]},
                {"name": "b", "tag": "tb", "sources": ["hf"]},
            ]
        }
    )
    counts = apply(sample_library, rules)
    assert counts["a"] and counts["b"]
    tagged = set(sample_library.query("tag:ta")) | set(sample_library.query("tag:tb"))
    assert tagged
    assert sample_library.undo() == "watch rules"
    assert not list(sample_library.query("is:tagged"))
    assert apply(sample_library, rules) == {"a": 0, "b": 0}  # remembered: not again


# ---------------------------------------------------------------- shown in the app


async def test_the_app_marks_watched_rows_and_counts_them_in_the_status(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_app import TODAY, build, row

    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    app = build(sample_library, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 35)) as pilot:
        await app.workers.wait_for_complete()  # (the rules are applied after the first paint)
        await pilot.pause()
        await pilot.press("3")  # every paper
        await pilot.pause()
        ids = list(app.paper_list.ids)
        marked = {pid for i, pid in enumerate(ids) if row(app, i)[3] == "◆"}
        status = app.query_one("#status").render()
    watched = set(sample_library.query("is:watched"))
    assert durand <= watched and marked == watched
    # (the sample library was imported on TODAY: every watched paper is new today)
    assert f"{len(watched)} watched papers new today" in str(status)


def _marks(app: Any) -> dict[str, tuple[str | None, str | None]]:
    """The rows on screen but the cursor's (drawn in its colours), by paper id: the colour
    (hex) of the row's watch mark ◆ (None: no mark) and of its title, as the list draws them."""
    plist = app.paper_list
    top = int(plist.scroll_y)
    shown: dict[str, tuple[str | None, str | None]] = {}
    for y in range(plist.scrollable_content_region.height):
        if top + y >= len(plist.ids):
            break
        if top + y == plist.cursor:
            continue
        segments = list(plist.render_line(y))
        mark = next((s.style for s in segments if s.text == "◆"), None)
        title = max(segments, key=lambda s: len(s.text)).style  # (the longest part)

        def hex_of(style: Any) -> str | None:
            return style.color.triplet.hex if style and style.color else None

        shown[plist.ids[top + y]] = (hex_of(mark), hex_of(title))
    return shown


@pytest.mark.parametrize("no_color", [False, True])
async def test_a_rules_colour_is_drawn_on_its_rows_mark_and_unread_title(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    from tests.test_app import TODAY, build, search, settle

    # The durand rule given a colour too, after flow's: a paper of both is drawn in flow's.
    config = tmp_path / "config.toml"
    config.write_text(CONFIG + 'color = "cyan"\n', encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    flow = {pid for pid, item in _items(RSS) if re.search(r"flow[\s-]+matching", item, re.I)}
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    read = sorted(flow)[-1]
    sample_library.set_state([read], "read", read=True)
    app = build(sample_library, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 35)) as pilot:
        await app.workers.wait_for_complete()  # (the rules are applied after the first paint)
        await pilot.pause()
        await pilot.press("3")
        await search(pilot, "is:watched")
        await settle(pilot, 0.1)
        marks = _marks(app)
        app.paper_list.focus()
        await pilot.press("end")  # (the cursor on the last row: the first one drawn too)
        await pilot.pause()
        marks |= _marks(app)
        await search(pilot, "-is:watched")
        await settle(pilot, 0.1)
        plain = _marks(app)
        await search(pilot, "watch:flow")
        await settle(pilot, 0.1)
        app.theme = "textual-light"  # (darker tints on a light background)
        await pilot.pause()
        light = _marks(app)
    light_marks = {mark for mark, _ in light.values()}
    assert light_marks == {"#af00af"} or (no_color and light_marks.isdisjoint({"#af00af", None}))
    assert set(marks) <= flow | durand and len(marks) >= 3
    assert read in marks  # (a read row: its mark coloured, its title muted as every read one)
    assert plain and all(mark is None for mark, _ in plain.values())
    tints = {"#ff5fff", "#5fd7ff"}
    assert not {title for _, title in plain.values()} & tints  # (only watched rows)
    for pid, (mark, title) in marks.items():
        assert mark is not None, pid  # the mark stays, colour or not
        if no_color:
            assert mark not in tints and title not in tints, pid
            continue
        want = "#ff5fff" if pid in flow else "#5fd7ff"  # magenta; cyan (tui.frame.TINTS)
        assert mark == want, pid
        if pid == read:
            assert title not in tints, pid
        else:
            assert title == want, pid


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (CASES / "listing-et-al.html", CASES / "hf-full-author-list.html"),
        (ROOT / "tests/feeds/arxiv-api-query-cs-cv.xml", FEEDS / "hf-daily-papers-2026-06-19.html"),
    ],
)
def test_a_known_paper_seen_again_in_a_feed_a_rule_names_is_tagged(
    tmp_path: Path, first: Path, then: Path
) -> None:
    """A rule on the HF source tags, at the import that adds it, a paper stored from arXiv
    before (the rules unchanged: only the import's own papers are looked at)."""
    rule = '[[watch]]\nname = "hf"\nsources = ["hf"]\ntag = "on-hf"\ncolor = "yellow"\n'
    (tmp_path / "config.toml").write_text(rule, encoding="utf-8")

    def ids_in(path: Path) -> set[str]:  # (the oracle: the arXiv ids the file names)
        return set(re.findall(r"(?<!\d)(\d{4}\.\d{5})(?!\d)", path.read_text(encoding="utf-8")))

    assert _cli(tmp_path, "--create", "import", str(first)).returncode == 0
    assert _ids(tmp_path, "tag:on-hf") == set()
    seen_again = ids_in(first) & ids_in(then)
    assert seen_again and seen_again <= _ids(tmp_path, "")
    done = _cli(tmp_path, "import", str(then))
    assert done.returncode == 0, done.stderr
    assert "merged" in done.stdout
    assert _ids(tmp_path, "tag:on-hf") == ids_in(then)
    # Untagged by the user, it stays so when a feed changes it again.
    gone = sorted(seen_again)[0]
    assert _cli(tmp_path, "tag", gone, "--remove", "on-hf").returncode == 0
    assert _cli(tmp_path, "import", str(first), str(then)).returncode == 0
    assert _ids(tmp_path, "tag:on-hf") == ids_in(then) - {gone}


async def test_the_apps_import_says_how_many_papers_each_rule_tagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`i` in the app: the toast says what the watch rules tagged, as `papertui import`
    prints it (it said only how many papers were new); counted from the feed's own text."""
    from textual.widgets import Input

    from tests.test_app import build, settle
    from tests.test_app_hostile import until

    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "config.toml"))
    lib = Library.open(tmp_path / "lib")
    flow = {pid for pid, item in _items(RSS) if re.search(r"flow[\s-]+matching", item, re.I)}
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    app = build(lib, tmp_path)
    # Every toast the app posts, kept here: the app's own list drops a toast once its 4 s are
    # over, and on a loaded machine the first import's toast was gone before the second's came.
    posted: list[str] = []
    notify = app.notify

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        posted.append(message)
        notify(message, *args, **kwargs)

    monkeypatch.setattr(app, "notify", recording)

    def said() -> list[str]:
        return [t for t in posted if t.startswith("Imported 1 feed:")]

    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("i")
        app.screen.query_one(Input).value = str(RSS)
        await pilot.press("enter")
        await settle(pilot, 0.1)
        await until(pilot, lambda: len(said()) == 1)
        counts = sorted([("flow", len(flow)), ("durand", len(durand))], key=lambda kv: -kv[1])
        rules = ", ".join(f"{name} tagged {n} paper" + "s" * (n != 1) for name, n in counts)
        assert said() and said()[-1].endswith(f"; watch rules: {rules}"), said()
        await pilot.press("i")  # (again: known papers, nothing tagged, nothing said of it)
        app.screen.query_one(Input).value = str(RSS)
        await pilot.press("enter")
        await settle(pilot, 0.1)
        await until(pilot, lambda: len(said()) == 2)
        assert len(said()) == 2 and "watch rules" not in said()[-1], said()


def test_a_damaged_watch_memory_is_never_overwritten_nor_forgotten(tmp_path: Path) -> None:
    """The file that remembers what the rules tagged, cut short on disk: the next import
    rewrote it without its old entries, and a rule tagged again the paper the user had
    taken its tag off (an adversary helper). Now the rules tag nothing and the file is
    kept as it is, one line saying so, until `doctor --repair` sets it aside (named by
    `doctor`); the import itself is kept. Oracle: the file's bytes, the tags through the
    CLI."""
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    assert _cli(tmp_path, "--create", "import", str(RSS)).returncode == 0
    flow = _ids(tmp_path, "tag:flow")
    gone = sorted(flow)[0]
    assert _cli(tmp_path, "tag", gone, "--remove", "flow").returncode == 0
    (memory,) = (tmp_path / "lib" / "watch").glob("*.json")
    cut = memory.read_bytes()[:30]
    memory.write_bytes(cut)
    more = CONFIG + '\n[[watch]]\nname = "all"\ncategories = ["cs"]\ntag = "cs"\n'
    (tmp_path / "config.toml").write_text(more, encoding="utf-8")  # (a whole pass)
    before = _ids(tmp_path, "")
    done = _cli(tmp_path, "import", str(FEEDS / "digest-text-to-image.txt"))
    assert f"{memory}: damaged (not a watch memory" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert memory.read_bytes() == cut
    assert _ids(tmp_path, "tag:flow") == flow - {gone} and not _ids(tmp_path, "tag:cs")
    assert _ids(tmp_path, "") > before  # (the import was kept)
    said = _cli(tmp_path, "doctor")
    assert said.returncode != 0 and str(memory) in said.stdout, said.stdout
    assert _cli(tmp_path, "doctor", "--repair").returncode == 0
    assert not memory.exists() and list((tmp_path / "lib" / "quarantine").glob("watch_*"))
