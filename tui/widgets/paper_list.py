"""The list pane: a line-API widget that draws only the rows on screen.

Rows carry paper ids; each visible row asks the library for its record when it is drawn and
the rendered `Strip` is cached until the library changes. 100,000 papers scroll as fast as 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..export import badge
from ..text import clean_line

if TYPE_CHECKING:
    from ..library import Library

NARROW_DATE = 72  # below this width the feed date is shown as MM-DD


def row_badges(paper: dict) -> list[str]:
    """The distinct source badges of a stored paper, in the order it was seen."""
    found: list[str] = []
    for src in paper.get("sources", ()):
        b = badge(src.get("format", ""))
        if b not in found:
            found.append(b)
    return found


def row_count(paper: dict) -> str:
    """Upvotes (▲) or discussion comments (💬-free: shown as "N cm") where known."""
    if paper.get("upvotes"):
        return f"▲{paper['upvotes']}"
    if paper.get("num_comments"):
        return f"{paper['num_comments']} cm"
    return ""


class PaperList(ScrollView, can_focus=True):
    """The papers of the current view, one row each, drawn line by line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
        Binding("pagedown", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="list.page_up"),
    ]
    """Movement only: triage keys live on the app so they also work from the detail pane."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paper-list--cursor",
        "paper-list--cursor-blurred",
        "paper-list--selected",
        "paper-list--unread",
        "paper-list--read",
        "paper-list--marker",
        "paper-list--star",
        "paper-list--date",
        "paper-list--tags",
        "paper-list--badge",
        "paper-list--count",
        "paper-list--empty",
    }

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another paper (or to none)."""

        paper_list: PaperList
        paper_id: str | None

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PaperList.Highlighted)

    def __init__(
        self,
        library: Library,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's argument name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.library = library
        self.ids: list[str] = []
        self.selection: set[str] = set()
        self.empty_text = "No papers here."
        self._cursor = 0
        self._generation = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)

    # ------------------------------------------------------------------ data
    @property
    def cursor(self) -> int:
        """Index of the highlighted row."""
        return self._cursor

    @property
    def current(self) -> str | None:
        """The id of the highlighted paper."""
        if 0 <= self._cursor < len(self.ids):
            return self.ids[self._cursor]
        return None

    def set_ids(self, ids: list[str], keep: str | None = None) -> None:
        """Show these papers; keep the cursor on ``keep`` if it is still there."""
        old = self.current
        self.ids = ids
        self.selection &= set(ids)
        index = 0
        target = keep if keep is not None else old
        if target is not None:
            try:
                index = ids.index(target)
            except ValueError:
                index = min(self._cursor, max(len(ids) - 1, 0))
        self.virtual_size = Size(self.size.width, len(ids))
        self.invalidate()
        self.move_to(index, force_message=True)

    def invalidate(self) -> None:
        """Forget every rendered row (the library changed)."""
        self._generation += 1
        self._cache.clear()
        self.refresh()

    def toggle_selected(self, pid: str) -> bool:
        """Add or remove ``pid`` from the selection; True if it is now selected."""
        if pid in self.selection:
            self.selection.discard(pid)
            selected = False
        else:
            self.selection.add(pid)
            selected = True
        self.invalidate()
        return selected

    def clear_selection(self) -> None:
        if self.selection:
            self.selection.clear()
            self.invalidate()

    # ------------------------------------------------------------------ movement
    def move_to(self, index: int, force_message: bool = False) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        count = len(self.ids)
        index = max(0, min(index, count - 1)) if count else 0
        previous = self._cursor
        self._cursor = index
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        self.refresh_line(previous)
        self.refresh_line(index)
        if previous != index or force_message:
            self.post_message(self.Highlighted(self, self.current))

    def action_cursor_down(self) -> None:
        self.move_to(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self._cursor - 1)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.ids) - 1)

    def action_page_down(self) -> None:
        self.move_to(self._cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_page_up(self) -> None:
        self.move_to(self._cursor - max(self.scrollable_content_region.height - 1, 1))

    def find_unread(self, step: int) -> int | None:
        """Index of the next (step=1) or previous (step=-1) unread paper after the cursor."""
        index = self._cursor + step
        while 0 <= index < len(self.ids):
            if not self.library.raw_state(self.ids[index]).get("read"):
                return index
            index += step
        return None

    def on_click(self, event: events.Click) -> None:
        self.move_to(int(self.scroll_y) + event.y)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.ids))
        self.invalidate()

    def on_focus(self) -> None:
        self.invalidate()

    def on_blur(self) -> None:
        self.invalidate()

    # ------------------------------------------------------------------ drawing
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if not self.ids:
            if y == 1:
                style = self.get_component_rich_style("paper-list--empty")
                text = Text("  " + self.empty_text, style=style, no_wrap=True, end="")
                text.truncate(width, overflow="ellipsis", pad=True)
                return Strip(list(text.render(self.app.console)), width).apply_style(base)
            return Strip.blank(width, base)
        if index >= len(self.ids):
            return Strip.blank(width, base)
        pid = self.ids[index]
        is_cursor = index == self._cursor
        key = (pid, width, is_cursor, pid in self.selection, self.has_focus, self._generation)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(pid, width, is_cursor, pid in self.selection)
            self._cache[key] = strip
        return strip

    def _render_row(self, pid: str, width: int, is_cursor: bool, selected: bool) -> Strip:
        paper = self.library.raw(pid)
        state = self.library.raw_state(pid)
        style = self.get_component_rich_style
        unread = not state.get("read")
        date = paper.get("feed_date") or ""
        if width < NARROW_DATE:
            date = date[5:10]
        date_width = 5 if width < NARROW_DATE else 10

        left = Text(no_wrap=True, end="")
        left.append("▌" if selected else " ", style("paper-list--selected"))
        left.append("●" if unread else " ", style("paper-list--marker"))
        left.append("★" if state.get("starred") else " ", style("paper-list--star"))
        left.append(" ")
        left.append(date.ljust(date_width), style("paper-list--date"))
        left.append(" ")

        right = Text(no_wrap=True, end="")
        tags = state.get("tags", ())
        if tags:
            right.append(
                " " + " ".join("#" + clean_line(t) for t in tags), style("paper-list--tags")
            )
        badges = row_badges(paper)
        if badges:
            right.append(" " + " ".join(badges), style("paper-list--badge"))
        count = row_count(paper)
        if count:
            right.append(" " + count.rjust(4), style("paper-list--count"))
        right.append(" ")

        room = width - left.cell_len - right.cell_len
        if room < 20:  # narrow pane: the title matters more than tags and badges
            right.truncate(max(width - left.cell_len - 20, 0), overflow="ellipsis")
            room = width - left.cell_len - right.cell_len
        title = clean_line(paper.get("title") or paper.get("title_zh") or "(untitled)")
        title_text = Text(
            title, style=style("paper-list--unread" if unread else "paper-list--read"), end=""
        )
        title_text.truncate(max(room, 0), overflow="ellipsis", pad=True)

        row = Text(no_wrap=True, end="")
        row.append_text(left)
        row.append_text(title_text)
        row.append_text(right)
        base = self.rich_style
        segments = list(row.render(self.app.console))
        if is_cursor:
            # The cursor's colours win over each part's, so the row is readable in every theme.
            cursor_class = "paper-list--cursor" if self.has_focus else "paper-list--cursor-blurred"
            cursor = style(cursor_class)
            post = Style(color=cursor.color, bgcolor=cursor.bgcolor, bold=cursor.bold)
            segments = list(Segment.apply_style(segments, base, post))
            row_style = base + Style(bgcolor=cursor.bgcolor)
        else:
            segments = list(Segment.apply_style(segments, base))
            row_style = base
        return Strip(segments, row.cell_len).adjust_cell_length(width, row_style)

    def row_text(self, index: int) -> str:
        """The plain text of row ``index`` as drawn (for tests and screen readers)."""
        strip = self._render_row(self.ids[index], max(self.size.width, 40), False, False)
        return strip.text
