"""Links inside an abstract or the comments (issue 12): arXiv's listing writes "Project page:
<a href=…>this https URL</a>"; the address is what the text keeps, and the paper's links list
it (the detail's Links, the export), never the placeholder words alone."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from tui.export import export_markdown, links_of
from tui.feeds import parse_bytes
from tui.library import Library
from tui.models import Paper, PaperState

from .conftest import FEEDS, import_files
from .test_app import build, goto, settle

LISTING = FEEDS / "arxiv-cs-cv-new-2026-06-19.html"


def _keyprop(path: Path) -> Paper:
    return next(p for p in parse_bytes(path.read_bytes(), "x").papers if p.arxiv_id == "2606.19030")


def test_the_listings_link_is_kept_as_its_address() -> None:
    paper = _keyprop(LISTING)
    assert paper.comments == "Project page: https://keyprop-video.github.io/"
    assert ("keyprop-video.github.io", "https://keyprop-video.github.io/") in links_of(paper)


def test_a_link_with_words_of_its_own_keeps_both(tmp_path: Path) -> None:
    page = LISTING.read_text(encoding="utf-8").replace(
        'class="link-external link-https">this https URL</a>',
        'class="link-external link-https">our demo site</a>',
    )
    path = tmp_path / "listing.html"
    path.write_text(page, encoding="utf-8")
    paper = _keyprop(path)
    assert paper.comments == "Project page: our demo site (https://keyprop-video.github.io/)"


def test_links_named_in_the_text_are_listed_once() -> None:
    paper = Paper(
        arxiv_id="2606.00001",
        code_url="https://github.com/a/b",
        abstract="Code is available at https://github.com/a/b. Data: https://data.example.org/x).",
    )
    assert links_of(paper) == [
        ("arXiv", "https://arxiv.org/abs/2606.00001"),
        ("PDF", "https://arxiv.org/pdf/2606.00001"),
        ("Code", "https://github.com/a/b"),
        ("data.example.org", "https://data.example.org/x"),
    ]
    html = MarkdownIt("commonmark").render(export_markdown([(paper, PaperState())]))
    assert '<a href="https://data.example.org/x">data.example.org</a>' in html


async def test_the_detail_pane_lists_the_project_page(
    empty_library: Library, tmp_path: Path
) -> None:
    import_files(empty_library, [LISTING])
    pid = empty_library.resolve("2606.19030")
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, pid)
        await settle(pilot, 0.3)
        links = app.detail.text.split("Links", 1)[1]
        assert "https://keyprop-video.github.io/" in links
        for line in links.splitlines():  # a long host never runs into its address
            if "http" in line:
                label = line[: line.index("http")]
                assert label.endswith(" ") and len(label) == 13, line


def test_addresses_that_are_not_addresses_are_not_links() -> None:
    """Feed text is anything: 'http://[x' made urlsplit raise inside the detail pane."""
    paper = Paper(abstract="see http://[x and http://[::1 and https://ok.example/a, ok")
    assert links_of(paper) == [("ok.example", "https://ok.example/a")]


async def test_anchors_written_into_a_summary_show_as_their_address(
    empty_library: Library, tmp_path: Path
) -> None:
    """The HF page's StreamDiT summary carries arXiv's anchor as text; the detail pane shows
    the address (and the Links list it), the stored text keeps what the feed wrote."""
    from tui.text import readable_links

    import_files(empty_library, [FEEDS / "hf-daily-papers-2026-06-19.html"])
    pid = empty_library.resolve("2507.03745")
    stored = empty_library.get(pid).abstract
    assert stored.endswith(
        '<a href="https://cumulo-autumn.github.io/StreamDiT/">this https URL.</a>'
    )
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, pid)
        await settle(pilot, 0.3)
        abstract = app.detail.text.split("Abstract", 1)[1]
        assert "https://cumulo-autumn.github.io/StreamDiT/." in abstract and "<a " not in abstract
    assert readable_links('<a href="javascript:x()">click</a> me') == "click me"
    assert (
        readable_links('<a href="https://a.example">our site</a>') == "our site (https://a.example)"
    )
