"""TeX accents in feed text (issue 12): arXiv's metadata writes ``M\\"uller`` and
``Schr\\"odinger`` where a listing of the same paper writes Müller and Schrödinger. The case
file rss-tex-affiliations.rss (tests/cases) and variations of it; the expected Unicode is
written here by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.feeds import parse_bytes
from tui.library import Library
from tui.text import readable_tex, tex_accents

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
        (r"na\"\i ve na\"\i{}ve na\"{\i}ve Mart\'\i nez", "naïve naïve naïve Martínez"),
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


@pytest.mark.parametrize(
    ("tex", "shown"),
    [
        (
            r"cost grows as $O(N^2)$ in the number of tokens $N$",
            "cost grows as O(N²) in the number of tokens N",
        ),
        (r"2.1$\times$ faster, \textbf{Diff} and \emph{DiT}", "2.1× faster, Diff and DiT"),
        (r"lr $10^{-3}$ and $x_{12}$, $\alpha$-blending", "lr 10⁻³ and x₁₂, α-blending"),
        (r"100\% \& more; $$E=mc^2$$", "100% & more; E=mc²"),
        ("it costs $5 and $10 a month", "it costs $5 and $10 a month"),  # (money, not math)
        (r"see \cite{ho2020}; 50% of C:\temp", r"see \cite{ho2020}; 50% of C:\temp"),
        (r"unbalanced $x^2 stays", r"unbalanced $x^2 stays"),
        (  # (a whole sentence in italics: 220 characters, from data/feeds)
            r"\textit{" + "a fundamental question, " * 9 + "themselves?}",
            "a fundamental question, " * 9 + "themselves?",
        ),
    ],
)
def test_inline_tex_reads_as_text_on_screen(tex: str, shown: str) -> None:
    assert readable_tex(tex) == shown


async def test_the_detail_pane_shows_readable_math_and_the_export_keeps_tex(
    empty_library: Library, tmp_path: Path
) -> None:
    """The HF answer's abstract holds `$O(N^2)$` and `2.1$\\times$`: the app shows O(N²)
    and 2.1×; the library keeps the text as written (the export's math: the next test)."""
    from .test_app import build, settle

    import_files(empty_library, [HF_API])
    pid = empty_library.resolve("2606.17211")
    empty_library.set_state([pid], "star", starred=True)
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")  # the starred view: the one paper
        await settle(pilot, 0.3)
        text = app.detail.text
        assert "O(N²) in the number of tokens N" in text and "2.1× at 720p" in text
        assert "$" not in text.split("Abstract", 1)[1].split("\n\n", 2)[1]
    assert "$O(N^2)$" in empty_library.get(pid).abstract  # (stored as written)


def test_the_export_keeps_math_and_drops_other_markup() -> None:
    """Rendered by a CommonMark renderer (markdown-it): the math reaches the page as `$…$`
    for GitHub / Obsidian to typeset, TeX formatting as its text, and feed text that is
    not plain math stays literal (no link, no HTML, no emphasis)."""
    from markdown_it import MarkdownIt

    from tui.export import export_markdown
    from tui.models import Paper, PaperState

    paper = Paper(
        title=r"Fast $O(N)$ attention",
        abstract=(
            r"It grows as $O(N^2)$ and is 2.1$\times$ faster, \textbf{Diff} *not em* "
            r"<b>no html</b> costs $5 and $10 $\href{javascript:alert(1)}{x}$ 50\% more"
        ),
    )
    html = MarkdownIt("commonmark").render(export_markdown([(paper, PaperState())]))
    assert "<h3>Fast $O(N)$ attention</h3>" in html
    assert "It grows as $O(N^2)$ and is 2.1$\\times$ faster, Diff *not em* " in html
    assert "&lt;b&gt;no html&lt;/b&gt;" in html and "<b>" not in html and "<em>" not in html
    assert "costs $5 and $10" in html and "href=" not in html and "50% more" in html
