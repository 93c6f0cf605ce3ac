"""What a newcomer's first session found: a view switch to a view of one paper said
"Starred: 1 papers", and `?` said x exports "to a Markdown file" while its dialog offers
Markdown, BibTeX and CSL-JSON."""

from __future__ import annotations

from pathlib import Path

from tui.keys import ACTIONS
from tui.library import Library

from .test_app import SIZE, build, settle, toasts


async def test_a_view_of_one_paper_says_1_paper(sample_library: Library, tmp_path: Path) -> None:
    pid = sample_library.query("")[0]
    sample_library.set_state([pid], "star", starred=True)
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.paper_list.ids == [pid]
        said = [t for t in toasts(app) if t.startswith("Starred:")]
        assert said == ["Starred: 1 paper (is:starred)"], toasts(app)
        await pilot.press("r")
        await settle(pilot)
        total = len(sample_library)
        assert any(t.startswith(f"Reloaded: {total:,} papers") for t in toasts(app))


def test_the_help_of_x_names_every_format_the_export_dialog_offers() -> None:
    (export,) = [a for a in ACTIONS if a.id == "export"]
    assert "Markdown file" not in export.description
    for name in ("Markdown", "BibTeX", "CSL-JSON"):
        assert name in export.description
