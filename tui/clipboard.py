"""The system clipboard through pyperclip, with an OSC 52 fallback for SSH and headless use.

`copy()` never raises: where pyperclip has no clipboard it asks the terminal to set it (OSC 52)
and says so. `paste()` raises ClipboardError with a message that says how to import instead.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import IO


class ClipboardError(Exception):
    """No clipboard to read; ``str()`` tells the user what to do instead."""


def osc52(text: str) -> str:
    """The escape sequence asking the terminal to put ``text`` on the clipboard."""
    return "\x1b]52;c;" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "\x07"


def copy(text: str, terminal: IO[str] | None = None) -> str:
    """Copy ``text``; returns how it was done ("clipboard" or a note about OSC 52)."""
    try:
        import pyperclip

        pyperclip.copy(text)
        return "copied to the clipboard"
    except Exception:  # pyperclip raises its own and OS errors when there is no clipboard
        pass
    out = terminal if terminal is not None else _tty()
    if out is None:
        raise ClipboardError(
            "no clipboard: no system clipboard and no terminal to ask (use --output FILE)"
        )
    out.write(osc52(text))
    out.flush()
    return "no system clipboard: sent to the terminal's clipboard (OSC 52)"


def _tty() -> IO[str] | None:
    if sys.stdout.isatty():
        return sys.stdout
    try:
        return open(os.ctermid(), "w")  # noqa: SIM115 - closed by the OS at exit
    except OSError:
        return None


def paste() -> str:
    """The clipboard's text; ClipboardError when there is no clipboard or it is empty."""
    try:
        import pyperclip

        text = pyperclip.paste()
    except Exception:
        raise ClipboardError(
            "no clipboard available here (no display?): save the page to a file and run "
            "`papertui import FILE`, or pipe it: `papertui import -`"
        ) from None
    if not text or not text.strip():
        raise ClipboardError("the clipboard is empty: copy a feed page first")
    return text
