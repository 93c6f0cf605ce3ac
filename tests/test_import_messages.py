"""An import of a folder where several files are bad: one short toast (the feeds imported,
how many files could not be, the first one named short, how many more, the key that lists
them) and every error in full, one per file, on the messages screen (`!`). Before, the
toast joined the errors into one long paragraph. The oracle for the errors is
`papertui import` run on the same folder: the screen lists what the CLI prints."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Input, Static

from tui.dialogs.messages import MessagesScreen
from tui.library import Library

from .conftest import FEEDS
from .test_app import SIZE, build, settle, toasts
from .test_cli import run


def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(FEEDS / "hf-daily-papers.txt", folder / "hf.txt")
    shutil.copy(FEEDS / "digest-dit-acceleration.txt", folder / "digest.txt")
    (folder / "a-notes.txt").write_text("groceries\nmilk, eggs\n", encoding="utf-8")
    (folder / "b-page.html").write_text("<html><body>login</body></html>", encoding="utf-8")
    (folder / "c-dump.xml").write_bytes(b"\x00\x01\x02 binary")
    return folder


async def test_several_bad_files_give_a_short_toast_and_a_full_list(
    empty_library: Library, tmp_path: Path
) -> None:
    folder = bad_folder(tmp_path)
    cli = run("import", str(folder), db=tmp_path / "cli-lib")
    prefix = "papertui: error: "
    expected = [line[len(prefix) :] for line in cli.stderr.splitlines() if line.startswith(prefix)]
    assert cli.returncode != 0 and len(expected) == 3, cli.stderr
    first = expected[0].split(": ")[0]  # (the file the CLI names first: its full path)

    app = build(empty_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        app.screen.query_one(Input).value = str(folder)
        await pilot.press("enter")
        await settle(pilot)
        (said,) = [t for t in toasts(app) if "could not be imported" in t]
        assert said.startswith("Imported 2 feeds: ")
        assert f"; 3 files could not be imported: {Path(first).name} (" in said
        assert said.endswith(" and 2 more; ! lists them")
        assert str(folder) not in said and len(said) < 160  # (short: no path, no list)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        shown = [str(s.render()) for s in screen.query(".message-item Static")]
        assert [s for s in shown if s != "•"] == expected  # each in full, as the CLI says
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MessagesScreen)
        assert len(empty_library) > 0  # the good feeds were imported


async def test_the_messages_screen_says_when_there_is_nothing(
    empty_library: Library, tmp_path: Path
) -> None:
    app = build(empty_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, MessagesScreen)
        texts = [str(s.render()) for s in app.screen.query(Static)]
        assert "No errors or warnings in this session." in texts
        await pilot.press("exclamation_mark")  # (! closes it too)
        await pilot.pause()
        assert not isinstance(app.screen, MessagesScreen)
