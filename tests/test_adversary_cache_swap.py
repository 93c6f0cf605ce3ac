"""The library's cache (a derived SQLite file) replaced, rebuilt or held by other processes and
threads while the app or a command runs. Written by an adversary helper (advC); the oracles
are the process's own open files (/proc/self/fd), real `papertui` processes and the
library read back by a new handle, never the code under test."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tui.library import Library

from .test_app import SIZE, build, settle

HERE = Path(__file__).resolve().parent.parent

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc/self/fd"
)


def cache_files_open() -> list[str]:
    """The files of a papertui cache this process holds open (the database and its WAL),
    as /proc names them (a deleted one ends in " (deleted)")."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # (the fd listdir itself used, closed since)
            continue
        if ".sqlite" in target:
            found.append(target)
    return found


def rebuild_in_another_process(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(root), "doctor", "--rebuild"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@needs_proc
async def test_a_long_triage_session_does_not_run_out_of_file_descriptors(
    sample_library: Library, tmp_path: Path
) -> None:
    """Every change made in the app (a star, a paper marked read) folds the journal on a
    thread of its own, which opened a connection to the cache that the cache kept (and with
    it two file descriptors) for the rest of the session: about 600 changes reached the
    usual limit of 1,024 open files (150 under macOS's 256), and the app ended with a
    traceback, "Too many open files". Now a thread's connection is closed once the thread
    has ended."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "s")
        await settle(pilot, 0.2)
        before = len(cache_files_open())
        for _ in range(30):
            await pilot.press("s")
            await pilot.pause(0.02)
        await settle(pilot, 0.3)
        after = len(cache_files_open())
        assert after <= before + 4, (before, after)
        starred = app.paper_list.current
    # Every change was kept (30 toggles after two: starred as at the start, not starred).
    assert not Library.open(sample_library.root).state(starred).starred


@needs_proc
def test_the_cache_another_process_rebuilt_is_let_go_of_by_every_thread(
    sample_library: Library,
) -> None:
    """`papertui doctor --rebuild` while the app is open: the app takes the new file, and
    the old one's connections of the app's worker threads (searches, counts) were dropped
    but stayed open, each held by a reference cycle of its own (sqlite3's statement cache)
    until the garbage collector's next full pass, which an app at rest may not make for
    hours: each rebuild left the deleted cache's file descriptors, and its disk space (the
    size of the cache: hundreds of MB at a million papers), held. Now they are closed when
    the app takes the new file."""
    lib = sample_library
    pool = ThreadPoolExecutor(3)  # (the app's workers: threads that live on)
    was_enabled = gc.isenabled()
    gc.disable()  # (an app at rest: no full collection comes by chance)
    try:
        for _ in range(3):
            # Each worker thread reads the cache on a connection of its own.
            found = list(pool.map(lambda _: len(lib.query("diffusion")), range(9)))
            assert len(set(found)) == 1 and found[0] > 0
            rebuild_in_another_process(lib.root)
            assert lib.refresh()  # (the new file taken)
            held = [name for name in cache_files_open() if name.endswith(" (deleted)")]
            assert held == []
        assert len(lib.query("diffusion")) == found[0]
    finally:
        pool.shutdown()
        if was_enabled:
            gc.enable()


@needs_proc
def test_a_rebuild_landing_as_the_cache_is_opened_is_seen(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's `doctor --rebuild` that deletes the cache file and makes a new one
    just after a handle has opened it (a window or a "for you" training opening the library
    while a rebuild loop runs): the handle took the new file's identity for the one it had
    opened, so it never noticed the replacement and read the deleted file for the rest of
    the session, while the "for you" training (a process opening the file by its name)
    stored its scores in the new one: the scores were never seen and were trained again at
    every pause. Now the file is identified before it is opened: the new one is taken."""
    import sqlite3

    from tui.library.cache import default_location

    root = sample_library.root
    sample_library.close()
    path = default_location(root)
    real = sqlite3.connect
    raced: list[bool] = []

    def connect(database: object, *args: object, **kw: object) -> sqlite3.Connection:
        conn = real(database, *args, **kw)  # type: ignore[arg-type]
        if not raced and str(database) == str(path):
            raced.append(True)  # (the handle's first connection: the rebuild lands now)
            rebuild_in_another_process(root)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    lib = Library.open(root)
    monkeypatch.setattr(sqlite3, "connect", real)
    assert raced
    done = subprocess.run(
        [sys.executable, "-m", "tui.relevance", str(root)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lib.refresh()
    other = Library.open(root)  # (the file another process opens)
    assert other.score_info() != {}
    assert lib.score_info() == other.score_info()
    assert not [name for name in cache_files_open() if name.endswith(" (deleted)")]
