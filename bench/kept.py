"""The list run again with the papers the reader triaged kept in it (`Library.query(keep=)`).

``python bench/kept.py [--size 1000000]``

On a copy of the generated library (bench/gen.py, cached in bench/.cache/), marks read
``k`` papers of the Inbox (the first ones, as a reader going down the list does; and for
10,000, the first 10,000: a "mark all read" of a search) and times what the app does when
another process's write reloads the list: `Library.query` of the view with and without
those ids kept, its first page (`head`) and its count (`len`), each the median of 5, after
one run to warm the page cache. The same for a word search in the Inbox. Figures in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gen  # noqa: E402
from run import copy_library  # noqa: E402

from tui.library import Library  # noqa: E402


def timed(lib: Library, query: str, keep: list[str]) -> tuple[float, float, int]:
    """Median ms of (first page, first page + count) of ``query`` keeping ``keep``; the count."""
    heads, counts, n = [], [], 0
    for run in range(6):
        t0 = time.perf_counter()
        result = lib.query(query, keep=keep)
        result.head()
        t1 = time.perf_counter()
        n = len(result)
        t2 = time.perf_counter()
        if run:  # (the first warms the page cache)
            heads.append((t1 - t0) * 1000)
            counts.append((t2 - t0) * 1000)
    return statistics.median(heads), statistics.median(counts), n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args()
    cached = gen.generate_library(args.size)
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent / ".cache") as tmp:
        lib = Library.open(copy_library(cached, Path(tmp) / "lib"))
        print(f"{len(lib):,} papers; figures: first page / first page + count, ms (median of 5)")
        for query in ("is:unread", "is:unread diffusion"):
            unread = list(lib.query(query)[:10_000])
            for k in (0, 3, 300, 10_000):
                keep = unread[:k]
                if k:
                    lib.set_state(keep, "read", read=True)
                head, count, n = timed(lib, query, keep)
                print(f"{query!r:24} kept {k:>6,}: {head:7.1f} / {count:7.1f}  ({n:,} papers)")
                if k:
                    lib.set_state(keep, "unread", read=False)
        lib.close()


if __name__ == "__main__":
    main()
