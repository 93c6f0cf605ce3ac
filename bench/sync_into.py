"""`papertui sync` bringing another machine's import into a big library: the cost of taking in
arriving papers (the catch-up), which since the cross-format identity rules also matches each
arriving paper against the library (README, "Merge rules").

``python bench/sync_into.py [--size 100000] [--papers 1000] [--copies 300] [--repeat 3]
[--code DIR ...]`` copies the benchmark's cached library of ``--size`` papers (never writes
into bench/.cache) to a temporary folder, shares it through a bare git repository, and has a
second machine push one import of ``--papers`` papers in arXiv RSS: ``--copies`` of them are
papers the big library holds without arXiv ids (taken from a digest or Hugging Face text
there: a sync unites each with its copy), the rest new; the second machine also stars 100 of
them. Then, for each ``--code`` checkout in turn (default: this one; e.g. ``--code
/work/main --code .`` for before/after, interleaved ``--repeat`` times), a fresh copy of the
big library runs ``papertui sync`` as a real process, timed (wall, and CPU of it and its git
children), and the papers it then holds are counted.
"""

from __future__ import annotations

import argparse
import json
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


def papertui(
    code: Path, db: Path, device: str, *args: str, profile: str = ""
) -> tuple[float, float, str]:
    """Run `papertui ARGS --db db` from the checkout ``code`` as ``device`` (under cProfile,
    written to ``profile``, when given): (wall s, CPU s of it and its children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "PAPERTUI_DEVICE": device, "PYTHONPATH": str(code)}
    profiled = ["-m", "cProfile", "-o", profile] if profile else []
    done = subprocess.run(
        [sys.executable, *profiled, "-m", "tui", *args, "--db", str(db)],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"papertui {' '.join(args)} failed: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=b@x", *args],
        check=True,
        capture_output=True,
    )


def other_import(big: Path, tmp: Path, papers: int, copies: int) -> Path:
    """The second machine's library: one arXiv RSS import of ``papers`` papers, ``copies``
    of them papers ``big`` holds without arXiv ids, and 100 stars."""
    from tests.feedgen import rss
    from tui.library import Library
    from tui.sources import load_source

    lib = Library.open(big)
    rng = random.Random(7)
    without = [pid for pid in lib if pid.startswith("p")]
    chosen = rng.sample(without, copies)
    items = []
    for n, pid in enumerate(chosen):
        record = lib.record(pid)
        items.append(
            {
                "id": f"2612.{10000 + n}",
                "title": record.get("title") or f"Paper {pid}",
                "abstract": record.get("abstract") or f"Abstract of {pid}. " * 8,
                "authors": record.get("authors") or ["A. Author"],
            }
        )
    lib.close()
    for n in range(copies, papers):
        items.append(
            {
                "id": f"2612.{10000 + n}",
                "title": f"A new paper on sparse attention, number {n}",
                "abstract": f"We study sparse attention for video model number {n}. " * 4,
                "authors": [f"Author {n}", "Bo Wu"],
            }
        )
    feed = tmp / "other.xml"
    feed.write_text(rss(items, "2026-11-30"), encoding="utf-8")
    other = tmp / "other-lib"
    lib = Library.open(other, parents=True)
    lib.device = "other"
    loaded = load_source(str(feed))
    lib.import_feeds([(loaded.result, loaded.source)])
    stars = [f"2612.{10000 + n}" for n in range(0, papers, papers // 100)]
    lib.set_state(stars, "star", starred=True)
    lib.close()
    return other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", action="append", default=[], help="a papertui checkout")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the last checkout's syncs")
    args = parser.parse_args()
    import gen

    codes = [Path(c).resolve() for c in args.code] or [ROOT]
    source = gen.library_path(args.size)
    if not (source / ".complete").exists():
        raise SystemExit(f"{source}: no cached library of {args.size} (run bench/run.py first)")
    tmp = Path(tempfile.mkdtemp(prefix="papertui-sync-into-"))
    try:
        base, remote, clone = tmp / "base", tmp / "remote.git", tmp / "clone"
        t = time.perf_counter()
        shutil.copytree(source, base, symlinks=True)
        (base / ".complete").unlink()
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        papertui(codes[0], base, "big", "sync", "init", str(remote))
        other = other_import(base, tmp, args.papers, args.copies)
        branch = subprocess.run(
            ["git", "-C", str(remote), "for-each-ref", "--format=%(refname:short)", "refs/heads"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        subprocess.run(
            ["git", "clone", "--quiet", "--branch", branch, str(remote), str(clone)], check=True
        )
        for sub in ("papers", "changes"):
            (clone / sub).mkdir(exist_ok=True)
            for path in (other / sub).glob("other-*.json"):
                shutil.copy2(path, clone / sub / path.name)
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", "the other machine's import")
        git(clone, "push", "--quiet", "origin", f"HEAD:{branch}")
        print(f"prepared in {time.perf_counter() - t:.0f} s: {args.size:,} papers; the other")
        print(f"machine brings {args.papers:,} ({args.copies} copies of papers held, 100 stars)")
        results: dict[Path, list[tuple[float, float]]] = {c: [] for c in codes}
        for _ in range(args.repeat):
            for code in codes:
                run = tmp / "run"
                shutil.rmtree(run, ignore_errors=True)
                shutil.copytree(base, run, symlinks=True)
                profile = args.profile if args.profile and code == codes[-1] else ""
                wall, cpu, _ = papertui(code, run, "big", "sync", profile=profile)
                _, _, count = papertui(code, run, "big", "stats", "--json")
                total = json.loads(count)["papers"]
                results[code].append((wall, cpu))
                print(
                    f"{str(code):<28} sync {wall:6.2f} s wall {cpu:6.2f} s CPU; "
                    f"{total:,} papers after; load {os.getloadavg()[0]:.1f}"
                )
        for code, runs in results.items():
            cpus = sorted(c for _, c in runs)
            walls = sorted(w for w, _ in runs)
            print(
                f"{str(code):<28} median {cpus[len(cpus) // 2]:.2f} s CPU "
                f"(min {cpus[0]:.2f}), {walls[len(walls) // 2]:.2f} s wall"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
