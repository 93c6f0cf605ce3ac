"""The app in a new user's first ten minutes: the note pane's look and "saved" indicator,
Chinese wrapping, the cursor after a resize, selection, the import dialog, an empty library,
the palette, what toasts name and the Markdown export. Each test drives the real app
(`App.run_test()` + Pilot) on the sample feeds and reads the screen or the library on disk.
"""

from __future__ import annotations

from pathlib import Path

from tui.library import Library

from .test_app import build, toasts

SIZE = (120, 35)


# ---------------------------------------------------------------------------- the note pane
async def test_note_pane_has_the_detail_panes_padding(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        detail, notes = app.detail, app.notes
        inset = detail.content_region.x - detail.region.x
        assert inset == 2  # the border and one column of padding
        assert notes.content_region.x - notes.region.x == inset
        assert notes.region.right - notes.content_region.right == inset


async def test_saved_shows_only_for_a_note_that_exists(
    sample_library: Library, tmp_path: Path
) -> None:
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.paper_list.current
        assert app.notes.border_subtitle in ("", None)
        await pilot.press("e", "x", "ctrl+s")
        await pilot.pause()
        assert sample_library.state(first).note == "x"
        assert app.notes.border_subtitle == "saved"
        await pilot.press("escape", "j")  # another paper, without a note
        await pilot.pause(0.3)
        assert app.paper_list.current != first
        assert app.notes.text == ""
        assert not app.notes.border_subtitle
        await pilot.press("e", "ctrl+s")  # a never-written note "saved": says nothing
        await pilot.pause()
        assert not app.notes.border_subtitle
        await pilot.press("y", "backspace")  # typed and deleted: nothing to save
        await pilot.pause()
        assert not app.notes.border_subtitle
        await pilot.press("escape", "k", "e")  # back to the note, and empty it
        await pilot.pause(0.3)
        assert app.notes.text == "x"
        await pilot.press("end", "backspace", "ctrl+s")
        await pilot.pause()
        assert sample_library.state(first).note == ""
        assert app.notes.border_subtitle == "note removed"
        assert not any("saved" in t for t in toasts(app))
