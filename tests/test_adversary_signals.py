"""Ending the app in ways its authors did not plan for: signals and a closed terminal while
dialogs, screens, other processes and faults are in play (an adversary's round, issue 9).

Every test runs the real app as ``python -m tui`` in a pty (`Terminal` of
tests/test_notes_tags.py) and sends real signals; what the app kept is read back from disk by
a fresh `Library.open`, the oracle independent of the app's own state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tui.library import Library

from .test_notes_tags import Terminal, on_disk, open_note_and_type, restored, small_library


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
        typed = "".join(str(i % 10) for i in range(200)) + "-zq-end"
        for char in typed:  # typed one key at a time, as a person does (fast)
            os.write(term.fd, char.encode())
            time.sleep(0.002)
        assert term.read_until(b"-zq-end"), term.output[-2000:]  # drawn: the app has them
        os.kill(term.pid, signal.SIGTERM)
        status = term.wait()
    finally:
        term.kill()
    assert on_disk(lib).state(pid).note == typed
    assert status == 128 + signal.SIGTERM


def test_sigterm_while_the_app_starts_restores_the_terminal(tmp_path: Path) -> None:
    """The pre-painted list gave SIGHUP and SIGTERM back to their default action when Textual
    took over, and the app caught them only once mounted: a SIGTERM in between (Textual's
    screen already set up, the panes still being composed: about a second) killed the
    process outright, the terminal left on the alternate screen with echo off."""
    lib = small_library(tmp_path)
    term = Terminal("--db", str(lib.root))
    try:
        assert term.read_until(b"\x1b[?1000h"), term.output[-2000:]  # Textual's mouse on
        os.kill(term.pid, signal.SIGTERM)
        status = term.wait()
    finally:
        term.kill()
    assert status == 128 + signal.SIGTERM
    assert restored(term.output), term.output[-600:]


def _training(root: Path) -> list[int]:
    """The pids of the "for you" training processes of the library at ``root``."""
    found = subprocess.run(
        ["pgrep", "-f", f"tui.relevance {root}"], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def test_quit_while_the_model_trains_ends_the_process(sample_library: Library) -> None:
    """`q` while the "for you" model was being trained (a big library, a loaded machine: the
    training is minutes; here it is held stopped) restored the terminal, but the process
    waited for the training's worker before exiting: no shell prompt until it ended."""
    lib = sample_library
    ids = lib.query("", sort="feed_date")
    lib.set_state(ids[:15], "keep", starred=True)  # (enough decisions to train on)
    lib.set_state(ids[15:80], "skip", read=True)
    term = Terminal("--db", str(lib.root))
    training: list[int] = []
    try:
        assert term.read_until(b"Inbox"), term.output[-2000:]
        deadline = time.monotonic() + 60  # (only keeps a broken build from hanging)
        while not training and time.monotonic() < deadline:
            term.read_until(b"\x00never\x00", timeout=0.2)  # (drawing meanwhile)
            training = _training(lib.root)  # (it starts once no key came for a few seconds)
        assert training, "no training started"
        for pid in training:
            os.kill(pid, signal.SIGSTOP)  # a training that does not end soon
        term.send(b"q")
        status = term.wait()
    finally:
        term.kill()
        for pid in _training(lib.root):
            os.kill(pid, signal.SIGKILL)
    assert status == 0
    assert restored(term.output)
    assert _training(lib.root) == []


def test_closing_the_terminal_when_the_disk_refuses_the_note_rescues_it(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (a quota, a nearly full disk): the library's change file for the note is
    too big to write, the terminal is closed. The rescue file, with its heading, its
    instructions and the paper's title, was bigger still: it failed in every folder, and
    with the terminal gone the note was printed nowhere: lost."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    term = Terminal("--db", str(lib.root), fsize=250)
    try:
        open_note_and_type(term, "zq-rescued")
        status = term.hang_up()
    finally:
        term.kill()
    assert status == 128 + signal.SIGHUP
    assert on_disk(lib).state(pid).note == ""  # (the fault is real: the library refused it)
    kept = [p.read_text() for p in (lib.root / "recovered").glob("*.md")]
    assert len(kept) == 1 and pid in kept[0] and "\nzq-rescued\n" in kept[0], kept


def _stopped(pid: int, timeout: float = 30) -> bool:
    """Whether the process `pid` is stopped by job control within `timeout` seconds (its
    state in /proc/PID/stat, the field after the command's closing parenthesis, is "T")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] == "T":
            return True
        time.sleep(0.01)
    return False


def test_a_stopped_app_continued_takes_keys_again_and_a_hang_up_saves_them(
    tmp_path: Path,
) -> None:
    """SIGTSTP (`kill -TSTP`, a job-control stop) then SIGCONT: the app takes the terminal
    back (only SIGCONT after a stop does so) and what is typed then is saved on a hang-up."""
    lib = small_library(tmp_path)
    pid = lib.query("is:unread", sort="feed_date", reverse=True)[0]
    term = Terminal("--db", str(lib.root))
    try:
        open_note_and_type(term, "zq-before")
        since = len(term.output)
        os.kill(term.pid, signal.SIGTSTP)
        assert term.read_until(b"\x1b[?1049l", since=since)  # the screen given back
        # (the screen is given back before the process stops itself: a SIGCONT sent in
        # between continues a running process and the stop that follows is for ever, as
        # with any program; a shell's `fg` comes after it has seen the stop)
        assert _stopped(term.pid)
        os.kill(term.pid, signal.SIGCONT)
        assert term.read_until(b"\x1b[?1049h", since=since)  # and taken again
        term.send(b"-after", then=b"-after")
        status = term.hang_up()
    finally:
        term.kill()
    assert status == 128 + signal.SIGHUP
    assert on_disk(lib).state(pid).note == "zq-before-after"


def test_a_hang_up_after_quitting_anyway_still_rescues_the_note(tmp_path: Path) -> None:
    """q, then "quit anyway" with a note the disk refused (RLIMIT_FSIZE), then the window is
    closed at once: the SIGHUP came while the app wrote the rescue file, after its event loop
    had closed. The app's handler raised `RuntimeError: Event loop is closed` there, out of
    the rescue: the note was neither stored, nor kept in a file, nor printed."""
    lib = small_library(tmp_path)
    term = Terminal("--db", str(lib.root), fsize=200)
    stop = threading.Event()

    def hang_ups() -> None:  # (the kernel's SIGHUP, repeated so one lands in the rescue)
        with contextlib.suppress(ProcessLookupError):
            while not stop.is_set():
                os.kill(term.pid, signal.SIGHUP)
                time.sleep(0.0005)

    sender = threading.Thread(target=hang_ups)
    try:
        open_note_and_type(term, "qzx-kept")
        assert term.read_until(b"NOT SAVED"), term.output[-3000:]
        term.send(b"\x1b", then=b"Star")
        term.send(b"q", then=b"could not be saved")
        term.send(b"y", then=b"\x1b[?1049l")  # the app has left: the rescue comes now
        sender.start()
        term.wait()
    finally:
        stop.set()
        if sender.is_alive():
            sender.join()
        term.kill()
    assert b"Traceback" not in term.output, term.output[-1500:]
    kept = [p.read_text() for p in (lib.root / "recovered").glob("*.md")]
    assert len(kept) == 1 and "\nqzx-kept\n" in kept[0], kept


def test_quit_during_a_stalled_url_import_ends_the_process_at_once(tmp_path: Path) -> None:
    """Found by the adversary: `q` while an import read a URL restored the terminal, but the
    process (a thread of the event loop's pool, which Python waits for at exit) stayed until
    the download gave up: up to its 60 s cap for a server that sends a byte now and then.
    Nothing is stored before the feeds are read, so the reading is not waited for."""
    import socket

    lib = small_library(tmp_path)
    before = len(lib)
    listener = socket.create_server(("127.0.0.1", 0))
    asked = threading.Event()
    done = threading.Event()

    def serve() -> None:  # headers, then a byte every 2 s: never a timeout, never the end
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                asked.set()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not done.wait(2):
                    conn.sendall(b"<")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.rss"
    term = Terminal("--db", str(lib.root))
    try:
        assert term.read_until(b"Inbox"), term.output[-2000:]
        term.send(b"i", then=b"Import")
        term.send(url.encode() + b"\r", then=b"Importing")
        assert asked.wait(30), "the app never asked the server"
        term.send(b"q")
        # (the download would end only at its 60 s cap: a third of that is plenty)
        deadline = time.monotonic() + 20
        exited, status = 0, 0
        while not exited and time.monotonic() < deadline:
            term.read_until(b"\x00never\x00", timeout=0.2)
            exited, status = os.waitpid(term.pid, os.WNOHANG)
            time.sleep(0.05)  # (the output may have ended: read_until returns at once)
        assert exited, "the process waits for the download after the app has left"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        done.set()
        listener.close()
        term.kill()
        with contextlib.suppress(OSError):
            os.close(term.fd)
    assert len(on_disk(lib)) == before
