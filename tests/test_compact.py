"""The cache gives back the pages a merge of its search index frees (issue 10's disk figure):
a new cache is made with ``auto_vacuum=INCREMENTAL`` and a commit that leaves many pages free
has a thread of its own give them back (`Cache.compact`). The oracle is SQLite's own view of
the file through a connection of the test's (``freelist_count``, ``page_count``,
``integrity_check``) and the papers the feeds hold."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui.library import Library, cache

from .conftest import ROOT
from .feedgen import rss
from .test_import_beside import _healthy, core_feeds

FEEDS, PER_FEED = 16, 60  # (the 16th import of a library makes its index merge: automerge)


def _feeds(folder: Path) -> list[Path]:
    folder.mkdir()
    for f in range(FEEDS):
        papers = [
            {
                "id": f"2611.{f * PER_FEED + i + 10000:05d}",
                "title": f"Compaction paper {f * PER_FEED + i}",
                "abstract": " ".join(f"w{(f * PER_FEED + i) * 7 + k}x" for k in range(150)),
                "authors": ["Ann Merge", "Bo Vacuum"],
            }
            for i in range(PER_FEED)
        ]
        (folder / f"f{f:02d}.xml").write_text(rss(papers, date=f"2026-06-{1 + f:02d}"))
    return sorted(folder.iterdir())


def _pages(database: Path) -> tuple[int, int, int]:
    """(auto_vacuum, page_count, freelist_count) as a connection of the test's sees them,
    after it has copied every WAL page into the file."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return tuple(  # type: ignore[return-value]
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("auto_vacuum", "page_count", "freelist_count")
        )
    finally:
        conn.close()


def _import_one_by_one(root: Path, files: list[Path]) -> None:
    lib = Library.open(root)
    try:
        for path in files:
            lib.import_feeds(core_feeds([path]))
    finally:
        lib.close()


def _papers(root: Path) -> tuple[list[str], list[str]]:
    """Every arXiv id, and the ids a word of one abstract finds (from the index)."""
    lib = Library.open(root)
    try:
        every = sorted(lib.record(p).get("arxiv_id") for p in lib)
        found = sorted(lib.record(p).get("arxiv_id") for p in lib.query("w3507x"))
        return every, found
    finally:
        lib.close()


def _uncompacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library whose index merge left pages free (compaction held off while it was made)."""
    files = _feeds(tmp_path / "feeds")
    root = tmp_path / "lib"
    with monkeypatch.context() as patch:
        patch.setattr(cache, "COMPACT_PAGES", 10**9)
        _import_one_by_one(root, files)
    return root


def test_the_pages_an_index_merge_frees_are_given_back_to_the_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same 16 imports with and without compaction: without, the merge the 16th makes
    leaves a hundred pages free in the file; with, none are left and the file is smaller by
    them, and it holds the same papers, found by the same search."""
    root = _uncompacted(tmp_path, monkeypatch)
    database = root / ".cache" / "library.sqlite"
    mode, pages, free = _pages(database)
    assert mode == 2 and free >= 50, (mode, pages, free)  # (the scenario frees pages)
    kept = _papers(root)
    # (paper n's abstract holds the words w{7n}x … w{7n+149}x)
    assert len(kept[0]) == FEEDS * PER_FEED
    assert kept[1] == [f"2611.{10000 + n:05d}" for n in range(480, 502)]

    monkeypatch.setattr(cache, "COMPACT_PAGES", 16)
    again = tmp_path / "again"
    _import_one_by_one(again, sorted((tmp_path / "feeds").iterdir()))
    database = again / ".cache" / "library.sqlite"
    mode, compacted, left = _pages(database)
    assert left <= 16 and compacted <= pages - free + 16, (pages, free, compacted, left)
    assert os.path.getsize(database) == compacted * 8192
    assert _papers(again) == kept
    _healthy(again)


def test_a_star_made_while_the_pages_are_given_back_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction a page a transaction on its thread while this thread stars papers one by
    one: each star waits at most for one step, every star is kept, and the pages are all
    given back."""
    root = _uncompacted(tmp_path, monkeypatch)
    monkeypatch.setattr(cache, "COMPACT_PAGES", 16)
    monkeypatch.setattr(cache, "COMPACT_STEP", 1)
    lib = Library.open(root)
    ids = sorted(lib)[:40]
    lib.cache.tidy(lib._conn())
    compacting = lib.cache._checkpoint
    assert compacting is not None and compacting.is_alive()
    for pid in ids:
        assert lib.set_state([pid], "star", starred=True) == 1
    lib.close()
    assert not compacting.is_alive()
    again = Library.open(root)
    assert [p for p in again if again.raw_state(p).get("starred")] == ids
    again.close()
    assert _pages(root / ".cache" / "library.sqlite")[2] == 0
    _healthy(root)


_COMPACT_THEN = """
import os, sys, time
from tui.library import Library, cache

cache.COMPACT_PAGES, cache.COMPACT_STEP = 16, 1  # (a page a transaction: many moments)
cache.COMPACT_GRACE = float(sys.argv[3])
lib = Library.open(sys.argv[1])
lib.cache.tidy(lib._conn())
print("compacting", flush=True)
if sys.argv[2] != "exit":
    time.sleep(float(sys.argv[2]))
    os.kill(os.getpid(), 9)
"""


def _compact_in_a_child(root: Path, then: str, grace: float = 2.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _COMPACT_THEN, str(root), then, str(grace)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.01, 0.03, 0.1])
def test_a_process_killed_while_it_gives_pages_back_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    """SIGKILL at moments of a compaction: the next open has every paper, the search finds
    what it found, SQLite finds the file sound, and no page is lost or counted twice (the
    free pages are at most what they were)."""
    root = _uncompacted(tmp_path, monkeypatch)
    database = root / ".cache" / "library.sqlite"
    _, pages, free = _pages(database)
    kept = _papers(root)
    child = _compact_in_a_child(root, str(delay))
    out, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL and out == "compacting\n", err
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    _, now, left = _pages(database)
    assert left <= free and now - left == pages - free
    assert _papers(root) == kept
    _healthy(root)


def test_a_compaction_the_exit_cuts_short_is_finished_after_a_later_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that ends while its compaction runs ends (it waits `COMPACT_GRACE`, here
    none) with the pages not yet given back left free; a later commit in another process
    gives them back."""
    root = _uncompacted(tmp_path, monkeypatch)
    database = root / ".cache" / "library.sqlite"
    _, _, free = _pages(database)
    child = _compact_in_a_child(root, "exit", grace=0.0)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0 and out == "compacting\n", err
    left = _pages(database)[2]
    assert 0 < left <= free
    monkeypatch.setattr(cache, "COMPACT_PAGES", 16)
    lib = Library.open(root)
    pid = sorted(lib)[0]
    assert lib.set_state([pid], "star", starred=True) == 1
    lib.close()
    assert _pages(database)[2] == 0


def test_an_older_cache_without_incremental_vacuum_is_left_as_it_is(tmp_path: Path) -> None:
    """A cache made before compaction (``auto_vacuum`` NONE, which only a VACUUM of the
    whole file could change) keeps its free pages for later writes: no thread is started
    and nothing fails; `doctor --rebuild` makes it anew, able to give them back."""
    files = _feeds(tmp_path / "feeds")
    root = tmp_path / "lib"
    Library.open(root).close()
    database = root / ".cache" / "library.sqlite"
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum=NONE")
    conn.execute("VACUUM")
    conn.close()
    assert _pages(database)[0] == 0
    lib = Library.open(root)
    for path in files:
        lib.import_feeds(core_feeds([path]))
    started = lib.cache._checkpoint
    lib.close()
    assert started is None
    assert _pages(database)[2] > 16
    done = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--rebuild", "--db", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _pages(database)[0] == 2
    assert len(_papers(root)[0]) == FEEDS * PER_FEED


def test_a_search_on_another_thread_during_compaction_sees_every_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages move while a worker thread searches (its own connection, as the app's): each
    answer is the whole set."""
    root = _uncompacted(tmp_path, monkeypatch)
    kept = _papers(root)
    monkeypatch.setattr(cache, "COMPACT_PAGES", 16)
    monkeypatch.setattr(cache, "COMPACT_STEP", 1)
    lib = Library.open(root)
    answers: list[list[str]] = []

    def search() -> None:
        for _ in range(30):
            answers.append(sorted(lib.record(p).get("arxiv_id") for p in lib.query("w3507x")))

    lib.cache.tidy(lib._conn())
    worker = threading.Thread(target=search)
    worker.start()
    worker.join(60)
    lib.close()
    assert answers == [kept[1]] * 30


_HOLD_A_SNAPSHOT = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM paper").fetchone()
print("reading", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_a_reader_holding_a_snapshot_does_not_make_compaction_grow_the_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process reads in one long transaction (an export, a search) while the pages
    are given back: no checkpoint can copy the moved pages past its snapshot, so each step
    only added to the WAL, which grew by about every page given back (as much disk again as
    compaction gives back, 66 MB for 61 MB free at 80,000 papers) and the file shrank not
    at all. The compaction stops once the WAL holds `COMPACT_WAL` pages it cannot copy;
    after the reader is done a later commit gives back the rest."""
    root = _uncompacted(tmp_path, monkeypatch)
    database = root / ".cache" / "library.sqlite"
    _, pages, free = _pages(database)
    monkeypatch.setattr(cache, "COMPACT_PAGES", 16)
    monkeypatch.setattr(cache, "COMPACT_STEP", 4)
    monkeypatch.setattr(cache, "COMPACT_WAL", 16)
    reader = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_SNAPSHOT, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "reading\n"
        lib = Library.open(root)
        ids = sorted(lib)[:2]
        assert lib.set_state(ids[:1], "star", starred=True) == 1
        compacting = lib.cache._checkpoint
        assert compacting is not None
        compacting.join(60)
        wal = os.path.getsize(str(database) + "-wal") // (8192 + 24)
        # (the limit, a step's pages and the pages each move rewrites besides: 60, not 200)
        assert wal <= 60, (wal, free)
        lib.close()
    finally:
        reader.communicate("\n", timeout=60)
    assert _pages(database)[2] > 0  # (stopped: the rest is given back later)
    lib = Library.open(root)
    assert lib.set_state(ids[1:], "star", starred=True) == 1
    lib.close()
    _, now, left = _pages(database)
    assert left == 0 and now == pages - free
    again = Library.open(root)
    assert [p for p in again if again.raw_state(p).get("starred")] == ids
    again.close()
    _healthy(root)


_ON_A_FULL_DISK = r"""
set -e
mount -t tmpfs -o size=64m tmpfs "$1"
cp -a "$2" "$1/lib"
used=$(df -B1 --output=used "$1" | tail -1)
mount -o remount,size=$((used + $3)) "$1"
"$4" -c '
import sqlite3, sys
from tui.library import Library, cache
cache.COMPACT_PAGES = 16
lib = Library.open(sys.argv[1])
pid = sorted(lib)[0]
print(lib.set_state([pid], "star", starred=True))
lib.close()
conn = sqlite3.connect(sys.argv[1] + "/.cache/library.sqlite")
print(*(conn.execute(f"PRAGMA {n}").fetchone()[0] for n in ("page_count", "freelist_count")))
print(conn.execute("PRAGMA integrity_check").fetchone()[0])
' "$1/lib"
df -B1 --output=avail "$1" | tail -1
"""


def test_a_nearly_full_disk_gets_the_free_pages_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a disk with less room left than one step of compaction writes to the WAL (here
    300 KB against a step of the 111 pages free), the step failed with SQLITE_FULL every
    time and nothing was ever given back, on the disk where it matters most. A step that
    finds the disk full is tried again half as long: every page comes back. (A tmpfs of
    that size, in a mount namespace of the test's own: skipped where there is none.)"""
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("no user and mount namespaces here (unshare -rm)")
    root = _uncompacted(tmp_path, monkeypatch)
    _, pages, free = _pages(root / ".cache" / "library.sqlite")
    (tmp_path / "mnt").mkdir()
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", _ON_A_FULL_DISK, "sh"]
        + [str(tmp_path / "mnt"), str(root), str(300 * 1024), sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    changed, counts, sound, room = done.stdout.split("\n")[:4]
    assert (changed, sound) == ("1", "ok"), done.stdout + done.stderr
    assert counts == f"{pages - free} 0", (counts, pages, free, room)
    assert int(room) >= free * 8192
