"""Messages the app's workers send back to the UI thread."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from .library import ImportReport


class ImportProgress(Message):
    """A worker read another feed."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ImportProgress)


class ImportFinished(Message):
    """A worker's import is over (``reports`` empty when it failed)."""

    def __init__(self, reports: list[ImportReport], errors: list[str]) -> None:
        super().__init__()
        self.reports = reports
        self.errors = errors


class SearchResults(Message):
    """The search worker's answer for ``text``."""

    def __init__(self, text: str, ids: Sequence[str] | None, error: str | None) -> None:
        super().__init__()
        self.text = text
        self.ids = ids
        self.error = error
