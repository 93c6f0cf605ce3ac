"""Faults under the command line that its authors did not plan for (an adversary's round): a
Ctrl-C while a compiled module loads, a cache damaged in a page its opening does not read.

Every test runs papertui as a real process and reads what it said and how it ended.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui.library import Library
from tui.sources import load_source

from .conftest import FEEDS, TODAY
from .test_cli_commands import papertui
from .test_notes_tags import Terminal, restored

# A Ctrl-C that lands while orjson's module init imports json (the first import of json in
# the process): deterministic, where a real Ctrl-C in the first tenth of a second hit it
# once in twenty tries.
CTRL_C_IN_ORJSON = textwrap.dedent(
    """
    import os, signal, sys

    class CtrlC:
        def find_spec(self, name, path=None, target=None):
            if name == "json":
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, CtrlC())
    from tui.start import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("command", [["list"], ["star", "x"], ["import", "-"]])
def test_ctrl_c_while_orjson_loads_ends_as_an_interrupt(
    sample_library: Library, command: list[str]
) -> None:
    """orjson's module init takes the success of its own imports for granted: a
    KeyboardInterrupt raised in one of them (a Ctrl-C in papertui's first tenth of a second:
    `papertui note ID -m …` killed by SIGINT 0.08 s after it started) crashed the interpreter
    with SIGSEGV ("Segmentation fault", status -11) instead of ending as a Ctrl-C does."""
    sample_library.close()
    env = {**os.environ, "PAPERTUI_DB": str(sample_library.root), "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_IN_ORJSON, *command],
        capture_output=True,
        text=True,
        env=env,
        input="",
        timeout=120,
        check=False,
    )
    assert done.returncode == 130, (done.returncode, done.stderr[-2000:])
    assert "Segmentation fault" not in done.stderr
    assert "Traceback" not in done.stderr


def damage_table(root: Path, table: str) -> None:
    """Overwrite the root page of ``table`` in the library's cache with bytes that are no
    b-tree page; the database's header (page 1) stays whole, so the file still opens."""
    path = root / ".cache" / "library.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()
    conn.close()
    assert page > 1
    with open(path, "r+b") as f:
        f.seek((page - 1) * page_size)
        f.write(b"\xa5" * page_size)


@pytest.mark.parametrize(
    "command", [["list"], ["show", "2606.18765"], ["stats"], ["export", "-o", "-"]]
)
def test_a_cache_damaged_inside_is_one_line_and_repair_mends_it(
    sample_library: Library, command: list[str]
) -> None:
    """A page of the cache damaged on the disk where its opening does not look (the paper
    table's): every command ended with sqlite3's traceback ("database disk image is
    malformed"). It is one line naming what rebuilds the cache; `doctor --repair` then
    does, and the command works, nothing of the library lost."""
    root = sample_library.root
    sample_library.set_state([sample_library.resolve("2606.18765")], "star", starred=True)
    sample_library.close()
    damage_table(root, "paper")
    done = papertui(*command, db=root)
    assert done.returncode == 1, (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cache is damaged" in lines[0] and "doctor --repair" in lines[0], lines[0]
    repaired = papertui("doctor", "--repair", db=root)
    assert repaired.returncode == 0, repaired.stderr
    again = papertui(*command, db=root)
    assert again.returncode == 0, again.stderr
    assert Library.open(root).state("2606.18765").starred


@pytest.mark.parametrize("table", ["paper", "state", "tally"])
def test_a_change_on_a_damaged_cache_is_kept_or_refused_in_one_line(
    sample_library: Library, table: str
) -> None:
    """`star` and `tag` on a cache with a damaged page: each either says it changed the
    paper (and the change is there once the cache is rebuilt) or is one error line."""
    root = sample_library.root
    sample_library.close()
    damage_table(root, table)
    said = []
    for command in (["star", "2606.18765"], ["tag", "2606.18765", "-a", "kept"]):
        done = papertui(*command, db=root)
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.returncode in (0, 1), done.stderr
        if done.returncode == 1:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        said.append(done.returncode == 0)
    repaired = papertui("doctor", "--repair", db=root)
    assert repaired.returncode == 0, repaired.stderr
    state = Library.open(root).state("2606.18765")
    assert [state.starred, "kept" in state.tags] == said


def test_a_full_disk_as_files_arrive_from_another_machine_keeps_the_cache(
    tmp_path: Path,
) -> None:
    """Files of another machine arrived (a sync), and the disk cannot take the cache's catch-up
    (RLIMIT_FSIZE): the command is one line saying so, and the cache is kept as it was. It was
    taken for damaged, deleted (458 KB to 8 KB) and built again, which the full disk refused
    too: nothing could even be listed until space was freed and the whole library rebuilt."""
    here, there = tmp_path / "here", tmp_path / "there"
    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    for root, device, feed in ((here, "laptop", feeds[0]), (there, "desktop", feeds[1])):
        done = papertui("import", str(feed), db=root, env={"PAPERTUI_DEVICE": device})
        assert done.returncode == 0, done.stderr
    for sub in ("papers", "changes", "state"):  # (what a sync tool would bring)
        if (there / sub).is_dir():
            shutil.copytree(there / sub, here / sub, dirs_exist_ok=True)
    cache = here / ".cache" / "library.sqlite"
    before = cache.read_bytes()
    env = {"PAPERTUI_DEVICE": "laptop"}
    done = _limited(["list", "--db", str(here)], env, fsize=len(before) // 4)
    assert done.returncode == 1, done
    (line,) = done.stderr.strip().splitlines()
    assert "cache cannot take in what changed" in line and "nothing was lost" in line, line
    assert cache.stat().st_size >= len(before)  # (kept: not deleted and begun again)
    listed = papertui("list", "--json", db=here, env=env)
    assert listed.returncode == 0, listed.stderr
    expected = {p.title for p in _papers_of(feeds[0]) + _papers_of(feeds[1])}
    assert {p["title"] for p in json.loads(listed.stdout)} == expected


def _limited(args: list[str], env: dict[str, str], fsize: int) -> subprocess.CompletedProcess:
    """``python -m tui ARGS`` with files limited to ``fsize`` bytes (a full disk for it)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        preexec_fn=limit,
        timeout=120,
        check=False,
    )


def _papers_of(feed: Path) -> list:
    """The papers of a feed file as the parser reads them (the oracle: no library)."""
    return load_source(str(feed), today=TODAY).result.papers


@pytest.mark.parametrize("table", ["paper", "tally"])
def test_the_app_on_a_damaged_cache_says_so_in_one_line(
    sample_library: Library, table: str
) -> None:
    """The app on a cache with a damaged page: it was Textual's traceback of sqlite3's
    "database disk image is malformed" (from the status bar's counts); now the terminal is
    given back and one line says what rebuilds the cache, exit 1."""
    root = sample_library.root
    sample_library.close()
    damage_table(root, table)
    term = Terminal("--db", str(root))
    try:
        status = term.wait()
    finally:
        term.kill()
    assert status == 1, term.output[-3000:]
    assert restored(term.output)
    after = term.output[term.output.rfind(b"\x1b[?1049l") :].decode("utf-8", "replace")
    assert "Traceback" not in after and "malformed" in after, after[-3000:]
    assert "cache is damaged" in after and "doctor --repair" in after, after[-3000:]
