"""Hostile feed and user text through every surface of the app (issue 5).

Every string of `tests/hostile.py` goes through the list, the detail, the notes, the tag editor,
toasts, the confirm dialog, the search box and the status bar, the help screen and the command
palette. For each, the tests assert that nothing raises; that the visible text — the strips the
compositor hands the terminal, cropped to the widget — holds the sanitised string literally;
that nothing a terminal would act on reaches the output (ESC, C1 and other controls, bidi
overrides, OSC 8 links, click actions); and that clicking the rendered text does nothing but
move the cursor (no action, no link opened, the app still running).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.content import Content
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from tui.app import PaperTUI
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.help import HelpScreen
from tui.dialogs.tags import TagDialog
from tui.feeds import ParseResult
from tui.library import Library
from tui.models import Paper, Source
from tui.tags import TagError, format_tags, parse_tags
from tui.text import clean, clean_line

from .conftest import FEEDS, import_files
from .hostile import HOSTILE
from .test_app import Recorder, build, settle, toasts

# What must never reach the terminal: C0 controls (tab and newline included: a strip is one
# line), DEL, C1 controls and the bidirectional marks, embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LONG = max(HOSTILE, key=len)  # the 6,000-character one
# Typed key by key (the rest is pasted, as a terminal delivers a paste: typing every string
# would take a minute and exercise nothing more).
TYPED = ["[/]", "[@click=app.quit]x[/]", "back\\[slash]"]


# ---------------------------------------------------------------------------- the library
def hostile_library(directory: Path) -> tuple[Library, list[str]]:
    """An arXivDaily feed whose papers carry the hostile strings in their title, first author
    and English abstract (four papers per copy of the sample, as many copies as it takes),
    imported the way the CLI imports; returns the library and the paper id per string."""
    text = (FEEDS / "arxivdaily-image-generation.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    heads = [i for i, line in enumerate(lines) if line[:10].replace(".", "").isdigit()]
    abstracts = [i + 2 for i, line in enumerate(lines) if line == "英文摘要"]
    feeds = []
    for start in range(0, len(HOSTILE), len(heads)):
        out = list(lines)
        for n, (head, abstract) in enumerate(zip(heads, abstracts, strict=True)):
            if start + n >= len(HOSTILE):
                break
            raw = HOSTILE[start + n]
            out[head] = out[head].replace("2606.", f"26{start // 4 + 10:02d}.")
            out[head + 2] = f"T{start + n} {raw} end"
            out[head + 6] = f"A{start + n} {raw}, Second Author"
            out[abstract] = f"Abstract {start + n}: {raw} end."
        feeds.append("\n".join(out))
    path = directory / "hostile.txt"
    path.write_text("\n\n".join(feeds), encoding="utf-8")
    lib = Library.open(directory / "lib")
    import_files(lib, [path])
    by_prefix = {lib.raw(pid)["title"].split(" ")[0]: pid for pid in lib.query("")}
    return lib, [by_prefix[f"T{i}"] for i in range(len(HOSTILE))]


# ---------------------------------------------------------------------------- the screen
def screen_strips(app: PaperTUI) -> list[Strip]:
    """The screen as the compositor renders it for the terminal, one strip per line."""
    return list(app.screen._compositor.render_strips())


def safe_output(app: PaperTUI) -> list[Strip]:
    """The screen's strips, after checking that nothing in them is a control, a bidi mark,
    a hyperlink or a click action."""
    strips = screen_strips(app)
    for y, strip in enumerate(strips):
        for segment in strip:
            assert not UNSAFE.search(segment.text), (y, segment.text[:80])
            style = segment.style
            if style is not None:
                assert not style.link, (y, segment)
                assert "@click" not in style.meta, (y, segment)
    return strips


def region_text(app: PaperTUI, widget: Widget, strips: list[Strip] | None = None) -> str:
    """The visible text of ``widget`` (inside its border and padding), line by line."""
    strips = safe_output(app) if strips is None else strips
    region = widget.content_region.intersection(app.screen.region)
    return "\n".join(strips[y].crop(region.x, region.right).text for y in region.line_range)


def flat(text: str) -> str:
    """Without whitespace: text wrapped over several lines compares with the unwrapped one."""
    return "".join(text.split())


def row_shows(line: str, title: str) -> bool:
    """The row holds the title whole, or its start up to the ellipsis where it was cut."""
    shown = line[line.index(title[:3]) :]
    if title in shown:
        return True
    cut = shown.index("…")
    return cut >= 10 and title.startswith(shown[:cut])


async def paste(pilot: Any, text: str) -> None:
    """Paste as a terminal does: the event goes to the app, which hands it to the focus."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def show(pilot: Any, pid: str) -> int:
    app = pilot.app
    index = app.paper_list.ids.index(pid)
    app.paper_list.move_to(index)
    app.sync_detail()
    await pilot.pause()
    return index


async def until(pilot: Any, ready: Callable[[], bool]) -> None:
    """Let the app run until ``ready()`` says what the test waits for has happened (a fixed
    pause was too short on a loaded machine and too long on a quiet one); after 500 short
    pauses the test goes on, and its assertions say what did not happen."""
    for _ in range(500):
        if ready():
            return
        await pilot.pause(0.02)


def tags_answered(app: PaperTUI) -> bool:
    """The tag editor has answered Enter: closed with its toast shown, or still open with
    the reason it refused the tags."""
    if isinstance(app.screen, TagDialog):
        return not app.screen.query_one("#tag-error", Static).has_class("-hidden")
    return bool(toasts(app)) and bool(app.screen.query("Toast"))


# ---------------------------------------------------------------------------- list and detail
async def test_rows_and_detail_show_hostile_feed_text_literally(tmp_path: Path) -> None:
    lib, pids = hostile_library(tmp_path)
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=(160, 110)) as pilot:
        await settle(pilot)
        plist, detail = app.paper_list, app.detail
        for raw, pid in zip(HOSTILE, pids, strict=True):
            paper = lib.get(pid)
            # The library holds the sanitised text: escapes, controls and bidi marks gone.
            assert paper.title == clean_line(paper.title) and not UNSAFE.search(paper.title)
            assert paper.title.startswith(clean_line(f"T{pids.index(pid)} {raw}")[:60])
            index = await show(pilot, pid)
            strips = safe_output(app)
            rows = region_text(app, plist, strips).splitlines()
            row = rows[index - int(plist.scroll_y)]
            assert row_shows(row, paper.title), (row, paper.title[:80])
            # Everything is in the detail, literally; what fits on screen is visible.
            for part in (paper.title, paper.authors[0], paper.abstract):
                assert part in detail.text
            visible = flat(region_text(app, detail, strips))
            if raw is not LONG:
                for part in (paper.title, paper.authors[0], paper.abstract):
                    assert flat(part)[:1000] in visible, part[:80]
            else:
                assert flat(paper.title)[:500] in visible
        assert len(plist.row_text(plist.ids.index(pids[HOSTILE.index(LONG)]))) < 200


async def test_clicking_hostile_rows_and_detail_triggers_nothing(tmp_path: Path) -> None:
    lib, pids = hostile_library(tmp_path)
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plist = app.paper_list
        before = (lib.undo_label(), len(toasts(app)))
        for pid in pids:
            index = plist.ids.index(pid)
            plist.move_to(index)
            await pilot.pause()
            y = 1 + index - int(plist.scroll_y)
            for x in (12, 40):  # the title's start and its end
                assert await pilot.click("#papers", offset=(x, y))
                await pilot.pause()
                assert plist.cursor == index
            for x, y in ((10, 1), (20, 6)):  # the title, the authors
                await pilot.click("#detail", offset=(x, y))
                await pilot.pause()
            assert app.is_running
            safe_output(app)
        assert rec.opened == [] and rec.copied == []
        assert (lib.undo_label(), len(toasts(app))) == before  # no change, no message


# ---------------------------------------------------------------------------- notes
async def test_hostile_notes_typed_pasted_and_reopened(tmp_path: Path) -> None:
    lib, pids = hostile_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notes = app.notes
        for n, raw in enumerate(HOSTILE):
            pid = pids[n]
            await show(pilot, pid)
            await pilot.press("e")
            await (pilot.press(*raw) if raw in TYPED else paste(pilot, raw))
            await pilot.press("escape")  # saves
            await pilot.pause()
            expected = clean(raw)
            assert lib.state(pid).note == expected, (raw[:40], lib.state(pid).note[:40])
            await show(pilot, pids[(n + 1) % len(pids)])
            await show(pilot, pid)
            await pilot.press("e")
            await pilot.pause()
            assert notes.text == expected
            visible = flat(region_text(app, notes))
            assert flat(expected)[:300] in visible
            await pilot.press("escape")
        # A note that reached the library with controls in it (another tool, an older
        # version) is shown without them, and is not rewritten unless it is edited.
        await show(pilot, pids[0])
        for raw in HOSTILE:
            lib.set_state([pids[0]], "note", note=raw)
            app.sync_detail(force=True)
            await pilot.pause()
            assert notes.text == clean(raw)
            safe_output(app)
            assert not notes.dirty
        assert lib.state(pids[0]).note == HOSTILE[-1]


# ---------------------------------------------------------------------------- tags, toasts
async def test_hostile_tags_in_the_editor_rows_detail_and_toast(tmp_path: Path) -> None:
    lib, pids = hostile_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        for n, raw in enumerate(HOSTILE):
            pid = pids[n]
            index = await show(pilot, pid)
            app.clear_notifications()  # the last toast would cover the dialog
            await pilot.press("t")
            assert isinstance(app.screen, TagDialog)
            title = region_text(app, app.screen.query_one(".dialog-title"))
            assert flat(lib.raw(pid)["title"])[:60] in flat(title)
            assert len(title) < 1000  # a 6,000-character title does not push the input away
            await (pilot.press(*raw) if raw in TYPED else paste(pilot, raw))
            await pilot.press("enter")
            await until(pilot, lambda: tags_answered(app))
            try:
                tags = parse_tags(clean_line(raw))
            except TagError as err:  # e.g. a lone "#": the editor says why and stays open
                assert isinstance(app.screen, TagDialog)
                error = app.screen.query_one("#tag-error", Static)
                assert not error.has_class("-hidden")
                assert flat(str(err))[:60] in flat(region_text(app, error))
                await pilot.press("escape")
                await pilot.pause()
                assert lib.state(pid).tags == []
                continue
            assert lib.state(pid).tags == tags
            shown = "Tags: " + (" ".join("#" + t for t in tags) or "no tags")
            assert toasts(app)[-1] == (shown if len(shown) <= 400 else shown[:400] + "…")
            toast = list(app.screen.query("Toast"))[-1]
            assert toast.region.height <= 12  # a 6,000-character tag is cut short
            assert flat(shown)[:200] in flat(region_text(app, toast))
            row = app.paper_list.row_text(index)
            # (tags are cut with … before the source column: the start shows, literally)
            assert row.count("#") >= 1 and ("#" + tags[0])[:6] in row
            assert " ".join("#" + t for t in tags) in app.detail.text
            await pilot.press("t")  # the editor shows them again, literally
            await pilot.pause()
            editor = app.screen
            assert isinstance(editor, TagDialog)
            assert editor.query_one("#tag-input", Input).value == format_tags(tags) + ", "
            known = editor.query_one("#tag-known", Static).render()  # a toast may cover it
            assert isinstance(known, Content)
            assert known.plain == "Existing: " + format_tags(
                sorted(editor.known, key=str.casefold)[:12]
            )
            assert tags[0] in editor.known
            await pilot.press("escape")
            await pilot.pause()
        # Tags stored by another tool with controls in them are shown without them.
        lib.set_state(pids[:1], "tag", tags=list(HOSTILE))
        app.sync_detail(force=True)
        app.paper_list.invalidate()
        await show(pilot, pids[0])
        safe_output(app)
        await pilot.press("t")
        await pilot.pause()
        safe_output(app)
        shown = app.screen.query_one("#tag-input", Input).value
        assert shown == format_tags(HOSTILE) + ", "  # controls not shown, odd tags quoted
        await pilot.press("enter")  # unchanged: every tag kept exactly as stored
        await pilot.pause()
        assert lib.state(pids[0]).tags == list(HOSTILE)
        assert app.is_running


# ---------------------------------------------------------------------------- search, confirm
async def test_hostile_queries_in_the_search_box_status_and_confirm_dialog(
    tmp_path: Path,
) -> None:
    lib, _pids = hostile_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for raw in HOSTILE:
            await pilot.press("slash")
            await (pilot.press(*raw) if raw in TYPED else paste(pilot, raw))
            query = clean_line(raw)
            assert app.search_box.value == query
            await pilot.press("enter")
            await settle(pilot)
            strips = safe_output(app)
            status = region_text(app, app.query_one("#status"), strips)
            if app.search_text:  # a valid query: the status bar names it
                assert app.search_text == query
                assert flat(query)[:30] in flat(status)
            else:  # the box stays open and says what is wrong
                assert flat(query)[:30] in flat(region_text(app, app.search_box, strips))
            await pilot.press("A")
            await pilot.pause()
            if isinstance(app.screen, ConfirmDialog):
                text = flat(region_text(app, app.screen.query_one("#confirm"), safe_output(app)))
                assert flat(f"(search: {query})")[:60] in text
                await pilot.press("n")
                await pilot.pause()
            await pilot.press("escape", "escape")
            await pilot.pause()
        assert app.is_running
        assert lib.undo_label() is None  # nothing was marked


# ---------------------------------------------------------------------------- help, palette
async def test_help_screen_and_command_palette_with_hostile_input(tmp_path: Path) -> None:
    lib, pids = hostile_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await show(pilot, pids[HOSTILE.index(LONG)])
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = flat(region_text(app, app.screen.query_one("#help")))
        assert flat("first paper") in shown and flat("last paper") in shown
        await pilot.press("escape")
        for raw in HOSTILE:
            await pilot.press("ctrl+p")
            await pilot.pause()
            await (pilot.press(*raw) if raw in TYPED else paste(pilot, raw))
            await pilot.pause()
            strips = safe_output(app)
            assert flat(clean_line(raw))[:40] in flat("\n".join(s.text for s in strips))
            await pilot.press("escape")
            await pilot.pause()
            assert app.is_running and app.screen is app.screen_stack[0]


# ---------------------------------------------------------------------------- links
async def test_open_follows_only_http_links(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    papers = [
        Paper(title="Script link", abstract="a", code_url="javascript:alert(1)"),
        Paper(title="File link", abstract="b", code_url="file:///etc/passwd"),
        Paper(title="Web link", abstract="c", code_url="https://example.org/code"),
    ]
    source = Source(format="hf-text", origin="links.txt", feed_date="2026-06-18")
    lib.import_feeds([(ParseResult(format="hf-text", papers=papers), source)])
    rec = Recorder()
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for pid in lib.query(""):
            await show(pilot, pid)
            await pilot.press("o")
            await settle(pilot)
        assert rec.opened == ["https://example.org/code"]
        assert sum("not a web link" in t for t in toasts(app)) == 2  # and says why
