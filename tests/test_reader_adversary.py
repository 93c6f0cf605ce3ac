"""Defects an adversary found on 2026-11-30 (evening) by using papertui as a reader would:
each test fails on main as it was found, and names what the reader saw."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.library import Library

from .test_app import build, toasts
from .test_bad_input import DIGEST, one_error_line
from .test_bad_input import run as run_bytes
from .test_cli import run
from .test_notes_tags import on_disk
from .test_relevance import triage

SIZE = (120, 40)

TEX_FEED = """Daily Papers

byAK and the research community

Oct 29

Linear Attention in $\\mathcal{O}(N)$ Time with \\textbf{Bold} Kernels

We show that attention can be computed in linear time using kernel tricks, with a
speedup that grows with the length of the sequence and no loss of accuracy at all.

  \u2022 3 authors
\u00b7
Jun 3, 2024
"""


async def test_typing_in_the_tag_editor_adds_a_tag_and_keeps_the_last_one(
    sample_library: Library, tmp_path: Path
) -> None:
    """The README: "The editor opens with the cursor after the paper's tags (typing adds
    one)". Typing `caching` there turned the paper's last tag `to-read` into
    `to-readcaching`: `to-read` was gone from the paper, nothing said so."""
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        lib.set_state([pid], "tag", tags=["diffusion", "to-read"])
        await pilot.press("t")
        await pilot.press(*"caching", "enter")
        await pilot.pause()
    assert on_disk(lib).state(pid).tags == ["diffusion", "to-read", "caching"]


async def test_undoing_a_mark_read_puts_the_paper_back_in_the_inbox_under_the_cursor(
    sample_library: Library, tmp_path: Path
) -> None:
    """The README: u "names the paper … and the cursor moves to it". A paper read before
    the inbox was shown again (`space`, then `1`) came back unread on disk, the message
    named it, but the cursor stayed where it was (in a terminal the list did not even hold
    it: "95 of 95" with 98 unread): the reader could not see what was undone."""
    lib = sample_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("space")
        await pilot.pause()
        await pilot.press("1")  # the Inbox shown again: the paper just read has left it
        await pilot.pause()
        assert pid not in app.paper_list.ids
        await pilot.press("u")
        await pilot.pause()
        assert not on_disk(lib).state(pid).read
        assert pid in app.paper_list.ids
        assert app.paper_list.current == pid


def test_a_bad_relevance_table_is_named_even_when_no_training_is_needed(
    sample_library: Library, tmp_path: Path
) -> None:
    """A misspelt arXiv seed (`2406-01125`) was named on stderr only when the
    ranking happened to be retrained; after a ranking without seeds, `papertui list --sort
    foryou` printed nothing at all about the config (nor which order it showed), and the
    seed was silently not used."""
    lib = sample_library
    triage(lib)
    root = lib.root
    lib.close()
    config = tmp_path / "cfg.toml"
    env = {**os.environ, "PAPERTUI_CONFIG": str(config), "NO_COLOR": "1"}

    def foryou() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui", "--db", str(root), "list", "--sort", "foryou"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    config.write_text("")  # no seeds: the ranking stored is made without any
    assert foryou().returncode == 0
    config.write_text('[relevance]\narxiv = ["2406-01125"]\n')
    done = foryou()
    assert done.returncode == 0, done.stderr
    assert "is not an arXiv id" in done.stderr


def test_a_file_that_is_not_a_feed_is_named_with_its_undecodable_byte(tmp_path: Path) -> None:
    """Commit 3a96f6b: "a file name's undecodable byte is named the same way everywhere
    (\\xff, as --db names it, not U+FFFD)" — for a missing file; a file that exists and is
    no feed was still named `junk\ufffd.txt` (so were the lines of the feeds it read)."""
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/junk\xff.txt"))
    bad.write_bytes(b"this is not a feed of any kind\n")
    result = run_bytes("import", str(bad), str(DIGEST), db=tmp_path / "lib")
    assert result.returncode == 1
    assert "5 new" in result.stdout  # (the good one is kept)
    line = one_error_line(result.stderr)
    assert line.startswith(f"papertui: error: {tmp_path}/junk\\xff.txt: not a recognised feed")


def test_undo_names_a_tex_title_as_list_and_show_write_it(tmp_path: Path) -> None:
    """Commit aa3dd0d: inline TeX in titles reads as the detail shows it in list rows,
    `papertui list` and `show` (`$\\mathcal{O}(N)$` → 𝒪(N)); `papertui undo`, `redo`,
    `note` and the app's u still wrote `$\\mathcal{O}(N)$ Time with \\textbf{Bold…`."""
    feed = tmp_path / "tex.txt"
    feed.write_text(TEX_FEED)
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    listed = run("list", db=db).stdout
    assert "𝒪(N)" in listed  # (the oracle: how papertui list writes the title)
    pid = listed.split()[1]
    assert run("star", pid, db=db).returncode == 0
    undone = run("undo", db=db)
    assert undone.returncode == 0, undone.stderr
    assert "𝒪(N)" in undone.stdout and "\\mathcal" not in undone.stdout


def test_bibtex_does_not_print_a_text_mode_tex_command_as_text(tmp_path: Path) -> None:
    """A title `… with \\textbf{Bold} Kernels` (as arXiv feeds write them): the Markdown
    export and the app give "Bold", BibTeX gave `{\\textbackslash}textbf{\\textbraceleft}Bold
    {\\textbraceright}`, which a bibliography typesets as the literal text "\\textbf{Bold}"
    (while the math next to it, `$\\mathcal{O}(N)$`, is kept as TeX)."""
    feed = tmp_path / "tex.txt"
    feed.write_text(TEX_FEED)
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    pid = run("list", db=db).stdout.split()[1]
    assert run("star", pid, db=db).returncode == 0
    out = tmp_path / "starred.bib"
    assert run("export", "-o", str(out), db=db).returncode == 0
    title = next(line for line in out.read_text().splitlines() if "title = " in line)
    assert "$\\mathcal{O}(N)$" in title
    assert "textbackslash" not in title, title


def test_an_explanation_term_is_not_cut_inside_parentheses() -> None:
    """Seen in the detail pane: "matches your stars, tags and notes: Video Generation,
    DiT) architecture" — the pair of words "dit architecture" written from "(DiT)
    architecture" with the closing parenthesis and without the opening one."""
    from tui import relevance

    doc = {"title": "Scaling the Diffusion Transformer (DiT) architecture", "abstract": ""}
    line = relevance.describe(["dit architecture"], doc)
    term = line.split(": ", 1)[1]
    assert term.count("(") == term.count(")"), line


def test_an_explanation_term_is_written_as_the_paper_writes_it() -> None:
    """Seen in the detail pane: "matches your stars, tags and notes: model unified, …" for
    "One-step Diffusion Model through Unified Diffusion …": a pair of words made across a
    stop word ("through"), shown as a phrase that no paper writes."""
    from tui import relevance

    doc = {
        "title": "Uni-Instruct: One-step Diffusion Model through Unified Diffusion Divergence",
        "abstract": "",
    }
    assert "model unified" in relevance.tokens(doc)  # (a token the model may weigh)
    term = relevance.describe(["model unified"], doc).split(": ", 1)[1]
    assert term.lower() in doc["title"].lower(), term


async def test_a_new_order_shows_the_rows_above_the_cursor_when_they_fit(
    sample_library: Library, tmp_path: Path
) -> None:
    """Seen after S to "for you" with the cursor low in the list: the status said "5 of 92"
    and the cursor's paper was the pane's first row, the four papers ranked above it
    scrolled out of sight (the list kept the old order's scroll offset). `set_ids` is what
    a new sort calls, the cursor staying on its paper."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        await pilot.pause()
        plist = app.paper_list
        current = plist.current
        ids = [pid for pid in plist.ids if pid != current]
        ids.insert(4, current)
        plist.set_ids(ids)
        await pilot.pause()
        assert plist.cursor == 4
        assert int(plist.scroll_y) == 0  # (the 4 papers ranked above it fit on screen)


async def test_for_you_at_a_cold_start_says_so_before_the_first_pause(
    sample_library: Library, tmp_path: Path
) -> None:
    """The demo opened, S pressed at once up to "for you" with nothing decided: "for you:
    the model is trained when you pause" — pausing trains nothing (no paper kept); a
    moment later the same S said "feed order until you star, tag or note a paper"."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        while app.sort_key != "foryou":
            await pilot.press("S")
        await pilot.pause()
        assert "until you star, tag or note a paper" in toasts(app)[-1], toasts(app)[-1]


def test_a_key_typed_right_after_enter_in_the_tag_editor_is_not_lost(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a terminal, `t`, a tag, then Enter and `j` together (a fast typist, an SSH link):
    the tags were saved but the `j` was dropped, so the next `t`/`s`/space acted on the same
    paper again (five papers tagged in a row gave one tagged paper and "Tags unchanged").
    After Esc in the note pane the same `j` is kept."""
    from .test_notes_tags import Terminal

    lib = sample_library
    first, second = list(lib.query("is:unread"))[:2]
    root = lib.root
    lib.close()
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "none.toml"))
    term = Terminal("--db", str(root))
    try:
        assert term.read_until(b"Inbox"), term.output[-2000:]
        term.send(b"t", then=b"Tags for")
        term.send(b" mine")
        term.send(b"\rj", then=b"Tags: #mine")
        term.send(b"s")
        term.send(b"q")
        assert term.wait() == 0
    finally:
        term.kill()
    after = Library.open(root)
    assert after.state(first).tags == ["mine"]
    assert not after.state(first).starred  # (the s went to the paper the j moved to)
    assert after.state(second).starred
