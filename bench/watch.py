"""How long the watch rules take over a whole library (the pass after the rules change).

    python bench/watch.py [SIZE]          # default 30,000 papers (bench/gen.py's library)

Each case copies the generated library to a temp folder (so every pass is a first one: the
rules changed) and times `tui.watch.apply` there: two words; a rule of 5,001 words; a
Chinese word; and the pass after that (nothing new: the papers since the last pass only).
Run with ``PYTHONPATH=<another checkout>`` to time that checkout's code on the same data.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import generate_library  # noqa: E402

from tui.library import Library  # noqa: E402
from tui.watch import apply, rules_from_config  # noqa: E402


def _words(n: int) -> list[str]:
    rng = random.Random(14)
    letters = "abcdefghijklmnopqrstuvwxyz"
    made = ["".join(rng.choice(letters) for _ in range(rng.randint(5, 10))) for _ in range(n)]
    return [*made[: n - 1], "flow matching"]  # (one phrase that matches)


CASES = {
    "2 words": [{"name": "two", "words": ["flow matching", "diffusion"], "tag": "two"}],
    "5,001 words": [{"name": "many", "words": _words(5001), "tag": "many"}],
    "Chinese word": [{"name": "zh", "words": ["扩散"], "tag": "zh"}],
}


def main(size: int = 30_000) -> None:
    source = generate_library(size)
    for label, tables in CASES.items():
        try:
            rules = rules_from_config({"watch": tables})
        except Exception as err:  # (another checkout's code may refuse a rule)
            print(f"{label}: {err}")
            continue
        with tempfile.TemporaryDirectory(prefix="papertui-watch-") as tmp:
            root = Path(tmp) / "lib"
            shutil.copytree(source, root, symlinks=True)
            lib = Library.open(root)
            len(lib)  # (the cache opened: not timed)
            start = time.perf_counter()
            counts = apply(lib, rules)
            took = time.perf_counter() - start
            start = time.perf_counter()
            apply(lib, rules)
            again = time.perf_counter() - start
            lib.close()
        tagged = sum(counts.values())
        print(f"{label}: whole library {took:.2f} s ({tagged:,} tagged); next pass {again:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
