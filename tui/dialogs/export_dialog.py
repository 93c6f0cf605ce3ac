"""The export dialog (`x`): which format, and which file; a file already there is replaced
only when the user says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from ..exporters import EXPORTERS, exporter_for
from ..text import printable
from ..widgets.ordered_keys import TextInput
from .base import Dialog
from .import_dialog import PathSuggester


class FormatChoice(RadioSet):
    """The export formats: the arrows move, Space chooses, Enter chooses and exports (a
    plain RadioSet takes Enter as Space, so exporting took a second Enter)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Export in this format", show=False),
    ]

    class Chosen(Message):
        """Enter on a format: export in it (``name``: the exporter's name)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def action_choose(self) -> None:
        for button in self.query("RadioButton.-selected").results(RadioButton):
            if button.name:  # (the one under the cursor)
                self.post_message(self.Chosen(button.name))


class ExportDialog(Dialog[tuple[str, Path] | None]):
    """Returns (format name, file) or None when cancelled.

    The file box starts with ``default`` (a name not yet taken); choosing another format
    changes its suffix, or, while the box still holds the name proposed, proposes
    ``propose(suffix)`` (a name not yet taken with that suffix: not ``…-2.bib`` because
    ``….md`` exists). Enter exports, in the file box and on a format alike (one Enter: the
    format under the cursor chosen first); a file that exists is named in the dialog and a
    second Enter on the same name replaces it; a folder, or a folder that does not exist,
    is refused in the dialog, which stays open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(
        self, count: int, default: Path, propose: Callable[[str], Path] | None = None
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.count = count
        self.default = default
        self.propose = propose
        self._proposed = str(default)  # the name last proposed, while the user kept it
        self._replace: Path | None = None  # the existing file a second Enter replaces

    def compose(self) -> ComposeResult:
        noun = "paper" if self.count == 1 else "papers"
        with Vertical(id="export-dialog", classes="dialog"):
            yield Static(Content(f"Export {self.count:,} starred {noun}"), classes="dialog-title")
            yield TextInput(value=str(self.default), suggester=PathSuggester(), id="export-path")
            with FormatChoice(id="export-format"):
                for i, e in enumerate(EXPORTERS.values()):
                    yield RadioButton(f"{e.description} ({e.suffix})", value=i == 0, name=e.name)
            yield Static(
                Content("Enter exports · Tab: the format · → completes · Esc cancels"),
                classes="dialog-hint",
            )
            yield Static(id="export-error", classes="dialog-error -hidden")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        box = self.query_one("#export-path", Input)
        box.focus()
        box.cursor_position = len(box.value)

    @property
    def format_name(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "markdown"

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._suffix_for(self.format_name)
        self.query_one("#export-path", Input).focus()

    def _suffix_for(self, name: str) -> None:
        """The file box's name given format ``name``'s suffix, when it has an export
        format's suffix (another suffix, or none, is the user's choice: kept)."""
        box = self.query_one("#export-path", Input)
        suffix = exporter_for(name).suffix
        if self.propose is not None and box.value == self._proposed:
            self._proposed = box.value = str(self.propose(suffix))
            return
        path = Path(box.value)
        if path.suffix.lower() in {e.suffix for e in EXPORTERS.values()}:
            box.value = str(path.with_suffix(suffix))

    def on_format_choice_chosen(self, event: FormatChoice.Chosen) -> None:
        event.stop()
        radios = self.query_one(FormatChoice)
        with radios.prevent(RadioSet.Changed):
            for button in radios.query(RadioButton):
                button.value = button.name == event.name
        box = self.query_one("#export-path", Input)
        before = box.value
        with box.prevent(Input.Changed):  # (its handler would run after the submit below)
            self._suffix_for(event.name)
        if box.value != before:
            self._replace = None
        self._submit(event.name)

    def _error(self, text: str) -> None:
        error = self.query_one("#export-error", Static)
        error.update(Content(text))
        error.remove_class("-hidden")

    def _submit(self, format_name: str | None = None) -> None:
        """Export to the file box's file: in the format its suffix names, else
        ``format_name``, else the format chosen (`format_name`); or say in the dialog why
        not."""
        value = self.query_one("#export-path", Input).value.strip()
        if not value:
            self._error("A file name, please (e.g. papers.bib)")
            return
        path = Path(value).expanduser()
        shown = printable(str(path))
        if path.is_dir():
            self._error(f"{shown} is a folder: add a file name")
            return
        if not path.parent.is_dir():
            self._error(f"{printable(str(path.parent))}: no such folder")
            return
        if (path.exists() or path.is_symlink()) and self._replace != path:
            self._replace = path
            self._error(f"{shown} exists: Enter again replaces it, or change the name")
            return
        self.answer((_by_suffix(value) or format_name or self.format_name, path))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._replace = None  # (a replace is confirmed for one name only)
        self.query_one("#export-error", Static).add_class("-hidden")
        # The file's suffix chooses the format too (.bib: BibTeX), whatever order keys came in.
        named = _by_suffix(event.value)
        if named is not None and named != self.format_name:
            radios = self.query_one(RadioSet)
            with radios.prevent(RadioSet.Changed):
                for button in radios.query(RadioButton):
                    button.value = button.name == named

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self._submit()
        else:
            self.answer(None)

    def action_cancel(self) -> None:
        self.answer(None)


def _by_suffix(value: str) -> str | None:
    """The format a file name's suffix names (".bib": "bibtex"), None for another suffix."""
    suffix = Path(value.strip()).suffix.lower()
    return next((e.name for e in EXPORTERS.values() if e.suffix == suffix), None)
