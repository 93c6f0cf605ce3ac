"""Reading feeds for the app's import (`i`): files, folders or the clipboard.

Runs in a worker thread; no Textual here. Every failure becomes a message for the user, never
an exception: a bad file among good ones is reported and the good ones are imported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from .clipboard import ClipboardError
from .feeds import FeedError, parse_text, text_digest
from .models import Source
from .sources import Loaded, expand, load_source

Feed = tuple[Any, Source]  # (ParseResult, Source), as Library.import_feeds takes them


def read_clipboard(paste: Callable[[], str], today: date | None, stamp: str) -> Feed:
    """The clipboard's text parsed as a feed; raises with a message saying what to do."""
    try:
        text = paste()
    except ClipboardError as err:
        raise FeedError(f"{err} — or press i and give a file path") from None
    except Exception as err:  # pyperclip's own errors
        raise FeedError(f"clipboard unreadable ({err}); press i and give a file path") from None
    result = parse_text(text, "<clipboard>", today)
    source = Source(
        format=result.format,
        origin="<clipboard>",
        feed_date=result.feed_date or stamp[:10],
        digest=text_digest(text),
        imported_at=stamp,
    )
    return result, source


def read_paths(
    value: str,
    today: date | None,
    stamp: str,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[list[Feed], list[str]]:
    """Every feed file under ``value`` (a file or a folder), and the errors met on the way."""
    loaded: list[Feed] = []
    errors: list[str] = []
    sources = list(expand([value]))
    if not sources:
        errors.append(f"{value}: no feed files (.txt .html .xml) in it")
    for done, src in enumerate(sources, 1):
        if cancelled():
            break
        try:
            item: Loaded = load_source(src, today=today, imported_at=stamp)
            loaded.append((item.result, item.source))
        except FeedError as err:
            errors.append(str(err))
        progress(done, len(sources))
    return loaded, errors


def format_errors(errors: list[str]) -> str:
    """Up to three errors on one line, and how many more there were."""
    return "; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")
