"""URL import against hostile local servers, and the clipboard without a display."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui import clipboard
from tui.feeds import FeedError, parse_bytes
from tui.sources import fetch_url, load_source

from .conftest import FEEDS

SAMPLE = (FEEDS / "arxivdaily-image-generation.txt").read_bytes()


class Hostile(BaseHTTPRequestHandler):
    """One server, many bad behaviours, chosen by path."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path
        if path == "/ok":
            self._send(200, SAMPLE)
        elif path == "/garbage":
            self._send(200, os.urandom(4096))
        elif path == "/huge":  # 1 GB, streamed without a length
            self.send_response(200)
            self.end_headers()
            chunk = b"x" * (1024 * 1024)
            try:
                for _ in range(1024):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(1024**3))
            self.end_headers()
        elif path == "/stall":
            self.send_response(200)
            self.end_headers()
            time.sleep(5)
        elif path == "/drip":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", f"/loop{len(path)}")
            self.end_headers()
        elif path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif path == "/redirect-ok":
            self.send_response(301)
            self.send_header("Location", "/ok")
            self.end_headers()
        else:
            self._send(404, b"no")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_good_url_and_redirect(hostile: str) -> None:
    assert fetch_url(f"{hostile}/ok") == SAMPLE
    assert len(load_source(f"{hostile}/redirect-ok").result.papers) == 4


@pytest.mark.parametrize(
    "path, kwargs, message",
    [
        ("/garbage", {}, "binary data"),
        ("/huge", {}, "larger than the 50 MB"),
        ("/huge-declared", {}, "larger than the 50 MB"),
        ("/stall", {"timeout": 0.5}, "no answer within"),
        ("/drip", {"max_seconds": 1.0}, "longer than 1 s"),
        ("/loop", {}, "redirect"),
        ("/to-file", {}, "refused"),
        ("/missing", {}, "404"),
    ],
)
def test_hostile_servers_give_one_clear_error(
    hostile: str, path: str, kwargs: dict, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FeedError) as err:
        data = fetch_url(f"{hostile}{path}", **kwargs)
        parse_bytes(data, f"{hostile}{path}")  # garbage downloads fine; parsing rejects it
    assert message in str(err.value) and hostile in str(err.value)
    assert "\n" not in str(err.value)
    assert time.monotonic() - started < 20


def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "javascript://x"):
        with pytest.raises(FeedError, match="only http and https"):
            fetch_url(url)


def test_unreachable_port_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FeedError, match="cannot be fetched"):
        fetch_url(f"http://127.0.0.1:{port}/x", timeout=2)


def test_copy_without_display_falls_back_to_osc52(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    terminal = io.StringIO()
    how = clipboard.copy("hello [b]x[/b]", terminal=terminal)
    assert "OSC 52" in how
    assert terminal.getvalue() == "\x1b]52;c;aGVsbG8gW2JdeFsvYl0=\x07"


def test_paste_without_display_says_how_to_import_instead() -> None:
    code = (
        "from tui import clipboard\n"
        "try:\n    clipboard.paste()\n"
        "except clipboard.ClipboardError as e:\n    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "no clipboard" in result.stdout and "papertui import" in result.stdout
