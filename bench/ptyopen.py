"""The open as a user sees it: `papertui --db LIB` on a pseudo-terminal, process start → the
first paper's title in the terminal's output.

    python bench/ptyopen.py LIB [RUNS]     # prints the runs with and without the pre-paint

The terminal is 120 × 35, TERM=xterm-256color, COLORTERM=truecolor. Each run records, from
the moment the process is started: the first title in the output (``title_s``: the pre-painted
frame, or the app's own first frame when PAPERTUI_NO_PREPAINT=1), Textual taking the terminal
(``textual_s``: its mouse-enable sequence), the app's first frame (``app_s``: the detail
pane's title, which only the app draws), the process's CPU time when the title came
(``cpu_title_s``, from /proc: 10 ms steps) and from its start to its exit after `q`
(``cpu_s``). The app writes to the library on open (the session it notes):
give it a copy.
"""

from __future__ import annotations

import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIZE = (120, 35)
MOUSE = b"\x1b[?1000h"
APP_FRAME = b" Paper "  # the detail pane's border title: drawn by the app only


def first_title(lib: Path, python: str = sys.executable) -> bytes:
    """The beginning of the title the app lists first (inbox: unread, newest first)."""
    code = (
        "import sys; from tui.library import Library; lib = Library.open(sys.argv[1]); "
        "p = lib.raw(lib.query('is:unread', sort='feed_date', reverse=True)[0]); "
        "sys.stdout.buffer.write((p.get('title') or p.get('title_zh') or '')[:16].encode())"
    )
    out = subprocess.run([python, "-c", code, str(lib)], capture_output=True, check=True)
    return out.stdout


def cpu_time(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far, in seconds (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    lib: Path,
    title: bytes,
    *,
    prepaint: bool = True,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    timeout: float = 120,
) -> dict[str, Any]:
    """One open of the app on ``lib`` in a pty; the times above (seconds), then quit."""
    master, slave = os.openpty()
    width, height = SIZE
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    environ = {
        k: v
        for k, v in (env or os.environ).items()
        if k not in ("NO_COLOR", "TEXTUAL_THEME", "COLUMNS", "LINES", "PAPERTUI_NO_PREPAINT")
    }
    environ.update(TERM="xterm-256color", COLORTERM="truecolor")
    if not prepaint:
        environ["PAPERTUI_NO_PREPAINT"] = "1"

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    output = b""
    marks: dict[str, float] = {}
    wanted = {"title_s": title, "textual_s": MOUSE, "app_s": APP_FRAME}
    started = time.monotonic()
    proc = subprocess.Popen(
        [python, "-m", "tui", "--db", str(lib)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environ,
        preexec_fn=controlling_terminal,  # noqa: PLW1509 - (no threads here)
    )
    try:
        while set(wanted) - set(marks):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"no {set(wanted) - set(marks)} after {timeout} s")
            if select.select([master], [], [], 0.5)[0]:
                output += os.read(master, 1 << 16)
                now = time.monotonic() - started
                for key, needle in wanted.items():
                    if key not in marks and needle in output:
                        marks[key] = now
                        if key == "title_s":
                            marks["cpu_title_s"] = cpu_time(proc.pid)
        time.sleep(0.3)  # (the app settles: its background warm-up is not the open)
        os.write(master, b"q")
        usage = None
        while usage is None and time.monotonic() - started < timeout:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage, proc.returncode = rusage, os.waitstatus_to_exitcode(status)
            elif select.select([master], [], [], 0.05)[0]:
                os.read(master, 1 << 16)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
        os.close(slave)
    result = dict(marks)
    result["title_before_textual"] = output.index(title) < output.index(MOUSE)
    if usage is not None:
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def compare(lib: Path, runs: int, **options: Any) -> dict[str, Any]:
    """``runs`` opens with the pre-paint and as many without, interleaved; the medians."""
    title = first_title(lib, options.get("python", sys.executable))
    run(lib, title, **options)  # warm the page cache
    out: dict[str, list[dict[str, Any]]] = {"prepaint": [], "plain": []}
    for _ in range(runs):
        out["prepaint"].append(run(lib, title, prepaint=True, **options))
        out["plain"].append(run(lib, title, prepaint=False, **options))
    return {
        kind: {
            **{
                key: statistics.median(r[key] for r in rs if key in r)
                for key in ("title_s", "cpu_title_s", "textual_s", "app_s", "cpu_s")
                if any(key in r for r in rs)
            },
            "title_before_textual": all(r["title_before_textual"] for r in rs),
            "runs": rs,
        }
        for kind, rs in out.items()
    }


if __name__ == "__main__":
    library = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sys.path.insert(0, str(HERE))
    from run import compiled_env  # (the bench's processes run from bytecode)

    print("load", os.getloadavg())
    results = compare(library, count, env=compiled_env(PYTHONPATH=str(HERE.parent)))
    for kind, res in results.items():
        for r in res["runs"]:
            shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            print(kind, shown)
        print(kind, "median", {k: round(v, 3) for k, v in res.items() if isinstance(v, float)})
    print("load", os.getloadavg())
