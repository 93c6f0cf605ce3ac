"""The import writes its segment file in a thread while the cache's rows go in
(`core._Writer`): the library it makes is the one the write made in line made, and an import
killed at any moment leaves the library it had or the new one, never a mix."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.library import Library, core
from tui.library.storage import atomic_write

from .conftest import FEEDS, import_files
from .feedgen import hf_text

CASES = Path(__file__).resolve().parent / "cases"


class _InLine:
    """`core._Writer` as the import wrote before: at once, in the importing thread."""

    def __init__(self, path: Path, data: bytes) -> None:
        self._error: BaseException | None = None
        self._written = 0
        try:
            self._written = atomic_write(path, data)
        except BaseException as err:
            self._error = err

    def wait(self):  # type: ignore[no-untyped-def]
        def written() -> int:
            if self._error is not None:
                raise self._error
            return self._written

        return written


def _contents(lib: Library) -> dict:
    """Everything a user sees of the papers: records (ids, sources, texts) and searches."""
    records = {pid: lib.record(pid) for pid in lib}
    for record in records.values():
        for source in record.get("sources", ()):
            source.pop("imported_at", None)
    searches = {
        q: sorted(lib.query(q))
        for q in ("diffusion", "transformer", "扩散", "author:zhang", "is:unread", "cach")
    }
    return {"records": records, "searches": searches, "count": len(lib)}


def test_an_import_gives_the_library_the_in_line_write_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    cases = sorted(p for p in CASES.iterdir() if p.suffix != ".md")
    made = {}
    # (the same clock for both: a paper's added_at is the import's time)
    monkeypatch.setattr(core, "now_iso", lambda: "2026-11-30T21:00:00+00:00")
    for how in ("thread", "in line"):
        if how == "in line":
            monkeypatch.setattr(core, "_Writer", _InLine)
        lib = Library.open(tmp_path / how)
        import_files(lib, feeds)  # one write of all the samples
        for case in cases:  # then one each, merging into what is there
            import_files(lib, [case])
        import_files(lib, feeds[:2])  # and known papers again
        made[how] = _contents(Library.open(tmp_path / how))
    assert made["thread"]["count"] > 80
    assert made["thread"] == made["in line"]


def _feed(directory: Path, n: int, word: str) -> Path:
    papers = [
        {
            "title": f"A {word} study of caching number {i}",
            "abstract": f"We study {word} caching, case {i}, at length. " * 12,
            "count": 3,
        }
        for i in range(n)
    ]
    path = directory / f"{word}.txt"
    path.write_text(hf_text(papers), encoding="utf-8")
    return path


@pytest.mark.slow
def test_an_import_killed_at_any_moment_leaves_the_old_library_or_the_new(
    sample_library: Library, tmp_path: Path
) -> None:
    """A real `papertui import` of 1,200 new papers in three feeds, SIGKILLed at a random
    moment (while it reads, stores, writes the segment or commits, or after): the library
    opens, and holds every paper it held and either all 1,200 or none of them."""
    root = sample_library.root
    held = set(sample_library)
    sample_library.close()
    rng = random.Random(20261130)
    outcomes = []
    for attempt in range(10):
        words = [f"kill{attempt}x{k}" for k in range(3)]
        feeds = [_feed(tmp_path, 400, word) for word in words]
        child = subprocess.Popen(
            [sys.executable, "-m", "tui", "import", *map(str, feeds), "--db", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.1, 0.9))
        child.send_signal(signal.SIGKILL)
        child.wait(60)
        lib = Library.open(root)  # never raises: every file is whole
        ids = set(lib)
        assert held <= ids, f"attempt {attempt}: papers lost"
        new = len(ids - held)
        assert new in (0, 1200), f"attempt {attempt}: {new} of 1,200 stored"
        found = {word: len(lib.query(word)) for word in words}
        assert set(found.values()) == {400 if new else 0}, (attempt, found)
        outcomes.append(new)
        held = ids
        lib.close()
    assert len(outcomes) == 10  # (how many were stored depends on the machine's speed)
