"""The adversary's tests of the import (issue 10's changes: identity keys filed in ``newident``
and folded into ``ident``; the segment file written in a thread while the cache's rows go
in). Real `papertui` processes; the oracle is what the test generated, never the code's own
answer."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tui.library import Library, truth

from .conftest import ROOT
from .feedgen import rss

# Loaded by a `papertui` process started with this folder on PYTHONPATH: its import holds
# once its new papers' rows are in the cache (the transaction open, not committed) and the
# segment writer thread is done, until the test lets it go.
_HOLD = """
import os, threading, time
from pathlib import Path
from tui.library import cache

_real = cache.Cache.add_papers

def _held(*args, **kwargs):
    _real(*args, **kwargs)
    for thread in threading.enumerate():
        if thread.name == "papertui-segment":
            thread.join()
    folder = Path(os.environ["PAPERTUI_TEST_HOLD"])
    (folder / "held").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)

cache.Cache.add_papers = staticmethod(_held)
"""


def _papers(first: int, n: int, word: str) -> list[dict]:
    return [
        {
            "id": f"2609.{first + i:05d}",
            "title": f"A {word} account of held imports, number {first + i}",
            "abstract": f"We hold the {word} import number {first + i} open for a while. " * 6,
            "authors": [f"Ada Lovelace{first + i}"],
        }
        for i in range(n)
    ]


def _wait_for(what: Path, child: subprocess.Popen[bytes]) -> None:
    for _ in range(6000):  # (a minute at most: the child's own startup under load)
        if what.exists():
            return
        assert child.poll() is None, "the import ended before it held"
        time.sleep(0.01)
    raise AssertionError(f"{what} never appeared")


def test_an_import_in_another_process_storing_its_rows_leaves_a_refresh_free(
    tmp_path: Path,
) -> None:
    """An open library (the app's auto refresh, every few seconds) and a `papertui import`
    in another process (cron) storing its rows: the refresh returns at once (nothing new
    yet), and takes the papers in once the import has committed. The segment file, written
    in a thread as the rows go in, appeared under its name before the commit; the refresh
    took it for an arrival and waited for the import's transaction, up to the 30 s busy
    timeout (the app froze, 0.5 s for 20,000 papers into 20,000, more in bigger ones)."""
    root = tmp_path / "lib"
    first = tmp_path / "first.xml"
    first.write_text(rss(_papers(10000, 5, "first")), encoding="utf-8")
    env = {**os.environ, "PAPERTUI_DEVICE": "cron"}
    subprocess.run(
        [sys.executable, "-m", "tui", "import", str(first), "--db", str(root)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    lib = Library.open(root)  # the open app
    assert len(lib) == 5
    segments = set(truth.listing(root, truth.SEGMENTS))
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_HOLD, encoding="utf-8")
    second = tmp_path / "second.xml"
    second.write_text(rss(_papers(20000, 40, "second")), encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "import", str(second), "--db", str(root)],
        env={**env, "PYTHONPATH": str(hook), "PAPERTUI_TEST_HOLD": str(tmp_path)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(tmp_path / "held", child)
        # No segment the cache does not hold is in sight while the rows are uncommitted.
        assert set(truth.listing(root, truth.SEGMENTS)) == segments
        answer: list[bool] = []
        refresh = threading.Thread(target=lambda: answer.append(lib.refresh()), daemon=True)
        refresh.start()
        refresh.join(20)  # (a busy wait would last the cache's 30 s busy timeout)
        assert not refresh.is_alive(), "the refresh waited for the other import's transaction"
        assert child.poll() is None  # (still held: the refresh did not wait it out)
        assert len(lib) == 5
    finally:
        (tmp_path / "go").touch()
        _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    refresh.join(60)
    lib.refresh()
    assert len(lib) == 45
    assert len(lib.query("second")) == 40 and len(lib.query("first")) == 5
    lib.close()
    assert len(Library.open(root)) == 45
