"""Markdown export pieces: escaping, links, authors, provenance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from markdown_it import MarkdownIt

from tui.export import authors_line, md_escape, md_url, paper_line, seen_in
from tui.feeds import formats
from tui.models import BADGES, Paper, Source, badge


def _render_inline(text: str) -> str:
    return MarkdownIt("commonmark").renderInline(text)


def test_escaped_text_renders_as_itself() -> None:
    for raw in ["*bold* | <script>", "- item", "12. x", "a_b_c", "[x](javascript:y)", "`code`"]:
        html = _render_inline(md_escape(raw))
        plain = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert html == plain, raw
    assert "\n" not in md_escape("two\nlines")


def test_only_http_links_and_parentheses_are_encoded() -> None:
    assert md_url("javascript:alert(1)") is None and md_url("file:///etc/passwd") is None
    assert md_url("https://x.org/a (b)") == "https://x.org/a%20%28b%29"


def test_authors_line_uses_the_stated_count() -> None:
    paper = Paper(authors=["A", "B"], author_count=12)
    assert authors_line(paper) == "A, B +10 more"
    assert authors_line(Paper(author_count=8)) == "8 authors"
    assert authors_line(Paper(organization="nvidia NVIDIA")) == "nvidia NVIDIA"


def test_seen_in_lists_each_badge_and_date_once() -> None:
    paper = Paper(
        sources=[
            Source("arxiv-rss", "a.rss", "2026-06-19"),
            Source("arxiv-html", "a.html", "2026-06-19"),
            Source("arxivdaily", "d.txt", "2026-06-18"),
        ]
    )
    assert seen_in(paper) == ["arXiv (2026-06-19)", "arXivDaily (2026-06-18)"]


def test_the_badge_table_is_each_parsers_own_badge() -> None:
    """Rows take badges from a table (no parser imported to draw one): it names every
    format, with the badge its parser declares."""
    assert BADGES == {fmt.name: fmt.badge for fmt in formats()}
    assert badge("some-future-format") == "some-future-format"


def test_paper_line_links_the_abs_page() -> None:
    paper = Paper(arxiv_id="2606.18765", title="A *title*", authors=["X", "Y", "Z", "W"])
    line = paper_line(paper)
    assert line == "[A \\*title\\*](https://arxiv.org/abs/2606.18765) — X, Y, Z +1 more"


def test_more_authors_counts_people_not_the_collaboration(tmp_path: Path) -> None:
    """The listing names a collaboration and 3 people, then "(2912 additional authors not
    shown)": the line shows those 4 names and exactly the 2,912 people the page left out."""
    db = str(tmp_path / "lib")
    case = Path(__file__).parent / "cases" / "listing-et-al.html"
    run = [sys.executable, "-m", "tui"]
    subprocess.run([*run, "import", str(case), "--db", db], check=True, capture_output=True)
    out = subprocess.run(
        [*run, "export", "--all", "--db", db], check=True, capture_output=True, text=True
    ).stdout
    assert "+2912 more" in out


def test_a_tag_with_a_space_is_shown_whole_in_the_markdown_export(tmp_path: Path) -> None:
    """Found by an adversary: the "Also in" line wrote the tag `to read` as `\\#to read`, which
    reads as the tag `to` and a word (and `ml, theory` as two tags). Each tag is now written as
    papertui shows it everywhere, in quotes when it holds a space, a comma or a quote
    (`#"to read"`, a quote doubled), and still escaped. Oracle: the file read as text,
    expected line written by hand, and CommonMark's rendering of it."""
    db = str(tmp_path / "lib")
    feed = Path(__file__).parent.parent / "data" / "feeds" / "hf-daily-papers.txt"
    run = [sys.executable, "-m", "tui"]
    subprocess.run(
        [*run, "import", str(feed), "--create", "--db", db], check=True, capture_output=True
    )
    listed = subprocess.run(
        [*run, "list", "--limit", "1", "--db", db], check=True, capture_output=True, text=True
    )
    pid = listed.stdout.split()[1]
    tags = 'first, "to read", "ml, theory", "say ""hi""", *x*, "[b]"'
    for command in (["tag", pid, "--add", tags], ["star", pid]):
        subprocess.run([*run, *command, "--db", db], check=True, capture_output=True)
    out = tmp_path / "list.md"
    subprocess.run([*run, "export", "-o", str(out), "--db", db], check=True, capture_output=True)
    text = out.read_text(encoding="utf-8")
    expected = (
        '- **Also in:** \\#"to read", \\#"ml, theory", \\#"say ""hi""", \\#\\*x\\*, \\#\\[b\\]'
    )
    assert expected in text.splitlines(), text
    assert "## first" in text.splitlines()
    assert _render_inline(expected.removeprefix("- ")) == (
        "<strong>Also in:</strong> #&quot;to read&quot;, #&quot;ml, theory&quot;, "
        "#&quot;say &quot;&quot;hi&quot;&quot;&quot;, #*x*, #[b]"
    )
