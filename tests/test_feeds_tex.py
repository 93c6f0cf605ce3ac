"""TeX accents in feed text (issue 12): arXiv's metadata writes ``M\\"uller`` and
``Schr\\"odinger`` where a listing of the same paper writes Müller and Schrödinger. The case
file rss-tex-affiliations.rss (../shared/cases) and variations of it; the expected Unicode is
written here by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.feeds import parse_bytes
from tui.library import Library
from tui.text import tex_accents

from .conftest import import_files

CASES = Path(__file__).parent / "cases"
TEX_RSS = CASES / "rss-tex-affiliations.rss"
UNICODE_LISTING = CASES / "listing-same-paper-unicode.html"
HF_API = Path(__file__).parent / "feeds" / "hf-api-daily-papers-2026-06-19.json"


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"J\"urgen M\"uller", "Jürgen Müller"),
        (r"M\'elanie Durand", "Mélanie Durand"),
        (r"Wojciech Wi\'sniewski", "Wojciech Wiśniewski"),
        (r"{\"U}ber {\'E}cole", "Über École"),
        (r"Fran\c{c}ois Erd\H{o}s \v{S}koda \u{a}", "François Erdős Škoda ă"),
        (r"Mart\'{\i}n Bj{\o}rn Bj\o rn \L{}ukasz Stra\ss e", "Martín Bjørn Bjørn Łukasz Straße"),
        (r"Pe\~na G\"{o}del \^ile \`a \=o \.z", "Peña Gödel île à ō ż"),
    ],
)
def test_tex_accents_become_unicode(tex: str, text: str) -> None:
    assert tex_accents(tex) == text


@pytest.mark.parametrize(
    "kept",
    [
        r"50% of the cases, M\"uller says",  # (a TeX comment would eat the rest)
        r"2.1$\times$ faster, $O(N^2)$ memory",
        r"\textbf{Diff} as in \cite{ho2020} and \emph{DiT}",
        r"C:\temp\new and \\server\share",
        "no TeX at all: 100% plain",
    ],
)
def test_everything_else_is_left_as_written(kept: str) -> None:
    expected = kept.replace(r"M\"uller", "Müller")
    assert tex_accents(kept) == expected


def test_the_tex_feed_reads_as_unicode_names_title_and_abstract() -> None:
    (paper,) = parse_bytes(TEX_RSS.read_bytes(), str(TEX_RSS)).papers
    assert paper.title == "Nonlinear Schrödinger Dynamics of Trapped Condensates"
    assert paper.authors == [
        "Jürgen Müller",
        "Mélanie Durand",
        "Wojciech Wiśniewski",
        "Paul Ashford Jr",
    ]
    assert paper.institutions == "University of Bonn; Inria, Paris"
    assert "nonlinear Schrödinger equation" in paper.abstract and "\\" not in paper.abstract


@pytest.mark.parametrize("first", [TEX_RSS, UNICODE_LISTING])
def test_both_spellings_find_the_merged_paper(empty_library: Library, first: Path) -> None:
    lib = empty_library
    import_files(lib, [first, UNICODE_LISTING if first == TEX_RSS else TEX_RSS])
    (pid,) = lib.query("")
    assert sorted(lib.get(pid).source_formats) == ["arxiv-html", "arxiv-rss"]
    for query in ("author:muller", "author:müller", "author:MÜLLER", "schrödinger", "schrodinger"):
        assert lib.query(query) == [pid], query
    assert lib.get(pid).title == "Nonlinear Schrödinger Dynamics of Trapped Condensates"


def test_every_format_gets_the_same_treatment(tmp_path: Path) -> None:
    """Not only RSS: a Hugging Face answer whose names carry TeX (as some submitters type
    them) reads as Unicode too."""
    items = json.loads(HF_API.read_bytes())
    items[0]["paper"]["authors"][0]["name"] = r"Hannah K\"ohler"
    items[0]["paper"]["title"] = r"Merge \& Flow for G\"odel Machines"
    path = tmp_path / "hf.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    first = parse_bytes(path.read_bytes(), str(path)).papers[0]
    assert first.authors[0] == "Hannah Köhler"
    assert first.title == r"Merge \& Flow for Gödel Machines"  # (\& is not an accent: kept)
