"""Opening the app: what `papertui [FILE…]` does once its command line is read.

Kept apart from `tui.cli` (the click command line) so that `tui.start`, which pre-paints the
list before anything heavy is imported, runs the app through this module alone: the start
path never imports click, argparse, the exporters or Rich's tables. Also here: reading
feeds into the library (`import_sources`) and the one-line error format every command uses.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from .library import ImportReport, Library, LibraryError
from .library.core import now_iso
from .start import INTERRUPTION_TOLD
from .text import clean, papers, printable

if TYPE_CHECKING:
    from .prepaint import Prepaint
    from .start import Early

PRINT_NOTES_UP_TO = 200  # lines: unsaved notes up to this long are printed as well as kept
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A failure reported as one line on stderr with a non-zero exit status."""


def error_line(message: object) -> Text:
    """``papertui: error: MESSAGE`` as one line, control characters shown escaped."""
    return Text(f"papertui: error: {printable(str(message))}")


def demo_feeds() -> Path:
    """The bundled sample feeds: the repo's data/feeds, or the installed copy. CLIError
    when neither is there."""
    candidates = [
        Path(__file__).resolve().parent.parent / "data" / "feeds",
        Path(sys.prefix) / "share" / "papertui" / "feeds",
    ]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    raise CLIError("the bundled sample feeds are missing (reinstall papertui)")


def import_sources(
    lib: Library | Callable[[], Library], sources: list[str], console: Console, err: Console
) -> tuple[list[ImportReport], list[str]]:
    """Read and parse every source (outside the lock), then store them, in one write when
    none fails: the reports of the sources stored, and one line per source that was not.
    Each source succeeds or fails on its own. ``lib`` may be a function that opens the
    library: it is called only when some source was read (so a failed import never makes a
    library). A Ctrl-C (KeyboardInterrupt) is raised again once a line on ``err`` has said
    what of the import was kept (`say_interrupted`), whatever moment it came at."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .importing import read_sources, store_feeds
    from .sources import expand

    expanded = list(expand(sources))  # (its length decides whether a bar is shown)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=len(expanded) < 3 or not err.is_terminal,
        ) as progress:
            task = progress.add_task("Reading feeds", total=len(expanded))
            loaded, errors = read_sources(
                expanded,
                None,
                now_iso(),
                progress=lambda done, _: progress.update(task, completed=done),
            )
        if not loaded:
            return [], errors
        if not isinstance(lib, Library):
            lib = lib()
    except KeyboardInterrupt:
        say_interrupted([], 0, err)
        raise
    try:
        reports, failed = store_feeds(lib, loaded)
    except KeyboardInterrupt:
        # (whatever moment it came at: before the import's COMMIT nothing is kept, after
        # it all is, and the library's cache says which)
        try:
            kept = lib.kept_imports()
        except LibraryError as e:
            err.print(
                Text(
                    printable(
                        f"papertui: interrupted; whether the import was kept is unknown ({e}):"
                        " `papertui list` shows what the library holds"
                    )
                ),
                soft_wrap=True,
                highlight=False,
            )
            raise KeyboardInterrupt from None
        say_interrupted(kept, len(loaded), err)
        raise
    return reports, errors + failed


def say_interrupted(kept: list[ImportReport], feeds: int, err: Console) -> None:
    """The line a Ctrl-C during an import ends with, on stderr: what was kept (the reports
    of the feeds stored, ``kept``, of ``feeds`` read), or that nothing was imported."""
    if not kept:
        line = "papertui: interrupted; nothing was imported (the library is as it was)"
    elif not any(r.new or r.merged for r in kept):
        line = "papertui: interrupted; nothing to import: every paper was already known"
    else:
        new, merged = sum(r.new for r in kept), sum(r.merged for r in kept)
        of = f"{len(kept)} feed{'s' if len(kept) != 1 else ''}"
        if feeds > len(kept):
            of = f"{len(kept)} of {feeds} feeds (the others were not imported)"
        line = (
            f"papertui: interrupted, but the import was kept: {new:,} new, {merged:,} merged "
            f"({papers(sum(r.found for r in kept))} found), from {of}"
        )
    if err.is_terminal:  # (on a line of its own, not after the ^C the terminal echoed)
        err.print()
    err.print(Text(printable(line)), soft_wrap=True, highlight=False)
    INTERRUPTION_TOLD[0] = True


def print_reports(reports: list[ImportReport], console: Console) -> None:
    """One line per import report (file: format, found, new, merged…), then its skips."""
    for r in reports:
        line = Text()
        line.append(printable(r.origin), style="bold")  # a file name: anything but "/"
        line.append(f"  {r.format}: {r.found} found, ")
        line.append(f"{r.new} new", style="green" if r.new else "")
        line.append(f", {r.merged} merged, {r.unchanged} already known")
        if r.skipped:
            line.append(f", {len(r.skipped)} skipped", style="yellow")
        console.print(line, soft_wrap=True, highlight=False)
        if r.partial:
            console.print(
                Text(f"  partial: {printable(r.partial)}", style="yellow"), highlight=False
            )
        for s in r.skipped:
            console.print(
                Text(f"  skipped line {s.line}: {printable(s.reason)}", style="yellow"),
                highlight=False,
            )


def warn_unreadable_arrivals(lib: Library, err: Console) -> None:
    """One line on stderr for each other machine's file the library could not read yet
    (left out until it is whole: `Library.unreadable_arrivals`)."""
    for path in lib.unreadable_arrivals():
        err.print(
            Text(
                f"papertui: warning: {printable(path)}: another machine's file, not readable "
                "(cut short while it was being copied?); left out until it is whole; if it "
                "stays so, `papertui doctor --repair`"
            ),
            soft_wrap=True,
        )


def open_app(
    lib: Library | Callable[[], Library],
    files: list[str],
    out: Console,
    err: Console,
    *,
    print_only: bool = False,
    prepainted: Prepaint | None = None,
) -> int:
    """Open the Textual app on ``lib`` (or print the list where no app can run, or when
    ``print_only``), after importing ``files``: each is imported or fails on its own; when
    some fail, the app still opens on what was imported, shows the errors, and the exit
    status is 1. When every one fails, the app does not open (and a library given as a
    function that opens it is never opened, so never made). ``prepainted``: the frame
    `tui.start` already drew."""
    opened: list[Library] = []

    def library() -> Library:
        if not opened:
            opened.append(lib if isinstance(lib, Library) else lib())
        return opened[0]

    errors: list[str] = []
    if files:
        reports, errors = import_sources(library, files, out, err)
        print_reports(reports, err)
        for e in errors:
            err.print(error_line(e), highlight=False, soft_wrap=True)
        if errors and not reports:
            return EXIT_ERROR
    lib = library()
    status = EXIT_ERROR if errors else EXIT_OK
    if not print_only and sys.stdout.isatty():
        from .prepaint import Prepaint

        # The list on screen before Textual is imported (~0.4 s of the start); every way
        # out of here puts the terminal back as it was (`Prepaint.restore`).
        prepaint = prepainted or Prepaint()
        try:
            if prepainted is None:
                prepaint.start(lib)
            return _run_app(lib, errors, out, err, status, prepaint)
        finally:
            prepaint.restore()
    return _print_list(lib, out, err, status)


def run_early(early: Early) -> int:
    """Run the app on the library `tui.start` opened and pre-painted (the command line was
    only `papertui` or `papertui --db LIB`); the exit status."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        return open_app(early.library, [], out, err, prepainted=early.prepaint)
    except LibraryError as e:
        err.print(error_line(e), highlight=False, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _run_app(
    lib: Library, errors: list[str], out: Console, err: Console, status: int, prepaint: Prepaint
) -> int:
    """Run the Textual app on ``lib`` (or print the list when Textual cannot be imported);
    the exit status. The terminal is restored from ``prepaint`` once the app has left."""
    # No garbage collection while the app starts: it allocates a lot and frees little
    # (the app turns the collector back on once its first screen is painted).
    gc.disable()
    try:
        from .app import make_app
    except ImportError:
        gc.enable()
        prepaint.restore()
        return _print_list(lib, out, err, status)
    from .config import config_path
    from .keys import load_keymap

    keymap, keymap_errors = load_keymap(config_path())  # the user's [keys], if any
    app = make_app(library=lib, notices=[*errors, *keymap_errors], keymap=keymap)
    prepaint.hand_over(app)
    app.run()
    prepaint.restore()
    app.left()
    return _after_app(app, err, status)


def _print_list(lib: Library, out: Console, err: Console, status: int) -> int:
    """The view's papers printed, where no terminal app can run; the exit ``status``."""
    from .cli import print_list

    print_list(lib, lib.query("", sort="feed_date"), out, err)
    return status


def _after_app(app: Any, err: Console, status: int = EXIT_OK) -> int:
    """Once the terminal is restored: rescue any note the library never took to a file of
    its own (`tui.recovery`) and say where (printing short ones too), and say why the app
    stopped; the exit status (``status`` when the app itself ended well)."""
    unsaved = dict(app.unsaved_notes)
    kept = app.rescue_notes() if unsaved else None
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        if unsaved:
            count = "1 note" if len(unsaved) == 1 else f"{len(unsaved)} notes"
            where = f"kept in {printable(str(kept))}" if kept else "no folder would take it"
            err.print(
                Text(f"papertui: error: {count} NOT saved ({app.unsaved_reason}); {where}"),
                soft_wrap=True,
            )
            lines = sum(text.count("\n") + 1 for text in unsaved.values())
            if kept is None or lines <= PRINT_NOTES_UP_TO:
                err.print(Text("the text follows, copy it to keep it"))
                for pid, text in unsaved.items():
                    title = app.library.short_title(pid)
                    err.print(Text(f"--- note of {pid} ({title})"), soft_wrap=True)
                    err.print(Text(clean(text)), soft_wrap=True)
                err.print(Text("--- end of unsaved notes"))
        if app.stopped_by:
            saved = "; the note was not saved" if unsaved else ""
            err.print(Text(f"papertui: stopped by {app.stopped_by}{saved}"))
        if app.cache_damage:
            err.print(Text(f"papertui: error: {app.cache_damage}"), soft_wrap=True)
    if app.return_code:
        return int(app.return_code)
    return EXIT_ERROR if unsaved else status


def keep_rescued_notes(library: Path, err: Console) -> None:
    """Before a throwaway (demo) library goes: move the notes rescued into it to the user
    state folder, and say where."""
    from platformdirs import user_state_dir

    folder = Path(user_state_dir("papertui", appauthor=False)) / "recovered"
    for path in (library / "recovered").glob("*.md"):
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / f"papertui-demo-{path.name}"
            shutil.move(str(path), kept)
            err.print(Text(f"papertui: the unsaved note is kept in {printable(str(kept))}"))
