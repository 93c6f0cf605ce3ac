"""The search indexes give exactly what a plain substring scan gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.library.search import Postings, TextIndex, dump_postings, load_postings, word_pieces

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
    piece, exact = word_pieces(word)
    if piece is None:
        return  # nothing to look up: the library scans
    built = Postings.build(docs)
    # The stored form answers exactly like the built one.
    _, loaded = load_postings(dump_postings({"seq": 1}, {"text": built}))
    for postings in (built, loaded["text"]):
        hits = {str(i) for i in postings.find(piece)}
        assert _naive(docs, word) <= hits  # never misses a paper
        if exact:
            assert hits == _naive(docs, word)


def test_text_index_updates_after_the_build_are_searched() -> None:
    text = TextIndex([("a", "扩散模型"), ("b", "流匹配")])
    text.update("b", "扩散")
    assert text.find("扩散") == {"a", "b"}


@settings(max_examples=150, deadline=None)
@given(docs_strategy, st.data())
def test_a_damaged_postings_file_is_refused_with_value_error(
    docs: list[str], data: st.DataObject
) -> None:
    """Truncated, extended or bit-flipped: load_postings raises ValueError or (for a flip
    that keeps the structure) returns postings whose answers are in range — never crashes."""
    blob = dump_postings({"seq": 3}, {"text": Postings.build(docs)})
    cut = data.draw(st.integers(0, len(blob) - 1))
    for damaged in (
        blob[:cut],
        blob + b"\x00",
        blob[:cut] + bytes([blob[cut] ^ 0xFF]) + blob[cut + 1 :],
    ):
        try:
            _, sections = load_postings(damaged)
        except ValueError:
            continue
        for piece in ("a", "b1", "1"):
            sections["text"].find(piece)  # no exception


@settings(max_examples=150, deadline=None)
@given(docs_strategy, docs_strategy, st.text("ab1", min_size=1, max_size=3))
def test_merged_postings_answer_like_postings_built_on_all_texts(
    first: list[str], second: list[str], piece: str
) -> None:
    """Merging renumbers each part's positions; a position mapped to -1 (a version replaced
    by a later one) is dropped."""
    from tui.library.search import merge_postings

    keep_first = list(range(len(first)))
    keep_first[0] = -1  # the first text was replaced: not in the merged index
    renumber_second = [len(first) - 1 + i for i in range(len(second))]
    keep_first[1:] = [i - 1 for i in range(1, len(first))]
    merged = merge_postings(
        [(Postings.build(first), keep_first), (Postings.build(second), renumber_second)],
        len(first) - 1 + len(second),
    )
    expected = Postings.build(first[1:] + second)
    assert merged.find(piece) == expected.find(piece)
