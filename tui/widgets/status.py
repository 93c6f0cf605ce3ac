"""The status bar at the top: view, counts, sort, query and selection."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static

Part = str | tuple[str, str]


@dataclass
class StatusInfo:
    """What the status bar shows; the app builds one after every change."""

    view: str = "All"
    shown: int = 0
    counting: bool = False  # ``shown`` is a first page: the result is still being counted
    cursor: int = 0  # index of the highlighted paper in the view
    total: int = 0
    unread: int = 0
    starred: int = 0
    new_since: int = 0
    sort: str = "feed date"
    query: str = ""
    selected: int = 0
    chinese_first: bool = False
    read_only: bool = False  # the library cannot be written: changes are refused


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
        # The space between two parts ends the first one: a part that begins with a space
        # loses it when the SVG screenshots are drawn ("107unread"), so none does except
        # the one after the view's chip, whose own padding keeps them apart.
        where: list[Part] = [
            (f" {info.view} ", "bold reverse $text-accent"),
            f" {info.cursor + 1 if info.shown else 0:,} of {info.shown:,}"
            + ("+ counting…  " if info.counting else "  "),
        ]
        if info.query:
            where += ["/", (f"{info.query}  ", "italic")]
        if info.selected:
            where.append((f"{info.selected:,} selected  ", "bold $text-warning"))
        sort = f"sort: {info.sort}"
        if info.chinese_first:
            where += [(f"{sort}  ", "$text-muted"), ("中文 first", "$text-muted")]
        else:
            where.append((sort, "$text-muted"))
        return Content.assemble(*where)

    def render(self) -> Content:
        info = self.info
        star = f"★ {info.starred:,}"
        counts: list[Part] = [("read-only ", "bold $text-error")] if info.read_only else []
        counts += [
            (f"{info.unread:,} ", "bold"),
            f"unread of {info.total:,}  ",
            (star, "$text-warning"),
        ]
        if info.new_since:
            counts[-1] = (f"{star}  ", "$text-warning")
            counts.append((f"{info.new_since:,} new since last session", "$text-success"))
        counts.append(" ")
        left, right = self._where(info), Content.assemble(*counts)
        width = self.size.width
        if right.cell_length > width // 2 and info.new_since:
            counts[-2] = (f"{info.new_since:,} new", "$text-success")
            right = Content.assemble(*counts)
        room = width - right.cell_length
        if left.cell_length > room - 1:
            left = left.truncate(max(room - 1, 0), ellipsis=True)
        self._left = left.cell_length
        return Content.assemble(left.pad_right(max(room - left.cell_length, 0)), right)
