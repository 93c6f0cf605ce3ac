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
    def _clear_toasts(self) -> None:
        """The messages on screen when a dialog opens are about what came before it, and
        they would cover its lower part (its buttons, at 80x24): they go (a warning or an
        error stays in the messages screen, `!`)."""
        self.app.clear_notifications()

    def answer(self, result: Answer) -> None:
        """Close the dialog with ``result`` (unless it has answered already)."""
        if self._answered:
            return
        self._answered = True
        self.dismiss(result)
