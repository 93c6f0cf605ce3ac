"""The notes pane: a Markdown `TextArea` for the highlighted paper's note.

The pane never writes to the library itself: it posts `Notes.Save` a second after the last
keystroke, at the latest two seconds after the first unsaved one (a steady typist is saved
every two seconds, not only when they pause), and when focus leaves; the app (which owns the
library) stores it and reports back with `mark_saved` or `mark_unsaved`. The text counts as
saved only once the app said the write succeeded. `pending()` hands over the unsaved note
synchronously when the paper changes or the app quits.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import TextArea

from ..library.notes import note_edit
from ..text import clean
from .ordered_keys import OrderedKeys

SAVE_DELAY = 1.0  # seconds after the last keystroke
SAVE_MAX_WAIT = 2.0  # seconds after the first unsaved keystroke, however fast the typing
# Invisible characters keyboards type as part of words (ZWNJ, ZWJ), kept when typed.
TYPED_FORMAT_CHARACTERS = frozenset("\u200c\u200d")


def _markdown_language() -> str | None:
    """ "markdown" where the tree-sitter grammar is installed, else plain text."""
    try:
        from textual._tree_sitter import TREE_SITTER  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    return "markdown" if TREE_SITTER else None


def saved_label(text: str, had_note: bool) -> str:
    """The pane's subtitle once ``text`` is stored: "saved" for a note that exists, "note
    removed" when a note (``had_note``) was emptied, nothing for a note never written."""
    if text.strip():
        return "saved"
    return "note removed" if had_note else ""


def moved_offset(offset: int, old: str, new: str) -> int:
    """Where the character offset ``offset`` of ``old`` is in ``new``, ``old`` with one span
    changed (`note_edit`'s): before the span it stays, after it it moves by what the span
    gained or lost, inside it it goes to the span's end."""
    edit = note_edit(old, new)
    at, cut, put = edit["at"], len(edit["cut"]), len(edit["put"])
    if offset <= at:
        return offset
    if offset >= at + cut:
        return offset + put - cut
    return at + put


IDLE_HINT = "No note yet. Press e (or Enter) to write one; it saves itself."
WRITING_HINT = "Type the note; it saves itself. Esc goes back to the list."


class Notes(OrderedKeys, TextArea):
    """Free-form Markdown notes about one paper, saved without being asked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to list", id="notes.leave"),
        Binding("ctrl+s", "save_now", "Save", id="notes.save"),
    ]
    """Escape (or Tab) leaves the note; it is saved either way."""

    @dataclass
    class Save(Message):
        """Time to store the note of ``paper_id``. ``text`` (written from the stored note
        ``base``) is the pane's text when this was sent; the app stores what the pane holds
        when it gets here (`pending`), so a late message never puts older text back."""

        paper_id: str
        text: str
        base: str

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
            placeholder=IDLE_HINT,
        )
        self.cursor_blink = cursor_blink
        self.paper_id: str | None = None
        self._saved = ""  # the note as stored in the library, as shown (`clean`)
        self._base = ""  # the note as stored: what an edit here was written from
        self._idle: Timer | None = None  # restarted by every keystroke
        self._deadline: Timer | None = None  # started by the first unsaved keystroke
        self._typing = threading.Lock()  # held by each edit; `freeze` keeps it for good

    def load_note(self, pid: str | None, text: str, unsaved: str | None = None) -> None:
        """Show the note of ``pid``: ``text`` as stored, or ``unsaved``, text the library has
        not taken yet (then the pane says so; see `mark_unsaved`).

        Controls and escape sequences (from another tool or an older version) are not shown:
        a text area draws its text as it is. The note is stored without them only if edited.
        """
        self._base = text
        text = clean(text)
        other_paper = pid != self.paper_id
        self.paper_id = pid
        self._saved = text
        shown = text if unsaved is None else unsaved
        if self.text != shown:
            self.load_text(shown)
        self.read_only = pid is None
        self._stop_timers()
        if not self.dirty:
            self._show_unsaved(None)
            if other_paper:  # "saved" is said of the note just written, not the next one
                self.border_subtitle = ""

    @property
    def dirty(self) -> bool:
        """The pane holds text the library does not have yet."""
        return self.paper_id is not None and self.text != self._saved

    def pending(self) -> tuple[str, str, str] | None:
        """The unsaved (paper id, note, stored note it was written from), None when nothing
        is pending; it stays unsaved until `mark_saved` is called for it."""
        self._stop_timers()
        if not self.dirty:
            return None
        assert self.paper_id is not None
        return self.paper_id, self.text, self._base

    def mark_saved(self, pid: str, text: str, stored: str | None = None) -> None:
        """The library now holds ``text`` as the note of ``pid`` (or ``stored``: ``text``
        merged with an edit made meanwhile elsewhere, shown here unless typing went on)."""
        if pid != self.paper_id:
            return
        had_note = bool(self._saved.strip())
        self._saved = self._base = text
        if stored is not None and stored != text and self.text == text:
            # The cursor stays where it was in the text typed here, wherever the merge put
            # that text: kept at its row and column, the next keys went into the other
            # window's words (a Backspace deleted them).
            offset = self.document.get_index_from_location(self.cursor_location)
            self.load_note(pid, stored)
            offset = moved_offset(offset, text, self.text)
            with contextlib.suppress(ValueError):
                self.cursor_location = self.document.get_location_from_index(offset)
        if not self.dirty:
            self._show_unsaved(None)
            self.border_subtitle = saved_label(self.text, had_note)

    def mark_unsaved(self, pid: str, reason: str) -> None:
        """Saving the note of ``pid`` failed (``reason``, one line): say so, keep the text."""
        if pid == self.paper_id and self.dirty:
            self._show_unsaved(reason)

    def _show_unsaved(self, reason: str | None) -> None:
        self.set_class(reason is not None, "-unsaved")
        if reason is not None:
            self.border_subtitle = f"NOT SAVED, retrying: {reason}"

    def edit(self, edit: Any) -> Any:
        with self._typing:
            return super().edit(edit)

    def freeze(self, timeout: float) -> None:
        """No edit from now on (each one waits, for good): the stop watch's last look at
        the text before the process ends, from its own thread (`rescue_typed_since`)."""
        self._typing.acquire(timeout=timeout)

    def _stop_timers(self) -> None:
        for timer in (self._idle, self._deadline):
            if timer is not None:
                timer.stop()
        self._idle = self._deadline = None

    def _post_pending(self) -> None:
        pending = self.pending()
        if pending:
            self.post_message(self.Save(*pending))

    async def _on_key(self, event: events.Key) -> None:
        # Textual types only characters it calls printable: the zero-width (non-)joiner a
        # Persian or Indic keyboard produces would be dropped (می‌خواهم stored as میخواهم).
        if not self.read_only and event.character in TYPED_FORMAT_CHARACTERS:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard(event.character, start, end)
            return
        await super()._on_key(event)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self.dirty:
            return
        if self._idle is not None:
            self._idle.stop()
        self._idle = self.set_timer(SAVE_DELAY, self._post_pending)
        if self._deadline is None:
            self._deadline = self.set_timer(SAVE_MAX_WAIT, self._post_pending)

    def on_focus(self) -> None:
        # Toasts go to the top while a note is written: at the bottom they covered it.
        self.screen.query("ToastRack").add_class("-writing-note")
        self.placeholder = WRITING_HINT

    def on_blur(self) -> None:
        self.screen.query("ToastRack").remove_class("-writing-note")
        self.placeholder = IDLE_HINT
        self._post_pending()

    def action_save_now(self) -> None:
        self._post_pending()

    def action_leave(self) -> None:
        self._post_pending()
        self.post_message(self.Leave())
