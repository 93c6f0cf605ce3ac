"""papertui: a keyboard-first terminal reading list for daily paper feeds.

The package's own start holds what a Ctrl-C during papertui's first tens of milliseconds
needs: the modules `tui.start` imports take ~20 ms to load, and Python's KeyboardInterrupt
raised in one of them printed a traceback (seen 8-56 ms after the start).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

EXIT_INTERRUPTED = 130  # as the CLI's (Ctrl-C)
# Whether the line saying what an interrupted import or fetch kept was written: the
# commands say it once they have begun (`tui.launch.say_interrupted`); a Ctrl-C before
# that is said by `say_nothing_imported`.
INTERRUPTION_TOLD = [False]
NOTHING_IMPORTED = "papertui: interrupted; nothing was imported (the library is as it was)"


def say_nothing_imported(args: Sequence[str]) -> None:
    """After a Ctrl-C that ended ``args`` (a command line) before its import or fetch said
    what it kept, i.e. before it began: the line that says nothing was imported, on stderr
    (as every interrupted import ends with one); nothing for other commands."""
    if INTERRUPTION_TOLD[0] or not args or args[0] not in ("import", "fetch"):
        return
    INTERRUPTION_TOLD[0] = True
    try:
        sys.stderr.write(NOTHING_IMPORTED + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _interrupted_while_loading(signum: int, frame: object) -> None:
    """A Ctrl-C while papertui loads its modules (before `tui.start.main` runs): nothing
    has been read or written yet, so it ends there as every Ctrl-C does (exit 130; an
    import or a fetch says nothing was imported), without a traceback."""
    say_nothing_imported(sys.argv[1:])
    os._exit(EXIT_INTERRUPTED)


def loading_done() -> None:
    """`tui.start.main` has begun: a Ctrl-C is a KeyboardInterrupt again (its own handling)."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# Only when the program is papertui itself (its console script, or `python -m tui` while the
# module is found: argv[0] is "-m" then), never for a program that imports the package, and
# not over a SIGINT ignored (a shell's background job).
if os.path.basename(sys.argv[0] if sys.argv else "") in ("papertui", "papertui.exe", "-m") and (
    signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, _interrupted_while_loading)
