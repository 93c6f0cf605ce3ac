"""Hostile strings that feed text may carry, and a feed that carries them."""

from __future__ import annotations

from pathlib import Path

from .conftest import FEEDS

HOSTILE = [
    "[/]",
    "[/",
    "[b",
    "[0]",
    "\\",
    "back\\[slash]",
    "[bold]bold[/bold]",
    "[link=https://evil.example]ok[/link]",
    "[@click=app.quit]x[/]",
    "[on red]x",
    ":smile: :cross_mark:",
    "\x1b[2J\x1b[Hcleared",
    "\x1b]52;c;ZXZpbA==\x07clip",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x9b31mred",
    "soh\x01bel\x07bs\x08del\x7fc1\x85",
    "\u202eevil\u202c \u2066iso\u2069",
    "*bold* | <script>alert(1)</script> `code` _x_ # h",
    "W" * 6000,  # (longer than a note kept whole, 4,096: the app's tests type it, seconds each)
    # Added after the long one so the indices above stay where other tests expect them; one
    # string, as every string costs the app's hostile tests seconds: ESC c (a full terminal
    # reset), a charset switch, cursor save/restore, a screen fill, 8-bit OSC 52 and CSI.
    "\x1bcreset \x1b(0qqq\x1b(B \x1b7save\x1b8 \x1b#8fill \x9d52;c;ZXZpbA==\x9cc1osc \x9b?1049halt",
]

# File names as hostile as a file system allows (no "/" and no NUL): every string above made
# into a name, plus a newline, a carriage return and an escape in the name itself.
HOSTILE_NAMES = [
    *(s.replace("/", "\u2215").replace("\x00", "")[:60] + ".txt" for s in HOSTILE),
    "new\nline.txt",
    "car\rriage.txt",
    "evil\x1bc.txt",
]


def hostile_feed(directory: Path) -> tuple[Path, list[str]]:
    """An arXivDaily feed whose four titles are replaced with hostile strings (several per
    feed, cycled); returns the feed and the raw titles in feed order."""
    text = (FEEDS / "arxivdaily-image-generation.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    title_rows = [i + 2 for i, line in enumerate(lines) if line[:10].replace(".", "").isdigit()]
    titles = []
    feeds = []
    for start in range(0, len(HOSTILE), len(title_rows)):
        chunk = HOSTILE[start : start + len(title_rows)]
        out = list(lines)
        for n, (row, raw) in enumerate(zip(title_rows, chunk, strict=False)):
            title = f"T{start + n} {raw} end"
            out[row] = title
            out[row - 2] = out[row - 2].replace("2606.", f"26{start // 4 + 10:02d}.")
            titles.append(title)
        feeds.append("\n".join(out))
    path = directory / "hostile.txt"
    path.write_text("\n\n".join(feeds), encoding="utf-8")
    return path, titles
