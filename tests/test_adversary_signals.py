"""Ending the app in ways its authors did not plan for: signals and a closed terminal while
dialogs, screens, other processes and faults are in play (an adversary's round, issue 9).

Every test runs the real app as ``python -m tui`` in a pty (`Terminal` of
tests/test_notes_tags.py) and sends real signals; what the app kept is read back from disk by
a fresh `Library.open`, the oracle independent of the app's own state.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .test_notes_tags import Terminal, on_disk, small_library


def test_sigcont_to_a_running_app_keeps_the_keys_in_order_and_sigterm_ends_it(
    tmp_path: Path,
) -> None:
    """SIGCONT is sent by shells (`fg`, `bg`, `kill -CONT`) and by the kernel with a hang-up,
    also to a process that is not stopped. Textual's driver started application mode again on
    every SIGCONT: one more input thread each time, all reading the terminal, so the keys of
    a note reached the app out of order (saved scrambled) and, at the end, threads blocked
    in a read kept the process alive after the terminal was restored (SIGTERM: still running
    a minute later)."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    term = Terminal("--db", str(lib.root))
    try:
        assert term.read_until(b"Inbox"), term.output[-2000:]
        for _ in range(3):
            os.kill(term.pid, signal.SIGCONT)
            term.read_until(b"\x00never\x00", timeout=0.3)  # (a redraw, if any)
        term.send(b"e", then=b"Save")
        typed = "".join(str(i % 10) for i in range(200))
        for char in typed:  # typed one key at a time, as a person does (fast)
            os.write(term.fd, char.encode())
            time.sleep(0.002)
        assert term.read_until(typed[-20:].encode()), term.output[-2000:]
        os.kill(term.pid, signal.SIGTERM)
        status = term.wait()
    finally:
        term.kill()
    assert on_disk(lib).state(pid).note == typed
    assert status == 128 + signal.SIGTERM
