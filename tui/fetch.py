"""`papertui fetch`: the user's sources, named in a config file, fetched politely and imported.

The config file is TOML (`config_path`: ``config.toml`` in the user config directory, or
``$PAPERTUI_CONFIG``), read with the standard library's ``tomllib`` (``tomli`` before Python
3.11). Its ``[fetch]`` table names the sources:

- ``arxiv = ["cs.CV", "cs.LG"]``: each category's daily feed (``rss.arxiv.org/rss/<cat>``,
  format F); with ``--since`` the arXiv API (``export.arxiv.org/api/query``, format H) for the
  papers submitted since that day, in pages of `API_PAGE`.
- ``huggingface = true``: Hugging Face Daily Papers, the API's answer for the day
  (``/api/daily_papers?date=YYYY-MM-DD``, format G), each day since ``--since``.
- ``feeds = ["https://…"]``: any other URL of a feed papertui reads.

Polite by default: a conditional request (the last answer's ETag / Last-Modified, kept in the
library's cache folder) so that a second fetch the same day downloads nothing; a User-Agent
naming papertui; one request to arXiv every `ARXIV_PACE` seconds (arXiv's documented pace);
429/503 answers waited out once as Retry-After asks (up to `MAX_RETRY_WAIT`); the timeouts
and size caps of `import URL`. Each source succeeds or fails on its own.
"""

from __future__ import annotations

import difflib
import html
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from .config import ConfigError, config_path, read_config
from .feeds import EmptyFeed, FeedError, decode
from .library import ImportReport, Library, LibraryError
from .library.core import now_iso
from .sources import URL_TIMEOUT, Answer, RetryLater, download, load_text, unexpected
from .text import clean_line

ARXIV_PACE = 3.0  # seconds between two requests to arXiv (arxiv.org/help/api/tou)
MAX_RETRY_WAIT = 120.0  # seconds: a longer Retry-After fails the source for today
API_PAGE = 500  # papers per arXiv API request (it allows up to 2,000; smaller pages fail less)
MAX_API_PAGES = 60  # pages of one API query at most (arXiv serves 30,000 results of one)
MAX_SINCE_DAYS = 31  # how far back --since may go (the HF API is one request a day)
# A value a request header can carry: printable Latin-1, no line break (RFC 9110, 5.5).
_HEADER_VALUE = re.compile(
    r"[\x21-\x7e\xa0-\xff](?:[\x20-\x7e\xa0-\xff]{0,198}[\x21-\x7e\xa0-\xff])?\Z"
)
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$")

EXAMPLE = """\
# papertui's configuration (TOML). `papertui config` prints it, `papertui config --edit` opens it.

[fetch]
# arXiv categories whose daily announcements `papertui fetch` brings in (rss.arxiv.org).
arxiv = ["cs.CV", "cs.LG"]

# Hugging Face Daily Papers (huggingface.co/papers).
huggingface = true

# Any other feed papertui reads, by URL (RSS, Atom, a saved page served somewhere).
feeds = []

[keys]
# The app's keys, remapped by action name (`?` in the app lists the actions and keys), e.g.:
# toggle_star = "f"
# read_next = ["space", "l"]
"""

_DEFAULTS: dict[str, Any] = {
    "arxiv": [],
    "huggingface": False,
    "feeds": [],
    # Where each source is asked (a mirror, or a local server in the tests).
    "arxiv_rss": "https://rss.arxiv.org/rss/",
    "arxiv_api": "https://export.arxiv.org/api/query",
    "huggingface_api": "https://huggingface.co/api/daily_papers",
    "arxiv_pace": ARXIV_PACE,
    "timeout": URL_TIMEOUT,
}
_ENDPOINTS = ("arxiv_rss", "arxiv_api", "huggingface_api")  # (not in the hint: for mirrors)


@dataclass
class FetchConfig:
    """The ``[fetch]`` table: see the module's docstring."""

    arxiv: list[str] = field(default_factory=list)
    huggingface: bool = False
    feeds: list[str] = field(default_factory=list)
    arxiv_rss: str = _DEFAULTS["arxiv_rss"]
    arxiv_api: str = _DEFAULTS["arxiv_api"]
    huggingface_api: str = _DEFAULTS["huggingface_api"]
    arxiv_pace: float = ARXIV_PACE
    timeout: float = URL_TIMEOUT  # seconds without progress before a download is abandoned


def write_example(path: Path) -> bool:
    """Write the commented example config at ``path`` unless a file is there; True when it
    wrote one. OSError when its folder cannot be made, LibraryError (one line naming the
    file) when the file cannot be written."""
    if path.exists():
        return False
    from .library.storage import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, EXAMPLE.encode("utf-8"))
    return True


def load_config(path: Path) -> FetchConfig:
    """The ``[fetch]`` table of the TOML file at ``path``. ConfigError (one line, naming the
    file, the line for a syntax error, the key for a wrong value or an unknown key) when it
    cannot be read or used."""
    try:
        data = read_config(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (`papertui config` writes an example)") from None
    table = data.get("fetch", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [fetch] must be a table")
    for key in table:
        if key not in _DEFAULTS:
            near = difflib.get_close_matches(key, list(_DEFAULTS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            known = ", ".join(k for k in _DEFAULTS if k not in _ENDPOINTS)
            raise ConfigError(f"{path}: [fetch] has no key {key!r}{hint}; it knows {known}")
    config = FetchConfig(**{k: table.get(k, v) for k, v in _DEFAULTS.items()})
    if not (isinstance(config.arxiv, list) and all(isinstance(c, str) for c in config.arxiv)):
        raise ConfigError(f'{path}: [fetch] arxiv must be a list of categories, e.g. ["cs.CV"]')
    for category in config.arxiv:
        if not _CATEGORY.match(category):
            raise ConfigError(
                f"{path}: [fetch] arxiv: {clean_line(category)!r} is not an arXiv category "
                "(e.g. cs.CV, math.OC, hep-th)"
            )
    if not isinstance(config.huggingface, bool):
        raise ConfigError(f"{path}: [fetch] huggingface must be true or false")
    if not (isinstance(config.feeds, list) and all(isinstance(u, str) for u in config.feeds)):
        raise ConfigError(f"{path}: [fetch] feeds must be a list of URLs")
    for url in config.feeds:
        if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
            raise ConfigError(f"{path}: [fetch] feeds: {clean_line(url)!r} is not an http(s) URL")
    for key in _ENDPOINTS:
        if not isinstance(getattr(config, key), str):
            raise ConfigError(f"{path}: [fetch] {key} must be a URL")
    for key in ("arxiv_pace", "timeout"):
        value = getattr(config, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)  # (TOML has inf and nan)
            or value < 0
        ):
            raise ConfigError(f"{path}: [fetch] {key} must be a number of seconds")
    if config.timeout <= 0:
        raise ConfigError(f"{path}: [fetch] timeout must be more than 0 seconds")
    # A category or feed named twice is asked for once (in its first place).
    config.arxiv = list(dict.fromkeys(config.arxiv))
    config.feeds = list(dict.fromkeys(config.feeds))
    return config


@dataclass
class Target:
    """One request to make: ``name`` as the report shows it, ``url``, ``arxiv`` (paced)."""

    name: str
    url: str
    arxiv: bool = False
    conditional: bool = True  # send the last answer's validators (not for API pages)
    paged: bool = False  # an arXiv API query: more pages follow a full one
    expects: str = ""  # what the source sends, for the error when it sends something else


def plan(config: FetchConfig, today: date, since: date | None = None) -> list[Target]:
    """The requests a fetch makes, in order. ValueError for a ``since`` after ``today`` or
    more than `MAX_SINCE_DAYS` before it."""
    if since is not None:
        if since > today:
            raise ValueError(f"--since {since}: after today ({today})")
        if (today - since).days > MAX_SINCE_DAYS:
            raise ValueError(f"--since {since}: more than {MAX_SINCE_DAYS} days ago")
    targets: list[Target] = []
    for category in config.arxiv:
        if since is None:
            url = config.arxiv_rss.rstrip("/") + "/" + category
            targets.append(Target(f"arXiv {category}", url, arxiv=True, expects=_ARXIV_RSS))
        else:
            days = f"[{since:%Y%m%d}0000 TO {today:%Y%m%d}2359]"
            query = urllib.parse.urlencode(
                {
                    "search_query": f"cat:{category} AND submittedDate:{days}",
                    "sortBy": "submittedDate",
                    "sortOrder": "descending",
                    "max_results": API_PAGE,
                }
            )
            name = f"arXiv {category} since {since}"
            url = _with_query(config.arxiv_api, query)
            targets.append(Target(name, url, True, False, True, expects=_ARXIV_API))
    if config.huggingface:
        day = today if since is None else since
        while day <= today:
            url = _with_query(config.huggingface_api, f"date={day.isoformat()}")
            name = f"Hugging Face {day}"
            targets.append(Target(name, url, conditional=since is None, expects=_HF_API))
            day += timedelta(days=1)
    for url in config.feeds:
        targets.append(Target(clean_line(url), url))
    return targets


_ARXIV_RSS = "arXiv's RSS feed"
_ARXIV_API = "the arXiv API's Atom answer"
_HF_API = "Hugging Face's JSON list of Daily Papers"
_TITLE = re.compile(r"<title[^>]*>(.{0,400}?)</title", re.I | re.S)


def _what(text: str) -> str:
    """What an answer that is no feed holds, for people: 'an HTML page ("its title")', 'a
    JSON object ("error": "…")', … (the server's words cleaned and cut short)."""
    head = text.lstrip("\ufeff \t\r\n")[:65536]
    if head.startswith("<"):
        if "<html" not in head[:2048].lower() and "<!doctype html" not in head[:2048].lower():
            return "an XML document in no form papertui reads"
        title = _TITLE.search(head)
        words = clean_line(html.unescape(title.group(1)))[:80] if title else ""
        return f'an HTML page ("{words}")' if words else "an HTML page"
    if head.startswith("{"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "damaged JSON"
        said = value.get("error") if isinstance(value, dict) else None
        if isinstance(said, str) and clean_line(said):
            return f'a JSON object ("error": "{clean_line(said)[:80]}")'
        return "a JSON object"
    return "text in no format papertui reads"


def _with_query(url: str, query: str) -> str:
    """``url`` with ``query`` added to the query it may have (a mirror's ``?token=…``)."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


@dataclass
class Outcome:
    """What one source gave: ``report`` when something was stored, else ``status``
    ("unchanged", "no new papers", "error") and the ``message``."""

    target: Target
    status: str
    message: str = ""
    reports: list[ImportReport] = field(default_factory=list)
    note: str = ""  # what the line adds: the API gave fewer papers than it counted

    @property
    def line(self) -> str:
        """One line for people: "arXiv cs.CV: 142 new, 3 merged, 0 already known", then
        what a page said it left out, the entries left out as malformed and the `note`,
        when there are."""
        if self.status == "stored":
            new = sum(r.new for r in self.reports)
            merged = sum(r.merged for r in self.reports)
            known = sum(r.unchanged for r in self.reports)
            if not new and not merged:
                said = f"{self.target.name}: no new papers ({known} already known)"
            else:
                said = f"{self.target.name}: {new} new, {merged} merged, {known} already known"
            for partial in (r.partial for r in self.reports if r.partial):
                said += f"; {partial}"  # (a `/recent` page: "shows 5 of its 388 entries")
            skipped = [s for r in self.reports for s in r.skipped]
            if skipped:
                why = skipped[0].reason[:120]
                many = f"{len(skipped)} entries left out, the first" if skipped[1:] else ""
                said += f"; {many or '1 entry left out'}: {why}"
            return f"{said}; {self.note}" if self.note else said
        if self.status == "unchanged":
            return f"{self.target.name}: unchanged since the last fetch (nothing downloaded)"
        if self.status == "no new papers":
            return f"{self.target.name}: no new papers ({self.message})"
        if self.message.startswith(f"{self.target.name}: "):  # (a feed named by its URL)
            return self.message
        return f"{self.target.name}: {self.message}"


class Validators:
    """The ETag / Last-Modified of each URL's last answer, in ``<library>/.cache/fetch.json``
    (the cache folder: never synced; losing it costs one full download)."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".cache" / "fetch.json"
        try:
            loaded = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            loaded = {}
        self.known: dict[str, dict[str, str]] = loaded if isinstance(loaded, dict) else {}

    def get(self, url: str) -> tuple[str, str]:
        """The ETag and Last-Modified to send for ``url`` ("" for none). A value no request
        header can carry (a cache from another version, edited by hand: not Latin-1, a line
        break) is not sent: the feed is downloaded whole and the next answer replaces it."""
        entry = self.known.get(url)
        if not isinstance(entry, dict):
            return "", ""
        etag, modified = (entry.get(key) for key in ("etag", "modified"))
        return (
            etag if isinstance(etag, str) and _HEADER_VALUE.match(etag) else "",
            modified if isinstance(modified, str) and _HEADER_VALUE.match(modified) else "",
        )

    def put(self, url: str, answer: Answer) -> None:
        if answer.etag or answer.modified:
            self.known[url] = {"etag": answer.etag, "modified": answer.modified}

    def save(self) -> None:
        from .library.storage import atomic_write

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, orjson.dumps(self.known))
        except (OSError, LibraryError):
            pass  # (only the next fetch's shortcut is lost)


class Pace:
    """At least ``seconds`` from the end of one request to arXiv to the start of the next
    (`wait` before, `done` after); ``sleep`` is injectable."""

    def __init__(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.seconds, self.sleep = seconds, sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            left = self.seconds - (time.monotonic() - self.last)
            if left > 0:
                self.sleep(left)

    def done(self) -> None:
        self.last = time.monotonic()


def _get(
    url: str,
    etag: str,
    modified: str,
    sleep: Callable[[float], None],
    timeout: float,
    stop: threading.Event | None = None,
    least: float = 0.0,
) -> Answer:
    """`download`, waiting out one 429/503 as its Retry-After asks (at most MAX_RETRY_WAIT;
    5 s when it names no time; at least ``least``: arXiv's pace); FeedError when ``stop`` is
    set meanwhile."""
    try:
        return download(url, etag=etag, modified=modified, timeout=timeout, stop=stop)
    except RetryLater as err:
        wait = max(least, 5.0 if err.after is None else err.after)
        if wait > MAX_RETRY_WAIT:
            raise FeedError(f"{err} and asked to come back in {wait:.0f} s: try later") from None
        sleep(wait)
        if stop is not None and stop.is_set():
            raise FeedError(f"{err}; stopped while waiting to ask again") from None
        try:
            return download(url, etag=etag, modified=modified, timeout=timeout, stop=stop)
        except RetryLater as again:
            raise FeedError(f"{again} again after waiting {wait:.0f} s: try later") from None


Store = Callable[[list[Any]], tuple[list[ImportReport], list[str]]]
"""Stores parsed feeds ((ParseResult, Source) pairs): `importing.store_feeds` on a library, or
the app's way of calling it on its UI thread."""


def fetch(
    lib: Library,
    targets: list[Target],
    *,
    pace: float = ARXIV_PACE,
    timeout: float = URL_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, Target], None] | None = None,
    store: Store | None = None,
    stop: threading.Event | None = None,
    done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Fetch every target and import what it gave into ``lib`` (through ``store`` when
    given); one Outcome per target, in order, each also given to ``done`` as it comes (what
    a Ctrl-C, which this raises again, leaves the caller to tell). Never raises for one
    source: its error is its outcome. Once ``stop`` is set (the app quits) no request is
    made and no wait waited out: the download under way is hung up and the targets left
    are not fetched (their outcome says so)."""
    from .importing import store_feeds

    keep: Store = store or (lambda feeds: store_feeds(lib, feeds))
    if stop is not None:
        sleep = stop.wait  # (a wait that ends when stop is set)
    validators = Validators(lib.root)
    arxiv_pace = Pace(pace, sleep)
    stamp = now_iso()
    outcomes: list[Outcome] = []
    for number, target in enumerate(targets):
        if stop is not None and stop.is_set():
            outcomes.append(Outcome(target, "error", f"{target.url}: not fetched (stopped)"))
            continue
        if progress is not None:
            progress(number, target)
        try:
            outcome = _one(keep, target, validators, arxiv_pace, sleep, stamp, timeout, stop)
        except Exception as err:  # a bug (in a reader, say): this source's error, not all's
            outcome = Outcome(target, "error", f"{target.url}: not fetched: {unexpected(err)}")
        outcomes.append(outcome)
        if done is not None:
            done(outcome)
    validators.save()
    return outcomes


def _one(
    store: Store,
    target: Target,
    validators: Validators,
    pace: Pace,
    sleep: Callable[[float], None],
    stamp: str,
    timeout: float,
    stop: threading.Event | None = None,
) -> Outcome:
    """One source fetched and stored. An arXiv API query (``target.paged``) is read page by
    page, `API_PAGE` entries from ``start``, until the total its answers count is reached
    (`ParseResult.total`), a page comes short or empty or brings no paper not seen on an
    earlier page, or `MAX_API_PAGES` were asked for; a paper on two pages is kept once, and
    the line says when fewer papers came than the API counted."""
    loaded = []
    start = 0
    total: int | None = None
    seen: set[str] = set()
    given = 0  # entries of the query read, each once
    failed_page = ""
    url = target.url
    while True:
        etag, modified = validators.get(url) if target.conditional else ("", "")
        if target.arxiv:
            pace.wait()
        try:
            least = pace.seconds if target.arxiv else 0.0
            answer = _get(url, etag, modified, sleep, timeout, stop, least)
            if answer.status == 304:
                return Outcome(target, "unchanged")
            if not answer.body.strip():  # (a quiet day is a feed with no item: not this)
                raise FeedError(f"{url}: an empty answer (expected a feed)")
            text = decode(answer.body, url)
            try:
                item = load_text(text, url, imported_at=stamp)
            except FeedError as err:
                if target.expects and "not a recognised feed" in str(err):
                    got = _what(text)
                    raise FeedError(f"{url}: expected {target.expects}, got {got}") from None
                raise
        except EmptyFeed:
            if loaded:
                break
            if target.conditional:  # (nothing to store: the next fetch may skip it at once)
                validators.put(target.url, answer)
            return Outcome(target, "no new papers", "none announced")
        except FeedError as err:
            if not loaded:
                return Outcome(target, "error", clean_line(str(err)))
            failed_page = clean_line(str(err))  # (the pages before it are kept)
            break
        finally:
            if target.arxiv:
                pace.done()
        loaded.append(item)
        if not target.paged:
            break
        result = item.result
        entries = len(result.papers) + len(result.skipped)
        total = result.total if result.total is not None else total
        fresh = [p for p in result.papers if not p.arxiv_id or p.arxiv_id not in seen]
        seen.update(p.arxiv_id for p in fresh if p.arxiv_id)
        given += len(fresh) + len(result.skipped)
        result.papers = fresh
        start += entries
        if (
            not fresh
            or (total is None and entries < API_PAGE)
            or (total is not None and start >= total)
            or len(loaded) >= MAX_API_PAGES
        ):
            break
        url = f"{target.url}&start={start}"
    reports, failed = store([(i.result, i.source) for i in loaded])
    if failed:
        return Outcome(target, "error", "; ".join(failed), reports)
    if failed_page:
        got = sum(len(i.result.papers) for i in loaded)
        said = f"{got:,} papers of the first {len(loaded)} pages stored, then {failed_page}"
        return Outcome(target, "error", said, reports)
    if target.conditional:  # (only once stored: a failed store downloads again next time)
        validators.put(target.url, answer)
    note = ""
    if total is not None and given < total:
        note = (
            f"the arXiv API gave {given:,} of the {total:,} papers it counted: "
            "fetch --since again later for the rest"
        )
    return Outcome(target, "stored", reports=reports, note=note)


def parse_since(text: str) -> date:
    """``YYYY-MM-DD`` → a date; ValueError with a one-line message otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {clean_line(text)!r}: expected a date like 2026-06-01") from None


__all__ = [
    "ConfigError",
    "FetchConfig",
    "LibraryError",
    "Outcome",
    "Target",
    "config_path",
    "fetch",
    "load_config",
    "plan",
    "write_example",
]
