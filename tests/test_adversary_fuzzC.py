"""Found by an input-side adversary (fuzzC): each test fails without its fix.

Inputs are the files under ``tests/fuzzC/``, run through the real CLI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import bibtexparser
import pytest

from .test_cli import run
from .test_exporters import braces_balance

CASES = Path(__file__).resolve().parent / "fuzzC"


def test_bibtex_math_with_an_unmatched_escaped_brace_keeps_every_field_balanced(
    tmp_path: Path,
) -> None:
    """`$\\left\\{ x^2 \\right.$` (a piecewise definition) was kept as math: TeX reads `\\{` as
    a brace character, but BibTeX counts it as a brace, so the title's value never closed and
    swallowed the fields after it. Written with `\\lbrace`, the same symbol in math."""
    db = tmp_path / "lib"
    imported = run("import", "--create", str(CASES / "bibtex-math-brace.rss"), db=db)
    assert imported.returncode == 0, imported.stderr
    assert run("star", "2606.11111", "2606.22222", db=db).returncode == 0
    out = tmp_path / "starred.bib"
    exported = run("export", "--format", "bibtex", "-o", str(out), db=db)
    assert exported.returncode == 0, exported.stderr
    text = out.read_text(encoding="utf-8")
    parsed = bibtexparser.parse_string(text)
    assert not parsed.failed_blocks
    assert len(parsed.entries) == 2
    for entry in parsed.entries:
        for field in entry.fields:
            assert braces_balance(field.value), (entry.key, field.key, field.value)
    # BibTeX's own reading: each entry's braces close at its end, whatever a value holds.
    for block in re.split(r"\n(?=@)", text.strip()):
        assert braces_balance(block[block.index("{") :]), block
    first = parsed.entries[0].fields_dict
    assert r"$\ell(x) = \left\lbrace  x^2 \right.$" in first["title"].value
    # Balanced escaped braces are kept as written.
    assert r"$\{x : \ell(x) \le t\}$" in first["abstract"].value


def test_an_atom_character_reference_beyond_unicode_costs_only_its_character(
    tmp_path: Path,
) -> None:
    """`&#x110000;` or `&#99999999999;` in an arXiv API answer made feedparser raise
    (ValueError, OverflowError): the whole feed was "papertui failed". The RSS and HTML
    parsers read such a reference as U+FFFD; so does the Atom one now."""
    db = tmp_path / "lib"
    imported = run(
        "import", "--create", str(CASES / "atom-charref-beyond-unicode.xml"), "--json", db=db
    )
    assert imported.returncode == 0, imported.stderr
    assert "failed" not in imported.stderr and "Traceback" not in imported.stderr
    shown = run("show", "2606.18040", "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    paper = json.loads(shown.stdout)
    assert paper["title"] == "PixelFlow-R: Rectified Pixel-Space Flow Matching at 1024\ufffd"
    assert paper["abstract"].startswith("Pixel-space flow matching avoids the autoencoder\ufffds ")


def test_an_rss_item_is_not_the_paper_it_cites_nor_a_link_that_looks_like_an_old_id(
    tmp_path: Path,
) -> None:
    """An item whose link is not arXiv's took its id from the first 80 characters of its
    description ("Comment on arXiv:2606.07001."): the reply became the paper it replies to,
    its text merged into that paper. Any word before a slash and seven digits was an old-style
    arXiv id: two blogs' `/post/1234567` were one paper, linked as arxiv.org/abs/post/1234567."""
    db = tmp_path / "lib"
    imported = run("import", "--create", str(CASES / "rss-cites-other-papers.rss"), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "4 found, 4 new, 0 merged" in imported.stdout, imported.stdout
    listed = run("list", "--json", db=db)
    papers = {p["title"]: p for p in json.loads(listed.stdout)}
    assert len(papers) == 4
    original = papers["Sparse Token Routing for Video Diffusion"]
    assert original["arxiv_id"] == "2606.07001"
    assert original["abstract"].startswith("We route each video token")
    for title in (
        "A Reply to Lima on Sparse Token Routing",
        "Our New Preprint on Routing in Mixtures of Experts",
        "Bread Recipes for Researchers Without Time",
    ):
        assert not papers[title].get("arxiv_id"), papers[title]
        assert "arxiv.org" not in (papers[title].get("abs_url") or "")


@pytest.mark.parametrize(
    ("feed", "first_title"),
    [
        ("rss-control-reference.rss", "Sharpness Bounds for Wide Networks"),
        ("rss-html-entity.rss", "Sharpness Bounds for Wide Networks été & R&D"),
    ],
)
def test_an_rss_reference_xml_cannot_read_costs_no_entity_after_it(
    tmp_path: Path, feed: str, first_title: str
) -> None:
    """One `&#27;` (or `&#0;`, `&#12;`, `&#xFFFE;`: characters XML forbids), one HTML entity
    XML does not define (`&nbsp;`, `&eacute;`) or one bare `&` (`R&D`) anywhere in an RSS
    feed made the XML parser's recovery drop every entity after it, in every item: "$w > 1$"
    was stored as "$w 1$" and "R&D" as "RD", silently. (A raw control character was already
    read as a space; its reference is now too, an HTML entity its character, a bare & an &.)"""
    db = tmp_path / "lib"
    imported = run("import", "--create", str(CASES / feed), db=db)
    assert imported.returncode == 0, imported.stderr
    papers = {p["arxiv_id"]: p for p in json.loads(run("list", "--json", db=db).stdout)}
    assert papers["2606.40001"]["abstract"].endswith("when the width $w > 1$ grows with the data.")
    assert papers["2606.40002"]["title"] == "Learning Rates $\\eta < 2/L$ & R&D Budgets"
    assert papers["2606.40002"]["abstract"] == (
        "We show $a < b$ and $w > 1$ for every R&D setting we consider."
    )
    assert papers["2606.40001"]["title"] == first_title


def test_a_copy_with_an_abstract_is_none_of_two_papers_its_title_alone_matches(
    tmp_path: Path,
) -> None:
    """Two arXiv papers share a title, listed without abstracts (a /recent listing); a Hugging
    Face copy of that title (an abstract, 12 authors, no id) was merged into the first of
    them found: "Ana Lima (12 authors)", with an abstract that may be the other paper's. A
    copy without an abstract was already refused such a guess; so is one with an abstract."""
    db = tmp_path / "lib"
    listing = CASES / "listing-two-papers-one-title.html"
    imported = run("import", "--create", str(listing), str(CASES / "hf-text-that-title.txt"), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "hf-text: 1 found, 1 new, 0 merged" in imported.stdout, imported.stdout
    papers = {p["id"]: p for p in json.loads(run("list", "--json", db=db).stdout)}
    assert len(papers) == 3
    for aid in ("2606.07001", "2606.07002"):
        assert not papers[aid].get("abstract")
        assert not papers[aid].get("author_count")
    # One paper of that title: its copy merges, as before.
    db2 = tmp_path / "lib2"
    one = tmp_path / "one.html"
    text = listing.read_text(encoding="utf-8")
    one.write_text(text[: text.index("<dt>", text.index("</dd>"))] + "</dl></body></html>")
    imported = run("import", "--create", str(one), str(CASES / "hf-text-that-title.txt"), db=db2)
    assert "hf-text: 1 found, 0 new, 1 merged" in imported.stdout, imported.stdout


def test_an_rss_item_that_is_no_xml_costs_only_itself(tmp_path: Path) -> None:
    """A bare `<` or an unclosed `<br>` in one item's title: parsed whole, libxml2's recovery
    then dropped every entity after it ("$w > 1$" read as "$w 1$" in the other items, silently)
    or, for the `<`, every item ("no items in the arXiv RSS feed (1 malformed)"). Each item is
    now parsed on its own when the whole is no XML: the broken one is skipped, by its line."""
    db = tmp_path / "lib"
    imported = run("import", "--create", str(CASES / "rss-one-item-not-xml.rss"), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "1 found, 1 new, 0 merged, 0 already known, 1 skipped" in imported.stdout
    assert "skipped line 9: item is not well-formed XML" in imported.stdout, imported.stdout
    papers = json.loads(run("list", "--json", db=db).stdout)
    assert [p["arxiv_id"] for p in papers] == ["2606.40002"]
    assert papers[0]["title"] == "Learning Rates $\\eta < 2/L$ & R&D Budgets"
    assert papers[0]["abstract"] == "We show $a < b$ and $w > 1$ for every R&D setting we consider."


def test_an_atom_feed_that_xml_cannot_read_loses_no_letter(tmp_path: Path) -> None:
    """In an arXiv API answer, `&#27;` cost the letter after it ("Merge" read as "erge": the
    control and the next character read as an escape sequence), a bare `&` came back as
    "R&D;", an HTML entity (`&rsquo;`) as itself. The text is made well-formed first, as for
    RSS."""
    db = tmp_path / "lib"
    imported = run("import", "--create", str(CASES / "atom-bare-ampersand.xml"), db=db)
    assert imported.returncode == 0, imported.stderr
    paper = json.loads(run("show", "2606.18040", "--json", db=db).stdout)
    assert paper["title"] == "PixelFlow-R: Rectified Pixel-Space Flow Matching at 1024 for R&D Labs"
    assert paper["abstract"].startswith("Pixel-space flow matching avoids the autoencoder\u2019s ")


def test_tex_short_of_its_arguments_is_shown_as_written_and_says_nothing(
    tmp_path: Path,
) -> None:
    """`$\\frac{a}$` in a title: pylatexenc printed "WARNING: Error in configuration: macro
    '\\frac' failed its substitution!" on the standard error of `list`, `show` and `undo` (and
    of the app's first frame, drawn on the terminal before the app), and the title read
    "Ratios %s/%sa of …". Such math is shown as written; the rest is still made readable."""
    db = tmp_path / "lib"
    feed = CASES / "rss-tex-macro-short-of-arguments.rss"
    assert run("import", "--create", str(feed), db=db).returncode == 0
    listed = run("list", db=db)
    assert "WARNING" not in listed.stderr and "%s" not in listed.stdout
    assert "Ratios $\\frac{a}$ of Random Walks and 1/2-Stable Laws" in listed.stdout
    shown = run("show", "2606.50001", db=db)
    assert shown.returncode == 0
    assert "WARNING" not in shown.stderr and "%s" not in shown.stdout, shown.stderr
    assert "the ratio $\\frac{S_n}$ of a random walk" in shown.stdout


def test_forty_papers_whose_abstracts_share_300_characters_get_forty_ids(tmp_path: Path) -> None:
    """A paper without an arXiv id is named by a digest of its strongest key, the first 300
    characters of its abstract, made longer (8 to 40 digits) while taken: the 34th different
    paper sharing that opening found none ("not stored: papertui failed (RuntimeError: could
    not allocate a paper id)") and the whole feed was lost."""
    db = tmp_path / "lib"
    feed = CASES / "hf-text-40-papers-one-opening.txt"
    imported = run("import", "--create", str(feed), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "40 found, 40 new, 0 merged" in imported.stdout
    ids = [p["id"] for p in json.loads(run("list", "--json", db=db).stdout)]
    assert len(set(ids)) == 40
    assert all(re.fullmatch(r"p[0-9a-f]{8,40}", pid) for pid in ids)
    again = run("import", str(feed), db=db)
    assert "40 found, 0 new, 0 merged, 40 already known" in again.stdout


def test_two_digest_papers_with_one_placeholder_abstract_stay_two(tmp_path: Path) -> None:
    """A digest writes one placeholder for every paper it has no English abstract of: the
    second paper (another title, other authors) was dropped as "already known", its whole
    entry lost. A shared whole abstract is one paper unless the titles differ and the authors
    have no name in common; the first paper's title translated otherwise, by the same authors,
    is still the same paper."""
    db = tmp_path / "lib"
    feed = CASES / "digest-placeholder-abstract.txt"
    imported = run("import", "--create", str(feed), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "digest: 3 found, 2 new, 0 merged, 1 already known" in imported.stdout
    papers = json.loads(run("list", "--json", db=db).stdout)
    assert sorted(tuple(p["authors"]) for p in papers) == [
        ("Ana Lima", "Bo Chen"),
        ("Carla Diaz", "Dan Evans"),
    ]


def test_an_rss_abstract_that_names_html_tags_keeps_them(tmp_path: Path) -> None:
    """Today's arXiv RSS description is text ("arXiv:ID Announce Type: new Abstract: …"), but
    it was read as HTML whenever it held a tag's name: a web agent's abstract, "every <p>
    paragraph and <a href="x"> anchor", was stored as "every paragraph and anchor" (the
    listing of the same paper keeps them). Only an older feed's HTML paragraph is HTML."""
    db = tmp_path / "lib"
    feed = CASES / "rss-abstract-names-html-tags.rss"
    assert run("import", "--create", str(feed), db=db).returncode == 0
    paper = json.loads(run("show", "2606.60001", "--json", db=db).stdout)
    assert paper["abstract"] == (
        'We parse web pages: every <p> paragraph and <a href="x"> anchor, and the <b>bold</b> '
        "text, becomes a token for the model."
    )


def test_a_page_flooded_with_tags_is_refused_in_one_line_and_costs_no_other_input(
    tmp_path: Path,
) -> None:
    """BeautifulSoup takes ~600 bytes a tag: 2 MB of `<a/>` in an arXiv listing took 8 s and
    300 MB (an input-side adversary), so a 50 MB page of them would take gigabytes, and the
    other inputs of the command with it when the machine ran out. A page of more tags than
    `MAX_TAGS` is refused in one line naming it; a field of thousands (an Atom summary) is
    stripped without the parser. Oracle: the counts the CLI prints, the stored text."""
    from tui.feeds.base import MAX_TAGS, html_text

    feeds = Path(__file__).resolve().parents[1] / "data" / "feeds"
    page = (feeds / "arxiv-cs-cv-new-2026-06-19.html").read_text(encoding="utf-8")
    at = page.index("<dl id='articles'>")
    flood = tmp_path / "flood.html"
    flood.write_text(page[:at] + "<div>" + "<a/>" * (MAX_TAGS + 1) + "</div>" + page[at:])
    good = feeds / "hf-daily-papers.txt"
    done = run("import", "--create", str(flood), str(good), db=tmp_path / "lib")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"papertui: error: {flood}: ") and "too many for an arXiv" in line
    assert "82 found, 82 new" in done.stdout, done.stdout
    # (the same page without the flood is read as before)
    again = run("import", str(feeds / "arxiv-cs-cv-new-2026-06-19.html"), db=tmp_path / "lib")
    assert again.returncode == 0 and " new, " in again.stdout, again.stderr
    field = "<p>Flow &amp; matching " + "<a/>" * 20_000 + "<b>holds</b></p>"
    assert html_text(field) == "Flow & matching holds"
