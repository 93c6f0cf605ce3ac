"""The library's cache (a derived SQLite file) replaced, rebuilt or held by other processes and
threads while the app or a command runs. Written by an adversary helper (advC); the oracles
are the process's own open files (/proc/self/fd), real `papertui` processes and the
library read back by a new handle, never the code under test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.library import Library

from .test_app import SIZE, build, settle

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
