"""Where feeds come from: files, directories, stdin, the clipboard and http(s) URLs.

Each source is read to bytes with its size capped, then parsed by `tui.feeds`. Nothing here
touches the library, so parsing happens outside the library's write lock.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import socket
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .clipboard import ClipboardError, paste
from .feeds import MAX_FEED_BYTES, FeedError, ParseResult, decode, parse_text_digest
from .models import Source
from .text import clean_line, printable, valid_unicode

URL_TIMEOUT = 20.0  # seconds without progress before a download is abandoned
URL_MAX_SECONDS = 60.0  # the whole download
MAX_REDIRECTS = 5
_FEED_SUFFIXES = {".txt", ".html", ".htm", ".xml", ".rss", ".atom", ".json", ""}
FEED_FILES = ".txt .html .htm .xml .rss .atom .json or none"  # (what a folder brings in)


@dataclass
class Loaded:
    """One source read and parsed."""

    origin: str
    result: ParseResult
    source: Source


def expand(sources: list[str]) -> Iterator[str]:
    """Expand directories (recursively, feed-like files only, sorted); keep the rest as given.
    Hidden files and folders are passed over, and so is a papertui library inside the folder
    (its own files are JSON, not feeds)."""
    for src in sources:
        path = Path(src)
        if src not in ("-",) and not _is_url(src) and path.is_dir():
            found: list[str] = []
            for folder, dirs, files in os.walk(path):
                dirs[:] = [
                    d
                    for d in dirs
                    if not d.startswith(".") and not (Path(folder, d) / "papertui.json").is_file()
                ]
                if folder != str(path) and "papertui.json" in files:
                    continue
                for name in files:
                    if not name.startswith(".") and Path(name).suffix.lower() in _FEED_SUFFIXES:
                        found.append(os.path.join(folder, name))
            # (a folder with none: kept, so that reading it says so instead of nothing)
            yield from sorted(found) if found else [src]
        else:
            yield src


def _is_url(src: str) -> bool:
    return "://" in src


def read_source(src: str) -> tuple[bytes, str]:
    """The raw bytes of one source and the origin recorded for it."""
    if src == "-":
        data = sys.stdin.buffer.read(MAX_FEED_BYTES + 1)
        return data, "<stdin>"
    if _is_url(src):
        return fetch_url(src), src
    path = Path(src)
    try:
        info = path.stat()
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
            raise FeedError(
                f"{printable(src)}: is a device, not a feed file (use - for standard input)"
            )
        if stat.S_ISDIR(info.st_mode):
            raise FeedError(f"{printable(src)}: no feed files ({FEED_FILES}) in this folder")
        if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            return _read_pipe(path), str(path)
        size = info.st_size
        if size > MAX_FEED_BYTES:
            raise FeedError(
                f"{printable(src)}: {size / 1e6:.0f} MB is larger than the "
                f"{MAX_FEED_BYTES // (1024 * 1024)} MB a feed may be"
            )
        with path.open("rb") as handle:
            # What it holds and a byte more, to see that it grew since (then on, up to the
            # limit and a byte): asking for the limit at once made a 50 MB buffer a file.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(MAX_FEED_BYTES - size)
            return data, str(path.resolve())
    except FileNotFoundError:
        raise FeedError(f"{printable(src)}: no such file") from None
    except IsADirectoryError:
        raise FeedError(f"{printable(src)}: is a directory") from None
    except OSError as err:
        raise FeedError(f"{printable(src)}: cannot be read ({err.strerror})") from None


def _read_pipe(path: Path) -> bytes:
    """What a named pipe holds (``<(curl …)`` gives one): read without blocking, so a pipe no
    program writes to is empty at once instead of hanging the import; a writer that stalls
    for `URL_TIMEOUT` seconds is an error (FeedError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_FEED_BYTES:
            try:
                chunk = os.read(fd, 65536)  # b"" at once when no program has it open
            except BlockingIOError:  # a writer, with nothing written yet: wait for it
                ready, _, _ = select.select([fd], [], [], URL_TIMEOUT)
                if not ready:
                    stalled = f"nothing came through the pipe for {URL_TIMEOUT:.0f} s"
                    raise FeedError(f"{printable(str(path))}: {stalled}") from None
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows at most MAX_REDIRECTS redirects, and only within the host asked for (http may
    become https there, never the reverse): a feed is stored under the URL the user gave, so
    its content must not come from somewhere else without a word."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        scheme = new.scheme.lower()
        shown = clean_line(newurl)[:200]  # the server's words: untrusted
        if scheme not in ("http", "https"):
            raise FeedError(
                f"{self.url}: redirected to a {scheme or 'relative'} URL ({shown}), refused"
            )
        if new.hostname != old.hostname:
            raise FeedError(
                f"{self.url}: redirected to another host, not followed: {shown} "
                "(import that URL if you trust it)"
            )
        if old.scheme.lower() == "https" and scheme == "http":
            raise FeedError(f"{self.url}: redirected from https to plain http, refused: {shown}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Inflater:
    """Decompresses a ``Content-Encoding: gzip`` (or ``deflate``) body as it arrives, never
    holding more than ``max_bytes`` of output: a gzip bomb stops at the cap."""

    def __init__(self, encoding: str, url: str, max_bytes: int) -> None:
        self.encoding, self.url, self.max_bytes = encoding, url, max_bytes
        self.total = 0
        self._wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._unzip: Any = None

    def feed(self, data: bytes) -> list[bytes]:
        """The decompressed bytes of ``data``; FeedError past the cap or on bad data."""
        out: list[bytes] = []
        try:
            while data:
                if self._unzip is None:
                    wbits = self._wbits
                    if self.encoding == "deflate" and (data[0] & 0x0F) != 8:
                        wbits = -zlib.MAX_WBITS  # raw deflate, as some servers send it
                    self._unzip = zlib.decompressobj(wbits)
                piece = self._unzip.decompress(data, self.max_bytes + 1 - self.total)
                self.total += len(piece)
                if self.total > self.max_bytes:
                    raise FeedError(
                        f"{self.url}: larger than the {self.max_bytes // (1024 * 1024)} MB a "
                        f"feed may be once decompressed ({self.encoding})"
                    )
                out.append(piece)
                data = self._unzip.unconsumed_tail
                if self._unzip.eof:  # a gzip file may hold several members, one after another
                    data = self._unzip.unused_data if self.encoding == "gzip" else b""
                    self._unzip = None if data else self._unzip
        except zlib.error as err:
            raise FeedError(f"{self.url}: not valid {self.encoding} data ({err})") from None
        return out

    def finish(self) -> None:
        """FeedError when the compressed stream stopped before its end."""
        if self._unzip is None or not self._unzip.eof:
            raise FeedError(f"{self.url}: the {self.encoding} data was cut off before its end")


def _content_encoding(url: str, value: str | None) -> str | None:
    codings = [c.strip().lower() for c in (value or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return "deflate" if codings[0] == "deflate" else "gzip"
    what = clean_line(", ".join(codings))[:80]
    raise FeedError(f"{url}: compressed as {what}, which papertui cannot read")


def _ascii_url(url: str) -> str:
    """The URL as http.client can send it: non-ASCII host names in IDNA, other non-ASCII
    characters (and a command line's undecodable bytes) percent-encoded."""
    if url.isascii():
        return url
    parts = urllib.parse.urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError:
        raise FeedError(f"{valid_unicode(url)}: not a valid host name") from None
    netloc = host + (f":{parts.port}" if parts.port else "")
    safe = "/?#[]@!$&'()*+,;=%~:"
    path, query, fragment = (
        urllib.parse.quote(part, safe=safe, errors="surrogateescape")
        for part in (parts.path, parts.query, parts.fragment)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, fragment))


def _malformed(url: str, err: http.client.HTTPException, received: int) -> FeedError:
    if isinstance(err, http.client.BadStatusLine):
        line = clean_line(str(err.args[0] if err.args else ""))[:80]
        detail = f"not an HTTP status line: {line!r}" if line else "no status line"
    elif isinstance(err, http.client.LineTooLong):
        detail = f"a header line longer than {getattr(http.client, '_MAXLINE', 65536):,} bytes"
    elif isinstance(err, http.client.IncompleteRead):
        detail = f"the chunked body is malformed or cut off after {received:,} bytes"
    elif "more than" in str(err) and "headers" in str(err):
        detail = f"more than {getattr(http.client, '_MAXHEADERS', 100)} header lines"
    else:
        detail = clean_line(f"{type(err).__name__}: {err}")[:120]
    return FeedError(f"{url}: the server's reply is malformed ({detail})")


class RetryLater(FeedError):
    """The server answered 429 Too Many Requests or 503 Service Unavailable; ``after``: the
    seconds its Retry-After asks for (None when it names none)."""

    def __init__(self, message: str, after: float | None) -> None:
        super().__init__(message)
        self.after = after


@dataclass
class Answer:
    """A download: ``status`` 200 with ``body``, or 304 (not modified since ``etag`` /
    ``modified``: no body); the validators to send next time."""

    status: int
    body: bytes
    etag: str = ""
    modified: str = ""


def fetch_url(
    url: str,
    timeout: float = URL_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    max_seconds: float = URL_MAX_SECONDS,
) -> bytes:
    """Download an http(s) URL: its body, decompressed when the server compressed it.

    A timeout per read, a cap on the whole download's time and on its size (after
    decompression), redirects only within the same host. Raises FeedError with one line
    naming ``url`` for every failure: no answer, an error status, a malformed reply, a body
    shorter than its Content-Length ("cut off at N of M bytes"), a refused redirect.
    """
    return download(url, timeout=timeout, max_bytes=max_bytes, max_seconds=max_seconds).body


def user_agent() -> str:
    """``papertui/<version> (+<project URL>)``: who is asking, as polite clients say."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("papertui")
    except PackageNotFoundError:
        mine = "dev"
    return f"papertui/{mine} (+https://github.com/papertui/papertui)"


def download(
    url: str,
    *,
    etag: str = "",
    modified: str = "",
    timeout: float = URL_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    max_seconds: float = URL_MAX_SECONDS,
    stop: threading.Event | None = None,
) -> Answer:
    """`fetch_url` as a conditional request: with ``etag`` / ``modified`` (the ETag and
    Last-Modified of the last answer) a server whose feed has not changed answers 304 and
    nothing is downloaded. RetryLater for 429 and 503 (with the Retry-After seconds);
    FeedError for every other failure, as `fetch_url`, and when ``stop`` is set while the
    download runs ("stopped": the connection is hung up at once)."""
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError as err:  # "Invalid IPv6 URL"
        raise FeedError(f"{url}: not a valid URL ({err})") from None
    if scheme not in ("http", "https"):
        raise FeedError(f"{url}: only http and https URLs can be imported")
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    request = urllib.request.Request(_ascii_url(url), headers=headers)
    if stop is not None and stop.is_set():
        raise FeedError(f"{url}: stopped")
    deadline = _Deadline(max_seconds, stop)
    opener = urllib.request.build_opener(
        _SameHostRedirects(url), _WatchedHTTP(deadline), _WatchedHTTPS(deadline)
    )
    try:
        answer = _request(opener, request, url, etag, modified, timeout, max_bytes, max_seconds)
    except FeedError:
        deadline.check(url)  # (what a hung-up connection looks like is not the news)
        raise
    finally:
        deadline.cancel()
    deadline.check(url)  # (a body that seemed to end when the connection was hung up)
    return answer


class _Deadline:
    """The cap on a whole download: past it, or once ``stop`` is set (the app quits), the
    connection is hung up (its socket shut down), so neither a server that drips its status
    line and headers a byte at a time, each within the per-read timeout, nor one that holds
    its answer is waited for; `check` then raises FeedError."""

    def __init__(self, seconds: float, stop: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.expired = ""  # why it was hung up: "" while it was not
        self._stop = stop
        self._ended = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        watcher = threading.Thread(target=self._watch, name="download-deadline", daemon=True)
        watcher.start()

    def _watch(self) -> None:
        end = time.monotonic() + self.seconds
        while not self._ended.is_set():
            if self._stop is not None and self._stop.is_set():
                return self._expire("stopped")
            left = end - time.monotonic()
            if left <= 0:
                return self._expire(f"download took longer than {self.seconds:g} s")
            self._ended.wait(left if self._stop is None else min(left, 0.1))
        return None

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._hang_up(sock)

    def _expire(self, why: str) -> None:
        with self._lock:
            self.expired = why
            for sock in self._sockets:
                self._hang_up(sock)

    @staticmethod
    def _hang_up(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._ended.set()

    def check(self, url: str) -> None:
        if self.expired:
            raise FeedError(f"{url}: {self.expired}") from None


def _watched(connection: Any, deadline: _Deadline) -> Any:
    """``connection`` (an http.client connection class) telling ``deadline`` its socket."""

    class Watched(connection):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    return Watched


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **kw):  # type: ignore[no-untyped-def, override]
        return super().do_open(_watched(http_class, self.deadline), req, **kw)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **kw):  # type: ignore[no-untyped-def, override]
        return super().do_open(_watched(http_class, self.deadline), req, **kw)


def _request(
    opener: urllib.request.OpenerDirector,
    request: urllib.request.Request,
    url: str,
    etag: str,
    modified: str,
    timeout: float,
    max_bytes: int,
    max_seconds: float,
) -> Answer:
    """`download`'s request made and its answer read (see there)."""
    started = time.monotonic()
    received = 0  # bytes of the body as sent (compressed, when it is)
    try:
        with opener.open(request, timeout=timeout) as response:
            headers = response.headers
            length = headers.get("Content-Length", "").strip()
            declared = int(length) if length.isdigit() and response.chunked is False else None
            encoding = _content_encoding(url, headers.get("Content-Encoding"))
            if declared is not None and declared > max_bytes and encoding is None:
                raise FeedError(
                    f"{url}: {declared / 1e6:.0f} MB is larger than the "
                    f"{max_bytes // (1024 * 1024)} MB a feed may be"
                )
            inflater = _Inflater(encoding, url, max_bytes) if encoding else None
            chunks, total = [], 0
            while True:
                chunk = response.read1(65536)  # what has arrived: a slow drip can't hide
                if not chunk:
                    break
                received += len(chunk)
                pieces = inflater.feed(chunk) if inflater else [chunk]
                total += sum(len(piece) for piece in pieces)
                if total > max_bytes:
                    raise FeedError(
                        f"{url}: larger than the {max_bytes // (1024 * 1024)} MB a feed may be"
                    )
                if time.monotonic() - started > max_seconds:
                    raise FeedError(f"{url}: download took longer than {max_seconds:g} s")
                chunks += pieces
            if declared is not None and received < declared:
                raise FeedError(
                    f"{url}: the download was cut off at {received:,} of {declared:,} bytes; "
                    "nothing imported"
                )
            if inflater:
                inflater.finish()
            return Answer(
                200,
                b"".join(chunks),
                clean_line(headers.get("ETag", ""))[:200],
                clean_line(headers.get("Last-Modified", ""))[:100],
            )
    except urllib.error.HTTPError as err:
        if err.code == 304:
            if not etag and not modified:  # (no earlier answer it can mean)
                raise FeedError(
                    f"{url}: the server answered 304 Not Modified to a request that named no "
                    "earlier version"
                ) from None
            return Answer(304, b"", etag, modified)
        if 300 <= err.code < 400:
            target = urllib.parse.urlsplit((err.headers or {}).get("Location", "")).scheme
            if target and target.lower() not in ("http", "https"):
                raise FeedError(f"{url}: redirected to a {target} URL, refused") from None
            raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects, gave up") from None
        reason = clean_line(str(err.reason))[:80]  # the server's words: untrusted
        if err.code in (429, 503):
            after = _retry_after((err.headers or {}).get("Retry-After", ""))
            raise RetryLater(f"{url}: the server answered {err.code} {reason}", after) from None
        raise FeedError(f"{url}: the server answered {err.code} {reason}") from None
    except http.client.InvalidURL as err:  # control characters, a port that is no number
        raise FeedError(f"{url}: not a valid URL ({clean_line(str(err))[:120]})") from None
    except http.client.HTTPException as err:
        raise _malformed(url, err, received) from None
    except urllib.error.URLError as err:
        reason = clean_line(str(err.reason))[:120]
        raise FeedError(f"{url}: cannot be fetched ({reason})") from None
    except TimeoutError:
        raise FeedError(f"{url}: no answer within {timeout:.0f} s") from None
    except OSError as err:
        raise FeedError(f"{url}: cannot be fetched ({clean_line(str(err))[:120]})") from None
    except ValueError as err:  # http.client's refusals of a URL (control characters, ports)
        raise FeedError(f"{url}: not a valid URL ({clean_line(str(err))[:120]})") from None


def _retry_after(value: str) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110, 10.2.3)."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def load_source(src: str, today: date | None = None, imported_at: str = "") -> Loaded:
    """Read and parse one source (a path, ``-``, a URL or ``--clipboard``).

    Raises FeedError with a one-line message naming the source, whatever went wrong with it:
    an unexpected error (a bug in a parser) too, so one source never costs the others.
    """
    named: tuple[str, str] | None = None  # (the name as kept, as the messages write it)
    try:
        if src == "--clipboard":
            try:
                text = paste()
            except ClipboardError as err:
                raise FeedError(str(err)) from None
            return load_text(text, "<clipboard>", today, imported_at)
        data, origin = read_source(src)
        if not data.strip():
            raise FeedError(f"{printable(origin)}: empty, not a feed")
        kept = valid_unicode(origin)  # a file name's undecodable bytes: kept as U+FFFD
        named = (kept, printable(origin))
        return load_text(decode(data, kept), kept, today, imported_at)
    except FeedError as err:
        # One line of valid text whatever the name or URL held, its controls shown as
        # escapes so the user recognises the file (`evil\x1bc.txt`), its undecodable bytes
        # too (`junk\xff.txt`), as every message names a file.
        text = str(err)
        if named is not None and named[0] != named[1] and text.startswith(named[0]):
            message = named[1] + printable(valid_unicode(text[len(named[0]) :]))
        else:
            message = printable(valid_unicode(text))
        if message == text:
            raise
        raise FeedError(message) from None
    except Exception as err:
        name = printable(valid_unicode(src))
        raise FeedError(f"{name}: not imported: {unexpected(err)}") from err


def load_text(text: str, origin: str, today: date | None = None, imported_at: str = "") -> Loaded:
    """Parse one source's decoded text (`parse_text`) and describe where it came from.

    Raises FeedError (one line naming ``origin``) when it is not a feed.
    """
    if "\r" in text:  # as `decode` gives a file's
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    result, digest = parse_text_digest(text, origin, today)
    source = Source(
        format=result.format,
        origin=origin,
        # A feed that carries no date (the Chinese digests) is dated by its import.
        feed_date=result.feed_date or (imported_at[:10] or None),
        digest=digest,
        imported_at=imported_at,
    )
    return Loaded(origin=origin, result=result, source=source)


def unexpected(err: BaseException) -> str:
    """One line about an error papertui did not expect (a bug, worth reporting)."""
    text = clean_line(str(err))[:300]
    return f"papertui failed ({type(err).__name__}{': ' + text if text else ''})"
