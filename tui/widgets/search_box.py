"""The `/` box at the top: the search language, filtering the list as you type."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.widgets import Input

from .ordered_keys import OrderedKeys


class SearchBox(OrderedKeys, Input):
    """The `/` box: Enter keeps the results and returns to the list, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.clear_search", "Clear search", id="search.clear"),
        Binding("down", "app.focus_list", "To list", id="search.to_list"),
    ]
    """Typing filters the list as you go."""

    def _watch_value(self, value: str) -> None:
        # Textual's Input sets its scrollable width as a layout reactive on every keystroke,
        # which lays the whole screen out again (10-40 ms at 120x40, each key typed); the box
        # keeps its size, so the width is set first without a layout (the Input then finds
        # it unchanged).
        self.set_reactive(SearchBox.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)
