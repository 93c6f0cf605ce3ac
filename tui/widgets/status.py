"""The status bar at the top: view, counts, sort, query and selection."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static

from ..frame import StatusInfo, status_parts, status_where

__all__ = ["StatusBar", "StatusInfo"]


class StatusBar(Static):
    """One line: where you are on the left, library counts on the right."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.info = StatusInfo()
        self._left = 0  # cells of the left part as last drawn

    def show(self, info: StatusInfo) -> None:
        """Show ``info``; when only the left part changes (a search, the view's count), only
        that part is repainted (see `set_position`)."""
        counts = ("read_only", "unread", "total", "starred", "new_since")
        same = all(getattr(info, name) == getattr(self.info, name) for name in counts)
        self.info = info
        if same and self.size.width:
            left = max(self._left, self._where(info).cell_length) + 1
            self.refresh(Region(0, 0, min(left, self.size.width), 1))
        else:
            self.refresh()

    def set_position(self, cursor: int, shown: int) -> None:
        """Move the "7 of 107" marker; the only part that changes on every cursor move.

        Only the left part is repainted (the counts on the right stay where they are): a
        repaint of the whole line would have the screen redraw the panes beside the list too,
        as Textual repaints the rectangle around everything that changed."""
        if (cursor, shown) != (self.info.cursor, self.info.shown):
            self.info.cursor, self.info.shown = cursor, shown
            left = max(self._left, self._where(self.info).cell_length) + 1
            self.refresh(Region(0, 0, min(left, self.size.width), 1))

    @staticmethod
    def _where(info: StatusInfo) -> Content:
        """The left part: where you are."""
        return _content(status_where(info))

    def render(self) -> Content:
        parts, self._left = status_parts(self.info, self.size.width)
        return _content(parts)


def _content(parts: list[tuple[str, str]]) -> Content:
    return Content.assemble(*(text if not style else (text, style) for text, style in parts))
