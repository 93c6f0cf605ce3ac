"""The outside world the app talks to: the browser and the system clipboard.

Each is a plain callable the app is given (tests inject recorders), with these defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Opener = Callable[[str], Any]
Copier = Callable[[str], None]
Paster = Callable[[], str]


def default_opener(url: str) -> bool:
    """Open ``url`` in a graphical browser; False where only a terminal browser exists."""
    import webbrowser  # (when first used: the app's start does without it)

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if isinstance(browser, webbrowser.GenericBrowser) and browser.name in (
        "www-browser",
        "links",
        "elinks",
        "lynx",
        "w3m",
    ):
        return False  # it would take over this terminal
    return bool(browser.open(url))


def system_copy(text: str) -> None:
    """Copy with pyperclip; raises when there is no system clipboard."""
    import pyperclip

    pyperclip.copy(text)


def system_paste() -> str:
    """Paste with tui.clipboard (raises ClipboardError saying how to import instead)."""
    from .clipboard import paste

    return paste()
