"""The app in a new user's first ten minutes: the note pane's look and "saved" indicator,
Chinese wrapping, the cursor after a resize, selection, the import dialog, an empty library,
the palette, what toasts name and the Markdown export. Each test drives the real app
(`App.run_test()` + Pilot) on the sample feeds and reads the screen or the library on disk.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tui.library import Library

from .conftest import FEEDS
from .test_app import build, settle, toasts

SIZE = (120, 35)


# ---------------------------------------------------------------------------- the note pane
async def test_note_pane_has_the_detail_panes_padding(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        detail, notes = app.detail, app.notes
        inset = detail.content_region.x - detail.region.x
        assert inset == 2  # the border and one column of padding
        assert notes.content_region.x - notes.region.x == inset
        assert notes.region.right - notes.content_region.right == inset


async def test_saved_shows_only_for_a_note_that_exists(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.paper_list.current
        assert app.notes.border_subtitle in ("", None)
        await pilot.press("e", "x", "ctrl+s")
        await pilot.pause()
        assert sample_library.state(first).note == "x"
        assert app.notes.border_subtitle == "saved"
        await pilot.press("escape", "j")  # another paper, without a note
        await pilot.pause(0.3)
        assert app.paper_list.current != first
        assert app.notes.text == ""
        assert not app.notes.border_subtitle
        await pilot.press("e", "ctrl+s")  # a never-written note "saved": says nothing
        await pilot.pause()
        assert not app.notes.border_subtitle
        await pilot.press("y", "backspace")  # typed and deleted: nothing to save
        await pilot.pause()
        assert not app.notes.border_subtitle
        await pilot.press("escape", "k", "e")  # back to the note, and empty it
        await pilot.pause(0.3)
        assert app.notes.text == "x"
        await pilot.press("end", "backspace", "ctrl+s")
        await pilot.pause()
        assert sample_library.state(first).note == ""
        assert app.notes.border_subtitle == "note removed"
        assert not any("saved" in t for t in toasts(app))


# ---------------------------------------------------------------------------- the palette
async def test_palette_finds_previous_paper_and_previous_unread(
    sample_library: Library, tmp_path: Path
) -> None:
    from textual.command import CommandList

    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"previous")
        found: list[str] = []
        for _ in range(50):  # the palette searches in a worker
            await pilot.pause(0.05)
            options = app.screen.query_one(CommandList)
            found = [
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            ]
            if len(found) >= 2:
                break
        assert any(f.startswith("Previous paper") for f in found), found
        assert any(f.startswith("Previous unread paper") for f in found), found


# ---------------------------------------------------------------------------- an empty library
def list_text(app) -> str:  # noqa: ANN001
    plist = app.paper_list
    lines = [plist.render_line(y).text.strip() for y in range(plist.size.height)]
    return " ".join(line for line in lines if line)


async def test_a_new_library_says_how_to_get_papers_not_inbox_zero(
    empty_library: Library, tmp_path: Path
) -> None:
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        said = list_text(app)
        assert "Inbox zero" not in said
        assert "i imports a feed file, a folder, a URL or the clipboard" in said
        assert "`papertui fetch`" in said and "arXiv" in said and "Hugging Face" in said


async def test_an_emptied_inbox_says_inbox_zero(sample_library: Library, tmp_path: Path) -> None:
    sample_library.set_state(list(sample_library.query("")), "mark read", read=True)
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.paper_list.ids == []
        said = list_text(app)
        assert said.startswith("Inbox zero")
        assert "papertui fetch" not in said


# ---------------------------------------------------------------------------- resizing
async def test_the_cursor_row_stays_on_screen_after_the_terminal_shrinks(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")  # All: 107 papers
        plist = app.paper_list
        rows = plist.scrollable_content_region.height
        await pilot.press(*["j"] * (rows - 2))  # near the bottom of the pane
        await pilot.pause()
        cursor = plist.cursor
        paper = sample_library.raw(plist.current)
        title = (paper.get("title") or paper["title_zh"])[:12]
        assert int(plist.scroll_y) == 0
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert plist.cursor == cursor
        height = plist.scrollable_content_region.height
        assert height < rows
        # On screen: the row drawn on one of the pane's lines is the cursor's.
        drawn = [plist.render_line(y).text for y in range(plist.size.height)]
        assert any(title in line for line in drawn), (title, drawn)
        assert int(plist.scroll_y) <= cursor < int(plist.scroll_y) + height


# ---------------------------------------------------------------------------- selection
async def test_v_selects_and_moves_down_and_the_help_says_so(
    sample_library: Library, tmp_path: Path
) -> None:
    from tui.dialogs.help import HelpScreen

    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.paper_list.current
        await pilot.press("v")
        assert app.paper_list.selection == {first}
        assert app.paper_list.cursor == 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert "select / unselect and move down" in text
        assert "A selection (v) is cleared once an action has changed its papers" in text


async def test_a_bulk_action_done_clears_the_selection_one_cancelled_keeps_it(
    sample_library: Library, tmp_path: Path
) -> None:
    from tui.dialogs.tags import TagDialog

    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        plist = app.paper_list
        a, b = plist.ids[0], plist.ids[1]
        await pilot.press("v", "v")  # two papers selected
        assert plist.selection == {a, b}
        await pilot.press("s")  # star: done on both, the selection is cleared
        await pilot.pause()
        assert lib.state(a).starred and lib.state(b).starred
        assert plist.selection == set()
        await pilot.press("g", "v", "v", "t")  # tags: cancelled, the selection is kept
        assert isinstance(app.screen, TagDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert plist.selection == {a, b}
        await pilot.press("t", *"later", "enter")  # tags: done, cleared
        await pilot.pause()
        assert "later" in lib.state(a).tags and "later" in lib.state(b).tags
        assert plist.selection == set()
        await pilot.press("g", "v", "g", "m")  # a selection of one is one as well
        await pilot.pause()
        assert lib.state(a).read and not lib.state(b).read
        assert plist.selection == set()


# ---------------------------------------------------------------------------- toasts
async def test_undo_of_a_tag_names_the_tag_and_the_paper(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        pid = app.paper_list.current
        title = lib.short_title(pid)
        await pilot.press("t", *"caching", "enter")
        await pilot.pause()
        assert lib.state(pid).tags == ["caching"]
        await pilot.press("u")
        await pilot.pause()
        assert lib.state(pid).tags == []
        said = toasts(app)[-1]  # (the title cut to one line of the toast, in its quotes)
        assert said.startswith(f"Undone: tag #caching on “{title[:8]}") and said.endswith("”")


async def test_export_toast_counts_papers(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "x")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        target = tmp_path / "exports" / "papertui-starred-2026-11-22.md"
        assert target.exists()
        assert f"1 paper exported to {target} (markdown)" in toasts(app)


# ---------------------------------------------------------------------------- the import dialog
class FeedServer(BaseHTTPRequestHandler):
    """Serves the sample Hugging Face feed at /hf.txt, 404 elsewhere."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = (FEEDS / "hf-daily-papers.txt").read_bytes()
        if self.path != "/hf.txt":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def dialog_error(app) -> str:  # noqa: ANN001
    error = app.screen.query_one("#import-error", Static)
    return str(error.render()) if error.display else ""


async def test_import_dialog_takes_a_url_and_downloads_it_in_the_worker(
    empty_library: Library, tmp_path: Path, feed_server: str
) -> None:
    from tui.dialogs.import_dialog import ImportDialog

    lib = empty_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        assert isinstance(app.screen, ImportDialog)
        app.screen.query_one(Input).value = f"{feed_server}/hf.txt"
        await pilot.press("enter")
        await settle(pilot, 0.1)
        assert not isinstance(app.screen, ImportDialog)
        assert len(lib) > 10
        assert any(t.startswith("Imported 1 feed:") for t in toasts(app)), toasts(app)
        assert f"{feed_server}/hf.txt" in {s.origin for s in lib.get(lib.query("")[0]).sources}
        # A URL the server does not have: one error naming it, as `papertui import URL` says.
        await pilot.press("i")
        app.screen.query_one(Input).value = f"{feed_server}/gone.txt"
        await pilot.press("enter")
        await settle(pilot, 0.1)
        assert any(f"{feed_server}/gone.txt" in t and "404" in t for t in toasts(app))


async def test_import_dialog_says_inside_it_what_cannot_be_imported(
    empty_library: Library, tmp_path: Path
) -> None:
    from tui.dialogs.import_dialog import ImportDialog

    empty = tmp_path / "empty-folder"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.pdf").write_bytes(b"%PDF")
    app = build(empty_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        for value, said in (
            (str(empty), f"{empty}: no feed files (.txt .html .htm .xml .rss .atom .json or"),
            ("ftp://example.org/feed.xml", "only http:// and https:// URLs can be imported"),
            (str(empty_library.root), "a papertui library, not a folder of feeds"),
        ):
            app.screen.query_one(Input).value = value
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ImportDialog)  # still open, to fix the input
            assert said in dialog_error(app)
        await pilot.press("x")  # (editing the path: the old error goes)
        await settle(pilot)
        assert app.screen.query_one("#import-error").has_class("-hidden")
        assert toasts(app) == []  # nothing said in a toast behind it
        await pilot.press("escape")
    assert len(empty_library) == 0


# ---------------------------------------------------------------------------- the export
REWARD_TWO_SENTENCES = (
    "Score- and flow-matching models often rely on preference-based reinforcement learning "
    "for two purposes: aligning with subjective preferences and, surprisingly, recovering "
    "properties such as visual realism and coherent object structure that matching-based "
    "training is intended to learn from the data itself. We argue that this reflects a "
    "structural mismatch."
)


def section(text: str, heading: str) -> str:
    """The text of the export's ``## heading`` section."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


async def test_export_lists_a_paper_once_with_also_in_and_one_kind_of_summary(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    (shiva,) = lib.query('"Residual-Based Differentiable Top-k"')
    (reward,) = lib.query('"The Reward Was in Your Data"')
    lib.set_state([shiva, reward], "star", starred=True)
    lib.set_state([shiva], "tag", add_tags=["speed", "dit"])
    lib.set_state([reward], "tag", add_tags=["dit"])
    shiva_paper, reward_paper = lib.get(shiva), lib.get(reward)
    assert shiva_paper.ai_summary.startswith("Shiva-DiT prunes tokens")  # (English, from HF)
    assert reward_paper.ai_summary.startswith("针对流匹配模型")  # (arXivDaily's is Chinese)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("L", "x")  # Chinese first, then the same export again
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    english = (tmp_path / "exports" / "papertui-starred-2026-11-22.md").read_text("utf-8")
    chinese = (tmp_path / "exports" / "papertui-starred-2026-11-22-2.md").read_text("utf-8")
    for text in (english, chinese):
        assert text.count("### Shiva-DiT: Residual-Based") == 1  # once, under its first tag
        assert "### Shiva-DiT: Residual-Based" in section(text, "speed")
        assert "- **Also in:** \\#dit" in section(text, "speed")
        assert "### The Reward Was in Your Data" in section(text, "dit")
        assert "Also in" not in section(text, "dit")  # its only tag is its heading
    speed, dit = section(english, "speed"), section(english, "dit")
    assert f"\n\n{shiva_paper.ai_summary}\n" in speed
    assert f"\n\n{REWARD_TWO_SENTENCES}\n" in dit  # no English AI summary: two sentences
    assert "针对" not in dit and "提出了一种" not in speed  # no Chinese for an English reader
    speed, dit = section(chinese, "speed"), section(chinese, "dit")
    zh = "提出了一种名为Shiva-DiT的方法"
    assert speed.index(zh) < speed.index(shiva_paper.ai_summary)
    assert dit.index("针对流匹配模型") < dit.index(REWARD_TWO_SENTENCES)


# ---------------------------------------------------------------------------- Chinese wrapping
CLOSERS = set("，。、；：？！」』）,.;:?!)")  # (the test's own list: no line may start with one)
LATIN_WORD = re.compile(r"[A-Za-z0-9]+")


def whole_words(text: str) -> Counter[str]:
    return Counter(LATIN_WORD.findall(text))


def digest_paragraphs() -> list[str]:
    """The Chinese paragraphs (核心贡献 / 方法 / 关键发现 lines) of the bundled digests."""
    out = []
    for path in sorted(FEEDS.glob("digest-*.txt")):
        for line in path.read_text("utf-8").splitlines():
            if line.startswith(("核心贡献", "方法", "关键发现")):
                out.append(line.split(":", 1)[-1].split("：", 1)[-1].strip())
    return out


def test_line_breaks_on_the_digests_follow_kinsoku_and_keep_latin_words() -> None:
    from rich.cells import cell_len

    from tui.text import line_breaks

    paragraphs = digest_paragraphs()
    assert len(paragraphs) > 30
    for width in (20, 37, 56, 76):
        for text in paragraphs:
            cuts = [0, *line_breaks(text, width), len(text)]
            pieces = [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
            assert "".join(pieces) == text  # nothing lost or added
            for piece in pieces:
                assert cell_len(piece.rstrip()) <= width, (width, piece)
            for piece in pieces[1:]:
                assert piece[0] not in CLOSERS, (width, piece)
            # No Latin word cut in two (every word of the paragraph is shorter than a line).
            assert sum((whole_words(p) for p in pieces), Counter()) == whole_words(text)


def test_mixed_text_breaks_before_a_latin_word_not_inside_it() -> None:
    from tui.text import line_breaks

    text = "基于DiT的扩散模型Token Merging方法"
    for width in range(8, 30):
        cuts = [0, *line_breaks(text, width), len(text)]
        pieces = [text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]
        words = [w for p in pieces for w in LATIN_WORD.findall(p)]
        assert words == ["DiT", "Token", "Merging"], (width, pieces)
    # "，" does not fit after 缓存框架 (8 cells): 架 goes down with it, so no line starts
    # with it: 缓存框 | 架，实现 | 了加速。
    assert line_breaks("缓存框架，实现了加速。", 8) == [3, 7]


async def test_the_detail_pane_wraps_chinese_without_a_line_starting_with_a_comma(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    digests = list(lib.query("source:digest"))
    assert len(digests) > 10
    app = build(lib, tmp_path)
    for size in ((120, 35), (80, 24)):
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            detail = app.detail
            for pid in digests:
                detail.show_paper(pid)
                lines = [
                    detail.render_line(y).text.strip() for y in range(detail.virtual_size.height)
                ]
                starts = [line[0] for line in lines if line]
                assert not CLOSERS.intersection(starts), (size, pid, lines)
                drawn = sum((whole_words(line) for line in lines), Counter())
                assert drawn == whole_words(detail.text), (size, pid)
        app = build(lib, tmp_path)


async def test_an_app_started_chinese_first_exports_the_chinese_summary(
    sample_library: Library, tmp_path: Path
) -> None:
    lib = sample_library
    (reward,) = lib.query('"The Reward Was in Your Data"')
    lib.set_state([reward], "star", starred=True)
    app = build(lib, tmp_path, chinese_first=True)  # (what a --chinese-first flag passes)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.detail.chinese_first
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    text = (tmp_path / "exports" / "papertui-starred-2026-11-22.md").read_text("utf-8")
    assert text.index("针对流匹配模型") < text.index(REWARD_TWO_SENTENCES)
