"""The running totals the app's counts come from, and the list's screenful reads and drawing.

The totals (papers, read, starred) are checked against what a fresh SQLite connection counts
and what the truth files hold (read with the json module), after every kind of change, from a
second process and after a rebuild. `Library.rows` is checked against row-by-row reads, and
the list's own framing of its rows against Textual's drawing of the same pane.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from textual.geometry import Region

from tui.library import Library
from tui.library.cache import Cache, default_location
from tui.widgets.paper_list import PaperList

from .conftest import FEEDS, ROOT, import_files
from .test_app import build
from .test_engine2 import _relaid, _two_imports


def _counted(root: Path) -> dict[str, int]:
    """What a fresh connection to the cache counts, row by row."""
    conn = sqlite3.connect(default_location(root))
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "papers": one("SELECT count(*) FROM paper"),
            "read": one("SELECT count(*) FROM paper WHERE read=1"),
            "starred": one("SELECT count(*) FROM paper WHERE starred=1"),
        }
    finally:
        conn.close()


def _in_the_truth(root: Path) -> int:
    """How many papers the truth's segments hold (distinct ids), read with json."""
    ids = set()
    for segment in (root / "papers").glob("*.json"):
        ids.update(doc["id"] for doc in json.loads(segment.read_text())["papers"].values())
    return len(ids)


def _check(lib: Library) -> None:
    """The library's counts, from its totals, against the oracles (a fresh handle too)."""
    lib.refresh()
    counted = _counted(lib.root)
    assert counted["papers"] == _in_the_truth(lib.root)
    for handle in (lib, Library.open(lib.root)):
        counts = handle.counts()
        assert len(handle) == counted["papers"]
        assert {k: counts[k] for k in counted} == counted
        assert counts["unread"] == counted["papers"] - counted["read"]
        for query, expected in (
            ("", counted["papers"]),
            ("is:read", counted["read"]),
            ("is:unread", counted["papers"] - counted["read"]),
            ("is:starred", counted["starred"]),
            ("is:unstarred", counted["papers"] - counted["starred"]),
        ):
            assert len(handle.query(query)) == expected == len(list(handle.query(query)))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_totals_agree_with_a_count_after_every_kind_of_change(tmp_path: Path) -> None:
    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    lib = Library.open(tmp_path / "lib")
    _check(lib)  # empty
    import_files(lib, feeds[::2])
    _check(lib)
    ids = list(lib.query(""))
    lib.set_state(ids[:5], "star", starred=True)
    lib.set_state(ids[3:9], "read", read=True)
    _check(lib)
    import_files(lib, feeds[1::2])  # new papers, and new versions of stored ones
    _check(lib)
    ids = list(lib.query(""))
    assert len(ids) > 64
    lib.set_state(ids, "mark all read", read=True)  # (a bulk change: mirrored in bulk)
    _check(lib)
    lib.undo()
    lib.undo()
    _check(lib)
    # Another process: an import, a star and a read, through the CLI.
    _cli("import", str(feeds[0]), "--db", str(lib.root))
    _cli("star", ids[20], "--db", str(lib.root))
    _cli("read", ids[21], "--db", str(lib.root))
    _check(lib)
    assert lib.raw_state(ids[20]).get("starred")
    lib.rebuild()
    _check(lib)
    lib.close()


def test_a_cache_made_before_the_paper_total_gets_it_once(tmp_path: Path) -> None:
    """A cache of this version without the total of papers (made before it was kept): a
    handle counts instead, and the next one that opens it adds the total."""
    lib = _two_imports(tmp_path / "lib")
    lib.set_state(list(lib.query(""))[:3], "star", starred=True)
    path = default_location(lib.root)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM tally WHERE name='papers'")
    assert lib.refresh()  # (another process changed the cache)
    counted = _counted(lib.root)
    assert len(lib) == counted["papers"]
    assert len(lib.query("is:unread")) == counted["papers"] - counted["read"]
    assert len(lib.query("")) == counted["papers"]
    lib.close()
    _check(Library.open(lib.root))
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT n FROM tally WHERE name='papers'").fetchone()
    assert row == (counted["papers"],)


def test_papers_added_by_a_papertui_that_kept_no_total_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another papertui (an earlier one, or another branch of it) adding papers to the same
    cache without keeping the total: the total is not trusted, the papers are counted, and
    the next open puts the total right."""
    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    lib = Library.open(tmp_path / "lib")
    import_files(lib, feeds[:2])
    _check(lib)
    with monkeypatch.context() as patch:
        patch.setattr(Cache, "_papers_added", staticmethod(lambda conn, count: None))
        other = Library.open(lib.root)
        import_files(other, feeds[2:])
        other.close()
    assert lib.refresh()
    assert len(lib) == _counted(lib.root)["papers"] == _in_the_truth(lib.root)
    _check(lib)  # (a new handle too: it puts the total right)
    path = default_location(lib.root)
    with sqlite3.connect(path) as conn:
        kept = dict(conn.execute("SELECT name, n FROM tally"))
    assert kept["papers"] == _counted(lib.root)["papers"]


def test_a_screenful_of_rows_equals_the_rows_read_one_by_one(tmp_path: Path) -> None:
    lib = _two_imports(tmp_path / "lib")
    ids = list(lib.query(""))
    lib.set_state(ids[1:4], "tag", add_tags=["video"], starred=True)
    lib.close()
    one_by_one = Library.open(lib.root)
    expected = [(one_by_one.raw(pid), one_by_one.raw_state(pid)) for pid in ids]
    at_once = Library.open(lib.root)
    assert at_once.rows(ids[:40]) + at_once.rows(ids[40:]) == expected
    assert at_once.rows([]) == []
    with pytest.raises(KeyError):
        Library.open(lib.root).rows([ids[0], "p00000000"])
    # A paper whose record cannot be read is shown as its row says so, as `raw` does.
    lib.close()
    second = _relaid(sorted((lib.root / "papers").iterdir())[1])
    victim = json.loads(second.read_text())["papers"]["1"]["id"]
    broken = Library.open(lib.root)
    found = dict(zip(ids, broken.rows(ids), strict=True))
    assert "unreadable" in found[victim][0]["title"]
    assert found[victim] == (Library.open(lib.root).raw(victim), expected[ids.index(victim)][1])


@pytest.mark.parametrize("size", [(120, 35), (80, 24)])
async def test_the_list_draws_its_rows_as_textual_would(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """The list frames its rows itself (borders, line filters): every line equals the one
    Textual's own drawing gives, focused or not, after paging, with a selection."""
    lib = Library.open(tmp_path / "lib")
    import_files(lib, sorted(p for p in FEEDS.iterdir() if p.is_file()))
    app = build(lib, tmp_path)

    def textuals(plist: PaperList) -> list:
        plist._edges = lambda: None  # type: ignore[method-assign]  # Textual draws it all
        try:
            plist._styles_cache.clear()
            return plist.render_lines(Region(0, 0, *plist.outer_size))
        finally:
            del plist._edges

    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        plist = app.query_one(PaperList)
        assert plist._edges() is not None  # (the pane as styled is framed by the list)
        for keys in ([], ["pagedown"], ["down", "v"], ["space"], ["G"], ["tab"]):
            await pilot.press(*keys)
            await pilot.pause()
            whole = Region(0, 0, *plist.outer_size)
            ours = plist.render_lines(whole)
            assert [line.text for line in ours] == [line.text for line in textuals(plist)]
            assert ours == textuals(plist)
            part = Region(3, 2, plist.outer_size.width - 5, 4)
            assert plist.render_lines(part) == [
                line.crop(3, plist.outer_size.width - 2) for line in ours[2:6]
            ]
