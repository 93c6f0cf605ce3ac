"""The union of papers across machines follows the identity rules of an import (issue 11;
README, "Merge rules"): a paper one machine took from a feed without arXiv ids (Hugging Face
text, a Chinese digest) and another from a feed with them (the Hugging Face page) is ONE paper
after a sync, with the state both machines gave it, under the same id on every machine.

The oracle is one machine importing every feed (the real CLI, in a fresh process): the same
groups of feeds make the same papers. Syncs are real `papertui sync` runs with a bare remote;
a Syncthing-style union is the two folders' files copied together."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.library import Library, LibraryError
from tui.sources import load_source

from .feedgen import hf_text, rss
from .test_sync import bare_remote, cli, listed, note, ok
from .test_sync_merge import fake_clock, open_as, sync

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
HF_TEXT = FEEDS / "hf-daily-papers.txt"  # no arXiv ids
DIGEST = FEEDS / "digest-dit-acceleration.txt"  # no arXiv ids, Chinese titles
HF_PAGE = FEEDS / "hf-daily-papers-2026-06-19.html"  # the same papers with their arXiv ids
STREAMDIT = "2507.03745"  # in the HF text (no id) and on the HF page (with it)
SHIVA = "Shiva-DiT"  # in the digest (a Chinese title only) and on the HF page


def by_title(db: Path | dict[str, dict[str, Any]], start: str) -> list[dict[str, Any]]:
    """The papers whose English or Chinese title starts with ``start``, of the library at
    ``db`` or of papers `listed` already read."""
    papers = listed(db) if isinstance(db, Path) else db
    return [
        p for p in papers.values() if (p.get("title") or p.get("title_zh") or "").startswith(start)
    ]


def groups(db: Path | dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """Each paper as the sorted formats of the feeds it came from (ids aside)."""
    papers = listed(db) if isinstance(db, Path) else db
    return sorted(tuple(sorted(s["format"] for s in p["sources"])) for p in papers.values())


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, ...]]:
    """Every feed imported on one machine: the papers the synced libraries must hold (as
    `groups`)."""
    db = tmp_path_factory.mktemp("oracle") / "lib"
    ok(db, "solo", "import", str(HF_TEXT), str(DIGEST), str(HF_PAGE))
    return groups(db)


def machines(tmp_path: Path) -> tuple[Path, Path, Path, str, str]:
    """(remote, A, B, A's id of StreamDiT, A's id of Shiva-DiT): A imported the feeds
    without arXiv ids, B the page with them; A starred StreamDiT, B tagged it and wrote a
    note on it; both shared their libraries with the remote."""
    remote = bare_remote(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    ok(a, "mach-a", "import", str(HF_TEXT), str(DIGEST))
    ok(b, "mach-b", "import", str(HF_PAGE))
    (stream,) = by_title(a, "StreamDiT")
    (shiva,) = by_title(a, SHIVA)
    assert stream["id"] != STREAMDIT and not stream.get("arxiv_id")  # two ids before a sync
    ok(a, "mach-a", "star", stream["id"])
    ok(a, "mach-a", "tag", shiva["id"], "--add", "from-a")
    ok(b, "mach-b", "tag", STREAMDIT, "--add", "from-b")
    note(b, "mach-b", STREAMDIT, "b's note")
    ok(a, "mach-a", "sync", "init", str(remote))
    ok(b, "mach-b", "sync", "init", str(remote))
    return remote, a, b, stream["id"], shiva["id"]


@pytest.mark.parametrize("first", ["a", "b"])
def test_a_paper_from_a_feed_without_ids_and_one_with_them_is_one_paper_after_sync(
    tmp_path: Path, one_machine: list[tuple[str, ...]], first: str
) -> None:
    _, a, b, stream_a, shiva_a = machines(tmp_path)
    devices = {a: "mach-a", b: "mach-b"}
    order = [a, b] if first == "a" else [b, a]
    said = [ok(db, devices[db], "sync") for db in order * 2]
    # The first machine to take the other's papers in says what became one.
    assert f"{stream_a} is {STREAMDIT}" in said[0] + said[1], said
    papers = {db: listed(db) for db in (a, b)}
    assert groups(papers[a]) == one_machine == groups(papers[b])  # as one machine
    assert papers[a] == papers[b]
    for db in papers.values():
        (stream,) = by_title(db, "StreamDiT")
        assert stream["id"] == STREAMDIT  # the arXiv id is kept, on every machine
        assert sorted(s["format"] for s in stream["sources"]) == ["hf-html", "hf-text"]
        assert stream["state"]["starred"] and stream["state"]["tags"] == ["from-b"]
        assert stream["state"]["note"] == "b's note"
        (shiva,) = by_title(db, SHIVA)
        assert shiva["state"]["tags"] == ["from-a"]
        assert sorted(s["format"] for s in shiva["sources"]) == ["digest", "hf-html"]
        assert shiva_a not in db
    # The id A knew it by still names it, in every command.
    out = ok(a, "mach-a", "tag", stream_a, "--add", "later-a")
    assert "1" in out
    (stream,) = by_title(a, "StreamDiT")
    assert stream["state"]["tags"] == ["from-b", "later-a"]
    exported = ok(a, "mach-a", "export", "-o", "-")
    assert exported.count("StreamDiT: Real-Time") == 1


def test_a_change_made_on_the_absorbed_id_by_a_machine_that_had_not_synced_yet_applies(
    tmp_path: Path,
) -> None:
    """B merged the two copies when it joined; A, not synced since, marks its copy read (a
    change recorded against A's id), undoes its star, then syncs: on both machines the one
    paper is read, not starred, tagged and noted by B."""
    _, a, b, stream_a, _ = machines(tmp_path)
    ok(a, "mach-a", "read", stream_a)
    ok(a, "mach-a", "star", "--off", stream_a)
    ok(a, "mach-a", "undo")  # (the unstar: A's own last change)
    ok(a, "mach-a", "star", "--off", stream_a)
    for db, device in ((a, "mach-a"), (b, "mach-b"), (a, "mach-a")):
        ok(db, device, "sync")
    for db in (a, b):
        (stream,) = by_title(db, "StreamDiT")
        assert stream["id"] == STREAMDIT
        state = stream["state"]
        assert (state["read"], state["starred"], state["tags"], state["note"]) == (
            True,
            False,
            ["from-b"],
            "b's note",
        ), db
    # Undo stays per machine: A's undo takes back A's unstar, never B's tag or note.
    ok(a, "mach-a", "undo")
    (stream,) = by_title(a, "StreamDiT")
    assert stream["state"]["starred"] and stream["state"]["tags"] == ["from-b"]
    ok(a, "mach-a", "sync")
    ok(b, "mach-b", "sync")
    assert listed(a) == listed(b)


def test_notes_written_on_both_copies_are_both_kept_as_a_conflict(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    ok(a, "mach-a", "import", str(HF_TEXT))
    ok(b, "mach-b", "import", str(HF_PAGE))
    (stream,) = by_title(a, "StreamDiT")
    note(a, "mach-a", stream["id"], "a's note")
    note(b, "mach-b", STREAMDIT, "b's note")
    ok(a, "mach-a", "sync", "init", str(remote))
    ok(b, "mach-b", "sync", "init", str(remote))
    brought = ok(a, "mach-a", "sync")
    assert "note conflict" in brought or "both kept" in brought.lower(), brought
    ok(b, "mach-b", "sync")
    notes = []
    for db in (a, b):
        (merged,) = by_title(db, "StreamDiT")
        assert merged["id"] == STREAMDIT
        notes.append(merged["state"]["note"])
        assert "a's note" in notes[-1] and "b's note" in notes[-1]
        assert "papertui sync: note conflict" in notes[-1]
    assert notes[0] == notes[1]


def test_a_syncthing_union_of_two_folders_holds_the_one_paper(
    tmp_path: Path, one_machine: list[tuple[str, ...]]
) -> None:
    """No git: the two folders' files copied together, then opened (its cache built anew,
    and, in another copy, A's cache catching up with B's files)."""
    a, b = tmp_path / "a", tmp_path / "b"
    ok(a, "mach-a", "import", str(HF_TEXT), str(DIGEST))
    ok(b, "mach-b", "import", str(HF_PAGE))
    (stream,) = by_title(a, "StreamDiT")
    ok(a, "mach-a", "star", stream["id"])
    ok(b, "mach-b", "tag", STREAMDIT, "--add", "from-b")
    for name, keep_cache in (("fresh", False), ("caught-up", True)):
        union = tmp_path / name
        shutil.copytree(a, union, ignore=None if keep_cache else shutil.ignore_patterns(".cache"))
        for sub in ("papers", "changes", "state"):
            for path in (b / sub).iterdir():
                shutil.copy2(path, union / sub / path.name)
        papers = listed(union)
        assert groups(papers) == one_machine, name
        (merged,) = by_title(papers, "StreamDiT")
        assert merged["id"] == STREAMDIT
        assert merged["state"]["starred"] and merged["state"]["tags"] == ["from-b"], name
    # Both ways of opening give the same library.
    assert listed(tmp_path / "fresh") == listed(tmp_path / "caught-up")
    lib = Library.open(tmp_path / "caught-up")
    assert lib.resolve(stream["id"]) == STREAMDIT
    lib.close()
    doctor = cli(tmp_path / "fresh", "mach-a", "doctor")
    assert "merged" in doctor.stdout, doctor.stdout


# ============================================================================ any interleaving
# One paper as two feeds carry it: arXiv RSS with its id, Hugging Face text without (L0);
# another only in Hugging Face text, whole or cut short by a truncated download (L1: both
# without ids, filed under two different hashed ids, one paper by rule 3).
L0_TITLE = "Sparse flow matching for long video generation"
L0_ABSTRACT = (
    "We study sparse flow matching for long video generation. A moving window of frames is "
    "denoised together, so that the model streams video of any length at a fixed cost. "
) * 2
L1_TITLE = "Caching features across timesteps of diffusion transformers"
L1_ABSTRACT = (
    "Diffusion transformers recompute every block at every timestep. We cache the features "
    "of blocks whose inputs change little between timesteps and reuse them, which halves "
    "the cost of sampling without a visible loss of quality. "
) * 2
COPIES = {
    "with": (L0_TITLE, "rss"),
    "without": (L0_TITLE, "hf"),
    "whole": (L1_TITLE, "hf"),
    "cut": (L1_TITLE, "hf-cut"),
}
DEVICES = ("a", "b", "c")


def feed_of(tmp: Path, copy: str) -> Path:
    title, kind = COPIES[copy]
    abstract = L0_ABSTRACT if title == L0_TITLE else L1_ABSTRACT
    path = tmp / f"{copy}.feed"
    if kind == "rss":
        text = rss([{"id": "2611.30000", "title": title, "abstract": abstract, "authors": ["A"]}])
    else:
        if kind == "hf-cut":
            abstract = abstract[:120].rstrip() + "…"
        text = hf_text([{"title": title, "abstract": abstract}])
    path.write_text(text, encoding="utf-8")
    return path


def ids_of(lib: Library) -> dict[str, list[str]]:
    """The library's ids of each logical paper (by its title)."""
    found: dict[str, list[str]] = {L0_TITLE: [], L1_TITLE: []}
    for pid in lib:
        found[lib.raw(pid)["title"]].append(pid)
    return found


OPS_ANY = st.one_of(
    st.tuples(st.just("import"), st.integers(0, 2), st.sampled_from(sorted(COPIES)), st.none()),
    st.tuples(st.just("star"), st.integers(0, 2), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("tag"), st.integers(0, 2), st.integers(0, 1), st.sampled_from("xyz")),
    st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2), st.none()),
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# A takes L0 without its id and stars it; B takes it with its id and tags it; they meet.
@example(
    steps=[
        ("import", 0, "without", None),
        ("star", 0, 0, True),
        ("import", 1, "with", None),
        ("tag", 1, 0, "x"),
        ("sync", 0, 1, None),
        ("sync", 1, 0, None),
    ]
)
# L1 whole on one machine, cut on another, each order on a third: the smaller id is kept.
@example(
    steps=[
        ("import", 0, "cut", None),
        ("import", 1, "whole", None),
        ("import", 2, "whole", None),
        ("import", 2, "cut", None),
        ("tag", 2, 1, "y"),
        ("star", 0, 1, True),
        ("sync", 2, 0, None),
    ]
)
@given(steps=st.lists(OPS_ANY, min_size=3, max_size=14))
def test_three_machines_taking_a_paper_from_different_feeds_in_any_order_converge(
    steps: list[Any],
) -> None:
    """Three machines import copies of two papers from feeds with and without arXiv ids,
    star and tag them, and copy each other's files in a random order (as a pull does). After
    a full exchange every machine holds one paper per paper imported anywhere, under the
    same id (an arXiv id when a machine stored it so, else the smallest), starred as
    the last star made anywhere says, with every tag added anywhere; all three show the
    same, and so does a cache built again from the files. (One machine importing a second
    copy keeps the id it has, as an import does; a sync's choice is among the ids machines
    stored it under.)"""
    with (
        tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp,
        fake_clock() as clock,
    ):
        roots = {d: Path(tmp) / d for d in DEVICES}
        libs = {d: open_as(roots[d], d) for d in DEVICES}
        has: dict[str, set[int]] = {d: set() for d in DEVICES}
        imported: dict[int, set[str]] = {0: set(), 1: set()}
        stored: dict[int, set[str]] = {0: set(), 1: set()}  # copies first stored somewhere
        starred: dict[int, bool] = {0: False, 1: False}
        tags: dict[int, set[str]] = {0: set(), 1: set()}
        for kind, who, what, arg in steps:
            d = DEVICES[who]
            clock.tick(1)
            lib = libs[d]
            if kind == "import":
                loaded = load_source(str(feed_of(Path(tmp), what)))
                lib.import_feeds([(loaded.result, loaded.source)])
                paper = 0 if COPIES[what][0] == L0_TITLE else 1
                if paper not in has[d]:  # (else the copy merges into the paper held)
                    stored[paper].add(what)
                has[d].add(paper)
                imported[paper].add(what)
            elif kind == "sync":
                other = DEVICES[what]
                if other != d:
                    sync(roots[other], roots[d])
                    lib.refresh()
                    has[d] |= has[other]
            elif what in has[d]:
                (pid,) = ids_of(lib)[(L0_TITLE, L1_TITLE)[what]]  # one paper on a machine
                if kind == "star":
                    lib.set_state([pid], "star", starred=arg)
                    starred[what] = arg
                else:
                    lib.set_state([pid], "tag", add_tags=[arg])
                    tags[what].add(arg)
        for _ in range(2):
            for d in DEVICES:
                for other in DEVICES:
                    if other != d:
                        sync(roots[other], roots[d])
        alone = {copy: new_id_of(Path(tmp), copy) for copy in COPIES}
        views = []
        for d in DEVICES:
            lib = libs[d]
            lib.refresh()
            found = ids_of(lib)
            for paper, title in enumerate((L0_TITLE, L1_TITLE)):
                if not imported[paper]:
                    assert found[title] == [], d
                    continue
                # Of the ids machines stored it under, an arXiv id, else the smallest.
                ids = {alone[copy] for copy in stored[paper]}
                want = min(ids, key=lambda pid: (pid.startswith("p"), pid))
                assert found[title] == [want], (d, paper)
                state = lib.raw_state(want)
                assert bool(state.get("starred")) == starred[paper], (d, paper)
                assert set(state.get("tags", [])) == tags[paper], (d, paper)
            views.append({pid: (lib.record(pid), dict(lib.raw_state(pid))) for pid in lib})
            lib.close()
        assert views[0] == views[1] == views[2]
        again = open_as(roots["a"], "a")
        again.rebuild()
        assert {pid: (again.record(pid), dict(again.raw_state(pid))) for pid in again} == views[0]
        again.close()


def new_id_of(tmp: Path, copy: str) -> str:
    """The id a library alone gives ``copy`` (imported into an empty one)."""
    lib = Library.open(tmp / f"alone-{copy}", parents=True)
    loaded = load_source(str(feed_of(tmp, copy)))
    lib.import_feeds([(loaded.result, loaded.source)])
    (pid,) = list(lib)
    lib.close()
    return pid


@pytest.mark.parametrize("held", ["without", "with"])
def test_changes_that_arrive_before_their_paper_land_on_the_one_paper(
    tmp_path: Path, held: str
) -> None:
    """A file-sync tool copies B's changes before B's papers: the state of B's id waits in
    the cache without its paper; when the paper arrives and is united with A's copy, both
    machines' changes are on the one paper (the state replayed), and a cache built again
    shows the same."""
    other = "with" if held == "without" else "without"
    a, b = tmp_path / "a", tmp_path / "b"
    pids = {}
    for root, device, copy, fields in (
        (a, "a", held, {"starred": True}),
        (b, "b", other, {"add_tags": ["from-b"]}),
    ):
        lib = open_as(root, device)
        loaded = load_source(str(feed_of(tmp_path, copy)))
        lib.import_feeds([(loaded.result, loaded.source)])
        (pids[device],) = list(lib)
        lib.set_state([pids[device]], "change", **fields)
        lib.close()
    (b / ".stfolder").mkdir()
    lib = open_as(a, "a")
    for sub in ("changes", "papers"):  # (the changes first: refreshed in between)
        for path in (b / sub).iterdir():
            shutil.copy2(path, a / sub / path.name)
        lib.refresh()
    assert list(lib) == ["2611.30000"]
    state = lib.raw_state("2611.30000")
    assert state["starred"] and state["tags"] == ["from-b"]
    assert lib.resolve(pids["a"]) == lib.resolve(pids["b"]) == "2611.30000"
    # Undo on A takes back A's star only.
    assert lib.undo() == "change"
    state = lib.raw_state("2611.30000")
    assert not state.get("starred") and state["tags"] == ["from-b"]
    view = dict(state)
    lib.rebuild()
    assert list(lib) == ["2611.30000"] and dict(lib.raw_state("2611.30000")) == view
    lib.close()


# ================================================ one digest, two arXiv papers, one abstract
# A duplicate submission: two arXiv ids, the same title and abstract; and a copy without an
# id (Hugging Face text) that rule 2 finds to be either. Each machine unites the copy with
# the one it held first: after a sync the digest's id named one paper on one machine and the
# other on another (its star and tags on different papers), and a rebuild a third.
DUP_TITLE = "Alpha rescaling for diffusion models"
DUP_ABSTRACT = (
    "We study the alpha phenomenon in large diffusion models and show that a simple "
    "rescaling of the noise schedule removes most artifacts across model sizes. "
) * 2
DUP_IDS = {"x": "2612.00001", "y": "2612.00002"}


def dup_feed(tmp: Path, copy: str) -> Path:
    path = tmp / f"dup-{copy}.feed"
    if copy == "none":
        text = hf_text([{"title": DUP_TITLE, "abstract": DUP_ABSTRACT}])
    else:
        paper = {"id": DUP_IDS[copy], "title": DUP_TITLE, "abstract": DUP_ABSTRACT}
        text = rss([{**paper, "authors": ["A"]}])
    path.write_text(text, encoding="utf-8")
    return path


OPS_DUP = st.one_of(
    st.tuples(st.just("import"), st.integers(0, 2), st.sampled_from(["none", "x", "y"])),
    st.tuples(st.just("star"), st.integers(0, 2), st.sampled_from(["none", "x", "y"])),
    st.tuples(st.just("tag"), st.integers(0, 2), st.sampled_from(["none", "x", "y"])),
    st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2)),
)


@settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
# The case found: A takes the digest, then x, then y; B the digest, then y, then x; the
# digest starred on A and tagged on B; they meet.
@example(
    steps=[
        ("import", 0, "none"),
        ("import", 0, "x"),
        ("import", 0, "y"),
        ("import", 1, "none"),
        ("import", 1, "y"),
        ("import", 1, "x"),
        ("star", 0, "none"),
        ("tag", 1, "none"),
    ]
)
@given(steps=st.lists(OPS_DUP, min_size=3, max_size=12))
def test_a_copy_without_an_id_that_is_either_of_two_arxiv_papers_lands_alike_everywhere(
    steps: list[Any],
) -> None:
    """Three machines import the three copies in any order, star and tag them (the digest
    by its own id), and exchange files in any order. After a full exchange every machine
    shows the same papers, records and state, and so does a cache built again from the
    files; x and y stay two papers; no star or tag made anywhere is lost: each is on the
    paper the id it was made on names (the digest's id names the same one of the two on
    every copy)."""
    with (
        tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp,
        fake_clock() as clock,
    ):
        roots = {d: Path(tmp) / d for d in DEVICES}
        libs = {d: open_as(roots[d], d) for d in DEVICES}
        alone = Library.open(Path(tmp) / "alone", parents=True)
        loaded = load_source(str(dup_feed(Path(tmp), "none")))
        alone.import_feeds([(loaded.result, loaded.source)])
        (digest_id,) = list(alone)  # the id every machine files the digest under
        alone.close()
        made: list[tuple[str, str]] = []  # (the id it was made on, "star" or a tag)
        for n, (kind, who, what) in enumerate(steps):
            d = DEVICES[who]
            clock.tick(1)
            lib = libs[d]
            if kind == "import":
                loaded = load_source(str(dup_feed(Path(tmp), what)))
                lib.import_feeds([(loaded.result, loaded.source)])
            elif kind == "sync":
                other = DEVICES[what]
                if other != d:
                    sync(roots[other], roots[d])
                    lib.refresh()
            else:
                try:
                    pid = lib.resolve(digest_id if what == "none" else DUP_IDS[what])
                except LibraryError:
                    continue  # (not on this machine yet)
                if kind == "star":
                    lib.set_state([pid], "star", starred=True)
                    made.append((pid, "star"))
                else:
                    lib.set_state([pid], "tag", add_tags=[f"t{n}"])
                    made.append((pid, f"t{n}"))
        for _ in range(2):
            for d in DEVICES:
                for other in DEVICES:
                    if other != d:
                        sync(roots[other], roots[d])
        views = []
        for d in DEVICES:
            lib = libs[d]
            lib.refresh()
            views.append({pid: (lib.record(pid), dict(lib.raw_state(pid))) for pid in lib})
            assert len(list(lib)) <= 3, d
            for pid in lib:  # x and y stay two papers: neither holds the other's feed
                paper = lib.record(pid)
                rss_feeds = {
                    Path(s["origin"]).name for s in paper["sources"] if s["format"] == "arxiv-rss"
                }
                mine = {f"dup-{c}.feed" for c, i in DUP_IDS.items() if i == paper.get("arxiv_id")}
                assert rss_feeds <= mine, (d, pid, rss_feeds)
            for ref, mark in made:
                state = lib.raw_state(lib.resolve(ref))
                assert state.get("starred") if mark == "star" else mark in state["tags"], (
                    d,
                    ref,
                    mark,
                )
            lib.close()
        assert views[0] == views[1] == views[2]
        again = open_as(roots["a"], "a")
        again.rebuild()
        assert {p: (again.record(p), dict(again.raw_state(p))) for p in again} == views[0]
        again.close()
