"""The first frame drawn before Textual is imported (`tui.prepaint`).

Two oracles: the app's own first frame (run headless at the same size, captured when the app
says its first screen is painted), compared cell by cell with the pre-painted one; and the
real `python -m tui` process on a pseudo-terminal, whose output, terminal settings and
behaviour with keys and signals are read from the other side of the pty. A gate
(``sitecustomize`` on the child's path) holds the child's import of Textual until the test
opens it, so "typed before Textual starts" and "interrupted during the start" are certain,
not a race.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from tui import prepaint
from tui.app import make_app
from tui.library import Library

from .conftest import ROOT
from .test_app_hostile import UNSAFE, hostile_library
from .test_store_integrity import read_only

Cell = tuple[str, Any, Any, bool, bool, bool]


def cells(segments: list[tuple[str, Style | None]]) -> list[Cell]:
    """A line as cells: the character and what a terminal shows of its style."""
    out: list[Cell] = []
    for text, style in segments:
        st = style or Style()
        look = (st.color, st.bgcolor, bool(st.bold), bool(st.italic), bool(st.reverse))
        for ch in text:
            out.append((ch, *look))
            if cell_len(ch) == 2:
                out.append(("", *look))
    return out


async def app_first_frame(lib: Library, size: tuple[int, int]) -> list[list[Cell]]:
    """The app's first frame, as its compositor renders it for the terminal."""
    frame: list[list[Cell]] = []
    app = make_app(library=lib)
    first_paint_done = app._first_paint_done

    def capture() -> None:
        update = app.screen._compositor.render_update(full=True)
        for line in update.strips:
            segments: list[Segment] = [seg for strip in line for seg in strip]
            frame.append(cells([(seg.text, seg.style) for seg in segments]))
        first_paint_done()

    app._first_paint_done = capture  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
    assert frame, "the app never said its first screen was painted"
    return frame


def shaped_library(tmp_path: Path) -> Library:
    """Hostile titles, and rows in the states the inbox draws: starred, tagged."""
    lib, _pids = hostile_library(tmp_path)
    first = list(lib.query("is:unread", sort="feed_date", reverse=True)[:6])
    lib.set_state([first[2]], "star", starred=True)
    lib.set_state([first[3]], "tag", add_tags=["survey", "evil\x1b[2Jtag"])
    return lib


@pytest.mark.parametrize(
    ("size", "color"),
    [((120, 35), ""), ((80, 24), ""), ((101, 20), ""), ((120, 35), "magenta"), ((80, 24), "cyan")],
)
async def test_the_prepainted_frame_is_the_apps_first_frame(
    tmp_path: Path, size: tuple[int, int], color: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (a watch rule whose tag one row holds: that row has the watch mark, ◆, in the rule's
    # colour when it has one; a rule before it, of a tag no row holds, has another colour)
    config = tmp_path / "config.toml"
    rule = '[[watch]]\nname = "s"\nwords = ["zzqq"]\ntag = "Survey"\n'
    if color:
        other = '[[watch]]\nname = "o"\nwords = ["zzqq"]\ntag = "other"\ncolor = "green"\n'
        rule = other + rule + f'color = "{color}"\n'
    config.write_text(rule)
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    lib = shaped_library(tmp_path)
    width, height = size
    ours = [cells(line) for line in prepaint.first_frame(lib, width, height) or []]
    theirs = await app_first_frame(lib, size)
    assert len(ours) == len(theirs) == height
    assert all(len(line) == width for line in ours)
    x, y, pane_width, pane_height = prepaint.list_region(width, height)
    assert ours[0] == theirs[0]  # the status line
    for line in range(y, y + pane_height):  # the list pane, border and title included
        assert ours[line][x : x + pane_width] == theirs[line][x : x + pane_width], line
    # Elsewhere the pre-paint is blank, on the background the app's first frame has there.
    for line in range(1, height):
        for col in range(width):
            if y <= line < y + pane_height and x <= col < x + pane_width:
                continue
            assert ours[line][col][0] == " "
            assert ours[line][col][2] == theirs[line][col][2], (line, col)
    text = "".join(ch for line in ours for ch, *_ in line)
    assert not UNSAFE.search(text)
    assert "★" in text and "◆" in text and "T0 [/] end" in text
    assert "#survey" in text if width != 101 else "#…" in text  # (a narrow pane: tags cut)
    marks = [cell for line in theirs for cell in line if cell[0] == "◆"]
    assert len(marks) == 1  # (on a row below the cursor's)
    expected = {"": "#ffc473", "magenta": "#ff5fff", "cyan": "#5fd7ff"}[color]
    assert marks[0][1].triplet.hex == expected  # (the app's: checked against the palette)


async def test_a_read_only_library_is_prepainted_as_the_app_shows_it(
    sample_library: Library,
) -> None:
    root = sample_library.root
    with read_only(root):
        lib = Library.open(root)
        assert lib.read_only
        ours = [cells(line) for line in prepaint.first_frame(lib, 120, 35) or []]
        theirs = await app_first_frame(lib, (120, 35))
    assert "read-only" in "".join(ch for ch, *_ in ours[0])
    assert ours[0] == theirs[0]
    x, y, pane_width, pane_height = prepaint.list_region(120, 35)
    for line in range(y, y + pane_height):  # (the app's toast about it is beside the list)
        assert ours[line][x : x + pane_width] == theirs[line][x : x + pane_width], line


def test_the_encoded_frame_draws_feed_escapes_inert(tmp_path: Path) -> None:
    lib = shaped_library(tmp_path)
    lines = prepaint.first_frame(lib, 120, 35)
    assert lines is not None
    for system in ("truecolor", "256", "standard", None):
        output = prepaint.encode(lines, system)
        # Every escape sequence is a colour (SGR) or a move to a line's start (CUP): none
        # comes from a title or a tag.
        rest = re.sub(r"\x1b\[[0-9;]*m|\x1b\[[0-9]+;1H", "", output)
        assert not UNSAFE.search(rest), system
        assert "#survey #" in rest and "T0 [/] end" in rest  # (the tags cut to fit)


def test_no_prepaint_where_the_app_would_look_otherwise(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "empty")
    assert prepaint.first_frame(lib, 120, 35) is None  # an empty view: the app's own text
    env = {"TERM": "xterm-256color"}
    for extra in (
        {"PAPERTUI_NO_PREPAINT": "1"},
        {"NO_COLOR": "1"},
        {"TEXTUAL_THEME": "nord"},
        {"TEXTUAL_FILTERS": "dim"},
        {"TERM": "dumb"},
    ):
        assert not prepaint.wanted({**env, **extra}), extra


# ---------------------------------------------------------------------------- a real terminal
GATE = '''
import importlib.abc, os, sys, time

class Gate(importlib.abc.MetaPathFinder):
    """Holds the import of PAPERTUI_TEST_GATE_MODULE (textual) until the file
    PAPERTUI_TEST_GATE exists; its content "fail" makes the import fail as a broken install
    would."""

    def find_spec(self, name, path=None, target=None):
        if name != os.environ.get("PAPERTUI_TEST_GATE_MODULE", "textual"):
            return None
        gate = os.environ["PAPERTUI_TEST_GATE"]
        open(gate + ".reached", "w").close()  # (the test may act while the import waits)
        deadline = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.005)
        sys.meta_path.remove(self)
        if open(gate).read() == "fail":
            raise RuntimeError("textual is broken (test)")
        return None

sys.meta_path.insert(0, Gate())
'''


class Terminal:
    """`python -m tui --db LIB` on a pseudo-terminal of ``size``, its controlling terminal,
    with the import of ``gated`` (Textual) held by the gate until `open_gate`."""

    def __init__(
        self,
        tmp_path: Path,
        lib: Path,
        size: tuple[int, int] = (100, 30),
        gated: str = "textual",
        argv: tuple[str, ...] | None = None,
    ) -> None:
        site = tmp_path / "gate"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(GATE)
        self.gate = tmp_path / "gate-open"
        self.master, self.slave = os.openpty()
        width, height = size
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NO_COLOR", "TEXTUAL_THEME", "PAPERTUI_NO_PREPAINT", "COLUMNS")
        }
        env.update(
            TERM="xterm-256color",
            COLORTERM="truecolor",
            PYTHONPATH=f"{site}{os.pathsep}{ROOT}",
            PAPERTUI_TEST_GATE=str(self.gate),
            PAPERTUI_TEST_GATE_MODULE=gated,
        )
        env.pop("LINES", None)
        slave = self.slave

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", *(argv if argv is not None else ("--db", str(lib)))],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=tmp_path,
            preexec_fn=controlling_terminal,  # noqa: PLW1509 - (no threads here)
        )
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = 60) -> int:
        """Read until ``needle`` is in the output; its offset. Fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} never came; output: {self.output[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the child is gone and so is the output
                    assert needle in self.output, f"{needle!r} never came"
        return self.output.index(needle)

    def drain(self) -> None:
        while select.select([self.master], [], [], 0.05)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def open_gate(self, content: str = "") -> None:
        self.gate.write_text(content)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self) -> int:
        deadline = time.monotonic() + 60
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, "the app did not end"
            self.drain()
        self.drain()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def first_title(lib: Library) -> bytes:
    """The beginning of the first row's title, as the terminal receives it."""
    paper = lib.raw(lib.query("is:unread", sort="feed_date", reverse=True)[0])
    return (paper.get("title") or paper["title_zh"])[:8].encode()


@pytest.fixture
def terminal(tmp_path: Path, sample_library: Library):
    opened: list[Terminal] = []

    def start(size: tuple[int, int] = (100, 30), **options: Any) -> Terminal:
        term = Terminal(tmp_path, sample_library.root, size, **options)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_the_list_is_on_screen_before_textual_and_a_key_typed_meanwhile_counts(
    terminal: Any, sample_library: Library
) -> None:
    title = first_title(sample_library)
    term = terminal()
    painted = term.read_until(title)
    end_of_frame = term.read_until(b"\x1b[?2026l")
    assert term.output.index(b"\x1b[?1049h") < painted
    assert termios.tcgetattr(term.slave)[3] & (termios.ECHO | termios.ICANON) == 0
    term.type(b"j")  # typed while Textual is not even imported
    term.drain()
    term.open_gate()
    mouse = term.read_until(b"\x1b[?1000h")
    assert painted < mouse
    # Nothing echoed: after the frame, the next output is Textual's.
    assert term.output[end_of_frame:].startswith(b"\x1b[?2026l\x1b[?1049h")
    term.read_until(b" 2 of ")  # the app moved the cursor: the key was not lost
    term.type(b"q")
    assert term.wait() == 0
    assert termios.tcgetattr(term.slave) == term.before
    assert term.output.rindex(b"\x1b[?1049l") > mouse


def test_keys_typed_while_the_library_modules_load_are_not_echoed_and_still_count(
    terminal: Any, sample_library: Library, tmp_path: Path
) -> None:
    """Seen in tmux: "jjjs" typed right after `papertui` showed on the screen for the
    0.2 s before the frame. The terminal is quiet before papertui's library is imported."""
    term = terminal(gated="tui.library")
    reached = Path(str(term.gate) + ".reached")
    deadline = time.monotonic() + 60
    while not reached.exists():
        assert time.monotonic() < deadline, "the library's import never started"
        time.sleep(0.01)
    term.type(b"jj")
    term.drain()
    assert termios.tcgetattr(term.slave)[3] & termios.ECHO == 0
    assert b"jj" not in term.output  # (the kernel echoes at once when ECHO is on)
    term.open_gate()
    term.read_until(b" 3 of ")  # both keys moved the app's cursor
    term.type(b"q")
    assert term.wait() == 0
    assert termios.tcgetattr(term.slave) == term.before


def test_escape_then_a_digit_arriving_together_are_both_keys(
    terminal: Any, sample_library: Library
) -> None:
    """Found by a newcomer over a slow link: Esc then 3 (one write: ESC 3) did not change
    the view; Textual read it as macOS's Option+3 (£)."""
    term = terminal()
    term.read_until(first_title(sample_library))
    term.open_gate()
    term.read_until(b"\x1b[?1000h")  # (Textual runs)
    term.read_until(b" of ")
    term.type(b"\x1b3")
    term.read_until(b"All: ")  # the view's toast: the 3 was a key
    term.type(b"q")
    assert term.wait() == 0


def test_a_failing_start_leaves_the_terminal_as_it_was(
    terminal: Any, sample_library: Library
) -> None:
    term = terminal()
    term.read_until(first_title(sample_library))
    term.open_gate("fail")
    assert term.wait() == 1
    tail = term.output[term.output.index(b"\x1b[?2026l") :]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail
    assert b"textual is broken (test)" in tail.split(b"\x1b[?1049l")[1]  # on the main screen
    assert termios.tcgetattr(term.slave) == term.before


@pytest.mark.parametrize("how", ["ctrl-c", "SIGHUP", "SIGTERM"])
def test_interrupted_during_the_start(terminal: Any, sample_library: Library, how: str) -> None:
    term = terminal((80, 24))
    term.read_until(first_title(sample_library))
    if how == "ctrl-c":
        term.type(b"\x03")
    else:
        os.kill(term.proc.pid, getattr(signal, how))
    status = term.wait()
    assert status == {"ctrl-c": 130, "SIGHUP": 129, "SIGTERM": 143}[how]
    tail = term.output[term.output.index(b"\x1b[?2026l") :]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail
    assert b"\x1b[?1000h" not in term.output  # (Textual never started)
    assert termios.tcgetattr(term.slave) == term.before


def test_the_list_is_on_screen_before_the_cli_is_even_imported(
    terminal: Any, sample_library: Library
) -> None:
    """`papertui --db LIB` draws the frame from `tui.start`, before `tui.launch` (Rich's
    console, the app's modules) is imported; it then runs the app on that library."""
    term = terminal(gated="tui.launch")
    painted = term.read_until(first_title(sample_library))  # tui.launch still held at the gate
    term.open_gate()
    assert painted < term.read_until(b"\x1b[?1000h")
    term.type(b"q")
    assert term.wait() == 0
    assert termios.tcgetattr(term.slave) == term.before


def test_ctrl_c_before_the_cli_is_imported(terminal: Any, sample_library: Library) -> None:
    term = terminal((80, 24), gated="tui.launch")
    term.read_until(first_title(sample_library))
    term.type(b"\x03")
    assert term.wait() == 130
    tail = term.output[term.output.index(b"\x1b[?2026l") :]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail
    assert b"Traceback" not in term.output
    assert termios.tcgetattr(term.slave) == term.before


@pytest.mark.parametrize("case", ["a file", "blank"])
def test_a_library_that_cannot_open_early_is_the_clis_to_report(
    terminal: Any, tmp_path: Path, case: str
) -> None:
    """No frame, and the CLI's own one-line error, for a --db the start path cannot open."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    given = {"a file": str(a_file), "blank": " "}[case]
    term = terminal(argv=("--db", given))
    term.open_gate()
    assert term.wait() == 1
    assert b"\x1b[?1049h" not in term.output  # nothing drawn, no alternate screen
    shown = term.output.decode(errors="replace")
    assert {
        "a file": "is a file, not a papertui library",
        "blank": "--db is blank",
    }[case] in shown, shown
    assert a_file.read_text() == "mine\n"
    assert termios.tcgetattr(term.slave) == term.before
