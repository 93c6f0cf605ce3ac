"""The search language (query.py) compiled to SQL over the cache (cache.py), and the lazy,
windowed result the list pages through.

Words are FTS5 queries: each word matches the papers with a token that starts with it
(``diffus`` finds diffusion; accents and case are folded: ``muller`` finds Müller), in any
field, or in the paper's tags or note; a quoted phrase matches its words in order; Chinese
(and Japanese, Korean) text is matched through the bigram index (`cache.cjk_grams`), so a
Chinese word finds the papers whose Chinese fields hold it and an English word those whose
English fields do, with one query. ``author:`` searches the authors column the same way.
Every other filter is an indexed SQL condition. How a result is counted and read without
reading more than a page of papers: `Results`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from .cache import CJK_RUN, fold
from .query import SOURCE_ALIASES, Query, QueryError, Term

# "relevance": best bm25 match of the query's words first; "foryou": the reader's own model
# (tui/relevance.py, its scores in the cache's ``score`` table) best first.
SORT_KEYS = ("feed_date", "paper_date", "upvotes", "title", "added", "relevance", "foryou")
PAGE = 256  # rows fetched at a time
WINDOW_MAX = 64 * PAGE  # the most papers a window reads (`Results._window`)
FIRST_WIDTH = 4 * PAGE  # the first window `Results.head` reads (before any count)
RARE = 2048  # words matching fewer papers are read from their matches (`Results._rare`)
STEPS = 20000  # SQLite steps between two looks at whether a count is still wanted
TERMS = 3  # a prefix standing for at most this many more words is matched as those words
# m matches among n papers are probed in order when PROBE·m² ≥ PAGE·n (a match looked up
# costs about as much as twenty papers tested in order)
PROBE = 16
_TOKEN = re.compile(r"[^\W_]+")
# bm25 weights of the text columns: title, abstract, authors, other.
WEIGHTS = (10.0, 1.0, 3.0, 1.0)


def match_tokens(value: str) -> list[str]:
    """The index tokens a query word stands for: its words, with each Chinese run written
    as its bigrams (a single character stays itself), followed, when more of the word comes
    after the run, by the run's last character, as the index has it (`cache.cjk_grams`)."""
    value = fold(value)
    tokens: list[str] = []
    pos = 0
    for m in CJK_RUN.finditer(value):
        tokens += _TOKEN.findall(value[pos : m.start()])
        run = m.group()
        tokens += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        if len(run) > 1 and _TOKEN.search(value, m.end()):
            tokens.append(run[-1])
        pos = m.end()
    tokens += _TOKEN.findall(value[pos:])
    return tokens


def match_phrase(value: str) -> str | None:
    """An FTS5 phrase for a query word or quoted phrase, its last token a prefix (unless the
    word is one letter or digit alone: "c++" is the word c, not every word starting with c;
    or a pair of Chinese characters: the index has no longer token starting with one, and
    FTS5 reads a whole term faster than it merges all the terms of a prefix); None when the
    word has nothing to look up (punctuation only: it matches no paper)."""
    tokens = match_tokens(value)
    if not tokens:
        return None
    return _phrase(tokens, _starred(tokens))


def _starred(tokens: Sequence[str]) -> bool:
    last = tokens[-1]
    cjk = CJK_RUN.match(last) is not None
    alone = len(tokens) == 1 and len(last) == 1 and not cjk
    return not (alone or (cjk and len(last) == 2))


def _phrase(tokens: Sequence[str], star: bool) -> str:
    return " + ".join(f'"{t}"' for t in tokens) + (" *" if star else "")


@dataclass(frozen=True)
class Word:
    """A word term (a word, a quoted phrase or ``author:``): its index tokens, the last one
    a prefix when ``star``. ``spelled``: the index's words that prefix stands for, when they
    are known (`Results`): the word is then matched as those words, which FTS5 reads much
    faster than it merges every term of a prefix (a prefix query copies all their
    postings first, for every statement)."""

    tokens: tuple[str, ...]
    star: bool
    negated: bool
    author: bool = False
    spelled: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        """The word as an FTS5 expression over `text` (its authors column for ``author:``)."""
        if self.spelled is None:
            body = _phrase(self.tokens, self.star)
        else:
            head = self.tokens[:-1]
            body = " OR ".join(f"({_phrase((*head, t), False)})" for t in self.spelled)
        return f"authors : ({body})" if self.author else body

    @property
    def annot(self) -> str | None:
        """The word as an FTS5 phrase over `annot` (tags and notes); None for ``author:``."""
        return None if self.author else _phrase(self.tokens, self.star)


@dataclass
class Compiled:
    """A query as SQL: ``FROM paper p <joins> WHERE <filters and words>`` (`where`), with
    its parameters. The words are kept apart from the other conditions (``filters``, each
    an SQL condition and its parameters) so that the reads can take them from the FTS
    side: see `Results`."""

    joins: str
    join_params: list[Any]
    filters: list[tuple[str, list[Any]]]
    words: list[Word]
    order: list[tuple[str, bool]]  # (SQL expression, descending)

    def match(self, annotated: frozenset[str] = frozenset()) -> str | None:
        """One FTS5 expression over `text` for the words that need only it (every word but
        those whose phrase is in ``annotated``: found in tags or notes too): the positive
        words ANDed, the negated ones NOTed; None when no positive word needs only `text`."""
        plain = [w for w in self.words if w.annot not in annotated]
        yes = [w for w in plain if not w.negated]
        return _fts(yes, [w for w in plain if w.negated]) if yes else None

    def count(self, annotated: frozenset[str] = frozenset()) -> tuple[str, list[Any]] | None:
        """SQL counting the papers of a query of words alone from the indexes alone, never
        reading the papers (every row of the indexes is a paper's: papers are not deleted
        alone), when the words allow: at most one positive word found in tags or notes too
        (``annotated``). The lists of rowids are combined as compound SELECTs, which SQLite
        merges as they come (in rowid order: no sort, no temporary table). None: count the
        papers."""
        if self.filters:
            return None
        no = [w for w in self.words if w.negated]
        yes = [w for w in self.words if not w.negated and w.annot not in annotated]
        both = [w for w in self.words if not w.negated and w.annot in annotated]
        if len(both) > 1 or not yes + both:
            return None
        arms = [("", "text", _fts(yes + both, no))]  # the papers matching in `text`
        if both:  # with those matching the word in `annot` and the rest in `text`
            arms.append(("UNION", "annot", both[0].annot))
            if yes:
                arms.append(("INTERSECT", "text", _fts(yes, no)))
            elif no:
                arms.append(("EXCEPT", "text", " OR ".join(f"({w.text})" for w in no)))
        # without those whose tags or notes hold a negated word
        arms += [("EXCEPT", "annot", w.annot) for w in no if w.annot in annotated]
        if len(arms) == 1:
            return "SELECT count(*) FROM text WHERE text MATCH ?", [arms[0][2]]
        sql = " ".join(f"{op} SELECT rowid FROM {t} WHERE {t} MATCH ?" for op, t, _ in arms)
        return f"SELECT count(*) FROM ({sql.strip()} ORDER BY 1)", [m for _, _, m in arms]

    def where(
        self, annotated: frozenset[str] = frozenset(), within: str = ""
    ) -> tuple[str, list[Any]]:
        """The WHERE condition and its parameters, the words in as few lookups as may be:
        those found only in `text` in one MATCH, each of the others (``annotated``) in
        `text` or `annot`. ``within``: SQL narrowing the rowids looked up in `text` (a
        window's range: `Results._window`)."""
        conditions = list(self.filters)
        match = self.match(annotated)
        if match is not None:
            conditions.append((f"{_LOOKUP} WHERE text MATCH ?{within})", [match]))
        for w in self.words:
            if match is not None and (w.annot is None or w.annot not in annotated):
                continue  # (in the one MATCH)
            sql, values = f"{_LOOKUP} WHERE text MATCH ?{within})", [w.text]
            if w.annot is not None and w.annot in annotated:
                sql = f"({sql} OR {_ANNOT} WHERE annot MATCH ?))"
                values.append(w.annot)
            conditions.append((f"NOT {sql}" if w.negated else sql, values))
        where = " AND ".join(sql for sql, _ in conditions) or "1"
        return where, [v for _, values in conditions for v in values]


def _fts(yes: Sequence[Word], no: Sequence[Word]) -> str:
    return " AND ".join(f"({w.text})" for w in yes) + "".join(f" NOT ({w.text})" for w in no)


_LOOKUP = "p.rowid IN (SELECT rowid FROM text"
_ANNOT = "p.rowid IN (SELECT rowid FROM annot"


def _word(term: Term) -> Word | None:
    tokens = match_tokens(term.value)
    if not tokens:
        return None
    return Word(tuple(tokens), _starred(tokens), term.negated, term.key == "author")


def spell(conn: sqlite3.Connection, word: Word) -> Word:
    """``word`` with the words of the index its last token stands for as a prefix
    (`Word.spelled`), when there are at most `TERMS` of them; else ``word`` as it is (and
    when that token has letters with accents: the index folds them, this lookup would
    not). Read from a vocabulary of the index (FTS5's ``fts5vocab``, a table of this
    connection only, nothing stored), one term at a time: the first instance of each."""
    last = word.tokens[-1]
    if not word.star or not (last.isascii() or CJK_RUN.fullmatch(last)):
        return word
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.text_terms "
        "USING fts5vocab(main, 'text', 'instance')"
    )
    found = [last]
    while True:
        row = conn.execute(
            "SELECT term FROM temp.text_terms WHERE term >= ? AND term < ? LIMIT 1",
            # (after the last one found: no token holds a character below U+0001, and
            # none the highest code point, a noncharacter)
            (found[-1] + "\x01", last + "\U0010ffff"),
        ).fetchone()
        if row is None:
            return replace(word, spelled=tuple(found))
        if len(found) > TERMS:
            return word
        found.append(row[0])


def _condition(term: Term, watch: Mapping[str, str]) -> tuple[str, list[Any]] | None:
    key, v = term.key, term.value
    if key == "watch" or (key == "is" and v == "watched"):
        if key == "watch" and v not in watch:
            named = ", ".join(sorted(watch)) or "none in the config file"
            raise QueryError(f"watch: expects the name of a watch rule ({named}), not {v!r}")
        tags = [watch[v]] if key == "watch" else sorted(set(watch.values()))
        marks = ",".join("?" * len(tags))
        return (
            (f"p.rowid IN (SELECT paper FROM tag WHERE tag IN ({marks}))", tags)
            if tags
            else (
                "0",
                [],
            )
        )
    if key in ("word", "author"):  # a word with nothing a paper's words could match
        return "0", []
    if key == "tag":
        return "p.rowid IN (SELECT paper FROM tag WHERE tag=?)", [v]
    if key == "is":
        return {
            "starred": ("p.starred=1", []),
            "unstarred": ("p.starred=0", []),
            "read": ("p.read=1", []),
            "unread": ("p.read=0", []),
            "noted": ("p.rowid IN (SELECT paper FROM noted)", []),
            "tagged": ("p.rowid IN (SELECT paper FROM tag)", []),
        }[v]
    if key == "source":
        formats = list(SOURCE_ALIASES.get(v, (v,)))
        marks = ",".join("?" * len(formats))
        return (
            f"p.rowid IN (SELECT paper FROM facet WHERE kind='f' AND value IN ({marks}))",
            formats,
        )
    if key == "cat":
        return (
            "p.rowid IN (SELECT paper FROM facet WHERE kind='c' AND "
            "(value=? OR (value>? AND value<?)))",
            [v, v + ".", v + "/"],
        )
    if key == "feed":
        return "p.rowid IN (SELECT paper FROM facet WHERE kind='d' AND value=?)", [v]
    if key == "since":
        return "p.day >= ?", [v]
    if key == "until":
        return "p.day <= ?", [v]
    raise QueryError(f"unknown filter {key}:")  # pragma: no cover - parse_query checks


_ORDERS = {
    "feed_date": ["p.feed_date"],
    "paper_date": ["p.paper_date"],
    "upvotes": ["p.upvotes", "p.comments"],
    "title": ["p.title_key"],
    "added": ["p.added_at"],
}


def compile_query(
    q: Query,
    sort: str = "feed_date",
    reverse: bool = True,
    watch: Mapping[str, str] | None = None,
) -> Compiled:
    """SQL for a parsed query in a sort order (`SORT_KEYS`; ``reverse``: largest first).
    ``watch``: the watch rules' tags by rule name, both casefolded (``watch:NAME``,
    ``is:watched``); QueryError for ``watch:`` a name not in it."""
    if sort not in SORT_KEYS:
        raise QueryError(f"sort: expects one of {', '.join(SORT_KEYS)}, not {sort!r}")
    filters: list[tuple[str, list[Any]]] = []
    words: list[Word] = []
    for term in q.terms:
        word = _word(term) if term.key in ("word", "author") else None
        if word is not None:
            words.append(word)
            continue
        found = _condition(term, watch or {})
        if found is None:
            continue
        sql, values = found
        filters.append((f"NOT {sql}" if term.negated else sql, values))
    joins, join_params = "", []
    order: list[tuple[str, bool]]
    phrases = [
        p
        for t in q.terms
        if t.key == "word" and not t.negated and (p := match_phrase(t.value)) is not None
    ]
    if sort == "relevance" and phrases:
        weights = ", ".join(str(w) for w in WEIGHTS)
        joins = (
            f"LEFT JOIN (SELECT rowid AS r, bm25(text, {weights}) AS score FROM text "
            "WHERE text MATCH ?) rk ON rk.r = p.rowid"
        )
        join_params = [" AND ".join(f"({p})" for p in phrases)]
        # bm25 is smaller for better matches: the best first when ``reverse``.
        order = [("coalesce(rk.score, 0)", not reverse), ("p.rowid", not reverse)]
    elif sort == "foryou":
        # Scored papers (the unread ones a model ranked) first, best first; the others
        # (read, or no model yet) after them in feed order.
        joins = "LEFT JOIN score s ON s.paper = p.rowid"
        order = [
            ("coalesce(s.value, -1e300)", reverse),
            ("p.feed_date", reverse),
            ("p.rowid", not reverse),
        ]
    else:
        columns = _ORDERS.get(sort, _ORDERS["feed_date"])
        # Papers with equal keys keep the order they were stored in (a feed's own order).
        order = [(c, reverse) for c in columns] + [("p.rowid", not reverse)]
    return Compiled(joins, join_params, filters, words, order)


def _probing(sql: str) -> str:
    """``sql`` with its lookups of matches kept from driving the read (``+p.rowid``): each
    paper read in the order's index is tested against them."""
    return sql.replace(_LOOKUP, "+" + _LOOKUP).replace(_ANNOT, "+" + _ANNOT)


def _order_sql(order: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{expr} {'DESC' if desc else 'ASC'}" for expr, desc in order)


def _beyond(order: list[tuple[str, bool]], values: Sequence[Any], after: bool) -> str:
    """SQL true for the rows ordered after (``after``) or before a row whose sort values are
    ``values``, in ``order``: a lexicographic comparison, one term per sort column, so each
    direction may differ and an index on the first column serves the range. Its parameters
    are `_beyond_params`."""
    terms = []
    for i, (expr, desc) in enumerate(order):
        cmp = "<" if desc == after else ">"
        equal = [f"{e} = ?" for e, _ in order[:i]]
        terms.append("(" + " AND ".join([*equal, f"{expr} {cmp} ?"]) + ")")
    return "(" + " OR ".join(terms) + ")"


def _beyond_params(values: Sequence[Any]) -> list[Any]:
    params: list[Any] = []
    for i in range(len(values)):
        params += [*values[:i], values[i]]
    return params


class Results(Sequence[str]):
    """The ids of a query's papers, in order, fetched a window at a time (`PAGE` rows):
    ``len()`` is one ``count(*)``, ``results[i]`` reads the page holding row i, `index`
    counts the rows ordered before a paper. Reads happen on the calling thread's
    connection; the result reflects the library when each page is read, by a plan made
    when it is first read (`_plan`: which words are in tags or notes too, which words of
    the index a prefix stands for), as its count is.

    How a query of words is read, so that the first screen costs about the same at 10,000
    papers and at a million: the words found in no tag or note are looked up together, in
    one FTS5 MATCH; a prefix standing for few words of the index is matched as those
    words (`spell`). A query of words alone is counted in the indexes, never reading the
    papers (`Compiled.count`). A page in an indexed order (feed date, date added) is read
    from a window of that order when the words match a fair share of the library
    (`_window`): the next few thousand papers in order, each tested against the matches
    in the window's range of rowids (papers are stored about in date order: a narrow
    range, whatever the size of the library); when the window holds too few, each paper
    in order is tested against all the matches; words matching few papers are looked up
    and sorted (`_way`)."""

    def __init__(
        self,
        conn: Callable[[], sqlite3.Connection],
        compiled: Compiled,
        count: int | None = None,
        keep: Collection[str] = (),
    ) -> None:
        """``count``: how many papers the query finds, when the caller knows (the library's
        running totals): then ``len()`` makes no query. ``keep``: ids of papers the result
        holds too, in their place in the order, even when they no longer match (the papers
        the reader marked read in an unread view, the list run again because another
        process wrote: they leave when the reader changes the view)."""
        self._conn = conn
        self._c = compiled
        self._keep_ids = list(keep)
        self._extra: list[str] = []  # `_plan`: the kept papers the query does not find
        self._reads: str | None = None  # see `_way`
        self._given = count  # (the query's own count: without the kept papers it misses)
        self._len: int | None = None if self._keep_ids else count
        self._pages: dict[int, list[str]] = {}
        self._last: dict[int, tuple[Any, ...]] = {}  # each page's last row's sort values
        self._planned = False
        self._base = ""
        self._args: list[Any] = []
        self._annotated: frozenset[str] = frozenset()  # words found in tags or notes too
        self._papers: int | None = None  # `_size`
        self._few: bool | None = None  # `_rare`
        self._match = ""  # `_plan`: the words found only in `text`, as one FTS5 query
        self._where = ""  # `_plan`: the WHERE condition of `_base`
        self._plain: tuple[str, list[Any]] = ("", [])  # `_plan`: `_base` without them

    def _plan(self) -> None:
        """The words as the index has them (`spell`), which of them are found in tags or
        notes too (each looked up in both indexes; the others in one MATCH), and the SQL of
        the reads from that. A few index lookups, each a fraction of a millisecond."""
        if self._planned:
            return
        conn = self._conn()
        self._c = replace(self._c, words=[spell(conn, w) for w in self._c.words])
        annotated = frozenset(
            w.annot
            for w in self._c.words
            if w.annot is not None
            and conn.execute(
                "SELECT 1 FROM annot WHERE annot MATCH ? LIMIT 1", (w.annot,)
            ).fetchone()
            is not None
        )
        self._annotated = annotated
        self._match = self._c.match(annotated) or ""
        where, params = self._c.where(annotated)
        self._where = where
        self._base = f"FROM paper p {self._c.joins} WHERE {where}"
        self._args = [*self._c.join_params, *params]
        self._plain = (self._base, list(self._args))
        if self._keep_ids:
            self._add_kept(conn)
        self._planned = True

    def _add_kept(self, conn: sqlite3.Connection) -> None:
        """The kept papers (``keep``) that the query does not find (`_extra`), one lookup;
        when there are any, the reads take them in as well (``OR p.id IN …``), in order and
        looked up and sorted (`_way` "lookup": the indexes of matches and windows know only
        the query), and the count is the query's and theirs."""
        kept = json.dumps(self._keep_ids)
        found = conn.execute(
            f"SELECT p.id FROM paper p {self._c.joins} WHERE p.id IN "
            f"(SELECT value FROM json_each(?)) AND coalesce(({self._where}), 0) = 0",
            [*self._c.join_params, kept, *self._args[len(self._c.join_params) :]],
        ).fetchall()
        self._extra = [pid for (pid,) in found]
        if not self._extra:
            return
        extra = json.dumps(self._extra)
        # (``+p.id``: not the id's index: SQLite read both sides of an OR through their
        # indexes and sorted them all, 0.5 s for the Inbox at a million papers; the order's
        # index read as without them: 3 ms)
        self._where = f"(({self._where}) OR +p.id IN (SELECT value FROM json_each(?)))"
        self._base = f"FROM paper p {self._c.joins} WHERE {self._where}"
        self._args = [*self._args, extra]
        self._reads, self._few = "lookup", False

    def _way(self) -> str:
        """How pages in order are read: ``"window"`` (`_window`, then ``"probe"`` when the
        window falls short) when the words match a fair share of the library (a window of
        at most `WINDOW_MAX` papers should hold a page); ``"probe"``, each paper in the
        order's index tested against all the matches, when they are many; else
        ``"lookup"``: the matches looked up and sorted (few of them), or a query without
        words read in order. Only an indexed order (feed date, date added) can be read
        paper by paper."""
        if self._reads is None:
            self._reads = "lookup"
            if self._rare():
                self._reads = "matches"
            elif self._windowed():
                if self._width() <= WINDOW_MAX:
                    self._reads = "window"
                elif PROBE * len(self) ** 2 >= PAGE * self._size():
                    self._reads = "probe"
        return self._reads

    def _size(self) -> int:
        """About how many papers the library holds (its highest rowid: papers are never
        deleted, and an estimate is all a plan needs; ``count(*)`` reads a whole index)."""
        if self._papers is None:
            row = self._conn().execute("SELECT max(rowid) FROM paper").fetchone()
            self._papers = int(row[0] or 0)
        return self._papers

    def _width(self) -> int:
        """How many papers in order a window reads to find a page of matches, at the
        library's share of them, with a margin."""
        return PAGE + 3 * PAGE * self._size() // (2 * max(len(self), 1))

    def _rare(self) -> bool:
        """Whether the words found only in `text` match fewer than `RARE` papers (one
        lookup that stops there): the result is then read and counted from those matches,
        each looked up in turn (`_way` "matches"), instead of from an index of papers
        tested against them (``is:unread`` has most of the library: a word that matches
        nothing would have all of it read). Not asked for a prefix that stands for many
        words of the index (FTS5 merges all their postings for each statement: these are
        frequent in practice) nor when the order joins the ranks (relevance)."""
        if self._few is None:
            self._plan()
            self._few = False
            if self._match and not self.merges_prefix() and not self._c.joins:
                row = (
                    self._conn()
                    .execute(
                        "SELECT count(*) FROM (SELECT rowid FROM text WHERE text MATCH ? LIMIT ?)",
                        (self._match, RARE),
                    )
                    .fetchone()
                )
                self._few = int(row[0]) < RARE
        return self._few

    def _ordered(self) -> tuple[str, list[Any]]:
        """The FROM … WHERE of the reads in order (see `_way`), and its parameters."""
        way = self._way()
        if way == "lookup":
            return self._base, list(self._args)
        if way == "matches":
            return self._from_matches()
        return _probing(self._base), list(self._args)

    def _from_matches(self) -> tuple[str, list[Any]]:
        """FROM … WHERE reading the papers from the words' matches in `text`, one by one
        (SQLite keeps the left table of a CROSS JOIN outermost), and its parameters."""
        where = _probing(self._where)
        sql = (
            "FROM (SELECT rowid AS r FROM text WHERE text MATCH ?) m "
            f"CROSS JOIN paper p ON p.rowid = m.r WHERE {where}"
        )
        return sql, [self._match, *self._args]

    def __len__(self) -> int:
        if self._len is None:
            self._plan()
            self._len = self._query_count() + len(self._extra)
        return self._len

    def _query_count(self) -> int:
        """How many papers the query itself finds (the kept papers it misses apart): the
        caller's count, else from the indexes or the matches when the words allow, else
        counted."""
        if self._given is not None:
            return self._given
        found = self._c.count(self._annotated)
        if found is None and self._rare():
            sql, args = self._from_matches()
            found = f"SELECT count(*) {sql}", args
        base, args = self._plain
        sql, args = found or (f"SELECT count(*) {base}", args)
        return int(self._conn().execute(sql, args).fetchone()[0])

    def count(self, stop: Callable[[], bool]) -> int | None:
        """``len()``, given up (None) as soon as ``stop()`` is true: asked every few
        thousand steps of SQLite while counting (a search typed further: its count is
        no longer wanted)."""
        if self._len is not None:
            return self._len
        conn = self._conn()
        conn.set_progress_handler(lambda: 1 if stop() else 0, STEPS)
        try:
            return len(self)
        except sqlite3.OperationalError:
            if stop():
                return None
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def merges_prefix(self) -> bool:
        """Whether reading the result looks up a prefix that stands for many words of the
        index (``re``, ``扩``: `spell` could not spell it as a few words): FTS5 merges all
        their postings for every statement, at once and uninterruptibly — up to a second
        of CPU at a million papers — which a search typed further does not want done."""
        self._plan()
        return any(w.star and w.spelled is None for w in self._c.words)

    @property
    def counted(self) -> bool:
        """Whether the result's length is known (``len()`` then runs no query)."""
        return self._len is not None

    def head(self) -> list[str]:
        """The first page of ids (`PAGE` of them, fewer when the result has fewer), read
        without counting the result when the way of reading it allows: a query of words
        in an indexed order is read from windows of growing width (`FIRST_WIDTH`, four
        times wider each time, up to `WINDOW_MAX`) until one holds a page, or every paper;
        other queries read their first page in order. Counting may then follow (``len()``,
        `counted`): at a million papers a filtered count (``is:unread diffusion``) costs
        many times the page. When the page shows the whole result, the count is known."""
        page = self._pages.get(0)
        if page is not None:
            return page
        if self._len is None and self._windowed() and not self._rare():
            width = FIRST_WIDTH
            while True:
                rows, whole = self._window_rows(None, width)
                if len(rows) >= PAGE or whole:
                    if whole and len(rows) < PAGE:
                        self._len = len(rows)
                    return self._keep(0, rows)
                # (at the share this window held, a page needs this many papers)
                share = width * PAGE // max(len(rows), 1)
                if width >= WINDOW_MAX or share > WINDOW_MAX:
                    break  # the words are scarce here: count them, that tells the way
                width = min(max(4 * width, 3 * share // 2), WINDOW_MAX)
        page = self._page(0)
        if len(page) < PAGE and self._len is None:
            self._len = len(page)  # (read in order from the first row: the whole result)
        return page

    def _windowed(self) -> bool:
        """Whether the result may be read from windows of the order: words looked up in
        `text`, in an indexed order (feed date, date added)."""
        self._plan()
        indexed = self._c.order[0][0] in ("p.feed_date", "p.added_at")
        return indexed and bool(self._c.words) and "MATCH" in self._base and not self._extra

    def _window(self, n: int, previous: Sequence[Any] | None) -> list[Any] | None:
        """Page ``n`` from a window as wide as the library's share of matches asks
        (`_width`, from the count); None when the window holds too few matches."""
        rows, _ = self._window_rows(previous, self._width())
        if len(rows) < min(PAGE, len(self) - n * PAGE):
            return None
        return rows

    def _window_rows(self, previous: Sequence[Any] | None, width: int) -> tuple[list[Any], bool]:
        """The page after the row whose sort values are ``previous`` (the first page: None)
        read from a window of the order: the next ``width`` papers in order that pass the
        filters (and all the papers sharing the last one's date), each tested against the
        matches between the window's lowest and highest rowid; and whether the window held
        every paper left (then its rows are all the result has left, however few). One
        statement: the window and its matches are read from the same snapshot (a second
        one only to tell, when the window holds no match, whether it held every paper)."""
        order = self._c.order
        first, desc = order[0]
        conditions = [sql for sql, _ in self._c.filters]
        args = [v for _, values in self._c.filters for v in values]
        if previous is not None:
            conditions.append(_beyond(order, previous, after=True))
            args += _beyond_params(previous)
        where = " AND ".join(conditions) or "1"
        # edge: the date of the window's last paper (the order's first column has an
        # index: read in order, no sort); the window: every paper up to that date and on
        # it (every paper left when fewer are); span: its lowest and highest rowid.
        edge = f"{first} >= coalesce((SELECT d FROM edge), '')"
        if not desc:
            edge = f"{first} <= coalesce((SELECT d FROM edge), x'ff')"
        words, values = replace(self._c, filters=[]).where(
            self._annotated,
            within=" AND rowid >= (SELECT lo FROM span) AND rowid <= (SELECT hi FROM span)",
        )
        sql = (
            f"WITH edge AS (SELECT {first} AS d FROM paper p WHERE {where} "
            f"ORDER BY {first} {'DESC' if desc else 'ASC'} LIMIT 1 OFFSET ?), "
            f"span AS (SELECT min(p.rowid) AS lo, max(p.rowid) AS hi FROM paper p "
            f"WHERE {where} AND {edge}) "
            f"SELECT p.id, {', '.join(e for e, _ in order)}, (SELECT d FROM edge) IS NULL "
            f"FROM paper p WHERE {where} AND {edge} AND {_probing(words)} "
            f"ORDER BY {_order_sql(order)} LIMIT ?"
        )
        params = [*args, width - 1, *args, *args, *values, PAGE]
        conn = self._conn()
        rows = conn.execute(sql, params).fetchall()
        if rows:
            return [r[:-1] for r in rows], bool(rows[0][-1])
        more = conn.execute(
            f"SELECT 1 FROM paper p WHERE {where} LIMIT 1 OFFSET ?", [*args, width - 1]
        ).fetchone()
        return [], more is None

    def _page(self, n: int) -> list[str]:
        """Page ``n`` of the ids: read after the last row of page ``n - 1`` when that page
        is at hand (scrolling: an index range, whatever the depth), else by offset."""
        page = self._pages.get(n)
        if page is not None:
            return page
        order = self._c.order
        previous = self._last.get(n - 1)
        if (n == 0 or previous is not None) and self._way() == "window":
            found = self._window(n, previous)
            if found is not None:
                return self._keep(n, found)
        keys = ", ".join(e for e, _ in order)
        body, args = self._ordered()
        sql = f"SELECT p.id, {keys} {body}"
        rest = len(self) - n * PAGE if previous is None and n > 0 else 0
        if 0 < rest <= PAGE:
            # The last page (G): the first rows of the reversed order, not a scan to the end.
            back = [(e, not desc) for e, desc in order]
            sql += f" ORDER BY {_order_sql(back)} LIMIT ?"
            rows = self._conn().execute(sql, [*args, rest]).fetchall()[::-1]
            return self._keep(n, rows)
        if previous is not None:
            sql += f" AND {_beyond(order, previous, after=True)}"
            args += _beyond_params(previous)
            sql += f" ORDER BY {_order_sql(order)} LIMIT ?"
            args.append(PAGE)
        else:
            sql += f" ORDER BY {_order_sql(order)} LIMIT ? OFFSET ?"
            args += [PAGE, n * PAGE]
        rows = self._conn().execute(sql, args).fetchall()
        return self._keep(n, rows)

    def _keep(self, n: int, rows: list[Any]) -> list[str]:
        page = [r[0] for r in rows]
        if len(self._pages) > 64:
            self._pages.clear()
            self._last.clear()
        self._pages[n] = page
        if rows:
            self._last[n] = rows[-1][1:]
        return page

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("result index out of range")
        page = self._page(index // PAGE)
        offset = index % PAGE
        if offset >= len(page):  # the library changed under the result
            raise IndexError("result index out of range")
        return page[offset]

    def __iter__(self) -> Iterator[str]:
        """Every id, in order: the pages already read (what the list shows), then the rest
        from one query that starts after them (its rows read as they are consumed)."""
        n = 0
        while n in self._pages:
            page = self._pages[n]
            yield from page
            if len(page) < PAGE:
                return
            n += 1
        order = self._c.order
        body, args = self._ordered()
        sql = f"SELECT p.id {body}"
        previous = self._last.get(n - 1)
        if previous is not None:
            sql += f" AND {_beyond(order, previous, after=True)}"
            args += _beyond_params(previous)
        elif n:  # (a page was dropped from memory meanwhile: go on by offset)
            sql += f" ORDER BY {_order_sql(order)} LIMIT -1 OFFSET {n * PAGE}"
        if "ORDER BY" not in sql:
            sql += f" ORDER BY {_order_sql(order)}"
        cursor = self._conn().execute(sql, args)
        while rows := cursor.fetchmany(4096):
            for (pid,) in rows:
                yield pid

    def _shown(self, pid: object) -> int | None:
        """The position of ``pid`` among the pages already read (what the list shows, which
        stays as it was read while the library changes: a paper marked read stays in the
        Inbox until it is requeried), or None."""
        for n, page in self._pages.items():
            if pid in page:
                return n * PAGE + page.index(pid)
        return None

    def __contains__(self, pid: object) -> bool:
        if not isinstance(pid, str):
            return False
        if self._shown(pid) is not None:
            return True
        self._plan()
        row = (
            self._conn().execute(f"SELECT 1 {self._base} AND p.id=?", [*self._args, pid]).fetchone()
        )
        return row is not None

    def among(self, pids: Collection[str]) -> set[str]:
        """Which of ``pids`` the result holds (as shown: the pages read, then the rest in
        one query)."""
        shown = {pid for page in self._pages.values() for pid in page}
        found = {pid for pid in pids if pid in shown}
        rest = [pid for pid in pids if pid not in found]
        if rest:
            self._plan()
            rows = self._conn().execute(
                f"SELECT p.id {self._base} AND p.id IN (SELECT value FROM json_each(?))",
                [*self._args, json.dumps(rest)],
            )
            found.update(pid for (pid,) in rows)
        return found

    def index(self, pid: Any, start: int = 0, stop: int | None = None) -> int:
        """The position of paper ``pid`` in the result (as shown: `_shown`); ValueError when
        it is not there."""
        shown = self._shown(pid)
        if shown is not None and shown >= start and (stop is None or shown < stop):
            return shown
        self._plan()
        conn = self._conn()
        order = self._c.order
        exprs = [e for e, _ in order]
        row = conn.execute(
            f"SELECT {', '.join(exprs)} {self._base} AND p.id=?", [*self._args, pid]
        ).fetchone()
        if row is None:
            raise ValueError(f"{pid!r} is not in the result")
        sql = f"SELECT count(*) {self._base} AND {_beyond(order, row, after=False)}"
        position = int(conn.execute(sql, [*self._args, *_beyond_params(row)]).fetchone()[0])
        if position < start or (stop is not None and position >= stop):
            raise ValueError(f"{pid!r} is not in the given range")
        return position

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, Results)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Results({len(self)} papers)"

    __hash__ = None  # type: ignore[assignment]


class Head(Sequence[str]):
    """The first page of a result whose count is still to come (`Results.head`): what the
    list shows while a worker counts ``results``; its length is the page's, a lower bound
    of the result's. Whether a paper is in the result is asked of the result itself."""

    def __init__(self, results: Results, ids: list[str]) -> None:
        self.results = results
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._ids[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __contains__(self, pid: object) -> bool:
        return pid in self._ids or pid in self.results

    def among(self, pids: Collection[str]) -> set[str]:
        """Which of ``pids`` the result holds (the page's, then asked of the result)."""
        page = set(self._ids)
        return {pid for pid in pids if pid in page} | self.results.among(
            [pid for pid in pids if pid not in page]
        )

    def index(self, pid: Any, start: int = 0, stop: int | None = None) -> int:
        """The position of ``pid`` in the result (among the page's rows, else asked of the
        result: a selected paper further down); ValueError when it is not there."""
        if pid in self._ids:
            position = self._ids.index(pid)
            if position >= start and (stop is None or position < stop):
                return position
        return self.results.index(pid, start, stop)

    def __repr__(self) -> str:
        return f"Head({len(self._ids)} papers, more to count)"
