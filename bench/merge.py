"""The replay after a long separation (issue 11): two machines apart for months, each with
thousands of changes, meet again.

``python bench/merge.py [--changes 10000] [--papers 2000]`` makes a library of ``--papers``
papers (tests' feed generator) in a synced folder (``.stfolder``: no change file is removed
by folding), copies it to two machines, and makes ``--changes`` changes on each, alternately
(so their clocks interleave: every change of one is concurrent with the other's): stars,
reads, tags added and removed, notes typed in several saves, an undo now and then, as one
process at each machine's own pace (the journal folded every 256 changes, as in use). Then
the desk's files are copied into the laptop's folder (what a pull brings) and it times, in
this process (CPU: ``time.process_time``):

- the laptop taking them in (`Library.refresh`: the late changes are ordered among its own,
  so the state is replayed: from a checkpoint when one is a safe start, else from nothing);
- a rebuild of the laptop's whole cache from the files (`Library.rebuild`), for comparison.

Everything is made in a temporary folder (under /dev/shm when there is one) and removed;
``--keep DIR`` saves the two machines' folders (making 10,000 changes a side takes minutes),
``--again DIR`` times the take-in again on them (old and new code on the same folders),
``--profile`` prints where its time goes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=10_000, help="changes on each machine")
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--keep", help="copy the two machines' folders here (to profile)")
    parser.add_argument("--profile", action="store_true", help="cProfile the take-in")
    parser.add_argument("--again", help="time again on the folders --keep saved (no making)")
    args = parser.parse_args()

    from tui.library import Library, state

    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        roots = {name: Path(tmp) / name for name in ("laptop", "desk")}
        if args.again:
            for name, root in roots.items():
                shutil.copytree(Path(args.again) / name, root)
            print(f"the machines --keep saved in {args.again}")
        else:
            make(Path(tmp), roots, args)
        laptop = Library.open(roots["laptop"])
        laptop.device = "laptop"
        for sub in ("papers", "changes", "state"):
            for path in (roots["desk"] / sub).iterdir():
                if not (roots["laptop"] / sub / path.name).exists():
                    shutil.copy2(path, roots["laptop"] / sub / path.name)
        plan, fresh = state.replay_plan(roots["laptop"], "laptop")
        start = "nothing" if plan is None else f"a checkpoint of {sum(plan.covers.values()):,}"
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        laptop.refresh()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            import pstats

            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        print(
            f"take in the desk's changes: {cpu:.2f} s CPU, {wall:.2f} s wall (replay from "
            f"{start}, {len(fresh):,} changes applied)"
        )
        cpu, wall = time.process_time(), time.perf_counter()
        laptop.rebuild()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"rebuild the whole cache: {cpu:.2f} s CPU, {wall:.2f} s wall")
        laptop.close()


def make(tmp: Path, roots: dict[str, Path], args: argparse.Namespace) -> None:
    """The shared library, copied to the two machines, and their changes made apart."""
    from tests.feedgen import rss
    from tui.library import Library
    from tui.sources import load_source

    base = Path(tmp) / "base"
    lib = Library.open(base, parents=True)
    lib.device = "seed"
    feed = Path(tmp) / "feed.xml"
    papers = [
        {
            "id": f"2611.{10000 + n}",
            "title": f"Sparse flow model {n}",
            "abstract": f"We study sparse flow model {n}. " * 4,
            "authors": [f"Ann Author{n}"],
        }
        for n in range(args.papers)
    ]
    feed.write_text(rss(papers, "2026-11-27"), encoding="utf-8")
    loaded = load_source(str(feed))
    lib.import_feeds([(loaded.result, loaded.source)])
    ids = sorted(lib)
    lib.close()
    (base / ".stfolder").mkdir()
    roots = {name: Path(tmp) / name for name in ("laptop", "desk")}
    for root in roots.values():
        shutil.copytree(base, root)
    libs = {}
    for name, root in roots.items():
        libs[name] = Library.open(root)
        libs[name].device = name
    rng = random.Random(7)
    start = time.perf_counter()
    made = {name: 0 for name in libs}  # changes written (a star on a starred paper is none)
    k = 0
    while min(made.values()) < args.changes:
        k += 1
        for name, lib in libs.items():
            if made[name] >= args.changes:
                continue
            pid = rng.choice(ids)
            roll = rng.random()
            if roll < 0.3:
                n = lib.set_state([pid], "star", starred=rng.random() < 0.6)
            elif roll < 0.55:
                n = lib.set_state([pid], "read", read=rng.random() < 0.8)
            elif roll < 0.75:
                tag = rng.choice(["to-read", "flows", "video", "later"])
                if rng.random() < 0.7:
                    n = lib.set_state([pid], "tag", add_tags=[tag])
                else:
                    n = lib.set_state([pid], "untag", remove_tags=[tag])
            elif roll < 0.97:
                note = lib.raw_state(pid).get("note", "")
                n = lib.set_state([pid], "note", note=note + f" {name} {k}")
            else:
                n = int(lib.undo() is not None)
            made[name] += n
    took = time.perf_counter() - start
    for lib in libs.values():
        lib.close()
    points = len(list((roots["laptop"] / "state").iterdir()))
    if args.keep:
        for name, root in roots.items():
            shutil.copytree(root, Path(args.keep) / name, ignore=shutil.ignore_patterns(".cache"))
    print(
        f"{args.changes:,} changes on each of 2 machines, {args.papers:,} papers "
        f"(made in {took:.0f} s; the laptop holds {points} checkpoints)"
    )


if __name__ == "__main__":
    main()
