"""The papers this window triaged stay in the list when it runs again (`_kept`), attacked
from angles the feature's tests did not take: a sync renaming a kept paper, the cursor's
paper renamed, a note edited under a search of its words, whitespace in the search box.
Written by an adversary helper (advK); the oracles are the feeds generated here and the
library's own answers read back after the fact, never the code under test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui.library import Library

from . import feedgen
from .test_app import SIZE, build
from .test_app_hostile import until

HERE = Path(__file__).resolve().parent.parent


def cli(root: Path, device: str, *args: str) -> None:
    """The real `papertui` of device ``device`` on the library at ``root``."""
    env = {**os.environ, "PAPERTUI_DEVICE": device}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(root), "--create", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def five_papers(arxiv: bool) -> list[dict]:
    return [
        {
            "id": f"2606.2000{i}" if arxiv else None,
            "title": f"Kept Paper Number {i}: A Study of Things",
            "abstract": (
                f"We study thing {i} with an abstract long enough to tell paper {i} apart "
                "from the others, about diffusion and other words. "
            )
            * 3,
            "authors": ["Ana Lima", "Bo Chen"],
        }
        for i in range(5)
    ]


async def test_kept_papers_the_cursor_and_the_selection_follow_papers_a_sync_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The laptop holds five Hugging Face papers (no arXiv id: ids made from their text);
    the reader marks the first read in the Inbox, selects the fourth, the cursor on the
    third. The desk imported the same papers from arXiv and marked the second read; its
    files arrive by a file-sync tool: the laptop's cache unites each pair under the arXiv
    id (the old id an alias). The paper marked read here stays where it was, the second
    leaves, the cursor stays on the third paper and the fourth stays selected. Before, the
    paper marked read left the list too (its old id was no longer in the library), the
    cursor stayed on its row (the fifth paper) and the selection was emptied."""
    laptop, desk = tmp_path / "laptop", tmp_path / "desk"
    hf, rss = tmp_path / "hf.html", tmp_path / "arxiv.rss"
    hf.write_text(feedgen.hf_html(five_papers(False), date="2026-06-20"))
    rss.write_text(feedgen.rss(five_papers(True), date="2026-06-20"))
    cli(laptop, "laptop", "import", str(hf))
    cli(desk, "desk", "import", str(rss))
    cli(desk, "desk", "read", "2606.20001")
    monkeypatch.setenv("PAPERTUI_DEVICE", "laptop")
    lib = Library.open(laptop)
    titles = {pid: lib.raw(pid)["title"] for pid in lib.query("")}
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) == 5)
        shown = [titles[pid] for pid in app.paper_list.ids]
        assert shown == [f"Kept Paper Number {i}: A Study of Things" for i in range(5)]
        await pilot.press("m", "j", "j", "j", "v", "k", "k")  # (the fourth selected)
        assert app.paper_list.cursor == 2
        assert len(app.paper_list.selection) == 1
        before = app.paper_list.ids
        for sub in ("papers", "changes"):  # (what Syncthing or Dropbox does)
            for path in (desk / sub).iterdir():
                shutil.copy2(path, laptop / sub / path.name)
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        ids = list(app.paper_list.ids)
        assert lib.state("2606.20001").read  # (the desk's change, taken in)
        assert ids == ["2606.20000", "2606.20002", "2606.20003", "2606.20004"]
        assert [lib.state(pid).read for pid in ids] == [True, False, False, False]
        assert app.paper_list.current == "2606.20002"
        assert app.paper_list.cursor == 1
        assert app.paper_list.selection == {"2606.20003"}
        await pilot.press("s")  # (stars the selection: the fourth paper, renamed)
        assert [lib.state(pid).starred for pid in ids] == [False, False, True, False]


def other_process(root: Path, code: str, *args: str) -> None:
    """Another papertui process (a second window, a cron job) runs ``code`` on the library
    (``lib``)."""
    script = f"import sys; from tui.library import Library; lib = Library.open(sys.argv[1]); {code}"
    subprocess.run(
        [sys.executable, "-c", script, str(root), *args], check=True, cwd=HERE, timeout=120
    )


async def test_a_paper_whose_note_was_edited_stays_in_a_search_of_its_words(
    sample_library: Library, tmp_path: Path
) -> None:
    """A search of a word of the reader's notes (`/zqxtodo`: what is left to do) lists three
    papers; the reader opens the first one's note and takes the word out (done), leaves the
    note. Another process's write reloads the list: the paper stays where it was, under the
    cursor, as a paper retagged does (its note is its state this window changed). Before, it
    left the list and the cursor jumped to the next paper."""
    lib = sample_library
    noted = list(lib.query("is:unread"))[:3]
    for pid in noted:
        lib.set_state([pid], "edit note", note="zqxtodo")
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/", *"zqxtodo", "enter")
        await until(pilot, lambda: sorted(app.paper_list.ids) == sorted(noted))
        first = app.paper_list.current
        shown = list(app.paper_list.ids)
        await pilot.press("e", *["backspace"] * len("zqxtodo"), *"done", "escape")
        await until(pilot, lambda: lib.state(first).note == "done")
        assert first not in lib.query("is:unread zqxtodo")
        before = app.paper_list.ids
        other_process(lib.root, "lib.set_state([sys.argv[2]], 'star', starred=True)", noted[2])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        assert list(app.paper_list.ids) == shown
        assert app.paper_list.current == first
        await pilot.press("r")  # (asked for the search again: the paper goes)
        assert list(app.paper_list.ids) == [p for p in shown if p != first]


async def test_a_note_stored_later_by_a_retry_brings_no_paper_into_another_view(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note typed on a read paper in All while the disk is full is stored by a retry once
    the reader is in the Inbox: the paper, never in the Inbox, does not come into it at the
    next reload (only a paper the list shows is kept in it)."""
    import errno

    import tui.actions.base as app_base

    lib = sample_library
    read = list(lib.query(""))[0]
    lib.set_state([read], "mark read", read=True)
    monkeypatch.setattr(app_base, "NOTE_RETRY_EVERY", 0.2)
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "g")
        assert app.paper_list.current == read
        real_replace = os.replace

        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "replace", full)
        await pilot.press("e", *"later", "escape")
        await until(pilot, lambda: bool(app.unsaved_notes))
        await pilot.press("1")
        inbox = list(app.paper_list.ids)
        assert read not in inbox
        monkeypatch.setattr(os, "replace", real_replace)  # (space freed: the retry stores it)
        await until(pilot, lambda: not app.unsaved_notes)
        assert lib.state(read).note == "later"
        before = app.paper_list.ids
        other_process(lib.root, "lib.set_state([sys.argv[2]], 'star', starred=True)", inbox[3])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        assert list(app.paper_list.ids) == inbox


async def test_a_space_typed_after_the_search_keeps_the_papers_it_kept(
    sample_library: Library, tmp_path: Path
) -> None:
    """`/diffusion`, the first paper marked read (kept), then a space typed after the word in
    the search box: the same search, so the paper stays. It left the list (the query run
    was "is:unread diffusion ", not the kept one's "is:unread diffusion") and came back at
    the next reload by another process (the search shown was still "diffusion")."""
    lib = sample_library
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/", *"diffusion", "enter")
        found = sorted(lib.query("is:unread diffusion"))
        await until(pilot, lambda: sorted(app.paper_list.ids) == found)
        shown = list(app.paper_list.ids)
        first = app.paper_list.current
        await pilot.press("m")
        assert lib.state(first).read
        await pilot.press("/", "end", "space")
        before = app.paper_list.ids
        await until(pilot, lambda: app.paper_list.ids is not before)  # (the search shown)
        assert list(app.paper_list.ids) == shown
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert list(app.paper_list.ids) == shown
        before = app.paper_list.ids
        other_process(lib.root, "lib.set_state([sys.argv[2]], 'star', starred=True)", shown[2])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        assert list(app.paper_list.ids) == shown


async def test_a_paper_redo_marked_read_again_stays_until_the_view_is_asked_for_again(
    sample_library: Library, tmp_path: Path
) -> None:
    """In the Inbox, the first paper marked read, `r` (it goes), `u` (unread again: back, the
    cursor on it), ctrl+r (redo: read again, as `m` would): another process's write reloads
    the list and the paper stays under the cursor, as after `m`. It left and the cursor
    jumped to the next paper: the redo's change was not kept."""
    lib = sample_library
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 6)
        shown = list(app.paper_list.ids)
        first = shown[0]
        await pilot.press("m", "r")
        assert first not in app.paper_list.ids
        await pilot.press("u")
        assert not lib.state(first).read
        assert list(app.paper_list.ids) == shown and app.paper_list.current == first
        await pilot.press("ctrl+r")
        assert lib.state(first).read
        before = app.paper_list.ids
        other_process(lib.root, "lib.set_state([sys.argv[2]], 'star', starred=True)", shown[4])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        assert list(app.paper_list.ids) == shown
        assert app.paper_list.current == first
        await pilot.press("u")  # (an undo that brings nothing in: unread, in the Inbox)
        await pilot.press("2")  # (another view: it is not carried there)
        assert first not in app.paper_list.ids


async def test_an_undo_of_a_paper_the_view_never_held_brings_none_into_it(
    sample_library: Library, tmp_path: Path
) -> None:
    """A paper marked read in All, then `u` in Starred (the paper is not starred): the undo's
    paper is not kept in Starred, where it never was, when another process's write reloads
    the list."""
    lib = sample_library
    starred = list(lib.query(""))[5:8]
    lib.set_state(starred, "star", starred=True)
    app = build(lib, tmp_path, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "g")
        paper = app.paper_list.current
        assert paper not in starred
        await pilot.press("m", "2")
        assert sorted(app.paper_list.ids) == sorted(starred)
        await pilot.press("u")
        assert not lib.state(paper).read
        before = app.paper_list.ids
        other_process(lib.root, "lib.set_state([sys.argv[2]], 'read', read=True)", starred[0])
        await until(pilot, lambda: app.paper_list.ids is not before)  # (reloaded)
        await pilot.pause(0.3)
        assert sorted(app.paper_list.ids) == sorted(starred)


async def test_the_app_takes_the_cache_another_process_rebuilt_and_trains_once(
    sample_library: Library, tmp_path: Path
) -> None:
    """`papertui doctor --rebuild` in a shell while the app is open deletes the cache file and
    builds a new one. The app's connections stayed on the deleted file for the rest of the
    session: the "for you" training (a process of its own, opening the file by its name)
    stored its scores in the new file, the app read the old one, found its scores stale and
    trained again at every pause, forever (a process of seconds of CPU each time; minutes at
    a million papers), its order never shown. Now the app takes the new file at its next
    reload: one training, then its order."""
    from tui import relevance

    from .test_relevance import triage

    lib = sample_library
    triage(lib)
    app = build(lib, tmp_path, refresh_interval=0.05)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    trainings: list[float] = []
    train = app._train

    def counted(root: str) -> subprocess.CompletedProcess[str]:
        trainings.append(1)
        return train(root)

    app._train = counted  # type: ignore[method-assign]

    def settled() -> bool:
        return not app._foryou_busy and not relevance.stale(app.library)

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, settled)
        assert settled() and len(trainings) == 1
        done = subprocess.run(
            [sys.executable, "-m", "tui", "--db", str(lib.root), "doctor", "--rebuild"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: len(trainings) > 1)  # (the new cache has no scores)
        await until(pilot, settled)
        await pilot.pause(1.0)  # (pauses enough for several trainings)
        assert settled() and len(trainings) == 2
        other = Library.open(lib.root)  # (the file another process opens)
        assert other.score_info() == app.library.score_info() != {}
        while app.sort_key != "foryou":
            await pilot.press("S")
        assert list(app.paper_list.ids) == list(other.query("is:unread", sort="foryou"))


def test_while_another_process_builds_the_cache_anew_the_old_one_still_takes_changes(
    sample_library: Library,
) -> None:
    """A new cache file not complete yet (another process's `doctor --rebuild` under way:
    minutes at a million papers) is not taken, and meanwhile another window's change is
    still read, from the old one."""
    import sqlite3

    lib = sample_library
    other = Library.open(lib.root)  # (a second window, reading the same file)
    pid = list(lib.query("is:unread"))[0]
    lib.refresh()
    path = lib.cache.path
    assert path is not None
    os.rename(path, path.with_name("aside.sqlite"))  # (the old file, as unlinked)
    sqlite3.connect(path).close()  # (the new one, empty so far)
    assert lib.cache.replaced()
    other.set_state([pid], "star", starred=True)
    assert lib.refresh()
    assert lib.state(pid).starred
