"""Answering queries: the search language evaluated as set operations over indexes.

A mixin of `Library` (kept apart from storage and history): filters on the user's state scan
only the papers that have state; sources, categories and feed dates have inverted indexes;
words go to the word index once `warm` has built it and are scanned for until then. Sort
orders are computed once per key and reused until papers change.
"""

from __future__ import annotations

import threading
from typing import Any

from .query import (
    SOURCE_ALIASES,
    Query,
    QueryError,
    Term,
    haystack_parts,
    is_cjk,
    parse_query,
)
from .search import TextIndex, WordIndex

SORT_KEYS = ("feed_date", "paper_date", "upvotes", "title", "added")


class QueryMixin:
    """Queries, sort orders and search indexes of a `Library`."""

    papers: dict[str, dict[str, Any]]
    states: dict[str, dict[str, Any]]
    _derived: dict[str, Any]
    _authors: TextIndex | None
    _text: tuple[TextIndex, TextIndex] | None
    _words: WordIndex | None
    _unindexed: set[str]
    _unindexed_words: set[str]
    _body_lock: threading.RLock
    # Also used, from Library: load_bodies() and record(pid).

    def query(
        self, query: str | Query = "", sort: str = "feed_date", reverse: bool = True
    ) -> list[str]:
        """Ids of the papers matching ``query``, sorted (newest first by default)."""
        if sort not in SORT_KEYS:
            raise QueryError(f"sort: expects one of {', '.join(SORT_KEYS)}, not {sort!r}")
        q = parse_query(query) if isinstance(query, str) else query
        hits = self._evaluate(q)
        order = self._order(sort)
        if not reverse:
            order = order[::-1]
        if hits is None:
            return list(order)
        return [pid for pid in order if pid in hits]

    def sort(self, ids: list[str], sort: str = "feed_date", reverse: bool = True) -> list[str]:
        wanted = set(ids)
        order = self._order(sort)
        return [pid for pid in (order if reverse else order[::-1]) if pid in wanted]

    def warm(self) -> None:
        """Read all bodies and build every search index now (the app does it in a worker).

        Until then a word query scans the text (about 100 ms at 100k papers, after reading
        the bodies); afterwards it looks words up in the word index (about 30 ms)."""
        self.load_bodies()
        self._authors_index()
        self._build_text(words=True)

    def _order(self, sort: str) -> list[str]:
        key = "order:" + sort
        order = self._derived.get(key)
        if order is None:
            order = sorted(self.papers, key=_SORTERS[sort](self.papers), reverse=True)
            self._derived[key] = order
        return order

    def _evaluate(self, q: Query) -> set[str] | None:
        """The matching ids, or None when every paper matches."""
        result: set[str] | None = None
        # Positive terms first: they narrow the set that negative terms subtract from.
        for term in sorted(q.terms, key=lambda t: t.negated):
            hits = self._term(term)
            if term.negated:
                result = (set(self.papers) if result is None else result) - hits
            else:
                result = hits if result is None else result & hits
        return result

    def _term(self, term: Term) -> set[str]:
        key, v = term.key, term.value
        states = self.states
        if key == "word":
            words = self._word_index()
            hits, exact = words.candidates(v) if words is not None else (None, False)
            if hits is None:  # nothing to narrow by: scan the text
                latin, chinese = self._text_index()
                hits = chinese.find(v) if is_cjk(v) else latin.find(v) | chinese.find(v)
            elif not exact:  # check the candidates' text
                hits = {pid for pid in hits if v in "\n".join(haystack_parts(self.record(pid)))}
            hits.update(
                pid
                for pid, s in states.items()
                if v in s.get("note", "").casefold()
                or any(v in t.casefold() for t in s.get("tags", ()))
            )
            return hits
        if key == "tag":
            return {
                pid
                for pid, s in states.items()
                if any(t.casefold() == v for t in s.get("tags", ()))
            }
        if key == "is":
            field_of = {"starred": "starred", "unstarred": "starred", "read": "read"}
            field_of |= {"unread": "read", "noted": "note", "tagged": "tags"}
            name = field_of[v]
            have = {pid for pid, s in states.items() if s.get(name)}
            if name == "note":
                have = {pid for pid in have if states[pid]["note"].strip()}
            return set(self.papers) - have if v in ("unstarred", "unread") else have
        if key == "author":
            return self._authors_index().find(v)
        if key == "source":
            by_format = self._index_by("sources")
            formats = SOURCE_ALIASES.get(v, (v,))
            return set().union(*(by_format.get(f, ()) for f in formats))
        if key == "cat":
            by_cat = self._index_by("categories")
            return set().union(
                *(ids for c, ids in by_cat.items() if c == v or c.startswith(v + "."))
            )
        if key == "feed":
            return self._index_by("feed_dates").get(v, set())
        papers = self.papers
        if key == "since":
            return {
                pid
                for pid, p in papers.items()
                if (p.get("feed_date") or p.get("added_at", "")[:10]) >= v
            }
        if key == "until":
            return {
                pid
                for pid, p in papers.items()
                if (p.get("feed_date") or p.get("added_at", "")[:10]) <= v
            }
        raise QueryError(f"unknown filter {key}:")  # pragma: no cover - parse_query checks

    def _index_by(self, what: str) -> dict[str, set[str]]:
        """Paper ids by source format, by category (casefolded) or by feed date."""
        key = "by:" + what
        index = self._derived.get(key)
        if index is None:
            index = {}
            for pid, p in self.papers.items():
                if what == "sources":
                    values = {s.get("format", "") for s in p.get("sources", ())}
                elif what == "feed_dates":
                    values = {s.get("feed_date") or "" for s in p.get("sources", ())}
                else:
                    values = {c.casefold() for c in p.get("categories", ())}
                for value in values:
                    index.setdefault(value, set()).add(pid)
            self._derived[key] = index
        return index

    def _authors_index(self) -> TextIndex:
        if self._authors is None:
            names = (
                (pid, " ".join(p.get("authors", ())) + "\n" + p.get("organization", ""))
                for pid, p in self.papers.items()
            )
            self._authors = TextIndex(((pid, n.casefold()) for pid, n in names), utf8=True)
        return self._authors

    def _build_text(self, words: bool) -> None:
        with self._body_lock:
            self.load_bodies()
            parts = [(pid, haystack_parts(self.record(pid))) for pid in self.papers]
            self._text = (
                TextIndex(((pid, latin) for pid, (latin, _) in parts), utf8=True),
                TextIndex((pid, chinese) for pid, (_, chinese) in parts),
            )
            self._unindexed.clear()
            if words:
                self._words = WordIndex((pid, a + "\n" + b) for pid, (a, b) in parts)
                self._unindexed_words.clear()

    def _text_index(self) -> tuple[TextIndex, TextIndex]:
        """The English and Chinese text of every paper, for substring scans."""
        with self._body_lock:
            if self._text is None or self._text[0].stale:
                self._build_text(words=False)
            elif self._unindexed:
                latin, chinese = self._text
                for pid in self._unindexed:
                    a, b = haystack_parts(self.record(pid))
                    latin.update(pid, a)
                    chinese.update(pid, b)
                self._unindexed.clear()
            assert self._text is not None
            return self._text

    def _word_index(self) -> WordIndex | None:
        """The word index, if `warm` has built it (brought up to date with later papers)."""
        with self._body_lock:
            words = self._words
            if words is not None and self._unindexed_words:
                if words.stale:
                    self._build_text(words=True)
                    return self._words
                for pid in self._unindexed_words:
                    a, b = haystack_parts(self.record(pid))
                    words.update(pid, a + "\n" + b)
                self._unindexed_words.clear()
            return words

    def _forget_derived(self, full: bool = False) -> None:
        self._derived.clear()
        self._authors = None
        if full:
            self._text = None
            self._words = None
            self._unindexed.clear()
            self._unindexed_words.clear()


def _by_title(papers: dict[str, dict[str, Any]]) -> Any:
    return lambda pid: (papers[pid].get("title") or papers[pid].get("title_zh") or "").casefold()


def _by_upvotes(papers: dict[str, dict[str, Any]]) -> Any:
    return lambda pid: (papers[pid].get("upvotes") or -1, papers[pid].get("num_comments") or -1)


def _by_field(name: str) -> Any:
    return lambda papers: lambda pid: papers[pid].get(name) or ""


# Python's sort is stable: equal keys keep the order papers were added in.
_SORTERS = {
    "feed_date": _by_field("feed_date"),
    "paper_date": _by_field("paper_date"),
    "upvotes": _by_upvotes,
    "title": _by_title,
    "added": _by_field("added_at"),
}
