"""Editing keys applied in the order they were typed.

Textual runs a widget's key *bindings* (Backspace, Delete, the arrows, Home, End, Ctrl+W …
in `Input` and `TextArea`) only after the key has bubbled up to the app, while the same
widget inserts printable keys at once: when several keys arrive in one read of the terminal
(a laggy SSH link, a busy moment), ``to-read⌫⌫⌫⌫do`` was stored as ``to-re``. These widgets
run their own bindings as each key arrives, so every key applies in the order it was typed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea


@cache
def _own_actions(cls: type) -> dict[str, str]:
    """Key → action of the bindings ``cls`` and its bases declare (the nearest one wins)."""
    actions: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for item in klass.__dict__.get("BINDINGS", ()):
            binding = item if isinstance(item, Binding) else Binding(*item)
            for key in binding.key.split(","):
                actions[key.strip()] = binding.action
    return actions


class OrderedKeys:
    """Mixin (before `Input` or `TextArea` in the bases) running the widget's own key
    bindings as the key arrives instead of after it has bubbled up to the app."""

    async def _on_key(self, event: events.Key) -> None:
        action = _own_actions(type(self)).get(event.key)
        if action is not None:  # ("app.…" and "screen.…" actions are run where they belong)
            app = self.app  # type: ignore[attr-defined]
            if await app.run_action(action, self):  # (False when check_action refuses it)
                event.stop()
                event.prevent_default()
                return
        await super()._on_key(event)  # type: ignore[misc]


class TextInput(OrderedKeys, Input):
    """A one-line text box whose editing keys apply in the order typed."""


def ordered(widget: Any) -> bool:
    """Whether ``widget`` applies its editing keys in order (for tests)."""
    return isinstance(widget, OrderedKeys) and isinstance(widget, (Input, TextArea))
