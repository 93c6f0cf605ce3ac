"""A Ctrl-C during `papertui import` is reported as what the library then holds.

Found as a known defect: a SIGINT that landed just after the import's COMMIT ended the
command with status 130 and not a word, as any interrupted import did, though the import was
kept. Now the last line says either that nothing was imported or what was kept.

Real processes of the installed CLI, each sent a real SIGINT by itself (`os.kill`) at a
moment counted in calls of papertui's functions from the start of the store
(`sys.setprofile`, loaded by a `sitecustomize` on PYTHONPATH): deterministic moments spread
over the whole store, its COMMIT, what follows it and the report, then halved down to the two
adjacent calls around the COMMIT; and one exactly after it. The oracle is the set of arXiv
ids the test generated and what `Library` reads back from the library after each run; the
message is checked against that, never against the code's own idea of what it kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.library import Library
from tui.sources import load_source

from .conftest import FEEDS, import_files
from .feedgen import rss

FILES, PER_FILE = 2, 550  # 1,100 papers: a big import (its SQL partly on helper threads)
PAPERTUI = Path(sys.executable).parent / "papertui"

# Loaded by each `papertui` run: counts the main thread's calls of papertui's functions from
# the moment the store begins (`Library.import_each`) and sends the process a SIGINT at call
# PAPERTUI_AT (not in the standard library's: a KeyboardInterrupt raised in a weakref's
# callback, run by the collector, is printed and dropped by Python itself);
# with PAPERTUI_AFTER_COMMIT, at the first thing `_write` does once its COMMIT went through
# (`_know_own_files`, in its `finally`); the count is written to PAPERTUI_COUNT at exit.
_HOOK = """
import atexit, os, signal, sys
from pathlib import Path
from tui.library import core

calls = 0
at = int(os.environ.get("PAPERTUI_AT", "0"))
ours = os.path.dirname(core.__file__).rsplit(os.sep, 1)[0]

def _count(frame, event, arg):
    global calls
    if event == "call" and frame.f_code.co_filename.startswith(ours):
        calls += 1
        if calls == at:
            os.kill(os.getpid(), signal.SIGINT)

_each = core.Library.import_each

def _import_each(self, feeds):
    sys.setprofile(_count)
    return _each(self, feeds)

core.Library.import_each = _import_each

if os.environ.get("PAPERTUI_AFTER_COMMIT"):
    _known = core.Library._know_own_files

    def _after_commit(self):
        if not self._conn().in_transaction and self._wrote:
            os.kill(os.getpid(), signal.SIGINT)
        return _known(self)

    core.Library._know_own_files = _after_commit

if os.environ.get("PAPERTUI_COUNT"):
    atexit.register(lambda: Path(os.environ["PAPERTUI_COUNT"]).write_text(str(calls)))
"""


def _feeds(folder: Path) -> set[str]:
    folder.mkdir()
    ids: set[str] = set()
    for f in range(FILES):
        papers = [
            {
                "id": f"2611.{f * PER_FILE + i + 20000:05d}",
                "title": f"Interrupted imports, paper {f * PER_FILE + i}: what was kept",
                "abstract": f"Paper {f * PER_FILE + i} of an import stopped by a Ctrl-C. " * 6,
                "authors": [f"Ida Signal{i}", "Kit Commit"],
            }
            for i in range(PER_FILE)
        ]
        ids |= {p["id"] for p in papers}
        (folder / f"feed{f}.xml").write_text(rss(papers), encoding="utf-8")
    return ids


def _import(tmp_path: Path, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PAPERTUI), "import", str(tmp_path / "feeds"), "--db", str(root), "--create"],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "hook"), "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _arxiv_ids(root: Path) -> set[str]:
    if not root.exists():
        return set()
    lib = Library.open(root)
    try:
        return {lib.record(pid).get("arxiv_id") for pid in lib}
    finally:
        lib.close()


def _check(done: subprocess.CompletedProcess[str], kept: set[str], ids: set[str]) -> str:
    """The run's outcome ("done", "kept", "none"), its message checked against ``kept``."""
    assert "Traceback" not in done.stderr, done.stderr
    assert kept in (set(), ids), len(kept)  # (all of the import or none of it)
    if done.returncode == 0:
        assert kept == ids and f"{PER_FILE} new" in done.stdout, done.stdout
        return "done"
    assert done.returncode == 130, done.stderr
    said = ([line for line in done.stderr.splitlines() if line.strip()] or ["(no word)"])[-1]
    if kept:
        assert said == (
            f"papertui: interrupted, but the import was kept: {len(ids):,} new, 0 merged "
            f"({len(ids):,} papers found), from {FILES} feeds"
        ), said
        return "kept"
    assert said == "papertui: interrupted; nothing was imported (the library is as it was)"
    return "none"


def test_a_ctrl_c_at_any_moment_of_an_import_says_what_the_library_holds(tmp_path: Path) -> None:
    ids = _feeds(tmp_path / "feeds")
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(_HOOK, encoding="utf-8")
    count = tmp_path / "count"
    whole = _import(tmp_path, tmp_path / "whole", PAPERTUI_COUNT=str(count))
    assert _check(whole, _arxiv_ids(tmp_path / "whole"), ids) == "done"
    calls = int(count.read_text())

    # The defect's own moment: just after the COMMIT.
    root = tmp_path / "after-commit"
    done = _import(tmp_path, root, PAPERTUI_AFTER_COMMIT="1")
    assert _check(done, _arxiv_ids(root), ids) == "kept"

    # Moments spread from the store's start to past its end, then, between the last that
    # kept nothing and the first that kept the import, halved down to two calls apart: the
    # moments around the COMMIT, each a run of its own.
    moments = {calls * n // 8: "" for n in range(1, 9)}
    for at in moments:
        moments[at] = _run_at(tmp_path, at, ids)
    low = max(at for at, outcome in moments.items() if outcome == "none")
    high = min(at for at, outcome in moments.items() if outcome != "none")
    while high - low > 1:
        middle = (low + high) // 2
        moments[middle] = _run_at(tmp_path, middle, ids)
        low, high = (middle, high) if moments[middle] == "none" else (low, middle)
    assert (moments[low], moments[high]) == ("none", "kept"), moments
    print(f"{calls} calls; nothing kept up to call {low}, all from call {high}; {moments}")


def _run_at(tmp_path: Path, at: int, ids: set[str]) -> str:
    root = tmp_path / f"at{at}"
    return _check(_import(tmp_path, root, PAPERTUI_AT=str(at)), _arxiv_ids(root), ids)


def test_what_was_kept_counts_no_write_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole import's write fails (a fault injected into its cache transaction), so each
    feed is written on its own: the first is stored, the second fails. What was kept is the
    first feed's report only, though its segment took the number the failed whole write had
    (counting that one as kept would claim both feeds). Oracle: the papers read back."""
    from tui.library.cache import Cache

    real = Cache.add_feeds
    calls: list[int] = []

    def faulty(conn: Any, seg: str, feeds: Any) -> None:
        calls.append(1)
        if len(calls) in (1, 3):  # the whole import's write, then the second feed's
            raise RuntimeError("injected fault")
        real(conn, seg, feeds)

    lib = Library.open(tmp_path / "lib", parents=True)
    try:
        import_files(lib, [FEEDS / "digest-text-to-image.txt"])  # (a library to add to)
        before = len(lib)
        monkeypatch.setattr(Cache, "add_feeds", staticmethod(faulty))
        loaded = [
            load_source(str(FEEDS / name), imported_at="2026-11-22T08:00:00+00:00")
            for name in ("arxiv-cs-cv-2026-06-19.rss", "hf-daily-papers.txt")
        ]
        reports, failed = lib.import_each((x.result, x.source) for x in loaded)
        assert len(calls) == 3 and [r.origin for r in reports] == [loaded[0].source.origin]
        assert [source.origin for source, _ in failed] == [loaded[1].source.origin]
        rss_papers = loaded[0].result.papers
        assert len(lib) == before + len(rss_papers)  # (the one feed stored, the other not)
        stored = {lib.record(pid).get("arxiv_id") for pid in lib}
        assert {p.arxiv_id for p in rss_papers} <= stored
        kept = [(r.origin, r.new) for r in lib.kept_imports()]
        assert kept == [(loaded[0].source.origin, len(rss_papers))]
    finally:
        lib.close()
