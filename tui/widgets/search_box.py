"""The `/` box at the top: the search language, filtering the list as you type."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from .ordered_keys import OrderedKeys


class SearchBox(OrderedKeys, Input):
    """The `/` box: Enter keeps the results and returns to the list, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.clear_search", "Clear search", id="search.clear"),
        Binding("down", "app.focus_list", "To list", id="search.to_list"),
    ]
    """Typing filters the list as you go."""
