"""The app's first frame, drawn before Textual is imported.

Importing Textual takes ~0.4 s of CPU on a small machine, longer than the rest of papertui's
start. So when `papertui` opens the app on a real terminal, the CLI first draws what the
app's first frame will show of the list: the status line and the list pane, with the same
rows, columns, border and title, in the same colours (the default theme's, `PALETTE`), the
other panes left blank. Textual's first frame then replaces it in place: Textual enters the
alternate screen (already entered: nothing moves) and does not clear the screen before it
draws.

Until Textual takes the terminal over, the terminal is in no-echo, non-canonical mode, so
keys typed meanwhile are neither echoed nor lost (Textual reads them once it starts; its
`tcsetattr` keeps the typeahead). Every way out restores the terminal as it was: `restore`
(run by the CLI in a ``finally``) puts the termios settings back and, unless Textual had
started (it leaves the alternate screen itself), leaves the alternate screen and shows the
cursor. SIGHUP and SIGTERM during the start raise `SystemExit` so that restore runs; Ctrl-C
raises KeyboardInterrupt as before.

Off where the app's first frame would not look like this one: ``PAPERTUI_NO_PREPAINT=1``,
a dumb terminal, NO_COLOR, a Textual theme, driver or filter chosen by environment
variable, a terminal too small, an empty view. Feed text is cleaned as the list cleans it
(`tui.frame.row_parts`): no escape sequence of a title reaches the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.style import Style

from .frame import (
    FIRST_SORT,
    FIRST_VIEW,
    ROW_PARTS,
    VIEWS,
    StatusInfo,
    row_parts,
    sort_label,
    split_part,
    status_parts,
    tint,
)
from .library.sqlquery import Head

if TYPE_CHECKING:
    from .library import Library
    from .tty import Saved

OFF = "PAPERTUI_NO_PREPAINT"  # set to 1 (any value but "" and "0"): no pre-painted frame
NARROW_WIDTH = 100  # the app's (tui.app): below this the panes stack
MIN_SIZE = (40, 8)  # a smaller terminal gets no pre-paint (the app's panes squeeze there)

# The colours of the default theme (textual-dark) as the app draws its first frame: each
# is a Rich style. tests/test_prepaint.py compares the whole pre-painted frame, cell by cell,
# with the app's own first frame; a change of theme or stylesheet shows there.
PALETTE: dict[str, str] = {
    # the list's rows: "row:PART" (rows) and "cursor:PART" (the highlighted row, focused)
    "row:": "#e0e0e0 on #1e1e1e",
    "row:selected": "bold #fea62b on #1e1e1e",
    "row:marker": "#ffc473 on #1e1e1e",
    "row:star": "#ffc473 on #1e1e1e",
    "row:watch": "#ffc473 on #1e1e1e",
    "row:date": "#a5a5a5 on #1e1e1e",
    "row:tags": "#5684a5 on #1e1e1e",
    "row:badge": "#57a5e2 on #1e1e1e",
    "row:count": "#a5a5a5 on #1e1e1e",
    "row:unread": "bold #e0e0e0 on #1e1e1e",
    "row:read": "#a5a5a5 on #1e1e1e",
    **{f"cursor:{part}": "bold #ddedf9 on #0178d4" for part in ("", *ROW_PARTS)},
    # the list's own scrollbar cell, its focused border and title, the empty panes
    "bar:thumb": "#e0e0e0 on #003054",
    "bar:track": "#e0e0e0 on #000000",
    "bar:none": "#e0e0e0 on #1e1e1e",
    "border": "#0178d4 on #1e1e1e",
    "title": "bold #ffc473 on #1e1e1e",
    "surface": "on #1e1e1e",
    "footer": "on #242f38",
    # the status line: its parts' Textual styles (`tui.frame.status_parts`)
    "": "#e0e0e0 on #242f38",
    "bold": "bold #e0e0e0 on #242f38",
    "bold reverse $text-accent": "bold reverse #ffc473 on #242f38",
    "$text-muted": "#ffffff on #242f38",
    "$text-warning": "#ffc473 on #242f38",
    "bold $text-error": "bold #d17e92 on #242f38",
}

Line = list[tuple[str, Style]]


def wanted(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether the first frame may be pre-painted: stdin, stdout and stderr (where Textual
    draws) are terminals, and nothing in ``environ`` makes the app's first frame look
    otherwise (see the module's docstring)."""
    if environ.get(OFF, "") not in ("", "0"):
        return False
    if environ.get("TERM", "").lower() in ("", "dumb", "unknown"):
        return False
    if "NO_COLOR" in environ or environ.get("TEXTUAL_FILTERS") or environ.get("TEXTUAL_DRIVER"):
        return False
    if environ.get("TEXTUAL_THEME", "textual-dark") != "textual-dark":
        return False
    try:
        import termios  # noqa: F401 - (not on Windows)

        streams = (sys.__stdin__, sys.stdout, sys.__stderr__)
        return all(stream is not None and stream.isatty() for stream in streams)
    except (ImportError, AttributeError, ValueError):
        return False


def list_region(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the app lays out the list pane, border included, on a ``width`` × ``height``
    terminal: (x, y, pane width, pane height) in cells. Below the status line; beside the
    other panes (half the width) from NARROW_WIDTH columns, above them (60% of the height
    between the status line and the footer) below it."""
    main = height - 2  # the status line above, the footer below
    if width < NARROW_WIDTH:
        return 0, 1, width, main * 3 // 5
    return 0, 1, width // 2, main


def first_frame(
    library: Library,
    width: int,
    height: int,
    styles: Callable[[str], Style] | None = None,
) -> list[Line] | None:
    """The app's first frame of ``library`` on a ``width`` × ``height`` terminal as it is
    pre-painted: one list of (text, style) segments a screen line, each ``width`` cells;
    None when there is nothing to pre-paint (a view with no papers, a tiny terminal).

    The status line and the list pane (the app's first view and sort, the cursor on the
    first row, the pane focused) as the app draws them; the other panes and the footer
    blank in their background colours. ``styles`` maps a `PALETTE` name to a style."""
    style = styles or _style
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return None
    view = VIEWS[FIRST_VIEW]
    ids = library.query(view.query, sort=FIRST_SORT, reverse=FIRST_SORT != "title")
    total = len(ids)
    if not total:
        return None
    x, y, pane_width, pane_height = list_region(width, height)
    rows = pane_height - 2
    row_width = pane_width - 3  # inside the border, less the scrollbar's cell
    shown = list(ids[: min(rows, total)])
    if len(shown) > 1:
        with contextlib.suppress(KeyError):  # (each row then says why on its own)
            library.rows(shown)
    # (the config is read only when a row has tags: the watch rules' mark the app draws)
    tagged = any(library.raw_state(pid).get("tags") for pid in shown)
    watched = library.watched_tags() if tagged else frozenset()
    colors = library.watch_colors() if tagged else {}
    counts = library.counts()
    info = StatusInfo(
        view=view.name,
        shown=total,
        counting=isinstance(ids, Head),
        cursor=0,
        total=counts["papers"],
        unread=counts["unread"],
        starred=counts["starred"],
        sort=sort_label(FIRST_SORT),
        read_only=library.read_only,
    )
    status, _left = status_parts(info, width)
    lines: list[Line] = [[(text, style(part)) for text, part in status]]

    border = style("border")
    title = f" {view.name} "
    top = [("╭─", border), (title, style("title"))]
    top.append(("─" * (pane_width - 3 - cell_len(title)) + "╮", border))
    bottom = [("╰" + "─" * (pane_width - 2) + "╯", border)]
    thumb = (0, max(1, rows * rows // total)) if total > rows else (0, 0)
    body: list[Line] = []
    for index in range(rows):
        bar = "none" if thumb == (0, 0) else "thumb" if index < thumb[1] else "track"
        if index < len(shown):
            pid = shown[index]
            kind = "cursor:" if index == 0 else "row:"
            parts, length = row_parts(
                library.raw(pid),
                library.raw_state(pid),
                row_width,
                False,
                watched=watched,
                colors=colors,
            )
            row = [(text, _part_style(style, kind, part)) for text, part in parts]
            if length < row_width:
                row.append((" " * (row_width - length), style(kind)))
        else:
            row = [(" " * row_width, style("row:"))]
        body.append([("│", border), *row, (" ", style("bar:" + bar)), ("│", border)])

    surface, rest = style("surface"), width - x - pane_width
    pane = [top, *body, bottom]
    for line_no in range(1, height - 1):
        line: Line = []
        if line_no - y < len(pane):
            line += pane[line_no - y]
            if rest:
                line.append((" " * rest, surface))
        else:
            line.append((" " * width, surface))
        lines.append(line)
    lines.append([(" " * width, style("footer"))])
    return lines


def _style(name: str) -> Style:
    return Style.parse(PALETTE[name])


def _part_style(style: Callable[[str], Style], kind: str, name: str) -> Style:
    """A row part's style: a watch rule's colour (`tui.frame.split_part`) over the part's,
    as the app draws it on textual-dark; on the cursor's row the cursor's colours win."""
    part, color = split_part(name)
    if color and kind == "row:":
        return style(kind + part) + Style(color=tint(color, dark=True))
    return style(kind + part)


def encode(lines: list[Line], color_system: str | None) -> str:
    """The frame as terminal output: each line drawn from its first column (the screen is
    not cleared first: every cell is drawn), colours downgraded to ``color_system`` (Rich's
    name: "truecolor", "256", "standard"; None for no colour) as Textual's console does."""
    from rich.color import ColorSystem

    system = {
        "truecolor": ColorSystem.TRUECOLOR,
        "256": ColorSystem.EIGHT_BIT,
        "standard": ColorSystem.STANDARD,
        "windows": ColorSystem.WINDOWS,
    }.get(color_system or "", None)
    out = []
    for y, line in enumerate(lines):
        out.append(f"\x1b[{y + 1};1H")
        for text, st in line:
            out.append(st.render(text, color_system=system) if system else text)
    return "".join(out)


def color_system(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The colour system Textual's console will use here (its TEXTUAL_COLOR_SYSTEM, else
    Rich's detection from COLORTERM and TERM, NO_COLOR aside as Textual does)."""
    from rich.console import Console

    env = {k: v for k, v in environ.items() if k != "NO_COLOR"}
    console = Console(
        color_system=env.get("TEXTUAL_COLOR_SYSTEM", "auto"),  # type: ignore[arg-type]
        force_terminal=True,
        _environ=env,
        file=sys.__stderr__,
    )
    return console.color_system


class Prepaint:
    """The terminal as the pre-painted frame left it, until `restore`.

    `start` draws the frame (or does nothing: then `active` is False), `hand_over` is called
    with the app right before it runs, `restore` always (in a ``finally``)."""

    def __init__(self) -> None:
        self.active = False
        self.textual_started = False  # Textual took the terminal (it leaves it itself)
        self._fd = -1
        self._saved: list[Any] | None = None
        self._handlers: dict[int, Any] = {}

    def quiet(self, held: Saved | None = None) -> None:
        """Stop the terminal echoing what is typed (the typeahead is kept for the app), as
        early as possible: keys pressed while the library opens are not printed over the
        frame. ``held``: the terminal already quieted by `tui.tty.quiet_terminal` (this
        Prepaint restores it). `restore` undoes it; errors mean nothing was changed."""
        if self._saved is not None:
            return
        from .tty import quiet_terminal

        held = held or quiet_terminal()
        if held is not None:
            self._fd, self._saved = held

    def start(self, library: Library) -> bool:
        """Draw the first frame of ``library`` if `wanted`; True when it was drawn. Errors
        reading the library or the terminal mean no pre-paint, never a failed start (and the
        terminal as it was)."""
        if not wanted():
            return False
        self.quiet()

        size = shutil.get_terminal_size()  # (as Textual's driver measures it)
        try:
            lines = first_frame(library, size.columns, size.lines)
        except Exception:  # noqa: BLE001 - the app reports the library's errors itself
            lines = None
        if lines is None:
            self.restore()
            return False
        output = (
            "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[?2026h"
            + encode(lines, color_system())
            + "\x1b[?2026l"
        )
        if self._saved is None:  # (not a terminal whose echo can be turned off)
            return False
        try:
            for signum in (signal.SIGHUP, signal.SIGTERM):
                self._handlers[signum] = signal.signal(signum, _exit_on)
            self.active = True
            _write(output)
        except BaseException:
            self.restore()
            raise
        return True

    def hand_over(self, app: Any) -> None:
        """Right before ``app`` runs: the signals go back to their handlers (Textual sets
        its own), and the app's driver notes when Textual takes the terminal over."""
        self._restore_signals()
        if not self.active:
            return
        base = app.driver_class
        prepaint = self

        class Driver(base):  # type: ignore[misc, valid-type]
            def start_application_mode(self) -> None:
                prepaint.textual_started = True
                super().start_application_mode()

        app.driver_class = Driver

    def restore(self) -> None:
        """The terminal as it was before `start`: termios settings; the alternate screen
        left and the cursor shown, unless Textual started (it did so on leaving). Safe to
        call more than once, and when nothing was drawn."""
        self._restore_signals()
        if self.active:
            self.active = False
            if not self.textual_started:
                with contextlib.suppress(OSError):
                    _write("\x1b[?2026l\x1b[?7h\x1b[?25h\x1b[?1049l")
        saved, self._saved = self._saved, None  # (also when interrupted before drawing)
        if saved is not None:
            from .tty import restore_terminal

            restore_terminal((self._fd, saved))

    def _restore_signals(self) -> None:
        while self._handlers:
            signum, handler = self._handlers.popitem()
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)


def _exit_on(signum: int, _frame: FrameType | None) -> None:
    """SIGHUP, SIGTERM before the app runs: leave through the ``finally`` that restores the
    terminal, with the status a shell gives a killed command."""
    raise SystemExit(128 + signum)


def _write(text: str) -> None:
    """Write to the terminal Textual draws on (stderr), all of it, now."""
    data = text.encode("utf-8")
    fd = sys.__stderr__.fileno()  # type: ignore[union-attr]
    while data:
        data = data[os.write(fd, data) :]
