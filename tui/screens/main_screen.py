"""The app's own screen: the default one, with the footer showing a focused box's way out."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import ActiveBinding, Binding
from textual.screen import Screen

from ..keys import FIXED


class MainScreen(Screen[None]):
    """The screen the app composes into (`App.get_default_screen`).

    The app's keys are priority bindings (`tui.keys.APP_BINDINGS`), so the app's hidden Esc
    shadows a focused widget's shown one in the footer (while typing a note the footer said
    ``^s Save`` and nothing about Esc). Here a key the focused widget binds and shows is shown
    with the widget's description; what the key does is unchanged (the app's binding, which
    hands it on: `PaperTUI.action_escape`). Only the app's Enter and Esc hand a key on (their
    keys cannot be remapped, `keys.FIXED`): another app key the user put on a widget's key
    (``pane_next = ["tab", "ctrl+s"]``) does its own action there, and keeps its own (hidden)
    label."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's active bindings (key: node, binding, enabled, tooltip), a hidden app key
        the focused widget shows re-labelled with the widget's description."""
        active = super().active_bindings
        focused = self.focused
        if focused is None:
            return active
        for own in type(focused).BINDINGS:
            if not isinstance(own, Binding) or not own.show:
                continue
            for key in own.key.split(","):
                held = active.get(key.strip())
                if (
                    held is not None
                    and held.binding.id in FIXED
                    and held.binding.priority
                    and not held.binding.show
                ):
                    shown = replace(held.binding, description=own.description, show=True)
                    active[key.strip()] = held._replace(binding=shown)
        return active
