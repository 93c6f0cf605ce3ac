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


async def test_feeds_given_at_the_start_that_fail_are_summed_up_too(
    empty_library: Library, tmp_path: Path
) -> None:
    """`papertui good.txt a-notes.txt b-page.html`: one toast for the two files it could
    not import (not one each), both in full on the messages screen."""
    from tui.app import make_app

    folder = bad_folder(tmp_path)
    feeds = [str(folder / n) for n in ("hf.txt", "a-notes.txt", "b-page.html")]
    app = make_app(library=empty_library, feeds=feeds, refresh_interval=0, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        (said,) = toasts(app)
        assert said.startswith("2 problems at the start: ")
        assert f"{folder / 'a-notes.txt'} (not a recognised feed …)" in said
        assert said.endswith(" and 1 more; ! lists them")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        shown = [str(s.render()) for s in app.screen.query(".message-item Static")]
        listed = [s for s in shown if s != "•"]
        assert [s.split(": ")[0] for s in listed] == feeds[1:]
        assert all("not a recognised feed (tried " in s for s in listed)
    assert len(empty_library) > 0
