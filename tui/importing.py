"""Reading feeds for the app's import (`i`): files, folders or the clipboard.

Runs in a worker thread; no Textual here. Every failure becomes a message for the user, never
an exception: a bad file among good ones is reported and the good ones are imported.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from datetime import date
from typing import Any

from rich.cells import cell_len

from .clipboard import ClipboardError
from .feeds import FeedError
from .library import ImportReport, Library, LibraryError
from .models import Source
from .sources import Loaded, expand, load_source, load_text, unexpected
from .text import clean_line, ellipsize, papers

Feed = tuple[Any, Source]  # (ParseResult, Source), as Library.import_feeds takes them


def read_clipboard(paste: Callable[[], str], today: date | None, stamp: str) -> Feed:
    """The clipboard's text parsed as a feed; raises FeedError with a message saying what to
    do."""
    try:
        text = paste()
    except ClipboardError as err:
        raise FeedError(f"{err} — or press i and give a file path") from None
    except Exception as err:  # pyperclip's own errors
        raise FeedError(f"clipboard unreadable ({err}); press i and give a file path") from None
    item = load_text(text, "<clipboard>", today=today, imported_at=stamp)
    return item.result, item.source


def store_feeds(lib: Library, feeds: list[Feed]) -> tuple[list[ImportReport], list[str]]:
    """Store parsed feeds, each on its own (`Library.import_each`), then tag by the config's
    watch rules (`watch_new`) the papers they added and the known papers they changed (a
    paper seen again in another feed gains a source a rule may name): the reports of those
    stored and one line per feed that was not, naming it (and one per watch problem). Never
    raises: a library that cannot be written (locked, read-only, full) is an error line for
    every feed."""
    if not feeds:
        return [], []
    try:
        reports, failed = lib.import_each(feeds)
    except Exception as err:
        failed = [(source, err) for _result, source in feeds]
        reports = []
    errors = [f"{source.origin}: not stored: {describe(err)}" for source, err in failed]
    changed = [pid for r in reports for pid in (*r.new_ids, *r.merged_ids)]
    return reports, errors + watch_new(lib, changed)


def watch_new(lib: Library, ids: list[str]) -> list[str]:
    """Apply the config's watch rules (`tui.watch.apply`) to the papers ``ids`` (and to the
    whole library when the rules changed; and to the papers that arrived since they last
    looked: another machine's, by a sync): the one-line problems met (one per bad rule, the
    others applied; a library that cannot be written), none when all went well. Never
    raises."""
    from .watch import apply, config_rules

    rules, problems = config_rules()
    try:
        tagged = apply(lib, rules, ids)
    except Exception as err:
        return [*problems, f"watch rules not applied: {describe(err)}"]
    for name, n in tagged.items():
        if n:
            lib.watch_tagged[name] = lib.watch_tagged.get(name, 0) + n
    return problems


def watch_line(tagged: dict[str, int]) -> str:
    """What the watch rules did, in a line ("watch rules: flow tagged 9 papers, cv tagged
    1 paper"), the rule that tagged most first; "" when they tagged none."""
    each = [
        f"{name} tagged {papers(n)}"
        for name, n in sorted(tagged.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]
    return "watch rules: " + ", ".join(each) if each else ""


def describe(err: Exception) -> str:
    """One line about an exception: its message, and its type when it is not one of ours (an
    unexpected error, i.e. a bug in papertui, which the user can report)."""
    if isinstance(err, (FeedError, LibraryError)):
        return clean_line(str(err))
    return unexpected(err)


def read_paths(
    value: str,
    today: date | None,
    stamp: str,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[list[Feed], list[str]]:
    """Every feed file under ``value`` (a file or a folder), and the errors met on the way."""
    sources = list(expand([value]))
    return read_sources(sources, today, stamp, cancelled=cancelled, progress=progress)


def read_sources(
    sources: list[str],
    today: date | None,
    stamp: str,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[list[Feed], list[str]]:
    """Read and parse each source (`load_source`; folders are expanded): the feeds read, and
    one error line per source that could not be, naming it."""
    loaded: list[Feed] = []
    errors: list[str] = []
    sources = list(expand(sources))
    # No cyclic garbage collection while the papers pile up: its passes over the growing
    # results cost ~0.09 s of CPU for 20,000 papers (~12% of the parse); the little a parse
    # may leave for it is collected once it runs again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for done, src in enumerate(sources, 1):
            if cancelled():
                break
            try:
                item: Loaded = load_source(src, today=today, imported_at=stamp)
                loaded.append((item.result, item.source))
            except FeedError as err:
                errors.append(str(err))
            progress(done, len(sources))
    finally:
        if collecting:
            gc.enable()
    return loaded, errors


ERROR_DETAIL = 40  # cells of the first error's reason an import's summary quotes


def short_error(error: str, origin: str = "") -> str:
    """One error line of an import ("/feeds/a.txt: not a recognised feed (tried …)") made
    short for a summary: the file named from ``origin`` (the folder imported: "a.txt"), its
    reason in parentheses, cut to `ERROR_DETAIL` cells with "…" ("a.txt (not a recognised
    feed …)"); a fetched source's URL after its name is left out ("arXiv cs.CV (cannot be
    fetched …)"). A line naming no file is cut as it is."""
    base = origin.rstrip("/\\")
    if base and error.startswith(base + os.sep):
        error = error[len(base) + 1 :]
    elif base and error.startswith(base + ": "):
        error = os.path.basename(base) + error[len(base) :]
    name, sep, reason = error.partition(": ")
    if not sep:
        return ellipsize(error, ERROR_DETAIL)
    url, sep, after = reason.partition(": ")
    if sep and "://" in url and " " not in url:  # (a fetched source: its name says which)
        reason = after
    head, paren, _rest = reason.partition(" (")
    if paren and cell_len(head) >= 10:  # (the gist before the details in parentheses)
        reason = head + " …"
    return f"{name} ({ellipsize(reason, ERROR_DETAIL)})"


def errors_summary(
    errors: list[str],
    origin: str = "",
    more_key: str = "",
    what: str = "files could not be imported",
) -> str:
    """An import's errors in a line for a toast: the one error as it is, or how many there
    were (``what``: a fetch's are "sources could not be fetched"), the first one short
    (`short_error`), how many more, and the key that lists them all (``more_key``): "3
    files could not be imported: a.txt (not a recognised feed …) and 2 more; ! lists them".
    "" for no errors."""
    if len(errors) <= 1:
        return errors[0] if errors else ""
    n = len(errors)
    said = f"{n} {what}: {short_error(errors[0], origin)} and {n - 1} more"
    return said + (f"; {more_key} lists them" if more_key else "")
