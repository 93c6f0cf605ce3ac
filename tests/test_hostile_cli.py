"""Hostile feed text through ingest, the CLI's Rich output and the Markdown export."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt

from tui.text import clean, clean_line

from .hostile import HOSTILE, hostile_feed
from .test_cli import run


def test_clean_removes_every_escape_and_control() -> None:
    for raw in HOSTILE:
        cleaned = clean(raw)
        assert not any(ord(c) < 32 and c not in "\t\n" for c in cleaned)
        assert not any(0x7F <= ord(c) < 0xA0 for c in cleaned)
        assert "\u202e" not in cleaned and "\u2066" not in cleaned
    assert clean("\x1b]52;c;ZXZpbA==\x07clip") == "clip"
    assert clean("\x1b[2J\x1b[Hcleared") == "cleared"
    assert clean("nul\x00x") == "nulx"
    assert clean("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"  # brackets stay literal


def test_hostile_titles_are_stored_sanitised_and_printed_literally(tmp_path: Path) -> None:
    feed, titles = hostile_feed(tmp_path)
    db = tmp_path / "lib"
    result = run("import", str(feed), db=db)
    assert result.returncode == 0, result.stderr
    records = json.loads(run("list", "--json", db=db).stdout)
    stored = {r["title"] for r in records}
    assert {clean_line(t) for t in titles} <= stored
    listing = run("list", "--sort", "title", db=db)
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    out = listing.stdout
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    flat = " ".join(out.split())
    for literal in ("[/]", "[bold]bold[/bold]", "[@click=app.quit]x[/]", "[link=https://evil"):
        assert literal in flat
    assert ":smile:" in flat and "T11 cleared end" in flat


def test_hostile_titles_are_escaped_in_markdown(tmp_path: Path) -> None:
    feed, titles = hostile_feed(tmp_path)
    db = tmp_path / "lib"
    run("import", str(feed), db=db)
    ids = [r["id"] for r in json.loads(run("list", "--json", db=db).stdout)]
    run("star", *ids, db=db)
    markdown = run("export", db=db).stdout
    html = MarkdownIt("commonmark").render(markdown)
    assert "<script>" not in html and 'href="https://evil' not in html
    md = MarkdownIt("commonmark")
    tokens = md.parse(markdown)
    headings = [
        tok.content
        for prev, tok in zip(tokens, tokens[1:], strict=False)
        if tok.type == "inline" and prev.tag == "h3"
    ]
    rendered = {md.renderInline(h) for h in headings}
    for title in titles:
        shown = clean_line(title)
        escaped = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace('"', "&quot;")
        assert escaped in rendered, shown[:60]
