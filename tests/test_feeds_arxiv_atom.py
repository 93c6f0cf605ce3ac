"""Format H, arXiv as Atom: the API's answer (a saved `export.arxiv.org/api/query` answer,
tests/feeds/arxiv-api-query-cs-cv.xml, values written here) and the daily feed asked for as
Atom, made here from the real RSS sample (data/feeds/arxiv-cs-cv-2026-06-19.rss) the way
rss.arxiv.org writes its Atom form; the same feed in both forms must give the same papers."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from lxml import etree

from tui.feeds import FeedError, parse_bytes
from tui.library import Library

from .conftest import FEEDS, import_files
from .test_cli import run, stats

API = Path(__file__).parent / "feeds" / "arxiv-api-query-cs-cv.xml"
RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
DC = "{http://purl.org/dc/elements/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def atom_from_rss(rss: bytes) -> bytes:
    """The RSS feed's items as rss.arxiv.org/atom/<cat> entries."""
    channel = etree.fromstring(rss).find("channel")
    out = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="en-us">',
        "  <id>http://rss.arxiv.org/atom/cs.CV</id>",
        "  <title>cs.CV updates on arXiv.org</title>",
        "  <updated>2026-06-19T04:30:12.000000+00:00</updated>",
    ]
    for item in channel.findall("item"):
        guid = item.findtext("guid")
        out += [
            "  <entry>",
            f"    <id>{escape(guid)}</id>",
            f"    <title>{escape(item.findtext('title'))}</title>",
            "    <updated>2026-06-19T04:00:00Z</updated>",
            f"    <link href={quoteattr(item.findtext('link'))} rel='alternate' type='text/html'/>",
            f"    <summary>{escape(item.findtext('description'))}</summary>",
            *(
                f"    <category term={quoteattr(c.text)} scheme='http://arxiv.org/schemas/atom'/>"
                for c in item.findall("category")
            ),
            "    <published>2026-06-19T00:00:00-04:00</published>",
            f"    <arxiv:announce_type>{item.findtext(ARXIV + 'announce_type')}"
            "</arxiv:announce_type>",
            f"    <dc:creator>{escape(item.findtext(DC + 'creator'))}</dc:creator>",
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def test_an_api_answer_gives_each_paper_with_its_fields() -> None:
    result = parse_bytes(API.read_bytes(), str(API))
    assert result.format == "arxiv-atom"
    first, second = result.papers
    assert first.arxiv_id == "2606.17211" and first.arxiv_version == 2
    assert first.title == (
        "Merge & Flow: Training-Free Token Merging for Video Diffusion Transformers"
    )
    assert first.authors == ["Hannah Kerr", "Rohan Mehta"] and first.institutions == "NVIDIA"
    assert first.abstract.startswith("Video diffusion transformers spend")
    assert first.abstract.endswith("in the number of tokens $N$.")
    assert first.categories == ["cs.CV", "cs.LG"] and first.comments == "14 pages, 6 figures"
    assert first.paper_date == "2026-06-17" and first.abs_url.endswith("/abs/2606.17211")
    assert second.title == "PixelFlow-R: Rectified Pixel-Space Flow Matching at 1024²"
    assert second.institutions == "ETH Zürich; Max Planck Institute; Tsinghua University"
    assert "<b>without</b>" in second.abstract  # (text, shown literally: not markup)
    lines = API.read_text(encoding="utf-8").split("\n")
    assert [lines[p.line - 1].strip() for p in result.papers] == ["<entry>", "<entry>"]
    (error,) = result.skipped
    assert error.reason == "the arXiv API answered an error: incorrect id format for 1234"
    assert lines[error.line - 1].strip() == "<entry>"


def test_the_daily_feed_as_atom_gives_the_same_papers_as_its_rss() -> None:
    from_rss = parse_bytes(RSS.read_bytes(), str(RSS)).papers
    from_atom = parse_bytes(atom_from_rss(RSS.read_bytes()), "cs.CV.atom").papers
    assert len(from_atom) == len(from_rss) == 7
    for a, r in zip(from_atom, from_rss, strict=True):
        assert (a.arxiv_id, a.arxiv_version, a.title) == (r.arxiv_id, r.arxiv_version, r.title)
        assert a.authors == r.authors and a.abstract == r.abstract
        assert a.announce_type == r.announce_type and set(a.categories) == set(r.categories)
    assert {p.announce_type for p in from_atom} >= {"new", "cross"}


def test_the_same_papers_as_atom_and_rss_are_one_each(tmp_path: Path) -> None:
    atom = tmp_path / "cs.CV.atom"
    atom.write_bytes(atom_from_rss(RSS.read_bytes()))
    db = tmp_path / "lib"
    result = run("import", str(RSS), str(atom), db=db)
    assert result.returncode == 0, result.stderr
    lib = Library.open(db)
    assert stats(db)["papers"] == len(parse_bytes(RSS.read_bytes(), "r").papers)
    assert all(
        sorted(lib.get(pid).source_formats) == ["arxiv-atom", "arxiv-rss"] for pid in lib.query("")
    )
    assert set(lib.query("source:arxiv")) == set(lib.query(""))


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_a_cut_off_feed_keeps_nothing_and_costs_no_other_file(tmp_path: Path, cut: float) -> None:
    data = API.read_bytes()
    part = tmp_path / "answer.xml"
    part.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(FeedError, match=r"answer.xml: cut off before the end of the feed"):
        parse_bytes(part.read_bytes(), str(part))
    db = tmp_path / "lib"
    result = run("import", str(part), str(RSS), db=db)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cut off before the end of the feed: expected </feed>" in result.stderr
    assert stats(db)["papers"] == len(parse_bytes(RSS.read_bytes(), "r").papers)


def test_a_query_past_the_last_result_is_no_papers_not_a_crash() -> None:
    empty = API.read_text(encoding="utf-8")
    empty = empty[: empty.index("<entry>")] + "</feed>\n"
    with pytest.raises(FeedError, match=r"no papers in the feed \(no <entry>: nothing announced\)"):
        parse_bytes(empty.encode(), "empty.xml")


def test_an_answer_that_is_only_an_error_says_what_the_api_said() -> None:
    text = API.read_text(encoding="utf-8")
    start, err = text.index("<entry>"), text.rindex("<entry>")
    only_error = text[:start] + text[err:]
    line = only_error[: only_error.index("<entry>")].count("\n") + 1
    with pytest.raises(FeedError) as caught:
        parse_bytes(only_error.encode(), "q.xml")
    assert str(caught.value) == (
        f"q.xml: line {line}: the arXiv API answered an error: incorrect id format for 1234"
    )


def test_feed_text_with_escapes_and_markup_is_kept_as_text(empty_library: Library) -> None:
    text = API.read_text(encoding="utf-8").replace(
        "Merge &amp; Flow", "[bold red]Merge[/] &#27;]0;owned&#7; Flow", 1
    )
    path = empty_library.root.parent / "hostile.xml"
    path.write_text(text, encoding="utf-8")
    import_files(empty_library, [path])
    (pid,) = empty_library.query("2606.17211")
    title = empty_library.get(pid).title
    assert "[bold red]Merge[/]" in title and "\x1b" not in title and "\x07" not in title
