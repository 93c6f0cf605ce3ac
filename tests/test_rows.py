"""What a row of the list shows: the year where it is not this year, the sort's date, tags
cut before the sources and the count. Oracles: the stored paper (its dates, sources, counts)
and the row as the real app draws it (Pilot), at a wide and a narrow pane."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from textual.widgets import Input

from tui.feeds import ParseResult
from tui.library import Library
from tui.models import Paper, Source

from .test_app import build, row

TODAY = date(2026, 6, 20)


def papers_library(tmp_path: Path) -> Library:
    lib = Library.open(tmp_path / "lib")
    this = Paper(
        title="This year's paper",
        arxiv_id="2606.00001",
        paper_date="2024-03-02",
        feed_date="2026-06-19",
        num_comments=4,
        abstract="One.",
    )
    last = Paper(
        title="Last year's paper",
        arxiv_id="2510.00002",
        paper_date="2025-10-01",
        feed_date="2025-10-29",
        upvotes=23,
        abstract="Two.",
    )
    for paper, day in ((this, "2026-06-19"), (last, "2025-10-29")):
        source = Source(format="hf-text", origin=f"{day}.txt", feed_date=day)
        lib.import_feeds([(ParseResult(format="hf-text", papers=[paper]), source)])
    return lib


def test_rows_show_the_year_when_it_is_not_this_year(tmp_path: Path) -> None:
    import asyncio

    lib = papers_library(tmp_path)

    async def rows(size: tuple[int, int]) -> list[str]:
        app = build(lib, tmp_path, today=TODAY)
        async with app.run_test(size=size) as pilot:
            await pilot.press("3")
            await pilot.pause()
            return [row(app, i) for i in range(2)]

    wide = asyncio.run(rows((90, 30)))  # (stacked panes: the list is the screen's width)
    assert "2026-06-19" in wide[0] and "2025-10-29" in wide[1]
    narrow = asyncio.run(rows((120, 30)))  # (side by side: a narrow list pane)
    assert " 06-19 " in narrow[0] and "2026" not in narrow[0]
    assert " 10-29 '25 " in narrow[1]  # (the day kept: "2025-10" dropped it)
    assert "💬4" in narrow[0] and "▲23" in narrow[1]


async def test_sorted_by_paper_date_rows_show_the_paper_date(tmp_path: Path) -> None:
    lib = papers_library(tmp_path)
    app = build(lib, tmp_path, today=TODAY)
    async with app.run_test(size=(90, 30)) as pilot:
        await pilot.press("3")
        while app.sort_for(app.search_text) != "paper_date":
            await pilot.press("S")
            await pilot.pause()
        shown = {row(app, i) for i in range(2)}
    dates = {p["paper_date"] for p in (lib.raw(pid) for pid in lib.query(""))}
    assert dates == {"2024-03-02", "2025-10-01"}
    for d in dates:
        assert any(d in r for r in shown), (d, shown)


async def test_tags_are_cut_before_the_sources_and_the_count(tmp_path: Path) -> None:
    lib = papers_library(tmp_path)
    pid = lib.query("", sort="feed_date", reverse=True)[0]
    lib.set_state([pid], "tag", tags=["a-very-long-tag-name-" + str(i) for i in range(8)])
    app = build(lib, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        text = row(app, 0)
    assert text.rstrip().endswith("HF  💬4")  # the source badge and the count are whole
    assert "#a-very-long-" in text and "…" in text  # the tags, cut
    assert "This year's paper " in text  # the title whole


async def test_space_on_the_last_unread_wraps_to_the_first_unread_above(
    sample_library: Library, tmp_path: Path
) -> None:
    from .test_app import SIZE, toasts

    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.paper_list
        last = plist.ids[-1]
        await pilot.press("G", "space")
        await pilot.pause()
        assert lib.state(last).read
        assert plist.cursor == 0 and not lib.state(plist.current).read
        assert any("back to the first unread above" in t for t in toasts(app))
        # nothing unread anywhere: said, and the cursor stays
        lib.set_state(list(lib.query("")), "mark read", read=True)
        await pilot.press("3", "space")  # (All: the inbox would now be empty)
        await pilot.pause()
        assert any("No more unread papers below" in t for t in toasts(app))


def detail_lines(app: object) -> list[str]:
    """The detail pane's lines as drawn, the visible ones only."""
    detail = app.detail  # type: ignore[attr-defined]
    height = detail.scrollable_content_region.height
    return [detail.render_line(y).text.rstrip() for y in range(height)]


async def test_the_detail_at_80x24_shows_the_abstract_without_scrolling(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    pid = next(
        p
        for p in lib.query("", sort="feed_date", reverse=True)
        if (paper := lib.get(p)).abstract
        and not paper.ai_summary
        and not paper.contribution_zh
        and not paper.title_zh
    )
    app = build(lib, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        app.paper_list.move_to(list(app.paper_list.ids).index(pid))
        await pilot.pause(0.3)
        shown = " ".join(" ".join(detail_lines(app)).split())
    first_words = " ".join(lib.get(pid).abstract.split()[:4])
    assert first_words in shown, shown


async def test_authors_wrap_under_their_column_and_keep_more_whole(
    tmp_path: Path,
) -> None:
    lib = Library.open(tmp_path / "lib")
    names = [f"Author{i} Surname{i}" for i in range(12)]
    paper = Paper(
        title="Many authors",
        arxiv_id="2606.00009",
        authors=names,
        author_count=20,
        abstract="Text.",
    )
    source = Source(format="hf-text", origin="f.txt", feed_date="2026-06-19")
    lib.import_feeds([(ParseResult(format="hf-text", papers=[paper]), source)])
    app = build(lib, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.3)
        lines = detail_lines(app)
    start = next(i for i, line in enumerate(lines) if line.startswith("Authors"))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 13) or not line.strip():
            break
        block.append(line)
    assert len(block) > 1  # (long enough to wrap at this width)
    text = " ".join(" ".join(block)[13:].split())
    assert text == ", ".join(names[:8]) + " +12 more"  # 20 stated, 8 shown
    assert any(line.rstrip().endswith("+12 more") or "+12 more" in line for line in block)
    assert not any(line.rstrip().endswith("+12") for line in block)


async def test_undo_puts_the_cursor_on_the_undone_paper_with_read_papers_still_listed(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a newcomer: space x5, s, g, u put the cursor on paper 1, not the one whose
    star was undone (off by the read papers the Inbox still shows above it)."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.3)
        await pilot.press(*["space"] * 5)
        await pilot.pause(0.2)
        starred = app.paper_list.current
        assert app.paper_list.cursor == 5 and app.paper_list.ids[5] == starred
        await pilot.press("s", "g")
        await pilot.pause(0.2)
        assert app.paper_list.cursor == 0
        await pilot.press("u")
        await pilot.pause(0.3)
        assert not sample_library.state(starred).starred
        assert app.paper_list.current == starred
        assert app.detail.paper_id == starred


async def test_the_cursor_row_stays_on_screen_after_a_resize(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.2)
        plist = app.paper_list
        for keys, size in ((("G",), (120, 12)), (("g", "j", "j"), (80, 24)), (("G",), (100, 9))):
            await pilot.press(*keys)
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            top, height = int(plist.scroll_y), plist.scrollable_content_region.height
            assert height > 0 and top <= plist.cursor < top + height, (keys, size, top, height)
        await pilot.press("g")
        await pilot.pause(0.1)
        assert int(plist.scroll_y) == 0


async def test_a_search_kept_with_its_error_is_cleared_by_esc_and_not_carried_to_a_view(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a newcomer: '/since:bad Enter' then Esc left the box and its error on
    screen, and in the Starred and All views, where it looked like a filter."""
    app = build(sample_library, tmp_path)
    from .test_app_hostile import until

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 0)
        bar = app.query_one("#search-bar")
        for leave in (("escape",), ("3",), ("S",)):
            await pilot.press("slash", *"since:bad", "enter")
            await until(
                pilot,
                lambda: (
                    bool(app._search_error)
                    and app.search_box.value == "since:bad"
                    and app.focused is not app.search_box
                ),
            )
            assert not bar.has_class("-hidden") and app._search_error
            # On a loaded machine a pause between two keys shows the result of what was
            # typed so far ("s"): that search is the one in force, and the box goes back to it
            applied = app.search_text
            assert "since:bad".startswith(applied) and applied != "since:bad"
            kept = "" if leave == ("escape",) else applied
            await pilot.press(*leave)
            await until(pilot, lambda k=kept: not app._search_error and app.search_box.value == k)
            assert app.search_text == kept and not app._search_error, leave
            assert bar.has_class("-hidden") == (not kept), leave
            assert len(app.paper_list.ids) > 0
        # The pause made on purpose: "s" is shown, then "since:bad" fails; a view key keeps
        # "s" (the list still shows its papers), Esc clears it. (The loop's last search in
        # force, what a loaded machine's pause showed, cleared first.)
        await pilot.press("escape")
        await until(pilot, lambda: app.search_text == "" and not app.search_box.value)
        everything = len(app.paper_list.ids)
        await pilot.press("slash", "s")
        await until(pilot, lambda: app.search_text == "s")
        found = len(app.paper_list.ids)
        assert 0 < found < everything, (found, everything)
        await pilot.press(*"ince:bad", "enter")
        await until(pilot, lambda: bool(app._search_error))
        await pilot.press("2")
        await until(pilot, lambda: not app._search_error)
        # ("s", or what a loaded machine's pause between two keys showed: "sin")
        applied = app.search_text
        assert "since:bad".startswith(applied) and applied not in ("", "since:bad"), applied
        assert app.search_box.value == applied
        assert not bar.has_class("-hidden")
        await pilot.press("1")
        if applied == "s":
            await until(pilot, lambda: len(app.paper_list.ids) == found)
        else:  # ("s" is one letter, a word of its own; "sin" a prefix: more papers)
            await until(pilot, lambda: app.view == "inbox")
            sort = app.sort_for()
            query = f"is:unread {applied}"
            wanted = list(sample_library.query(query, sort=sort, reverse=sort != "title"))
            await until(pilot, lambda: list(app.paper_list.ids) == wanted)
            assert 0 < len(app.paper_list.ids) and list(app.paper_list.ids) == wanted
        await pilot.press("escape")
        await until(pilot, lambda: len(app.paper_list.ids) == everything)
        assert app.search_box.value == app.search_text == "" and bar.has_class("-hidden")


async def test_seen_in_shows_a_file_name_with_its_escapes(tmp_path: Path) -> None:
    """As the command line prints it (README): the escape shown, not dropped or obeyed."""
    import shutil

    from .conftest import FEEDS, import_files

    hostile = tmp_path / "evil\x1b[31mname.txt"
    shutil.copy(FEEDS / "digest-text-to-image.txt", hostile)
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [hostile])
    app = build(lib, tmp_path)
    from .test_app_hostile import until

    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, lambda: "Seen in" in app.detail.text)
        seen = app.detail.text.split("Seen in", 1)[1]
    assert "evil\\x1b[31mname.txt" in seen and "\x1b" not in seen


def test_a_narrow_row_drops_extra_badges_before_cutting_the_count(
    sample_library: Library,
) -> None:
    """Found by a newcomer at 100 columns: 'digest HF  ▲2…' (the count cut, both badges
    kept). The first badge stays, the count stays whole, the title keeps its 20 cells."""
    from tui.frame import row_parts
    from tui.widgets.paper_list import row_badges, row_count

    lib = sample_library
    pid = next(
        p for p in lib if len(row_badges(lib.raw(p))) > 1 and len(row_count(lib.raw(p))) >= 3
    )
    raw, badges, count = lib.raw(pid), row_badges(lib.raw(pid)), row_count(lib.raw(pid))
    for width in (47, 50, 54):
        parts, _ = row_parts(raw, {}, width, False, this_year=2026)
        text = "".join(t for t, _ in parts)
        assert text.rstrip().endswith(count), (width, text)
        assert badges[0] in text, (width, text)
    wide = "".join(t for t, _ in row_parts(raw, {}, 120, False, this_year=2026)[0])
    assert all(b in wide for b in badges) and count in wide


async def test_toasts_show_at_the_top_while_a_note_is_written(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a newcomer: at 80x24 a toast covered 3-5 of the note's 7 rows while typing."""
    from textual.widgets._toast import Toast

    def toast_rows(text: str) -> set[int]:
        regions = [t.region for t in app.screen.query(Toast) if text in str(t.render())]
        assert regions, text
        return {y for r in regions for y in range(r.y, r.y + r.height)}

    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 35), notifications=True) as pilot:
        await pilot.pause(0.2)
        app.notify("while browsing")
        await pilot.pause(0.3)
        assert min(toast_rows("while browsing")) > 35 // 2  # (bottom right, as before)
        await pilot.press("e", *"words")
        await pilot.pause(0.1)
        app.notify("while writing")
        await pilot.pause(0.3)
        note = app.notes.region
        assert not toast_rows("while writing") & set(range(note.y, note.y + note.height))
        await pilot.press("escape")
        await pilot.pause(0.1)
        app.notify("after writing")
        await pilot.pause(0.3)
        assert min(toast_rows("after writing")) > 35 // 2  # (bottom right again)


def test_sorted_by_paper_date_a_paper_without_one_says_no_date(sample_library: Library) -> None:
    """Found by a second newcomer: digest papers with no paper date showed their feed date
    (11-30) in a list sorted by paper date, where they read as out of order."""
    from tui.frame import row_parts

    lib = sample_library
    ids = list(lib.query("", sort="paper_date"))
    undated = [p for p in ids if not lib.raw(p).get("paper_date")]
    assert undated and ids[-len(undated) :] == undated  # (they sort last)
    for pid in (undated[0], ids[0]):
        raw = lib.raw(pid)
        for width in (60, 100):
            text = "".join(t for t, _ in row_parts(raw, {}, width, False, date_key="paper_date")[0])
            if raw.get("paper_date"):
                assert raw["paper_date"][5:10] in text and "no date" not in text
            else:
                assert "no date" in text and raw["feed_date"][5:10] not in text


async def test_keys_sent_at_once_in_the_help_each_scroll(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a second newcomer: G then 22 k sent at once scrolled the help one line."""
    from textual.containers import VerticalScroll

    app = build(sample_library, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one("#help-body", VerticalScroll)
        await pilot.press("G")
        await pilot.pause()
        for _ in range(10):  # (a burst: handled before the screen is laid out again)
            app.screen.action_scroll(-1)
        await pilot.pause()
        assert body.max_scroll_y > 10
        assert int(body.scroll_y) == int(body.max_scroll_y) - 10


async def test_an_empty_note_being_written_does_not_say_press_e(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a second newcomer: while typing into an empty note the pane said "No note
    yet. Press e (or Enter) to write one"."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.2)
        assert "Press e" in str(app.notes.placeholder)
        await pilot.press("e")
        await pilot.pause()
        assert "Press e" not in str(app.notes.placeholder)
        assert "Esc" in str(app.notes.placeholder)
        await pilot.press("escape")
        await pilot.pause()
        assert "Press e" in str(app.notes.placeholder)


async def test_a_resize_under_the_statistics_screen_lays_the_main_screen_out(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by an adversary: # at 40x10, resize to 120x35, Esc: the main screen stayed
    stacked (the narrow layout) at 120 columns."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause(0.2)
        main = app.screen
        assert main.has_class("-narrow")
        await pilot.press("number_sign")
        await pilot.pause(0.3)
        assert app.screen is not main
        await pilot.resize_terminal(120, 35)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is main and not main.has_class("-narrow")


def test_a_title_s_inline_tex_reads_as_the_detail_shows_it() -> None:
    """arXiv titles write math as TeX (`$\\mathcal{O}(N)$`): the list row shows it readable,
    as the detail pane does; the stored title keeps the TeX (exports render it)."""
    from tui.frame import row_parts

    raw = {
        "title": r"Attention in $\mathcal{O}(N)$ time with \textbf{Lin} layers",
        "feed_date": "2026-06-19",
    }
    text = "".join(t for t, _ in row_parts(raw, {}, 100, False, this_year=2026)[0])
    assert "Attention in 𝒪(N) time with Lin layers" in text and "$" not in text
    assert raw["title"].startswith("Attention in $")


def test_a_title_cut_in_a_wide_character_ends_with_the_ellipsis_at_once() -> None:
    """Seen at 80x24: "分阶段结构 …": the cut fell inside a 2-cell character and left a blank
    before the ellipsis."""
    from rich.cells import cell_len

    from tui.frame import row_parts

    raw = {"title": "Diff-ES:通过进化搜索进行分阶段结构化扩散剪枝" * 3, "feed_date": "2026-06-19"}
    for width in range(60, 70):
        parts, length = row_parts(raw, {}, width, False, this_year=2026)
        title = next(t for t, name in parts if name in ("unread", "read"))
        assert title.rstrip().endswith("…") and " …" not in title, (width, title)
        assert sum(cell_len(t) for t, _ in parts) == length == width


async def test_a_search_under_way_when_the_sort_changes_is_shown_in_the_new_sort(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by an adversary (by reading): a search that ran under the old sort or view was
    shown after S or 1-4, the box's text still matching. Here the search's query is held
    until S has been pressed; the list ends in the order of the new sort. Oracle: the
    library's own query with that sort."""
    import threading

    app = build(sample_library, tmp_path)
    from .test_app_hostile import until

    lib = app.library
    query = lib.query
    held, release = threading.Event(), threading.Event()

    def slow_query(text: object = "", **options: Any) -> object:
        if threading.current_thread() is not threading.main_thread() and "diff" in str(text):
            held.set()
            release.wait(10)
        return query(text, **options)  # type: ignore[arg-type]

    async with app.run_test(size=(120, 35)) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 0)
        lib.query = slow_query  # type: ignore[method-assign]
        await pilot.press("slash")
        with app.search_box.prevent(Input.Changed):  # (Enter's search alone: no typing's)
            app.search_box.value = "diffusion"
        await pilot.press("enter")
        await until(pilot, held.is_set)
        await pilot.press("S")  # (feed date -> the next sort)
        release.set()
        want_sort = app.sort_for("diffusion")
        assert want_sort != "feed_date"
        reverse = want_sort != "title"
        want = list(query(app.full_query("diffusion"), sort=want_sort, reverse=reverse))
        before = list(query(app.full_query("diffusion"), sort="feed_date"))
        assert len(want) > 2 and want != before, (want_sort, want)
        await until(pilot, lambda: list(app.paper_list.ids) == want)
        assert list(app.paper_list.ids) == want
        assert app.search_text == "diffusion"


async def test_a_search_error_stays_when_the_list_reloads_under_it(tmp_path: Path) -> None:
    """Found by a newcomer: `/is:bogus` (or `/tags:x`) typed while `papertui --demo` was
    still importing its feeds showed the text in the box but neither its error nor any
    result: the list's reload at the end of the import (as when another process writes)
    ran the search in force and took the box's error away. The error stays, with the box's
    text, until the text changes; the list still shows the search in force."""
    from .conftest import import_files
    from .test_app import FEEDS
    from .test_app_hostile import until

    lib = Library.open(tmp_path / "lib")
    import_files(lib, [FEEDS / "digest-text-to-image.txt"])
    app = build(lib, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 0)
        await pilot.press("slash", *"is:bogus")
        # (a loaded machine's pause between two keys shows the error of "is:" first)
        await until(pilot, lambda: "bogus" in (app._search_error or ""))
        error = app._search_error
        other = Library.open(lib.root)
        import_files(other, [FEEDS / "digest-dit-acceleration.txt"])
        app.auto_refresh()
        await until(pilot, lambda: len(app.paper_list.ids) == len(other))
        assert app._search_error == error and "bogus" in error
        assert not app.query_one("#search-error").has_class("-hidden")
        assert app.search_box.value == "is:bogus"
        await pilot.press(*["backspace"] * 5, *"unread")
        await until(pilot, lambda: app.search_text == "is:unread" and not app._search_error)


async def test_a_key_on_a_selection_says_how_many_papers_it_changed(
    sample_library: Library, tmp_path: Path
) -> None:
    """Found by a newcomer: three papers selected, one already starred, `s` said "Starred
    3 papers" while one step starred two ("Undone: star on 2 papers" said `u`). The toast
    counts the papers changed and names those already so."""
    from .test_app import toasts
    from .test_app_hostile import until

    lib = sample_library
    ids = list(lib.query("is:unread", sort="feed_date", reverse=True))
    lib.set_state(ids[1:2], "star", starred=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 2)
        assert list(app.paper_list.ids[:3]) == ids[:3]
        await pilot.press("v", "v", "v", "s")
        await until(pilot, lambda: any("Starred" in t for t in toasts(app)))
        assert "Starred 2 papers; 1 already starred" in toasts(app)
        assert all(lib.state(pid).starred for pid in ids[:3])
        await pilot.press("u")
        await until(pilot, lambda: any("Undone" in t for t in toasts(app)))
        assert any(t.startswith("Undone: star on 2 papers") for t in toasts(app)), toasts(app)
        await pilot.press("g", "v", "v", "v", "space")
        await until(pilot, lambda: any("read" in t for t in toasts(app) if "Marked" in t))
        assert "Marked 3 papers read" in toasts(app)
