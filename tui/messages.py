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
    """A worker's import is over (``reports`` empty when it failed); ``tagged``: how many
    papers each watch rule tagged in it (rule name → count); ``origin``: the path imported,
    which the errors' file names start with."""

    def __init__(
        self,
        reports: list[ImportReport],
        errors: list[str],
        tagged: dict[str, int] | None = None,
        origin: str = "",
    ) -> None:
        super().__init__()
        self.reports = reports
        self.errors = errors
        self.tagged = tagged or {}
        self.origin = origin  # the file or folder imported ("" for a URL, the clipboard)


class SyncFinished(Message):
    """A `papertui sync` run by the app is over: its report's lines, or the error."""

    def __init__(self, lines: list[str], error: str | None) -> None:
        super().__init__()
        self.lines = lines
        self.error = error


class FetchProgress(Message):
    """The fetch worker starts source ``done`` + 1 of ``total`` (``name``)."""

    def __init__(self, done: int, total: int, name: str) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.name = name

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FetchProgress)


class FetchFinished(Message):
    """A `papertui fetch` run by the app is over: one line per source, the failed ones'
    lines in ``errors``, and how many papers were new."""

    def __init__(self, lines: list[str], errors: list[str], new: int) -> None:
        super().__init__()
        self.lines = lines
        self.errors = errors
        self.new = new


class SearchResults(Message):
    """The search worker's answer for ``text``: the ids, and where paper ``keep`` (the one
    highlighted when the search began) is among their first rows (``position``, None if it
    is not; `SearchPosition` follows when it is further down)."""

    def __init__(
        self,
        text: str,
        ids: Sequence[str] | None,
        error: str | None,
        keep: str | None = None,
        position: int | None = None,
        setting: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.text = text
        self.ids = ids
        self.error = error
        self.keep = keep
        self.position = position
        self.setting = setting  # (the view and sort the search was started under)


class SearchCounted(Message):
    """The search result whose first page ``head`` shows has been counted: the list may show
    all of it (``head.results``)."""

    def __init__(self, head: Sequence[str]) -> None:
        super().__init__()
        self.head = head


class SearchPosition(Message):
    """Paper ``keep`` is at ``position`` of search result ``ids``, below its first rows (a
    query of its own, done after the result was shown)."""

    def __init__(self, ids: Sequence[str], keep: str, position: int) -> None:
        super().__init__()
        self.ids = ids
        self.keep = keep
        self.position = position
