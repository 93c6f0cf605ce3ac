"""The one small interface every feed format implements.

A format module defines a module-level ``FORMAT`` object with a ``name``, a human ``label``,
a short ``badge`` for the list, ``sniff(text) -> float`` (how sure it is that the text is in
this format, 0..1) and ``parse(text, ctx) -> ParseResult``. ``tui.feeds`` discovers every
module in this package that has a ``FORMAT``: adding a source means adding one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Protocol

from ..models import Paper


def split_lines(text: str) -> list[str]:
    """The text's lines, numbered (from 1) the way error messages number them."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


SNIFF_LINES = 3000  # how many lines of a text the text formats' sniffers look at


@lru_cache(maxsize=1)  # (every text format sniffs the same text: split it once)
def sniff_lines(text: str) -> list[str]:
    """The first `SNIFF_LINES` lines of ``text`` after its leading blank space (a BOM too),
    each stripped of surrounding whitespace: what the text formats' sniffers read. Do not
    change the list: it is shared."""
    head = text.lstrip("\ufeff \t\r\n")
    return [line.strip() for line in split_lines(head)[:SNIFF_LINES]]


def check_html_complete(text: str, ctx: ParseContext) -> None:
    """Raise FeedError when a saved page stops before its end (no closing ``</html>``)."""
    if "</html>" not in text[-65536:].lower():
        raise FeedError(f"{ctx.origin}: cut off before the end of the page: expected </html>")


class FeedError(Exception):
    """A feed could not be read at all: the one error type parsers raise.

    ``str(err)`` is a complete one-line message naming the file.
    """


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
