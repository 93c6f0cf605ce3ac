"""The modal dialogs' shared base: a dialog answers once.

Keys that arrive together (Enter twice in one read of the terminal) reached a dialog that had
already answered, and dismissing it again crashed the app (ScreenStackError).
"""

from __future__ import annotations

from typing import TypeVar

from textual import events, on
from textual.screen import ModalScreen

Answer = TypeVar("Answer")


class Dialog(ModalScreen[Answer]):
    """A modal screen closed by `answer`, which takes the first answer and ignores the rest."""

    _answered = False

    @on(events.Mount)
    def _hide_messages_below(self) -> None:
        """The messages on screen wait under the dialog (``-under-dialog``, app.tcss): at
        80x24 a toast covered its buttons or its input. They show again when it closes."""
        self.app.screen_stack[0].add_class("-under-dialog")

    @on(events.Unmount)
    def _show_messages_again(self) -> None:
        if not any(isinstance(s, Dialog) and s is not self for s in self.app.screen_stack):
            self.app.screen_stack[0].remove_class("-under-dialog")

    def answer(self, result: Answer) -> None:
        """Close the dialog with ``result`` (unless it has answered already)."""
        if self._answered:
            return
        self._answered = True
        self.dismiss(result)
