"""The `papertui` console script's entry point: the list on screen before the CLI is imported.

`papertui` (or `papertui --db LIB`) on a terminal opens the app. Its first frame is
pre-painted (`tui.prepaint`) as soon as the library is open, before anything else is
imported: the CLI's parser (click), Rich's console and the exporters took ~0.1 s of the
start, Textual ~0.4 s. Every other command line goes to `tui.cli.main` unchanged; this one,
once the frame is drawn, goes to `tui.launch.run_early`, which runs the app on the library
opened here without importing the CLI (nor click) at all.

Anything unusual (a blank --db, a library that cannot be opened, no terminal,
pre-paint turned off) means no early frame: the CLI opens the library itself and reports
what is wrong exactly as before.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import (  # (a Ctrl-C at the start: kept in the package itself, loaded first)
    EXIT_INTERRUPTED,
    INTERRUPTION_TOLD,
    NOTHING_IMPORTED,
    loading_done,
    say_nothing_imported,
)

if TYPE_CHECKING:
    from .library import Library
    from .prepaint import Prepaint

__all__ = [
    "EXIT_INTERRUPTED",
    "INTERRUPTION_TOLD",
    "NOTHING_IMPORTED",
    "Early",
    "import_held",
    "main",
    "open_early",
    "plain_open",
    "say_nothing_imported",
]


@dataclass
class Early:
    """A library opened, and its first frame drawn, before the CLI was imported."""

    library: Library
    prepaint: Prepaint


def plain_open(argv: Sequence[str]) -> tuple[bool, str | None]:
    """Whether ``argv`` only opens the app (no command, file or other option), and the
    --db it names (None: the default library). ``[]``, ``["--db", X]`` and ``["--db=X"]``
    open the app; anything else is the CLI's to read."""
    if not argv:
        return True, None
    if len(argv) == 2 and argv[0] == "--db":
        return True, argv[1]
    if len(argv) == 1 and argv[0].startswith("--db="):
        return True, argv[0].removeprefix("--db=")
    return False, None


def open_early(argv: Sequence[str], started: list[Prepaint] | None = None) -> Early | None:
    """Open the library ``argv`` names and pre-paint its first frame, when ``argv`` only
    opens the app on a terminal that can show the frame; None otherwise (and on any error:
    the CLI then does the same work and reports it). The `Prepaint` is appended to
    ``started`` before it draws, so that a caller interrupted at any point (Ctrl-C) can
    restore the terminal."""
    plain, given = plain_open(argv)
    if not plain or not sys.stdout.isatty():
        return None
    if given is not None and not given.strip():
        return None  # (the CLI's error: "--db is blank")
    from .tty import quiet_terminal, restore_terminal

    held = quiet_terminal()  # (keys typed from here on are the app's, not echoed)
    try:
        from .prepaint import Prepaint, wanted
    except BaseException:
        restore_terminal(held)
        raise
    if not wanted():
        restore_terminal(held)
        return None
    prepaint = Prepaint()
    if started is not None:
        started.append(prepaint)
    prepaint.quiet(held)
    from pathlib import Path

    from .library import Library
    from .paths import default_db, user_library

    try:
        db = Path(given).expanduser() if given is not None else default_db()
        library = Library.open(db, create=True, parents=db == user_library())
    except Exception:  # noqa: BLE001 - the CLI opens it again and reports the error
        prepaint.restore()
        return None
    prepaint.start(library)
    return Early(library, prepaint)


def import_held() -> None:
    """Import orjson with SIGINT held back until it is loaded. Its module init imports
    modules of its own and takes their success for granted: a KeyboardInterrupt raised in
    one of them (a Ctrl-C in papertui's first tenth of a second) crashed the interpreter
    (SIGSEGV, "Segmentation fault") instead of ending as every Ctrl-C does. The Ctrl-C held
    back is raised as soon as the import is done (as a KeyboardInterrupt, here)."""
    import signal

    block = getattr(signal, "pthread_sigmask", None)
    if block is None:  # (no signal masks here: Windows)
        import orjson  # noqa: F401

        return
    held = block(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        import orjson  # noqa: F401
    finally:
        block(signal.SIG_SETMASK, held)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `papertui` console script; the exit status (see `tui.cli.main`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    started: list[Prepaint] = []
    try:
        loading_done()
        import_held()
        early = open_early(args, started)
        if early is not None:  # (the app on the library opened here: no command line to read)
            from .launch import run_early

            return run_early(early)
        from .cli import main as cli_main

        return cli_main(args)
    except KeyboardInterrupt:
        say_nothing_imported(args)
        return EXIT_INTERRUPTED
    finally:
        for prepaint in started:  # (restoring twice, or what never drew, does nothing)
            prepaint.restore()
