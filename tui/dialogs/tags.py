"""The tag editor: tags separated by commas or spaces (see `tui.tags`), completing from the
library's tags. It returns the edit (tags added, tags removed), not a whole list, so a tag
another process added while it was open survives, and tags it shows unchanged stay as stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Input, Static

from ..tags import TagEdit, TagError, edit, format_tag, format_tags, last_item, parse_tags
from ..text import clean_line, has_controls
from ..widgets.ordered_keys import TextInput
from .base import Dialog

__all__ = ["SUBJECT_MAX", "TagDialog", "TagSuggester", "parse_tags"]

SUBJECT_MAX = 200  # characters of the paper's title shown in the dialog's heading


class TagSuggester(Suggester):
    """Completes the tag being typed (the last item) from the existing tags."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.tags = list(tags)

    async def get_suggestion(self, value: str) -> str | None:
        item = last_item(value)
        if item is None or not item[0] or '"' in item[0]:
            return None
        partial, quoted = item
        head = value[: len(value) - len(partial)]
        try:
            typed = set(parse_tags(head + ('"' if quoted else "")))
        except TagError:
            typed = set()
        folded = partial.casefold()
        for tag in self.tags:
            if tag in typed or tag == partial or not tag.casefold().startswith(folded):
                continue
            if has_controls(tag):  # (an old tag with a control character: never drawn raw)
                continue
            if quoted:
                return head + tag.replace('"', '""') + '"'
            if format_tag(tag) == tag:  # a tag that needs quotes is offered inside quotes
                return head + tag
        return None


class TagInput(TextInput):
    """The tag box: the keys that arrive after Enter (typed with it: a fast typist, a slow
    link) are held, not typed into a box about to close, and go to the app once it has
    (but Enter and Esc, which were meant for the dialog)."""

    held: list[events.Key] | None = None

    async def action_submit(self) -> None:
        self.held = []
        await super().action_submit()

    async def _on_key(self, event: events.Key) -> None:
        if self.held is not None:
            self.held.append(event)
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def release(self, to_app: bool) -> None:
        """Send the held keys on: to the app (the dialog has closed) or back to this box
        (it stays open: the input could not be saved)."""
        keys, self.held = self.held or [], None
        target = self.app if to_app else self
        for key in keys:
            if to_app and key.key in ("enter", "escape"):
                continue  # (a second Enter or an Esc meant the dialog: not a note opened)
            target.post_message(events.Key(key.key, key.character))


class TagDialog(Dialog[TagEdit | None]):
    """Edit the tags of one paper or of the selection; dismissed with the `TagEdit`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="tags.cancel"),
    ]
    """Enter saves, Escape cancels, → or Tab accepts the suggestion."""

    def __init__(
        self,
        subject: str,
        current: list[str],
        known: Sequence[str],
        *,
        text: str | None = None,
        error: str = "",
    ) -> None:
        """``text``: what the box holds when it opens (default: the current tags); ``error``:
        shown at once (the previous attempt could not be saved, its text kept in the box)."""
        super().__init__(classes="dialog-screen")
        # Shown literally and without controls (tags may come from another tool); a very long
        # title is cut so it never pushes the input out of the dialog.
        subject = clean_line(subject)
        self.subject = subject if len(subject) <= SUBJECT_MAX else subject[:SUBJECT_MAX] + "…"
        self.current = list(current)  # as stored: the edit is computed against these
        self.known = [clean_line(t) for t in known]
        # (after the tags a separator: typing adds a tag, it never runs on into the last one)
        shown = format_tags(self.current) + (", " if self.current else "")
        self.initial = shown if text is None else text
        self.error = clean_line(error)
        self.value = self.initial  # the box's text when the dialog closed

    def compose(self) -> ComposeResult:
        with Vertical(id="tag-dialog", classes="dialog"):
            yield Static(Content("Tags for " + self.subject), classes="dialog-title")
            yield TagInput(
                self.initial,
                placeholder="e.g. diffusion, to-read",
                suggester=TagSuggester(self.known),
                select_on_focus=False,  # typing adds a tag, it never replaces them all
                id="tag-input",
            )
            yield Static(
                Content(self.error),
                id="tag-error",
                classes="dialog-error" + ("" if self.error else " -hidden"),
            )
            shown = sorted(self.known, key=str.casefold)[:12]  # (in order, to be found)
            known = format_tags(shown) if self.known else "none yet"
            yield Static(Content("Existing: " + known), classes="dialog-hint", id="tag-known")
            yield Static(
                Content(
                    "Enter saves · Esc cancels · → accepts a suggestion · commas or spaces "
                    'separate tags, "quotes" keep spaces · delete a tag to remove it'
                ),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.value != self.value:  # edited since the error was shown (not the box opening)
            self.query_one("#tag-error", Static).add_class("-hidden")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            change = edit(self.current, event.value)
        except TagError as err:
            self.value = event.value
            error = self.query_one("#tag-error", Static)
            error.update(Content(str(err)))
            error.remove_class("-hidden")
            self.query_one(TagInput).release(to_app=False)
            return
        self.value = event.value
        field = self.query_one(TagInput)
        self.answer(change)
        self.app.call_after_refresh(field.release, True)  # (once the dialog has gone)

    def action_cancel(self) -> None:
        self.answer(None)
