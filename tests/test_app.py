"""Functional tests of the app: every key driven through `App.run_test()` on the sample feeds.

Each test asserts what the key did to the library (the real state on disk) and what the screen
shows afterwards. The browser and the system clipboard are injected, never mocked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.geometry import Region
from textual.widgets import Input, Static

import tui.app as app_module
from tui.app import APP_BINDINGS, FOLLOW_DELAY, PaperTUI, make_app
from tui.clipboard import ClipboardError
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.export_dialog import ExportDialog
from tui.dialogs.help import HelpScreen
from tui.dialogs.import_dialog import ImportDialog
from tui.dialogs.tags import TagDialog, parse_tags
from tui.export import export_markdown, paper_line
from tui.feeds import ParseResult
from tui.keys import help_rows
from tui.library import Library, LibraryError, sqlquery
from tui.models import Paper, Source
from tui.widgets.paper_detail import PaperDetail
from tui.widgets.paper_list import PaperList, row_badges, row_count

from .conftest import FEEDS, TODAY

SIZE = (120, 40)


class Recorder:
    """Stands in for the browser and the clipboard: remembers what it was given."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.copied: list[str] = []
        self.paste_text: str | None = None

    def open(self, url: str) -> bool:
        self.opened.append(url)
        return True

    def copy(self, text: str) -> None:
        self.copied.append(text)

    def paste(self) -> str:
        if self.paste_text is None:
            raise ClipboardError("no clipboard available here: run `papertui import FILE`")
        return self.paste_text


def build(lib: Library, tmp_path: Path, rec: Recorder | None = None, **kw: Any) -> PaperTUI:
    rec = rec or Recorder()
    options: dict[str, Any] = dict(
        export_dir=tmp_path / "exports",
        opener=rec.open,
        clipboard_copy=rec.copy,
        clipboard_paste=rec.paste,
        today=TODAY,
        refresh_interval=0,
        cursor_blink=False,
    )
    options.update(kw)
    return make_app(library=lib, **options)


def toasts(app: PaperTUI) -> list[str]:
    return [n.message for n in app._notifications]


def row(app: PaperTUI, index: int | None = None) -> str:
    plist = app.paper_list
    return plist.row_text(plist.cursor if index is None else index)


def detail_text(app: PaperTUI) -> str:
    return app.detail.text


async def goto(pilot: Any, pid: str) -> None:
    """Put the cursor on ``pid`` and let the detail follow."""
    app = pilot.app
    app.paper_list.move_to(app.paper_list.ids.index(pid))
    app.sync_detail()
    await pilot.pause()


async def rest(pilot: Any) -> None:
    """Let the cursor rest after movement keys: the detail and note panes follow it then."""
    await pilot.pause(FOLLOW_DELAY + 0.05)
    await pilot.pause()


def count_layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets an item each time a screen lays itself out from now on."""
    from textual.screen import Screen

    layouts: list[int] = []
    original = Screen._refresh_layout

    def counting(screen: Screen, *args: Any, **kwargs: Any) -> None:
        layouts.append(1)
        original(screen, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counting)
    return layouts


async def settle(pilot: Any, delay: float = 0.0) -> None:
    await pilot.pause(delay)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# ---------------------------------------------------------------------------- screen
async def test_opens_on_inbox_with_list_detail_and_status(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    total = len(sample_library)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # (the session is noted after the first paint)
        plist = app.paper_list
        assert plist.ids == sample_library.query("is:unread")
        assert len(plist.ids) == total
        first = sample_library.get(plist.ids[0])
        assert first.display_title[:10] in row(app, 0)
        assert app.detail.paper_id == plist.ids[0]
        status = str(app.query_one("#status").render())
        assert "Inbox" in status
        assert f"{total} unread of {total}" in status
        assert f"{total} new since last session" in status
        assert isinstance(app.focused, PaperList)
    # The next session: nothing was added since this one began.
    again = build(Library.open(sample_library.root), tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = str(again.query_one("#status").render())
        assert f"{total} unread of {total}" in status and "new since" not in status


async def test_papers_imported_in_a_session_are_not_new_in_the_next(tmp_path: Path) -> None:
    """Found by a second newcomer: papers imported with i (and triaged) in a session were
    "new since last session" when the app was opened again; q records the session's end."""
    from tui.library.core import now_iso
    from tui.sources import load_source

    def import_now(lib: Library, name: str) -> None:  # (stamped now, as a real import is)
        loaded = load_source(str(FEEDS / name), imported_at=now_iso())
        lib.import_feeds([(loaded.result, loaded.source)])

    lib = Library.open(tmp_path / "lib")
    import_now(lib, "digest-text-to-image.txt")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(1.1)  # (the stamps are whole seconds)
        import_now(lib, "digest-dit-acceleration.txt")  # (as the app's i does)
        await pilot.pause(1.1)
        await pilot.press("q")
    again = build(Library.open(lib.root), tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "new since" not in str(again.query_one("#status").render())
        await pilot.pause(1.1)
    import_now(Library.open(lib.root), "digest-diffusion-caching.txt")  # (a cron fetch)
    later = build(Library.open(lib.root), tmp_path)
    async with later.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "5 new since last session" in str(later.query_one("#status").render())


# What the first screen may not import: each is imported when a key first needs it.
NOT_AT_START = (
    "bs4",  # the HTML feed parsers' (0.3 s of the first paint when a row's badge needed it)
    "soupsieve",
    "feedparser",
    "pyperclip",
    "webbrowser",
    "urllib.request",
    "http.client",
    "tui.feeds.hf_html",
    "tui.feeds.arxiv_rss",
    "tui.sources",
    "tui.importing",
    "tui.files",
    "tui.dialogs.confirm",
    "tui.dialogs.help",
    "tui.dialogs.import_dialog",
    "tui.dialogs.tags",
    "tui.stats",
    "tui.screens.stats_screen",
    "plotext",
    "textual_plotext",
)


def test_the_first_screen_imports_only_what_it_shows(sample_library: Library) -> None:
    """The app opened in a fresh process paints the list and fills the panes without the
    feed parsers, the dialogs, the importers or the browser; the keys load them (`?` here)."""
    code = (
        "import asyncio, sys\n"
        "from tui.app import make_app\n"
        "from tui.library import Library\n"
        "app = make_app(library=Library.open(sys.argv[1]), refresh_interval=0)\n"
        "async def main():\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await pilot.pause()\n"
        "        assert app.detail.paper_id == app.paper_list.ids[0], 'no paper shown'\n"
        "        print(' '.join(sorted(sys.modules)))\n"
        "        await pilot.press('question_mark')\n"
        "        print(type(app.screen).__name__)\n"
        "asyncio.run(main())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(sample_library.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    modules, screen = run.stdout.splitlines()
    assert "tui.widgets.paper_list" in modules.split()
    assert sorted(set(NOT_AT_START) & set(modules.split())) == []
    assert screen == "HelpScreen"


async def test_rows_show_badges_counts_and_tags(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    hf = next(pid for pid in lib.query("source:hf") if lib.raw(pid).get("num_comments"))
    lib.set_state([hf], "tag", tags=["fast"], starred=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = row(app, app.paper_list.ids.index(hf))
        assert "HF" in text and "#fast" in text and "★" in text
        assert row_count(lib.raw(hf)) in text
        daily = lib.query("source:arxivdaily")[0]
        assert "arXivDaily" in row(app, app.paper_list.ids.index(daily))


async def test_detail_shows_every_part_of_a_paper(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    daily = lib.query("source:arxivdaily")[0]
    digest = lib.query("source:digest")[0]
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await goto(pilot, daily)
        paper = lib.get(daily)
        text = detail_text(app)
        for part in ("Abstract", "Seen in", "arXivDaily", "Links", "Authors", "Institutions"):
            assert part in text
        assert paper.title in text and paper.title_zh in text
        assert paper.abstract_zh[:30] in text and paper.abstract[:30] in text
        assert f"https://arxiv.org/abs/{paper.arxiv_id}" in text
        await goto(pilot, digest)
        text = detail_text(app)
        assert "核心贡献" in text and "方法" in text and "关键发现" in text


# ---------------------------------------------------------------------------- movement
async def test_a_held_key_moves_the_list_and_the_panes_follow_where_it_stops(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key repeat (j held: a burst of keys) moves the cursor and the status at each key; the
    detail and note panes show the paper under the cursor once the keys stop, composed for
    that paper only, not for each paper passed."""
    monkeypatch.setattr(app_module, "FOLLOW_DELAY", 1.0)  # (a loaded machine is slow)
    lib = sample_library
    ids = lib.query("is:unread")
    lib.set_state([ids[8]], "edit note", note="read the ablation")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plist = app.paper_list
        assert app.detail.paper_id == ids[0] and app.notes.text == ""
        composed: list[str | None] = []
        show_paper = PaperDetail.show_paper

        def recording(detail: PaperDetail, pid: str | None) -> None:
            composed.append(pid)
            show_paper(detail, pid)

        monkeypatch.setattr(PaperDetail, "show_paper", recording)
        for _ in range(8):
            app.post_message(events.Key("j", "j"))  # as a terminal delivers a held key
        await pilot.pause()
        assert plist.cursor == 8
        assert f"9 of {len(ids)}" in str(app.query_one("#status").render())
        from .test_app_hostile import until

        await until(pilot, lambda: bool(composed))  # (the panes follow once the keys stop)
        await pilot.pause(0.1)
        assert composed == [ids[8]]
        assert app.detail.paper_id == ids[8] and app.notes.paper_id == ids[8]
        assert lib.get(ids[8]).display_title[:20] in app.detail.text
        assert app.notes.text == "read the ablation"


async def test_the_detail_pane_never_says_empty_while_the_list_has_papers(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen in tmux at 80x24 on a million papers: the first paint showed "Nothing selected:
    this view has no papers." beside a full list, until the first highlight arrived. Every text
    the pane composes while the app starts is recorded; none may claim the view is empty."""
    composed: list[str] = []
    assemble = PaperDetail._assemble

    def recording(detail: PaperDetail, width: int) -> Any:
        content = assemble(detail, width)
        composed.append(content.plain)
        return content

    monkeypatch.setattr(PaperDetail, "_assemble", recording)
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert composed and app.detail.paper_id == app.paper_list.ids[0]
        assert not [text for text in composed if "Nothing selected" in text]
        await pilot.press("slash", *"nosuchwordanywhere", "enter")
        await settle(pilot)
        assert len(app.paper_list.ids) == 0 and "Nothing selected" in app.detail.text


async def test_a_key_pressed_before_the_panes_follow_acts_on_the_new_paper(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s right after j stars the paper j moved to, and the panes show it starred at once."""
    monkeypatch.setattr(app_module, "FOLLOW_DELAY", 30.0)  # the panes would wait for ever
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        second = app.paper_list.ids[1]
        await pilot.press("j", "s")
        assert lib.state(second).starred
        assert app.detail.paper_id == second and "★ starred" in app.detail.text
        await pilot.press("j", "e", *"later")
        third = app.paper_list.ids[2]
        assert app.notes.paper_id == third and app.notes.text == "later"


async def test_movement_keys(sample_library: Library, tmp_path: Path) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.paper_list
        last = len(plist.ids) - 1
        await pilot.press("j", "j", "down")
        assert plist.cursor == 3
        await pilot.press("k", "up")
        assert plist.cursor == 1
        await pilot.press("G")
        assert plist.cursor == last
        await rest(pilot)
        assert app.detail.paper_id == plist.ids[last]
        await pilot.press("g")
        assert plist.cursor == 0
        await pilot.press("end")
        assert plist.cursor == last
        await pilot.press("home", "pagedown")
        page = plist.cursor
        assert page > 10
        assert plist.scroll_y == 0 or plist.cursor >= plist.scroll_y
        await pilot.press("pagedown", "pageup")
        assert plist.cursor == page
        await pilot.press("pageup")
        assert plist.cursor == 0


async def test_stepping_past_an_edge_scrolls_half_a_page(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.paper_list
        height = plist.scrollable_content_region.height
        await pilot.press(*["j"] * (height - 1))
        assert (plist.cursor, plist.scroll_y) == (height - 1, 0)  # last visible row
        await pilot.press("j")
        assert plist.scroll_y == 1 + height // 2
        assert plist.cursor - plist.scroll_y == height - 1 - height // 2  # mid-pane
        top = plist.scroll_y
        await pilot.press(*["k"] * (plist.cursor - top))
        assert (plist.cursor, plist.scroll_y) == (top, top)  # first visible row
        await pilot.press("k")
        assert plist.scroll_y == top - 1 - height // 2
        await pilot.press("G")  # a jump puts the cursor on the edge, as before
        assert plist.cursor - plist.scroll_y == height - 1


async def test_n_and_p_go_to_next_and_previous_unread(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    ids = lib.query("", sort="feed_date")
    lib.set_state(ids[1:4], "mark read", read=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")  # All: read papers stay in the list
        plist = app.paper_list
        assert plist.ids == ids
        await pilot.press("n")
        assert plist.cursor == 4
        await pilot.press("p")
        assert plist.cursor == 0
        await pilot.press("p")
        assert plist.cursor == 0
        assert any("No more unread" in t for t in toasts(app))


# ---------------------------------------------------------------------------- triage
async def test_space_marks_read_and_moves_to_next_unread(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.paper_list
        first, second, third = plist.ids[:3]
        lib.set_state([second], "mark read", read=True)  # already read: skipped by space
        await pilot.press("space")
        assert lib.state(first).read
        assert plist.current == third
        assert "●" not in row(app, 0)
        status = str(app.query_one("#status").render())
        assert f"{len(lib) - 2} unread" in status


async def test_m_toggles_read(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        assert pid is not None
        await pilot.press("m")
        assert lib.state(pid).read and app.paper_list.current == pid
        await pilot.press("m")
        assert not lib.state(pid).read
        assert "●" in row(app)


async def test_s_toggles_star(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        assert pid is not None
        await pilot.press("s")
        assert lib.state(pid).starred
        assert "★" in row(app)
        assert "★ 1" in str(app.query_one("#status").render())
        assert "starred" in detail_text(app)
        await pilot.press("s")
        assert not lib.state(pid).starred


async def test_t_edits_tags_with_suggestions(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    ids = lib.query("is:unread")
    lib.set_state([ids[5]], "tag", tags=["diffusion"])
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("t")
        assert isinstance(app.screen, TagDialog)
        assert "diffusion" in str(app.screen.query_one("#tag-known", Static).render())
        await pilot.press(*"dif")
        await pilot.pause()
        await pilot.press("right")  # accept the suggestion
        assert app.screen.query_one(Input).value == "diffusion"
        await pilot.press(*", to-read", "enter")
        await pilot.pause()
        assert lib.state(pid).tags == ["diffusion", "to-read"]
        # (a narrow pane: the tags are cut before the source badge, which stays whole)
        assert "#diffusion #to" in row(app)
        assert row(app).rstrip().endswith(" ".join(row_badges(lib.raw(pid))))
        assert any("Tags: #diffusion #to-read" in t for t in toasts(app))
        await pilot.press("t", "escape")  # cancel keeps the tags
        await pilot.pause()
        assert lib.state(pid).tags == ["diffusion", "to-read"]


def test_parse_tags() -> None:
    assert parse_tags(" a, b  #c,,a ") == ["a", "b", "c"]
    assert parse_tags("") == []


async def test_e_and_enter_open_the_note_which_saves_itself(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("e")
        assert app.focused is app.notes
        await pilot.press(*"good idea")
        from .test_app_hostile import until

        # (the debounce saves without leaving the note)
        await until(pilot, lambda: lib.state(pid).note == "good idea")
        assert lib.state(pid).note == "good idea"
        await pilot.press("escape")
        assert isinstance(app.focused, PaperList)
        await pilot.press("j", "enter")
        assert app.focused is app.notes
        await pilot.press(*"second", "escape")
        assert lib.state(app.paper_list.current).note == "second"
        assert app.notes.text == "second"
        await pilot.press("k")
        await rest(pilot)
        assert app.notes.text == "good idea"


async def test_v_selection_bulk_star_undone_by_one_u(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        picked = app.paper_list.ids[:3]
        await pilot.press("v", "v", "v")
        assert app.paper_list.selection == set(picked)
        assert "3 selected" in str(app.query_one("#status").render())
        await pilot.press("s")
        assert all(lib.state(pid).starred for pid in picked)
        assert not app.paper_list.selection
        assert lib.undo_label() == "star"
        await pilot.press("v", "k", "k", "v", "m")  # selection then read
        await pilot.press("u")
        assert all(lib.state(pid).starred for pid in picked)
        await pilot.press("u")
        assert not any(lib.state(pid).starred for pid in picked)
        assert any("Undone: star" in t for t in toasts(app))


async def test_A_marks_the_view_read_after_confirmation(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/", *"source:digest", "enter")
        await settle(pilot, 0.3)
        digest = lib.query("source:digest")
        assert sorted(app.paper_list.ids) == sorted(digest)
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert not any(lib.state(pid).read for pid in digest)
        await pilot.press("A", "y")
        await pilot.pause()
        assert all(lib.state(pid).read for pid in digest)
        assert lib.query("is:read") == lib.query("source:digest")
        await pilot.press("u")
        assert not lib.query("is:read")


async def test_undo_survives_a_restart(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("s", "q")
    assert lib.state(pid).starred
    reopened = Library.open(lib.root)
    app2 = build(reopened, tmp_path)
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert not reopened.state(pid).starred
        title = reopened.get(pid).display_title
        # (the title cut to leave room for where the change was made: `describe_undo`)
        assert toasts(app2)[-1].startswith(f"Undone: star on “{title[:5]}")
        assert "(made in another window or an earlier session, " in toasts(app2)[-1]
        await pilot.press("u")
        assert "Nothing to undo" in toasts(app2)
    assert not Library.open(lib.root).state(pid).starred


async def test_state_and_notes_persist_across_restart(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("s", "t", *"keep", "enter")
        await pilot.press("e", *"# Why", "enter", *"read the ablation")
        await pilot.press("escape", "q")
    assert not app.is_running
    reopened = Library.open(lib.root)
    state = reopened.state(pid)
    assert state.starred and state.tags == ["keep"]
    assert state.note == "# Why\nread the ablation"
    app2 = build(reopened, tmp_path)
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app2.paper_list.current == pid
        assert app2.notes.text == "# Why\nread the ablation"
        assert "★" in row(app2)


async def test_quit_saves_a_note_typed_just_before(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("e", *"unsaved")
        await pilot.press("ctrl+q")
    assert Library.open(lib.root).state(pid).note == "unsaved"


# ---------------------------------------------------------------------------- find
async def search(pilot: Any, text: str) -> None:
    app = pilot.app
    await pilot.press("/")
    box = app.search_box
    box.value = ""
    await pilot.press(*text)
    await settle(pilot, 0.35)


@pytest.mark.parametrize(
    "query",
    [
        "diffusion",
        "tag:keep",
        "is:starred",
        "is:unread",
        "author:li",
        "source:hf",
        "cat:cs.CV",
        "since:2026-06-01",
        "diffusion -transformer",
        "缓存",
    ],
)
async def test_search_with_filters(sample_library: Library, tmp_path: Path, query: str) -> None:
    lib = sample_library
    some = lib.query("")[::7]
    lib.set_state(some, "setup", starred=True, add_tags=["keep"])
    lib.set_state(some[:2], "read", read=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")  # All
        await search(pilot, query)
        expected = lib.query(query)
        assert expected, query
        assert app.paper_list.ids == expected
        assert query in str(app.query_one("#status").render())
        await pilot.press("enter")
        assert isinstance(app.focused, PaperList)
        await pilot.press("escape")
        assert app.paper_list.ids == lib.query("")
        assert app.search_text == ""


async def test_a_search_keeps_the_highlighted_paper_or_starts_at_the_top(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        plist = app.paper_list
        await pilot.press("3")
        row = next(i for i, p in enumerate(plist.ids) if i >= 5 and lib.raw(p).get("title"))
        await pilot.press(*["j"] * row)
        current = plist.current
        title_word = lib.raw(current)["title"].split()[0].rstrip(":").casefold()
        await search(pilot, title_word)  # the highlighted paper matches: it stays highlighted
        assert plist.current == current and plist.cursor == plist.ids.index(current)
        await pilot.press("escape")
        assert plist.current == current
        await search(pilot, "-" + title_word)  # it does not: the first result is highlighted
        assert current not in plist.ids and plist.cursor == 0 and plist.ids
        await pilot.press("escape", "G", "2")  # a new view starts at the top too
        assert plist.cursor == 0


def diffusion_and_retrieval(root: Path, count: int) -> Library:
    """A library at ``root`` of ``count`` papers, every other one about diffusion (odd
    numbers) and the others about retrieval, over 28 feed dates."""
    lib = Library.open(root)
    papers = [
        Paper(
            title=f"Paper {i} about {'diffusion' if i % 2 else 'retrieval'}",
            feed_date=f"2026-05-{i % 28 + 1:02d}",
        )
        for i in range(count)
    ]
    source = Source(format="hf-text", origin="x", feed_date="2026-06-01")
    lib.import_feeds([(ParseResult(format="hf-text", papers=papers), source)])
    return lib


async def test_a_search_result_is_shown_without_counting_on_the_ui_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the highlighted paper lies in a new result (for a paper far down a big result,
    a count of its own) is found by the search worker: the UI thread only shows the result,
    the cursor still on that paper."""
    from tui.actions import find

    from .test_app_hostile import until

    # The keys typed without a pause: on a loaded machine Pilot's keys came more than the
    # typing pause (0.1 s) apart, what was typed so far was shown (the cursor on its first
    # row until its position came) and the next key's search kept that first row instead.
    monkeypatch.setattr(find, "SEARCH_DELAY", 1.0)
    lib = diffusion_and_retrieval(tmp_path / "lib", 600)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plist = app.paper_list
        inbox = list(plist.ids)
        last = max(i for i, pid in enumerate(inbox) if "diffusion" in lib.raw(pid)["title"])
        await goto(pilot, inbox[last])
        expected = list(lib.query("is:unread diffusion")).index(inbox[last])
        assert expected > 200  # (far down the result: not among its first rows)
        statements: list[str] = []
        lib._conn().set_trace_callback(statements.append)  # the UI thread's connection
        await search(pilot, "diffusion")
        await until(pilot, lambda: app.search_text == "diffusion" and plist.cursor > 0)
        lib._conn().set_trace_callback(None)
        assert plist.current == inbox[last] and plist.cursor == expected
        assert app.detail.paper_id == inbox[last]
        assert [sql for sql in statements if "count(" in sql] == []


async def test_a_key_typed_before_the_highlighted_papers_place_is_found_keeps_that_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a helper: a search result is shown with the cursor on its first row while
    the worker looks for the highlighted paper's place in it (half a second at a million
    papers); a key typed meanwhile searched again keeping the first row's paper, and the
    reader's paper was lost. The next search keeps the reader's paper."""
    import threading

    from tui.actions import find

    from .test_app_hostile import until

    monkeypatch.setattr(find, "SEARCH_DELAY", 0.05)
    lib = diffusion_and_retrieval(tmp_path / "lib", 600)
    held = threading.Event()
    index = sqlquery.Results.index

    def slow_index(self: sqlquery.Results, pid: Any, *args: Any) -> int:
        if threading.current_thread() is not threading.main_thread():
            held.wait(10)  # (the place looked for: until the second key is typed)
        return index(self, pid, *args)

    monkeypatch.setattr(sqlquery.Results, "index", slow_index)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plist = app.paper_list
        inbox = list(plist.ids)
        last = max(i for i, pid in enumerate(inbox) if "diffusion" in lib.raw(pid)["title"])
        await goto(pilot, inbox[last])
        reader = inbox[last]
        await pilot.press("/")
        app.search_box.insert_text_at_cursor("diffusio")  # (as pasted: one search)
        await until(pilot, lambda: app.search_text == "diffusio")
        assert plist.cursor == 0 and plist.current != reader  # (its place still looked for)
        await pilot.press("n")
        await until(pilot, lambda: app.search_text == "diffusion")
        held.set()
        expected = list(lib.query("is:unread diffusion")).index(reader)
        await until(pilot, lambda: plist.cursor == expected)
        assert plist.current == reader


async def test_a_search_shows_its_first_rows_before_its_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search whose count costs more than its first page (a word among the unread papers:
    half a second at a million papers) shows its first rows at once, the status bar saying
    the count is coming (never a wrong number); once counted, the whole result, the cursor
    on the paper it was on."""
    lib = Library.open(tmp_path / "lib")
    papers = [
        Paper(
            title=f"Paper {i} about {'diffusion' if i % 3 else 'retrieval'}",
            feed_date=f"2026-05-{i % 28 + 1:02d}",
        )
        for i in range(120)
    ]
    source = Source(format="hf-text", origin="x", feed_date="2026-06-01")
    lib.import_feeds([(ParseResult(format="hf-text", papers=papers), source)])
    monkeypatch.setattr(sqlquery, "PAGE", 8)
    monkeypatch.setattr(sqlquery, "RARE", 0)  # (as for a word in many papers)
    gate = threading.Event()
    count = sqlquery.Results.count

    def held(self: sqlquery.Results, stop: Any) -> int | None:
        gate.wait(30)
        return count(self, stop)

    monkeypatch.setattr(sqlquery.Results, "count", held)
    app = build(lib, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            plist = app.paper_list
            # the oracle: the inbox (every paper, unread) in its order, by title
            inbox = list(plist.ids)
            expected = [pid for pid in inbox if "diffusion" in lib.raw(pid)["title"]]
            await pilot.press("/")
            app.search_box.insert_text_at_cursor("diffusion")
            for _ in range(200):  # (until the first page is shown; the count is held)
                await pilot.pause(0.02)
                status = str(app.query_one("#status").render())
                if "/diffusion" in status:
                    break
            assert "1 of 8+ counting…" in status
            assert list(plist.ids) == expected[:8]
            await pilot.press("down", "j", "j", "j")  # to the list, three rows down
            assert plist.cursor == 3 and "4 of 8+ counting…" in str(
                app.query_one("#status").render()
            )
            gate.set()
            await settle(pilot, 0.35)
            status = str(app.query_one("#status").render())
            assert f"4 of {len(expected)} " in status and "counting" not in status
            assert plist.ids == expected and plist.cursor == 3
            assert plist.current == expected[3] and app.detail.paper_id == expected[3]
            gate.clear()  # Esc: the inbox, counted at once (its count is a running total)
            await pilot.press("/", "escape")
            at = inbox.index(expected[3])
            await settle(pilot, 0.1)
            status = str(app.query_one("#status").render())
            assert "/diffusion" not in status
            assert f"{at + 1} of {len(inbox)} " in status and "counting" not in status
            assert plist.ids == inbox and plist.current == expected[3]
            # A paper selected further down than the first page: acted on while counting.
            await goto(pilot, expected[10])
            await pilot.press("v")
            gate.clear()
            # (typed at once: on a loaded machine, a pause between two keys shows the result
            # of "d", which has not the selected paper, and the selection drops it)
            await pilot.press("/")
            app.search_box.insert_text_at_cursor("diffusion")
            for _ in range(200):
                await pilot.pause(0.02)
                if "/diffusion" in str(app.query_one("#status").render()):
                    break
            assert isinstance(plist.ids, sqlquery.Head) and expected[10] in plist.ids
            assert expected[10] not in list(plist.ids)  # (not among the rows shown yet)
            await pilot.press("down", "s")
            assert lib.raw_state(expected[10]).get("starred") is True
            gate.set()
            await settle(pilot, 0.1)
    finally:
        gate.set()


async def test_typing_a_search_scrolls_the_box_and_lays_the_screen_out_no_more(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each key typed repaints the box (scrolled to the cursor once the query is longer than
    it) and, when the results come, the list: never a layout of the whole screen, which cost
    10-40 ms a key and stalled the typing."""
    from tui.actions import find

    from .test_app_hostile import until

    # The keys typed without a pause: on a loaded machine Pilot's keys came more than the
    # typing pause (0.1 s) apart, and what was typed so far was searched and shown ("caching
    # c": nothing found, the footer's one redraw), a layout this test did not mean to count.
    monkeypatch.setattr(find, "SEARCH_DELAY", 1.0)
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("/")  # the search bar appears: that is a layout
        await settle(pilot)
        layouts = count_layouts(monkeypatch)
        text = "caching " * 12
        await pilot.press(*text)
        await until(pilot, lambda: app.search_text == text.strip())
        await settle(pilot)
        assert app.paper_list.ids and not layouts
        # Nothing found: the footer stops offering "↓ To list" (its one redraw).
        await pilot.press(*"zzz")
        text += "zzz"
        await until(pilot, lambda: app.search_text == text.strip())
        await settle(pilot)
        box = app.search_box
        assert box.value == text and app.search_text == text.strip()
        shown = app.screen._compositor.render_strips()[box.region.y].text
        assert shown.rstrip().endswith("caching zzz")  # (the box scrolled to the end)
        assert app.paper_list.ids == []


async def test_search_combines_with_the_view_and_bad_filters_show_inline(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # Starred: nothing
        assert app.paper_list.ids == []
        await pilot.press("1")
        await search(pilot, "source:digest")
        shown = list(app.paper_list.ids)
        assert shown == lib.query("is:unread source:digest")
        # (at once: a pause between two keys may show what was typed so far, as it should)
        app.search_box.insert_text_at_cursor(" since:xx")
        await settle(pilot, 0.35)
        error = app.query_one("#search-error", Static)
        assert error.display and "since" in str(error.render())
        assert app.paper_list.ids == shown  # the last good result stays
        await pilot.press("escape")
        assert not error.display
        assert app.paper_list.ids == lib.query("is:unread")


async def test_views_1_to_4(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    ids = lib.query("")
    lib.set_state(ids[:5], "star", starred=True)
    lib.set_state(ids[3:9], "read", read=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        assert app.paper_list.ids == lib.query("is:starred")
        assert "Starred" in str(app.query_one("#status").render())
        await pilot.press("3")
        assert app.paper_list.ids == ids
        await pilot.press("1")
        assert app.paper_list.ids == lib.query("is:unread")
        await pilot.press("4")
        latest = max(s.feed_date or "" for pid in ids for s in lib.get(pid).sources)
        today = lib.query(f"feed:{latest}")
        assert app.paper_list.ids == today and 0 < len(today) < len(ids)
        assert "Today's feed" in str(app.query_one("#status").render())


async def test_S_cycles_the_sort(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        for key in ("paper_date", "upvotes", "title", "added", "foryou", "feed_date"):
            await pilot.press("S")
            assert app.sort_key == key
            assert app.paper_list.ids == lib.query("", sort=key, reverse=key != "title")
        await pilot.press("S", "S", "S")
        assert "sort: title" in str(app.query_one("#status").render())


async def test_S_offers_relevance_only_when_the_search_has_words(
    sample_library: Library, tmp_path: Path
) -> None:
    """Relevance (best match first) joins the sorts while a search has words; without
    words there is nothing to rank, so it is neither offered nor shown."""
    lib = sample_library
    ranked, dated = lib.query("diffus", sort="relevance"), lib.query("diffus")
    assert len(ranked) > 2 and list(ranked) != list(dated)  # the ranking is visible
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await search(pilot, "diffus")
        await pilot.press("enter")
        await settle(pilot)
        status = app.query_one("#status")
        for key in ("paper_date", "upvotes", "title", "added", "relevance", "foryou", "feed_date"):
            await pilot.press("S")
            assert app.sort_key == key
            assert app.paper_list.ids == lib.query("diffus", sort=key, reverse=key != "title")
        await pilot.press("S", "S", "S", "S", "S")
        assert app.paper_list.ids == ranked
        assert "sort: relevance" in str(status.render())
        await pilot.press("escape")  # the search cleared: nothing to rank by
        await settle(pilot)
        assert app.paper_list.ids == lib.query("")
        assert "sort: feed date" in str(status.render())
        await pilot.press("S")
        assert app.sort_key == "paper_date"
        for _ in range(5):
            await pilot.press("S")
            assert app.sort_key != "relevance"


async def test_L_toggles_which_language_comes_first(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    daily = lib.query("source:arxivdaily")[0]
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, daily)
        paper = lib.get(daily)

        def order() -> tuple[bool, bool]:
            """(English title first, English abstract first) in the detail."""
            text = detail_text(app)
            return (
                text.index(paper.title) < text.index(paper.title_zh),
                text.index(paper.abstract[:40]) < text.index(paper.abstract_zh[:20]),
            )

        assert order() == (True, True)
        assert detail_text(app).splitlines()[0] == paper.title
        await pilot.press("L")
        await pilot.pause()
        assert order() == (False, False)
        assert detail_text(app).splitlines()[0] == paper.title_zh
        assert "中文 first" in str(app.query_one("#status").render())
        await pilot.press("L")
        await pilot.pause()
        assert order() == (True, True)


# ---------------------------------------------------------------------------- out
async def test_o_and_O_open_page_and_pdf(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    rec = Recorder()
    daily = lib.query("source:arxivdaily")[0]
    digest_only = next(p for p in lib.query("source:digest") if not lib.raw(p).get("arxiv_id"))
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, daily)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        aid = lib.raw(daily)["arxiv_id"]
        assert rec.opened == [f"https://arxiv.org/abs/{aid}", f"https://arxiv.org/pdf/{aid}"]
        assert any(t.startswith("Opened the PDF") for t in toasts(app))
        await goto(pilot, digest_only)
        await pilot.press("O")  # no PDF without an arXiv id: nothing opened, it says why
        await settle(pilot)
        assert len(rec.opened) == 2 and any("has no PDF" in t for t in toasts(app))
        title = lib.get(digest_only).title or lib.get(digest_only).title_zh
        await pilot.press("o")  # a search for its title on arXiv (a digest's paper) …
        await settle(pilot)
        query = urllib.parse.urlencode({"query": title, "searchtype": "title"})
        assert rec.opened[2] == f"https://arxiv.org/search/?{query}"
        assert any("Opened the search for its title on arXiv" in t for t in toasts(app))
        await pilot.press("o")  # … and o again: on Hugging Face papers
        await settle(pilot)
        assert rec.opened[3] == "https://huggingface.co/papers?" + urllib.parse.urlencode(
            {"q": title}
        )


async def test_o_without_a_browser_copies_the_link(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    rec = Recorder()
    daily = lib.query("source:arxivdaily")[0]
    app = build(lib, tmp_path, rec, opener=lambda url: False)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, daily)
        await pilot.press("o")
        await settle(pilot)
        assert rec.copied == [f"https://arxiv.org/abs/{lib.raw(daily)['arxiv_id']}"]
        assert "No browser here. Copied the link to the page" in toasts(app)


async def test_y_and_Y_copy_line_and_abstract(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        assert pid is not None
        await pilot.press("y", "Y")
        paper = lib.get(pid)
        assert rec.copied == [paper_line(paper), paper.abstract]
        assert "Copied the Markdown line" in toasts(app)


async def test_copy_falls_back_to_osc52(sample_library: Library, tmp_path: Path) -> None:
    def no_clipboard(text: str) -> None:
        raise RuntimeError("pyperclip could not find a copy/paste mechanism")

    app = build(sample_library, tmp_path, clipboard_copy=no_clipboard)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        assert pid is not None
        await pilot.press("y")
        assert app.clipboard == paper_line(sample_library.get(pid))
        assert any("OSC 52" in t for t in toasts(app))


async def test_x_exports_the_starred_list(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        for _ in range(200):  # (a loaded machine shows the toast a few frames later)
            if any("Nothing starred" in t for t in toasts(app)):
                break
            await pilot.pause(0.02)
        assert any("Nothing starred" in t for t in toasts(app))
        await pilot.press("s", "j", "s", "t", *"cache", "enter")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("enter")
        await pilot.pause()
    target = tmp_path / "exports" / f"papertui-starred-{TODAY.isoformat()}.md"
    assert target.exists()
    starred = lib.query("is:starred")
    assert len(starred) == 2
    expected = export_markdown(((lib.get(p), lib.state(p)) for p in starred), today=TODAY)
    assert target.read_text(encoding="utf-8") == expected
    assert any(t.startswith(f"2 papers exported to {target}") for t in toasts(app))


async def test_i_imports_a_file_in_a_worker(empty_library: Library, tmp_path: Path) -> None:
    lib = empty_library
    feed = tmp_path / "feeds" / "hf.txt"
    feed.parent.mkdir()
    shutil.copy(FEEDS / "hf-daily-papers.txt", feed)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        assert app.paper_list.ids == []
        assert "No papers yet" in row_empty(app)
        await pilot.press("i")
        assert isinstance(app.screen, ImportDialog)
        await pilot.press(*str(tmp_path / "nope"), "enter")
        assert isinstance(app.screen, ImportDialog)  # stays open, says why
        app.screen.query_one(Input).value = str(feed.parent)
        await pilot.press("enter")
        await settle(pilot, 0.1)
        assert len(lib) > 50
        assert app.paper_list.ids == lib.query("")
        assert any("Imported 1 feed:" in t for t in toasts(app))
        assert not app.query_one("#import-progress").display


def row_empty(app: PaperTUI) -> str:
    return app.paper_list.render_line(1).text


async def test_an_import_shows_its_progress_above_the_footer(
    empty_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the worker reads the feeds, a progress bar is on screen above the footer (the
    panes give it a line); it goes when the import is over."""
    import threading

    from tui import importing

    reading = threading.Event()
    read_paths = importing.read_paths

    def slow(*args: Any, **kwargs: Any) -> Any:
        kwargs["progress"](1, 3)  # one feed of three read, then wait for the test
        reading.wait(10)
        return read_paths(*args, **kwargs)

    monkeypatch.setattr(importing, "read_paths", slow)
    lib = empty_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        app.screen.query_one(Input).value = str(FEEDS)
        await pilot.press("enter")
        await pilot.pause(0.3)
        bar = app.query_one("#import-progress")
        footer = app.query_one("Footer")
        assert bar.display and bar.region.y == footer.region.y - 1
        assert app.paper_list.region.bottom <= bar.region.y
        shown = app.screen._compositor.render_strips()[bar.region.y].text
        assert "33%" in shown
        reading.set()
        await settle(pilot, 0.1)
        assert not bar.display and len(lib) > 50


async def test_i_imports_the_clipboard_or_says_how(empty_library: Library, tmp_path: Path) -> None:
    lib = empty_library
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i", "enter")  # empty path: the clipboard, which is empty here
        await settle(pilot, 0.1)
        assert any("papertui import FILE" in t for t in toasts(app))
        assert len(lib) == 0
        rec.paste_text = (FEEDS / "digest-text-to-image.txt").read_text(encoding="utf-8")
        await pilot.press("i")
        await pilot.click("#clipboard")
        await settle(pilot, 0.1)
        assert len(lib) == 5
        assert len(app.paper_list.ids) == 5


async def test_r_and_the_timer_reload_other_processes_changes(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    other = Library.open(lib.root)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        assert pid is not None
        other.set_state([pid], "star", starred=True)
        await pilot.press("r")
        assert "★" in row(app)
        assert any(t.startswith("Reloaded") for t in toasts(app))
        other.set_state([app.paper_list.ids[1]], "read", read=True)
        app.auto_refresh()
        await pilot.pause()
        assert app.paper_list.ids == lib.query("is:unread")


def _other_process_marks_read(root: Path, pid: str) -> None:
    """Another papertui process (a second window, a cron job) marks ``pid`` read."""
    code = (
        "import sys; from tui.library import Library; "
        "Library.open(sys.argv[1]).set_state([sys.argv[2]], 'read', read=True)"
    )
    here = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code, str(root), pid], check=True, cwd=here, timeout=120)


@pytest.mark.parametrize("view", ["inbox", "starred"])
async def test_papers_triaged_stay_in_the_list_when_another_process_writes_until_r(
    sample_library: Library, tmp_path: Path, view: str
) -> None:
    """Two papers marked read in the Inbox (unstarred in Starred) stay where they were when
    the list reloads because another process wrote (it took them away, the cursor on
    another paper); the other process's change shows; `r` lets them go, as does a view
    key after another change."""
    from .test_app_hostile import until

    lib = sample_library
    if view == "starred":
        lib.set_state(list(lib.query("is:unread"))[:12], "star", starred=True)
    key = "m" if view == "inbox" else "s"
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        if view == "starred":
            await pilot.press("2")
        await until(pilot, lambda: len(app.paper_list.ids) > 6)
        shown = list(app.paper_list.ids)
        await pilot.press(key, "j", key)
        changed = shown[:2]
        assert app.paper_list.current == shown[1]
        before = app.paper_list.ids
        _other_process_marks_read(lib.root, shown[5])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)  # (several reload ticks)
        assert lib.state(shown[5]).read
        expected = [p for p in shown if view == "starred" or p != shown[5]]
        assert list(app.paper_list.ids) == expected
        assert app.paper_list.current == shown[1]
        assert all(p not in lib.query(app.full_query()) for p in changed)
        await pilot.press("r")
        assert list(app.paper_list.ids) == list(lib.query(app.full_query()))
        assert not set(changed) & set(app.paper_list.ids)
        # (a view key: the paper changed before it goes too)
        third = app.paper_list.current
        await pilot.press(key, "3", "1" if view == "inbox" else "2")
        assert third not in app.paper_list.ids
        assert list(app.paper_list.ids) == list(lib.query(app.full_query()))


async def test_papers_another_process_imported_while_a_note_was_typed_show_after_it(
    tmp_path: Path,
) -> None:
    """Found by a newcomer: the note's autosave took in another process's import, so the
    timer's refresh found nothing new after Esc and the list stayed at 5 of 10 papers."""
    from .conftest import import_files

    lib = Library.open(tmp_path / "lib")
    import_files(lib, [FEEDS / "digest-text-to-image.txt"])
    first = len(lib)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"first words")
        other = Library.open(lib.root)
        import_files(other, [FEEDS / "digest-dit-acceleration.txt"])
        added = len(other) - first
        assert added > 0
        app.auto_refresh()  # (skipped: the note is being typed)
        await pilot.press(*" and more")
        from .test_app_hostile import until

        # (past the autosave, which writes, taking in the import)
        await until(pilot, lambda: lib.state(app.paper_list.current).note.endswith("more"))
        assert lib.state(app.paper_list.current).note == "first words and more"
        await pilot.press("escape")
        await pilot.pause()
        app.auto_refresh()
        await pilot.pause()
        assert len(app.paper_list.ids) == first + added


async def test_a_reload_tick_while_the_app_closes_does_nothing(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen on a loaded CI machine: the app's reload timer ticked after its screen's widgets
    were removed (Textual closes the screens before the app's own timers) and the tick raised
    NoMatches ('#notes'), the app's exception. Here the tick comes at that very moment."""
    from textual.app import App

    app = build(sample_library, tmp_path)
    ticked: list[bool] = []
    prune = App._prune

    def pruned_then_ticked(self: App, *nodes: Any, parent: Any = None) -> Any:
        removing = prune(self, *nodes, parent=parent)
        if self is not app or app._running or ticked:  # (only the closing app's screen)
            return removing

        async def then_ticked() -> None:
            await removing
            ticked.append(True)
            app.auto_refresh()  # (the screen still on its stack, its widgets gone)

        return then_ticked()

    monkeypatch.setattr(App, "_prune", pruned_then_ticked)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert ticked


# ---------------------------------------------------------------------------- help, palette, quit
def binding_keys() -> list[str]:
    keys = []
    for binding in APP_BINDINGS + PaperList.BINDINGS:
        keys += binding.key.split(",")  # type: ignore[union-attr]
    return keys


async def test_help_lists_every_key(sample_library: Library, tmp_path: Path) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.render()) for s in app.screen.query("#help-table Static"))
        names = {
            "question_mark": "?",
            "slash": "/",
            "down": "↓",
            "up": "↑",
            "pagedown": "PgDn",
            "pageup": "PgUp",
            "home": "Home",
            "end": "End",
            "enter": "Enter",
            "escape": "Esc",
            "tab": "Tab",
            "shift+tab": "shift+Tab",
            "number_sign": "#",
            "exclamation_mark": "!",
        }
        for key in binding_keys():
            assert names.get(key, key) in text, key
        await pilot.press("s")  # triage keys are off while help is open
        assert not sample_library.query("is:starred")
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_reaches_every_action(sample_library: Library, tmp_path: Path) -> None:
    app = build(sample_library, tmp_path)
    entries = {e.action for e in app.palette_entries()}
    for binding in APP_BINDINGS:
        if binding.action not in ("escape", "enter"):  # type: ignore[union-attr]
            assert binding.action in entries, binding.action  # type: ignore[union-attr]
    for binding in PaperList.BINDINGS:
        assert "list:" + binding.action in entries  # type: ignore[union-attr]
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"toggle star")
        await pilot.pause(0.5)
        await pilot.press("enter")
        from .test_app_hostile import until

        await until(pilot, lambda: sample_library.state(pid).starred)
        assert sample_library.state(pid).starred


def test_help_sections_cover_the_spec() -> None:
    described = " ".join(text for _, _, text in help_rows())
    for word in ("Inbox", "Starred", "Today's feed", "undo", "export", "import", "PDF"):
        assert word in described


async def test_q_quits(sample_library: Library, tmp_path: Path) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# ---------------------------------------------------------------------------- robustness
HOSTILE_TITLES = [
    "[bold]x[/bold] plain",
    "close [/] tag",
    "[@click=app.quit]x[/] click",
    "[link=https://evil.example]ok[/link] $accent :smile:",
]


async def test_hostile_titles_are_shown_literally(empty_library: Library, tmp_path: Path) -> None:
    lib = empty_library
    papers = [
        Paper(title=t, abstract=f"abstract {i} [red]not red[/red]", authors=["[b]A[/b]"])
        for i, t in enumerate(HOSTILE_TITLES)
    ]
    source = Source(format="hf-text", origin="[bold]feed[x].txt", feed_date="2026-06-18")
    lib.import_feeds([(ParseResult(format="hf-text", papers=papers), source)])
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S", "S", "S")  # by title: a stable order
        plist = app.paper_list
        for i in range(len(plist.ids)):
            title = lib.raw(plist.ids[i])["title"]
            assert title[:36] in plist.row_text(i)
            plist.move_to(i)
            app.sync_detail()
            await pilot.pause()
            assert detail_text(app).splitlines()[0] == title
            assert "[b]A[/b]" in detail_text(app)
            assert "[bold]feed[x].txt" in detail_text(app)
            await pilot.press("t")
            assert title in str(app.screen.query_one(".dialog-title", Static).render())
            await pilot.press(*"[x]", "enter")
            await pilot.press("s", "y", "A", "n")
            await pilot.pause()
        assert app.is_running
        assert lib.all_tags()["[x]"] == len(HOSTILE_TITLES)
        await pilot.press("/", *"[bold]", "enter")
        await settle(pilot, 0.3)
        assert app.is_running


async def test_hostile_feed_file_from_the_library_tests(
    empty_library: Library, tmp_path: Path
) -> None:
    from .conftest import import_files
    from .hostile import hostile_feed

    path, titles = hostile_feed(tmp_path)
    import_files(empty_library, [path])
    app = build(empty_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G", "g", "j", "j", "space", "L", "y")
        await pilot.pause()
        stored = [empty_library.raw(pid)["title"] for pid in app.paper_list.ids]
        for i, title in enumerate(stored[:20]):
            assert title[:25] in app.paper_list.row_text(i)
        assert app.is_running


async def test_library_errors_become_toasts(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kw: object) -> int:
        raise LibraryError("/lib: disk full")

    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(sample_library, "set_state", broken)
        monkeypatch.setattr(sample_library, "undo", broken)
        await pilot.press("s", "space", "m", "u", "e", *"note", "escape")
        await pilot.pause()
        assert app.is_running
        assert "/lib: disk full" in toasts(app)
        assert any(t.startswith("Note not saved: /lib: disk full") for t in toasts(app))


async def test_narrow_terminal_stacks_panes_and_opens_notes_on_demand(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        assert not app.notes.display or app.notes.region.height == 0
        await pilot.press("e")
        await pilot.pause()
        assert app.notes.region.height > 3
        await pilot.press("escape")
        await pilot.pause()
        assert app.detail.region.height > 3


KEYS = ["G", "g", *["pagedown"] * 10, *["j"] * 20, "G", *["k"] * 10]


async def _time_keys(lib: Library, tmp_path: Path, count: int) -> float:
    papers = [
        Paper(
            title=f"Paper number {i} about diffusion",
            feed_date=f"2026-06-{i % 28 + 1:02d}",
            upvotes=i % 50,
        )
        for i in range(count)
    ]
    source = Source(format="hf-text", origin="x", feed_date="2026-06-01")
    lib.import_feeds([(ParseResult(format="hf-text", papers=papers), source)])
    assert len(lib) == count
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # (what the start does after the first paint: the session noted)
        statements: list[str] = []
        lib._conn().set_trace_callback(statements.append)  # what the keys ask of the database
        started = time.perf_counter()
        await pilot.press(*KEYS)
        await pilot.pause()
        elapsed = time.perf_counter() - started
        lib._conn().set_trace_callback(None)
        # Each key reads the rows it shows by id (one by one, or a screenful of ids at once),
        # and the list's ids a window at a time: never the whole library, whatever its size.
        pages = [sql for sql in statements if " LIMIT " in sql]
        by_id = r" WHERE (p\.)?id(=| IN \(SELECT value FROM json_each\()"
        assert all(re.search(by_id, sql) for sql in statements if sql not in pages), statements
        assert len(pages) <= len(KEYS), pages
        assert app.paper_list.cursor == count - 11
        plist = app.paper_list
        statements.clear()
        lib._conn().set_trace_callback(statements.append)
        plist.invalidate()
        for y in range(plist.size.height):
            plist.render_line(y)
        lib._conn().set_trace_callback(None)
        # A full screen of rows drawn afresh reads at most its rows and one page of ids.
        assert len(statements) <= 2 * plist.size.height + 1, statements
        # … and, drawn as the screen draws it, its rows in two statements (heads, states).
        statements.clear()
        plist.invalidate()
        reader = Library.open(lib.root)  # (nothing read yet)
        plist.library = reader
        reader._conn().set_trace_callback(statements.append)
        plist.render_lines(Region(0, 0, *plist.outer_size))
        reader._conn().set_trace_callback(None)
        plist.library = lib
        assert len([sql for sql in statements if " LIMIT " not in sql]) == 2, statements
    return elapsed


async def test_cursor_moves_repaint_the_panes_without_a_layout(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layout of the whole screen costs more than a frame: moving the cursor must not ask
    for one (the detail and the list set their scroll height without it)."""

    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        layouts = count_layouts(monkeypatch)
        shown = []
        for key in ["j"] * 5 + ["pagedown", "G", "k", "g"]:
            await pilot.press(key)
            await rest(pilot)
            shown.append(app.detail.paper_id)
        assert shown[-1] == app.paper_list.ids[0] and len(set(shown)) == len(shown)
        assert "1 of 107" in str(app.query_one("#status").render())
        assert not layouts


async def test_a_hundred_thousand_papers_stay_instant(tmp_path: Path) -> None:
    """What the keys and a repaint ask of the database does not grow with the library (the
    times are measured by bench/run.py, not asserted here)."""
    await _time_keys(Library.open(tmp_path / "small"), tmp_path, 100)
    await _time_keys(Library.open(tmp_path / "large"), tmp_path, 100_000)


async def test_keys_typed_in_a_burst_land_where_the_first_one_sent_them(
    sample_library: Library, tmp_path: Path
) -> None:
    from textual import events

    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # (the list mounted: a loaded machine may not have it after a pause)
        for _ in range(400):  # (a machine at load 10 was seen without it even then)
            if app.query("#papers") and app.query("#search"):
                break
            await pilot.pause(0.05)
        pid = app.paper_list.ids[1]
        for key, char in [("j", "j"), ("e", "e"), *[(c, c) for c in "fast"], ("escape", None)]:
            app.post_message(events.Key(key, char))
        for key, char in [("slash", "/"), *[(c, c) for c in "since"]]:
            app.post_message(events.Key(key, char))
        for _ in range(400):  # a loaded machine may take a while to drain the queue (20 s)
            await pilot.pause(0.05)
            if lib.state(pid).note == "fast" and app.query("#search"):
                if app.search_box.value == "since":
                    break
        assert lib.state(pid).note == "fast"
        assert app.search_box.value == "since"
        assert not lib.query("is:starred")


async def test_a_dialogs_messages_wait_under_it_and_show_again_after(
    sample_library: Library, tmp_path: Path
) -> None:
    """At 80x24 a view's toast ("Starred: 2 papers") and "Export cancelled" covered the
    export dialog's buttons. They wait under the dialog and show again when it closes (none
    is lost). Oracle: the screen as drawn."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:

        def drawn() -> str:
            return "\n".join(s.text for s in app.screen._compositor.render_strips())

        from .test_app_hostile import until

        await pilot.press("s", "j", "s", "2")
        app.toast("A message that lasts", timeout=120)  # (the view's own lasts 2 s)
        await until(pilot, lambda: "A message that lasts" in drawn())
        await pilot.press("x")
        await until(pilot, lambda: bool(re.search(r"Export\s+Cancel", drawn())))
        await settle(pilot, 0.1)
        assert "A message that lasts" not in drawn() and "Starred:" not in drawn(), drawn()
        assert re.search(r"Export\s+Cancel", drawn()), drawn()
        await pilot.press("escape")
        await until(pilot, lambda: "A message that lasts" in drawn() and "cancelled" in drawn())
        assert "A message that lasts" in drawn() and "Export cancelled" in drawn(), drawn()


async def test_a_key_typed_right_after_down_in_the_search_box_goes_to_the_list(
    sample_library: Library, tmp_path: Path
) -> None:
    """Down in the search box goes to the list; a key that arrived with it (tmux: `/diff`,
    then Down and 2 in one write) went into the box as well ("/diff2": nothing found) and
    the list had focus after it: the box's own Down ran after the app had sent the 2 on."""
    from textual import events

    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"diff")
        await settle(pilot)
        for key, char in [("down", None), ("3", "3")]:
            app.post_message(events.Key(key, char))
        for _ in range(100):
            await pilot.pause(0.05)
            if app.view == "all":
                break
        assert app.search_box.value == "diff"
        assert app.view == "all" and app.focused is app.paper_list


async def test_the_search_box_offers_down_to_the_list_only_when_there_are_results(
    sample_library: Library, tmp_path: Path
) -> None:
    """The footer offered "↓ To list" under a search that found nothing (the list empty: the
    key had nowhere to go). Oracle: the bottom line of the screen as drawn, and where Down
    leaves the focus."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:

        def bottom() -> str:
            return app.screen._compositor.render_strips()[-1].text

        await settle(pilot)
        await pilot.press("slash", *"zzqqxx")
        await settle(pilot, 0.3)
        screen = "".join(s.text for s in app.screen._compositor.render_strips())
        assert not app.paper_list.ids and "No papers match" in screen
        assert "To list" not in bottom() and "Clear search" in bottom(), bottom()
        await pilot.press("down")
        assert app.focused is app.search_box
        await pilot.press(*["backspace"] * 6, *"diff")
        await settle(pilot, 0.3)
        assert app.paper_list.ids and "To list" in bottom(), bottom()
        await pilot.press("down")
        assert app.focused is app.paper_list


async def test_the_detail_s_state_line_breaks_between_its_marks_only(
    sample_library: Library, tmp_path: Path
) -> None:
    """At 120 columns the detail's state line broke between "✎" and "note" (the pane wraps
    at any space). Oracle: the detail's text wrapped as the pane wraps it, at every width
    from 16 to 80 cells: no line ends with a mark whose word went to the next line."""
    lib = sample_library
    pid = lib.query("")[0]
    lib.set_state([pid], "star", starred=True)
    lib.set_state([pid], "tag", tags=["diffusion", "to read", "group-meeting", "x"])
    lib.set_state([pid], "edit note", note="a note")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto(pilot, pid)
        await settle(pilot)
        assert "✎ note" in app.detail.text
        for width in range(16, 81):
            lines = [line.plain.rstrip() for line in app.detail._assemble(width).wrap(width)]
            assert not [x for x in lines if x.endswith(("✎", "★", "●", "#"))], (width, lines)
            assert not [x for x in lines if x.startswith(("note", "starred", "unread"))], lines
