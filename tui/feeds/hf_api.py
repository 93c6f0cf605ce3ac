"""Format G: the Hugging Face Daily Papers API's answer (JSON), as fetched or saved.

``https://huggingface.co/api/daily_papers?date=YYYY-MM-DD`` answers a JSON list with one object
per paper (the same objects a saved page carries, format D; see `_hf` and FORMATS.md, G). The
list is read entry by entry (`json.JSONDecoder.raw_decode`), so that an entry that is not a
paper is named by its line and number and left out while the others are read, and a response
cut off in transfer keeps nothing and says where it stops. The feed's date is the ``date=`` of
the URL it came from, else the day most of its papers were listed (``submittedOnDailyAt``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from ._hf import daily_date, iso_date, paper_from_item
from .base import EmptyFeed, FeedError, ParseContext, ParseResult, Skipped

_DATE_IN_URL = re.compile(r"[?&]date=(\d{4}-\d{2}-\d{2})\b")
_SPACE = re.compile(r"[ \t\n\r]*")
_FIRST_PAPER = re.compile(r'\[\s*\{\s*"paper"\s*:\s*\{')  # the answer's opening
# Keys only the Daily Papers objects have together (a sniffer reads the first 4 kB).
_KEYS = ('"paper"', '"upvotes"', '"submittedOnDailyAt"', '"numComments"', '"publishedAt"')


class HFApiFormat:
    name = "hf-api"
    label = "Hugging Face Daily Papers API (JSON)"
    badge = "HF"

    def sniff(self, text: str) -> float:
        head = text[:4096].lstrip("\ufeff \t\r\n")
        if not head.startswith("["):
            return 0.0
        if head[1:].lstrip().startswith("]"):
            return 0.6  # an empty list: a day without papers, if anything
        if _FIRST_PAPER.match(head):
            return 1.0
        found = sum(key in head for key in _KEYS)
        return 1.0 if found >= 3 else 0.5 if found >= 2 else 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        """The papers of one API answer. FeedError when it is not a JSON list, is cut off or
        damaged (naming the line and column), or lists no paper at all."""
        items = _entries(text, ctx)
        feed_date = _url_date(ctx.origin) or _most_common(daily_date(i) for i, _ in items)
        result = ParseResult(format=FORMAT.name, feed_date=feed_date)
        for index, (item, line) in enumerate(items, start=1):
            made = paper_from_item(item, index, line, feed_date)
            if isinstance(made, Skipped):
                result.skipped.append(made)
            else:
                result.papers.append(made)
        if not result.papers:
            if not result.skipped:
                raise EmptyFeed(
                    f"{ctx.origin}: no papers in this Daily Papers answer (an empty list: "
                    "a day without papers)"
                )
            raise FeedError(
                f"{ctx.origin}: no papers in this Daily Papers answer "
                f"({len(result.skipped)} malformed)"
            )
        return result


FORMAT = HFApiFormat()


def _entries(text: str, ctx: ParseContext) -> list[tuple[Any, int]]:
    """The list's values with the line each starts on; FeedError for anything else."""
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 1 if text.startswith("\ufeff") else 0).end()
    if text[pos : pos + 1] != "[":
        raise FeedError(f"{ctx.origin}: expected a JSON list of Daily Papers objects")
    pos = _SPACE.match(text, pos + 1).end()
    entries: list[tuple[Any, int]] = []
    if text[pos : pos + 1] == "]":
        _end(text, pos + 1, ctx)
        return entries
    while True:
        try:
            value, after = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise _damaged(text, err.pos, err.msg, ctx) from None
        except RecursionError:
            deep = f"{ctx.origin}: nested too deeply to be a Daily Papers answer"
            raise FeedError(deep) from None
        entries.append((value, text.count("\n", 0, pos) + 1))
        pos = _SPACE.match(text, after).end()
        mark = text[pos : pos + 1]
        if mark == "]":
            _end(text, pos + 1, ctx)
            return entries
        if mark != ",":
            raise _damaged(text, pos, "expected ',' or ']' after an entry", ctx)
        pos = _SPACE.match(text, pos + 1).end()


def _end(text: str, pos: int, ctx: ParseContext) -> None:
    rest = _SPACE.match(text, pos).end()
    if rest < len(text):
        raise _damaged(text, rest, "unexpected text after the list", ctx)


def _damaged(text: str, pos: int, what: str, ctx: ParseContext) -> FeedError:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if pos >= len(text.rstrip()) or what.startswith("Unterminated string"):
        end = text.count("\n", 0, len(text.rstrip())) + 1
        return FeedError(
            f"{ctx.origin}: cut off at line {end}: expected the rest of the Daily Papers list"
        )
    return FeedError(
        f"{ctx.origin}: line {line} column {column}: damaged JSON ({what}): expected a list "
        "of Daily Papers objects"
    )


def _url_date(origin: str) -> str | None:
    m = _DATE_IN_URL.search(origin)
    return iso_date(m.group(1)) if m else None


def _most_common(dates: Any) -> str | None:
    counted = Counter(d for d in dates if d)
    return counted.most_common(1)[0][0] if counted else None
