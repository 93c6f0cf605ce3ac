"""Ways a note the user wrote was still lost, misfiled or reverted, found by an adversary
after the first fixes (they failed on 05cdecf).

Each test states what the user typed (the oracle) and checks the library on disk, read by a
fresh handle, as another process would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.actions import base as app_base
from tui.library import Library
from tui.library.doctor import repair

from .test_app import build
from .test_app_hostile import until
from .test_notes_tags import (
    SIZE,
    Terminal,
    _hold_lock,
    _release,
    on_disk,
    open_note_and_type,
    small_library,
)


# ------------------------------------------------------------------ the real app in a pty
def test_a_non_utf8_byte_from_the_terminal_does_not_cost_the_note(tmp_path: Path) -> None:
    """A Latin-1 terminal (or Alt in 8-bit meta mode, or a binary paste) sends 0xE9 for é.
    Textual's input thread dies on the decode error, the app panics with a traceback and
    exit status 0, and the note on screen, typed a moment before, is neither saved nor
    printed."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    term = Terminal("--db", str(lib.root))
    try:
        open_note_and_type(term, "zq-cafe")  # drawn: the app has these keys
        term.send(b"\xe9 au lait")
        term.read_until(b"never", timeout=5)
        term.send(b"\x1b")
        term.read_until(b"never", timeout=2)
        term.send(b"q")
        term.wait()
    finally:
        term.kill()
    assert on_disk(lib).state(pid).note.startswith("zq-cafe"), term.output[-400:]


def test_terminal_closed_while_the_library_is_locked_keeps_the_note_somewhere(
    tmp_path: Path,
) -> None:
    """SIGHUP while another process holds the lock (a long import): the save waits 5 s,
    fails, and the text is 'printed' to a terminal that no longer exists. Nothing on disk
    holds it: the note is gone once the lock is released."""
    lib = small_library(tmp_path)
    holder = _hold_lock(lib.root)
    term = Terminal("--db", str(lib.root))
    try:
        open_note_and_type(term, "zq-hupwhilelocked")
        term.hang_up()
    finally:
        term.kill()
        _release(holder)
    found = [
        p for p in lib.root.rglob("*") if p.is_file() and b"zq-hupwhilelocked" in p.read_bytes()
    ]
    assert found, "the typed note is nowhere on disk"


# ------------------------------------------------------------------ doctor --repair
def _long_note_with_edits(root: Path) -> tuple[Library, str, str]:
    lib = small_library(root)
    pid = lib.query("")[0]
    base = "long note line\n" * 400
    for text in (base, base + " one", base + " one two", base + " one two three"):
        lib.set_state([pid], "edit note", note=text)  # changes 1..4 (2..4 stored as edits)
    return lib, pid, base


def test_repair_of_one_damaged_change_loses_only_that_change(tmp_path: Path) -> None:
    """doctor says 'quarantine it; that one change is lost', but every later edit of the
    same long note (stored as an edit of the text the lost change made) is dropped too, and
    doctor then reports the library healthy."""
    lib, pid, base = _long_note_with_edits(tmp_path)
    (lib.root / "changes" / "00000002.json").write_bytes(b"garbage")
    repair(lib.root)
    note = on_disk(lib).state(pid).note
    assert note.endswith("three"), repr(note[-40:])


def test_a_note_edit_after_a_repair_made_while_the_app_is_open_survives(tmp_path: Path) -> None:
    """The app (this handle) has loaded change 2; doctor --repair quarantines it in another
    terminal; the next note edit in the app is written as an edit of the text only the app
    still has. Reopened, that edit is silently not applied."""
    lib, pid, base = _long_note_with_edits(tmp_path)
    (lib.root / "changes" / "00000004.json").write_bytes(b"garbage")
    repair(lib.root)
    typed = lib.state(pid).note + " typed after the repair"
    lib.set_state([pid], "edit note", note=typed, note_base=lib.state(pid).note)
    assert "typed after the repair" in on_disk(lib).state(pid).note


# ------------------------------------------------------------------ the app (Pilot)
async def test_a_draft_deleted_while_unsaved_does_not_come_back(tmp_path, monkeypatch) -> None:
    """Locked: 'secret' is typed (NOT SAVED), then deleted; the pane is empty and the user
    moves on. When the lock is released the retry stores the deleted draft."""
    lib = small_library(tmp_path, lock_timeout=0.3)
    monkeypatch.setattr(app_base, "NOTE_RETRY_EVERY", 0.2)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        holder = _hold_lock(lib.root)
        try:
            await pilot.press("e", *"secret", "ctrl+s")
            await pilot.pause()
            await pilot.press(*["backspace"] * 6)
            assert app.notes.text == ""
            await pilot.press("escape", "j")
            await pilot.pause()
        finally:
            _release(holder)
        await until(pilot, lambda: on_disk(lib).state(pid).note == "")
    assert on_disk(lib).state(pid).note == ""


async def test_typing_goes_on_in_the_note_of_the_paper_being_typed_about(tmp_path) -> None:
    """Typing a note in the Inbox while another process (a second window, `papertui read`)
    marks that paper read: the refresh moves the cursor, the note pane switches to the next
    paper with the focus still in it, and the rest of the sentence becomes that paper's
    note."""
    lib = small_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        first = app.paper_list.current
        await pilot.press("e", *"first half ")
        await pilot.pause()
        subprocess.run(
            [sys.executable, "-m", "tui", "read", first, "--db", str(lib.root)],
            check=True,
            capture_output=True,
        )
        app.auto_refresh()
        await pilot.pause()
        await pilot.press(*"second half", "escape")
        await pilot.pause()
    assert on_disk(lib).state(first).note == "first half second half"


def test_a_typed_zero_width_non_joiner_is_kept(tmp_path: Path) -> None:
    """Persian keyboards type U+200C (ZWNJ) inside words (می‌خواهم); typed, it is dropped
    (Textual takes only str.isprintable() keys as text), which respells the word."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    word = "می\u200cخواهم"
    term = Terminal("--db", str(lib.root))
    try:
        assert term.read_until(b"Inbox")
        term.send(b"e", then=b"Save")
        term.send(word.encode(), then="خواهم".encode())
        term.send(b"\x1b", then=b"saved")
        term.send(b"q")
        term.wait()
    finally:
        term.kill()
    assert on_disk(lib).state(pid).note == word


async def test_a_note_opens_for_writing_at_its_end(tmp_path: Path) -> None:
    """`e` on a paper with a note: what is typed goes after the note, not before it."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    lib.set_state([pid], "edit note", note="first thoughts.\nmore")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert app.paper_list.current == pid
        await pilot.press("e", *" and then", "escape")
        await pilot.pause()
    assert on_disk(lib).state(pid).note == "first thoughts.\nmore and then"


async def test_rescued_notes_are_announced_and_listed_by_doctor(tmp_path: Path) -> None:
    from tui.recovery import rescue

    lib = small_library(tmp_path)
    pid = lib.query("")[0]
    kept = rescue({pid: "typed while the disk was full"}, {pid: "A title"}, lib.root)
    assert kept is not None and kept.parent == lib.root / "recovered"
    assert "typed while the disk was full" in kept.read_text(encoding="utf-8")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
    assert any("could not save earlier" in m and str(kept.parent) in m for m in messages)
    doctor = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--db", str(lib.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert doctor.returncode == 1 and f"{kept}: notes papertui could not save" in doctor.stdout
    assert kept.exists()


async def test_an_empty_library_says_so_not_inbox_zero(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "typo")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "No papers yet in this library" in app.paper_list.empty_text
        assert str(lib.root) in app.paper_list.empty_text


def test_two_rescues_in_the_same_second_are_two_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop watch may rescue twice within a second (the pane changed after its first
    look); both rescues had the same name, so the second fell through every folder and was
    not written (an adversary helper, by reading). Now the second gets -2."""
    import tempfile

    from tui.recovery import recovered_files, rescue

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # (the other folders)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    root = tmp_path / "lib"
    root.mkdir()
    first = rescue({"p1": "some words"}, {"p1": "A paper"}, root)
    second = rescue({"p1": "some words and more"}, {"p1": "A paper"}, root)
    third = rescue({"p1": "some words and more still"}, {"p1": "A paper"}, root)
    assert first is not None and second is not None and third is not None
    assert len({first, second, third}) == 3 and first.parent == second.parent == third.parent
    assert "some words and more\n" in second.read_text(encoding="utf-8")
    assert "some words and more still" in third.read_text(encoding="utf-8")
    assert sorted(recovered_files(root)) == sorted([first, second, third])


async def test_typing_after_a_save_met_another_windows_note_goes_where_the_cursor_was(
    tmp_path: Path,
) -> None:
    """Two windows write the same note (a real app in tmux, advA): the second's save is
    merged with the first's text, and the pane shows the merged note, its cursor kept at
    the same row and column: at the second character of the other window's words. Its two
    Backspaces, meant for its own "XX", deleted "li" of the other's "line from two.", and
    the rest of its typing went into the middle of that text."""
    lib = small_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("e", *"XX")
        await pilot.pause()
        subprocess.run(  # the other window's save, while this one types
            [
                sys.executable,
                "-m",
                "tui",
                "note",
                pid,
                "-m",
                "line from two.",
                "--db",
                str(lib.root),
            ],
            check=True,
            capture_output=True,
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.notes.text == "line from two.XX"  # (both kept: theirs first)
        await pilot.press("backspace", "backspace", *" and mine", "escape")
        await pilot.pause()
    assert on_disk(lib).state(pid).note == "line from two. and mine"
