"""Records kept once (each paper's record read from its truth segment, not copied into the
cache), attacked by an adversary as a file-sync tool, a second process and a second machine
would. Each test failed before its fix. The oracle is the segment files read with the json
module and the feeds generated here (tests/feedgen.py), never the library's own reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.library import Library, core
from tui.sources import load_source

from .feedgen import rss

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, device: str = "laptop") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PAPERTUI_DEVICE": device, "COLUMNS": "200", "NO_COLOR": "1"},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def listed(root: Path) -> dict[str, dict[str, Any]]:
    """What `papertui list --json` shows of every paper, by id (the CLI must succeed)."""
    done = cli("list", "--json", "--db", str(root))
    assert done.returncode == 0, done.stderr
    return {paper["id"]: paper for paper in json.loads(done.stdout)}


def paper(n: int, **fields: Any) -> dict[str, Any]:
    """A generated arXiv paper (tests/feedgen.py's shape)."""
    made = {
        "id": f"2606.{10000 + n}",
        "title": f"Sparse attention for video model number {n}",
        "abstract": f"We study sparse attention in video model {n}. " * 3,
        "authors": [f"Ann Author{n}", "Bo Wu"],
    }
    made.update(fields)
    return made


def segment_docs(root: Path) -> list[dict[str, Any]]:
    """Every paper document of every segment with its sources resolved, read with the json
    module (the oracle's reader)."""
    return segment_docs_of(sorted((root / "papers").iterdir()))


def segment_docs_of(paths: list[Path]) -> list[dict[str, Any]]:
    """`segment_docs` of these segment files."""
    docs = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        feeds = {doc["key"]: doc for doc in data["feeds"].values()}
        for key in sorted(data["papers"], key=int):
            doc = dict(data["papers"][key])
            doc["sources"] = [
                {k: v for k, v in feeds[s].items() if k != "key"} for s in doc.pop("src", [])
            ]
            docs.append(doc)
    return docs


def import_as(root: Path, device: str, stamp: str, feed: Path) -> None:
    """Import ``feed`` into the library at ``root`` as the machine ``device`` at ``stamp``
    (the segment's time, which orders the segments of all machines)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "now_iso", lambda: stamp)
        lib = Library.open(root, parents=True)
        lib.device = device
        try:
            loaded = load_source(str(feed), imported_at=stamp)
            lib.import_feeds([(loaded.result, loaded.source)])
        finally:
            lib.close()


# ----------------------------------------------------------------------------- two machines
def test_two_machines_libraries_united_keep_every_feed_each_paper_was_seen_in(
    tmp_path: Path,
) -> None:
    """Laptop and desk import overlapping feeds into their own copies of a library; the desk's
    files are then copied into the laptop's folder (a sync tool): "the union of two copies is
    a library with both copies' papers" (README, how the library is stored), so each paper
    lists every feed any machine saw it in, after catching up and after a rebuild alike. The
    desk's later version, written without the laptop's, must not replace the record merged
    from both (it did: the laptop's feeds were dropped)."""
    laptop, desk = tmp_path / "laptop", tmp_path / "desk"
    feeds = tmp_path / "feeds"
    feeds.mkdir()

    def feed(name: str, papers: list[dict[str, Any]], date: str) -> Path:
        path = feeds / name
        path.write_text(rss(papers, date), encoding="utf-8")
        return path

    ts = "2026-11-2{}T08:00:00+00:00".format
    import_as(laptop, "laptop", ts(1), feed("l1.xml", [paper(n) for n in range(6)], "2026-06-19"))
    import_as(desk, "desk", ts(2), feed("d1.xml", [paper(n) for n in range(2, 8)], "2026-06-20"))
    import_as(laptop, "laptop", ts(3), feed("l2.xml", [paper(5, v=2)], "2026-06-21"))
    import_as(desk, "desk", ts(4), feed("d2.xml", [paper(n, v=3) for n in (2, 5, 7)], "2026-06-22"))
    for path in (desk / "papers").iterdir():
        shutil.copy2(path, laptop / "papers" / path.name)

    seen: dict[str, set[str]] = {}  # the oracle: each id's feeds, from every segment
    for doc in segment_docs(laptop):
        seen.setdefault(doc["id"], set()).update(s["origin"] for s in doc["sources"])
    assert seen["2606.10002"] == {str(feeds / n) for n in ("l1.xml", "d1.xml", "d2.xml")}

    for how in ("caught up", "rebuilt"):
        if how == "rebuilt":
            assert cli("doctor", "--rebuild", "--db", str(laptop)).returncode == 0
        shown = listed(laptop)
        assert set(shown) == set(seen), how
        for pid, origins in seen.items():
            got = {s["origin"] for s in shown[pid]["sources"]}
            assert got == origins, (how, pid)


# ----------------------------------------------------------------------------- a sync tool
def four_imports(root: Path, tmp_path: Path) -> list[Path]:
    """A library of four imports by this machine (papers 0-39, each import ten new ones and
    a new version of one earlier paper); its segments, oldest first."""
    for k in range(4):
        papers = [paper(n) for n in range(10 * k, 10 * k + 10)] + [paper(k, v=2)] * (k > 0)
        path = tmp_path / f"feed{k}.xml"
        path.write_text(rss(papers, f"2026-06-{19 + k}"), encoding="utf-8")
        import_as(root, "laptop", f"2026-11-2{k}T08:00:00+00:00", path)
    return sorted((root / "papers").iterdir())


async def test_the_app_survives_a_segment_deleted_and_another_cut_short_under_it(
    tmp_path: Path,
) -> None:
    """A sync tool deletes one segment and leaves another cut short while the app is open;
    r (reload) builds the cache again from the files that are whole, says which file is
    not readable and what to run, and goes on (it crashed: the cache was deleted before it
    was built again, and the list then read a database with no tables). The cut file is
    another machine's, so it may still be arriving: its papers come once it is whole."""
    from .test_app import build, settle, toasts

    root = tmp_path / "lib"
    segments = four_imports(root, tmp_path)
    lib = Library.open(root)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        shown = len(app.paper_list.ids)
        assert shown == 40
        segments[0].rename(tmp_path / segments[0].name)  # (deleted from the library)
        data = segments[1].read_bytes()
        segments[1].write_bytes(data[: len(data) // 2])
        await pilot.press("r")
        await settle(pilot)
        assert any(segments[1].name in t and "doctor --repair" in t for t in toasts(app))
        whole = {doc["id"] for doc in segment_docs_of(segments[2:])}
        assert set(app.paper_list.ids) == whole
        await pilot.press("j", "j", "G", "g")
        await settle(pilot)
        assert app.is_running
    lib.close()


def test_a_segment_another_tool_laid_out_anew_does_not_stop_the_next_machines_papers(
    tmp_path: Path,
) -> None:
    """A sync tool rewrites a segment in its own layout (same data, other bytes) after the
    cache read it; then the desk's version of one of its papers arrives. Taking that version
    in needs the record it merges with, which is no longer where the cache says: the cache is
    built again from the files (they are whole), and the library lists every paper with
    both machines' feeds (every command failed, even `list`, until doctor was run)."""
    root = tmp_path / "lib"
    segments = four_imports(root, tmp_path)
    cli("list", "--db", str(root))  # (the cache reads the segments as papertui wrote them)
    data = json.loads(segments[1].read_text(encoding="utf-8"))
    segments[1].write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    victim = data["papers"]["3"]["id"]
    desk_feed = tmp_path / "desk.xml"
    desk_feed.write_text(rss([paper(int(victim[-2:]), v=3)], "2026-06-25"), encoding="utf-8")
    import_as(tmp_path / "desk", "desk", "2026-11-25T08:00:00+00:00", desk_feed)
    for path in (tmp_path / "desk" / "papers").iterdir():
        shutil.copy2(path, root / "papers" / path.name)

    shown = listed(root)
    docs = segment_docs(root)
    assert set(shown) == {doc["id"] for doc in docs}
    for doc in docs:
        origins = {s["origin"] for s in shown[doc["id"]]["sources"]}
        assert {s["origin"] for s in doc["sources"]} <= origins, doc["id"]
    assert {s["origin"] for s in shown[victim]["sources"]} >= {str(desk_feed)}
    assert cli("doctor", "--db", str(root)).returncode == 0


# ----------------------------------------------------------------------------- by hand
def test_a_paper_written_twice_in_a_segment_edited_by_hand_shows_its_last_version(
    tmp_path: Path,
) -> None:
    """A segment edited by hand (written back with the json module, compact, which escapes
    the new "é") to hold a second, later version of a paper after the others: the library
    takes the later one, as it does any record that follows another of its id, and must show
    that one. Its earlier version is still where papertui wrote it, byte for byte; the cache
    pointed there (it showed the old title, while search found the paper by the new one)."""
    root = tmp_path / "lib"
    (segment,) = four_imports(root, tmp_path)[:1]
    data = json.loads(segment.read_text(encoding="utf-8"))
    first = data["papers"]["1"]
    data["papers"][str(len(data["papers"]) + 1)] = {**first, "title": "Café, corrected by hand"}
    segment.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    shutil.rmtree(root / ".cache")

    shown = listed(root)
    assert shown[first["id"]]["title"] == "Café, corrected by hand"
    found = cli("list", "--json", "--search", "corrected", "--db", str(root))
    assert [p["title"] for p in json.loads(found.stdout)] == ["Café, corrected by hand"]


def test_one_machines_segments_arriving_out_of_order_show_its_last_version(
    tmp_path: Path,
) -> None:
    """The desk imports three times; a sync tool brings its segments to the laptop in another
    order (newest first), and the desk's clock had been set back before its second import.
    Each version a machine writes grows from its previous one (the desk's own cache held it),
    so every paper must show the version in the desk's latest segment holding it, whatever
    order the files arrived or were stamped in, caught up file by file or rebuilt (an older
    version arriving, or stamped, later replaced the newer one)."""
    desk, laptop = tmp_path / "desk", tmp_path / "laptop"
    imports = [
        ([paper(n) for n in range(6)], "2026-11-21"),
        ([paper(n, v=2, title=f"Revised sparse attention {n}") for n in (2, 3)], "2026-11-20"),
        ([paper(3, v=3, title="Third sparse attention 3"), paper(4, v=3)], "2026-11-23"),
    ]
    for k, (papers, day) in enumerate(imports):
        path = tmp_path / f"desk{k}.xml"
        path.write_text(rss(papers, f"2026-06-{20 + k}"), encoding="utf-8")
        import_as(desk, "desk", f"{day}T08:00:00+00:00", path)
    own = tmp_path / "laptop.xml"
    own.write_text(rss([paper(n) for n in (50, 51)], "2026-06-19"), encoding="utf-8")
    import_as(laptop, "laptop", "2026-11-22T08:00:00+00:00", own)
    segments = sorted((desk / "papers").iterdir())
    assert len(segments) == 3
    latest = {doc["id"]: doc for doc in segment_docs(desk)}  # (read in the desk's order)
    assert latest["2606.10003"]["title"] == "Third sparse attention 3"

    def check(how: str) -> None:
        shown = listed(laptop)
        for pid, doc in latest.items():
            assert shown[pid]["title"] == doc["title"], (how, pid)
            assert shown[pid]["arxiv_version"] == doc["arxiv_version"], (how, pid)

    for path in reversed(segments):  # (newest first)
        shutil.copy2(path, laptop / "papers" / path.name)
        assert cli("list", "--db", str(laptop)).returncode == 0
    check("caught up")
    assert cli("doctor", "--rebuild", "--db", str(laptop)).returncode == 0
    check("rebuilt")


def test_a_segment_changed_between_the_rebuilds_two_passes_is_named_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild reads every segment's ids, then every segment's records. A sync tool that
    brings a new version of a segment in between (here: one more paper in it) made the
    second pass meet a paper the first had not seen (KeyError, a traceback). The rebuild
    stops naming the file; the next one takes every paper of the files as they are now."""
    root = tmp_path / "lib"
    segments = four_imports(root, tmp_path)
    target = segments[2]
    data = json.loads(target.read_text(encoding="utf-8"))
    data["papers"][str(len(data["papers"]) + 1)] = {**data["papers"]["1"], "id": "2606.99999"}
    first_pass = core.truth.segment_ids

    def segment_ids(path: Path | str) -> list[str]:
        ids = first_pass(path)
        if Path(path) == target:  # (read: now the sync tool writes its version)
            target.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        return ids

    monkeypatch.setattr(core.truth, "segment_ids", segment_ids)
    lib = Library.open(root)
    try:
        with pytest.raises(core.LibraryError, match=f"{target.name}: changed while"):
            lib.rebuild()
    finally:
        lib.close()
    monkeypatch.undo()

    shown = listed(root)
    assert set(shown) == {doc["id"] for doc in segment_docs(root)}
    assert "2606.99999" in shown
