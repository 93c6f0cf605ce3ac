"""Emoji whose width depends on the terminal (issue 12): a ZWJ family, a skin tone, a
variation selector 16, a rainbow flag (ZWJ + VS16), a subdivision flag (tag characters). The
list and the detail never draw those joiners and modifiers, so every emoji takes the cells
the layout counted in tmux and in a terminal that joins them; the stored text keeps them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.cells import cell_len
from textual.geometry import Region

from tui.library import Library

from .conftest import import_files
from .test_app import build, settle

HF = Path(__file__).parent / "feeds" / "hf-api-daily-papers-2026-06-19.json"
TITLES = [
    "👨\u200d👩\u200d👧\u200d👦 Family Diffusion: joint generation",
    "👍\U0001f3fd Thumbs: skin-tone aware ranking",
    "❤\ufe0f Love is all you need",
    "🏳\ufe0f\u200d🌈 Flags and 🇨🇳 regional pairs",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Subdivision flags",
    "Plain ASCII title",
]
JOINERS = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


async def test_rows_and_detail_draw_no_width_ambiguous_joiners(
    empty_library: Library, tmp_path: Path
) -> None:
    items = json.loads(HF.read_bytes())
    for item, title in zip(items, TITLES, strict=True):
        item["paper"]["title"] = item["title"] = title
    feed = tmp_path / "emoji.json"
    feed.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    import_files(empty_library, [feed])
    stored = {empty_library.get(pid).title for pid in empty_library.query("")}
    assert stored == set(TITLES)  # (kept as the feed wrote them)
    for size in ((120, 35), (80, 24)):
        app = build(empty_library, tmp_path)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            plist = app.paper_list
            strips = plist.render_lines(Region(0, 0, *plist.outer_size))
            rows = ["".join(seg.text for seg in strip) for strip in strips]
            drawn = "\n".join(rows)
            assert "Family Diffusion" in drawn and "👨👩👧👦" in drawn and "👍 Thumbs" in drawn
            assert not JOINERS.search(drawn)
            assert {cell_len(row) for row in rows} == {plist.outer_size.width}
            for _ in TITLES:  # every paper's detail too
                assert not JOINERS.search(app.detail.text)
                await pilot.press("j")
                await settle(pilot, 0.3)
