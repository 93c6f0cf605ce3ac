"""arXiv RSS as served before 2024 (tests/cases/rss-legacy.rss and variations): the id
and category in the title, HTML links in dc:creator, an HTML paragraph as the description,
UPDATED for a new version. Expected values written here by hand."""

from __future__ import annotations

from pathlib import Path

from tui.feeds import parse_bytes
from tui.library import Library

from .conftest import import_files

LEGACY = Path(__file__).parent / "cases" / "rss-legacy.rss"


def test_legacy_rss_reads_as_plain_names_titles_and_abstracts() -> None:
    first, second = parse_bytes(LEGACY.read_bytes(), str(LEGACY)).papers
    assert first.title == "Token Merging for Fast Stable Diffusion Sampling"
    assert first.authors == ["Ana Lima", "Bo Chen"]
    assert first.abstract == (
        "We merge redundant tokens inside the denoising network and unmerge them before the "
        "output layer, which speeds up sampling with little loss in quality."
    )
    assert first.categories == ["cs.CV"] and first.arxiv_version == 1
    assert second.title == "Calibrated Uncertainty for Segmentation Ensembles"
    assert second.authors == ["Dmitri Orlov"]
    assert (second.announce_type, second.arxiv_version) == ("replace", 2)
    assert not any("<" in p.abstract or "href" in " ".join(p.authors) for p in (first, second))


def test_markup_variations_of_the_legacy_shape(tmp_path: Path) -> None:
    """Italics and breaks in the description, an affiliation after a linked name, a title
    whose own text holds parentheses, a sub-category list in the suffix."""
    text = LEGACY.read_text(encoding="utf-8")
    text = text.replace(
        "Token Merging for Fast Stable Diffusion Sampling. (arXiv:2312.04001v1 [cs.CV])",
        "Token Merging (ToMe) for SD. (arXiv:2312.04001v3 [cs.CV cs.LG] UPDATED)",
    )
    text = text.replace(
        "&lt;p&gt;We merge redundant tokens",
        "&lt;p&gt;We &lt;i&gt;merge&lt;/i&gt; redundant&lt;br/&gt;tokens",
    )
    text = text.replace("Dmitri Orlov&lt;/a&gt;", "Dmitri Orlov&lt;/a&gt; (ETH Zurich), Eve Adams")
    path = tmp_path / "legacy.rss"
    path.write_text(text, encoding="utf-8")
    first, second = parse_bytes(path.read_bytes(), str(path)).papers
    assert first.title == "Token Merging (ToMe) for SD"
    assert first.categories == ["cs.CV", "cs.LG"]
    assert (first.announce_type, first.arxiv_version) == ("replace", 3)
    assert first.abstract.startswith("We merge redundant tokens inside")
    assert second.authors == ["Dmitri Orlov", "Eve Adams"]
    assert second.institutions == "ETH Zurich"


def test_a_legacy_paper_is_found_by_its_plain_author_name(empty_library: Library) -> None:
    """The link markup is gone from what is stored and searched."""
    import_files(empty_library, [LEGACY])
    (pid,) = empty_library.query("2312.04001")
    assert empty_library.get(pid).title == "Token Merging for Fast Stable Diffusion Sampling"
    assert empty_library.query('author:"ana lima"') == [pid]
