"""The list pane: a line-API widget that draws only the rows on screen.

Rows carry paper ids; each visible row asks the library for its record when it is drawn and
the rendered `Strip` is cached until the library changes. 100,000 papers scroll as fast as 100.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._border import get_box
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as TextualStyle

from ..frame import NARROW_DATE, ROW_PARTS, TINTS, fit, row_badges, row_count, row_parts, tint
from ..keys import list_bindings

if TYPE_CHECKING:
    from ..library import Library

__all__ = ["NARROW_DATE", "PaperList", "fit", "row_badges", "row_count"]


class PaperList(ScrollView, can_focus=True):
    """The papers of the current view, one row each, drawn line by line."""

    BINDINGS: ClassVar[list[BindingType]] = list_bindings()
    """Movement only: triage keys live on the app so they also work from the detail pane."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paper-list--cursor",
        "paper-list--cursor-blurred",
        "paper-list--selected",
        "paper-list--unread",
        "paper-list--read",
        "paper-list--marker",
        "paper-list--star",
        "paper-list--watch",
        "paper-list--date",
        "paper-list--tags",
        "paper-list--badge",
        "paper-list--count",
        "paper-list--empty",
        "paper-list--scrollbar",
        "paper-list--scrollbar-thumb",
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
        self.ids: Sequence[str] = []
        self.selection: set[str] = set()
        self.empty_text = "No papers here."
        self.date_key = "feed_date"  # the date each row shows: the sort's (see set_ids)
        self.this_year: int | None = None  # rows of another year show it (None: today's)
        self._cursor = 0
        self._generation = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._framed: LRUCache[tuple, Strip] = LRUCache(1024)  # see _framed_lines
        self._base_style: Style | None = None
        self._part_styles: dict[tuple[bool, bool], dict[str, Style]] = {}
        self._bars: dict[bool | None, Segment] = {}  # the scrollbar's cell: thumb, track
        self._frame: tuple[int, int, int, tuple[int, int]] | None = None  # see render_lines
        self._keys: dict[int, tuple] = {}  # the rows of one paint: line → `_row_key`

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

    def set_ids(
        self,
        ids: Sequence[str],
        keep: str | None = None,
        *,
        top: bool = False,
        found: tuple[str, int | None] | None = None,
        date_key: str | None = None,
    ) -> None:
        """Show these papers; keep the cursor on ``keep`` (default: the highlighted paper) if
        it is still there, else at the same row (a paper that left the view is followed by
        the next one) or, with ``top``, on the first row (a new search or view).

        ``found``: (a paper, its position in ``ids`` or None when it is not there), worked out
        by the caller (a search worker does, off the UI thread: for a big result it is a
        query of its own). ``date_key``: the date the rows show ("paper_date" when sorted by
        it), unchanged when None."""
        old = self.current
        if date_key is not None:
            self.date_key = date_key
        self.ids = ids
        self.selection = {pid for pid in self.selection if pid in ids}
        index = 0
        target = keep if keep is not None else old
        if target is not None:
            try:
                if found is not None and found[0] == target:
                    if found[1] is None:
                        raise ValueError(target)
                    index = found[1]
                else:
                    index = ids.index(target)
            except ValueError:
                index = 0 if top else min(self._cursor, max(len(ids) - 1, 0))
        self._set_height(len(ids))
        self.invalidate()
        self.move_to(index, force_message=True)
        if index < self.scrollable_content_region.height and self.scroll_y:
            # (a new order with the cursor's paper near the top: the papers above it shown,
            # not left scrolled out of sight by the old order's offset)
            self.scroll_to(y=0, animate=False, immediate=True)

    def extend_ids(self, ids: Sequence[str]) -> None:
        """Show ``ids``, which begin with the rows shown (a search result counted after its
        first page was shown): the cursor stays, the rows on screen are not drawn again."""
        self.ids = ids
        self._set_height(len(ids))
        self.refresh()

    def _set_height(self, rows: int) -> None:
        # No layout needed: the pane's size comes from the stylesheet and it draws its own
        # scrollbar (see render_line); `allow_vertical_scroll` lets it scroll all the same.
        self.set_reactive(PaperList.virtual_size, Size(self.size.width, rows))
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    @property
    def allow_vertical_scroll(self) -> bool:
        return self.max_scroll_y > 0

    def invalidate(self) -> None:
        """Forget every rendered row (the library changed)."""
        self._generation += 1
        self._cache.clear()
        self._framed.clear()
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
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        # A step past the edge scrolls half a page (as mutt and less do), so the cursor lands
        # mid-pane: the next presses repaint two rows instead of every row of the pane.
        step = abs(index - previous) == 1
        if height <= 0:  # (keys typed before the first layout: `on_resize` shows the cursor)
            pass
        elif index < top:
            self.scroll_to(y=index - (height // 2 if step else 0), animate=False, immediate=True)
        elif index >= top + height:
            bottom = index - height + 1
            self.scroll_to(y=bottom + (height // 2 if step else 0), animate=False, immediate=True)
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

    def find_unread(self, step: int, start: int | None = None) -> int | None:
        """Index of the next (step=1) or previous (step=-1) unread paper after the cursor,
        or from row ``start`` on (itself included)."""
        index = self._cursor + step if start is None else start
        while 0 <= index < len(self.ids):
            if not self.library.raw_state(self.ids[index]).get("read"):
                return index
            index += step
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self.ids:  # the border
            return
        x, y = offset
        height = self.scrollable_content_region.height
        if x == self.scrollable_content_region.width - 1 and len(self.ids) > height:
            # The scrollbar column: jump to that point of the list.
            self.move_to(round(y / max(height - 1, 1) * (len(self.ids) - 1)))
        elif int(self.scroll_y) + y < len(self.ids):
            self.move_to(int(self.scroll_y) + y)

    def on_resize(self, event: events.Resize) -> None:
        self._set_height(len(self.ids))
        self.invalidate()
        self.call_after_refresh(self._show_cursor)

    def _show_cursor(self) -> None:
        """The cursor's row on screen after a resize (or the first layout), the rows above
        it kept where they fit: the top stays unless the cursor is out of view."""
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if height > 0 and not top <= self._cursor < top + height:
            self.scroll_to(y=max(0, self._cursor - height // 2), animate=False, immediate=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._part_styles.clear()
        self._bars.clear()
        self._cache.clear()
        self._framed.clear()

    @property
    def base_style(self) -> Style:
        """The widget's own Rich style (walking the ancestors for it on every row was a third
        of the cost of scrolling a page)."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def on_focus(self) -> None:
        self.invalidate()

    def on_blur(self) -> None:
        self.invalidate()

    # ------------------------------------------------------------------ drawing
    def _thumb(self, height: int) -> tuple[int, int]:
        """Rows of the scrollbar's thumb, (0, 0) when every paper fits."""
        total = len(self.ids)
        if total <= height:
            return 0, 0
        size = max(1, height * height // total)
        start = round(self.scroll_y / (total - height) * (height - size))
        return start, start + size

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of one paint shares, worked out once for all of them: each look at
        # the pane's region walks the DOM, which cost more than drawing the rows.
        region = self.scrollable_content_region
        height = region.height
        frame = (region.width - 1, height, int(self.scroll_y), self._thumb(height))
        self._frame = frame
        gutter = self.styles.gutter.top
        rows = range(max(crop.y - gutter, 0), min(crop.bottom - gutter, height))
        self._keys = {y: self._row_key(y, frame) for y in rows if frame[2] + y < len(self.ids)}
        try:
            self._read_rows()
            edges = self._edges()
            if edges is None:
                return super().render_lines(crop)
            return self._framed_lines(crop, edges)
        finally:
            self._frame = None
            self._keys = {}

    def _read_rows(self) -> None:
        """Read the rows about to be drawn that are not drawn yet from the library at once
        (`Library.rows`: one query for a page down's screenful instead of two a row)."""
        missing = [key[0] for key in self._keys.values() if key not in self._cache]
        if len(missing) > 1:
            with contextlib.suppress(KeyError):  # (each row then says why on its own)
                self.library.rows(missing)

    def _row_key(self, y: int, frame: tuple[int, int, int, tuple[int, int]]) -> tuple:
        """What the strip of content line ``y`` (a paper's row) is cached under."""
        width, _height, top, (start, end) = frame
        index = top + y
        pid = self.ids[index]
        bar = None if start == end else start <= y < end
        selected = pid in self.selection
        return (pid, width, index == self._cursor, selected, self.has_focus, self._generation, bar)

    def _edges(self) -> tuple[Segment, Segment, Style, list[LineFilter], Color] | None:
        """The left and right border cells of a row, the rows' background, the app's line
        filters and the colour they filter against, as Textual's `StylesCache` adds them to
        each line; None when the pane is styled in a way this does not cover (padding,
        tint, opacity, an outline, a hatch, no side borders): then Textual draws it."""
        styles = self.styles
        (_, (border_right, right_color), _, (border_left, left_color)) = styles.border
        if (
            not (border_left and border_right)
            or any(styles.padding)
            or styles.tint.a
            or styles.text_opacity != 1.0
            or any(edge for edge, _color in styles.outline)
            or (styles.has_rule("hatch") and styles.hatch != "none")
            or self.opacity != 1.0
        ):
            return None
        base_background, background = self.background_colors
        inner = TextualStyle(background=base_background + background)
        outer = TextualStyle(background=base_background)
        left = get_box(
            border_left, inner, outer, TextualStyle(foreground=base_background + left_color)
        )
        right = get_box(
            border_right, inner, outer, TextualStyle(foreground=base_background + right_color)
        )
        filters = list(self.get_line_filters())
        return left[1][0], right[1][2], inner.rich_style, filters, background

    def _framed_lines(
        self, crop: Region, edges: tuple[Segment, Segment, Style, list[LineFilter], Color]
    ) -> list[Strip]:
        """The lines of ``crop`` as Textual's `Widget.render_lines` draws them, each row
        kept with its borders and filters: a page down frames and filters each new row
        once, a row seen before (paging back) is a look-up. Textual draws the top and
        bottom borders (with the title)."""
        left, right, inner, filters, background = edges
        gutter = self.styles.gutter
        width, height = self.outer_size
        inner_width = width - gutter.width
        lines: list[Strip] = []
        for y in crop.line_range:
            if y < gutter.top or y >= height - gutter.bottom:
                # (its title's look is in the styles: a change of them clears `_framed`)
                edge = (y, width, self._border_title, self._border_subtitle, edges[:3])
                line = self._framed.get(edge)
                if line is None:
                    line = self._framed[edge] = super().render_lines(Region(0, y, width, 1))[0]
                lines.append(line)
                continue
            row = self._keys.get(y - gutter.top)
            key = None if row is None else (row, edges[:3], background)
            strip = None if key is None else self._framed.get(key)
            if strip is None:
                content = self.render_line(y - gutter.top)
                content = content.adjust_cell_length(inner_width, inner)
                strip = Strip([left, *content, right], width)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                if key is not None:
                    self._framed[key] = strip
            lines.append(strip)
        if crop.column_span != (0, width):
            lines = [line.crop(*crop.column_span) for line in lines]
        return lines

    def render_line(self, y: int) -> Strip:
        # Each row as cached with its cell of scrollbar (drawn here because Textual's own
        # scrollbar cost more to repaint than the whole page of rows).
        frame = self._frame
        if frame is None:  # (called on its own, not by render_lines)
            region = self.scrollable_content_region
            frame = (
                region.width - 1,
                region.height,
                int(self.scroll_y),
                self._thumb(region.height),
            )
        width, _height, top, (start, end) = frame
        index = top + y
        if not self.ids or index >= len(self.ids):
            bar = None if start == end else start <= y < end
            return Strip.join([self._blank_line(y, width), Strip([self._bar(bar)], 1)])
        key = self._keys.get(y) or self._row_key(y, frame)
        strip = self._cache.get(key)
        if strip is None:
            pid, _width, is_cursor, selected, _focus, _generation, bar = key
            strip = self._render_row(pid, width, is_cursor, selected, self._bar(bar))
            self._cache[key] = strip
        return strip

    def _bar(self, thumb: bool | None) -> Segment:
        """The scrollbar's cell: the thumb (True), the track (False), none (None)."""
        bar = self._bars.get(thumb)
        if bar is None:
            if thumb is None:
                style = self.base_style
            else:
                part = "scrollbar-thumb" if thumb else "scrollbar"
                style = self.get_component_rich_style(f"paper-list--{part}")
            bar = self._bars[thumb] = Segment(" ", style)
        return bar

    def _blank_line(self, y: int, width: int) -> Strip:
        """A line with no paper: blank, or the empty view's message (from the second line,
        wrapped to the width)."""
        base = self.base_style
        if not self.ids and y >= 1:
            import textwrap

            lines = textwrap.wrap(self.empty_text, max(10, width - 4)) or [""]
            if y > len(lines):
                return Strip.blank(width, base)
            style = self.get_component_rich_style("paper-list--empty")
            text = Text("  " + lines[y - 1], style=style, no_wrap=True, end="")
            text.truncate(width, overflow="ellipsis", pad=True)
            return Strip(list(text.render(self.app.console)), width).apply_style(base)
        return Strip.blank(width, base)

    def _styles(self, is_cursor: bool) -> dict[str, Style]:
        """Each part's final Rich style (the base, the part's, and the cursor's on top)."""
        key = (is_cursor, self.has_focus)
        styles = self._part_styles.get(key)
        if styles is None:
            base = self.base_style
            post = Style()
            if is_cursor:
                # The cursor's colours win over each part's, so the row reads in every theme.
                name = "paper-list--cursor" if self.has_focus else "paper-list--cursor-blurred"
                cursor = self.get_component_rich_style(name)
                post = Style(color=cursor.color, bgcolor=cursor.bgcolor, bold=cursor.bold)
            styles = {"": base + post}
            for part in ROW_PARTS:
                styles[part] = base + self.get_component_rich_style(f"paper-list--{part}") + post
            # A watch rule's colour over a part ("watch:magenta", `tui.frame.row_parts`):
            # every colour a rule may have, drawn for this theme; the cursor's still wins.
            app = self.app
            dark = None if app.native_ansi_color else app.current_theme.dark
            for part in ("watch", "unread"):
                for color in TINTS:
                    own = styles[part] + Style(color=tint(color, dark))
                    styles[f"{part}:{color}"] = own + post
            self._part_styles[key] = styles
        return styles

    def _colors(self) -> dict[str, str]:
        """The watch rules' colours to draw (`Library.watch_colors`): none under NO_COLOR."""
        return {} if self.app.no_color else self.library.watch_colors()

    def _render_row(
        self, pid: str, width: int, is_cursor: bool, selected: bool, bar: Segment | None = None
    ) -> Strip:
        """Row ``pid`` drawn ``width`` cells wide, then the scrollbar's cell ``bar``."""
        parts, length = row_parts(
            self.library.raw(pid),
            self.library.raw_state(pid),
            width,
            selected,
            date_key=self.date_key,
            this_year=self.this_year,
            watched=self.library.watched_tags(),
            colors=self._colors(),
        )
        style = self._styles(is_cursor)
        plain = style[""]
        segments = [Segment(text, style[part]) for text, part in parts]
        if bar is None:
            return Strip(segments, length).adjust_cell_length(width, plain)
        if length == width:  # (always, unless the pane is too narrow for the date)
            return Strip([*segments, bar], width + 1)
        row = Strip(segments, length).adjust_cell_length(width, plain)
        return Strip.join([row, Strip([bar], 1)])

    def row_text(self, index: int) -> str:
        """The plain text of row ``index`` as drawn (for tests and screen readers)."""
        strip = self._render_row(self.ids[index], max(self.size.width, 40), False, False)
        return strip.text
