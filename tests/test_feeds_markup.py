"""The markup feed formats: Hugging Face Daily Papers (HTML), arXiv listing (HTML), arXiv RSS."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tui.feeds import FeedError, ParseResult, decode, get_format, parse_bytes, parse_text
from tui.text import normalise

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
HF_HTML = FEEDS / "hf-daily-papers-2026-06-19.html"
ARXIV_HTML = FEEDS / "arxiv-cs-cv-new-2026-06-19.html"
ARXIV_RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
TODAY = date(2026, 11, 22)
SAMPLES = {HF_HTML: "hf-html", ARXIV_HTML: "arxiv-html", ARXIV_RSS: "arxiv-rss"}
TEXT_SAMPLES = sorted(FEEDS.glob("*.txt"))
HF_PROPS_MARKER = 'data-target="DailyPapers" data-props="'


def parse(path: Path, data: bytes | None = None) -> ParseResult:
    return parse_bytes(path.read_bytes() if data is None else data, str(path), today=TODAY)


def by_id(result: ParseResult) -> dict[str, Any]:
    return {p.arxiv_id: p for p in result.papers}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edit_hf_props(text: str, edit: Callable[[dict[str, Any]], None]) -> str:
    """Change the page's hydration JSON the way the site would have rendered it."""
    start = text.index(HF_PROPS_MARKER) + len(HF_PROPS_MARKER)
    end = text.index('"', start)
    props = json.loads(html.unescape(text[start:end]))
    edit(props)
    raw = html.escape(json.dumps(props, ensure_ascii=False, separators=(",", ":")), quote=True)
    return text[:start] + raw + text[end:]


def text_abstract(path: Path, after: str) -> str:
    """The first non-blank line after the line `after` in a text sample."""
    lines = read(path).split("\n")
    index = lines.index(after)
    return next(line for line in lines[index + 1 :] if line.strip())


def arxivdaily_abstract(aid: str) -> str:
    lines = read(FEEDS / "arxivdaily-image-generation.txt").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(aid + " "))
    marker = lines.index("英文摘要", start)
    return next(line for line in lines[marker + 1 :] if line.strip())


# --------------------------------------------------------------------------- D: HF HTML


def test_hf_html_sample() -> None:
    result = parse(HF_HTML)
    assert result.format == "hf-html"
    assert result.feed_date == "2026-06-19"
    assert result.skipped == []
    assert [p.arxiv_id for p in result.papers] == [
        "2606.17211",
        "2602.05605",
        "2507.03745",
        "2606.18040",
        "2602.04979",
        "2406.01125",
    ]
    assert [p.upvotes for p in result.papers] == [57, 23, 21, 12, 9, 6]
    assert [p.num_comments for p in result.papers] == [3, 1, 5, 0, 2, 0]
    assert all(p.feed_date == "2026-06-19" for p in result.papers)
    papers = by_id(result)

    merge = papers["2606.17211"]
    assert merge.title == (
        "Merge & Flow: Training-Free Token Merging for Video Diffusion Transformers"
    )
    assert merge.organization == "NVIDIA"
    assert merge.code_url == "https://github.com/NVlabs/MergeFlow"
    assert merge.paper_date == "2026-06-17"
    assert merge.hf_url == "https://huggingface.co/papers/2606.17211"
    assert merge.abs_url == "https://arxiv.org/abs/2606.17211"
    assert merge.pdf_url == "https://arxiv.org/pdf/2606.17211"
    assert merge.keywords[:2] == ["video diffusion transformers", "token merging"]
    assert merge.ai_summary.startswith("Merge & Flow merges redundant")
    assert "$O(N^2)$" in merge.abstract and "with <0.5 change" in merge.abstract
    assert merge.authors == [
        "Hannah Kerr",
        "Rohan Mehta",
        "Qiang Li",
        "Sofia Alvarez",
        "Daniel Okafor",
    ]

    ssg = papers["2602.04979"]
    assert ssg.code_url == "https://github.com/Youngwoo-git/SSG"
    assert ssg.organization == ""
    assert ssg.authors == ["Youngwoo Shin", "Jiwan Hur", "Junmo Kim"]
    assert ssg.paper_date == "2026-02-04"

    shiva = papers["2602.05605"]
    assert len(shiva.authors) == 12 and shiva.authors[0] == "Jiaji Zhang"
    assert shiva.code_url == "" and shiva.organization == ""

    stream = papers["2507.03745"]
    assert stream.paper_date == "2025-07-04"
    # The summary's own markup is text: kept literally, unescaped exactly once.
    assert stream.abstract.endswith(
        '<a href="https://cumulo-autumn.github.io/StreamDiT/">this https URL.</a>'
    )
    assert papers["2606.18040"].authors[:2] == ["José Ramírez", "Zoë Brandt"]
    assert papers["2406.01125"].title.startswith("Δ-DiT: ")


def test_hf_html_lines_point_at_the_cards() -> None:
    lines = read(HF_HTML).split("\n")
    result = parse(HF_HTML)
    numbers = [p.line for p in result.papers]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for paper in result.papers:
        assert paper.line is not None
        assert lines[paper.line - 1].strip().startswith("<article")
        assert f'href="/papers/{paper.arxiv_id}"' in lines[paper.line]


def test_hf_html_overlaps_the_text_samples() -> None:
    papers = by_id(parse(HF_HTML))
    digest_lines = read(FEEDS / "digest-dit-acceleration.txt").split("\n")
    shiva_text, ssg_text = (
        digest_lines[i + 1] for i, line in enumerate(digest_lines[:14]) if line == "查看原文摘要"
    )
    assert shiva_text.startswith("Diffusion Transformers (DiTs) incur")
    # Same abstract, different LaTeX: "1.54$\\times$" in the digest, "1.54times" on HF.
    assert "1.54$\\times$" in shiva_text and "1.54times" in papers["2602.05605"].abstract
    assert normalise(papers["2602.05605"].abstract) == normalise(shiva_text)
    assert ssg_text.startswith("Visual autoregressive (VAR) models")
    assert papers["2602.04979"].abstract == ssg_text

    hf_text = read(FEEDS / "hf-daily-papers.txt").split("\n")
    stream = papers["2507.03745"]
    assert stream.title in hf_text
    assert stream.abstract == text_abstract(FEEDS / "hf-daily-papers.txt", stream.title)
    delta = papers["2406.01125"]
    delta_text = text_abstract(FEEDS / "hf-daily-papers.txt", delta.title)
    assert "1.6times" in delta_text and "1.6$\\times$" in delta.abstract
    assert normalise(delta.abstract) == normalise(delta_text)


def test_hf_html_gb18030_without_charset_gives_identical_papers(tmp_path: Path) -> None:
    text = read(HF_HTML)
    assert '<meta charset="utf-8" />' in text
    data = text.replace('<meta charset="utf-8" />', "").encode("gb18030")
    assert b"charset" not in data.lower()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = tmp_path / "daily.html"
    path.write_bytes(data)
    original = parse(HF_HTML)
    recoded = parse(path)
    assert recoded.format == "hf-html"
    assert recoded.feed_date == original.feed_date
    assert [p.to_dict() for p in recoded.papers] == [p.to_dict() for p in original.papers]
    assert [p.line for p in recoded.papers] == [p.line for p in original.papers]


def test_hf_html_paper_without_title_is_skipped(tmp_path: Path) -> None:
    def drop_title(props: dict[str, Any]) -> None:
        item = props["dailyPapers"][2]
        del item["paper"]["title"]
        del item["title"]

    path = write(tmp_path, "daily.html", edit_hf_props(read(HF_HTML), drop_title))
    original = by_id(parse(HF_HTML))
    result = parse(path)
    assert len(result.papers) == 5
    assert "2507.03745" not in by_id(result)
    assert len(result.skipped) == 1
    skipped = result.skipped[0]
    assert skipped.line == original["2507.03745"].line
    assert "2507.03745" in skipped.reason and "title" in skipped.reason


def test_hf_html_truncated_json_is_cut_off(tmp_path: Path) -> None:
    text = read(HF_HTML)
    start = text.index(HF_PROPS_MARKER) + len(HF_PROPS_MARKER)
    end = text.index('"', start)
    cut = text[:start] + text[start : (start + end) // 2] + text[end:]
    path = write(tmp_path, "daily-cut-json.html", cut)
    with pytest.raises(FeedError) as err:
        parse(path)
    assert str(path) in str(err.value)
    assert "cut off" in str(err.value) and "expected" in str(err.value)


def test_hf_html_without_papers_is_an_error(tmp_path: Path) -> None:
    def empty(props: dict[str, Any]) -> None:
        props["dailyPapers"] = []

    path = write(tmp_path, "empty.html", edit_hf_props(read(HF_HTML), empty))
    with pytest.raises(FeedError) as err:
        parse(path)
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------- E: arXiv listing


def test_arxiv_html_sample() -> None:
    result = parse(ARXIV_HTML)
    assert result.format == "arxiv-html"
    assert result.feed_date == "2026-06-19"
    assert result.skipped == []
    assert [(p.arxiv_id, p.announce_type) for p in result.papers] == [
        ("2606.18765", "new"),
        ("2606.18802", "new"),
        ("2606.19030", "new"),
        ("2606.19162", "cross"),
        ("2606.19163", "cross"),
        ("2605.11873", "replace"),
        ("2604.09921", "replace"),
    ]
    assert all(p.feed_date == "2026-06-19" for p in result.papers)
    papers = by_id(result)

    spectral = papers["2606.18765"]
    assert spectral.title == (
        "SpectralDiT: Timestep-Conditioned Spectral Residual Correction for Flow-Matching DiTs"
    )
    assert spectral.authors == ["Jiayu Tian"]
    assert spectral.categories == ["cs.CV"]
    assert spectral.comments == ""
    assert spectral.abs_url == "https://arxiv.org/abs/2606.18765"
    assert spectral.pdf_url == "https://arxiv.org/pdf/2606.18765"

    reward = papers["2606.19162"]
    assert reward.categories == ["cs.LG", "cs.CV"]
    assert reward.comments == "84 pages, including appendices"
    assert reward.authors[0] == "Nicolas Beltran-Velez" and len(reward.authors) == 7
    assert "$\\ell_2$" in reward.abstract

    pulse = papers["2606.19163"]
    assert pulse.categories == ["cs.DC", "cs.CV", "cs.LG"]
    assert pulse.comments == (
        "Accepted by International Conference on Distributed Computing Systems(ICDCS'26)"
    )

    corr = papers["2606.18802"]
    assert corr.authors[0] == "Mélanie Durand"  # sent as an entity, decoded once
    assert corr.categories == ["cs.CV", "cs.AI"]
    assert corr.comments.startswith("CVPR 2026 Workshop")
    assert "$\\mathcal{O}(HW)$" in corr.abstract and "pose estimation & 3D" in corr.abstract

    edit = papers["2606.19030"]
    assert edit.categories == ["cs.CV", "cs.GR", "cs.MM"]
    assert edit.comments == "Project page: https://keyprop-video.github.io/"  # (the link kept)
    assert "conditioned on <keyframe, flow> pairs" in edit.abstract

    scale = papers["2605.11873"]
    assert scale.abstract == ""  # replacements are listed without their abstract
    assert scale.comments == "v2: added ImageNet 512$\\times$512 results; 21 pages, 12 figures"
    assert papers["2604.09921"].categories == ["cs.LG", "cs.CV", "stat.ML"]
    assert papers["2604.09921"].comments == ""
    assert not any(p.title.startswith("Title") for p in result.papers)


def test_arxiv_html_lines_point_at_the_entries() -> None:
    lines = read(ARXIV_HTML).split("\n")
    for paper in parse(ARXIV_HTML).papers:
        assert paper.line is not None
        assert lines[paper.line - 1].strip() == "<dt>"
        assert f'href ="/abs/{paper.arxiv_id}"' in lines[paper.line + 1]


def test_arxiv_html_entry_without_title_is_skipped(tmp_path: Path) -> None:
    text = read(ARXIV_HTML)
    title = (
        "        <div class='list-title mathjax'><span class='descriptor'>Title:</span>\n"
        "          Edit Once, Propagate Everywhere: Consistent Video Editing with Sparse "
        "Keyframe Diffusion\n"
        "        </div>\n"
    )
    assert title in text
    path = write(tmp_path, "listing.html", text.replace(title, ""))
    original = by_id(parse(ARXIV_HTML))
    result = parse(path)
    assert len(result.papers) == 6
    assert "2606.19030" not in by_id(result)
    assert [(s.line, "2606.19030" in s.reason) for s in result.skipped] == [
        (original["2606.19030"].line, True)
    ]
    # The entries after the malformed one keep their sections.
    assert by_id(result)["2606.19162"].announce_type == "cross"


def test_arxiv_html_without_entries_is_an_error(tmp_path: Path) -> None:
    text = read(ARXIV_HTML)
    start = text.index("  <dl id='articles'>")
    end = text.rindex("  </dl>") + len("  </dl>")
    path = write(tmp_path, "listing.html", text[:start] + text[end:])
    with pytest.raises(FeedError) as err:
        parse(path)
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------- F: arXiv RSS


def test_arxiv_rss_sample() -> None:
    result = parse(ARXIV_RSS)
    assert result.format == "arxiv-rss"
    assert result.feed_date == "2026-06-19"
    assert result.skipped == []
    assert [(p.arxiv_id, p.announce_type) for p in result.papers] == [
        ("2606.18765", "new"),
        ("2606.18802", "new"),
        ("2606.19162", "cross"),
        ("2606.19163", "cross"),
        ("2606.19151", "cross"),
        ("2605.11873", "replace"),
        ("2604.09921", "replace-cross"),
    ]
    assert all(p.paper_date == "2026-06-19" for p in result.papers)
    assert all(p.feed_date == "2026-06-19" for p in result.papers)
    papers = by_id(result)

    pulse = papers["2606.19163"]
    assert pulse.categories == ["cs.DC", "cs.CV", "cs.LG"]
    assert len(pulse.authors) == 11
    assert pulse.authors[0] == "Boran Sun" and pulse.authors[-1] == "Bo Li"
    assert pulse.abs_url == "https://arxiv.org/abs/2606.19163"
    assert pulse.pdf_url == "https://arxiv.org/pdf/2606.19163"
    assert not pulse.abstract.startswith(("arXiv:", "Abstract"))

    assert papers["2606.19151"].title == (
        "The Market in the Model: Latent Diffusion as Neural Economy"
    )
    assert papers["2606.19151"].categories == ["cs.CY", "cs.CV"]
    assert papers["2606.19151"].authors == ["Eryk Salvaggio"]
    assert papers["2606.18802"].authors[:2] == ["Mélanie Durand", "Tomás Novák"]
    assert "pose estimation & 3D" in papers["2606.18802"].abstract
    # Unlike the listing, the feed carries abstracts of replacements.
    assert papers["2605.11873"].abstract.startswith("Visual autoregressive (VAR) models")
    assert papers["2604.09921"].categories == ["cs.LG", "cs.CV", "stat.ML"]


def test_arxiv_rss_lines_point_at_the_items() -> None:
    lines = read(ARXIV_RSS).split("\n")
    for paper in parse(ARXIV_RSS).papers:
        assert paper.line is not None
        assert lines[paper.line - 1].strip() == "<item>"
        assert f"/abs/{paper.arxiv_id}<" in lines[paper.line + 1]


def test_arxiv_rss_items_without_title_or_link_are_skipped(tmp_path: Path) -> None:
    text = read(ARXIV_RSS)
    no_link = "      <link>https://arxiv.org/abs/2606.19162</link>\n"
    no_title = "      <title>Scale-Wise Distillation of Visual Autoregressive Models</title>\n"
    assert no_link in text and no_title in text
    path = write(tmp_path, "feed.rss", text.replace(no_link, "").replace(no_title, ""))
    original = by_id(parse(ARXIV_RSS))
    result = parse(path)
    assert len(result.papers) == 5
    assert set(by_id(result)) == set(original) - {"2606.19162", "2605.11873"}
    assert [s.line for s in result.skipped] == [
        original["2606.19162"].line,
        original["2605.11873"].line - 1,  # one line removed above it
    ]
    assert "link" in result.skipped[0].reason and "title" in result.skipped[1].reason


def test_arxiv_rss_without_items_is_an_error(tmp_path: Path) -> None:
    text = read(ARXIV_RSS)
    start = text.index("    <item>")
    end = text.rindex("</item>\n") + len("</item>\n")
    path = write(tmp_path, "feed.rss", text[:start] + text[end:])
    with pytest.raises(FeedError) as err:
        parse(path)
    assert str(path) in str(err.value)


def test_arxiv_feeds_overlap_the_arxivdaily_sample() -> None:
    listing = by_id(parse(ARXIV_HTML))
    rss = by_id(parse(ARXIV_RSS))
    for aid in ("2606.19162", "2606.18765", "2606.19163"):
        expected = arxivdaily_abstract(aid)
        assert listing[aid].abstract == expected
        assert rss[aid].abstract == expected
        assert listing[aid].title == rss[aid].title
    assert rss["2606.19151"].abstract == arxivdaily_abstract("2606.19151")


# --------------------------------------------------------------------------- all three


@pytest.mark.parametrize("path", list(SAMPLES), ids=lambda p: p.name)
def test_detection_ignores_the_file_name(path: Path) -> None:
    text = decode(path.read_bytes(), str(path))
    for origin in ("<clipboard>", "feed.txt", "papers.rss", "page.html"):
        result = parse_text(text, origin, today=TODAY)
        assert result.format == SAMPLES[path]
        assert len(result.papers) == len(parse(path).papers)


@pytest.mark.parametrize("path", TEXT_SAMPLES + list(SAMPLES), ids=lambda p: p.name)
def test_sniff_only_claims_its_own_markup(path: Path) -> None:
    text = decode(path.read_bytes(), str(path))
    for name in SAMPLES.values():
        fmt = get_format(name)
        assert fmt is not None
        score = fmt.sniff(text)
        if SAMPLES.get(path) == name:
            assert score >= 0.9
        else:
            assert score < 0.1, (name, path.name)


@pytest.mark.parametrize("path", list(SAMPLES), ids=lambda p: p.name)
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.8, 0.999])
def test_truncated_sample_is_cut_off(tmp_path: Path, path: Path, keep: float) -> None:
    data = path.read_bytes()
    cut = tmp_path / f"cut-{path.name}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FeedError) as err:
        parse(cut)
    message = str(err.value)
    assert message.startswith(f"{cut}:")
    assert "cut off" in message


def test_markup_is_unescaped_exactly_once(tmp_path: Path) -> None:
    def rename(props: dict[str, Any]) -> None:
        props["dailyPapers"][0]["paper"]["title"] = "Tom &amp; Jerry &lt;b&gt;"
        props["dailyPapers"][0]["paper"]["summary"] = "\x1b[31mred\x1b[0m [bold]x[/bold]"

    hf = parse(write(tmp_path, "hf.html", edit_hf_props(read(HF_HTML), rename)))
    assert hf.papers[0].title == "Tom &amp; Jerry &lt;b&gt;"
    assert hf.papers[0].abstract == "red [bold]x[/bold]"

    listing_text = read(ARXIV_HTML).replace(
        "SpectralDiT: Timestep-Conditioned", "Spectral&amp;amp;DiT &amp;lt;i&amp;gt;", 1
    )
    listing = parse(write(tmp_path, "listing.html", listing_text))
    assert listing.papers[0].title.startswith("Spectral&amp;DiT &lt;i&gt; Spectral Residual")

    rss_text = read(ARXIV_RSS).replace(
        "<title>SpectralDiT: Timestep-Conditioned",
        "<title>Spectral&amp;amp;DiT &amp;lt;i&amp;gt;",
        1,
    )
    rss = parse(write(tmp_path, "feed.rss", rss_text))
    assert rss.papers[0].title.startswith("Spectral&amp;DiT &lt;i&gt; Spectral Residual")


def test_arxiv_html_older_layout_with_sections_outside_the_list() -> None:
    page = """<!DOCTYPE html>
<html><head><title>Computer Vision and Pattern Recognition authors/titles "new"</title></head>
<body><div id="dlpage"><h1>Computer Vision and Pattern Recognition</h1>
<h2>New submissions</h2>
<h3>New submissions for Fri, 19 Jun 26</h3>
<dl>
<dt><a name="item1">[1]</a>&nbsp; <span class="list-identifier"><a href="/abs/2606.18765" \
title="Abstract">arXiv:2606.18765</a> [<a href="/pdf/2606.18765" title="Download PDF">pdf</a>]\
</span></dt>
<dd><div class="meta"><div class="list-title mathjax"><span class="descriptor">Title:</span> \
SpectralDiT</div>
<div class="list-authors"><span class="descriptor">Authors:</span> \
<a href="/a/tian_j_1">Jiayu Tian</a></div>
<div class="list-subjects"><span class="descriptor">Subjects:</span> \
<span class="primary-subject">Computer Vision and Pattern Recognition (cs.CV)</span></div>
<p class="mathjax">Abstract one.</p></div></dd>
</dl>
<h3>Cross-lists for Fri, 19 Jun 26</h3>
<dl>
<dt><a name="item2">[2]</a>&nbsp; <span class="list-identifier"><a href="/abs/2606.19162" \
title="Abstract">arXiv:2606.19162</a> (cross-list from cs.LG)</span></dt>
<dd><div class="meta"><div class="list-title mathjax"><span class="descriptor">Title:</span> \
The Reward</div>
<div class="list-subjects"><span class="descriptor">Subjects:</span> \
<span class="primary-subject">Machine Learning (cs.LG)</span>; \
Computer Vision and Pattern Recognition (cs.CV)</div></div></dd>
</dl>
<h3>Replacements for Fri, 19 Jun 26</h3>
<dl>
<dt><a name="item3">[3]</a>&nbsp; <span class="list-identifier"><a href="/abs/2605.11873" \
title="Abstract">arXiv:2605.11873</a> (replaced)</span></dt>
<dd><div class="meta"><div class="list-title mathjax"><span class="descriptor">Title:</span> \
Scale-Wise Distillation</div></div></dd>
</dl></div></body></html>
"""
    result = parse_text(page, "old.html", today=TODAY)
    assert result.format == "arxiv-html"
    assert result.feed_date == "2026-06-19"
    assert [(p.arxiv_id, p.announce_type, p.title) for p in result.papers] == [
        ("2606.18765", "new", "SpectralDiT"),
        ("2606.19162", "cross", "The Reward"),
        ("2605.11873", "replace", "Scale-Wise Distillation"),
    ]
    assert result.papers[0].authors == ["Jiayu Tian"]
    assert result.papers[1].categories == ["cs.LG", "cs.CV"]
