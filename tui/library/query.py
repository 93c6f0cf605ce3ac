"""The search language shared by `papertui list --search` and the app's `/` box.

Words match (case-insensitively, all of them) anywhere in titles, authors, abstracts,
summaries, tags and notes. Filters: ``tag:x``, ``is:starred|unstarred|read|unread|noted|tagged``,
``author:x``, ``source:hf|arxiv|arxivdaily|digest`` (or a format name), ``cat:cs.CV``,
``since:2026-06-01``, ``until:2026-06-30``, ``feed:2026-06-18``. A leading ``-`` negates a
term; ``"quoted words"`` match as a phrase.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FILTER_KEYS = ("tag", "is", "author", "source", "cat", "since", "until", "feed")
IS_VALUES = ("starred", "unstarred", "read", "unread", "noted", "tagged")
SOURCE_ALIASES = {
    "hf": ("hf-text", "hf-html"),
    "huggingface": ("hf-text", "hf-html"),
    "arxiv": ("arxiv-html", "arxiv-rss"),
    "arxivdaily": ("arxivdaily",),
    "digest": ("digest",),
}

Predicate = Callable[[dict[str, Any], dict[str, Any]], bool]


class QueryError(ValueError):
    """A query that cannot be understood; ``str()`` says what was expected."""


@dataclass
class Query:
    """A parsed query: a list of (negated, predicate) plus the text it came from."""

    text: str = ""
    terms: list[tuple[bool, Predicate]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # free words, for highlighting

    def matches(self, paper: dict[str, Any], state: dict[str, Any]) -> bool:
        return all(pred(paper, state) != negated for negated, pred in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms


def haystack(paper: dict[str, Any]) -> str:
    """The lowercased searchable text of a paper's feed fields (cached by the library)."""
    parts = [
        paper.get("title", ""),
        paper.get("title_zh", ""),
        " ".join(paper.get("authors", [])),
        paper.get("organization", ""),
        paper.get("institutions", ""),
        paper.get("abstract", ""),
        paper.get("abstract_zh", ""),
        paper.get("contribution_zh", ""),
        paper.get("method_zh", ""),
        paper.get("findings_zh", ""),
        paper.get("ai_summary", ""),
        paper.get("topic_hit", ""),
        paper.get("arxiv_id") or "",
        " ".join(paper.get("keywords", [])),
    ]
    return "\n".join(p for p in parts if p).casefold()


def _date(value: str, key: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise QueryError(f"{key}: expects a date like 2026-06-01, not {value!r}") from None


def _word(word: str, text_of: Callable[[dict[str, Any]], str]) -> Predicate:
    def pred(paper: dict[str, Any], state: dict[str, Any]) -> bool:
        if word in text_of(paper):
            return True
        if any(word in t.casefold() for t in state.get("tags", ())):
            return True
        return word in state.get("note", "").casefold()

    return pred


def _filter(key: str, value: str) -> Predicate:
    v = value.casefold()
    if key == "tag":
        return lambda p, s: any(t.casefold() == v for t in s.get("tags", ()))
    if key == "is":
        if v not in IS_VALUES:
            raise QueryError(f"is: expects one of {', '.join(IS_VALUES)}, not {value!r}")
        return {
            "starred": lambda p, s: bool(s.get("starred")),
            "unstarred": lambda p, s: not s.get("starred"),
            "read": lambda p, s: bool(s.get("read")),
            "unread": lambda p, s: not s.get("read"),
            "noted": lambda p, s: bool(s.get("note", "").strip()),
            "tagged": lambda p, s: bool(s.get("tags")),
        }[v]
    if key == "author":
        return lambda p, s: (
            any(v in a.casefold() for a in p.get("authors", ()))
            or (v in (p.get("organization") or "").casefold())
        )
    if key == "source":
        formats = SOURCE_ALIASES.get(v, (v,))
        return lambda p, s: any(src.get("format") in formats for src in p.get("sources", ()))
    if key == "cat":
        return lambda p, s: (
            any(c.casefold() == v for c in p.get("categories", ()))
            or any(c.casefold().startswith(v + ".") for c in p.get("categories", ()))
        )
    if key == "since":
        d = _date(value, key)
        return lambda p, s: (p.get("feed_date") or p.get("added_at", "")[:10]) >= d
    if key == "until":
        d = _date(value, key)
        return lambda p, s: (p.get("feed_date") or p.get("added_at", "")[:10]) <= d
    if key == "feed":
        d = _date(value, key)
        return lambda p, s: any(src.get("feed_date") == d for src in p.get("sources", ()))
    raise QueryError(f"unknown filter {key}: (known: {', '.join(FILTER_KEYS)})")


_FILTER = re.compile(r"^(-?)([a-z]+):(.+)$")


def parse_query(text: str, text_of: Callable[[dict[str, Any]], str] = haystack) -> Query:
    """Parse a query string. Unknown ``key:value`` pairs are searched as plain words."""
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.replace('"', " ").split()
    query = Query(text=text)
    for token in tokens:
        m = _FILTER.match(token)
        if m and m.group(2) in FILTER_KEYS:
            query.terms.append((bool(m.group(1)), _filter(m.group(2), m.group(3))))
            continue
        negated = token.startswith("-") and len(token) > 1
        word = (token[1:] if negated else token).casefold()
        if word:
            query.terms.append((negated, _word(word, text_of)))
            if not negated:
                query.words.append(word)
    return query
