"""papertui at scale: the benchmark of issues 4 and 10 (engine 2).

    python bench/run.py                 # 10,000 and 100,000 papers
    python bench/run.py --big           # … and 1,000,000
    python bench/run.py --sizes 2000    # a quick smoke run
    python bench/run.py --profile paint --sizes 100000   # cProfile one measurement

Generates synthetic libraries through the library's public API (cached in bench/.cache/),
measures open, memory, star, search (cold, in a fresh process, and typed in the app), import,
scroll and disk on each, with the issue's targets; the same size of newsboat cache opened in
tmux (when newsboat and tmux are installed) as the baseline figures are given as ratios to; and
the migration of a library made by the previous engine (`gen.PREVIOUS_ENGINE`, at 100k unless
--migrate says otherwise). Prints one table and writes bench/results/latest.json (and
latest.txt, the table as text). Every measurement that depends on the process (open, memory,
the app, a cold query) runs in a fresh process: see bench/worker.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402
import ptyopen  # noqa: E402
import tmuxed  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

WORKER = HERE / "worker.py"
RESULTS = HERE / "results"
TARGET_SIZE = 100_000
BIG_SIZE = 1_000_000
COLD_QUERIES = ("diffusion", "扩散", "author:zhang")
FIRST = 50  # ids a cold query reads (as `papertui list` shows them)
PREVIOUS = gen.PREVIOUS_ENGINE
NA_APP = "n/a (app not available)"
BYTECODE = Path(tempfile.gettempdir()) / "papertui-bench-bytecode"  # see compiled_env

console = Console()
if not console.is_terminal:
    console = Console(width=180)


# --------------------------------------------------------------------------- running workers
def compiled_env(**extra: str) -> dict[str, str]:
    """The environment of a measured process: Python's modules run from compiled bytecode,
    as an installed papertui's are (pip compiles them), kept out of the source tree
    (`BYTECODE`). Where PYTHONDONTWRITEBYTECODE is set, every process would otherwise
    compile papertui's sixty modules from source at each start: ~0.1 s of the open figure
    that no user pays (the bare Textual app, the floor, runs from bytecode either way)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    return {**env, **extra}


def worker(
    *args: str, cprofile: str | None = None, previous: bool = False
) -> tuple[dict[str, Any], float, float]:
    """Run one worker task; its result, when it was started and when it exited (monotonic).
    ``previous``: the previous engine's own worker and code (`gen.previous_source`)."""
    env = compiled_env()
    if previous:
        src = gen.previous_source()
        cmd = [sys.executable, str(src / "bench" / "worker.py")]
        env = compiled_env(PYTHONPATH=str(src))
    else:
        cmd = [sys.executable, str(WORKER)]
    if cprofile:
        cmd += ["--cprofile", cprofile]
    cmd += list(args)
    os.sync()  # start from a quiet disk: no writeback of earlier runs' files competing
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    ended = time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"worker {args[0]} failed ({proc.returncode}):\n" + "\n".join(tail))
    return json.loads(lines[-1][len("RESULT ") :]), started, ended


# --------------------------------------------------------------------------- measuring
def measure_size(
    size: int, feeds: Path, repeats: int, tmp: Path, migrate: bool, tmux: bool
) -> dict[str, Any]:
    cached = gen.generate_library(size, log=console.print)
    lib = copy_library(cached, tmp / f"library-{size}")
    res: dict[str, Any] = {"papers": size, "disk": gen.disk_sizes(lib)}
    res["files"] = sum(len(files) for _d, _s, files in os.walk(lib))

    def step(name: str, fn: Any) -> None:
        """One measurement; a failure is reported in the table instead of ending the run."""
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - any failure is a figure we cannot give
            console.print(f"[red]{size:,} papers, {name}: {err}[/red]")
            res.setdefault("errors", {})[name] = str(err).splitlines()[0]

    def opening() -> None:
        # the bare Textual app, the app and the CLI, interleaved so noise hits all alike
        worker("bare")
        app_run(lib, scroll=False)  # warm the page cache
        bares, apps, stats, lists = [], [], [], []
        for _ in range(repeats):
            r, t0, _t1 = worker("bare")
            bares.append({"s": r["t_done"] - t0, "cpu_s": r["cpu_s"], "hwm_kb": r["hwm_kb"]})
            apps.append(app_run(lib, scroll=False))
            stats.append(cli(lib, "stats"))
            lists.append(cli(lib, "list", "--search", "diffusion", "--limit", "50"))
        res["bare"] = {
            "s": statistics.median(b["s"] for b in bares),
            "cpu_s": statistics.median(b["cpu_s"] for b in bares),
            "hwm_kb": max(b["hwm_kb"] for b in bares),
        }
        res["stats_s"] = statistics.median(stats)
        res["list_s"] = statistics.median(lists)
        if all(a.get("available") for a in apps):
            res["app"] = summarise_app(apps, app_run(lib, scroll=True))
        else:
            res["app"] = {"available": False, "error": apps[0].get("error", "")}

    def libopen() -> None:
        r, t0, _t1 = worker("libopen", str(lib))
        r["to_open_s"] = r["t_done"] - t0
        res["libopen"] = r

    def cold() -> None:
        res["cold"] = {}
        for q in COLD_QUERIES:
            runs = []
            for _ in range(repeats):
                r, t0, _t1 = worker("query", str(lib), q)
                r["process_s"] = r["t_done"] - t0
                runs.append(r)
            res["cold"][q] = {
                "s": statistics.median(r["query_s"] for r in runs),
                "cpu_s": statistics.median(r["query_cpu_s"] for r in runs),
                "process_s": statistics.median(r["process_s"] for r in runs),
                "open_s": statistics.median(r["open_s"] for r in runs),
                "hits": runs[0]["hits"],
                "runs": [r["query_s"] for r in runs],
            }

    def searchstar() -> None:
        r, _t0, _t1 = worker("searchstar", str(lib))
        res["search"] = r["queries"]
        res["warm"] = {"s": r.get("warm_s"), "gc_s": r.get("warm_gc_s")}
        res["indexed"] = r.get("indexed")
        res["star"] = r["star"]
        res["checkpoint"] = r.get("checkpoint")

    def naive() -> None:
        res["naive"] = None  # above 20k: a file of hundreds of MB per star, skipped
        if size <= 20_000:
            res["naive"], _t0, _t1 = worker("naive", str(lib), "5")

    def in_pty() -> None:
        # as the user sees it: with the first frame pre-painted, and without (the app's own)
        env = compiled_env(PYTHONPATH=str(HERE.parent))
        res["pty"] = ptyopen.compare(lib, repeats, env=env)

    def in_tmux() -> None:
        why = tmuxed.available()
        if why or not tmux:
            res["tmux"] = {"skipped": why or "--no-tmux"}
            return
        res["tmux"] = {"newsboat_version": tmuxed.newsboat_version()}
        folder = tmuxed.build_newsboat(size, gen.CACHE / f"newsboat-{size}", gen.paper_text)
        first = first_title(lib)
        nbs, pts = [], []
        tmuxed.run_newsboat(folder)  # warm the page cache
        for _ in range(repeats):
            os.sync()
            nbs.append(tmuxed.run_newsboat(folder))
            os.sync()
            pts.append(tmuxed.run_papertui(lib, sys.executable, first))
        for key, runs in (("newsboat", nbs), ("papertui", pts)):
            res["tmux"][key] = {
                k: statistics.median(r[k] for r in runs)
                if k.endswith("_s")
                else max(r[k] for r in runs)
                for k in runs[0]
            }
        res["tmux"]["newsboat_disk"] = os.path.getsize(folder / "cache.db")

    def importing() -> None:
        res["import"] = best_import(cached, feeds, tmp)

    def migration() -> None:
        if not migrate:
            return
        old = gen.previous_library(size, log=console.print)
        target = copy_library(old, tmp / f"previous-{size}")
        res["migration"] = {"before": gen.disk_sizes(target)}
        r, t0, _t1 = worker("migrate", str(target))
        r["process_s"] = r["t_done"] - t0
        r2, t0, _t1 = worker("libopen", str(target))
        r["reopen_s"] = r2["t_done"] - t0
        res["migration"].update(r)
        res["migration"]["after"] = gen.disk_sizes(target)
        shutil.rmtree(target, ignore_errors=True)

    def previous_engine() -> None:
        """The previous engine on its own library of this size, in the same run (the machine
        is shared: figures from another hour are not comparable)."""
        if not migrate:
            return
        old = copy_library(gen.previous_library(size, log=console.print), tmp / f"old-{size}")
        out: dict[str, Any] = {"commit": PREVIOUS}
        apps = []
        for _ in range(repeats):
            r, t0, _t1 = worker("app", str(old), "open", previous=True)
            apps.append({"open_s": (r["t_paint"] or r["t_ready"]) - t0, "hwm_kb": r["hwm_kb"]})
        out["open_s"] = statistics.median(a["open_s"] for a in apps)
        out["hwm_kb"] = statistics.median(a["hwm_kb"] for a in apps)
        r, _t0, _t1 = worker("searchstar", str(old), previous=True)
        out["queries"] = r["queries"]
        out["star"] = r["star"]
        imp, _t0, _t1 = worker("import", str(old), str(feeds), previous=True)
        out["import"] = imp
        out["disk"] = gen.disk_sizes(old)["truth"]
        res["previous"] = out
        shutil.rmtree(old, ignore_errors=True)

    step("open", opening)
    step("previous engine", previous_engine)
    step("libopen", libopen)
    step("cold queries", cold)
    step("search/star", searchstar)
    step("naive", naive)
    step("pty", in_pty)
    step("tmux", in_tmux)
    shutil.rmtree(lib, ignore_errors=True)
    step("import", importing)
    step("migration", migration)
    return res


def first_title(lib: Path) -> str:
    """The title the app lists first (inbox: unread, newest first)."""
    code = (
        "import sys; from tui.library import Library; lib = Library.open(sys.argv[1]); "
        "print(lib.raw(lib.query('is:unread')[0]).get('title', ''))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(lib)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def cli(lib: Path, *args: str) -> float:
    """Wall time of a `papertui` command, start to exit."""
    exe = Path(sys.executable).with_name("papertui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tui"]
    os.sync()
    started = time.monotonic()
    proc = subprocess.run(
        [*cmd, args[0], "--db", str(lib), *args[1:]],
        capture_output=True,
        text=True,
        check=False,
        env=compiled_env(),
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"papertui {args[0]} failed: {proc.stderr.strip()}")
    return elapsed


def copy_library(src: Path, dest: Path) -> Path:
    """A copy of the library at ``src`` at ``dest``, on disk before it is measured: the
    copy's gigabytes (1,000,000 papers: 4.6 GB) would otherwise be waiting in the page
    cache, and the first fsync of the database (an import's commit) would write them out."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".complete"))
    os.sync()
    return dest


def best_import(cached: Path | None, feeds: Path, tmp: Path, runs: int = 2) -> dict[str, Any]:
    """The faster of ``runs`` imports, each into a fresh copy of ``cached`` (None: empty)."""
    results = []
    for n in range(runs):
        target = copy_library(cached, tmp / f"import-{n}") if cached else None
        r, _t0, _t1 = worker("import", str(target) if target else "-", str(feeds))
        results.append(r)
        if target:
            shutil.rmtree(target, ignore_errors=True)
    return min(results, key=lambda r: r["parse_s"] + r["store_s"])


def app_run(lib: Path, scroll: bool) -> dict[str, Any]:
    r, t0, _t1 = worker("app", str(lib), "scroll" if scroll else "open")
    if r.get("available"):
        r["open_s"] = (r["t_paint"] or r["t_ready"]) - t0
        r["ready_s"] = r["t_ready"] - t0
        r["to_imported_s"] = r["t_imported"] - t0
        r["to_lib_s"] = r["t_lib"] - t0
    return r


def summarise_app(runs: list[dict[str, Any]], scrolled: dict[str, Any]) -> dict[str, Any]:
    """Open figures: the median of the runs; scrolling: the one run that scrolled."""
    out: dict[str, Any] = {"available": True, "runs": runs, "scroll_run": scrolled}
    for key in ("open_s", "ready_s", "to_imported_s", "to_lib_s", "gc_s", "cpu_paint_s"):
        out[key] = statistics.median(r[key] for r in runs)
    out["hwm_paint_kb"] = statistics.median(r["hwm_paint_kb"] for r in runs)
    out["hwm_kb"] = max(r["hwm_kb"] for r in [*runs, scrolled])
    out["rows"] = scrolled.get("rows")
    for key in (
        "scroll_noop",
        "scroll_down",
        "scroll_pagedown",
        "scroll_rest",
        "scroll_error",
        "typing",
        "scroll_warmup_down",
        "background_s",
    ):
        if key in scrolled:
            out[key] = scrolled[key]
    return out


# --------------------------------------------------------------------------- the table
def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 0.001:
        return f"{s * 1000:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_b(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def fmt_rate(r: float | None) -> str:
    return "—" if r is None else f"{r:,.0f}/s"


def size_name(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


class Row:
    def __init__(
        self,
        metric: str,
        size: str,
        value: float | None,
        shown: str,
        floor: str = "",
        ratio: str = "",
        target: str = "",
        ok: bool | None = None,
        note: str = "",
        lower_is_better: bool = True,
        previous: str = "",
    ) -> None:
        self.metric, self.size, self.value, self.shown = metric, size, value, shown
        self.previous = previous
        self.floor, self.ratio, self.target, self.ok, self.note = floor, ratio, target, ok, note
        self.lower_is_better = lower_is_better
        self.growth = ""
        self.verdict = ""


def import_rate(imp: dict[str, Any]) -> float:
    """Papers a second of an import: parsing and storing."""
    return float(imp["papers"]) / (imp["parse_s"] + imp["store_s"])


def target_for(papers: int, at_100k: float, at_1m: float) -> float:
    """The issue's target for a library of ``papers``: the 1M one from 1M on, else 100k's."""
    return at_1m if papers >= BIG_SIZE else at_100k


def versus(value: float | None, other: float | None, fmt: Any, what: str = "newsboat") -> str:
    if value is None or not other:
        return ""
    return f"{value / other:.2f}× {what} ({fmt(other)})"


def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    sizes = list(results["sizes"].values())

    def each(fn: Any) -> None:
        for r in sizes:
            name = size_name(r["papers"])
            try:
                row = fn(r, name)
            except (KeyError, TypeError, ZeroDivisionError, IndexError):  # it failed
                errors = "; ".join(f"{k}: {v}" for k, v in r.get("errors", {}).items())
                label = fn.__name__.replace("_", " ")
                row = Row(f"({label})", name, None, "error", note=errors[:200])
            if row is not None:
                rows.append(row)

    def newsboat(r: dict[str, Any]) -> dict[str, Any]:
        return (r.get("tmux") or {}).get("newsboat") or {}

    def prev(r: dict[str, Any], get: Any, fmt: Any) -> str:
        """A figure of the previous engine measured in the same run ('' when it was not)."""
        p = r.get("previous")
        if not p:
            return ""
        try:
            return fmt(get(p))
        except KeyError:  # not something the previous engine's benchmark measured
            return "—"
        except (TypeError, ZeroDivisionError):
            return "error"

    # open
    def open_app(r: dict[str, Any], name: str) -> Row:
        app = r["app"]
        if not app.get("available"):
            return Row("open → list first paint, headless", name, None, NA_APP)
        v = app["open_s"]
        goal = target_for(r["papers"], 0.3, 0.5)
        nb = newsboat(r)
        return Row(
            "open → list first paint, headless",
            name,
            v,
            f"{fmt_s(v)} (floor {fmt_s(r['bare']['s'])})",
            f"bare Textual app {fmt_s(r['bare']['s'])}",
            versus(v, nb.get("total_s"), fmt_s),
            f"≤ {fmt_s(goal)}",
            v <= goal,
            f"app headless, process start → list painted, median of {len(app['runs'])}; "
            f"CPU {fmt_s(app['cpu_paint_s'])} (bare app {fmt_s(r['bare']['cpu_s'])}, newsboat "
            f"{fmt_s(nb.get('total_cpu_s'))}); "
            f"modules imported at {fmt_s(app['to_imported_s'])}, Library.open done at "
            f"{fmt_s(app['to_lib_s'])}; newsboat: start → article list (feed list "
            f"{fmt_s(nb.get('feedlist_s'))} + Enter → articles {fmt_s(nb.get('articles_s'))})",
            previous=prev(r, lambda p: p["open_s"], fmt_s),
        )

    def open_cpu(r: dict[str, Any], name: str) -> Row | None:
        app = r["app"]
        if not app.get("available"):
            return None
        v, floor = app["cpu_paint_s"], r["bare"]["cpu_s"]
        return Row(
            "open → list first paint, CPU",
            name,
            v,
            f"{fmt_s(v)} (floor {fmt_s(floor)})",
            f"bare Textual app {fmt_s(floor)} CPU",
            note=f"CPU time of the app's process from its start to the first paint, median of "
            f"{len(app['runs'])}; {fmt_s(v - floor)} above the floor (a Textual app of one "
            "line: Python's start, importing Textual, its first frame)",
        )

    def open_tmux(r: dict[str, Any], name: str) -> Row | None:
        pt = (r.get("tmux") or {}).get("papertui")
        if not pt:
            return None
        v = pt["open_s"]
        goal = target_for(r["papers"], 0.3, 0.5)
        nb = newsboat(r)
        return Row(
            "open → list first paint",
            f"{name} tmux",
            v,
            fmt_s(v),
            f"newsboat feed list {fmt_s(nb.get('feedlist_s'))}",
            versus(v, nb.get("total_s"), fmt_s),
            f"≤ {fmt_s(goal)}",
            v <= goal,
            "the real terminal: `papertui --db LIB` in a tmux pane, Enter → first title on "
            f"screen (tmux capture-pane polled every 3 ms), median; CPU {fmt_s(pt['open_cpu_s'])}"
            f" (newsboat {fmt_s(nb.get('total_cpu_s'))}); newsboat the same way",
        )

    def open_pty(r: dict[str, Any], name: str) -> Row | None:
        pty = r.get("pty")
        if not pty:
            return None
        seen, plain = pty["prepaint"], pty["plain"]
        v = seen["title_s"]
        goal = target_for(r["papers"], 0.3, 0.5)
        return Row(
            "open → list first shown (a terminal)",
            name,
            v,
            f"{fmt_s(v)} (CPU {fmt_s(seen.get('cpu_title_s'))})",
            f"without the pre-paint {fmt_s(plain['title_s'])}",
            "",
            f"≤ {fmt_s(goal)}",
            v <= goal,
            "what the user waits for: `papertui --db LIB` on a 120×35 pseudo-terminal, process "
            "start → the first title in its output, median of "
            f"{len(seen['runs'])}; the list is pre-painted before Textual is imported "
            f"(tui/prepaint.py); Textual takes the terminal at {fmt_s(seen.get('textual_s'))}, "
            f"its first frame at {fmt_s(seen.get('app_s'))}. Without the pre-paint "
            f"(PAPERTUI_NO_PREPAINT=1, interleaved): first title {fmt_s(plain['title_s'])} "
            f"(CPU {fmt_s(plain.get('cpu_title_s'))})",
        )

    def open_stats(r: dict[str, Any], name: str) -> Row:
        v = r["stats_s"]
        return Row(
            "open: `papertui stats` → exit",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            "whole command, start to exit",
        )

    def open_lib(r: dict[str, Any], name: str) -> Row:
        lo = r["libopen"]
        v = lo["open_s"]
        return Row(
            "open: Library.open only",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            f"process start → opened {fmt_s(lo['to_open_s'])}; {r['files']:,} files",
        )

    each(open_pty)
    each(open_app)
    each(open_cpu)
    each(open_tmux)
    each(open_stats)
    each(open_lib)

    # memory
    def mem_app(r: dict[str, Any], name: str) -> Row:
        app = r["app"]
        if not app.get("available"):
            return Row("app RSS after first paint", name, None, NA_APP)
        v = app["hwm_paint_kb"] * 1024
        goal = target_for(r["papers"], 150e6, 250e6)
        nb = newsboat(r)
        return Row(
            "app RSS after first paint",
            name,
            v,
            fmt_b(v),
            f"bare Textual app {fmt_b(r['bare']['hwm_kb'] * 1024)}",
            versus(v, (nb.get("hwm_kb") or 0) * 1024, fmt_b),
            f"≤ {fmt_b(goal)}",
            v <= goal,
            f"VmHWM at the first paint (median); peak after scrolling and 3 searches "
            f"{fmt_b(app['hwm_kb'] * 1024)}; newsboat: VmHWM with the article list shown",
            previous=prev(r, lambda p: p["hwm_kb"] * 1024, fmt_b),
        )

    def mem_lib(r: dict[str, Any], name: str) -> Row:
        lo = r["libopen"]
        v = lo["hwm_kb"] * 1024
        return Row(
            "memory: Library.open RSS",
            name,
            v,
            fmt_b(v),
            "",
            "",
            "(diagnostic)",
            None,
            f"{fmt_b(lo['hwm_after_search_kb'] * 1024)} after a word search",
        )

    each(mem_app)
    each(mem_lib)

    # star
    first_bytes = sizes[0].get("star", {}).get("bytes_median")

    def star(r: dict[str, Any], name: str) -> Row:
        st, naive = r["star"], r.get("naive")
        v = st["median_s"]
        return Row(
            "star durably saved",
            name,
            v,
            fmt_s(v),
            f"naive TinyDB {fmt_s(naive['median_s'])}" if naive else "",
            "1 / " + f"{naive['median_s'] / v:,.0f}" if naive else "",
            "≤ 5 ms median",
            v <= 0.005,
            f"set_state of one paper, fsynced, median of {st['n']} (stars that wrote a "
            f"checkpoint left out); max {fmt_s(st['max_s'])}",
            previous=prev(r, lambda p: p["star"]["median_s"], fmt_s),
        )

    def star_bytes(r: dict[str, Any], name: str) -> Row:
        b = r["star"]["bytes_median"]
        return Row(
            "star: bytes written",
            name,
            b,
            fmt_b(b),
            f"at {size_name(sizes[0]['papers'])}: {fmt_b(first_bytes)}",
            "",
            "independent of size",
            b <= 1.2 * first_bytes,
            previous=prev(r, lambda p: p["star"]["bytes_median"], fmt_b),
        )

    def checkpoint(r: dict[str, Any], name: str) -> Row | None:
        cp = r.get("checkpoint")
        if not cp:
            return None
        again = "also folded again" if cp.get("next_folded") else "did not fold"
        return Row(
            "star: the star that folds the journal",
            name,
            cp["s"],
            fmt_s(cp["s"]),
            "",
            "",
            "(diagnostic)",
            None,
            f"after {cp['after_stars']} stars, writes a {fmt_b(cp['bytes'])} checkpoint (on "
            "this star's path in the CLI; the app folds in a background thread, keys never "
            f"wait on it); the next star took {fmt_s(cp.get('next_s'))} and {again}",
        )

    each(star)
    each(star_bytes)
    each(checkpoint)

    # search
    for q, label, goals in (
        ("diffusion", "word search, cold", (0.05, 0.1)),
        ("扩散", "Chinese 2-character search, cold", (0.1, 0.1)),
        ("author:zhang", "author search, cold", (None, None)),
    ):

        def cold(r: dict[str, Any], name: str, q: str = q, label: str = label, goals=goals) -> Row:
            c = r["cold"][q]
            v = c["s"]
            goal = target_for(r["papers"], *goals) if goals[0] else None
            return Row(
                f"{label} ('{q}')",
                name,
                v,
                fmt_s(v),
                "",
                "",
                f"≤ {fmt_s(goal)}" if goal else "(diagnostic)",
                v <= goal if goal else None,
                f"fresh process: Library.open, then query, len() and the first {FIRST} ids "
                f"(median of {len(c['runs'])}; CPU {fmt_s(c['cpu_s'])}); {c['hits']:,} hits; "
                "whole process "
                f"{fmt_s(c['process_s'])}",
                previous=prev(r, lambda p: p["queries"][q]["cold_s"], fmt_s),
            )

        each(cold)

    def cli_list(r: dict[str, Any], name: str) -> Row:
        v = r["list_s"]
        return Row(
            "word search: `papertui list --search diffusion`",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            "whole command, start to exit (50 rows printed)",
        )

    each(cli_list)

    def again(r: dict[str, Any], name: str) -> Row:
        parts = [
            f"{q} {fmt_s(s['first_s'])}/{fmt_s(s['median_s'])}"
            + (f"/{fmt_s(r['indexed'][q]['median_s'])}" if r.get("indexed") else "")
            for q, s in r["search"].items()
        ]
        v = r["search"]["diffusion"]["median_s"]
        return Row(
            "queries: first / repeated / after warm()",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            "; ".join(parts) + f"; warm() {fmt_s((r.get('warm') or {}).get('s'))}",
        )

    each(again)

    # typed search
    for key, label in (
        ("first", "typed search in the app ('diffusion')"),
        ("again", "typed search in the app ('retrieval')"),
        ("zh", "typed search in the app ('扩散')"),
    ):

        def typed(r: dict[str, Any], name: str, key: str = key, label: str = label) -> Row:
            app = r["app"]
            typing = app.get("typing") if app.get("available") else None
            if not typing:
                return Row(label, name, None, NA_APP if not app.get("available") else "n/a")
            v = typing[f"{key}_s"]
            debounce = typing.get("debounce_s") or 0.0
            return Row(
                label,
                name,
                v,
                fmt_s(v),
                f"debounce {fmt_s(debounce)}",
                "",
                "≤ debounce + 50 ms",
                v is not None and v <= debounce + 0.05,
                "last keystroke → first rows of the results painted"
                + (" (the session's first search)" if key == "first" else "")
                + f"; {typing[f'{key}_rows']:,} rows, counted after "
                + fmt_s(typing.get(f"{key}_count_s")),
            )

        each(typed)

    def esc(r: dict[str, Any], name: str) -> Row:
        app = r["app"]
        typing = app.get("typing") if app.get("available") else None
        if not typing or "esc_s" not in typing:
            return Row("typed search: Esc back to the view", name, None, "n/a")
        v = typing["esc_s"]
        return Row(
            "typed search: Esc back to the view",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            "Esc → the view's first rows painted; counted after "
            + fmt_s(typing.get("esc_count_s"))
            + f"; longest UI stall {fmt_s(typing.get('esc_stall_s'))}",
        )

    each(esc)

    def stall(r: dict[str, Any], name: str) -> Row:
        app = r["app"]
        typing = app.get("typing") if app.get("available") else None
        if not typing:
            return Row("typed search: UI stall", name, None, "n/a")
        v = typing["max_stall_s"]
        return Row(
            "typed search: UI stall",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            f"longest event-loop delay while typing and searching; "
            f"p99 {fmt_s(typing['p99_stall_s'])}",
        )

    each(stall)

    # import
    empty = results.get("import_empty") or {}
    empty_rate = empty["papers"] / (empty["parse_s"] + empty["store_s"]) if empty else None

    def import_detail(imp: dict[str, Any]) -> str:
        store_rate = imp["papers"] / imp["store_s"]
        return (
            f"parse {fmt_s(imp['parse_s'])} + store {fmt_s(imp['store_s'])} "
            f"(store alone {fmt_rate(store_rate)}, CPU {fmt_s(imp['store_cpu_s'])}; GC "
            f"{fmt_s(imp['parse_gc_s'] + imp['store_gc_s'])}); best of 2"
            # (a big import's WAL copied into the database on a thread after its commit:
            # `papertui import` waits for it before it exits, the app does not)
            + (f"; then the WAL copied, {fmt_s(imp['close_s'])}" if "close_s" in imp else "")
        )

    if empty:
        rows.append(
            Row(
                f"import ({gen.FEED_PAPERS // 1000}k HF-text papers)",
                "empty",
                empty_rate,
                fmt_rate(empty_rate),
                "",
                "",
                "≥ 10,000/s",
                empty_rate >= 10_000,
                import_detail(empty),
                lower_is_better=False,
            )
        )

    def import_into(r: dict[str, Any], name: str) -> Row:
        imp = r["import"]
        rate = imp["papers"] / (imp["parse_s"] + imp["store_s"])
        return Row(
            f"import ({gen.FEED_PAPERS // 1000}k HF-text papers)",
            f"into {name}",
            rate,
            fmt_rate(rate),
            f"empty: {fmt_rate(empty_rate)}",
            f"{rate / empty_rate:.2f}× empty" if empty_rate else "",
            "≥ 10,000/s",
            rate >= 10_000,
            import_detail(imp) + f"; library open first {fmt_s(imp['open_s'])}",
            lower_is_better=False,
            previous=prev(r, lambda p: import_rate(p["import"]), fmt_rate),
        )

    each(import_into)

    # scroll
    for key, label in (("down", "scroll: cursor down ×100"), ("pagedown", "scroll: page down ×20")):

        def scroll(r: dict[str, Any], name: str, key: str = key, label: str = label) -> Row:
            app = r["app"]
            data = app.get(f"scroll_{key}") if app.get("available") else None
            if not data:
                shown = NA_APP if not app.get("available") else app.get("scroll_error", "n/a")
                return Row(label, name, None, shown)
            v = data["per_key_s"]
            noop = app.get("scroll_noop", {}).get("per_key_s")
            return Row(
                label,
                name,
                v,
                fmt_s(v) + "/key",
                f"unbound key {fmt_s(noop)}" if noop else "",
                f"{v / 0.016:.2f}× frame",
                "< 16 ms",
                v < 0.016,
                "event-loop CPU per key incl. repaint (each key once the last is drawn); "
                f"worst key {fmt_s(data['max_s'])}; "
                f"held key {fmt_s(data.get('held_per_key_s'))}/key"
                + (
                    f"; a key then a rest, the detail and note panes following: "
                    f"{fmt_s(rest['per_key_s'])}/key"
                    if (rest := app.get("scroll_rest")) and key == "down"
                    else ""
                )
                + (
                    f"; right after opening {fmt_s(early['per_key_s'])}/key"
                    if (early := app.get("scroll_warmup_down")) and key == "down"
                    else ""
                )
                + f"; {app.get('rows') or 0:,} rows listed",
            )

        each(scroll)

    # disk
    def disk(r: dict[str, Any], name: str) -> Row:
        d = r["disk"]
        v = d["truth"] + d["cache"]
        nb = (r.get("tmux") or {}).get("newsboat_disk")
        return Row(
            "disk: truth + cache",
            name,
            v,
            fmt_b(v),
            f"truth {fmt_b(d['truth'])} + cache {fmt_b(d['cache'])}",
            versus(v, nb, fmt_b, "newsboat's cache.db"),
            "≤ 500 MB at 100k" if r["papers"] <= TARGET_SIZE else "(≤ 5 kB a paper)",
            v <= 5000 * r["papers"],
            f"{fmt_b(v / r['papers'])} a paper; {r['files']:,} files",
            previous=prev(r, lambda p: p["disk"], fmt_b),
        )

    each(disk)

    # migration
    def migration(r: dict[str, Any], name: str) -> Row | None:
        m = r.get("migration")
        if not m:
            return None
        v = m["open_s"]
        return Row(
            "migration of a library made by the previous engine",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(once, on first open)",
            None,
            f"first Library.open of a {PREVIOUS} library ({fmt_b(m['before']['truth'])}): "
            f"{m['papers']:,} papers, {m['counts']['read']:,} read, "
            f"{m['counts']['starred']:,} starred, {m['tagged']:,} tagged, {m['noted']:,} noted; "
            f"peak RSS {fmt_b(m['hwm_kb'] * 1024)}; reopen {fmt_s(m['reopen_s'])}; "
            f"then truth {fmt_b(m['after']['truth'])} + cache {fmt_b(m['after']['cache'])}",
        )

    each(migration)

    # growth and verdicts
    previous: dict[str, Row] = {}
    judged = {size_name(TARGET_SIZE), size_name(BIG_SIZE)}
    for row in rows:
        key = row.metric + (" tmux" if row.size.endswith("tmux") else "")
        before = previous.get(key)
        if before and before.value and row.value:
            g = row.value / before.value
            row.growth = f"×{g:.1f}" if g >= 0.95 or row.lower_is_better else f"×{g:.2f}"
        if row.value is not None and not row.size.startswith("empty"):
            previous[key] = row
        base = row.size.removeprefix("into ").removesuffix(" tmux")
        if row.ok is None:
            row.verdict = ""
        elif base in judged or row.size == "empty":
            row.verdict = "PASS" if row.ok else "MISS"
        else:
            row.verdict = "(ok)" if row.ok else "(over)"
    return rows


def render_table(results: dict[str, Any], rows: list[Row]) -> Table:
    sizes = ", ".join(size_name(r["papers"]) for r in results["sizes"].values())
    table = Table(
        title=f"papertui at scale — {sizes} papers ({results['machine']['summary']})",
        caption="Targets (issue 10) are judged at 100k and 1M (PASS/MISS); other sizes show "
        "(ok)/(over) against the 100k target. ratio: to newsboat on a cache of the same size, "
        "opened in tmux. growth = this size ÷ the previous size. Load average (1 min) before/"
        "after each size: "
        + ", ".join(f"{x:.1f}" for x in results["machine"].get("load_avg_1min", [])),
        show_lines=False,
        header_style="bold",
    )
    for name, kw in (
        ("measure", {"no_wrap": True}),
        ("size", {"no_wrap": True}),
        ("value", {"justify": "right", "no_wrap": True}),
        (f"previous engine ({PREVIOUS})", {"justify": "right"}),
        ("floor / baseline", {}),
        ("ratio", {"justify": "right"}),
        ("target", {}),
        ("", {"no_wrap": True}),
        ("growth", {"justify": "right", "no_wrap": True}),
        ("detail", {"style": "dim"}),
    ):
        table.add_column(name, **kw)
    last_metric = None
    for row in rows:
        group = row.metric.split(":")[0]
        if last_metric is not None and group != last_metric:
            table.add_section()
        last_metric = group
        style = {"PASS": "bold green", "MISS": "bold red"}.get(row.verdict, "dim")
        table.add_row(
            row.metric,
            row.size,
            row.shown,
            row.previous,
            row.floor,
            row.ratio,
            row.target,
            Text(row.verdict, style=style),
            row.growth,
            row.note,
        )
    return table


# --------------------------------------------------------------------------- main
def parse_size(text: str) -> int:
    text = text.strip().lower().replace(",", "").replace("_", "")
    scale = 1
    if text.endswith("k"):
        scale, text = 1000, text[:-1]
    elif text.endswith("m"):
        scale, text = 1_000_000, text[:-1]
    return int(float(text) * scale)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count()
    py = platform.python_version()
    git = ["git", "-C", str(HERE.parent)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "tui"], capture_output=True, text=True, check=False
    ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    return {
        "commit": commit,
        "tui_uncommitted": changed,
        "cpu": cpu,
        "cores": cores,
        "python": py,
        "platform": platform.platform(),
        "summary": f"{cores} cores, Python {py}, commit {commit}"
        + (f" + uncommitted changes to {len(changed)} files in tui/" if changed else ""),
    }


def profile(what: str, size: int, feeds: Path, tmp: Path) -> None:
    """Run one measurement under cProfile and print where the time goes."""
    import pstats

    lib = copy_library(gen.generate_library(size, log=console.print), tmp / "lib")
    out = str(tmp / f"{what}.prof")
    if what == "scroll":  # the keys, then the typing, in the app's event-loop thread
        worker("app", str(lib), "profile:" + out)
        for path in (out, out + ".typing"):
            stats = pstats.Stats(path)
            stats.sort_stats("cumulative").print_stats(50)
            stats.sort_stats("tottime").print_stats(25)
        return
    if what == "migrate":
        old = copy_library(gen.previous_library(size, log=console.print), tmp / "old")
    args = {
        "migrate": ["migrate", str(old)] if what == "migrate" else [],
        "app": ["app", str(lib)],
        "paint": ["app", str(lib), "open"],
        "open": ["libopen", str(lib)],
        "query": ["query", str(lib), "diffusion"],
        "query-zh": ["query", str(lib), "扩散"],
        "search": ["searchstar", str(lib)],
        "star": ["searchstar", str(lib)],
        "import": ["import", str(lib), str(feeds)],
        "import-empty": ["import", "-", str(feeds)],
    }[what]
    worker(*args, cprofile=out)
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="add the 1,000,000-paper library")
    parser.add_argument(
        "--sizes", nargs="+", metavar="N", help="library sizes (e.g. 2000 10k 100k 1M)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each open measurement (median)"
    )
    parser.add_argument(
        "--profile",
        choices=(
            "app",
            "paint",
            "scroll",
            "open",
            "query",
            "query-zh",
            "search",
            "star",
            "import",
            "import-empty",
            "migrate",
        ),
        help="instead of the table: cProfile one measurement on the first size",
    )
    parser.add_argument(
        "--migrate",
        nargs="*",
        metavar="N",
        help="sizes at which to measure the migration of a library made by the previous "
        "engine (default: 100k when it is measured; none: no migration)",
    )
    parser.add_argument("--no-tmux", action="store_true", help="skip newsboat and papertui in tmux")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for text in args.sizes for s in text.split(",")] if args.sizes else []
    sizes = sizes or [10_000, TARGET_SIZE]
    if args.big and BIG_SIZE not in sizes:
        sizes.append(BIG_SIZE)
    if args.migrate is None:
        migrate = {TARGET_SIZE}
    else:
        migrate = {parse_size(s) for text in args.migrate for s in text.split(",")}

    started = time.monotonic()
    load = os.getloadavg()[0]
    if load > 0.7:
        console.print(
            f"[yellow]the machine is busy (load average {load:.1f}): figures will be noisy; "
            "the ratios to newsboat measured in the same run hold better[/yellow]"
        )
    feeds = gen.generate_feed(log=console.print)
    generated = {}
    for size in sizes:
        fresh = not (gen.library_path(size) / ".complete").exists()
        t = time.monotonic()
        gen.generate_library(size, log=console.print)
        if fresh:
            generated[str(size)] = time.monotonic() - t
            console.print(f"  generated in {generated[str(size)]:.0f} s")
    tmp = Path(tempfile.mkdtemp(prefix="papertui-bench-"))
    try:
        if args.profile:
            profile(args.profile, sizes[0], feeds, tmp)
            return 0
        results: dict[str, Any] = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "sizes": {},
            "generated_s": generated,
        }
        console.print(f"import: {gen.FEED_PAPERS:,} papers into an empty library…")
        try:
            results["import_empty"] = best_import(None, feeds, tmp)
        except RuntimeError as err:
            console.print(f"[red]import into an empty library: {err}[/red]")
        loads = [os.getloadavg()[0]]
        for size in sizes:
            console.print(f"measuring {size:,} papers…")
            t = time.monotonic()
            results["sizes"][str(size)] = measure_size(
                size, feeds, args.repeats, tmp, size in migrate, not args.no_tmux
            )
            console.print(f"  {size:,} papers measured in {time.monotonic() - t:.0f} s")
            loads.append(os.getloadavg()[0])
        results["machine"]["load_avg_1min"] = loads
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = build_rows(results)
    table = render_table(results, rows)
    console.print(table)
    results["rows"] = [
        {
            "measure": r.metric,
            "size": r.size,
            "value": r.value,
            "shown": r.shown,
            "previous": r.previous,
            "floor": r.floor,
            "ratio": r.ratio,
            "target": r.target,
            "verdict": r.verdict,
            "growth": r.growth,
            "detail": r.note,
        }
        for r in rows
    ]
    results["elapsed_s"] = time.monotonic() - started
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    with open(os.devnull, "w") as sink:
        text_console = Console(width=200, record=True, file=sink)
        text_console.print(table)
    (RESULTS / "latest.txt").write_text(text_console.export_text())
    console.print(
        f"[dim]{time.monotonic() - started:.0f} s; results in "
        f"{(RESULTS / 'latest.json').relative_to(HERE.parent)}[/dim]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
