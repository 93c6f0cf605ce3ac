"""A tag with a space is shown quoted wherever tags are listed (`#"to read"`, as the tag
editor and the search language write it), never as `#to read` (the tag `to` and a word)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from tui.library import Library

from .test_app import SIZE, build, detail_text, goto, row, toasts
from .test_cli import run

SHOWN = '#"to read" #cv'  # what the user reads: two tags, the first of two words


async def test_a_tag_with_a_space_reads_as_one_tag(sample_library: Library, tmp_path: Path) -> None:
    lib = sample_library
    pid = lib.query("")[3]
    lib.set_state([pid], "tag", tags=["to read", "cv"])
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")  # all papers
        await goto(pilot, pid)
        assert SHOWN in row(app) and "#to read" not in row(app)
        assert SHOWN in detail_text(app) and "#to read" not in detail_text(app)
        await pilot.press("t")  # the tag dialog writes it the same way (without the #)
        await pilot.pause()
        assert app.screen.query_one("#tag-input", Input).value == '"to read", cv, '
        await pilot.press("end", *' "x y"', "enter")
        await pilot.pause()
        assert 'Tags: #"to read" #cv #"x y"' in toasts(app)
        await pilot.press("u")
        await pilot.pause()
        assert any(m.startswith('Undone: tag #"x y" on “') for m in toasts(app)), toasts(app)
        # the search names it as shown: tag:"to read" finds it (and only what holds it)
        await pilot.press("/", *'tag:"to read"', "enter")
        await pilot.pause()
        assert list(app.paper_list.ids) == [pid]
    assert lib.state(pid).tags == ["to read", "cv"]  # the stored text is unchanged
    listed = run("list", "--tag", "to read", db=lib.root)
    assert listed.returncode == 0, listed.stderr
    assert SHOWN in listed.stdout and "#to read" not in listed.stdout


def test_a_tag_with_a_quote_is_searched_as_it_is_shown(sample_library: Library) -> None:
    """Found as a known defect: the tag `a"b` is shown `#"a""b"` (a quote doubled, as the
    tag editor writes it), but `tag:"a""b"` found nothing (only `tag:'a"b'` did). The
    search reads a doubled quote in quoted text as one quote, as the tag syntax does."""
    lib = sample_library
    pid, other = lib.query("")[2], lib.query("")[5]
    lib.set_state([pid], "tag", tags=['a"b'])
    lib.set_state([other], "tag", tags=["a", "b"])  # (what `"a""b"` read as two parts finds)
    shown = run("show", pid, db=lib.root)
    assert shown.returncode == 0, shown.stderr
    (line,) = [x for x in shown.stdout.splitlines() if x.startswith("tags:")]
    (written,) = line.split()[1:]
    assert written == '#"a""b"'
    for query in ("tag:" + written[1:], "tag:'a\"b'", 'tag:"a\\"b"'):
        listed = run("list", "--json", "-s", query, db=lib.root)
        assert listed.returncode == 0, listed.stderr
        assert [p["id"] for p in json.loads(listed.stdout)] == [pid], query
