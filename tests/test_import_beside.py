"""A big import (1,000 papers or more) runs some of its SQL on threads beside its Python work
(`cache.Beside`: the keys asked about while the next feeds' are worked out, the text indexed
while the segment file is made). Real `papertui import` processes interrupted by a real
SIGINT at moments spread over the import, or refused by a real full disk (RLIMIT_FSIZE):
all of the import is kept or none of it, the library stays healthy and the next import
stores everything. The oracle is the arXiv ids the test generated."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.library import Library

from .conftest import ROOT
from .feedgen import rss

FILES, PER_FILE = 6, 250  # 1,500 papers: a big import


def _feeds(folder: Path) -> dict[str, set[str]]:
    """Write the feeds; the arXiv ids each holds, by file name."""
    folder.mkdir()
    ids: dict[str, set[str]] = {}
    for f in range(FILES):
        papers = [
            {
                "id": f"2611.{f * PER_FILE + i + 10000:05d}",
                "title": f"Beside the point number {f * PER_FILE + i}: threads in imports",
                "abstract": f"We study paper {f * PER_FILE + i} of a big import, and its words. "
                * 8,
                "authors": [f"Ann Thread{i}", "Bo Beside"],
            }
            for i in range(PER_FILE)
        ]
        ids[f"feed{f}.xml"] = {p["id"] for p in papers}
        (folder / f"feed{f}.xml").write_text(rss(papers), encoding="utf-8")
    return ids


def _cli(*args: str, fsize: int | None = None) -> subprocess.Popen[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env={**os.environ, "PAPERTUI_DEVICE": "beside"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )


def _arxiv_ids(root: Path) -> list[str]:
    lib = Library.open(root)
    try:
        return sorted(lib.record(pid).get("arxiv_id") for pid in lib)
    finally:
        lib.close()


def _healthy(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--db", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_ctrl_c_at_any_moment_of_a_big_import_keeps_all_of_it_or_none(tmp_path: Path) -> None:
    """SIGINT at five moments from the process's start to its end (timed on an import run
    first): each interrupted import is all there or not at all (no paper of it half there,
    none twice), `doctor` finds the library healthy, and the same import run again then
    stores every paper once. (tests/test_import_interrupted.py finds the commit's own
    moment by bisection.)"""
    ids = set().union(*_feeds(tmp_path / "feeds").values())
    start = time.monotonic()
    first = _cli("import", str(tmp_path / "feeds"), "--db", str(tmp_path / "timed"))
    _, err = first.communicate(timeout=300)
    took = time.monotonic() - start
    assert first.returncode == 0, err
    assert _arxiv_ids(tmp_path / "timed") == sorted(ids)
    outcomes = []
    for n in range(5):
        root = tmp_path / f"lib{n}"
        child = _cli("import", str(tmp_path / "feeds"), "--db", str(root))
        time.sleep(took * (0.3 + 0.16 * n))  # (from the parse to after the commit)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=300)
        assert "Traceback" not in err, err
        kept = _arxiv_ids(root) if root.exists() else []
        assert kept in ([], sorted(ids)), (n, len(kept))
        # (it says it stored them only when it did)
        assert (child.returncode == 0) <= (kept == sorted(ids)), (n, child.returncode, out, err)
        if child.returncode == 130:  # (and an interrupted one says which: all or nothing)
            said = err.strip().splitlines()[-1]
            assert said.startswith(
                "papertui: interrupted, but the import was kept: 1,500 new"
                if kept
                else "papertui: interrupted; nothing was imported"
            ), (n, said)
        outcomes.append(bool(kept))
        if root.exists():
            _healthy(root)
        again = _cli("import", str(tmp_path / "feeds"), "--db", str(root))
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert _arxiv_ids(root) == sorted(ids)
    print("interrupted imports kept:", outcomes)


# Loaded by a `papertui` process started with this folder on PYTHONPATH: the text's index,
# on its thread, says it has started and holds for a while, inside the import's transaction.
_HOLD = """
import os, time
from pathlib import Path
from tui.library import cache

_real = cache._index_staged

def _held(conn):
    Path(os.environ["PAPERTUI_TEST_HOLD"], "held").touch()
    time.sleep(1.5)
    _real(conn)

cache._index_staged = _held
"""


def test_a_ctrl_c_while_the_text_is_indexed_on_its_thread_keeps_none_of_the_import(
    tmp_path: Path,
) -> None:
    """SIGINT while the index thread works inside the transaction: the importing thread,
    waiting for it, interrupts it and lets it end before the transaction is rolled back (a
    statement of the thread run after the rollback would have been committed on its own):
    nothing of the import is kept, no temp file, `doctor` healthy, exit 130."""
    ids = set().union(*_feeds(tmp_path / "feeds").values())
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_HOLD, encoding="utf-8")
    root = tmp_path / "lib"
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "import", str(tmp_path / "feeds"), "--db", str(root)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(hook), "PAPERTUI_TEST_HOLD": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(6000):  # (a minute at most)
        if (tmp_path / "held").exists() or child.poll() is not None:
            break
        time.sleep(0.01)
    assert (tmp_path / "held").exists(), child.communicate()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, (out, err)
    assert err.strip() == "papertui: interrupted; nothing was imported (the library is as it was)"
    assert _arxiv_ids(root) == []
    assert not list(root.rglob(".tmp-*")) and not list((root / "papers").iterdir())
    _healthy(root)
    again = _cli("import", str(tmp_path / "feeds"), "--db", str(root))
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _arxiv_ids(root) == sorted(ids)


@pytest.mark.parametrize("fsize", [k * 1024 for k in (64, 512, 1024, 1400, 1600, 3000)])
def test_a_disk_full_during_a_big_import_keeps_none_of_it_and_says_so(
    tmp_path: Path, fsize: int
) -> None:
    """RLIMIT_FSIZE (a full disk, a quota) at sizes the segment file, the database's write-
    ahead log or its growth reach while the text is indexed on its own thread: the feeds
    that could not be stored (the whole import failed, then each feed was tried on its own)
    are named in one line each, without a traceback, and none of their papers is kept; the
    others are kept whole; the library is healthy, and the import run again without the
    limit stores every paper."""
    feeds = _feeds(tmp_path / "feeds")
    ids = set().union(*feeds.values())
    root = tmp_path / "lib"
    Library.open(root).close()  # (the library exists: only the import meets the limit)
    child = _cli("import", str(tmp_path / "feeds"), "--db", str(root), fsize=fsize)
    out, err = child.communicate(timeout=300)
    assert "Traceback" not in err, err
    failed = {name for name in feeds if f"{name}: not stored: " in err}
    assert len(err.strip().splitlines()) == len(failed), err  # (one line for each)
    assert (child.returncode == 0) == (not failed), (child.returncode, err)
    kept = _arxiv_ids(root)
    assert kept == sorted(set().union(*(feeds[n] for n in feeds if n not in failed))), err
    _healthy(root)
    again = _cli("import", str(tmp_path / "feeds"), "--db", str(root))
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _arxiv_ids(root) == sorted(ids)
    print(f"fsize {fsize}: {len(failed)} of {len(feeds)} feeds refused")


@pytest.mark.parametrize("where", ["index", "keys"])
def test_an_error_on_a_thread_beside_the_import_stores_nothing_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The database refuses a statement run on a thread beside the import (the text's
    index, or the question of which keys are known): the error reaches the importing
    thread, nothing is stored (no paper, no segment file, no temp file), and the same
    import then stores every paper once. (RLIMIT_FSIZE above rarely lands there with a
    small import: the index's pages reach the disk only at the commit.)"""
    import sqlite3

    from tui.library import cache

    from .conftest import import_files

    feeds = _feeds(tmp_path / "feeds")
    lib = Library.open(tmp_path / "lib")
    before = sorted(p.name for p in (tmp_path / "lib").rglob("*"))

    def refuse(*_args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    if where == "index":
        monkeypatch.setattr(cache, "_index_staged", refuse)
    else:
        monkeypatch.setattr(cache.Cache, "known", staticmethod(refuse))
    paths = sorted((tmp_path / "feeds").iterdir())
    with pytest.raises(Exception, match="disk I/O error"):
        lib.import_feeds(core_feeds(paths))
    monkeypatch.undo()
    assert len(lib) == 0 and len(Library.open(tmp_path / "lib")) == 0
    assert sorted(p.name for p in (tmp_path / "lib").rglob("*")) == before
    assert "papertui-sql" not in threading_names()
    import_files(lib, paths)
    assert _arxiv_ids(tmp_path / "lib") == sorted(set().union(*feeds.values()))


def core_feeds(paths: list[Path]) -> list:
    from datetime import date

    from tui.importing import read_sources

    loaded, errors = read_sources([str(p) for p in paths], date(2026, 6, 19), "2026-06-19")
    assert not errors
    return loaded


def threading_names() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate()]


def test_closing_the_library_leaves_a_search_running_in_another_thread_its_connection(
    tmp_path: Path,
) -> None:
    """`Library.close` (a rebuild drops the cache the same way) closes the calling thread's
    connection only: a worker thread in the middle of reading on its own keeps it. (The
    connections can be used from any thread now, for the import's helper threads: closing
    every thread's broke a search running meanwhile.)"""
    import threading

    from .conftest import FEEDS, import_files

    lib = Library.open(tmp_path / "lib")
    import_files(lib, [FEEDS / "digest-dit-acceleration.txt"])
    held, closed, answers = threading.Event(), threading.Event(), []

    def search() -> None:
        conn = lib.cache.conn()  # (the worker's own, as `Results` fetches it)
        answers.append(conn.execute("SELECT count(*) FROM paper").fetchone()[0])
        held.set()
        assert closed.wait(30)
        answers.append(conn.execute("SELECT count(*) FROM paper").fetchone()[0])

    worker = threading.Thread(target=search)
    worker.start()
    assert held.wait(30)
    lib.close()
    closed.set()
    worker.join(30)
    assert answers == [len(lib), len(lib)]


# ------------------------------------------------------------- the checkpoint after the commit
def _papers_in_file_alone(database: Path, copy: Path) -> set[str]:
    """The arXiv ids the database file holds by itself: a copy of it without its WAL."""
    import shutil
    import sqlite3

    copy.mkdir()
    shutil.copy(database, copy / "alone.sqlite")
    conn = sqlite3.connect(copy / "alone.sqlite")
    try:
        return {r[0] for r in conn.execute("SELECT arxiv_id FROM paper")}
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["lib", "my lib #1 %20?&mode=ro"])
def test_a_big_imports_pages_reach_the_database_file_after_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A big import's commit leaves its pages in the WAL and a thread copies them into the
    database file after it: with another connection open on the database (the app open in
    another terminal: SQLite then copies nothing when this one closes), the file alone
    holds every paper once the library is closed; also for a library given by a relative
    path whose name has characters a URI gives meaning to."""
    import sqlite3

    ids = set().union(*_feeds(tmp_path / "feeds").values())
    monkeypatch.chdir(tmp_path)
    lib = Library.open(name)
    database = lib.cache.path
    assert database is not None and (tmp_path / name / ".cache").is_dir()
    other = sqlite3.connect(database)  # (a reader elsewhere: never the last to close)
    try:
        assert other.execute("SELECT count(*) FROM paper").fetchone() == (0,)
        reports = lib.import_feeds(core_feeds(sorted((tmp_path / "feeds").iterdir())))
        assert sum(r.new for r in reports) == len(ids)
        lib.close()
        assert _papers_in_file_alone(database, tmp_path / "copy") == ids
        assert other.execute("SELECT count(*) FROM paper").fetchone() == (len(ids),)
    finally:
        other.close()


def test_a_write_right_after_a_big_import_is_kept_and_commits_copy_the_wal_again(
    tmp_path: Path,
) -> None:
    """A star made right after a big import (while its WAL is being copied) is kept; the
    library's commits copy the WAL into the database again as they grow it (the setting
    a big commit suspends is back)."""
    ids = set().union(*_feeds(tmp_path / "feeds").values())
    root = tmp_path / "lib"
    lib = Library.open(root)
    lib.import_feeds(core_feeds(sorted((tmp_path / "feeds").iterdir())))
    starred = sorted(lib)[:3]
    assert lib.set_state(starred, "star", starred=True) == 3
    assert lib._conn().execute("PRAGMA wal_autocheckpoint").fetchone() == (512,)
    lib.close()
    again = Library.open(root)
    assert sorted(again.record(p).get("arxiv_id") for p in again) == sorted(ids)
    assert [p for p in again if again.raw_state(p).get("starred")] == starred
    again.close()
    _healthy(root)


_KILLED_AFTER = """
import os, sys, time
from datetime import date
from pathlib import Path
from tui.importing import read_sources
from tui.library import Library

lib = Library.open(sys.argv[1])
files = sorted(str(p) for p in Path(sys.argv[2]).iterdir())
loaded, errors = read_sources(files, date(2026, 6, 19), "2026-06-19")
assert not errors
lib.import_feeds(loaded)
print("stored", flush=True)
time.sleep(float(sys.argv[3]))
os.kill(os.getpid(), 9)
"""


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.01, 0.03])
def test_a_process_killed_just_after_a_big_import_keeps_all_of_it(
    tmp_path: Path, delay: float
) -> None:
    """SIGKILL moments after a big import returned, as the thread copying its WAL into the
    database starts or runs: the next open has every paper, `doctor` finds the library
    healthy, and the same feeds again are all known."""
    feeds = _feeds(tmp_path / "feeds")
    ids = set().union(*feeds.values())
    root = tmp_path / "lib"
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER, str(root), str(tmp_path / "feeds"), str(delay)],
        cwd=ROOT,
        env={**os.environ, "PAPERTUI_DEVICE": "killed"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL and child.stdout == "stored\n", child.stderr
    assert _arxiv_ids(root) == sorted(ids)
    _healthy(root)
    lib = Library.open(root)
    reports = lib.import_feeds(core_feeds(sorted((tmp_path / "feeds").iterdir())))
    assert (sum(r.new for r in reports), sum(r.unchanged for r in reports)) == (0, len(ids))
    lib.close()


_EXITS_AFTER = """
import sqlite3, sys, time
from datetime import date
from pathlib import Path
from tui.importing import read_sources
from tui.library import Library, cache

real = sqlite3.connect

def slow(*args, **kwargs):  # (the checkpoint's connection opens late: the exit comes first)
    if kwargs.get("uri"):
        time.sleep(0.5)
    return real(*args, **kwargs)

cache.sqlite3 = type("S", (), {**vars(sqlite3), "connect": staticmethod(slow)})
lib = Library.open(sys.argv[1])
files = sorted(str(p) for p in Path(sys.argv[2]).iterdir())
loaded, errors = read_sources(files, date(2026, 6, 19), "2026-06-19")
lib.import_feeds(loaded)
print("stored", flush=True)
"""


def test_a_process_that_ends_without_closing_the_library_waits_for_the_wal_copy(
    tmp_path: Path,
) -> None:
    """`papertui import` and the app end without closing the library: the process's exit
    waits for the copy of a big import's WAL into the database (here its connection opens
    half a second late), so the next process's first commit has none of it to copy."""
    import sqlite3

    ids = set().union(*_feeds(tmp_path / "feeds").values())
    root = tmp_path / "lib"
    Library.open(root).close()
    database = root / ".cache" / "library.sqlite"
    other = sqlite3.connect(database)  # (a reader elsewhere: never the last to close)
    try:
        child = subprocess.run(
            [sys.executable, "-c", _EXITS_AFTER, str(root), str(tmp_path / "feeds")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert child.returncode == 0 and child.stdout == "stored\n", child.stderr
        assert _papers_in_file_alone(database, tmp_path / "copy") == ids
    finally:
        other.close()


# Loaded by a `papertui` process started with this folder on PYTHONPATH: a Ctrl-C arrives
# while the CLI's modules are imported (as the process starts, before any command began).
_INTERRUPTED_EARLY = """
import os, signal, sys

class _CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("PAPERTUI_TEST_INTERRUPT_AT"):
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, _CtrlC())
"""


@pytest.mark.parametrize("at", ["tui.start", "tui.cli", "tui.importing"])
@pytest.mark.parametrize("command", ["import", "fetch"])
def test_a_ctrl_c_before_an_import_began_says_nothing_was_imported(
    tmp_path: Path, at: str, command: str
) -> None:
    """Found when a loaded machine made the Ctrl-C test land early: a Ctrl-C while the
    process was still starting (the CLI being imported, or the command's own modules)
    ended with status 130 and not a word, unlike every other interrupted import. Now the
    same line as an import interrupted before its write: nothing was imported. At
    tui.start (papertui's first module, ~20 ms of imports) it was Python's traceback."""
    _feeds(tmp_path / "feeds")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_INTERRUPTED_EARLY, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[fetch]\narxiv = ["cs.CV"]\n', encoding="utf-8")
    args = [str(tmp_path / "feeds")] if command == "import" else []
    done = subprocess.run(
        [sys.executable, "-m", "tui", command, *args, "--db", str(tmp_path / "lib")],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(hook),
            "PAPERTUI_TEST_INTERRUPT_AT": at,
            "PAPERTUI_CONFIG": str(config),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["papertui: interrupted; nothing was imported (the library is as it was)"]
    assert not (tmp_path / "lib").exists()
