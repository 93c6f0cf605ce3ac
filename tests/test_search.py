"""A search gives exactly what a plain scan of the papers' stored text gives.

The oracle is the search language as documented (sqlquery.py, README): a word matches the
papers with a word that starts with it (case and accents folded), a word with punctuation
(``top-k``, ``2606.1``) or a quoted phrase matches its words in order, the last one as a
prefix, Chinese matches as a substring, ``-`` negates, ``author:`` looks at the authors only;
the filters (``is:``, ``tag:``, ``source:``, ``cat:``, ``feed:``, ``since:``, ``until:``) as the
README lists them. It is computed here from ``lib.record()`` and ``lib.raw_state()`` with no
index at all, and compared with each way the library can read a result (`PLANS`), whichever
its size would choose.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tui.feeds import ParseResult
from tui.library import Library, QueryError, sqlquery
from tui.models import Paper, Source

from .conftest import FEEDS

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
WORD = re.compile(r"[^\W_]+")
TEXT_FIELDS = (
    "title title_zh abstract comments arxiv_id ai_summary topic_hit abstract_zh "
    "contribution_zh method_zh findings_zh organization institutions"
).split()
AUTHOR_FIELDS = ("organization", "institutions")


def fold(text: str) -> str:
    """Case and accents folded, as a reader would expect (``Müller`` is ``muller``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class Doc:
    """What the oracle knows of a paper: its text, state and facets, as stored."""

    authors: list[str]
    text: list[str]  # every field a word may match: authors, text fields, tags, note
    tags: set[str]
    note: str
    read: bool
    starred: bool
    formats: set[str]
    feeds: set[str]
    cats: set[str]
    day: str


def docs(lib: Library) -> dict[str, Doc]:
    """Every paper of ``lib`` as the oracle sees it, by id, in the library's default order."""
    out = {}
    for pid in lib.query(""):
        record, state = lib.record(pid), lib.raw_state(pid)
        authors = [" ".join(record.get("authors") or ())]
        authors += [record.get(k) or "" for k in AUTHOR_FIELDS]
        tags, note = list(state.get("tags", ())), state.get("note", "")
        text = [*authors, *(record.get(k) or "" for k in TEXT_FIELDS)]
        text += [" ".join(record.get("keywords") or ()), *tags, note]
        sources = record.get("sources") or ()
        out[pid] = Doc(
            authors=authors,
            text=text,
            tags={t.casefold() for t in tags},
            note=note,
            read=bool(state.get("read")),
            starred=bool(state.get("starred")),
            formats={s.get("format") or "" for s in sources},
            feeds={s.get("feed_date") or "" for s in sources},
            cats={c.casefold() for c in record.get("categories") or ()},
            day=record.get("feed_date") or (record.get("added_at") or "")[:10],
        )
    return out


def _tokens(text: str) -> list[str]:
    """Words, and each run of Chinese (Japanese, Korean) characters as one word."""
    return WORD.findall(CJK.sub(lambda m: f" {m.group()} ", text))


@functools.cache
def _folded_tokens(text: str) -> tuple[str, ...]:
    """``_tokens(fold(text))``, remembered: the scans ask for the same fields' words again for
    every term of every query (most of the suite's time before, none of its meaning)."""
    return tuple(_tokens(fold(text)))


@functools.cache
def _has(field: str, word: str) -> bool:
    """Whether one field's text holds ``word`` under the documented rules: its words in
    order, the first Chinese one ending a Chinese run, the last starting a word or a run,
    a lone Chinese word anywhere in a run. (A pure function of two strings: remembered, as
    the same terms are checked against the same fields in each order and each test.)"""
    tokens, wanted = _folded_tokens(field), _folded_tokens(word)
    n = len(wanted)
    if not n:  # punctuation alone: nothing to match
        return False

    def fits(k: int, token: str) -> bool:
        want = wanted[k]
        if not CJK.match(want):
            whole = n == 1 and len(want) == 1  # one letter or digit alone is a word
            return token.startswith(want) if k == n - 1 and not whole else token == want
        if n == 1:
            return want in token
        if k == 0:
            return token.endswith(want)
        return token.startswith(want) if k == n - 1 else token == want

    return any(all(fits(k, tokens[i + k]) for k in range(n)) for i in range(len(tokens) - n + 1))


SOURCES = {"hf": {"hf-text", "hf-html"}, "arxiv": {"arxiv-html", "arxiv-rss"}}


@dataclass(frozen=True)
class T:
    """One term of a query: ``key`` "word" or a filter key, its value, negated or not."""

    key: str
    value: str
    negated: bool = False

    def __str__(self) -> str:
        value = f'"{self.value}"' if " " in self.value else self.value
        head = "" if self.key == "word" else f"{self.key}:"
        return f"{'-' if self.negated else ''}{head}{value}"


def holds(doc: Doc, term: T) -> bool:
    """Whether a paper satisfies one term (before its negation), as the README says."""
    key, v = term.key, term.value.casefold()
    if key == "word":
        return any(_has(f, term.value) for f in doc.text)
    if key == "author":
        return any(_has(f, term.value) for f in doc.authors)
    if key == "tag":
        return v in doc.tags
    if key == "is":
        return {
            "starred": doc.starred,
            "unstarred": not doc.starred,
            "read": doc.read,
            "unread": not doc.read,
            "noted": bool(doc.note.strip()),
            "tagged": bool(doc.tags),
        }[v]
    if key == "source":
        return bool(doc.formats & SOURCES.get(v, {v}))
    if key == "cat":
        return any(c == v or c.startswith(v + ".") for c in doc.cats)
    if key == "feed":
        return v in doc.feeds
    if key == "since":
        return doc.day >= v
    assert key == "until"
    return doc.day <= v


def expect(papers: dict[str, Doc], order: list[str], terms: list[T]) -> list[str]:
    """The papers (in ``order``) satisfying every term."""
    return [p for p in order if all(holds(papers[p], t) != t.negated for t in terms)]


def scan(lib: Library, query: str, papers: dict[str, Doc] | None = None) -> list[str]:
    """What ``lib.query(query)`` must answer (one word, ``-word``, ``"a phrase"`` or
    ``author:name``), in the library's default order."""
    papers = docs(lib) if papers is None else papers
    negated = query.startswith("-")
    body = query[1:] if negated else query
    authors = body.startswith("author:")
    word = body.removeprefix("author:").strip('"')
    term = T("author" if authors else "word", word, negated)
    return expect(papers, list(papers), [term])


# The ways a result can be read (sqlquery.Results._way), each forced whatever the size, on
# pages of 4 rows: the thresholds that choose them at 100,000 papers never hold here.
# A prefix is matched as the words of the index it stands for (`sqlquery.spell`) when they
# are few (TERMS), else as a prefix: both, in turn.
PLANS = {
    "window": {"WINDOW_MAX": 10**9, "TERMS": 10**6, "RARE": 0},
    "window falling short": {"WINDOW_MAX": 10**9, "narrow": True, "RARE": 0},
    "probe": {"WINDOW_MAX": 0, "PROBE": 10**9, "TERMS": 0, "RARE": 0},
    "lookup": {"WINDOW_MAX": 0, "PROBE": 0, "RARE": 0},
    "from the matches": {"RARE": 10**9},
    "first window narrow": {"WINDOW_MAX": 16, "FIRST_WIDTH": 1, "RARE": 0},
}


@contextlib.contextmanager
def plan(name: str) -> Iterator[None]:
    """Read results the way ``name`` (`PLANS`) says; "falling short": each window only one
    date's papers (the rows of the first paper's date), so most windows hold too few
    matches and the reads go on the next way."""
    settings = dict(PLANS[name])
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(sqlquery, "PAGE", 4))
        if settings.pop("narrow", False):
            stack.enter_context(mock.patch.object(sqlquery.Results, "_width", lambda _: 1))
        for key, value in settings.items():
            stack.enter_context(mock.patch.object(sqlquery, key, value))
        yield


def read_every_way(lib: Library, query: str, sort: str, reverse: bool) -> list[list[str]]:
    """A query's result as the list reads it (its length, then row after row: a page after
    the previous one), as `list` and the CLI read it (one pass), jumping to its end, and
    as a search in the app reads it: its first page before its count (`Results.head`),
    then the rest of the rows after the count (whatever the count, when the first page
    said it was the whole result)."""
    shown = lib.query(query, sort=sort, reverse=reverse)
    rows = [shown[i] for i in range(len(shown))]
    whole = list(lib.query(query, sort=sort, reverse=reverse))
    end = lib.query(query, sort=sort, reverse=reverse)
    backwards = [end[i] for i in reversed(range(len(end)))][::-1]
    typed = lib.query(query, sort=sort, reverse=reverse)
    first = typed.head()
    rest = [typed[i] for i in range(sqlquery.PAGE, len(typed))]
    return [rows, whole, backwards, first + rest]


def _queries(lib: Library) -> list[str]:
    import random

    rng = random.Random(7)
    titles = [lib.record(pid).get("title") or "" for pid in lib]
    vocab = sorted({w for t in titles for w in re.findall(r"\w+", t) if not CJK.search(w)})
    words = rng.sample(vocab, 40)
    words += [w[:3] for w in words[:20]]  # prefixes
    pairs = [m for t in titles for m in re.findall(r"\b\w+ \w+\b", t)]
    phrases = [f'"{p}"' for p in rng.sample(pairs, 10)]
    chinese = sorted({r for pid in lib for r in CJK.findall(lib.record(pid).get("title_zh", ""))})
    cjk = [r[:2] for r in rng.sample(chinese, 10)] + [r[1] for r in rng.sample(chinese, 5)]
    cjk += [r[:4] for r in rng.sample(chinese, 5)]
    special = ["top-k", "2606.1", "a", "3d", "扩散", "zz9", "diffus", "muller", "mytag", "remember"]
    plain = [w.casefold() for w in words] + phrases + cjk + special
    negated = [f"-{w}" for w in plain[::7]]
    authors = [f"author:{n}" for n in ("li", "zhang", "n-v", "ü", "x", "jiay")]
    return plain + negated + authors


def check_queries_equal_a_scan(lib: Library) -> None:
    some = lib.query("", sort="title")
    lib.set_state(some[:3], "tag", add_tags=["MyTag"])
    lib.set_state(some[3:4], "note", note="Remember the ablation")
    queries = _queries(lib)
    papers = docs(lib)
    expected = {q: scan(lib, q, papers) for q in queries}
    assert all(expected[q] for q in ("mytag", "remember", "top-k", "2606.1", "扩散", "diffus"))
    assert not expected["zz9"]
    assert {q: list(lib.query(q)) for q in queries} == expected
    assert {q: len(lib.query(q)) for q in queries} == {q: len(ids) for q, ids in expected.items()}
    for name in PLANS:
        with plan(name):
            assert {q: list(lib.query(q)) for q in queries} == expected, name
    lib.rebuild()  # the same answers from an index built again from the truth files
    assert {q: list(lib.query(q)) for q in queries} == expected


def test_queries_equal_a_scan_of_the_sample_library(sample_library: Library) -> None:
    check_queries_equal_a_scan(sample_library)


ALPHABET = "ab1 -Δδé扩散模\n"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(ALPHABET, max_size=30), min_size=1, max_size=6),
    st.text(ALPHABET.replace("\n", "").replace(" ", ""), min_size=1, max_size=5),
)
@example(docs=["a 扩散模b 1"], word="散模b")  # a Chinese run, then a word
@example(docs=["Δé-1扩散"], word="-δe-1扩")  # negated; accents and case folded
def test_any_word_equals_a_scan(docs: list[str], word: str) -> None:
    """Random texts mixing words, digits, punctuation, accents, case and Chinese, and a word
    from the same alphabet (a leading '-' negates it): the index answers like the scan."""
    if not WORD.findall(word.lstrip("-")):
        return  # nothing to look up: such a word is not a search
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(Path(tmp) / "lib")
        papers = [
            Paper(arxiv_id=f"2601.{i:05d}", title=f"Paper {'qrstuvwxyz'[i]}", abstract=doc)
            for i, doc in enumerate(docs)
        ]
        source = Source(format="hf-text", origin="/f", feed_date="2026-06-18", digest="d")
        lib.import_feeds([(ParseResult("hf-text", papers), source)])
        assert len(lib) == len(docs)
        assert list(lib.query(word)) == scan(lib, word), (docs, word)
        lib.close()


def _combined(lib: Library, papers: dict[str, Doc]) -> list[list[T]]:
    """Words (plain, prefixes, phrases, Chinese, author:, in tags and notes, negated) with
    filters of every kind, from the sample library's own values."""
    rng = random.Random(11)
    titles = [lib.record(pid).get("title") or "" for pid in papers]
    vocab = sorted({w for t in titles for w in re.findall(r"\w+", t.casefold()) if len(w) > 2})
    common = [w for w in vocab if 8 <= sum(w in t.casefold() for t in titles)]
    words = [T("word", w) for w in rng.sample(vocab, 6) + common[:6]]
    words += [T("word", w[:4]) for w in common[:3]]
    words += [T("word", "diffusion model"), T("word", "扩散"), T("word", "模")]
    words += [T("word", "mytag"), T("word", "remember"), T("word", "the")]
    words += [T("author", "li"), T("author", "zhang")]
    cats = sorted({c for d in papers.values() for c in d.cats})
    days = sorted({d.day for d in papers.values()})
    feeds = sorted({f for d in papers.values() for f in d.feeds if f})
    filters = [T("is", v) for v in ("starred", "unstarred", "read", "unread", "noted", "tagged")]
    filters += [T("tag", "mytag"), T("tag", "other")]
    filters += [T("source", v) for v in ("hf", "arxiv", "arxivdaily", "digest", "arxiv-rss")]
    filters += [T("cat", "cs"), T("cat", cats[0]), T("feed", feeds[-1]), T("feed", feeds[0])]
    filters += [T("since", days[len(days) // 2]), T("until", days[len(days) // 2])]

    def maybe_negated(t: T) -> T:
        return T(t.key, t.value, rng.random() < 0.25)

    queries = [[w, f] for w in words[:8] for f in rng.sample(filters, 2)]
    for _ in range(30):
        terms = [maybe_negated(w) for w in rng.sample(words, rng.randint(1, 2))]
        terms += [maybe_negated(f) for f in rng.sample(filters, rng.randint(0, 2))]
        queries.append(terms)
    # words alone, two at once
    queries += [[w, v] for w, v in zip(words[::3], words[1::3], strict=False)]
    queries += [[T("word", "diffusion", True)], [T("word", "mytag", True), T("is", "unread")]]
    queries += [[T("word", w)] for w in ("mytag", "remember", "rem", "the", "diffusion", "dif")]
    # a word in tags (mytag) or a note (the) with words that are not, either way round
    tag, the, other = T("word", "mytag"), T("word", "the"), T("word", common[0])
    queries += [[tag, other], [tag, T("word", common[0], True)], [other, T("word", "the", True)]]
    queries += [[tag, T("word", "the", True)], [the, tag], [T("word", "diffusion", True), the]]
    # ... and with words of a tagged paper's text: one of them negated excludes it
    own = next(
        words
        for d in papers.values()
        if "mytag" in d.tags
        and len(words := sorted(set(re.findall(r"[a-z]{5,}", " ".join(d.text[:-2]).lower())))) > 1
    )
    queries += [[tag, T("word", own[0]), T("word", own[-1], True)], [tag, T("word", own[0], True)]]
    return queries


def test_queries_with_filters_equal_a_scan_read_every_way(sample_library: Library) -> None:
    """Words together with every filter, negated or not, in the indexed orders (newest and
    oldest first, date added) and one that is not (title): whichever way the result is
    read (`PLANS`), it is the papers the scan finds, in order, and its count theirs."""
    lib = sample_library
    some = lib.query("", sort="title")
    lib.set_state(some[:6], "tag", add_tags=["MyTag"])
    lib.set_state(some[::9], "tag", add_tags=["Diffusion"])  # (in text and tags alike)
    lib.set_state(some[2:8], "star", starred=True)
    lib.set_state(some[5:40], "mark read", read=True)
    lib.set_state(some[3:4], "note", note="Remember the ablation")
    papers = docs(lib)
    queries = _combined(lib, papers)
    seen = set()
    statements: list[str] = []
    lib._conn().set_trace_callback(statements.append)
    for sort, reverse in (("feed_date", True), ("feed_date", False), ("added", True)):
        order = list(lib.query("", sort=sort, reverse=reverse))
        # (every query newest first; a third of them in the other orders, to keep it quick)
        for terms in queries if reverse and sort == "feed_date" else queries[::3]:
            query = " ".join(map(str, terms))
            expected = expect(papers, order, terms)
            seen.add(bool(expected))
            for name in PLANS:
                with plan(name):
                    got = read_every_way(lib, query, sort, reverse)
                assert got == [expected] * 4, (query, sort, reverse, name)
    for terms in queries[::4]:
        query = " ".join(map(str, terms))
        title = expect(papers, list(lib.query("", sort="title", reverse=False)), terms)
        assert read_every_way(lib, query, "title", False) == [title] * 4, query
    lib._conn().set_trace_callback(None)
    assert seen == {True, False}
    # Each way was taken: windows, probes (words in tags or notes too among them), counts
    # in the index alone, prefixes matched as the words they stand for.
    assert any(s.startswith("WITH edge") for s in statements)
    assert any("+p.rowid IN (SELECT rowid FROM text" in s for s in statements)
    assert any("+p.rowid IN (SELECT rowid FROM annot" in s for s in statements)
    assert any(s.startswith("SELECT count(*) FROM text WHERE") for s in statements)
    assert any("UNION SELECT rowid FROM annot" in s for s in statements)
    assert any("INTERSECT SELECT rowid FROM text" in s for s in statements)
    assert any("EXCEPT SELECT rowid FROM annot" in s for s in statements)
    assert any(") OR (" in s for s in statements)
    assert any("m CROSS JOIN paper p ON p.rowid = m.r" in s for s in statements)


def test_a_count_no_longer_wanted_stops_and_the_next_one_is_whole(
    sample_library: Library,
) -> None:
    """`Results.count` gives up (None) once its ``stop`` says so, mid-statement; the same
    result counted again, and any other query on that connection, are whole."""
    lib = sample_library
    papers = docs(lib)
    order = list(lib.query(""))
    terms = [T("is", "unread"), T("word", "diffusion", True)]
    expected = expect(papers, order, terms)
    query = " ".join(map(str, terms))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # (wanted at the first look, not at the second)

    with mock.patch.object(sqlquery, "STEPS", 1), mock.patch.object(sqlquery, "RARE", 0):
        result = lib.query(query)
        assert result.count(stop) is None and not result.counted
        assert result.count(lambda: False) == len(expected)
    assert list(result) == expected and lib.query(query) == expected


PLAN_TEXT = "ab1 -δé扩散模"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(PLAN_TEXT, max_size=12),
            st.integers(0, 4),  # feed date: one of five days
            st.booleans(),  # read
            st.booleans(),  # starred
            st.sampled_from(["", "ab", "x"]),  # tag
        ),
        min_size=1,
        max_size=14,
    ),
    st.permutations(range(5)),  # the order the days' feeds are imported in
    st.text(PLAN_TEXT.replace(" ", ""), min_size=1, max_size=4),
    st.lists(
        st.sampled_from(
            [
                T("is", "unread"),
                T("is", "starred"),
                T("is", "read", True),
                T("tag", "ab"),
                T("tag", "x", True),
                T("feed", "2026-06-02"),
                T("since", "2026-06-02"),
                T("until", "2026-06-03"),
                T("word", "b"),
                T("word", "扩", True),
            ]
        ),
        max_size=2,
    ),
    st.sampled_from(sorted(PLANS)),
    st.sampled_from([("feed_date", True), ("feed_date", False), ("added", True)]),
)
def test_any_query_read_any_way_equals_a_scan(
    rows: list[tuple[str, int, bool, bool, str]],
    days: list[int],
    word: str,
    filters: list[T],
    way: str,
    sort: tuple[str, bool],
) -> None:
    """Papers of five feed dates imported in any order (so that stored order and date order
    differ), each read or not, starred or not, tagged or not; a word (a leading '-' negates
    it) with up to two filters, read any way (`PLANS`) in an indexed order: the scan's
    answer, page after page, in one pass and from the end."""
    negated = word.startswith("-") and len(word) > 1
    term = T("word", word[1:] if negated else word, negated)
    if not WORD.findall(term.value):
        return  # nothing to look up: such a word is not a search
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(Path(tmp) / "lib")
        for day in days:
            date = f"2026-06-0{day + 1}"
            papers = [
                Paper(arxiv_id=f"2601.{i:05d}", title=f"P{i}", abstract=text)
                for i, (text, d, *_) in enumerate(rows)
                if d == day
            ]
            if papers:
                source = Source(format="hf-text", origin=f"/{date}", feed_date=date, digest=date)
                lib.import_feeds([(ParseResult("hf-text", papers, feed_date=date), source)])
        ids = {lib.record(pid)["arxiv_id"]: pid for pid in lib}
        for i, (_, _, read, starred, tag) in enumerate(rows):
            pid = [ids[f"2601.{i:05d}"]]
            if read:
                lib.set_state(pid, "mark read", read=True)
            if starred:
                lib.set_state(pid, "star", starred=True)
            if tag:
                lib.set_state(pid, "tag", add_tags=[tag])
        papers = docs(lib)
        terms = [term, *filters]
        order = list(lib.query("", sort=sort[0], reverse=sort[1]))
        expected = expect(papers, order, terms)
        query = " ".join(map(str, terms))
        with plan(way):
            assert read_every_way(lib, query, *sort) == [expected] * 4, (rows, query)
        lib.close()


@pytest.mark.parametrize("query", ["is:", "tag:", "-author:", "since:", "diffusion source:"])
def test_a_filter_without_a_value_is_an_error_not_a_word(
    sample_library: Library, query: str
) -> None:
    """Found by a newcomer: `is:` alone was searched as the word "is:" (84 papers)."""
    key = query.split()[-1].lstrip("-").rstrip(":")
    with pytest.raises(QueryError, match=rf"^{key}: needs a value, e\.g\. {key}:\S"):
        sample_library.query(query)


def test_a_misnamed_filter_is_said_and_a_filter_name_is_read_without_case(
    tmp_path: Path,
) -> None:
    """Found by a newcomer: `AUTHOR:li`, `auther:li`, `tags:diffusion` and `category:cs.CV`
    each listed nothing and said nothing (searched as the words "author:li" …), while
    `author:li` found 9 papers. A filter's name is read without case; a name close to one
    (a typo, the plural, another tool's name for it) is an error naming the filter; a word
    that only has a colon ("note:x", a URL) is still searched as words."""
    from .test_cli import run

    db = tmp_path / "lib"
    assert run("import", str(FEEDS), "--create", db=db).returncode == 0

    def found(query: str) -> list[str]:
        done = run("list", "--json", "--search", query, db=db)
        assert done.returncode == 0, done.stderr
        return sorted(p["id"] for p in json.loads(done.stdout))

    authors = found("author:li")
    assert authors and found("AUTHOR:li") == found("Author:Li") == authors
    assert found("-IS:unread") == []
    for query, meant in [
        ("auther:li", "author"),
        ("tags:diffusion", "tag"),
        ("category:cs.CV", "cat"),
        ("-Sources:hf", "source"),
        ("untill:2026-01-01", "until"),
    ]:
        done = run("list", "--search", query, db=db)
        assert done.returncode == 1, query
        assert f"did you mean {meant}:?" in done.stderr, (query, done.stderr)
    for words in ("note:x", "match:x", "https://arxiv.org/abs/2606.18765"):
        assert run("list", "--search", words, db=db).returncode == 0, words
