"""The `?` screen: every key, grouped, built from the same binding data as the palette."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..keys import HelpRow
from .base import Dialog


class HelpScreen(Dialog[None]):
    """All the keys, so nobody has to remember them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Scroll", show=False, id="help.down"),
        Binding("k,up", "scroll(-1)", "Scroll", show=False, id="help.up"),
        Binding("pagedown,space", "page(1)", "Page", show=False, id="help.page_down"),
        Binding("pageup", "page(-1)", "Page", show=False, id="help.page_up"),
        Binding("g,home", "home", "Top", show=False, id="help.home"),
        Binding("G,end", "end", "Bottom", show=False, id="help.end"),
    ]
    """Esc, q or ? closes; j/k, PgDn/PgUp (space), g/G scroll."""

    def __init__(self, rows: Sequence[HelpRow], notes: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = list(rows)
        self.notes = list(notes)

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Static(Content("papertui — keys"), classes="dialog-title")
            with VerticalScroll(id="help-body"):
                # A grid, so the key column is as wide as its widest keys and a long
                # description wraps within its own column.
                with Grid(id="help-table"):
                    section = None
                    for sec, keys, description in self.rows:
                        if sec != section:
                            yield Static(Content(sec), classes="help-section")
                            section = sec
                        yield Static(Content(keys), classes="help-keys")
                        yield Static(Content(description), classes="help-text")
                if self.notes:
                    yield Static(Content("\n".join(self.notes)), classes="dialog-hint")
            yield Static(
                Content("Esc, q or ? closes · j k PgDn g G scroll · ctrl+p: any action by name"),
                classes="dialog-hint",
            )

    # (immediate: each of many keys sent at once scrolls from where the last one left it;
    # a deferred scroll made ten k's scroll one or two lines)
    def action_scroll(self, lines: int) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        body.scroll_relative(y=lines, animate=False, immediate=True)

    def action_page(self, pages: int) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        step = pages * max(1, body.scrollable_content_region.height - 1)
        body.scroll_relative(y=step, animate=False, immediate=True)

    def action_home(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_home(animate=False, immediate=True)

    def action_end(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_end(animate=False, immediate=True)

    def action_close(self) -> None:
        self.answer(None)
