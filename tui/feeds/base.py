"""The one small interface every feed format implements.

A format module defines a module-level ``FORMAT`` object with a ``name``, a human ``label``,
a short ``badge`` for the list, ``sniff(text) -> float`` (how sure it is that the text is in
this format, 0..1) and ``parse(text, ctx) -> ParseResult``. ``tui.feeds`` discovers every
module in this package that has a ``FORMAT``: adding a source means adding one file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from ..models import Paper

if TYPE_CHECKING:
    from bs4 import BeautifulSoup


def split_lines(text: str) -> list[str]:
    """The text's lines, numbered (from 1) the way error messages number them. Within
    `lines_shared` of this text the list is the same for every reader: do not change it."""
    global _shared
    known, lines = _shared
    if known is text and lines is not None:
        return lines
    split = text
    if split.startswith("\ufeff"):
        split = split.lstrip("\ufeff")
    if "\r" in split:
        split = split.replace("\r\n", "\n").replace("\r", "\n")
    lines = split.split("\n")
    if known is text:
        _shared = (text, lines)
    return lines


SNIFF_LINES = 3000  # how many lines of a text the text formats' sniffers look at

# The text being parsed (`lines_shared`), its lines once split and its sniffers' lines
# (`sniff_lines`): every format reads the same text, which is split once. Kept by identity,
# not equality (no hashing of a long text); another thread's text only takes their place
# (each thread then splits its own).
_shared: tuple[str | None, list[str] | None] = (None, None)
_sniffed: tuple[str | None, list[str]] = (None, [])


@contextmanager
def lines_shared(text: str) -> Iterator[None]:
    """Within: ``text`` is split into lines (`split_lines`, `sniff_lines`) once, whoever
    reads it; after it, nothing of it is kept."""
    global _shared, _sniffed
    _shared = (text, None)
    try:
        yield
    finally:
        _shared = (None, None)
        _sniffed = (None, [])


def sniff_lines(text: str) -> list[str]:
    """The first `SNIFF_LINES` lines of ``text`` after its leading blank space (a BOM too),
    each stripped of surrounding whitespace: what the text formats' sniffers read. Kept for
    the next sniffer of the same text (within `lines_shared`): do not change the list."""
    global _sniffed
    known, lines = _sniffed
    if known is text:
        return lines
    head = text.lstrip("\ufeff \t\r\n")
    lines = [line.strip() for line in split_lines(head)[:SNIFF_LINES]]
    if _shared[0] is text:
        _sniffed = (text, lines)
    return lines


# Tags a saved page may hold: five times a 2,000-paper arXiv listing (~45 a paper). A flood
# of tags costs BeautifulSoup ~600 bytes and ~15 µs each (2 MB of <a/>: 330 MB, 8 s): a
# 50 MB page of them would take gigabytes and the other inputs of the command with it.
MAX_TAGS = 500_000
FIELD_TAGS = 10_000  # in one field's HTML: more is stripped without a parser


def html_page(text: str, ctx: ParseContext, what: str) -> BeautifulSoup:
    """``text`` parsed by BeautifulSoup's html.parser. FeedError naming the file when it holds
    more than `MAX_TAGS` tags (``what``: "an arXiv listing", for the message)."""
    from bs4 import BeautifulSoup

    tags = text.count("<")
    if tags > MAX_TAGS:
        raise FeedError(
            f"{ctx.origin}: {tags:,} tags, too many for {what}: expected at most {MAX_TAGS:,}"
        )
    return BeautifulSoup(text, "html.parser")


def char_ref_value(decimal: str | None, hexadecimal: str | None) -> int | None:
    """The number a numeric character reference names, from its digits (``&#27;``: "27",
    None; ``&#x1B;``: None, "1B"): 27. None when it has more than 8 digits (beyond
    Unicode; never int() of thousands of digits, which Python refuses)."""
    digits = (decimal or hexadecimal or "").lstrip("0")
    if len(digits) > 8:
        return None
    return int(digits or "0", 10 if decimal else 16)


# A control character XML forbids (ESC, ``&#27;``) cannot reach an XML parser: its recovery
# drops every entity after it. It is held as a noncharacter while the parser reads the feed
# (U+FDD0 + its code: XML allows them, and they are no text), then given back, so `clean`
# removes it as in every other format: the control alone, or the escape sequence it opens
# ("&#x1b;Sigma" reads "Sigma", "&#x1b;[31mred" reads "red").
_HELD = 0xFDD0
_RESTORE = {_HELD + code: code for code in range(0x20)}


def held_control(code: int) -> str:
    """The placeholder of the C0 control ``code`` in XML text (see `restore_controls`)."""
    return chr(_HELD + code)


def restore_controls(text: str) -> str:
    """``text`` with every `held_control` placeholder turned back into its control."""
    return text.translate(_RESTORE)


def html_text(value: str) -> str:
    """The text of an HTML fragment written into a feed's field (an Atom ``type="html"``
    summary, RSS before 2024's ``<p>…</p>`` and ``<a href=…>Ana Lima</a>``), on one line:
    tags dropped, entities read, whitespace collapsed. A field of more than `FIELD_TAGS`
    tags (a flood, not a paper's text) has them dropped by a pattern, in linear time."""
    if value.count("<") > FIELD_TAGS:
        import html
        import re

        return " ".join(html.unescape(re.sub(r"<[^<>]*>?", " ", value)).split())
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(value, "html.parser").get_text(" ").split())


def check_html_complete(text: str, ctx: ParseContext) -> None:
    """Raise FeedError when a saved page stops before its end (no closing ``</html>``)."""
    if "</html>" not in text[-65536:].lower():
        raise FeedError(f"{ctx.origin}: cut off before the end of the page: expected </html>")


class FeedError(Exception):
    """A feed could not be read at all: the one error type parsers raise.

    ``str(err)`` is a complete one-line message naming the file.
    """


class RefusedFeed(FeedError):
    """A feed of the format that tried it, refused as it is (it declares XML entities): no
    other format is tried, its message is the error."""


class EmptyFeed(FeedError):
    """A well-formed feed that lists no paper at all (a day without announcements, an API
    query past its last result): for `papertui fetch` "no new papers", not a failure."""


@dataclass
class Skipped:
    """An entry that was malformed and left out, with the line it starts on."""

    line: int
    reason: str


@dataclass
class ParseContext:
    """What a parser may know beyond the text itself."""

    origin: str  # file path, URL, "<stdin>" or "<clipboard>" (used in messages)
    today: date  # resolves dates without a year when the page itself carries none


@dataclass
class ParseResult:
    """What one feed yielded."""

    format: str
    papers: list[Paper] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    feed_date: str | None = None  # ISO date of the page/feed, when it says
    partial: str = ""  # the page says it shows only part of its entries: what it says
    total: int | None = None  # the whole query's entries, when it says (an API's page)
    # Each paper's feed_date is the day of its own section of the page (an arXiv `/recent`
    # listing holds several days): it was seen in that day's feed, not the page's.
    by_day: bool = False
    # Its text holds the controls XML forbids as `held_control` placeholders (the XML
    # readers): `restore_controls` gives them back before `clean` removes them.
    held_controls: bool = False


class FeedFormat(Protocol):
    """The interface of a feed format module's ``FORMAT`` object."""

    name: str  # stable identifier stored in provenance, e.g. "hf-text"
    label: str  # for people: "Hugging Face Daily Papers (text)"
    badge: str  # short source badge: "HF", "arXiv", "arXivDaily", "digest"

    def sniff(self, text: str) -> float:
        """0.0 (certainly not this format) … 1.0 (certainly this format)."""
        ...

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        """Parse the whole text. Malformed entries go to ``skipped``; a feed that is
        cut off or holds no entry at all raises ``FeedError``."""
        ...
