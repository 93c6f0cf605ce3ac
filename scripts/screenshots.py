"""Save SVG screenshots of the real app on the bundled sample feeds into screenshots/.

    python scripts/screenshots.py            # 120x40 and 80x24
    python scripts/screenshots.py --png      # also PNGs, if rsvg-convert is installed

The library is a throwaway one in a temporary directory, imported with a fixed date, so the
screenshots change only when the app does.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.app import make_app  # noqa: E402
from tui.library import Library  # noqa: E402
from tui.sources import expand, load_source  # noqa: E402

TODAY = date(2026, 11, 22)
OUT = ROOT / "screenshots"


async def _rest(pilot: Any, delay: float = 0.3) -> None:
    await pilot.pause(delay)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def list_and_detail(pilot: Any) -> None:
    await pilot.press("j", "j", "s", "t", *"watermark", "enter", "j", "j", "j", "j")
    await _rest(pilot, 4.5)  # let the toast fade


async def notes(pilot: Any) -> None:
    await pilot.press("n", "n", "e", *"## Why read", "enter", *"- robust to editing attacks?")
    await _rest(pilot, 1.3)


async def search(pilot: Any) -> None:
    await pilot.press("3", "/", *"diffusion source:hf")
    await _rest(pilot, 2.5)


async def help_screen(pilot: Any) -> None:
    await pilot.press("question_mark")
    await _rest(pilot)


SHOTS: dict[str, Callable[[Any], Awaitable[None]]] = {
    "list-detail": list_and_detail,
    "notes": notes,
    "search": search,
    "help": help_screen,
}


def sample_library(folder: Path) -> Library:
    lib = Library.open(folder / "lib")
    stamp = "2026-11-22T08:00:00+00:00"
    feeds = expand([str(ROOT / "data" / "feeds")])
    loaded = [load_source(src, today=TODAY, imported_at=stamp) for src in feeds]
    lib.import_feeds((item.result, item.source) for item in loaded)
    return lib


async def shoot(name: str, size: tuple[int, int], png: bool) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="papertui-shot-"))
    try:
        app = make_app(
            library=sample_library(folder),
            export_dir=folder,
            today=TODAY,
            refresh_interval=0,
            cursor_blink=False,
            theme="textual-dark",
            opener=lambda url: True,
            clipboard_copy=lambda text: None,
        )
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await SHOTS[name](pilot)
            target = OUT / f"{name}-{size[0]}x{size[1]}.svg"
            app.save_screenshot(str(target))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if png and shutil.which("rsvg-convert"):
        # rsvg-convert drops a text run's leading no-break spaces and stretches the rest over
        # the run's width ("107unread"): give it the runs without them, moved right instead.
        for_png = folder.with_suffix(".svg")
        for_png.write_text(_lead_spaces_as_offsets(target.read_text(encoding="utf-8")))
        subprocess.run(
            [
                "rsvg-convert",
                "-w",
                str(size[0] * 11),
                str(for_png),
                "-o",
                str(target.with_suffix(".png")),
            ],
            check=True,
        )
        for_png.unlink()
    return target


CELL = 12.2  # width of one cell in Textual's SVG screenshots
_LEADING = re.compile(
    r'(<text [^>]*?x=")([\d.]+)("[^>]*?textLength=")([\d.]+)("[^>]*>)((?:&#160;)+)'
)


def _lead_spaces_as_offsets(svg: str) -> str:
    def shift(m: re.Match[str]) -> str:
        n = m.group(6).count("&#160;")
        x, length = float(m.group(2)) + n * CELL, float(m.group(4)) - n * CELL
        return f"{m.group(1)}{x:g}{m.group(3)}{length:g}{m.group(5)}"

    return _LEADING.sub(shift, svg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", action="store_true", help="also convert to PNG (rsvg-convert)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    for size in ((120, 40), (80, 24)):
        for name in SHOTS:
            print(asyncio.run(shoot(name, size, args.png)).relative_to(ROOT))


if __name__ == "__main__":
    main()
