"""The import dialog: a file or directory path (completed as you type), an http(s) URL, or
the clipboard. What can be checked at once (no such file, a folder without feed files, a URL
that is not http or https) is said here and the dialog stays open; the download and the
parsing run in the app's import worker."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Button, Input, Static

from ..text import has_controls, printable
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
    """Returns ("file", path), ("url", url), ("clipboard", "") or None when cancelled."""

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
                placeholder="file, folder or http(s) URL (empty: the clipboard)",
                suggester=PathSuggester(),
                id="import-path",
            )
            yield Static(
                Content(
                    "Saved pages (.txt/.html/.xml), a folder of them, or a feed's URL. "
                    "Enter imports · → completes · Esc cancels"
                ),
                classes="dialog-hint",
            )
            yield Static(id="import-error", classes="dialog-error -hidden")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import", variant="primary", id="file")
                yield Button("From clipboard", id="clipboard")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self, value: str) -> None:
        value = value.strip()
        if not value:
            self.answer(("clipboard", ""))
            return
        if "://" in value:  # (as `papertui import` tells a URL from a path)
            url = urllib.parse.urlsplit(value)
            if url.scheme.lower() not in ("http", "https") or not url.netloc:
                self._say(f"{value}: only http:// and https:// URLs can be imported")
                return
            self.answer(("url", value))
            return
        path = Path(value).expanduser()
        if not path.exists():
            self._say(f"{value}: no such file or directory")
            return
        if path.is_dir():
            from ..sources import FEED_FILES, expand

            if (path / "papertui.json").is_file():
                self._say(f"{value}: a papertui library, not a folder of feeds")
                return
            if list(expand([str(path)])) == [str(path)]:  # (a folder without feed files)
                self._say(f"{value}: no feed files ({FEED_FILES}) in this folder")
                return
        self.answer(("file", str(path)))

    def _say(self, message: str) -> None:
        """Show why the input cannot be imported; the dialog stays open to fix it."""
        error = self.query_one("#import-error", Static)
        error.update(Content(printable(message)))
        error.remove_class("-hidden")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        # (the error was about what was typed before: it goes once the path is edited)
        self.query_one("#import-error", Static).add_class("-hidden")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clipboard":
            self.answer(("clipboard", ""))
        else:
            self._submit(self.query_one(Input).value)

    def action_clipboard(self) -> None:
        self.answer(("clipboard", ""))

    def action_cancel(self) -> None:
        self.answer(None)
