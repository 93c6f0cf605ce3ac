"""The notes pane: a Markdown `TextArea` for the highlighted paper's note.

The pane never writes to the library itself: it posts `Notes.Save` a second after the last
keystroke and when focus leaves, and the app (which owns the library) stores it. `take_pending()`
hands over an unsaved note synchronously when the paper changes or the app quits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import TextArea

from ..text import clean

SAVE_DELAY = 1.0  # seconds after the last keystroke


def _markdown_language() -> str | None:
    """ "markdown" where the tree-sitter grammar is installed, else plain text."""
    try:
        from textual._tree_sitter import TREE_SITTER  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    return "markdown" if TREE_SITTER else None


class Notes(TextArea):
    """Free-form Markdown notes about one paper, saved without being asked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to list", id="notes.leave"),
        Binding("ctrl+s", "save_now", "Save", id="notes.save"),
    ]
    """Escape (or Tab) leaves the note; it is saved either way."""

    @dataclass
    class Save(Message):
        """Store ``text`` as the note of ``paper_id``."""

        paper_id: str
        text: str

    @dataclass
    class Leave(Message):
        """The user is done with the note (Escape)."""

    def __init__(self, *, id: str | None = None, cursor_blink: bool = True) -> None:  # noqa: A002
        super().__init__(
            "",
            language=_markdown_language(),
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            id=id,
            placeholder="No note yet. Press e (or Enter) to write one; it saves itself.",
        )
        self.cursor_blink = cursor_blink
        self.paper_id: str | None = None
        self._saved = ""
        self._timer: Timer | None = None

    def load_note(self, pid: str | None, text: str) -> None:
        """Show the note of ``pid`` (call `take_pending()` first).

        Controls and escape sequences (from another tool or an older version) are not shown:
        a text area draws its text as it is. The note is stored without them only if edited.
        """
        text = clean(text)
        self.paper_id = pid
        self._saved = text
        if self.text != text:
            self.load_text(text)
        self.read_only = pid is None

    @property
    def dirty(self) -> bool:
        return self.paper_id is not None and self.text != self._saved

    def take_pending(self) -> tuple[str, str] | None:
        """The unsaved (paper id, note), marked as saved; None when nothing is pending."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.dirty:
            return None
        assert self.paper_id is not None
        self._saved = self.text
        return self.paper_id, self.text

    def _post_pending(self) -> None:
        pending = self.take_pending()
        if pending:
            self.post_message(self.Save(*pending))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self.dirty:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SAVE_DELAY, self._post_pending)

    def on_blur(self) -> None:
        self._post_pending()

    def action_save_now(self) -> None:
        self._post_pending()

    def action_leave(self) -> None:
        self._post_pending()
        self.post_message(self.Leave())
