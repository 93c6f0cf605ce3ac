"""A synthetic cache database of N papers, for measuring queries at sizes the real generator
(gen.py, through the library's API) takes hours to reach.

``python bench/synth.py N OUT.sqlite`` writes the cache schema (tui/library/cache.py) and fills
``paper``, ``text``, ``facet``, ``tag`` and ``annot`` the way the cache's own bulk insert does
(`Cache.add_papers`, one transaction per simulated day of imports), with gen.py's text: the
same topics, titles, abstracts, authors and Chinese fields. Then the user's state as gen.py
sets it: 30% read, 5% starred, 4% tagged, 1% with a note; a fifth of the papers seen again
by a later feed (their feed date moved a few days on, as a merge does).

A million papers: about 25 minutes and 3.3 GB on the 2-core benchmark machine.

``python bench/synth.py --query DB Q`` times one query from cold in this fresh process, as
worker.py's ``query`` task does (len() and the first 50 ids), without Library.open (the
truth files a real library needs are not there).
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen  # noqa: E402

# As gen.py's user state: ten tags, and notes naming a few of the abstracts' nouns.
TAGS = "video 3d survey to-cite efficient llm benchmark reading-group rl theory".split()
NOUNS = (
    "model framework method approach benchmark dataset encoder decoder attention policy "
    "representation objective loss architecture pipeline module baseline estimator sampler "
    "scheduler tokenizer backbone adapter network agent planner optimizer prior embedding"
).split()


def build(size: int, out: Path) -> None:
    from tui.library.cache import Cache

    out.unlink(missing_ok=True)
    cache = Cache(out)
    conn = cache.conn()
    conn.execute("PRAGMA synchronous=OFF")
    with cache.transaction() as c:
        cache.create(c)
    rng = random.Random(f"{gen.SEED}-{size}-synth")
    per_day = max(gen.MIN_PER_DAY, -(-size // gen.LIBRARY_DAYS))
    days = -(-size // per_day)
    start = gen.TODAY - timedelta(days=days + 6)
    i = 0
    t0 = time.monotonic()
    for d in range(days):
        day = start + timedelta(days=d)
        records = []
        while i < size and i < (d + 1) * per_day:
            # (gen.py's own paper generator: the same text as the libraries it builds)
            paper, formats = gen._paper(rng, i, day, i + 1)
            record = {k: v for k, v in paper.to_dict().items() if v not in (None, "", [])}
            pid = f"p{i:07d}"
            stamp = f"{day.isoformat()}T08:00:00+00:00"
            record.update(
                id=pid,
                feed_date=day.isoformat(),
                added_at=stamp,
                sources=[{"format": f, "feed_date": day.isoformat()} for f in formats],
                keys=[f"id:{pid}"],
            )
            records.append(record)
            i += 1
        with cache.transaction() as c:
            Cache.add_papers(c, records, f"s{d}")
        if d % 50 == 0:
            print(f"day {d}/{days}: {i:,} papers, {time.monotonic() - t0:.0f} s", flush=True)
    with cache.transaction() as c:
        n = i
        ids = list(range(1, n + 1))
        later = rng.sample(ids, n // 5)
        c.executemany(
            "UPDATE paper SET feed_date=date(feed_date, ?), day=date(day, ?) WHERE rowid=?",
            [(f"+{k} days", f"+{k} days", r) for r in later for k in [rng.randint(1, 5)]],
        )
        starred = rng.sample(ids, n * 5 // 100)
        read = rng.sample(ids, n * 30 // 100)
        c.executemany("UPDATE paper SET starred=1 WHERE rowid=?", [(r,) for r in starred])
        c.executemany("UPDATE paper SET read=1 WHERE rowid=?", [(r,) for r in read])
        states: dict[int, dict[str, Any]] = {}
        for tag in TAGS:
            for r in rng.sample(ids, max(n * 4 // 100 // len(TAGS), 1)):
                states.setdefault(r, {"tags": []})["tags"].append(tag)
        for k in range(20):
            note = f"Compare with {' '.join(rng.choices(NOUNS, k=14))} ({k})."
            for r in rng.sample(ids, max(n // 100 // 20, 1)):
                states.setdefault(r, {"tags": []})["note"] = note
        for r, state in states.items():
            Cache.index_state(c, r, {}, {"read": False, "starred": False, **state})
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache.close()
    print(f"{n:,} papers in {time.monotonic() - t0:.0f} s: {out}")


def query(db: Path, q: str) -> None:
    import sqlite3

    from tui.library.cache import Cache
    from tui.library.query import parse_query
    from tui.library.sqlquery import Results, compile_query

    cache = Cache(db)
    cache.conn().execute("SELECT count(*) FROM meta").fetchone()  # (Library.open reads it)

    t0 = time.perf_counter()
    c0 = time.process_time()
    hits = Results(cache.conn, compile_query(parse_query(q)))
    count = len(hits)
    first = hits[:50]
    t1 = time.perf_counter()
    print(
        json.dumps(
            {
                "q": q,
                "s": t1 - t0,
                "cpu_s": time.process_time() - c0,
                "hits": count,
                "first": first[:3],
                "sqlite": sqlite3.sqlite_version,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "--query":
        query(Path(sys.argv[2]), sys.argv[3])
    else:
        build(int(float(sys.argv[1])), Path(sys.argv[2]))
