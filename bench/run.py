"""papertui at scale: the benchmark of issue 4.

    python bench/run.py                 # 10,000 and 100,000 papers (about 5 minutes)
    python bench/run.py --big           # … and 1,000,000
    python bench/run.py --sizes 2000    # a quick smoke run
    python bench/run.py --profile app --sizes 100000   # cProfile one measurement

Generates synthetic libraries in the on-disk format (cached in bench/.cache/), measures import,
open, star, search, scroll and memory on each, together with their floors (orjson.loads of the
library's files; a naive one-file default-TinyDB library), prints one table and writes
bench/results/latest.json (and latest.txt, the table as text). Every measurement that depends on
the process (open, memory, the app) runs in a fresh process: see bench/worker.py.
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
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

WORKER = HERE / "worker.py"
RESULTS = HERE / "results"
TARGET_SIZE = 100_000
NA_APP = "n/a (app not available)"

console = Console()
if not console.is_terminal:
    console = Console(width=180)


# --------------------------------------------------------------------------- running workers
def worker(*args: str, cprofile: str | None = None) -> tuple[dict[str, Any], float, float]:
    """Run one worker task; its result, when it was started and when it exited (monotonic)."""
    cmd = [sys.executable, str(WORKER)]
    if cprofile:
        cmd += ["--cprofile", cprofile]
    cmd += list(args)
    os.sync()  # start from a quiet disk: no writeback of earlier runs' files competing
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    ended = time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"worker {args[0]} failed ({proc.returncode}):\n" + "\n".join(tail))
    return json.loads(lines[-1][len("RESULT ") :]), started, ended


def cli_stats(lib: Path) -> float:
    """Wall time of the `papertui stats` command, start to exit."""
    exe = Path(sys.executable).with_name("papertui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tui"]
    os.sync()
    started = time.monotonic()
    proc = subprocess.run(
        [*cmd, "stats", "--db", str(lib)], capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"papertui stats failed: {proc.stderr.strip()}")
    return elapsed


def copy_library(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".complete"))
    return dest


# --------------------------------------------------------------------------- measuring
def measure_size(size: int, feeds: Path, repeats: int, tmp: Path) -> dict[str, Any]:
    cached = gen.generate_library(size, log=console.print)
    lib = copy_library(cached, tmp / f"library-{size}")
    res: dict[str, Any] = {"papers": size, "disk_bytes": gen.disk_size(lib)}
    res["files"] = sum(len(files) for _d, _s, files in os.walk(lib))

    def step(name: str, fn: Any) -> None:
        """One measurement; a failure is reported in the table instead of ending the run."""
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - any failure is a figure we cannot give
            console.print(f"[red]{size:,} papers, {name}: {err}[/red]")
            res.setdefault("errors", {})[name] = str(err).splitlines()[0]

    def opening() -> None:
        # the floor, the app and the CLI, interleaved so noise hits all three alike
        worker("floor", str(lib))  # warm the page cache
        floors, floors_nogc, apps, stats = [], [], [], []
        for _ in range(repeats):
            r, t0, _t1 = worker("floor", str(lib))
            floors.append({"s": r["t_done"] - t0, "load_s": r["load_s"], "hwm_kb": r["hwm_kb"]})
            r, t0, _t1 = worker("floor", str(lib), "off")
            floors_nogc.append(r["t_done"] - t0)
            apps.append(app_run(lib, scroll=False))
            stats.append(cli_stats(lib))
        res["floor"] = {
            "s": statistics.median(f["s"] for f in floors),
            "load_s": statistics.median(f["load_s"] for f in floors),
            "hwm_kb": max(f["hwm_kb"] for f in floors),
            "gc_off_s": statistics.median(floors_nogc),
        }
        res["stats_s"] = statistics.median(stats)
        if all(a.get("available") for a in apps):
            res["app"] = summarise_app(apps, app_run(lib, scroll=True))
        else:
            res["app"] = {"available": False, "error": apps[0].get("error", "")}

    def libopen() -> None:
        r, t0, _t1 = worker("libopen", str(lib))
        r["to_open_s"] = r["t_done"] - t0
        res["libopen"] = r

    def searchstar() -> None:
        r, _t0, _t1 = worker("searchstar", str(lib))
        res["search"] = r["queries"]
        res["warm"] = {
            "s": r.get("warm_s"),
            "gc_s": r.get("warm_gc_s"),
            "indexed": r.get("indexed"),
        }
        res["scan_floor_s"] = r.get("scan_floor_s")
        res["star"] = r["star"]
        res["checkpoint"] = r.get("checkpoint")

    def naive() -> None:
        runs = 5 if size <= 20_000 else 3 if size <= 200_000 else 0
        res["naive"] = None  # at 1M: a multi-GB JSON file per star, skipped
        if runs:
            res["naive"], _t0, _t1 = worker("naive", str(lib), str(runs))

    def importing() -> None:
        res["import"] = best_import(cached, feeds, tmp)

    step("open", opening)
    step("libopen", libopen)
    step("search/star", searchstar)
    step("naive", naive)
    shutil.rmtree(lib, ignore_errors=True)
    step("import", importing)
    return res


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
    for key in ("open_s", "ready_s", "to_imported_s", "to_lib_s", "gc_s"):
        out[key] = statistics.median(r[key] for r in runs)
    out["hwm_kb"] = max(r["hwm_kb"] for r in [*runs, scrolled])
    out["rows"] = scrolled.get("rows")
    for key in (
        "scroll_noop",
        "scroll_down",
        "scroll_pagedown",
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
    ) -> None:
        self.metric, self.size, self.value, self.shown = metric, size, value, shown
        self.floor, self.ratio, self.target, self.ok, self.note = floor, ratio, target, ok, note
        self.lower_is_better = lower_is_better
        self.growth = ""
        self.verdict = ""


def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    sizes = list(results["sizes"].values())

    def each(fn: Any) -> None:
        for r in sizes:
            name = size_name(r["papers"])
            try:
                row = fn(r, name)
            except (KeyError, TypeError, ZeroDivisionError):  # that measurement failed
                errors = "; ".join(f"{k}: {v}" for k, v in r.get("errors", {}).items())
                label = fn.__name__.replace("_", " ")
                row = Row(f"({label})", name, None, "error", note=errors[:200])
            if row is not None:
                rows.append(row)

    # import
    empty = results.get("import_empty") or {}
    empty_rate = empty["papers"] / (empty["parse_s"] + empty["store_s"]) if empty else 0.0

    def import_detail(imp: dict[str, Any]) -> str:
        return (
            f"parse {fmt_s(imp['parse_s'])} + store {fmt_s(imp['store_s'])} "
            f"(GC {fmt_s(imp['parse_gc_s'] + imp['store_gc_s'])}); best of 2"
        )

    if empty:
        rows.append(
            Row(
                "import: 20k HF-text papers",
                "empty",
                empty_rate,
                fmt_rate(empty_rate),
                "",
                f"{empty_rate / 5000:.2f}× target",
                "≥ 5,000/s",
                empty_rate >= 5000,
                import_detail(empty),
                lower_is_better=False,
            )
        )
    else:
        rows.append(Row("import: 20k HF-text papers", "empty", None, "error"))

    def import_into(r: dict[str, Any], name: str) -> Row:
        imp = r["import"]
        rate = imp["papers"] / (imp["parse_s"] + imp["store_s"])
        same = rate / empty_rate if empty_rate else 1.0
        return Row(
            "import: 20k HF-text papers",
            f"into {name}",
            rate,
            fmt_rate(rate),
            f"empty: {fmt_rate(empty_rate)}",
            f"{same:.2f}× empty",
            "≥ 5,000/s and ≥ 0.8× empty",
            rate >= 5000 and same >= 0.8,
            import_detail(imp) + f"; library open first {fmt_s(imp['open_s'])}",
            lower_is_better=False,
        )

    each(import_into)

    # open
    def floor_text(r: dict[str, Any]) -> str:
        return f"orjson {fmt_s(r['floor']['s'])}"

    def open_app(r: dict[str, Any], name: str) -> Row:
        app, floor = r["app"], r["floor"]["s"]
        if not app.get("available"):
            return Row("open: app → list first paint", name, None, NA_APP)
        v = app["open_s"]
        return Row(
            "open: app → list first paint",
            name,
            v,
            fmt_s(v),
            floor_text(r),
            f"{v / floor:.2f}×",
            "≤ 1.5× floor and < 2 s",
            v <= 1.5 * floor and v < 2,
            f"modules imported at {fmt_s(app['to_imported_s'])}, library open at "
            f"{fmt_s(app['to_lib_s'])} (GC {fmt_s(app['gc_s'])}); median of "
            f"{len(app['runs'])}",
        )

    def open_stats(r: dict[str, Any], name: str) -> Row:
        v, floor = r["stats_s"], r["floor"]["s"]
        return Row(
            "open: `papertui stats` → exit",
            name,
            v,
            fmt_s(v),
            floor_text(r),
            f"{v / floor:.2f}×",
            "≤ 1.5× floor and < 2 s",
            v <= 1.5 * floor and v < 2,
            "whole command, start to exit",
        )

    def open_lib(r: dict[str, Any], name: str) -> Row:
        lo, floor = r["libopen"], r["floor"]
        v = lo["to_open_s"]
        return Row(
            "open: Library.open only",
            name,
            v,
            fmt_s(v),
            floor_text(r),
            f"{v / floor['s']:.2f}×",
            "(diagnostic)",
            None,
            f"Library.open {fmt_s(lo['open_s'])} (GC {fmt_s(lo['gc_s'])}); orjson floor "
            f"with GC off {fmt_s(floor['gc_off_s'])}; {r['files']} files",
        )

    each(open_app)
    each(open_stats)
    each(open_lib)

    # star
    def star(r: dict[str, Any], name: str) -> Row:
        st, naive = r["star"], r["naive"]
        v = st["median_s"]
        speed = naive["median_s"] / v if naive else None
        return Row(
            "star: set_state, fsynced",
            name,
            v,
            fmt_s(v),
            f"naive TinyDB {fmt_s(naive['median_s'])}" if naive else "naive: skipped",
            f"{speed:,.0f}× faster" if speed else "",
            "≤ 20 ms and ≥ 100× naive",
            v <= 0.020 and (speed is None or speed >= 100),
            f"median of 50; max {fmt_s(st['max_s'])}"
            + (f"; naive: median of {len(naive['runs'])}" if naive else ""),
        )

    first_bytes = sizes[0]["star"]["bytes_median"]

    def star_bytes(r: dict[str, Any], name: str) -> Row:
        b, naive = r["star"]["bytes_median"], r["naive"]
        return Row(
            "star: bytes written",
            name,
            b,
            fmt_b(b),
            f"naive {fmt_b(naive['bytes'])}" if naive else "",
            f"1/{naive['bytes'] / b:,.0f}" if naive else "",
            "independent of size",
            b <= 1.2 * first_bytes,
        )

    def checkpoint(r: dict[str, Any], name: str) -> Row | None:
        cp = r.get("checkpoint")
        if not cp:
            return None
        amortised = (r["star"]["bytes_median"] * 255 + cp["bytes"]) / 256
        return Row(
            "star: checkpointing star",
            name,
            cp["s"],
            fmt_s(cp["s"]),
            "",
            "",
            "(diagnostic)",
            None,
            f"1 star in 256 rewrites state.json: {fmt_b(cp['bytes'])} "
            f"({cp['states']:,} states); {fmt_b(amortised)}/star amortised",
        )

    each(star)
    each(star_bytes)
    each(checkpoint)

    # search
    for q in ("diffusion", "tag:video", "author:zhang"):

        def warm(r: dict[str, Any], name: str, q: str = q) -> Row:
            s = r["search"][q]
            v = s["median_s"]
            floor_txt, ratio = "", f"{v / 0.1:.2f}× target"
            if q == "diffusion" and r.get("scan_floor_s"):
                floor_txt = f"str.count {fmt_s(r['scan_floor_s'])}"
                ratio = f"{v / r['scan_floor_s']:.1f}× floor"
            return Row(
                f"search: '{q}' again",
                name,
                v,
                fmt_s(v),
                floor_txt,
                ratio,
                "≤ 100 ms",
                v <= 0.1,
                f"median of 5 repeats, no warm(): a CLI query's path; {s['hits']:,} hits",
            )

        def cold(r: dict[str, Any], name: str, q: str = q) -> Row:
            s = r["search"][q]
            v = s["cold_s"]
            return Row(
                f"search: '{q}' cold",
                name,
                v,
                fmt_s(v),
                "",
                f"{v / 0.1:.2f}× target",
                "≤ 100 ms",
                v <= 0.1,
                f"first query after Library.open (GC {fmt_s(s['cold_gc_s'])})",
            )

        def indexed(r: dict[str, Any], name: str, q: str = q) -> Row:
            label = f"search: '{q}' after warm()"
            found = (r.get("warm") or {}).get("indexed")
            if not found:
                return Row(label, name, None, "n/a (no Library.warm)")
            v = found[q]["median_s"]
            return Row(
                label,
                name,
                v,
                fmt_s(v),
                "",
                f"{v / 0.1:.2f}× target",
                "≤ 100 ms",
                v <= 0.1,
                "median of 5, once Library.warm() has built the indexes (the app's path)",
            )

        each(warm)
        each(cold)
        each(indexed)

    def warm_up(r: dict[str, Any], name: str) -> Row:
        w = r.get("warm") or {}
        v = w.get("s")
        if v is None:
            return Row("search: Library.warm()", name, None, "n/a")
        return Row(
            "search: Library.warm()",
            name,
            v,
            fmt_s(v),
            "",
            "",
            "(diagnostic)",
            None,
            f"reads every body, builds the indexes (GC {fmt_s(w.get('gc_s'))}); the app runs "
            "it in a worker after the first paint",
        )

    each(warm_up)

    # search in the app
    for key, label in (
        ("first", "search: app, typed 'diffusion'"),
        ("again", "search: app, then 'retrieval'"),
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
                f"{(v - debounce) / 0.1:.2f}× target",
                "≤ debounce + 100 ms",
                v is not None and v <= debounce + 0.1,
                "last keystroke → results listed"
                + (" (the session's first search)" if key == "first" else "")
                + f"; {typing[f'{key}_rows']:,} rows",
            )

        each(typed)

    def stall(r: dict[str, Any], name: str) -> Row:
        app = r["app"]
        typing = app.get("typing") if app.get("available") else None
        if not typing:
            return Row("search: app, UI stall typing", name, None, "n/a")
        v = typing["max_stall_s"]
        return Row(
            "search: app, UI stall typing",
            name,
            v,
            fmt_s(v),
            "",
            f"{v / 0.1:.2f}× target",
            "never blocks (< 100 ms)",
            v < 0.1,
            f"longest event-loop delay while typing both and searching; "
            f"p99 {fmt_s(typing['p99_stall_s'])}",
        )

    each(stall)

    # scroll
    for key, label in (("down", "scroll: down ×100"), ("pagedown", "scroll: pagedown ×20")):

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
                f"one key at a time, event-loop CPU incl. repaint and detail pane, after the "
                f"background warm-up; worst key {fmt_s(data['max_s'])}; held key "
                f"{fmt_s(data.get('held_per_key_s'))}/key"
                + (
                    f"; during the warm-up {fmt_s(early['per_key_s'])}/key"
                    if (early := app.get("scroll_warmup_down")) and key == "down"
                    else ""
                )
                + f"; {app.get('rows') or 0:,} rows listed",
            )

        each(scroll)

    # memory
    def mem_app(r: dict[str, Any], name: str) -> Row:
        app, disk = r["app"], r["disk_bytes"]
        if not app.get("available"):
            return Row("memory: app peak RSS", name, None, NA_APP)
        v = app["hwm_kb"] * 1024
        return Row(
            "memory: app peak RSS",
            name,
            v,
            fmt_b(v),
            f"on disk {fmt_b(disk)}",
            f"{v / disk:.2f}×",
            "≤ 4× disk",
            v <= 4 * disk,
            "VmHWM after first paint, scrolling and two searches",
        )

    def mem_lib(r: dict[str, Any], name: str) -> Row:
        lo, disk = r["libopen"], r["disk_bytes"]
        v = lo["hwm_kb"] * 1024
        after = lo["hwm_after_search_kb"] * 1024
        return Row(
            "memory: Library.open RSS",
            name,
            v,
            fmt_b(v),
            f"on disk {fmt_b(disk)}",
            f"{v / disk:.2f}×",
            "(diagnostic)",
            None,
            f"{fmt_b(after)} ({after / disk:.2f}×) after a word search; "
            f"orjson floor process {fmt_b(r['floor']['hwm_kb'] * 1024)}",
        )

    each(mem_app)
    each(mem_lib)

    # growth and verdicts
    previous: dict[str, Row] = {}
    target_name = size_name(TARGET_SIZE)
    for row in rows:
        prev = previous.get(row.metric)
        if prev and prev.value and row.value:
            g = row.value / prev.value
            row.growth = f"×{g:.1f}" if g >= 0.95 or row.lower_is_better else f"×{g:.2f}"
        if row.value is not None and not row.size.startswith("empty"):
            previous[row.metric] = row
        if row.ok is None:
            row.verdict = ""
        elif row.size in (target_name, f"into {target_name}", "empty"):
            row.verdict = "PASS" if row.ok else "MISS"
        else:
            row.verdict = "(ok)" if row.ok else "(over)"
    return rows


def render_table(results: dict[str, Any], rows: list[Row]) -> Table:
    sizes = ", ".join(size_name(r["papers"]) for r in results["sizes"].values())
    table = Table(
        title=f"papertui at scale — {sizes} papers ({results['machine']['summary']})",
        caption="Targets apply at 100k (issue 4); other sizes show (ok)/(over) against the same "
        "target. growth = this size ÷ the previous size. Load average (1 min) before/after each "
        "size: " + ", ".join(f"{x:.1f}" for x in results["machine"].get("load_avg_1min", [])),
        show_lines=False,
        header_style="bold",
    )
    for name, kw in (
        ("measure", {"no_wrap": True}),
        ("size", {"no_wrap": True}),
        ("value", {"justify": "right", "no_wrap": True}),
        ("floor / baseline", {}),
        ("ratio", {"justify": "right"}),
        ("target @100k", {}),
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
    args = {
        "app": ["app", str(lib)],
        "open": ["libopen", str(lib)],
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
        choices=("app", "scroll", "open", "search", "star", "import", "import-empty"),
        help="instead of the table: cProfile one measurement on the first size",
    )
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for text in args.sizes for s in text.split(",")] if args.sizes else []
    sizes = sizes or [10_000, TARGET_SIZE]
    if args.big and 1_000_000 not in sizes:
        sizes.append(1_000_000)

    started = time.monotonic()
    load = os.getloadavg()[0]
    if load > 0.7:
        console.print(
            f"[yellow]the machine is busy (load average {load:.1f}): figures will be noisy; "
            "the ratios to floors measured in the same run hold better[/yellow]"
        )
    feeds = gen.generate_feed(log=console.print)
    for size in sizes:
        gen.generate_library(size, log=console.print)
    tmp = Path(tempfile.mkdtemp(prefix="papertui-bench-"))
    try:
        if args.profile:
            profile(args.profile, sizes[0], feeds, tmp)
            return 0
        results: dict[str, Any] = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "sizes": {},
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
            results["sizes"][str(size)] = measure_size(size, feeds, args.repeats, tmp)
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
