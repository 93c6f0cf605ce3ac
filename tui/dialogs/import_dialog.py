"""The import dialog: a file or directory path (completed as you type), or the clipboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Button, Input, Static

from ..text import has_controls
from ..widgets.ordered_keys import TextInput
from .base import Dialog


class PathSuggester(Suggester):
    """Completes the last component of a path from the directory's entries."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, stem = os.path.split(expanded)
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            return None
        for name in names:
            if has_controls(name):  # drawn, its escapes would reach the terminal
                continue
            if name.startswith(stem) and name != stem and not name.startswith("."):
                full = os.path.join(folder, name)
                suffix = "/" if os.path.isdir(full) else ""
                return value + name[len(stem) :] + suffix
        return None


class ImportDialog(Dialog[tuple[str, str] | None]):
    """Returns ("file", path), ("clipboard", "") or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="import.cancel"),
        # (priority: the path box's own Ctrl+V, paste, would take the key first)
        Binding("ctrl+v", "clipboard", "From clipboard", id="import.clipboard", priority=True),
    ]
    """Enter imports the path (or the clipboard when empty); Esc cancels."""

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")  # (centred, like the other dialogs)

    def compose(self) -> ComposeResult:
        with Vertical(id="import-dialog", classes="dialog"):
            yield Static(Content("Import a feed"), classes="dialog-title")
            yield TextInput(
                placeholder="file or directory path (empty: the clipboard)",
                suggester=PathSuggester(),
                id="import-path",
            )
            yield Static(
                Content(
                    "Saved pages (.txt/.html/.xml) or a folder of them. "
                    "Enter imports · → completes · Esc cancels"
                ),
                classes="dialog-hint",
            )
            yield Static(id="import-error", classes="dialog-error -hidden")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import file", variant="primary", id="file")
                yield Button("From clipboard", id="clipboard")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self, value: str) -> None:
        value = value.strip()
        if not value:
            self.answer(("clipboard", ""))
            return
        path = Path(value).expanduser()
        if not path.exists():
            error = self.query_one("#import-error", Static)
            error.update(Content(f"{value}: no such file or directory"))
            error.remove_class("-hidden")
            return
        self.answer(("file", str(path)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clipboard":
            self.answer(("clipboard", ""))
        else:
            self._submit(self.query_one(Input).value)

    def action_clipboard(self) -> None:
        self.answer(("clipboard", ""))

    def action_cancel(self) -> None:
        self.answer(None)
