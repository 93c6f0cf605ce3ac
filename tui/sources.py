"""Where feeds come from: files, directories, stdin, the clipboard and http(s) URLs.

Each source is read to bytes with its size capped, then parsed by `tui.feeds`. Nothing here
touches the library, so parsing happens outside the library's write lock.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .clipboard import ClipboardError, paste
from .feeds import MAX_FEED_BYTES, FeedError, ParseResult, decode, parse_text, text_digest
from .models import Source
from .text import clean_line

URL_TIMEOUT = 20.0  # seconds without progress before a download is abandoned
URL_MAX_SECONDS = 60.0  # the whole download
MAX_REDIRECTS = 5
_FEED_SUFFIXES = {".txt", ".html", ".htm", ".xml", ".rss", ".atom", ""}


@dataclass
class Loaded:
    """One source read and parsed."""

    origin: str
    result: ParseResult
    source: Source


def expand(sources: list[str]) -> Iterator[str]:
    """Expand directories (recursively, feed-like files only, sorted); keep the rest as given."""
    for src in sources:
        path = Path(src)
        if src not in ("-",) and not _is_url(src) and path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.startswith("."):
                    if child.suffix.lower() in _FEED_SUFFIXES:
                        yield str(child)
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
        size = path.stat().st_size
        if size > MAX_FEED_BYTES:
            raise FeedError(
                f"{src}: {size / 1e6:.0f} MB is larger than the "
                f"{MAX_FEED_BYTES // (1024 * 1024)} MB a feed may be"
            )
        with path.open("rb") as handle:
            return handle.read(MAX_FEED_BYTES + 1), str(path.resolve())
    except FileNotFoundError:
        raise FeedError(f"{src}: no such file") from None
    except IsADirectoryError:
        raise FeedError(f"{src}: is a directory") from None
    except OSError as err:
        raise FeedError(f"{src}: cannot be read ({err.strerror})") from None


class _LimitedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urllib.parse.urlsplit(newurl).scheme
        if scheme not in ("http", "https"):
            raise FeedError(f"{req.full_url}: redirected to a {scheme or 'relative'} URL, refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(
    url: str,
    timeout: float = URL_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    max_seconds: float = URL_MAX_SECONDS,
) -> bytes:
    """Download an http(s) URL with a timeout, a redirect limit, a size and a time cap."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FeedError(f"{url}: only http and https URLs can be imported")
    opener = urllib.request.build_opener(_LimitedRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "papertui"})
    started = time.monotonic()
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedError(
                    f"{url}: {int(length) / 1e6:.0f} MB is larger than the "
                    f"{max_bytes // (1024 * 1024)} MB a feed may be"
                )
            chunks, total = [], 0
            while True:
                chunk = response.read1(65536)  # what has arrived: a slow drip can't hide
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise FeedError(
                        f"{url}: larger than the {max_bytes // (1024 * 1024)} MB a feed may be"
                    )
                if time.monotonic() - started > max_seconds:
                    raise FeedError(f"{url}: download took longer than {max_seconds:.0f} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as err:
        if 300 <= err.code < 400:
            target = urllib.parse.urlsplit((err.headers or {}).get("Location", "")).scheme
            if target and target.lower() not in ("http", "https"):
                raise FeedError(f"{url}: redirected to a {target} URL, refused") from None
            raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects, gave up") from None
        reason = clean_line(str(err.reason))[:80]  # the server's words: untrusted
        raise FeedError(f"{url}: the server answered {err.code} {reason}") from None
    except urllib.error.URLError as err:
        reason = clean_line(str(err.reason))[:120]
        raise FeedError(f"{url}: cannot be fetched ({reason})") from None
    except TimeoutError:
        raise FeedError(f"{url}: no answer within {timeout:.0f} s") from None
    except OSError as err:
        raise FeedError(f"{url}: cannot be fetched ({err})") from None


def load_source(src: str, today: date | None = None, imported_at: str = "") -> Loaded:
    """Read and parse one source. Raises FeedError with a one-line message."""
    if src == "--clipboard":
        try:
            text = paste()
        except ClipboardError as err:
            raise FeedError(str(err)) from None
        data, origin = text.encode("utf-8"), "<clipboard>"
    else:
        data, origin = read_source(src)
    if not data.strip():
        raise FeedError(f"{origin}: empty, not a feed")
    text = decode(data, origin)
    result = parse_text(text, origin, today)
    digest = text_digest(text)
    source = Source(
        format=result.format,
        origin=origin,
        # A feed that carries no date (the Chinese digests) is dated by its import.
        feed_date=result.feed_date or (imported_at[:10] or None),
        digest=digest,
        imported_at=imported_at,
    )
    return Loaded(origin=origin, result=result, source=source)
