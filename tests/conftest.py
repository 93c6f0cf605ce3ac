"""Shared fixtures: the bundled sample feeds and libraries built from them."""

from __future__ import annotations

import asyncio
import atexit
import compileall
import inspect
import os
import shutil
import signal
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest

# The package's bytecode is compiled once, here, and the `python -m tui` processes the tests
# start (some thousand) only read it: where the environment asks for no bytecode
# (PYTHONDONTWRITEBYTECODE=1, as on the CI machine) each of them compiled the package anew
# (0.39 s, not 0.20 s), and the suite's CPU time, its limit on 2 cores, grew by minutes. They
# never write it: CPython writes a .pyc without checking that the write was whole, and a
# process under RLIMIT_FSIZE (the full-disk tests) left a cut one that every later process
# failed to load ("EOFError: marshal data too short").
compileall.compile_dir(Path(__file__).resolve().parent.parent / "tui", quiet=1)
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"

from tui.library import Library  # noqa: E402 - after the bytecode setting
from tui.sources import load_source  # noqa: E402

# A test run started in the background by a shell without job control (`pytest &` in a
# script) ignores Ctrl-C, and every process it starts inherits that: the tests that send a
# real SIGINT (or a Ctrl-C through a pty) to `papertui` then see it ignored. Handled here,
# the signal is back to its default in the processes started (exec resets a handled signal).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "data" / "feeds"
TODAY = date(2026, 11, 22)


def import_files(lib: Library, paths: list[Path]) -> list:
    """Import feed files into ``lib`` the way the CLI does; returns the reports."""
    loaded = [
        load_source(str(p), today=TODAY, imported_at="2026-11-22T08:00:00+00:00") for p in paths
    ]
    return lib.import_feeds((item.result, item.source) for item in loaded)


@pytest.fixture
def feeds_dir() -> Path:
    return FEEDS


@pytest.fixture
def empty_library(tmp_path: Path) -> Library:
    return Library.open(tmp_path / "lib")


@pytest.fixture(scope="session")
def _sample_library_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a library holding every bundled sample feed, imported once per test
    process (about half a second each time, and some 200 tests use it) and closed; tests get
    a copy of it (`sample_library`), never this one."""
    root = tmp_path_factory.mktemp("sample") / "lib"
    lib = Library.open(root)
    import_files(lib, sorted(p for p in FEEDS.iterdir() if p.is_file()))
    lib.close()
    return root


@pytest.fixture
def sample_library(tmp_path: Path, _sample_library_files: Path) -> Library:
    """A library holding every bundled sample feed, at ``tmp_path / "lib"``: a copy of the
    files that importing them makes (`_sample_library_files`), opened afresh, so a test may
    change it as it likes."""
    shutil.copytree(_sample_library_files, tmp_path / "lib", symlinks=True)
    return Library.open(tmp_path / "lib")


_PAIRS: dict[tuple[int, int], Path] = {}


def shared_pair(tmp: Path, papers: range = range(0, 3)) -> tuple[Path, Path, Path]:
    """Two machines sharing a library through git, in ``tmp``: a bare remote (``remote.git``),
    the laptop's library (``laptop``: the feed ``lap.xml`` of `test_sync.paper` ``papers``
    imported, then `papertui sync init REMOTE`) and the desk's (``desk``: `papertui sync init
    REMOTE`, a clone). Returns (remote, laptop, desk).

    The three are made once per test process for each ``papers``, for real as above, in a
    folder of their own, and copied into ``tmp`` (the two clones' ``origin`` then set to the
    copied remote): the same files and the same git history as making them again, without the
    two `papertui` processes and a dozen gits each time."""
    from .test_sync import bare_remote, feed, ok, take_in

    key = (papers.start, papers.stop)
    if key not in _PAIRS:
        made = Path(tempfile.mkdtemp(prefix="papertui-pair-"))
        atexit.register(shutil.rmtree, made, True)
        remote = bare_remote(made)
        lap, desk = made / "laptop", made / "desk"
        take_in(lap, "laptop", feed(made, "lap", papers))
        ok(lap, "laptop", "sync", "init", str(remote))
        ok(desk, "desk", "sync", "init", str(remote))
        _PAIRS[key] = made
    made = _PAIRS[key]
    for part in ("remote.git", "laptop", "desk", "lap.xml"):
        source = made / part
        if source.is_dir():
            shutil.copytree(source, tmp / part, symlinks=True)
        else:
            shutil.copy2(source, tmp / part)
    remote, lap, desk = tmp / "remote.git", tmp / "laptop", tmp / "desk"
    for clone in (lap, desk):
        subprocess.run(
            ["git", "-C", str(clone), "remote", "set-url", "origin", str(remote)], check=True
        )
    return remote, lap, desk


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (the app's Pilot tests) with asyncio, no plugin needed."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
