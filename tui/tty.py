"""The terminal's echo turned off as the first thing `papertui` does (standard library only).

Keys typed while the app starts are kept for it (the line discipline holds them) but not
printed over the screen. This module imports nothing of papertui's, so that `tui.start` can
quiet the terminal a few milliseconds after Python starts, before the library's modules
(~0.1 s) are imported.
"""

from __future__ import annotations

import sys
from typing import Any

Saved = tuple[int, list[Any]]  # (file descriptor, its termios attributes before)


def quiet_terminal() -> Saved | None:
    """Turn off echo and line editing on stdin when it is a terminal (the typeahead is kept,
    not shown); what to hand `restore_terminal`, or None when nothing was changed."""
    try:
        import termios

        fd = sys.__stdin__.fileno()  # type: ignore[union-attr]
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflag
        quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except Exception:  # noqa: BLE001 - termios.error (not a terminal), ImportError (Windows)…
        return None
    return fd, saved


def restore_terminal(saved: Saved | None) -> None:
    """The terminal's settings as `quiet_terminal` found them (nothing for None)."""
    if saved is None:
        return
    import contextlib
    import termios

    with contextlib.suppress(termios.error, OSError):
        termios.tcsetattr(saved[0], termios.TCSANOW, saved[1])
