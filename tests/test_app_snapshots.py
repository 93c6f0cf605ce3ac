"""Snapshot tests (pytest-textual-snapshot) of the main screens at 80×24 and 120×40.

Deterministic by construction: the sample library is imported with a fixed date, the theme is
fixed, cursors do not blink, no clock is shown and the library reload timer is off.
Regenerate after an intended change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.app import PaperTUI
from tui.library import Library

from .test_app import build

SIZES = [(80, 24), (120, 40)]


def snapshot_app(lib: Library, tmp_path: Path) -> PaperTUI:
    return build(lib, tmp_path, theme="textual-dark")


async def _rest(pilot: Any, delay: float = 0.2) -> None:
    await pilot.pause(delay)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_main_screen(snap_compare: Any, sample_library: Library, tmp_path: Path, size: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("j", "j", "s", "t", *"caching", "enter")
        await _rest(pilot)

    app = snapshot_app(sample_library, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_notes_being_edited(
    snap_compare: Any, sample_library: Library, tmp_path: Path, size: Any
) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("e", *"## Why read", "enter", *"- caching without retraining")
        await _rest(pilot, 1.3)  # past the autosave: the pane says "saved"

    app = snapshot_app(sample_library, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_search_results(
    snap_compare: Any, sample_library: Library, tmp_path: Path, size: Any
) -> None:
    async def run_before(pilot: Any) -> None:
        # words are prefixes now: "cache" no longer finds SpectralCache, "caching" does
        await pilot.press("3", "/", *"caching source:digest")
        pilot.app.clear_notifications()  # "All: 107 papers" lasts 2 s: gone or not by now
        await _rest(pilot, 0.4)

    app = snapshot_app(sample_library, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_help_screen(snap_compare: Any, sample_library: Library, tmp_path: Path, size: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("question_mark")
        await _rest(pilot)

    app = snapshot_app(sample_library, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
