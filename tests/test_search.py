"""The search indexes give exactly what a plain substring scan gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.library.search import TextIndex, WordIndex

ALPHABET = "ab1 -Δ扩散\n"
docs_strategy = st.lists(st.text(ALPHABET, max_size=40), min_size=1, max_size=12)


def _naive(docs: list[str], word: str) -> set[str]:
    return {str(i) for i, text in enumerate(docs) if word in text}


@settings(max_examples=300, deadline=None)
@given(docs_strategy, st.text(ALPHABET.replace("\n", ""), min_size=1, max_size=5))
def test_word_and_text_index_agree_with_a_scan(docs: list[str], word: str) -> None:
    pairs = [(str(i), text) for i, text in enumerate(docs)]
    assert TextIndex(pairs).find(word) == _naive(docs, word)
    assert TextIndex(pairs, utf8=True).find(word) == _naive(docs, word)
    hits, exact = WordIndex(pairs).candidates(word)
    if hits is None:
        return  # nothing to narrow by: the library scans
    assert _naive(docs, word) <= hits  # never misses a paper
    if exact:
        assert hits == _naive(docs, word)


def test_updates_after_the_build_are_searched() -> None:
    words = WordIndex([("a", "diffusion model"), ("b", "flow matching")])
    words.update("a", "flow only")
    assert words.candidates("diffusion") == (set(), True)
    assert words.candidates("flow") == ({"a", "b"}, True)
    text = TextIndex([("a", "扩散模型"), ("b", "流匹配")])
    text.update("b", "扩散")
    assert text.find("扩散") == {"a", "b"}
