"""The tag editor: comma- or space-separated tags, completing from the library's tags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from ..text import clean_line

_SPLIT = re.compile(r"[,\s]+")
SUBJECT_MAX = 200  # characters of the paper's title shown in the dialog's heading


def parse_tags(value: str) -> list[str]:
    """Tags from the editor's text: split on commas and spaces, '#' dropped, duplicates once."""
    tags = [t.lstrip("#") for t in _SPLIT.split(value.strip())]
    return list(dict.fromkeys(t for t in tags if t))


class TagSuggester(Suggester):
    """Completes the tag being typed (the last word) from the existing tags."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.tags = list(tags)

    async def get_suggestion(self, value: str) -> str | None:
        match = re.search(r"#?([^,\s]*)$", value)
        if not match or not match.group(1):
            return None
        partial = match.group(1)
        typed = set(parse_tags(value[: match.start()]))
        for tag in self.tags:
            if tag.casefold().startswith(partial.casefold()) and tag != partial:
                if tag not in typed:
                    return value[: match.start(1)] + tag
        return None


class TagDialog(ModalScreen[list[str] | None]):
    """Edit the tags of one paper or of the selection."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="tags.cancel"),
    ]
    """Enter saves, Escape cancels, → or Tab accepts the suggestion."""

    def __init__(self, subject: str, current: list[str], known: Sequence[str]) -> None:
        super().__init__(classes="dialog-screen")
        # Shown literally and without controls (tags may come from another tool); a very long
        # title is cut so it never pushes the input out of the dialog.
        subject = clean_line(subject)
        self.subject = subject if len(subject) <= SUBJECT_MAX else subject[:SUBJECT_MAX] + "…"
        self.current = [clean_line(t) for t in current]
        self.known = [clean_line(t) for t in known]

    def compose(self) -> ComposeResult:
        with Vertical(id="tag-dialog", classes="dialog"):
            yield Static(Content("Tags for " + self.subject), classes="dialog-title")
            yield Input(
                ", ".join(self.current),
                placeholder="e.g. diffusion, to-read",
                suggester=TagSuggester(self.known),
                id="tag-input",
            )
            known = ", ".join(self.known[:12]) if self.known else "none yet"
            yield Static(Content("Existing: " + known), classes="dialog-hint", id="tag-known")
            yield Static(
                Content("Enter saves · Esc cancels · → accepts a suggestion · empty removes all"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(parse_tags(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
