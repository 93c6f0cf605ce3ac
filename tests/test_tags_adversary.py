"""Tags, undo and output faults found by an adversary after the first fixes (each failed on
05cdecf)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from tui.library import Library

from .test_app import build
from .test_notes_tags import SIZE, cli, on_disk, small_library


async def test_u_keeps_a_star_another_process_set_again_since(tmp_path: Path) -> None:
    """README: "A field changed again since by a later change is left as it is". The app
    stars a paper; a script unstars it, then stars it again; `u` in the app must not remove
    the script's star (it did: the star made last, by `papertui star`, is gone)."""
    lib = small_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("s")
        await pilot.pause()
        assert cli("star", pid, "--off", db=lib.root).returncode == 0
        assert cli("star", pid, db=lib.root).returncode == 0
        await pilot.press("u")
        await pilot.pause()
    assert on_disk(lib).state(pid).starred


async def test_u_keeps_a_tag_another_process_added_again_since(tmp_path: Path) -> None:
    """The app adds tag x; a script removes x and adds it again; `u` removes the script's x."""
    lib = small_library(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("t", "x", "enter")
        await pilot.pause()
        assert cli("tag", pid, "--remove", "x", db=lib.root).returncode == 0
        assert cli("tag", pid, "--add", "x", db=lib.root).returncode == 0
        await pilot.press("u")
        await pilot.pause()
    assert on_disk(lib).state(pid).tags == ["x"]


async def test_import_path_completion_never_draws_a_file_names_escape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named `evil<ESC>c.txt` in the folder being typed: the import dialog's
    completion drew the name raw, and ESC c reset the terminal (which also turns bracketed
    paste off, so later pastes store `^[...` garbage)."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "evil\x1bc.txt").write_text("x")
    lib = small_library(tmp_path)
    monkeypatch.chdir(tmp_path)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = "feeds/ev"
        field.cursor_position = len(field.value)
        await pilot.pause(0.3)
        drawn = "".join(seg.text for y in range(field.size.height) for seg in field.render_line(y))
    assert "\x1b" not in drawn, repr(drawn)


def test_doctor_reports_a_file_name_that_is_not_utf8_without_crashing(tmp_path: Path) -> None:
    """A file whose name is not UTF-8 (a Latin-1 `été`, or a byte 0x9B, which some terminals
    read as CSI) left in the library by a copy or a sync tool: `doctor` must name it with
    the byte escaped. It printed the raw byte (0x9B reaches the terminal) and, where stdout
    is strict UTF-8 (LANG=en_US.UTF-8), crashed with a UnicodeEncodeError traceback."""
    lib = small_library(tmp_path)
    changes = os.fsencode(lib.root / "changes")
    with open(os.path.join(changes, b"notes-\xe9t\xe9.json"), "wb") as handle:
        handle.write(b"{}")
    with open(os.path.join(changes, b"csi-\x9b2J.json"), "wb") as handle:
        handle.write(b"{}")
    for env in ({}, {"PYTHONIOENCODING": "utf-8"}):
        result = subprocess.run(
            [sys.executable, "-m", "tui", "doctor", "--db", str(lib.root)],
            capture_output=True,
            env={**os.environ, **env},
            timeout=60,
            check=False,
        )
        assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
        assert result.returncode == 1
        assert b"\x9b2J" not in result.stdout  # a lone C1 byte, never a terminal's CSI
        assert b"notes-" in result.stdout and b"csi-" in result.stdout


def test_a_tag_made_on_one_copy_of_a_synced_library_is_not_silently_dropped(
    tmp_path: Path,
) -> None:
    """Two machines share a library through a file-sync tool. Each tags a paper while the
    other is offline: both write changes/<N+1>.json, so the sync keeps one and renames the
    other `<N+1>.sync-conflict-….json`. The tag in the renamed file was gone from every
    command, and `doctor` called the file "not a papertui file … remove it yourself"."""
    lib = small_library(tmp_path)
    ids = lib.query("")
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(lib.root, a)
    shutil.copytree(lib.root, b)
    assert cli("tag", ids[0], "--add", "fromA", db=a).returncode == 0
    assert cli("tag", ids[1], "--add", "fromB", db=b).returncode == 0
    (name,) = {p.name for p in (b / "changes").iterdir()} - {
        p.name for p in (lib.root / "changes").iterdir()
    }
    mine = a / "changes" / name
    mine.rename(mine.with_name(name.replace(".json", ".sync-conflict-20260619-101010-ABC.json")))
    shutil.copy2(b / "changes" / name, a / "changes" / name)  # the sync keeps B's file
    doctor = cli("doctor", "--repair", db=a)
    tags = {pid: Library.open(a).state(pid).tags for pid in ids[:2]}
    kept = tags[ids[0]] == ["fromA"] and tags[ids[1]] == ["fromB"]
    assert kept or "fromA" in doctor.stdout, (tags, doctor.stdout)


def test_list_and_export_find_a_tag_that_holds_a_quote(tmp_path: Path) -> None:
    """The tag syntax allows a quote in a tag (`"say ""hi"" now"`), but `--tag` (and `tag:`)
    build a query shlex cannot split, so `export --tag` silently exported 0 papers."""
    lib = small_library(tmp_path)
    pid = lib.query("")[0]
    assert cli("tag", pid, "--add", '"say ""hi"" now", q"uote', db=lib.root).returncode == 0
    assert cli("star", pid, db=lib.root).returncode == 0
    assert Library.open(lib.root).state(pid).tags == ['say "hi" now', 'q"uote']
    for tag in ('say "hi" now', 'q"uote'):
        listed = cli("list", "--tag", tag, db=lib.root)
        assert pid in listed.stdout, (tag, listed.stdout)
        exported = cli("export", "--tag", tag, db=lib.root)
        assert "1 paper," in exported.stdout, (tag, exported.stdout[:200])


def test_keys_that_arrive_together_edit_the_tag_in_the_order_typed(tmp_path: Path) -> None:
    """Keys read from the terminal in one read (a busy UI thread, a laggy SSH link) must
    apply in order: `to-read`, four backspaces, `do` is the tag `to-do`. Textual 8.2.8 applies
    the backspaces (a binding) after the letters of the same read: the tag stored was
    `to-re`. (The note's TextArea does the same.)"""
    from .test_notes_tags import Terminal

    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    term = Terminal("--db", str(lib.root))
    try:
        assert term.read_until(b"Inbox")
        term.send(b"t", then=b"Existing")
        term.send(b"to-read\x7f\x7f\x7f\x7fdo")
        term.send(b"\r", then=b"Tags: #")
        term.send(b"q")
        assert term.wait() == 0
    finally:
        term.kill()
    assert on_disk(lib).state(pid).tags == ["to-do"]


async def test_a_tag_edit_the_library_refuses_comes_back_with_what_was_typed(
    tmp_path: Path,
) -> None:
    """Another process holds the lock: Enter in the tag editor cannot save. The editor comes
    back holding what was typed, saying why; Enter again, once the lock is free, saves it."""
    from .test_notes_tags import _hold_lock, _release

    lib = small_library(tmp_path, lock_timeout=0.3)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        holder = _hold_lock(lib.root)
        try:
            await pilot.press("t", *" locked1", "enter")
            await pilot.pause()
            field = app.screen.query_one(Input)
            assert field.value.endswith("locked1")
            assert "Not saved" in str(app.screen.query_one("#tag-error").render())
        finally:
            _release(holder)
        await pilot.press("enter")
        await pilot.pause()
    assert "locked1" in on_disk(lib).state(pid).tags


def test_a_tag_typed_composed_or_decomposed_is_one_tag_and_an_invisible_one_is_refused() -> None:
    from tui.tags import TagError, parse_tags

    assert parse_tags("cafe\u0301, café") == ["café"]  # NFD and NFC: the same tag
    for invisible in ("\u200b", "\u3164", '"\u200b"', "#\u200b"):
        with pytest.raises(TagError, match="nothing in it shows|needs at least one"):
            parse_tags(invisible)
