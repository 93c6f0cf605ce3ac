"""Where papertui treats the terminal differently from Textual (`install_terminal_fixes`):
input — a bracketed paste, whole; bytes that are not UTF-8 as U+FFFD instead of a crash;
output — a writer that outlives a closed terminal (`TerminalWriter`); and application mode
resumed only after a suspend (`_resume_after_suspend`).

Textual's xterm parser reads a paste character by character and, at an escape character
inside it (text copied from a coloured terminal, a log, a web page), starts reading an escape
sequence, which it then types as keys *before* the paste (with the escape shown as ``^``): the
note got ``^[31mred^[0m afterbefore`` for a paste of ``before <red>red</red> after``.
`PasteParser` takes the paste out of the input before Textual's parser sees it and delivers it
as one `events.Paste` holding exactly what was pasted; the app then removes the escape
sequences and control characters (`tui.text.clean`), keeping the text in order.

Limit: a paste whose start marker is split by two reads of the terminal right after its first
one or two characters (``ESC`` | ``[200~``) is read by Textual's parser as before: holding a
lone ``ESC`` back would delay every Escape key press. Reads are 4 KiB, and the marker starts
the terminal's write, so this needs 4 KiB of input queued just before the paste.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

from textual import events
from textual._time import get_time
from textual._xterm_parser import XTermParser  # the parser LinuxDriver uses
from textual.drivers._writer_thread import WriterThread  # the writer LinuxDriver uses

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
HOLD_FOR = 0.05  # seconds a possible start of a paste marker waits for the rest


def _partial_suffix(data: str, marker: str) -> int:
    """How many characters at the end of ``data`` begin ``marker`` (0 if none)."""
    for size in range(min(len(marker) - 1, len(data)), 0, -1):
        if marker.startswith(data[-size:]):
            return size
    return 0


class PasteParser(XTermParser):
    """Textual's parser, with bracketed pastes delivered whole (escape characters included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pasting = False
        self._paste: list[str] = []
        self._held = ""  # the start of a paste marker split across two reads
        self._held_at = 0.0

    @staticmethod
    def _keys(events_in: Iterable[Any]) -> Iterable[Any]:
        """The parser's events, with Escape followed at once by a character (read by Textual
        as Alt+character: ESC then s typed within 0.1 s) given back as the two keys they were:
        papertui binds no Alt keys, and a note typed the "s" instead of leaving and starring.
        Alt with a key that is no character (Alt+Backspace, Alt+←) stays as it is."""
        for event in events_in:
            char = getattr(event, "character", None)
            key = getattr(event, "key", "")
            if key.startswith("alt+") and char and len(char) == 1 and char.isprintable():
                yield events.Key("escape", "\x1b")
                yield from XTermParser().feed(char)
            else:
                yield event

    def tick(self) -> Iterable[Any]:
        # What was held as a possible paste marker and was not one (it is 0.05 s old and
        # nothing completed it: an F9 or Insert key split between two reads) goes on.
        if self._held and not self._pasting and get_time() - self._held_at > HOLD_FOR:
            held, self._held = self._held, ""
            yield from self._keys(super().feed(held))
        yield from self._keys(super().tick())

    def feed(self, data: str) -> Iterable[Any]:
        if not data:  # end of input
            if self._held:
                yield from self._keys(super().feed(self._held))
                self._held = ""
            yield from self._keys(super().feed(data))
            return
        data, self._held = self._held + data, ""
        while data:
            if not self._pasting:
                start = data.find(PASTE_START)
                if start < 0:
                    # Hold back what may begin a paste marker (3 characters at least, so a
                    # lone Escape or Alt+[ key is never held).
                    keep = _partial_suffix(data, PASTE_START)
                    keep = keep if keep >= 3 else 0
                    self._held = data[len(data) - keep :]
                    self._held_at = get_time()
                    yield from self._keys(super().feed(data[: len(data) - keep]))
                    return
                if start:
                    yield from self._keys(super().feed(data[:start]))
                data = data[start + len(PASTE_START) :]
                self._pasting = True
                continue
            end = data.find(PASTE_END)
            if end < 0:
                keep = _partial_suffix(data, PASTE_END)
                self._paste.append(data[: len(data) - keep])
                self._held = data[len(data) - keep :]
                return
            self._paste.append(data[:end])
            data = data[end + len(PASTE_END) :]
            self._pasting = False
            text = "".join(self._paste).replace("\x00", "")
            self._paste.clear()
            yield events.Paste(text)


def forget_option_characters() -> None:
    """Read Escape followed at once by a digit, ``-``, ``=`` or ``§`` as those two keys.

    Textual maps these pairs to the characters macOS's Option key types (ESC 1 → ¡), so Esc
    then 1 typed quickly (or arriving together over SSH) went nowhere: the view did not
    change. papertui binds no Alt keys; Esc f and Esc b stay word moves in the note."""
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    for sequence, meaning in list(ANSI_SEQUENCES_KEYS.items()):
        if len(sequence) == 2 and sequence[0] == "\x1b" and isinstance(meaning, str):
            del ANSI_SEQUENCES_KEYS[sequence]  # type: ignore[attr-defined]


def _lenient_decoder(encoding: str) -> Any:
    """An incremental decoder class for ``encoding`` that replaces what it cannot decode
    (U+FFFD) instead of raising: Textual's input thread died on the first byte that is not
    UTF-8 (a Latin-1 terminal, a pasted binary), and the app with it."""
    return functools.partial(codecs.getincrementaldecoder(encoding), errors="replace")


WRITE_POLL = 0.5  # seconds a blocked screen update waits before it looks at the writer again


class TerminalWriter(WriterThread):
    """Textual's output thread, which outlives the terminal it writes to.

    Textual's writer thread ends on the first failed write (``OSError``: EIO once the terminal
    is closed), and the app's next screen updates then wait forever for room in its queue of
    30: the event loop stops, so the SIGHUP that closing the terminal sent is never handled
    and the note being typed is never saved (an app was seen spinning on its input thread for
    44 minutes). This one, when the terminal refuses a write, discards what is queued and what
    comes later, and sends the process SIGHUP (the terminal is gone: the app saves and leaves
    as on a hang-up). `write` never waits on a writer that has ended."""

    gone = False  # the terminal refused a write: nothing more is written

    def write(self, text: str) -> None:
        while not self.gone and self.is_alive():
            try:
                self._queue.put(text, timeout=WRITE_POLL)
                return
            except queue.Full:
                continue  # (a slow terminal: wait, unless the writer has ended meanwhile)

    def run(self) -> None:
        try:
            super().run()
        except OSError:
            self.gone = True
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), signal.SIGHUP)
            while self._queue.get() is not None:
                pass  # (discarded until `stop`)

    def stop(self) -> None:
        while self.is_alive():
            try:
                self._queue.put(None, timeout=WRITE_POLL)
                break
            except queue.Full:
                continue
        self.join(timeout=WRITE_POLL * 4)


def _resume_after_suspend(driver: Any, *_args: Any) -> None:
    """The driver's SIGCONT handler: application mode is started again only when a SIGTSTP
    stopped it. Textual's started it on every SIGCONT, and shells and the kernel send one to
    a process that is running too (`fg`, `bg`, `kill -CONT`, a hang-up): each added an input
    thread reading the terminal, so the keys of a note reached the app out of order, and
    threads left blocked in a read kept the process alive after it had left."""
    if driver._auto_restart and driver._must_signal_resume:
        driver.resume_application_mode()


def install_terminal_fixes() -> None:
    """Make Textual's Linux/macOS driver read input with `PasteParser`, decode it leniently
    (`_lenient_decoder`), write with `TerminalWriter` and resume only after a suspend
    (`_resume_after_suspend`) (idempotent)."""
    try:
        from textual.drivers import linux_driver  # noqa: PLC0415 - absent on Windows
    except ImportError:
        return
    linux_driver.LinuxDriver._sigcont_application = _resume_after_suspend  # type: ignore[method-assign]
    if getattr(linux_driver, "WriterThread", None) is WriterThread:
        linux_driver.WriterThread = TerminalWriter  # type: ignore[misc]
    if getattr(linux_driver, "XTermParser", None) is XTermParser:
        linux_driver.XTermParser = PasteParser  # type: ignore[misc]
    forget_option_characters()
    if getattr(linux_driver, "getincrementaldecoder", None) is codecs.getincrementaldecoder:
        linux_driver.getincrementaldecoder = _lenient_decoder  # type: ignore[attr-defined]


# What Textual's driver writes when it gives the terminal back (`stop_application_mode` and
# `_disable_mouse_support`): mouse tracking, bracketed paste and focus reports off, line wrap
# on, the Kitty keyboard protocol popped, the alternate screen left, the cursor shown.
GIVE_BACK = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?2048l\x1b[?1004l"
    "\x1b[?7h\x1b[<u\x1b[?1049l\x1b[?25h"
)


def _terminal_fd() -> int:
    """The terminal Textual draws on (its driver writes to stderr)."""
    return sys.__stderr__.fileno()  # type: ignore[union-attr]


def give_back_at_once(lines: Iterable[str], attrs: Any = None, timeout: float = 1.0) -> None:
    """Give the terminal back and print ``lines`` from any thread, while the app's loop is
    held up (the stop watch, just before it ends the process): the termios settings
    ``attrs`` (Textual's `attrs_before`) on the terminal's input, `GIVE_BACK` and the lines
    on its output. Nothing when the output is no terminal. At most ``timeout`` seconds: a
    write to a terminal that reads nothing more waits, and the process must end anyway."""

    def give_back() -> None:
        fd = _terminal_fd()
        if not os.isatty(fd):
            return
        if attrs is not None:
            with contextlib.suppress(Exception):
                import termios

                termios.tcsetattr(sys.__stdin__.fileno(), termios.TCSANOW, attrs)  # type: ignore[union-attr]
        # (a lone ESC first ends an escape sequence Textual's writer may have left half)
        data = ("\x1b\\" + GIVE_BACK + "".join(f"{line}\r\n" for line in lines)).encode()
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(fd, data) :]

    thread = threading.Thread(target=give_back, name="papertui-give-back", daemon=True)
    thread.start()
    thread.join(timeout)
