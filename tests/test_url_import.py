"""URL import against hostile local servers, and the clipboard without a display."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
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


# ---------------------------------------------------------------------------- issue 9, section 2
class RawServer:
    """Answers each request with the raw bytes registered for its path (anything at all: a
    malformed status line, 70,000-byte headers, broken chunked encoding), then closes."""

    def __init__(self) -> None:
        self.replies: dict[str, bytes] = {}
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(65536)
                if not data:
                    return
                request += data
            path = request.split(b" ", 2)[1].decode("ascii")
            try:
                conn.sendall(self.replies.get(path, b"HTTP/1.1 404 Not Found\r\n\r\n"))
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def raw() -> Iterator[RawServer]:
    server = RawServer()
    ok_headers = f"HTTP/1.1 200 OK\r\nContent-Length: {len(SAMPLE)}\r\n\r\n".encode()
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server.replies.update(
        {
            "/ok": ok_headers + SAMPLE,
            "/bad-status": b"HTTP/1.1 OK\r\n\r\n" + SAMPLE,
            "/not-http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
            "/long-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n" + SAMPLE,
            "/many-headers": b"HTTP/1.1 200 OK\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(101))
            + b"\r\n"
            + SAMPLE,
            "/bad-chunk": chunked + b"zz\r\n" + SAMPLE + b"\r\n0\r\n\r\n",
            "/cut-chunk": chunked + b"%x\r\n" % len(SAMPLE) + SAMPLE[: len(SAMPLE) // 2],
            # Half of a real feed, which would parse as a smaller feed, sent as the whole.
            "/short": ok_headers + SAMPLE[: len(SAMPLE) // 2],
        }
    )
    try:
        yield server
    finally:
        server.sock.close()


@pytest.mark.parametrize(
    "path, message",
    [
        ("/bad-status", "reply is malformed (not an HTTP status line: 'HTTP/1.1 OK')"),
        ("/not-http", "reply is malformed (not an HTTP status line: 'SSH-2.0-OpenSSH_9.6')"),
        ("/long-header", "reply is malformed (a header line longer than 65,536 bytes)"),
        ("/many-headers", "reply is malformed (more than 100 header lines)"),
        ("/bad-chunk", "reply is malformed (the chunked body is malformed or cut off after 0"),
        ("/cut-chunk", "reply is malformed (the chunked body is malformed or cut off after"),
        ("/short", f"the download was cut off at {len(SAMPLE) // 2:,} of {len(SAMPLE):,} bytes"),
    ],
)
def test_malformed_replies_give_one_error_line(raw: RawServer, path: str, message: str) -> None:
    url = raw.url + path
    with pytest.raises(FeedError) as err:
        fetch_url(url, timeout=5)
    text = str(err.value)
    assert text.startswith(f"{url}: ") and message in text, text
    assert "\n" not in text


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_malformed_and_short_replies_cost_only_their_url(raw: RawServer, tmp_path) -> None:
    db = tmp_path / "lib"
    digest = FEEDS / "digest-dit-acceleration.txt"
    bad = [f"{raw.url}/{p}" for p in ("bad-status", "long-header", "many-headers", "bad-chunk")]
    short = f"{raw.url}/short"
    result = _cli("import", *bad, short, f"{raw.url}/ok", str(digest), "--db", str(db))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 5, result.stderr
    for url, line in zip([*bad, short], errors, strict=True):
        assert line.startswith(f"papertui: error: {url}: "), line
    assert "the download was cut off at" in errors[-1]
    assert f"{raw.url}/ok  arxivdaily: 4 found, 4 new" in result.stdout
    assert "digest: 5 found, 5 new" in result.stdout
    listed = _cli("list", "--json", "--db", str(db))
    records = json.loads(listed.stdout)
    assert len(records) == 9  # nothing from the short download: the 4 came from /ok
    origins = {s["origin"] for r in records for s in r["sources"]}
    assert short not in origins


class Redirects(BaseHTTPRequestHandler):
    """Redirects to the URL in the query string; serves the sample, plain or compressed."""

    bodies: dict[str, tuple[bytes, str | None]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/go?"):
            self.send_response(302)
            self.send_header("Location", self.path[4:])
            self.end_headers()
            return
        body, encoding = self.bodies.get(self.path, (b"no", None))
        self.send_response(200 if self.path in self.bodies else 404)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about a thousandth of that), made in memory."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    Redirects.bodies = {
        "/ok": (SAMPLE, None),
        "/gzip": (gzip.compress(SAMPLE), "gzip"),
        "/gzip-twice": (gzip.compress(SAMPLE[:2000]) + gzip.compress(SAMPLE[2000:]), "x-gzip"),
        "/deflate-zlib": (zlib.compress(SAMPLE), "deflate"),
        "/deflate-raw": (deflate.compress(SAMPLE) + deflate.flush(), "deflate"),
        "/gzip-cut": (gzip.compress(SAMPLE)[:-20], "gzip"),
        "/gzip-garbage": (b"\x1f\x8b\x08\x00" + os.urandom(2000), "gzip"),
        "/brotli": (b"\x8b\x00\x80abc\x03", "br"),
        "/bomb": (_gzip_bomb(256 * 1024 * 1024), "gzip"),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirects)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_redirect_within_the_host_is_followed(web: str) -> None:
    assert fetch_url(f"{web}/go?/ok") == SAMPLE
    assert fetch_url(f"{web}/go?{web}/ok") == SAMPLE


def test_redirect_to_another_host_is_refused_naming_where_it_pointed(web: str) -> None:
    port = web.rsplit(":", 1)[1]
    target = f"http://localhost:{port}/ok"  # the same server, under another host name
    with pytest.raises(FeedError) as err:
        fetch_url(f"{web}/go?{target}")
    text = str(err.value)
    assert text.startswith(f"{web}/go?{target}: redirected to another host")
    assert f"not followed: {target}" in text


def test_redirect_from_http_to_https_on_the_same_host_is_followed(web: str) -> None:
    """The https request is made (and fails, this test server speaking plain http): the
    redirect was followed, not refused."""
    target = web.replace("http://", "https://") + "/ok"
    with pytest.raises(FeedError) as err:
        fetch_url(f"{web}/go?{target}", timeout=5)
    assert "cannot be fetched" in str(err.value) and "redirect" not in str(err.value)


@pytest.mark.parametrize("path", ["/gzip", "/gzip-twice", "/deflate-zlib", "/deflate-raw"])
def test_compressed_replies_are_decompressed(web: str, path: str) -> None:
    assert fetch_url(web + path) == SAMPLE
    loaded = load_source(web + path)
    assert loaded.result.format == "arxivdaily" and len(loaded.result.papers) == 4


@pytest.mark.parametrize(
    "path, message",
    [
        ("/gzip-cut", "the gzip data was cut off before its end"),
        ("/gzip-garbage", "not valid gzip data"),
        ("/brotli", "compressed as br, which papertui cannot read"),
    ],
)
def test_bad_compressed_replies_are_one_error(web: str, path: str, message: str) -> None:
    with pytest.raises(FeedError) as err:
        fetch_url(web + path)
    assert str(err.value).startswith(f"{web}{path}: ") and message in str(err.value)


def test_a_gzip_bomb_hits_the_size_cap_not_memory(web: str) -> None:
    """256 MB of zeros in 256 KB of gzip, against a 4 MB cap: refused, and never more than
    a few MB held at once (traced allocations), not the 256 MB it would inflate to."""
    tracemalloc.start()
    try:
        with pytest.raises(FeedError) as err:
            fetch_url(f"{web}/bomb", max_bytes=4 * 1024 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "larger than the 4 MB a feed may be once decompressed" in str(err.value)
    assert peak < 24 * 1024 * 1024, peak
    with pytest.raises(FeedError, match="larger than the 50 MB"):
        fetch_url(f"{web}/bomb")  # the real cap


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/a\nb", "http://127.0.0.1:9/a b\x1b[2J", "http://[::1/x"],
    ids=["newline", "escape", "ipv6"],
)
def test_an_invalid_url_is_one_clean_error_line(url: str, tmp_path) -> None:
    digest = FEEDS / "digest-dit-acceleration.txt"
    result = _cli("import", url, str(digest), "--db", str(tmp_path / "lib"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "not a valid URL" in lines[0] and "\x1b" not in lines[0]
    assert "digest: 5 found, 5 new" in result.stdout
