"""A search gives exactly what a plain scan of the papers' stored text gives.

The oracle is the search language as documented (sqlquery.py, README): a word matches the
papers with a word that starts with it (case and accents folded), a word with punctuation
(``top-k``, ``2606.1``) or a quoted phrase matches its words in order, the last one as a
prefix, Chinese matches as a substring, ``-`` negates, ``author:`` looks at the authors only.
It is computed here from ``lib.record()`` and ``lib.raw_state()`` with no index at all.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tui.feeds import ParseResult
from tui.library import Library
from tui.models import Paper, Source

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


def _fields(lib: Library, pid: str, authors_only: bool = False) -> list[str]:
    record = lib.record(pid)
    fields = [" ".join(record.get("authors") or ())]
    fields += [record.get(k) or "" for k in AUTHOR_FIELDS]
    if authors_only:
        return fields
    fields += [record.get(k) or "" for k in TEXT_FIELDS]
    fields.append(" ".join(record.get("keywords") or ()))
    state = lib.raw_state(pid)
    return [*fields, *state.get("tags", ()), state.get("note", "")]


def _tokens(text: str) -> list[str]:
    """Words, and each run of Chinese (Japanese, Korean) characters as one word."""
    return WORD.findall(CJK.sub(lambda m: f" {m.group()} ", text))


def _has(field: str, word: str) -> bool:
    """Whether one field's text holds ``word`` under the documented rules: its words in
    order, the first Chinese one ending a Chinese run, the last starting a word or a run,
    a lone Chinese word anywhere in a run."""
    tokens, wanted = _tokens(fold(field)), _tokens(fold(word))
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


def scan(lib: Library, query: str) -> list[str]:
    """What ``lib.query(query)`` must answer (one word, ``-word``, ``"a phrase"`` or
    ``author:name``), in the library's default order."""
    negated = query.startswith("-")
    body = query[1:] if negated else query
    authors = body.startswith("author:")
    word = body.removeprefix("author:").strip('"')

    def hit(pid: str) -> bool:
        return any(_has(f, word) for f in _fields(lib, pid, authors_only=authors))

    return [pid for pid in lib.query("") if hit(pid) != negated]


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
    expected = {q: scan(lib, q) for q in queries}
    assert all(expected[q] for q in ("mytag", "remember", "top-k", "2606.1", "扩散", "diffus"))
    assert not expected["zz9"]
    assert {q: list(lib.query(q)) for q in queries} == expected
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
