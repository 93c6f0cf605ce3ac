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
