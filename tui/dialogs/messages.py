"""The `!` screen: this session's errors and warnings in full, the newest first.

A toast shows a message for a few seconds and cuts a long one; an import that could not read
several files sums them up in one line. Here every one is kept whole (file names and reasons
shown literally), to be read at leisure, as lazygit's command log or mutt's message history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..text import printable
from .help import HelpScreen

# time ("14:02:07"), severity ("error", "warning"), text, the lines listed under it
Entry = tuple[str, str, str, list[str]]


class MessagesScreen(HelpScreen):
    """The errors and warnings of this session, each as it was said, the newest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,exclamation_mark", "close", "Close", id="messages.close"),
    ]
    """Esc, q or ! closes; j/k, PgDn/PgUp (space), g/G scroll (as in the help)."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        super().__init__(rows=())
        self.entries = list(entries)

    def compose(self) -> ComposeResult:
        with Vertical(id="messages", classes="dialog"):
            yield Static(
                Content("Messages — errors and warnings, newest first"), classes="dialog-title"
            )
            with VerticalScroll(id="help-body"):
                if not self.entries:
                    yield Static(Content("No errors or warnings in this session."))
                for when, severity, text, items in self.entries:
                    yield Static(
                        Content(f"{when}  {severity}"), classes=f"message-head -{severity}"
                    )
                    lines = "\n".join(printable(line) for line in text.split("\n"))
                    yield Static(Content(lines), classes="message-text")
                    for item in items:  # (one of a list: its wrapped lines indented)
                        with Horizontal(classes="message-item"):
                            yield Static(Content("•"), classes="message-bullet")
                            yield Static(Content(printable(item)))
            yield Static(Content("Esc, q or ! closes · j k PgDn g G scroll"), classes="dialog-hint")
