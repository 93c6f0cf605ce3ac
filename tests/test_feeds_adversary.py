"""The feed readers `papertui fetch` feeds (arXiv Atom and RSS, Hugging Face's API) attacked
with variations of the real samples: shapes a server or a mirror may send, control characters,
BOMs. The oracle is the sample itself: what its unvaried version reads as."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.feeds import parse_bytes, parse_text

from .conftest import FEEDS

HERE = Path(__file__).parent
ATOM = (HERE / "feeds" / "arxiv-api-query-cs-cv.xml").read_text(encoding="utf-8")
RSS = (FEEDS / "arxiv-cs-cv-2026-06-19.rss").read_text(encoding="utf-8")
LEGACY = (HERE / "cases" / "rss-legacy.rss").read_text(encoding="utf-8")


def fields(text: str) -> list[tuple]:
    return [
        (p.arxiv_id, p.title, p.authors, p.abstract, p.announce_type)
        for p in parse_text(text, "feed").papers
    ]


def test_an_atom_summary_of_type_html_reads_as_its_text() -> None:
    """Atom lets a summary be escaped HTML (``type="html"``), as other arXiv mirrors and
    feed tools write it: the abstract is its text (it raised TypeError, a traceback)."""
    served = ATOM.replace(
        "<summary>  Video diffusion",
        '<summary type="html">&lt;p&gt;Video &lt;b&gt;diffusion&lt;/b&gt;',
        1,
    )
    plain = {p.arxiv_id: p.abstract for p in parse_text(ATOM, "plain").papers}
    papers = parse_text(served, "feed").papers
    assert [p.arxiv_id for p in papers] == list(plain)
    assert papers[0].abstract == plain[papers[0].arxiv_id]
    assert "<" not in papers[0].abstract


def test_an_atom_entry_without_links_is_still_read() -> None:
    """An entry with no ``<link>`` (a mirror, a hand-made feed): the id says where the paper
    is (it raised AttributeError: 'links')."""
    served = re.sub(r"<link [^>]*/>", "", ATOM)
    assert fields(served) == fields(ATOM)
    papers = parse_text(served, "feed").papers
    assert all(p.abs_url == f"https://arxiv.org/abs/{p.arxiv_id}" for p in papers)


@pytest.mark.parametrize("char", ["\x0c", "\x1b", "\x00", "\x08"])
@pytest.mark.parametrize("sample", ["today", "legacy"])
def test_one_control_character_in_an_rss_item_costs_no_other_text(char: str, sample: str) -> None:
    """XML 1.0 forbids C0 controls; one in an item's abstract made the XML parser's recovery
    drop every entity after it (``$w &gt; 1$`` read as ``$w 1$``, old feeds' authors kept as
    ``a href=…Ana Lima/a``): the other items must read as if it were not there."""
    text = RSS if sample == "today" else LEGACY
    anchor = "Abstract: " if sample == "today" else "<description>&lt;p&gt;"
    served = text.replace(anchor, anchor + char, 1)
    assert fields(served)[1:] == fields(text)[1:]
    first, original = fields(served)[0], fields(text)[0]
    assert first[:3] == original[:3] and first[3].replace(" ", "") == original[3].replace(" ", "")


@pytest.mark.parametrize(
    "path",
    [
        FEEDS / "arxiv-cs-cv-2026-06-19.rss",
        FEEDS / "arxiv-cs-cv-new-2026-06-19.html",
        FEEDS / "hf-daily-papers-2026-06-19.html",
        HERE / "cases" / "rss-legacy.rss",
        HERE / "cases" / "listing-recent-multiday.html",
    ],
    ids=lambda p: p.name,
)
def test_a_file_saved_with_two_boms_reads_as_with_one(path: Path) -> None:
    """An editor that adds a BOM to a file that had one leaves U+FEFF at the start of the
    text: the XML and HTML readers no longer recognised the feed (the text readers did)."""
    data = path.read_bytes()
    once = parse_bytes(b"\xef\xbb\xbf" + data, str(path))
    twice = parse_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + data, str(path))
    assert [p.title for p in twice.papers] == [p.title for p in once.papers]
    assert twice.papers and twice.format == once.format


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        ("this https URL", "Project page: https://keyprop-video.github.io/"),
        ("this https URL.", "Project page: https://keyprop-video.github.io/."),
        ("the demo", "Project page: the demo (https://keyprop-video.github.io/)"),
    ],
)
def test_a_listings_links_read_as_hf_copies_of_them_show(words: str, shown: str) -> None:
    """arXiv's "this https URL" link, in a listing's comments (made text when read) and in
    the HF text
    that copies it as an anchor (made text when shown), reads the same way: one rule (the
    listing's kept "this https URL. (address)" for the words with a full stop)."""
    from tui.text import readable_links

    path = FEEDS / "arxiv-cs-cv-new-2026-06-19.html"
    page = path.read_text(encoding="utf-8").replace(">this https URL</a>", f">{words}</a>", 1)
    comments = [p.comments for p in parse_text(page, str(path)).papers]
    (read,) = [c for c in comments if "Project page:" in c]
    anchor = f'Project page: <a href="https://keyprop-video.github.io/">{words}</a>'
    assert shown in read and readable_links(anchor) == shown


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ('Line one\\\\"quoted"', 'Line one\\\\"quoted"'),  # `\\` (a line break), then a quote
        ('M\\\\"uller', 'M\\\\"uller'),  # the `\"` there is no accent: its `\` ends the `\\`
        ('A\\\\\\"uB', "A\\\\üB"),  # `\\` then `\"u`: a line break, then ü
        ('M\\"uller', "Müller"),
        ("trailing\\", "trailing\\"),
    ],
)
def test_a_tex_line_break_is_not_half_of_an_accent(written: str, read: str) -> None:
    """``\\\\`` is TeX's line break: the second backslash does not start an accent with
    what follows (``\\\\"quoted"`` became ``\\quöted"``)."""
    from tui.text import tex_accents

    assert tex_accents(written) == read
    feed = ATOM.replace("Hannah Kerr", written.replace("&", "&amp;"), 1)
    assert parse_text(feed, "feed").papers[0].authors[0] == read


@pytest.mark.parametrize(
    "title",
    [
        "Attention $[x](https://evil.example/login)$ is all",
        "Gains of $[a][b]$ and more",
        "Scaling $x](https://evil.example)$ laws",
    ],
)
def test_a_fetched_title_makes_no_link_in_the_export(title: str) -> None:
    """Inline math is kept raw in the Markdown export (GitHub and Obsidian typeset it), but
    math may hold ``[`` ``]`` ``(`` ``:`` ``/``: ``$[x](https://…)$`` from a feed was a live
    link wherever math is not typeset (CommonMark). The oracle is a CommonMark renderer."""
    import json

    from markdown_it import MarkdownIt

    from tui.export import paper_markdown
    from tui.models import PaperState

    def exported(title: str) -> str:
        item = {"paper": {"id": "2606.22222", "title": title, "summary": "What it found."}}
        (paper,) = parse_text(json.dumps([item]), "hf.json").papers
        return paper_markdown(paper, PaperState())

    html = MarkdownIt("commonmark").render(exported(title))
    assert not [href for href in re.findall(r'href="([^"]*)"', html) if "evil" in href]
    assert "evil.example" in html or "[a][b]" in html  # (shown as the characters they are)
    kept = exported("Cost $O(N^2)$ on $[0,1]$")  # (math without a link stays math)
    assert "$O(N^2)$" in kept and "$[0,1]$" in kept


@pytest.mark.parametrize(
    "written, day",
    [
        ("Mon, 01 Jan 0001 00:00:00 GMT", None),  # (RFC 2822 parsing made it 2001-01-01)
        ("Fri, 01 Jan 0099 00:00:00 GMT", None),
        ("Fri, 19 Jun 2026 00:00:00 -0400", "2026-06-19"),
        ("Fri, 19 Jun 26 00:00:00 -0400", "2026-06-19"),  # (a two-digit year: RFC 822)
    ],
)
def test_an_rss_date_with_a_year_out_of_range_is_no_date(written: str, day: str | None) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>cs.CV updates on arXiv.org'
        "</title><item><title>A paper with an odd date</title>"
        "<link>https://arxiv.org/abs/2606.11111</link><description>arXiv:2606.11111v1 "
        "Announce Type: new Abstract: Something about a method.</description>"
        f"<pubDate>{written}</pubDate></item></channel></rss>"
    )
    (paper,) = parse_text(rss, "odd.rss").papers
    assert paper.paper_date == day
