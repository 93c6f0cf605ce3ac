"""`papertui sync` at the size of issue 11's figure: 20,000 papers synced to a fresh clone in
under a minute.

``python bench/sync.py [--feeds DIR]`` builds a library of the 20,000 generated Hugging Face
papers (gen.py's feed set, cached in bench/.cache), with a reader's state on it (30% read,
5% starred, 2% tagged), shares it through a bare git repository, and times, each as a real
`papertui` process (wall and CPU of it and its git children):

- ``sync init REMOTE`` onto a new machine: clone and build the cache (the figure);
- ``sync`` with nothing new on either side;
- ``sync`` bringing a day of the other machine's work (one feed of 100 papers, 40 stars).

Everything is made in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def run(db: Path, device: str, *args: str) -> tuple[float, float]:
    """Run `papertui ARGS --db db` as ``device``; (wall s, CPU s of it and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", str(db)],
        env={**os.environ, "PAPERTUI_DEVICE": device},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"papertui {' '.join(args)} failed: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def build(db: Path, feeds: list[Path], device: str, seed: int) -> int:
    """Import ``feeds`` into ``db`` as ``device`` and triage them as a reader would."""
    from tui.library import Library
    from tui.sources import load_source

    lib = Library.open(db, parents=True)
    lib.device = device
    try:
        loaded = [load_source(str(f)) for f in feeds]
        lib.import_feeds((item.result, item.source) for item in loaded)
        ids = list(lib)
        rng = random.Random(seed)
        rng.shuffle(ids)
        n = len(ids)
        lib.set_state(ids[: n * 30 // 100], "mark read", read=True)
        lib.set_state(ids[: n * 5 // 100], "star", starred=True)
        lib.set_state(ids[n // 2 : n // 2 + n * 2 // 100], "tag", add_tags=["to-read"])
        return n
    finally:
        lib.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", help="a folder of feeds (default: gen.py's 20,000 HF papers)")
    args = parser.parse_args()
    if args.feeds:
        feeds = sorted(Path(args.feeds).iterdir())
    else:
        import gen

        feeds = sorted(gen.generate_feed().glob("*.txt"))
    tmp = Path(tempfile.mkdtemp(prefix="papertui-sync-bench-"))
    try:
        remote, lap, fresh = tmp / "remote.git", tmp / "laptop", tmp / "fresh"
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        t = time.perf_counter()
        papers = build(lap, feeds[1:], "laptop", 1)
        print(f"library: {papers:,} papers ({time.perf_counter() - t:.1f} s to build)")
        run(lap, "laptop", "sync", "init", str(remote))
        size = sum(p.stat().st_size for p in (lap / ".git").rglob("*") if p.is_file())
        print(f"git repository: {size / 1e6:.1f} MB")
        rows = []
        wall, cpu = run(fresh, "fresh", "sync", "init", str(remote))
        rows.append(("sync init REMOTE on a new machine (clone + cache)", wall, cpu))
        wall, cpu = run(fresh, "fresh", "sync")
        rows.append(("sync with nothing new", wall, cpu))
        build(lap, feeds[:1], "laptop", 2)  # (a day's feed and triage on the laptop)
        run(lap, "laptop", "sync")
        wall, cpu = run(fresh, "fresh", "sync")
        rows.append(("sync bringing one day of the other machine's work", wall, cpu))
        load = os.getloadavg()[0]
        print(f"machine load {load:.1f} (2 cores)")
        for label, wall, cpu in rows:
            print(f"{label:<52} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
        target = "PASS" if rows[0][1] < 60 else "MISS"
        print(f"20,000 papers to a fresh clone in under a minute: {target}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
