"""The keys as one table (`tui.keys.ACTIONS`) and the user's keymap from the config file.

Oracles: the real app (Pilot) pressing the remapped keys and the library's state after them;
the help screen's and palette's text as the user reads it; a real config file on disk; the
real `python -m tui` on a pseudo-terminal reading `$PAPERTUI_CONFIG`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tui.dialogs.help import HelpScreen
from tui.keys import ACTIONS, APP_BINDINGS, LIST_BINDINGS, load_keymap, parse_keymap
from tui.library import Library
from tui.widgets.paper_list import PaperList

from .test_app import SIZE, build
from .test_prepaint import first_title


def help_text(app: Any) -> str:
    return "\n".join(str(s.render()) for s in app.screen.query("#help-table Static"))


def test_one_table_builds_every_binding() -> None:
    """Each binding of the app and the list is a row of ACTIONS, with its keys and id."""
    table = {a.id: a for a in ACTIONS}
    for binding in [*APP_BINDINGS, *LIST_BINDINGS, *PaperList.BINDINGS]:
        row = table[binding.id]  # type: ignore[union-attr]
        assert binding.key == row.keys  # type: ignore[union-attr]
    assert {b.id for b in LIST_BINDINGS} == {b.id for b in PaperList.BINDINGS}  # type: ignore[union-attr]


async def test_a_remapped_key_does_the_action_and_the_old_one_does_not(
    sample_library: Library, tmp_path: Path
) -> None:
    keymap, errors = parse_keymap({"toggle_star": "f", "list.down": ["J", "ctrl+n"]})
    assert errors == []
    app = build(sample_library, tmp_path, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        first = app.paper_list.current
        await pilot.press("s")
        await pilot.pause()
        assert not sample_library.state(first).starred  # s no longer stars
        await pilot.press("f")
        await pilot.pause()
        assert sample_library.state(first).starred
        await pilot.press("j")
        await pilot.pause()
        assert app.paper_list.current == first  # j no longer moves
        await pilot.press("J")
        await pilot.pause()
        second = app.paper_list.current
        assert second != first
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.paper_list.current not in (first, second)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = help_text(app)
        assert "J / ctrl+n" in rows and "next paper" in rows
        assert "\ns\n" not in f"\n{rows}\n"  # the old key is not listed any more
        await pilot.press("escape")
        entries = {e.title: e.help for e in app.palette_entries()}
        assert entries["Toggle star"] == "key: f"
        assert entries["Next paper"] == "key: J / ctrl+n"


async def test_two_actions_swap_their_keys(sample_library: Library, tmp_path: Path) -> None:
    keymap, errors = parse_keymap({"toggle_star": "u", "undo": "s"})
    assert errors == []
    app = build(sample_library, tmp_path, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        pid = app.paper_list.current
        await pilot.press("u")
        await pilot.pause()
        assert sample_library.state(pid).starred
        await pilot.press("s")  # now undo
        await pilot.pause()
        assert not sample_library.state(pid).starred


def test_bad_entries_cost_only_themselves(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[fetch]\narxiv = []\n\n[keys]\n"
        'toggle_star = "f"\n'
        'togle_read = "M"\n'  # a typo
        'undo = "j"\n'  # j is the list's
        'help = "pagedwn"\n'  # not a key
        "copy_line = 5\n"  # not a key at all
        'escape = "x"\n'  # Esc is fixed: the way out of every box
        'fetch = ["?"]\n',  # ? is help's
        encoding="utf-8",
    )
    keymap, errors = load_keymap(config)
    assert keymap == {"toggle_star": "f"}
    assert len(errors) == 6
    assert all(e.startswith(f"{config}: [keys] ") and "\n" not in e for e in errors)
    text = "\n".join(errors)
    assert "'togle_read' is not an action (did you mean 'toggle_read'?)" in text
    assert "undo: j is list.down's key" in text
    assert "'pagedwn' is not a key name" in text
    assert "copy_line: expected a key" in text
    assert "'escape' is not an action" in text
    assert "fetch: ? is help's key" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, ([], {})),
        (b"[fetch]\narxiv = []\n", ([], {})),
        (b"[keys\n", (["expected TOML", "keys not remapped"], {})),
        (b'[keys]\ntoggle_star = "\xff"\n', (["not UTF-8"], {})),
        (b'keys = "f"\n', (["[keys] must be a table"], {})),
    ],
)
def test_a_config_without_a_usable_keys_table(
    tmp_path: Path, content: bytes | None, expected: tuple[list[str], dict[str, str]]
) -> None:
    config = tmp_path / "config.toml"
    if content is not None:
        config.write_bytes(content)
    keymap, errors = load_keymap(config)
    words, want = expected
    assert keymap == want
    assert len(errors) == (1 if words else 0)
    for word in words:
        assert word in errors[0]


def test_the_papertui_command_reads_the_keymap(
    tmp_path: Path, sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`papertui --db LIB` on a terminal, with `$PAPERTUI_CONFIG` remapping the star."""
    from .test_prepaint import Terminal

    config = tmp_path / "config.toml"
    config.write_text('[keys]\ntoggle_star = "f"\nbogus = "z"\n', encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    term = Terminal(tmp_path, sample_library.root)
    try:
        term.read_until(first_title(sample_library))
        term.open_gate()
        term.read_until(b"\x1b[?1000h")
        term.read_until(b"bogus")  # the bad entry is shown, the good one applies
        term.type(b"s")
        term.type(b"f")
        term.type(b"q")
        assert term.wait() == 0
    finally:
        term.close()
    starred = Library.open(sample_library.root).query("is:starred")
    assert len(starred) == 1
    assert os.environ["PAPERTUI_CONFIG"] == str(config)


@pytest.mark.parametrize("size", [(120, 35), (80, 24)])
async def test_tab_cycles_the_panes_and_never_reaches_a_kept_search(
    sample_library: Library, tmp_path: Path, size: tuple[int, int]
) -> None:
    """/query, Enter, then Tab thrice and L: L toggles the language, never types "L" into
    the query; Esc in the detail returns to the list."""

    app = build(sample_library, tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.press("slash", *"diffusion", "enter")
        await pilot.pause()
        assert app.search_text == "diffusion"
        seen = []
        for _ in range(3):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(type(app.focused).__name__)
        assert "SearchBox" not in seen
        wide = ["PaperDetail", "Notes", "PaperList"]
        narrow = ["PaperDetail", "PaperList", "PaperDetail"]  # (the note opens on demand)
        assert seen == (wide if size[0] >= 100 else narrow)
        language = app.detail.chinese_first
        await pilot.press("L")
        await pilot.pause()
        assert app.search_box.value == "diffusion"  # no "L" typed into the kept search
        assert app.detail.chinese_first != language
        back = []  # shift+Tab: the same panes backwards
        for _ in range(2):
            await pilot.press("shift+tab")
            await pilot.pause()
            back.append(type(app.focused).__name__)
        assert back == (
            ["Notes", "PaperDetail"] if size[0] >= 100 else ["PaperList", "PaperDetail"]
        )
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, PaperList)
        assert app.search_text == "diffusion"  # (Esc in the detail did not clear the search)
