"""Build the legacy library fixtures and what a migration of each must show.

This script only ever runs with the OLD code: papertui's library engine 1 (main at d91bd39,
before the engine-2 rewrite of issue 10), which wrote the on-disk format these fixtures hold (a
folder of ``papertui.json``, ``papers/``, ``bodies/``, ``search/``, ``changes/``,
``state.json``, ``state.json.bak``, ``session.json``; see the docstring of that code's
``tui/library/core.py``). Once that engine is gone this script no longer runs; the tests only
read what it wrote and what is committed:

``tests/legacy/v2-small/`` and ``v2-small.expected.json``
    six imports (six segments; the second, fourth and fifth merge into papers of earlier ones,
    so every paper of segment 1 has its current version in a later segment; the third holds
    two feeds; a seventh import found nothing new and wrote no segment), starred, read
    and tagged papers (tags with spaces and CJK), a short note, a note longer than 5,000
    characters edited several times (schema-2 ``note_edit`` entries, in the change files after
    the last checkpoint and in those kept beside ``state.json.bak``), undone changes, and 525
    changes: ``state.json`` (checkpoint at change 512), ``state.json.bak`` (at 256), change
    files 257-525.
``tests/legacy/v1-small/`` and ``v1-small.expected.json``
    schema 1 only: three imports, a handful of changes (no note long enough to be stored as an
    edit), no checkpoint yet.

Run from anywhere with the old code installed: ``python tests/legacy/make_fixture.py``. The
clock and the session ids are fixed, so a run writes the same bytes every time. The expected
files are computed by the old code opening the finished folder afresh.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tui import cli
from tui.feeds import decode
from tui.library import Library, core
from tui.library.storage import load, table_docs
from tui.sources import load_text

HERE = Path(__file__).resolve().parent
FEEDS = HERE.parent.parent / "data" / "feeds"
TODAY = date(2026, 6, 20)
SPACED_TAG = "to read later"
CJK_TAG = "缓存 加速"  # unicode and a space
ACCENT_TAG = "café"


def fixed_clock() -> Callable[[], str]:
    """A clock that moves 30 s per reading, from 2026-06-20 09:00 UTC."""
    start = datetime(2026, 6, 20, 9, 0, 0, tzinfo=timezone.utc)
    ticks = iter(range(1_000_000))
    return lambda: (start + timedelta(seconds=30 * next(ticks))).isoformat(timespec="seconds")


def fixed_sessions() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"f1x7{n:08x}"


def freeze() -> Callable[[], str]:
    """Make the old code's clock and session ids deterministic; returns the clock."""
    clock = fixed_clock()
    sessions = fixed_sessions()
    core.now_iso = clock
    cli.now_iso = clock
    if "tui.launch" in sys.modules:  # (where the CLI's import code is since the click port)
        sys.modules["tui.launch"].now_iso = clock  # type: ignore[attr-defined]
    core.secrets = SimpleNamespace(token_hex=lambda _n: next(sessions))
    return clock


def fresh(root: Path) -> None:
    if root.exists():
        if not (root / "papertui.json").exists():
            sys.exit(f"{root}: exists and is not a papertui library; not touched")
        shutil.rmtree(root)


def feed(name: str, clock: Callable[[], str]) -> tuple[Any, Any]:
    """A sample feed parsed as `papertui import` parses a file, its origin the repository
    path (not this machine's absolute path)."""
    origin = f"data/feeds/{name}"
    text = decode((FEEDS / name).read_bytes(), origin)
    loaded = load_text(text, origin, TODAY, clock())
    return loaded.result, loaded.source


def run_cli(root: Path, *argv: str) -> None:
    """One `papertui` command, in this process (so the fixed clock applies)."""
    status = cli.main([*argv, "--db", str(root)])
    if status != 0:
        sys.exit(f"papertui {' '.join(argv)}: exit status {status}")


class Changes:
    """Counts the change files written (each set_state/undo that changed something is one)."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.count = 0

    def set(self, ids: list[str], label: str, **kw: Any) -> None:
        if self.lib.set_state(ids, label, **kw):
            self.count += 1

    def undo(self) -> str:
        done = self.lib.undo_change(own_first=True)
        assert done is not None
        self.count += 1
        return done.label

    def cli(self, root: Path, *argv: str) -> None:
        run_cli(root, *argv)
        self.lib.refresh()
        self.count += 1


def long_note() -> str:
    lines = ["# Reading notes", ""]
    for i in range(1, 61):
        lines.append(
            f"{i:02d}. Section {i}: the caching schedule reuses features every {i % 5 + 2} "
            f"steps; 扩散模型 加速 {i}; check Table {i % 7 + 1} against the baseline."
        )
    return "\n".join(lines) + "\n"


def import_all(lib: Library, clock: Callable[[], str], groups: list[list[str]]) -> list[str]:
    lines = []
    for names in groups:
        reports, failed = lib.import_each([feed(n, clock) for n in names])
        assert not failed, failed
        for r in reports:
            lines.append(f"{r.origin}: {r.new} new, {r.merged} merged, {r.unchanged} known")
    return lines


# --------------------------------------------------------------------------- v2-small
def build_v2(root: Path) -> None:
    clock = freeze()
    fresh(root)
    lib = Library.open(root)
    lib.agent = "app"
    lib.begin_session()
    report = import_all(
        lib,
        clock,
        [
            ["arxiv-cs-cv-2026-06-19.rss"],  # segment 1
            ["arxiv-cs-cv-new-2026-06-19.html"],  # 2: merges into 6 papers of segment 1
            ["digest-diffusion-caching.txt", "digest-dit-acceleration.txt"],  # 3: two feeds
            ["arxivdaily-image-generation.txt"],  # 4: merges into papers of 1 and 2
            ["hf-daily-papers-2026-06-19.html"],  # 5
            ["digest-text-to-image.txt"],  # 6
            ["digest-text-to-image.txt"],  # again: nothing new, no segment
        ],
    )
    print("\n".join(report))
    assert len(list((root / "papers").iterdir())) == 6
    ids = list(lib.papers)  # in the order they were added
    ch = Changes(lib)
    # Phase A: the kinds of change, from the CLI and from "the app" (this handle).
    ch.cli(root, "star", ids[0], ids[7], ids[12])
    ch.cli(root, "tag", ids[0], ids[7], "--add", f'diffusion, "{SPACED_TAG}"')
    ch.cli(root, "tag", ids[12], "--add", f'"{CJK_TAG}", {ACCENT_TAG}, diffusion')
    ch.cli(root, "read", ids[1], ids[2], ids[3], ids[7])
    ch.set([ids[7]], "edit note", note="Short note: compare with the DiT caching paper.")
    note = long_note()
    assert len(note) > 5000
    ch.set([ids[0]], "edit note", note=note)  # stored whole (it is all new)
    ch.set([ids[20]], "star", starred=True)
    assert ch.undo() == "star"  # an undone change
    ch.set([ids[1]], "tag", add_tags=[SPACED_TAG, "survey"])
    ch.set([ids[1]], "tag", remove_tags=["survey"])
    # Phase B: reading papers on and off, up to the second checkpoint (change 512), with
    # edits of the long note on the way (in state.json's history, in the .bak window).
    cycle = [pid for pid in ids if pid not in (ids[1], ids[2], ids[3], ids[7])][:12]
    edits = {
        120: ("Section 10:", "Section 10 (re-read):"),
        300: ("check Table 3", "check Table 3 and Figure 2"),
        460: ("# Reading notes\n", "# Reading notes\n\nUpdated after the group meeting.\n"),
    }
    i = 0
    while ch.count < 512:
        if ch.count + 1 in edits:
            old, new = edits[ch.count + 1]
            assert note.count(old) >= 1
            note = note.replace(old, new, 1)
            ch.set([ids[0]], "edit note", note=note)
            continue
        pid = cycle[i % len(cycle)]
        on = not lib.state(pid).read
        ch.set([pid], "mark read" if on else "mark unread", read=on)
        i += 1
    assert (root / "state.json.bak").exists(), "no second checkpoint"
    # Phase C: after the checkpoint, in change files of their own.
    for old, new in (
        ("60. Section 60", "60. Section 60 (last)"),
        ("Section 33: the", "Section 33: a typo fixed, the"),
        ("", "\nP.S. ask the authors about the released code.\n"),
    ):
        note = note.replace(old, new, 1) if old else note + new
        ch.set([ids[0]], "edit note", note=note)
    assert ch.undo() == "edit note"  # undoes the last edit (an inverse note_edit)
    ch.cli(root, "tag", ids[20], ids[21], "--add", f'"{CJK_TAG}"')
    ch.cli(root, "star", "--off", ids[12])
    ch.cli(root, "undo")  # the unstar
    ch.set([ids[22], ids[23], ids[24]], "mark read", read=True)
    ch.set([ids[25]], "edit note", note="短い注: 中文和日本語 ✓")
    ch.set([ids[3]], "mark unread", read=False)
    ch.cli(root, "read", ids[26])
    ch.set([ids[26]], "star", starred=True)
    ch.set([ids[2]], "tag", tags=[ACCENT_TAG])
    assert ch.count == 525, ch.count
    check_v2(root)


def check_v2(root: Path) -> None:
    changes = sorted(int(p.stem) for p in (root / "changes").glob("*.json"))
    assert changes == list(range(257, 526)), (changes[0], changes[-1], len(changes))
    last = table_docs(load(root / "state.json"), "checkpoint")[0]["last_seq"]
    bak = table_docs(load(root / "state.json.bak"), "checkpoint")[0]["last_seq"]
    assert (last, bak) == (512, 256), (last, bak)
    edits = [s for s in changes if "note_edit" in (root / "changes" / f"{s:08d}.json").read_text()]
    assert any(s > 512 for s in edits) and any(s <= 512 for s in edits), edits


# --------------------------------------------------------------------------- v1-small
def build_v1(root: Path) -> None:
    clock = freeze()
    fresh(root)
    lib = Library.open(root)
    lib.agent = "app"
    lib.begin_session()
    report = import_all(
        lib,
        clock,
        [
            ["arxiv-cs-cv-2026-06-19.rss"],  # segment 1
            ["arxiv-cs-cv-new-2026-06-19.html"],  # 2: merges into papers of segment 1
            ["digest-text-to-image.txt"],  # 3
        ],
    )
    print("\n".join(report))
    ids = list(lib.papers)
    ch = Changes(lib)
    ch.cli(root, "star", ids[0], ids[8])
    ch.cli(root, "tag", ids[0], ids[8], "--add", f'diffusion, "{SPACED_TAG}"')
    ch.cli(root, "tag", ids[9], "--add", f'"{CJK_TAG}"')
    ch.cli(root, "read", ids[1], ids[2], ids[8])
    note = "Notes.\n" + "".join(f"- point {i}: 扩散 caching step {i}\n" for i in range(40))
    assert len(note) < 2000  # old + new stay under NOTE_EDIT_MIN: stored whole, schema 1
    ch.set([ids[0]], "edit note", note=note)
    ch.set([ids[0]], "edit note", note=note.replace("point 7:", "point 7 (key):"))
    ch.set([ids[9]], "edit note", note="short one ✓")
    ch.set([ids[4]], "star", starred=True)
    assert ch.undo() == "star"
    ch.set([ids[2]], "mark unread", read=False)
    assert ch.count == 10, ch.count
    assert not (root / "state.json").exists()
    for path in root.rglob("*.json"):
        assert '"schema":1' in path.read_text(), path


# --------------------------------------------------------------------------- expected
def expected(root: Path, tag_queries: list[str]) -> dict[str, Any]:
    """What the old code shows of the library at ``root``, opened afresh."""
    lib = Library.open(root, create=False)
    papers = {}
    for pid in lib.papers:
        record = lib.record(pid)
        state = lib.state(pid)
        papers[pid] = {
            "title": record.get("title", ""),
            "title_zh": record.get("title_zh", ""),
            "arxiv_id": record.get("arxiv_id"),
            "authors": record.get("authors", []),
            "abstract": record.get("abstract", ""),
            "feed_date": record.get("feed_date"),
            "sources": [s["format"] for s in record.get("sources", [])],
            "state": {
                "read": state.read,
                "starred": state.starred,
                "tags": state.tags,
                "note": state.note,
            },
        }
    queries = ["", "is:starred", *tag_queries, "diffusion"]
    return {
        "made_by": "tests/legacy/make_fixture.py with papertui engine 1 (main d91bd39)",
        "papers": papers,
        "undoable": [c.label for c in lib._undoable()],
        "counts": lib.counts(),
        "tags": dict(sorted(lib.all_tags().items())),
        "queries": {q: lib.query(q) for q in queries},
    }


def finish(root: Path, tag_queries: list[str]) -> None:
    for name in (".lock", ".lock.owner"):
        (root / name).unlink(missing_ok=True)
    data = expected(root, tag_queries)
    out = root.with_name(root.name + ".expected.json")
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{root.name}: {len(data['papers'])} papers, {data['counts']}; wrote {out.name}")


def main() -> None:
    v2, v1 = HERE / "v2-small", HERE / "v1-small"
    build_v2(v2)
    finish(v2, ["tag:diffusion", f'tag:"{CJK_TAG}"', f'tag:"{SPACED_TAG}"'])
    build_v1(v1)
    finish(v1, ["tag:diffusion", f'tag:"{CJK_TAG}"'])


if __name__ == "__main__":
    main()
