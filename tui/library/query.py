"""The search language shared by `papertui list --search` and the app's `/` box.

Words match (case-insensitively, all of them, as substrings) anywhere in titles, authors,
abstracts, summaries, tags and notes. Filters: ``tag:x``,
``is:starred|unstarred|read|unread|noted|tagged|watched``, ``author:x``, ``watch:NAME``
(the papers holding the tag of the config's watch rule NAME; ``is:watched``: of any rule),
``source:hf|arxiv|arxivdaily|digest`` (or a format name), ``cat:cs.CV`` (or ``cat:cs``),
``since:2026-06-01``, ``until:2026-06-30``, ``feed:2026-06-18``. A leading ``-`` negates a
term; ``"quoted words"`` match as a phrase. Evaluation lives in `tui.library.search`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date

from ..models import BADGES

FILTER_KEYS = ("tag", "is", "author", "source", "cat", "since", "until", "feed", "watch")
IS_VALUES = ("starred", "unstarred", "read", "unread", "noted", "tagged", "watched")
SOURCE_ALIASES = {
    "hf": ("hf-text", "hf-html", "hf-api"),
    "huggingface": ("hf-text", "hf-html", "hf-api"),
    "arxiv": ("arxiv-html", "arxiv-rss", "arxiv-atom"),
    "arxivdaily": ("arxivdaily",),
    "digest": ("digest",),
}


class QueryError(ValueError):
    """A query that cannot be understood; ``str()`` says what was expected."""


@dataclass(frozen=True)
class Term:
    """One condition: ``key`` is "word" or a filter key; ``value`` is already normalised."""

    key: str
    value: str
    negated: bool = False


@dataclass
class Query:
    """A parsed query: terms that must all hold, plus the free words (for highlighting)."""

    text: str = ""
    terms: list[Term] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def words(self) -> list[str]:
        return [t.value for t in self.terms if t.key == "word" and not t.negated]


def haystack_parts(paper: dict) -> tuple[str, str]:
    """A paper's searchable text: (English fields, fields that are mostly Chinese), casefolded.

    Kept apart so a Chinese query scans only the Chinese part, and the large English part
    never needs a wide string.
    """
    latin = "\n".join(
        [
            paper.get("title", ""),
            " ".join(paper.get("authors", ())),
            paper.get("organization", ""),
            paper.get("abstract", ""),
            paper.get("comments", ""),
            paper.get("arxiv_id") or "",
            " ".join(paper.get("keywords", ())),
        ]
    )
    chinese = "\n".join(
        [
            paper.get("title_zh", ""),
            paper.get("institutions", ""),
            paper.get("ai_summary", ""),
            paper.get("topic_hit", ""),
            paper.get("abstract_zh", ""),
            paper.get("contribution_zh", ""),
            paper.get("method_zh", ""),
            paper.get("findings_zh", ""),
        ]
    )
    return latin.casefold(), chinese.casefold()


_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def is_cjk(text: str) -> bool:
    """Whether ``text`` has Chinese (or other CJK) characters: those live in the second part."""
    return bool(_CJK.search(text))


def _date(value: str, key: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise QueryError(f"{key}: expects a date like 2026-06-01, not {value!r}") from None


_FILTER = re.compile(r"^(-?)([A-Za-z]+):(.+)$")
_EMPTY_FILTER = re.compile(r"^(-?)([A-Za-z]+):$")
# What a filter is easily taken to be called (as other tools name it): said, not searched.
_NAMED_ELSEWHERE = {
    "tags": "tag",
    "authors": "author",
    "category": "cat",
    "categories": "cat",
    "sources": "source",
    "before": "until",
    "after": "since",
}
_EXAMPLES = {
    "is": "is:unread",
    "since": "since:2026-06-01",
    "until": "until:2026-06-30",
    "feed": "feed:2026-06-19",
    "source": "source:hf",
    "cat": "cat:cs.CV",
    "author": "author:muller",
    "tag": "tag:to-read",
    "watch": "watch:flow",
}


def _meant_filter(key: str) -> str | None:
    """The filter a ``key:`` that is none most likely means (``AUTHOR``, ``auther``,
    ``tags``, ``category``), or None for a word that only has a colon (``note:``)."""
    import difflib

    low = key.casefold()
    if low in FILTER_KEYS:
        return low
    if low in _NAMED_ELSEWHERE:
        return _NAMED_ELSEWHERE[low]
    # (not watch: "match:" is a word of the papers' own)
    keys = [k for k in FILTER_KEYS if k != "watch"]
    close = difflib.get_close_matches(low, keys, n=1, cutoff=0.8)
    return close[0] if close and len(low) >= 4 else None


def _term(key: str, value: str, negated: bool) -> Term:
    v = value.casefold()
    if key == "is" and v not in IS_VALUES:
        raise QueryError(f"is: expects one of {', '.join(IS_VALUES)}, not {value!r}")
    if key == "source" and v not in SOURCE_ALIASES and v not in BADGES:
        raise QueryError(
            f"source: expects one of {', '.join(SOURCE_ALIASES)} or a format name "
            f"({', '.join(BADGES)}), not {value!r}"
        )
    if key in ("since", "until", "feed"):
        v = _date(value, key)
    return Term(key, v, negated)


def _doubled_quotes(text: str) -> str:
    """``text`` with each ``""`` inside a quoted part written ``\\"``: a quote in quoted text
    is doubled, as papertui writes a tag that holds one (`tui.tags.hash_tag`: the tag
    ``a"b`` is shown ``#"a""b"`` and searched ``tag:"a""b"``); shlex reads the backslash
    form (which works too). Outside quotes, ``""`` stays an empty quoted part."""
    out = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and quoted and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if char == '"':
            if quoted and text.startswith('""', i):
                out.append('\\"')
                i += 2
                continue
            quoted = not quoted
        elif char == "'" and not quoted:  # (a single-quoted part: read as it is, to its end)
            end = text.find("'", i + 1)
            if end > 0:
                out.append(text[i : end + 1])
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_query(text: str) -> Query:
    """Parse a query string; QueryError says what a bad filter expects.

    ``key:value`` pairs whose key is not a filter are searched as plain words, unless the
    key looks like a misspelt or otherwise named filter (``auther:``, ``tags:``): that is
    a QueryError naming the filter. Filter names are read without case (``AUTHOR:li``).
    """
    text = text.replace("\x00", "")
    try:
        tokens = shlex.split(_doubled_quotes(text))
    except ValueError:
        tokens = text.replace('"', " ").split()
    query = Query(text=text)
    for token in tokens:
        bare = _EMPTY_FILTER.match(token)
        if bare and bare.group(2).casefold() in FILTER_KEYS:  # ("is:" alone: not a word)
            key = bare.group(2).casefold()
            raise QueryError(f"{key}: needs a value, e.g. {_EXAMPLES.get(key, key + ':x')}")
        m = _FILTER.match(token)
        if m and m.group(2).casefold() in FILTER_KEYS:  # (AUTHOR:li is author:li)
            query.terms.append(_term(m.group(2).casefold(), m.group(3), bool(m.group(1))))
            continue
        meant = _meant_filter(m.group(2)) if m else None
        if m and meant:  # (`auther:li`, `tags:x` found nothing, as the words "auther:li")
            raise QueryError(
                f"{m.group(2)}: is no filter; did you mean {meant}:? "
                f"(e.g. {_EXAMPLES.get(meant, meant + ':x')})"
            )
        negated = token.startswith("-") and len(token) > 1
        word = (token[1:] if negated else token).casefold()
        if word:
            query.terms.append(Term("word", word, negated))
    return query
