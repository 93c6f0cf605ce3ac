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


async def test_another_format_proposes_a_name_free_with_its_own_suffix(
    sample_library: Library, tmp_path: Path
) -> None:
    """`x` proposed papertui-starred-DATE-2.md as the .md was taken; BibTeX then proposed
    …-2.bib though no .bib was there, and with a .bib taken and the .md free it proposed the
    taken .bib. A name the user typed keeps its stem, whatever is on disk."""
    from textual.widgets import Input

    from tui.dialogs.export_dialog import ExportDialog

    sample_library.set_state(sample_library.query("")[:1], "star", starred=True)
    app = build(sample_library, tmp_path)
    out = tmp_path / "exports"
    out.mkdir()
    stem = f"papertui-starred-{app.today}"
    (out / f"{stem}.md").write_text("mine\n")
    (out / f"{stem}.json").write_text("mine\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        box = dialog.query_one("#export-path", Input)
        assert box.value == str(out / f"{stem}-2.md")
        await pilot.press("tab", "down", "space")  # BibTeX
        await pilot.pause()
        assert box.value == str(out / f"{stem}.bib")
        await pilot.press("tab", "down", "space")  # CSL-JSON: the .json is taken
        await pilot.pause()
        assert box.value == str(out / f"{stem}-2.json")
        box.value = str(out / "group.json")  # typed by the user: only its suffix follows
        await pilot.pause()
        await pilot.press("tab", "up", "up", "space")  # Markdown
        await pilot.pause()
        assert box.value == str(out / "group.md")
        await pilot.press("escape")
        await pilot.pause()
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.json", f"{stem}.md"]
