"""The stats screen (`#`, or "reading statistics" in the palette): four plots of the
reading, drawn with textual-plotext from `tui.stats`.

The figures are computed in a thread worker (a few SQL queries: about a second at a million
papers), so the keys never wait; each plot is drawn again at its own size whenever it is
laid out. At 100 columns and 30 lines or more the four plots share the screen in a 2 x 2
grid; on a smaller terminal one plot fills it and Tab, the arrows or 1-4 change which.
This module (and plotext with it) is imported only when the screen is first opened.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.widgets import Static, Tab, Tabs
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from ..dialogs.base import Dialog
from ..library import LibraryError
from ..stats import EMPTY, FIGURES, TABS, TITLES, ReadingStats, figure_text, reading_stats
from ..text import clean

if TYPE_CHECKING:
    from ..library import Library

WIDE = (100, 30)  # columns, lines: from this size the four plots share the screen
# The hint line: four plots; one plot at a time.
HINTS = (
    "Esc or q closes · a paper counts as read or starred on the day its state last changed",
    "Esc or q closes · Tab, ← → or 1-4: another plot",
)


class StatsPlot(PlotextPlot):
    """One figure of `tui.stats` (``figure``: one of `FIGURES`), drawn at the widget's size
    and theme in a thread worker (plotext takes up to a few hundred milliseconds for 90 days
    of stacked bars) and kept per size: a render never waits for plotext. Empty until `show`
    gives it figures."""

    def __init__(self, figure: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes="stats-plot")
        self.figure = figure
        self.stats: ReadingStats | None = None
        self._drawn: dict[tuple[int, int, str], Text] = {}  # (width, height, theme) → text
        self._shown: Text = Text("")  # the last drawing (shown while the next is made)
        self._drawing: tuple[int, int, str] | None = None

    def show(self, stats: ReadingStats) -> None:
        """Draw ``stats`` (from now on, at every size)."""
        self.stats = stats
        self._drawn.clear()
        self.refresh()

    @property
    def drawn(self) -> bool:
        """Whether the plot shows its figures at its present size."""
        return self.stats is not None and self._key() in self._drawn

    def _key(self) -> tuple[int, int, str]:
        return (self.size.width, self.size.height, self._get_plotext_theme_name(self.app.theme))

    def render(self) -> RenderResult:
        if self.stats is None or not self.size.area:
            return self._shown
        key = self._key()
        text = self._drawn.get(key)
        if text is None:
            if self._drawing != key:
                self._drawing = key
                self._draw(self.stats, key)
            return self._shown
        self._shown = text
        return text

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _draw(self, stats: ReadingStats, key: tuple[int, int, str]) -> None:
        """Draw on a plotext figure of this worker's own (nothing shared with the UI)."""
        width, height, theme = key
        # (under NO_COLOR, the series told apart by their marks: the colours are all grey)
        color = not self.app.no_color
        drawn = figure_text(self.figure, stats, width, height, theme=theme, color=color)
        text = _plain_blanks(Text.from_ansi(drawn))
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._drawn_at, stats, key, text)

    def _drawn_at(self, stats: ReadingStats, key: tuple[int, int, str], text: Text) -> None:
        if stats is self.stats:
            self._drawn[key] = text
            if self._drawing == key:
                self._drawing = None
            self.refresh()


_MARKS = re.compile(r"\S+")


def _plain_blanks(text: Text) -> Text:
    """``text`` with the foreground colour taken off its blanks (the background kept).
    plotext colours whole runs of a row, blanks included, in a series' colour: the same
    picture, but an SVG screenshot then holds the row as one run of no-break spaces, which
    rsvg-convert draws narrower than a cell, shifting the marks in it."""
    out = Text(text.plain, style=text.style, end=text.end, no_wrap=True, overflow="crop")
    plain = text.plain
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        if style.bgcolor is not None:
            out.stylize(Style(bgcolor=style.bgcolor), span.start, span.end)
        for m in _MARKS.finditer(plain, span.start, span.end):
            out.stylize(style, m.start(), m.end())
    return out


class StatsScreen(Dialog[None]):
    """A picture of the reading: papers per day by source, read and starred per day, the
    top tags, the inbox's age."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="stats.close"),
        Binding("tab,right,l", "step(1)", "Next plot", show=False, id="stats.next"),
        Binding("shift+tab,left,h", "step(-1)", "Previous plot", show=False, id="stats.previous"),
        *[
            Binding(str(i + 1), f"pick({i})", TITLES[f], show=False, id=f"stats.{f}")
            for i, f in enumerate(FIGURES)
        ],
    ]
    """Esc or q closes; on a small terminal Tab / the arrows / 1-4 change the plot shown."""

    def __init__(self, library: Library, today: date) -> None:
        super().__init__(id="stats-screen")
        self.library = library
        self.today = today
        self.stats: ReadingStats | None = None
        self.current = 0  # the plot shown when one plot fills the screen

    def compose(self) -> ComposeResult:
        with Vertical(id="stats"):
            yield Static(Content("Reading statistics"), id="stats-title")
            yield Tabs(
                *[Tab(f"{i + 1} {TABS[f]}", id=f"tab-{f}") for i, f in enumerate(FIGURES)],
                id="stats-tabs",
            )
            yield Static(Content("Counting…"), id="stats-status")
            with Grid(id="stats-plots"):
                for f in FIGURES:
                    yield StatsPlot(f, id=f"plot-{f}")
            yield Static(Content(EMPTY), id="stats-empty", classes="-hidden")
            yield Static(id="stats-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False  # (the screen takes the keys)
        self._layout(self.app.size.width, self.app.size.height)
        self.load()

    def on_resize(self) -> None:
        self._layout(self.app.size.width, self.app.size.height)

    def _layout(self, width: int, height: int) -> None:
        """The grid of four from `WIDE` up, else one plot at a time under tabs."""
        one = width < WIDE[0] or height < WIDE[1]
        self.set_class(one, "-one")
        self.query_one("#stats-hint", Static).update(Content(HINTS[one]))
        for i, f in enumerate(FIGURES):
            self.query_one(f"#plot-{f}").set_class(one and i != self.current, "-hidden")

    @work(thread=True, group="stats", exit_on_error=False)
    def load(self) -> None:
        """Compute the figures off the UI thread; `_loaded` shows them."""
        try:
            stats = reading_stats(self.library, self.today)
        except (sqlite3.Error, LibraryError) as err:
            self.app.call_from_thread(self._failed, str(err))
            return
        self.app.call_from_thread(self._loaded, stats)

    def _failed(self, message: str) -> None:
        self.query_one("#stats-status", Static).update(
            Content(f"The figures could not be counted: {clean(message)}")
        )

    def _loaded(self, stats: ReadingStats) -> None:
        self.stats = stats
        status = self.query_one("#stats-status", Static)
        if stats.empty:
            self.query_one("#stats-plots").add_class("-hidden")
            self.query_one("#stats-tabs").add_class("-hidden")
            self.query_one("#stats-empty").remove_class("-hidden")
            status.add_class("-hidden")
            return
        status.update(
            Content(
                f"{stats.papers:,} papers · {stats.unread:,} unread · {stats.starred:,} starred"
                f" · as of {stats.today.isoformat()}"
            )
        )
        for plot in self.query(StatsPlot):
            plot.show(stats)

    @property
    def plots(self) -> list[StatsPlot]:
        """The four plot widgets, in `FIGURES` order."""
        return list(self.query(StatsPlot))

    def action_close(self) -> None:
        self.answer(None)

    def action_step(self, step: int) -> None:
        self.action_pick((self.current + step) % len(FIGURES))

    def action_pick(self, index: int) -> None:
        self.current = index
        self.query_one(Tabs).active = f"tab-{FIGURES[index]}"
        self._layout(self.app.size.width, self.app.size.height)

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        index = FIGURES.index(str(event.tab.id).removeprefix("tab-"))
        if index != self.current:
            self.action_pick(index)
