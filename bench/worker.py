"""Measurements that run in a fresh process each (started by bench/run.py).

``python bench/worker.py TASK ARGS…`` prints ``RESULT {json}`` as its last line. Timestamps
named ``t_*`` are `time.monotonic()` readings, which on Linux share one clock across processes:
the parent subtracts the moment it started the process, so "open" figures include Python's own
start-up. Processes that hold a big library end with `os._exit` once they have reported, so the
figures never include tearing the heap down (which no user waits for in the app: the terminal is
already back).

Tasks (only the library's public API: Library.open, len, iter, raw, record, raw_state,
query, counts, set_state, import_feeds, warm, bytes_written, close):
  bare                 a bare Textual app's first paint (the floor of any Textual app's open)
  libopen LIB          Library.open, then one word query (peak RSS before and after it)
  app LIB [MODE]       the real app headless: first paint of the list, then (MODE "scroll",
                       the default) scrolling and typed searches; "open": stop at the first
                       paint; "profile:FILE": cProfile the scrolling into FILE
  query LIB Q          Library.open, then one query from cold: len() and its first 50 ids
                       (what `papertui list Q` does)
  searchstar LIB       queries (first and repeated), warm(), then stars through set_state
  migrate LIB          Library.open of a library written by the previous engine (migrates it)
  naive LIB N          all papers in one default-TinyDB file, N update() calls
  import LIB FEEDS     read_sources + Library.import_feeds of every feed file (LIB "-": empty)
With ``--cprofile FILE`` first, the task runs under cProfile and the stats go to FILE.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUERIES = (
    "diffusion",
    "扩散",
    "缓存",
    "diffus",
    "is:unread diffusion",
    "tag:video",
    "author:zhang",
)
FIRST = 50  # ids a query shows first (a screenful and more)
STARS = 50
FEED_TODAY = "2026-06-20"
SCROLL_DOWN = 100
SCROLL_PAGES = 20
REST_KEYS = 10  # cursor moves each followed by a rest (the panes beside the list follow)
APP_SIZE = (120, 40)


def hwm_kb() -> int:
    """Peak resident set size of this process so far (VmHWM), in KiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class GcClock:
    """Time spent in the cyclic garbage collector (via gc.callbacks) while it is installed."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = [0, 0, 0]
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1

    def take(self) -> float:
        """Seconds spent collecting since the last call."""
        total, self.total = self.total, 0.0
        return total


def report(result: dict[str, Any], exit_now: bool = True) -> None:
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    if exit_now:
        sys.stderr.flush()
        os._exit(0)


def task_bare() -> dict[str, Any]:
    """A Textual app of one static line, run as the real app is (headless, same size): the
    least any Textual app's start costs (interpreter, imports, the first frame)."""
    t0 = time.monotonic()
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    painted: dict[str, float] = {}

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("papers")

    app = Bare()

    async def drive() -> None:
        async with app.run_test(size=APP_SIZE) as pilot:
            await pilot.pause()
            painted["t"] = time.monotonic()
            painted["cpu"] = time.process_time()

    asyncio.run(drive())
    return {
        "t_done": painted["t"],
        "cpu_s": painted["cpu"],
        "import_s": time.monotonic() - t0,
        "hwm_kb": hwm_kb(),
    }


# --------------------------------------------------------------------------- tasks
def task_libopen(root: str) -> dict[str, Any]:
    t0 = time.monotonic()
    from tui.library import Library

    clock = GcClock()
    t1 = time.monotonic()
    lib = Library.open(root)
    t2 = time.monotonic()
    gc_open = clock.take()
    hwm_open = hwm_kb()
    hits = lib.query("diffusion")
    len(hits), hits[:FIRST]
    return {
        "gc_s": gc_open,
        "t_imported": t1,
        "t_done": t2,
        "import_s": t1 - t0,
        "open_s": t2 - t1,
        "papers": len(lib),
        "hwm_kb": hwm_open,
        "hwm_after_search_kb": hwm_kb(),
    }


def task_app(root: str, scroll: str = "scroll") -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        from tui.app import make_app
    except ImportError as err:
        return {"available": False, "error": f"{type(err).__name__}: {err}"}
    from textual import events
    from textual.screen import Screen

    from tui.library import Library
    from tui.widgets.paper_list import PaperList

    marks: dict[str, float | None] = {"rows": None, "paint": None}

    original_render_line = PaperList.render_line
    original_refresh = Screen._compositor_refresh

    def render_line(self: PaperList, y: int) -> Any:
        strip = original_render_line(self, y)
        if marks["rows"] is None and self.ids:
            marks["rows"] = time.monotonic()
        return strip

    def compositor_refresh(self: Screen) -> None:
        original_refresh(self)
        if marks["rows"] is not None and marks["paint"] is None:
            marks["paint"] = time.monotonic()

    PaperList.render_line = render_line  # type: ignore[method-assign]
    Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]

    clock = GcClock()
    t1 = time.monotonic()
    lib = Library.open(root)
    t2 = time.monotonic()
    app = make_app(library=lib)
    out: dict[str, Any] = {"available": True, "t_imported": t1, "t_lib": t2}
    out["import_s"], out["lib_open_s"] = t1 - t0, t2 - t1

    async def drive() -> None:
        async with app.run_test(size=APP_SIZE) as pilot:
            out["t_ready"] = time.monotonic()
            deadline = time.monotonic() + 120
            while marks["paint"] is None and time.monotonic() < deadline:
                await pilot.pause()
            out["t_rows"], out["t_paint"] = marks["rows"], marks["paint"]
            out["cpu_paint_s"] = time.process_time()  # CPU of this process since it started
            out["hwm_paint_kb"] = out["hwm_kb"] = hwm_kb()
            out["gc_s"] = clock.take()  # collector time from opening to the first paint
            if scroll == "open":
                return
            lists = list(app.screen.query(PaperList)) or list(app.query(PaperList))
            if not lists:
                out["scroll_error"] = "no PaperList on the screen"
                return
            plist = lists[0]
            if not plist.has_focus:
                plist.focus()
                await pilot.pause()
            out["rows"] = len(plist.ids)
            start_cursor = plist.cursor
            # Right after opening, while the app's background warm-up (reading bodies,
            # building indexes) runs: what a user who starts scrolling at once gets.
            times = []
            for _ in range(SCROLL_DOWN):
                t = time.thread_time()
                await pilot.press("down")
                app.screen._on_timer_update()
                times.append(time.thread_time() - t)
            out["scroll_warmup_down"] = {"per_key_s": sum(times) / SCROLL_DOWN, "max_s": max(times)}
            # Then the steady state: background work done, as a user reading would find it.
            t = time.perf_counter()
            while time.perf_counter() - t < 150 and any(
                w.is_running or w.state.name == "PENDING" for w in list(app.workers)
            ):
                await asyncio.sleep(0.05)
            out["background_s"] = time.perf_counter() - t
            await pilot.pause()
            clock.take()
            # App time = CPU time of the event-loop thread while the keys are handled: the key
            # dispatch, bindings, the action, every message and timer it triggers on that
            # thread (detail pane, status bar) and the repaint. Each key is delivered as the
            # terminal driver delivers it, the next once the app has handled the last
            # (`settled`). `pilot.press` (measured too, as `pilot_*`) posts a callback to every
            # widget to wait for them, which costs more than handling a key here (~5 ms a key
            # for the app's two dozen widgets: the harness, not the app), and idles ~40 ms.
            nodes = [app, *app.screen.walk_children(with_self=True)]
            profiler = None
            if scroll.startswith("profile:"):  # cProfile the scrolling only
                import cProfile

                profiler = cProfile.Profile()
            for name, key, count in (
                ("noop", "f19", 20),
                ("down", "down", SCROLL_DOWN),
                ("pagedown", "pagedown", SCROLL_PAGES),
            ):
                await pilot.pause()
                gc.collect()
                times = []
                wall0 = time.perf_counter()
                if profiler and name != "noop":
                    profiler.enable()
                for _ in range(count):
                    t = time.thread_time()
                    app._driver.send_message(events.Key(key, None))
                    await settled(nodes)
                    app.screen._on_timer_update()  # the repaint the update timer would do
                    times.append(time.thread_time() - t)
                if profiler:
                    profiler.disable()
                out[f"scroll_{name}"] = {
                    "per_key_s": sum(times) / count,
                    "median_s": statistics.median(times),
                    "max_s": max(times),
                    "wall_per_key_s": (time.perf_counter() - wall0) / count,
                }
                await pilot.pause()
                gc.collect()
                times = []
                for _ in range(count):
                    t = time.thread_time()
                    await pilot.press(key)
                    app.screen._on_timer_update()
                    times.append(time.thread_time() - t)
                out[f"scroll_{name}"]["pilot_per_key_s"] = sum(times) / count
                if name == "noop":
                    continue
                # Held key (key repeat): all the presses queued at once, as a terminal
                # delivers them when j is held; work the app defers until the keys stop
                # (the detail pane follows after a pause) is then done once, not per key.
                await pilot.pause()
                gc.collect()
                t = time.thread_time()
                for _ in range(count):
                    app._driver.send_message(events.Key(key, None))
                await pilot.pause()
                app.screen._on_timer_update()
                out[f"scroll_{name}"]["held_per_key_s"] = (time.thread_time() - t) / count
            # A key, then a rest (reading the paper): the list moves at once and the panes
            # beside it follow once the cursor rests; the app time of both, per key.
            details = list(app.query("#detail"))
            times = []
            for _ in range(REST_KEYS if details else 0):
                await pilot.pause()
                gc.collect()
                t = time.thread_time()
                app._driver.send_message(events.Key("down", None))
                await settled(nodes)
                deadline = time.perf_counter() + 5
                while details[0].paper_id != plist.current and time.perf_counter() < deadline:
                    await asyncio.sleep(0.01)
                await settled(nodes)
                app.screen._on_timer_update()
                times.append(time.thread_time() - t)
            if times:
                out["scroll_rest"] = {
                    "per_key_s": sum(times) / len(times),
                    "median_s": statistics.median(times),
                    "max_s": max(times),
                }
            out["cursor_moved"] = plist.cursor - start_cursor
            out["scroll_gc_s"] = clock.take()
            out["hwm_scroll_kb"] = hwm_kb()
            if profiler:  # scrolling in FILE, typing in FILE.typing (event-loop thread only)
                profiler.dump_stats(scroll.split(":", 1)[1])
                profiler = cProfile.Profile()
                profiler.enable()
            with contextlib.suppress(Exception):
                out["typing"] = await type_searches(app, plist)
            if profiler:
                profiler.disable()
                profiler.dump_stats(scroll.split(":", 1)[1] + ".typing")
            if "typing" in out:
                out["typing"]["debounce_s"] = search_delay(app)
            out["hwm_kb"] = hwm_kb()

    asyncio.run(drive())
    return out


async def settled(nodes: list[Any]) -> None:
    """Until the app and its widgets have handled every message sent to them: each queue
    empty at three turns of the event loop in a row (a handler that awaits is still running
    with its queue empty; handling one message may send another)."""
    quiet = 0
    while quiet < 3:
        await asyncio.sleep(0)
        busy = any(node.message_queue_size for node in nodes)
        quiet = 0 if busy else quiet + 1


def search_delay(app: Any) -> float | None:
    """The app's typing debounce (SEARCH_DELAY in whichever tui module defines it)."""
    modules = [sys.modules[type(app).__module__]]
    loaded = dict(sys.modules)  # a copy: a worker thread may be importing meanwhile
    modules += [m for name, m in sorted(loaded.items()) if name.startswith("tui.")]
    for module in modules:
        value = getattr(module, "SEARCH_DELAY", None)
        if isinstance(value, (int, float)):
            return float(value)
    return None


async def type_searches(app: Any, plist: Any) -> dict[str, Any]:
    """Type three searches (two English, one Chinese) into the app's search box at ~12 keys/s,
    as a person does.

    Meanwhile a probe on the event loop sleeps 5 ms at a time and records how late it wakes:
    the longest delay is the longest the UI could not react (key echo, repaint). For each
    search, the time from the last keystroke to the list painting its first rows of the
    results is recorded (``{label}_s``; it includes the app's typing debounce; the first
    search of a session may build indexes), and to the list holding the counted result
    (``{label}_count_s``: the same when the app counts before it shows the rows; an app
    that shows a first page first, a `Head`, counts after it).
    """
    from textual import events

    lags: list[float] = []
    running = True

    async def probe() -> None:
        while running:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t - 0.005)

    def key(name: str, char: str | None) -> None:
        app._driver.send_message(events.Key(name, char))

    painted: dict[str, Any] = {}
    render_lines = plist.render_lines

    def recorded(crop: Any) -> Any:  # (the list's paint: which rows it drew, when)
        lines = render_lines(crop)
        painted["ids"], painted["t"] = plist.ids, time.perf_counter()
        return lines

    plist.render_lines = recorded

    async def shown(before: list[str], since: float) -> float | None:
        while time.perf_counter() - since < 60:
            if plist.ids is not before and painted.get("ids") is plist.ids:
                return painted["t"] - since
            await asyncio.sleep(0.002)
        return None

    async def counted(since: float) -> float | None:
        while time.perf_counter() - since < 60:
            if type(plist.ids).__name__ != "Head":
                return time.perf_counter() - since
            await asyncio.sleep(0.002)
        return None

    task = asyncio.create_task(probe())
    out: dict[str, Any] = {}
    try:
        key("slash", "/")
        await asyncio.sleep(0.2)
        previous = ""
        for label, word in (("first", "diffusion"), ("again", "retrieval"), ("zh", "扩散")):
            before = plist.ids
            for _ in previous:
                key("backspace", None)
                await asyncio.sleep(0.08)
            for char in word:
                key(char, char)
                await asyncio.sleep(0.08)
            last_key = time.perf_counter() - 0.08
            out[f"{label}_s"] = await shown(before, last_key)
            out[f"{label}_count_s"] = await counted(last_key)
            out[f"{label}_rows"] = len(plist.ids)
            previous = word
            await asyncio.sleep(0.3)
        typing = sorted(lags)
        lags.clear()
        before = plist.ids  # Esc: the search cleared, the view's papers back
        key("escape", None)
        since = time.perf_counter()
        out["esc_s"] = await shown(before, since)
        out["esc_count_s"] = await counted(since)
        await asyncio.sleep(0.3)
        out["esc_stall_s"] = max(lags, default=None)
    finally:
        running = False
        await task
    out["max_stall_s"] = typing[-1] if typing else None
    out["p99_stall_s"] = typing[int(len(typing) * 0.99)] if typing else None
    return out


def task_query(root: str, q: str) -> dict[str, Any]:
    """One query from cold in a fresh process, as a CLI command runs it: open the library,
    count the result and read its first ids."""
    t0 = time.monotonic()
    from tui.library import Library

    t1 = time.monotonic()
    lib = Library.open(root)
    t2 = time.perf_counter()
    c2 = time.process_time()
    hits = lib.query(q)
    count = len(hits)
    first = hits[:FIRST]
    t3 = time.perf_counter()
    return {
        "q": q,
        "query_cpu_s": time.process_time() - c2,
        "query_s": t3 - t2,
        "t_done": time.monotonic(),
        "import_s": t1 - t0,
        "open_s": time.monotonic() - t1 - (t3 - t2),
        "hits": count,
        "first": len(first),
        "hwm_kb": hwm_kb(),
    }


def task_searchstar(root: str) -> dict[str, Any]:
    from tui.library import Library

    lib = Library.open(root)
    out: dict[str, Any] = {"papers": len(lib), "queries": {}}
    clock = GcClock()
    for q in QUERIES:
        gc.collect()
        clock.take()
        t = time.perf_counter()
        hits = lib.query(q)
        count = len(hits)
        hits[:FIRST]
        first = time.perf_counter() - t
        gc_first = clock.take()
        again = []
        for _ in range(5):
            t = time.perf_counter()
            hits = lib.query(q)
            len(hits), hits[:FIRST]
            again.append(time.perf_counter() - t)
        out["queries"][q] = {
            "first_s": first,
            "first_gc_s": gc_first,
            "median_s": statistics.median(again),
            "hits": count,
        }

    # What the app does after its first paint (in a worker thread); its queries after it.
    clock.take()
    t = time.perf_counter()
    lib.warm()
    out["warm_s"] = time.perf_counter() - t
    out["warm_gc_s"] = clock.take()
    out["indexed"] = {}
    for q in QUERIES:
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            hits = lib.query(q)
            len(hits), hits[:FIRST]
            runs.append(time.perf_counter() - t)
        out["indexed"][q] = {"median_s": statistics.median(runs)}

    rng = random.Random(4)
    unstarred = lib.query("is:unstarred")
    count = min(len(unstarred), 6000)  # a fold every size/8 KiB changes: ~3,700 at 1M
    # (the ids read in one pass: a random index into a result of 950,000 at 1M is a query
    # with that OFFSET, 0.3-0.6 s each at depth, an hour for the 6,000 picks)
    every = list(unstarred)
    picks = iter([every[i] for i in rng.sample(range(len(every)), count)])
    del every
    checkpoints = Path(root) / "state"  # the folded journal: a new file per checkpoint

    def folded() -> set[str]:
        return set(os.listdir(checkpoints)) if checkpoints.is_dir() else set()

    times, sizes = [], []
    clock.take()
    seen = folded()
    for _ in range(STARS):
        pid = next(picks)
        before = lib.bytes_written
        t = time.perf_counter()
        lib.set_state([pid], "star", starred=True)
        times.append(time.perf_counter() - t)
        sizes.append(lib.bytes_written - before)
        if folded() != seen:  # this star wrote a checkpoint: not a typical star
            times.pop()
            sizes.pop()
            seen = folded()
    out["star"] = {
        "median_s": statistics.median(times),
        "max_s": max(times),
        "bytes_median": statistics.median(sizes),
        "n": len(times),
        "gc_s": clock.take() / STARS,
    }
    # Keep starring until one star writes a checkpoint (state.fold_threshold changes):
    # that star's time, and the bytes of the checkpoint file it wrote.
    for n, pid in enumerate(picks, STARS + 1):
        t = time.perf_counter()
        lib.set_state([pid], "star", starred=True)
        dt = time.perf_counter() - t
        now = folded()
        if now != seen:
            made = sorted(now - seen)
            out["checkpoint"] = {
                "s": dt,
                "bytes": sum(os.path.getsize(checkpoints / f) for f in made),
                "after_stars": n,
                "states": lib.counts(),
            }
            # and the next star (the engine may fold again right away)
            pid = next(picks)
            seen = now
            t = time.perf_counter()
            lib.set_state([pid], "star", starred=True)
            out["checkpoint"]["next_s"] = time.perf_counter() - t
            out["checkpoint"]["next_folded"] = folded() != seen
            break
    return out


def task_migrate(root: str) -> dict[str, Any]:
    """Open a library written by the previous engine: the migration, then the cache built."""
    t0 = time.monotonic()
    from tui.library import Library

    clock = GcClock()
    t1 = time.monotonic()
    lib = Library.open(root)
    t2 = time.monotonic()
    counts = lib.counts()
    tagged = len(lib.query("is:tagged"))
    noted = len(lib.query("is:noted"))
    t3 = time.monotonic()
    lib.close()  # as a process that ends normally does: SQLite folds and removes the WAL
    return {
        "close_s": time.monotonic() - t3,
        "t_done": t2,
        "import_s": t1 - t0,
        "open_s": t2 - t1,
        "gc_s": clock.take(),
        "papers": len(lib),
        "counts": counts,
        "tagged": tagged,
        "noted": noted,
        "hwm_kb": hwm_kb(),
    }


def task_naive(root: str, repeats: str) -> dict[str, Any]:
    import orjson
    from tinydb import TinyDB

    from tui.library import Library

    lib = Library.open(root)
    docs = {str(n): {**lib.record(pid), **lib.raw_state(pid)} for n, pid in enumerate(lib, 1)}
    count = len(docs)
    tmp = Path(tempfile.mkdtemp(prefix="papertui-naive-"))
    path = tmp / "library.json"
    path.write_bytes(orjson.dumps({"_default": docs}))
    del lib, docs
    gc.collect()
    db = TinyDB(str(path))  # the default JSONStorage: the whole file per operation
    rng = random.Random(5)
    times, sizes = [], []
    for _ in range(int(repeats)):
        doc_id = rng.randint(1, count)
        t = time.perf_counter()
        db.update({"starred": True}, doc_ids=[doc_id])
        times.append(time.perf_counter() - t)
        sizes.append(path.stat().st_size)
    db.close()
    path.unlink()
    tmp.rmdir()
    return {"median_s": statistics.median(times), "runs": times, "bytes": statistics.median(sizes)}


def task_import(root: str, feeds: str) -> dict[str, Any]:
    import resource
    from datetime import date

    t0 = time.perf_counter()
    from tui.importing import read_sources
    from tui.library import Library
    from tui.library.core import now_iso

    t1 = time.perf_counter()
    empty = root == "-"
    tmp = tempfile.mkdtemp(prefix="papertui-import-") if empty else None
    lib = Library.open(Path(tmp) / "library" if tmp else root)
    before = len(lib)
    # As `papertui import` does: the library is open while the feeds are read and parsed.
    clock = GcClock()
    t2 = time.perf_counter()
    c2 = time.process_time()
    files = sorted(str(p) for p in Path(feeds).glob("*.txt"))
    stamp = now_iso()
    today = date.fromisoformat(FEED_TODAY)
    loaded, errors = read_sources(files, today, stamp)  # as `papertui import` reads them
    assert not errors, errors
    t3 = time.perf_counter()
    c3 = time.process_time()
    parse_gc = clock.take()
    reports = lib.import_feeds(loaded)
    t4 = time.perf_counter()
    c4 = time.process_time()
    # (what `papertui import` does before it exits: the WAL checkpoint a big import leaves
    # to a thread of its own is waited for; the app goes on without waiting)
    lib.close()
    t5 = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # (none, unless a tree's read has)
    out = {
        "children_cpu_s": children.ru_utime + children.ru_stime,
        "parse_cpu_s": c3 - c2,
        "store_cpu_s": c4 - c3,
        "import_s": t1 - t0,
        "open_s": t2 - t1,
        "parse_s": t3 - t2,
        "parse_gc_s": parse_gc,
        "store_s": t4 - t3,
        "store_gc_s": clock.take(),
        "close_s": t5 - t4,
        "papers": sum(r.found for r in reports),
        "new": sum(r.new for r in reports),
        "merged": sum(r.merged for r in reports),
        "library_before": before,
        "library_after": len(lib),
        "bytes": lib.bytes_written,
        "feeds": len(files),
    }
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


TASKS = {
    "bare": task_bare,
    "query": task_query,
    "migrate": task_migrate,
    "libopen": task_libopen,
    "app": task_app,
    "searchstar": task_searchstar,
    "naive": task_naive,
    "import": task_import,
}


def main(argv: list[str]) -> None:
    profile_to = None
    if argv[:1] == ["--cprofile"]:
        profile_to, argv = argv[1], argv[2:]
    task = TASKS[argv[0]]
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(task, *argv[1:])
        profiler.dump_stats(profile_to)
    else:
        result = task(*argv[1:])
    report(result)


if __name__ == "__main__":
    main(sys.argv[1:])
