"""An adversary's tests of a big import's threads (`cache.Beside`, `cache.Adding`,
`core._Finder`): identity across the finder's chunks, the same answers whichever way the
papers went in, and faults around the threads. The oracle is what the test generated."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui.library import Library, cache, core

from .conftest import ROOT, import_files
from .feedgen import rss


def _paper(n: int, v: int = 1, title: str | None = None) -> dict:
    return {
        "id": f"2611.{n + 20000:05d}",
        "v": v,
        "title": title or f"Crossing chunk number {n}: finder keys and ids",
        "abstract": f"Paper {n} studies zebra{n % 13} quokka, 深度学习 and its words. " * 3,
        "authors": [f"Ann Chunk{n}", "Bo Finder"],
    }


def _write(folder: Path, name: str, papers: list[dict], date: str = "2026-06-19") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(rss(papers, date=date), encoding="utf-8")
    return path


def _arxiv(lib: Library) -> list[str]:
    return sorted(lib.record(pid).get("arxiv_id") for pid in lib)


def _threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "papertui-sql"]


QUERIES = ["zebra3", "zeb*", '"finder keys"', "深度", "quokka -zebra5", "bo", "author:chunk12"]


def _answers(lib: Library) -> dict[str, list[str]]:
    """Each query's ids (in the list's order) plus the whole list's order."""
    found = {q: list(lib.query(q)) for q in QUERIES}
    found[""] = list(lib.query(""))
    for sort in ("relevance", "title", "added", "paper_date"):
        found[sort] = list(lib.query("zebra3 OR quokka", sort))
    return found


def test_duplicates_across_the_finders_chunks_are_one_paper_each(tmp_path: Path) -> None:
    """2,300 papers in three feeds (the finder asks 2,000 papers at a time): feed B repeats
    feed A's first 100 as v2, feed C (asked in the second chunk) repeats 100 of A and 50 papers
    the library held before the import; the library holds each distinct arXiv id once, the
    import again finds nothing new, and no helper thread is left."""
    feeds = tmp_path / "feeds"
    before = [_paper(n) for n in range(5000, 5050)]
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [_write(tmp_path / "pre", "pre.xml", before)])
    a = [_paper(n) for n in range(0, 1100)]
    b = [_paper(n) for n in range(1100, 2100)] + [_paper(n, v=2) for n in range(0, 100)]
    c = [_paper(n) for n in range(500, 600)] + [_paper(n) for n in range(5000, 5050)]
    c += [_paper(n) for n in range(3000, 3100)]
    paths = [_write(feeds, f"{x}.xml", p) for x, p in (("a", a), ("b", b), ("c", c))]
    reports = import_files(lib, paths)
    want = sorted({p["id"] for p in before + a + b + c})
    assert _arxiv(lib) == want
    assert sum(r.new for r in reports) == len(want) - len(before)
    assert not _threads()
    again = import_files(lib, paths)
    assert sum(r.new for r in again) == 0
    assert _arxiv(lib) == want
    assert not _threads()
    # (1,000 known papers and 20 new: the keys asked beside, the text indexed as before)
    d = [_paper(n) for n in range(0, 1000)] + [_paper(n) for n in range(7000, 7020)]
    mixed = import_files(lib, [_write(feeds, "d.xml", d)])
    assert (mixed[0].new, mixed[0].merged + mixed[0].unchanged) == (20, 1000)
    assert _arxiv(lib) == sorted(set(want) | {p["id"] for p in d})
    assert not _threads()
    lib.close()


def test_a_reader_in_another_thread_sees_a_big_import_whole_or_not_at_all(
    tmp_path: Path,
) -> None:
    """The same `Library` read from another thread (its own connection: `refresh`, a count,
    a search) all through a big import on this one: every answer is the papers before the
    import or all of them after it, never a part, and no read fails."""
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [_write(tmp_path / "pre", "pre.xml", [_paper(n) for n in range(5000, 5010)])])
    path = _write(tmp_path / "feeds", "big.xml", [_paper(n) for n in range(1500)])
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                lib.refresh()
                seen.append((len(list(lib.query(""))), len(list(lib.query("quokka")))))
                done.wait(0.002)
        except BaseException as err:  # (given to the test below)
            errors.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        import_files(lib, [path])
    finally:
        done.set()
        reader.join(60)
    assert errors == []
    assert seen and set(seen) <= {(10, 10), (1510, 1510)}, set(seen)
    assert len(list(lib.query("quokka"))) == 1510
    lib.close()


def test_one_big_import_many_small_ones_and_a_rebuild_answer_alike(tmp_path: Path) -> None:
    """The same 1,200 papers stored as one big import, as twelve small ones, and rebuilt by
    `doctor --rebuild`: the same papers, and every query (word, prefix, phrase, a Chinese
    two-character word, a negation) finds the same papers in the same order."""
    papers = [_paper(n) for n in range(1200)]
    paths = [
        _write(tmp_path / "feeds", f"f{k:02d}.xml", papers[k * 100 : (k + 1) * 100])
        for k in range(12)
    ]
    big = Library.open(tmp_path / "big")
    import_files(big, paths)
    small = Library.open(tmp_path / "small")
    for path in paths:
        import_files(small, [path])
    want = sorted(p["id"] for p in papers)
    assert _arxiv(big) == _arxiv(small) == want
    big_answers, small_answers = _answers(big), _answers(small)
    assert set(big) == set(small)  # (the same ids: they are derived from the papers)
    assert big_answers == small_answers
    assert len(big_answers["zebra3"]) == sum(1 for n in range(1200) if n % 13 == 3)
    assert len(big_answers["深度"]) == 1200
    big.close()
    small.close()
    done = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--rebuild", "--db", str(tmp_path / "big")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rebuilt = Library.open(tmp_path / "big")
    assert _answers(rebuilt) == big_answers
    rebuilt.close()


def _hashsize(root: Path) -> int | None:
    """The ``text`` index's hashsize kept in the library's cache file (None: the default)."""
    import sqlite3

    conn = sqlite3.connect(root / ".cache" / "library.sqlite")
    try:
        row = conn.execute("SELECT v FROM text_config WHERE k='hashsize'").fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def test_a_writer_thread_that_cannot_start_leaves_no_index_thread_on_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The segment's writer thread cannot be started (`RuntimeError: can't start new
    thread`, a process at its thread limit; a Ctrl-C landing in `Thread.start` the same)
    after the text index's thread has started: the import fails with nothing stored, and the
    index thread is stopped before the transaction is rolled back. A thread left running
    ran its statements after the rollback, each committed on its own: the index's
    ``hashsize`` stayed at 8 MB in the file and its insert failed on a temp table gone."""
    real = cache._index_staged
    ran_after_rollback: list[bool] = []

    def late(conn):  # (runs once the importing thread has rolled back, if it ever does)
        for _ in range(100):
            if not conn.in_transaction:
                break
            threading.Event().wait(0.01)
        ran_after_rollback.append(not conn.in_transaction)
        real(conn)

    def no_thread(self, path, data):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(cache, "_index_staged", late)
    monkeypatch.setattr(core._Writer, "__init__", no_thread)
    papers = [_paper(n) for n in range(1100)]
    path = _write(tmp_path / "feeds", "big.xml", papers)
    lib = Library.open(tmp_path / "lib")
    with pytest.raises(RuntimeError):
        import_files(lib, [path])
    alive = _threads()
    for t in threading.enumerate():
        if t.name == "papertui-sql":
            t.join(10)
    assert alive == [], "an index thread still used the connection after the import failed"
    assert ran_after_rollback == [False]
    lib.close()
    assert _hashsize(tmp_path / "lib") in (None, cache.FTS_HASHSIZE)
    monkeypatch.undo()
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [path])
    assert _arxiv(lib) == sorted(p["id"] for p in papers)
    lib.close()


def test_a_ctrl_c_at_each_line_where_the_index_thread_may_run_stops_it_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt raised (as a Ctrl-C's is, between two lines) at each line of the
    import from the making of its rows (the index's thread started) to the segment written:
    no index thread is left on the connection, the import is all there or not at all, the
    index's ``hashsize`` is not left at 8 MB, every paper has its text row, and the import
    again stores everything. (Between the lines that started the thread and those that
    stop it on a failure, a thread left running went on after the rollback: its statements
    committed on their own, the 8 MB ``hashsize`` among them.)"""
    import inspect
    import shutil
    import sqlite3
    import sys

    monkeypatch.setattr(cache, "BULK_PAPERS", 1)
    monkeypatch.setattr(core._Finder, "CHUNK", 7)
    source, first = inspect.getsourcelines(core.Library._import_feeds)
    marks = [first + i for i, line in enumerate(source) if "batch.touched[pid] for pid" in line]
    ends = [first + i for i, line in enumerate(source) if "written = writer.wait()" in line]
    lines = range(marks[0], ends[0] + 1)
    pre = [_paper(n) for n in range(900, 903)]
    papers = [_paper(n) for n in range(12)] + pre[:1]
    path = _write(tmp_path / "feeds", "f.xml", papers)
    template = tmp_path / "template"
    lib = Library.open(template)
    import_files(lib, [_write(tmp_path / "pre", "pre.xml", pre)])
    lib.close()
    every = sorted({p["id"] for p in papers + pre})
    before = sorted(p["id"] for p in pre)
    code = core.Library._import_feeds.__code__
    point = 0
    while True:
        point += 1
        root = tmp_path / f"lib{point}"
        shutil.copytree(template, root)
        lib = Library.open(root)
        seen = [0]

        def tracer(frame, event, arg, point=point, seen=seen):
            if frame.f_code is not code:
                return None

            def local(frame, event, arg):
                if event == "line" and frame.f_lineno in lines:
                    seen[0] += 1
                    if seen[0] == point:
                        raise KeyboardInterrupt
                return local

            return local

        sys.settrace(tracer)
        try:
            import_files(lib, [path])
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        alive = _threads()
        for t in threading.enumerate():
            if t.name == "papertui-sql":
                t.join(10)
        lib.close()
        assert alive == [], point
        assert _hashsize(root) in (None, cache.FTS_HASHSIZE), point
        conn = sqlite3.connect(root / ".cache" / "library.sqlite")
        counts = conn.execute("SELECT (SELECT count(*) FROM text), (SELECT count(*) FROM paper)")
        texts, rows = counts.fetchone()
        conn.close()
        assert texts == rows, point
        lib = Library.open(root)
        assert _arxiv(lib) in (before, every), point
        import_files(lib, [path])
        assert _arxiv(lib) == every, point
        lib.close()
        shutil.rmtree(root)
        if seen[0] < point:  # (the import ran through: every line was tried)
            break
    assert point > 5


def test_a_ctrl_c_as_arrived_papers_are_stored_in_bulk_stops_the_index_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,200 papers another machine imported (its segment arrives, as a sync brings it)
    are stored when the library opens (`Cache.add_papers`: a big `Adding`, its text indexed
    on a thread). A Ctrl-C as it goes to wait for that thread (the KeyboardInterrupt raised
    on entering `Adding.finish`, where Python checks for signals): the thread is stopped
    before the catch-up is rolled back; the index's ``hashsize`` is not left at 8 MB, and
    the next open stores them all."""
    other = tmp_path / "other"
    papers = [_paper(n) for n in range(1200)]
    done = subprocess.run(
        [sys.executable, "-m", "tui", "import", "--db", str(other), "--create"]
        + [str(_write(tmp_path / "feeds", "big.xml", papers))],
        cwd=ROOT,
        env={**os.environ, "PAPERTUI_DEVICE": "elsewhere"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    root = tmp_path / "lib"
    lib = Library.open(root)
    import_files(lib, [_write(tmp_path / "pre", "pre.xml", [_paper(5000)])])
    lib.close()
    for segment in (other / "papers").iterdir():
        (root / "papers" / segment.name).write_bytes(segment.read_bytes())
    real = cache.Adding.finish
    calls = []

    def signalled(self, spans):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(self, spans)

    monkeypatch.setattr(cache.Adding, "finish", signalled)
    with pytest.raises(KeyboardInterrupt):
        Library.open(root)
    alive = _threads()
    for t in threading.enumerate():
        if t.name == "papertui-sql":
            t.join(10)
    assert alive == []
    assert _hashsize(root) in (None, cache.FTS_HASHSIZE)
    lib = Library.open(root)
    assert _arxiv(lib) == sorted({p["id"] for p in papers} | {_paper(5000)["id"]})
    assert len(list(lib.query("bo"))) == 1201
    lib.close()
