"""Parsers fuzzed with hypothesis: they return papers or raise FeedError, never anything else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.feeds import MAX_FEED_BYTES, FeedError, ParseResult, parse_bytes, parse_text
from tui.text import clean

from .conftest import FEEDS

SAMPLES = sorted(p for p in FEEDS.iterdir() if p.is_file())
TODAY = date(2026, 11, 22)
FUZZ = settings(
    max_examples=150,
    deadline=5000,  # a pathological input must not make a parser hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(result: ParseResult) -> None:
    assert result.papers
    for paper in result.papers:
        for value in (paper.title, paper.title_zh, paper.abstract, *paper.authors):
            assert value == clean(value)  # nothing from a feed keeps control characters


def _parse(data: bytes | str) -> None:
    try:
        if isinstance(data, bytes):
            _check(parse_bytes(data, "fuzz", TODAY))
        else:
            _check(parse_text(data, "fuzz", TODAY))
    except FeedError as err:
        assert str(err).startswith("fuzz") and "\n" not in str(err)


@FUZZ
@given(st.text())
def test_random_text(text: str) -> None:
    _parse(text)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _parse(data)


_TAGS = ["html", "body", "div", "dl", "dt", "dd", "a", "p", "span", "rss", "item", "h3", "title"]
_ATTRS = [
    ' id="articles"',
    ' class="list-title mathjax"',
    ' href="/abs/2606.19162"',
    ' data-target="DailyPapers" data-props="{&quot;dailyPapers&quot;: []}"',
    ' class="meta"',
    "",
]


@st.composite
def html(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(st.sampled_from(_TAGS))
        parts.append(f"<{tag}{draw(st.sampled_from(_ATTRS))}>")
        parts.append(draw(st.text(max_size=40)))
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
    return "".join(parts)


@FUZZ
@given(html())
def test_random_html(markup: str) -> None:
    _parse(markup)


@FUZZ
@given(st.sampled_from(SAMPLES), st.floats(0.0, 1.0))
def test_truncated_real_samples(sample: Path, fraction: float) -> None:
    data = sample.read_bytes()
    _parse(data[: int(len(data) * fraction)])


@FUZZ
@given(st.sampled_from(SAMPLES), st.integers(0, 10**9), st.binary(min_size=1, max_size=8))
def test_corrupted_real_samples(sample: Path, where: int, junk: bytes) -> None:
    data = sample.read_bytes()
    at = where % len(data)
    _parse(data[:at] + junk + data[at + len(junk) :])


def _papers(data: bytes) -> list[dict]:
    return [p.to_dict() for p in parse_bytes(data, "enc", TODAY).papers]


def _latin(sample: Path) -> bool:
    """Samples cp1252 can carry (the Chinese feeds cannot be written in it)."""
    text = sample.read_text(encoding="utf-8")
    return len(text.encode("cp1252", errors="ignore")) > 0.95 * len(text)


ENCODINGS = [
    pytest.param(sample, enc, id=f"{sample.name}-{enc}")
    for sample in SAMPLES
    for enc in ("gbk", "gb18030", "utf-8-sig", "utf-16", "cp1252")
    if enc != "cp1252" or _latin(sample)
]


@pytest.mark.parametrize("sample, encoding", ENCODINGS)
def test_encodings_give_the_same_papers(sample: Path, encoding: str) -> None:
    """GBK/cp1252 without any declaration, GB18030, UTF-8 and UTF-16 with BOM."""
    text = sample.read_text(encoding="utf-8")
    if encoding in ("gbk", "cp1252"):  # characters the code page lacks become "?" first
        text = text.encode(encoding, errors="replace").decode(encoding)
    expected = _papers(text.encode("utf-8"))
    assert _papers(text.encode(encoding)) == expected


def test_oversized_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(FeedError, match="larger than the 50 MB"):
        parse_bytes(b"x" * (MAX_FEED_BYTES + 1), "big.txt")
