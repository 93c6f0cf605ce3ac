"""The merge rules of one reading list kept on several machines (issue 11; README, "Several
machines"): each machine writes its own files, a sync copies the other machines' files in (as
`git pull` or Syncthing does: papers/, changes/ and state/ of one folder into another), and
opening the library applies them. Every copy must end up with the same state, and that state
must be what the rules give when applied to every change in order.

The oracle is written here: a small model of the rules (latest change wins per field, tags
as additions and removals, notes that keep every text, undo per machine that never overrides
a later change) applied to the operations the test made, ordered by a hybrid clock the model
works out itself; the library's files are read with the json module only for what the model
cannot know (nothing but their names). Clocks are the test's: each machine's wall clock is
the test's time plus its skew (a day behind, a year ahead)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.library import Library, core
from tui.library import state as state_module
from tui.sources import load_source

from .feedgen import rss

UTC = timezone.utc
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
DAY, YEAR = timedelta(days=1), timedelta(days=365)


# ----------------------------------------------------------------------------- clocks
class Clock:
    """The test's time, and the skew of the machine acting now."""

    def __init__(self) -> None:
        self.now = START
        self.skew = timedelta(0)

    def read(self) -> datetime:
        return self.now + self.skew

    def tick(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def fake_clock() -> Iterator[Clock]:
    """The library reads the time from the test's clock (the change's clock and its time)."""
    clock = Clock()

    class Now(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock.read()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "datetime", Now)
        patch.setattr(core, "now_iso", lambda: clock.read().isoformat(timespec="seconds"))
        yield clock


# ----------------------------------------------------------------------------- machines
def paper(n: int) -> dict[str, Any]:
    return {
        "id": f"2611.{20000 + n}",
        "title": f"Flow matching for sparse video model {n}",
        "abstract": f"We study flow matching in sparse video model number {n}. " * 3,
        "authors": [f"Ann Author{n}", "Bo Wu"],
    }


def import_feed(lib: Library, path: Path, papers: list[dict[str, Any]]) -> None:
    path.write_text(rss(papers, "2026-11-27"), encoding="utf-8")
    loaded = load_source(str(path), imported_at="2026-11-30T08:00:00+00:00")
    lib.import_feeds([(loaded.result, loaded.source)])


def open_as(root: Path, device: str) -> Library:
    lib = Library.open(root, parents=True)
    lib.device = device
    return lib


def sync(source: Path, target: Path) -> int:
    """Copy the truth files ``target`` lacks from ``source`` (what a pull brings); how many."""
    copied = 0
    for sub in ("papers", "changes", "state"):
        (target / sub).mkdir(exist_ok=True)
        for name in sorted(set(os.listdir(source / sub)) - set(os.listdir(target / sub))):
            shutil.copy2(source / sub / name, target / sub / name)
            copied += 1
    return copied


def view(lib: Library) -> dict[str, dict[str, Any]]:
    """Every paper's state as the library shows it, with the time it was last changed."""
    return {pid: dict(lib.raw_state(pid)) for pid in lib}


def records(lib: Library) -> dict[str, dict[str, Any]]:
    return {pid: lib.record(pid) for pid in lib}


def change_files(root: Path) -> dict[str, dict[str, Any]]:
    """The change files of a library, read with the json module: key -> its head."""
    found = {}
    for path in (root / "changes").iterdir():
        data = json.loads(path.read_text(encoding="utf-8"))
        (head,) = data["change"].values()
        found[path.stem] = head
    return found


MARK = re.compile(
    r"--- papertui sync: note conflict\. Above: as written on (\S+) at (\S+ \S+ UTC)\. "
    r"Below: as written on (\S+) at (\S+ \S+ UTC)\. Both kept"
)


# ============================================================================ two machines
@pytest.mark.parametrize("first", ["laptop", "desk"])
def test_two_machines_apart_then_synced_both_ways_hold_everything_either_did(
    tmp_path: Path, first: str
) -> None:
    """Laptop and desk share a library, then work apart: each imports a feed of its own and
    the same feed, stars, tags, writes notes and reads, on different papers and the same
    ones. Synced both ways twice (``first`` pulls first), both show the same papers and the
    same state, and that state holds what each did: tags merged, the later star and read,
    both notes."""
    with fake_clock() as clock:
        roots = {"laptop": tmp_path / "laptop", "desk": tmp_path / "desk"}
        seed = open_as(roots["laptop"], "laptop")
        import_feed(seed, tmp_path / "shared.xml", [paper(n) for n in range(4)])
        shared = {seed.record(pid)["arxiv_id"]: pid for pid in seed}
        seed.close()
        shutil.copytree(roots["laptop"], roots["desk"], ignore=shutil.ignore_patterns(".cache"))
        p = [shared[f"2611.{20000 + n}"] for n in range(4)]

        def act(device: str, *steps: tuple[str, dict[str, Any]]) -> Library:
            clock.skew = timedelta(0)
            lib = open_as(roots[device], device)
            for label, fields in steps:
                clock.tick()
                assert lib.set_state([fields.pop("id")], label, **fields) == 1, label
            return lib

        laptop = open_as(roots["laptop"], "laptop")
        import_feed(laptop, tmp_path / "l.xml", [paper(n) for n in (10, 11)])
        import_feed(laptop, tmp_path / "same.xml", [paper(n) for n in (20, 21)])
        desk = open_as(roots["desk"], "desk")
        import_feed(desk, tmp_path / "d.xml", [paper(n) for n in (30, 31)])
        import_feed(desk, tmp_path / "same.xml", [paper(n) for n in (20, 21)])
        ids = {
            lib.record(pid)["arxiv_id"]: pid for lib in (laptop, desk) for pid in lib
        }  # (the same feed's papers get the same ids on both: identity)
        laptop.close()
        desk.close()
        act(
            "laptop",
            ("star", {"id": p[0], "starred": True}),
            ("tag", {"id": p[0], "add_tags": ["diffusion"]}),
            ("note", {"id": p[1], "note": "laptop: check the ablation"}),
            ("read", {"id": ids["2611.20010"], "read": True}),
            ("tag", {"id": ids["2611.20020"], "add_tags": ["both-saw"]}),
            ("star", {"id": p[2], "starred": True}),
        ).close()
        act(
            "desk",
            ("tag", {"id": p[0], "add_tags": ["video"]}),
            ("read", {"id": p[0], "read": True}),
            ("note", {"id": p[3], "note": "desk: reproduce table 2"}),
            ("star", {"id": ids["2611.20030"], "starred": True}),
            ("tag", {"id": ids["2611.20020"], "add_tags": ["desk-too"]}),
            ("star", {"id": p[2], "starred": True}),
            ("read", {"id": p[2], "read": True}),
        ).close()
        act("laptop", ("unstar", {"id": p[2], "starred": False})).close()  # the latest: wins

        second = "desk" if first == "laptop" else "laptop"
        for _ in range(2):
            for target, source in ((first, second), (second, first)):
                sync(roots[source], roots[target])
                Library.open(roots[target]).close()
        libs = {name: open_as(root, name) for name, root in roots.items()}
        a, b = libs["laptop"], libs["desk"]
        assert records(a) == records(b)
        assert view(a) == view(b)
        # Nothing either did is missing: the oracle is the list of what each did above.
        assert {a.record(pid)["arxiv_id"] for pid in a} == {
            f"2611.{20000 + n}" for n in (0, 1, 2, 3, 10, 11, 20, 21, 30, 31)
        }
        assert len(a) == 10  # the feed both imported: its papers once
        want = {
            p[0]: {"starred": True, "read": True, "tags": {"diffusion", "video"}, "note": ""},
            p[1]: {
                "starred": False,
                "read": False,
                "tags": set(),
                "note": "laptop: check the ablation",
            },
            p[2]: {"starred": False, "read": True, "tags": set(), "note": ""},
            p[3]: {
                "starred": False,
                "read": False,
                "tags": set(),
                "note": "desk: reproduce table 2",
            },
            ids["2611.20010"]: {"starred": False, "read": True, "tags": set(), "note": ""},
            ids["2611.20020"]: {
                "starred": False,
                "read": False,
                "tags": {"both-saw", "desk-too"},
                "note": "",
            },
            ids["2611.20030"]: {"starred": True, "read": False, "tags": set(), "note": ""},
        }
        for lib in libs.values():
            for pid in lib:
                got = lib.raw_state(pid)
                shown = {
                    "starred": bool(got.get("starred")),
                    "read": bool(got.get("read")),
                    "tags": set(got.get("tags", [])),
                    "note": got.get("note", ""),
                }
                assert shown == want.get(
                    pid, {"starred": False, "read": False, "tags": set(), "note": ""}
                ), (lib.device, lib.record(pid)["arxiv_id"])
            assert lib.note_conflicts() == []  # notes on different papers: no conflict
            lib.rebuild()  # and the replay of every file gives the same
            assert view(lib) == view(a if lib is b else b)
            lib.close()


# ============================================================================ note conflict
def two_copies(tmp_path: Path, n: int = 3) -> tuple[dict[str, Path], list[str]]:
    """A library of ``n`` papers made on "seed", copied to a laptop and a desk."""
    base = tmp_path / "base"
    lib = open_as(base, "seed")
    import_feed(lib, tmp_path / "seed.xml", [paper(k) for k in range(n)])
    ids = sorted(lib)
    lib.close()
    roots = {name: tmp_path / name for name in ("laptop", "desk")}
    for root in roots.values():
        shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cache"))
    return roots, ids


def act(clock: Clock, root: Path, device: str, label: str, pid: str, **fields: Any) -> int:
    """One change made on ``device`` one minute after the previous one (test time)."""
    clock.tick()
    lib = open_as(root, device)
    try:
        return lib.set_state([pid], label, **fields)
    finally:
        lib.close()


def test_a_note_edited_on_two_machines_keeps_both_texts_marked_and_listed(
    tmp_path: Path,
) -> None:
    """Both machines change the same line of a note while apart. After syncing both ways,
    in either order, each copy holds one note with both versions of the line, between them a
    mark naming the other machine and when each wrote its text; both list it as a conflict;
    the lines neither changed are there once. Once the user resolves it (the mark deleted),
    it is no longer listed."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        pid = ids[0]
        base = "Method: flows.\nResult: unclear.\nTodo: read appendix."
        act(clock, roots["laptop"], "laptop", "note", pid, note=base)
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["laptop"], "laptop", "note", pid, note=base.replace("unclear", "+3 FID"))
        act(clock, roots["desk"], "desk", "note", pid, note=base.replace("unclear", "worse on UCF"))
        before = {name: open_as(root, name).note_conflicts() for name, root in roots.items()}
        assert before == {"laptop": [], "desk": []}
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        notes = {}
        for name, root in roots.items():
            lib = open_as(root, name)
            notes[name] = lib.raw_state(pid)["note"]
            conflicts = lib.note_conflicts(since=before[name])
            assert [(c.id, c.device, c.other) for c in conflicts] == [(pid, "desk", "laptop")]
            lib.close()
        note = notes["laptop"]
        assert notes["desk"] == note
        lines = note.splitlines()
        assert lines[0] == "Method: flows." and lines[-1] == "Todo: read appendix."
        assert "Result: +3 FID." in lines and "Result: worse on UCF." in lines
        assert note.count("Method: flows.") == 1 and note.count("Todo: read appendix.") == 1
        (mark,) = MARK.findall(note)
        # The laptop's edit was made first (08:02), the desk's a minute later (08:03).
        assert mark == ("laptop", "2026-11-30 08:02 UTC", "desk", "2026-11-30 08:03 UTC")
        assert lines.index("Result: +3 FID.") < lines.index("Result: worse on UCF.")

        # Resolved on the desk: the mark and the laptop's line deleted; synced back.
        act(clock, roots["desk"], "desk", "note", pid, note=base.replace("unclear", "mixed"))
        sync(roots["desk"], roots["laptop"])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert lib.raw_state(pid)["note"] == base.replace("unclear", "mixed")
            assert lib.note_conflicts() == []
            lib.close()


def test_a_note_typed_in_several_saves_on_two_machines_keeps_each_text_whole(
    tmp_path: Path,
) -> None:
    """The app saves a note while it is typed, so one sentence is several changes ("d",
    then "desk: compare…"). Two machines typing a new note apart, their saves interleaved in
    time: each machine's later saves go on with its own text inside the conflict, so the
    note holds each whole sentence once around one mark (each later save added a mark and
    split the first save's letter from the rest of its sentence: "d … esk: compare…")."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        pid = ids[0]
        desk, laptop = "desk: compare with DiT-XL", "laptop: check table 2"
        act(clock, roots["desk"], "desk", "note", pid, note=desk[:1])
        act(clock, roots["laptop"], "laptop", "note", pid, note=laptop[:3])
        act(clock, roots["desk"], "desk", "note", pid, note=desk)
        act(clock, roots["laptop"], "laptop", "note", pid, note=laptop)
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        notes = []
        for name, root in roots.items():
            lib = open_as(root, name)
            notes.append(lib.raw_state(pid)["note"])
            assert [(c.device, c.other) for c in lib.note_conflicts()] == [("laptop", "desk")]
            lib.close()
        assert notes[0] == notes[1]
        (mark,) = MARK.findall(notes[0])
        lines = [ln for ln in notes[0].splitlines() if ln and "note conflict" not in ln]
        assert lines == [desk, laptop]


def test_notes_edited_apart_in_separate_places_are_both_kept_without_a_conflict(
    tmp_path: Path,
) -> None:
    """Edits of different lines merge as they are (nothing doubled, no mark); a long note
    (stored as edits) edited on both machines keeps both edits too."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        short, long = ids[0], ids[1]
        base = "Method: flows.\nResult: unclear.\nTodo: read appendix."
        body = "".join(f"Paragraph {k}: " + "words " * 20 + "\n" for k in range(60))
        assert len(body) > state_module.NOTE_EDIT_MIN
        act(clock, roots["laptop"], "laptop", "note", short, note=base)
        act(clock, roots["laptop"], "laptop", "note", long, note=body)
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["laptop"], "laptop", "note", short, note=base.replace("flows", "OT flows"))
        act(clock, roots["desk"], "desk", "note", short, note=base.replace("appendix", "code"))
        act(
            clock,
            roots["laptop"],
            "laptop",
            "note",
            long,
            note=body.replace("Paragraph 3:", "P3 (ok):"),
        )
        act(clock, roots["desk"], "desk", "note", long, note=body + "Desk: see also 2611.20002\n")
        for target, source in (("laptop", "desk"), ("desk", "laptop")):
            sync(roots[source], roots[target])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert (
                lib.raw_state(short)["note"]
                == "Method: OT flows.\nResult: unclear.\nTodo: read code."
            )
            assert lib.raw_state(long)["note"] == (
                body.replace("Paragraph 3:", "P3 (ok):") + "Desk: see also 2611.20002\n"
            )
            assert lib.note_conflicts() == []
            lib.close()


# ============================================================================ undo
def test_undo_takes_back_only_this_machines_change_and_never_a_later_one_of_another(
    tmp_path: Path,
) -> None:
    """The laptop stars X and unstars Y; the desk, having synced, tags X, and stars Y again
    then unstars it (the last word on Y is the desk's). The laptop, not synced since, undoes
    twice: its unstar of Y and its star of X. After syncing both ways: X is unstarred and
    keeps the desk's tag; Y stays unstarred as the desk left it (the laptop's undo would
    have starred it again); the desk's undo finds nothing of its own to take back from the
    laptop and undoes its own last change."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        x, y = ids[0], ids[1]
        act(clock, roots["laptop"], "laptop", "star", y, starred=True)
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        act(clock, roots["laptop"], "laptop", "unstar", y, starred=False)
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["desk"], "desk", "tag", x, add_tags=["later"])
        act(clock, roots["desk"], "desk", "star", y, starred=True)
        act(clock, roots["desk"], "desk", "unstar", y, starred=False)
        laptop = open_as(roots["laptop"], "laptop")
        for label in ("unstar", "star"):
            clock.tick()
            done = laptop.undo_change()
            assert done is not None and done.label == label and done.kept == []
        assert laptop.raw_state(y).get("starred") is True  # (before the desk's changes arrive)
        assert laptop.raw_state(x).get("starred") in (None, False)
        laptop.close()
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert not lib.raw_state(x).get("starred"), name
            assert lib.raw_state(x).get("tags") == ["later"], name
            assert not lib.raw_state(y).get("starred"), name
            lib.close()
        desk = open_as(roots["desk"], "desk")
        assert desk.undo_label() == "unstar"  # its own, not the laptop's later ones
        clock.tick()
        assert desk.undo() == "unstar"
        assert desk.raw_state(y).get("starred") is True
        assert [desk.undo(), desk.undo(), desk.undo()] == ["star", "tag", None]
        assert desk.raw_state(x).get("tags", []) == [] and not desk.raw_state(y).get("starred")
        desk.close()


# ============================================================================ clock skew
def test_a_clock_a_year_ahead_wins_only_until_the_others_have_seen_its_change(
    tmp_path: Path,
) -> None:
    """The desk's clock is a year ahead: its star, made while apart, is later than the
    laptop's unstar made after it in real time, so it wins (the rule: latest clock). Once the
    laptop has synced it, the laptop's next change is ordered after it (its clock moves past
    the desk's), so the laptop's unstar wins everywhere."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        x = ids[0]
        clock.skew = YEAR
        act(clock, roots["desk"], "desk", "star", x, starred=True)
        clock.skew = timedelta(0)
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        act(clock, roots["laptop"], "laptop", "unstar", x, starred=False)
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert lib.raw_state(x).get("starred") is True, name  # the desk's, a year ahead
            lib.close()
        assert act(clock, roots["laptop"], "laptop", "unstar", x, starred=False) == 1
        sync(roots["laptop"], roots["desk"])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert not lib.raw_state(x).get("starred"), name
            lib.close()
        heads = change_files(roots["desk"])
        desk_clock = max(h["clock"] for h in heads.values() if h["device"] == "desk")
        latest = max(heads.values(), key=lambda h: (h["device"] == "laptop", h["seq"]))
        assert desk_clock.startswith("2027-11-30")
        assert latest["clock"] > desk_clock  # (ISO 8601 strings of one zone order as times)
        assert latest["ts"].startswith("2026-11-30")  # its own time is kept as it was


def test_a_clock_a_day_behind_loses_while_apart_and_wins_once_it_has_synced(
    tmp_path: Path,
) -> None:
    """The desk's clock is a day behind: its tag removal and unstar, made after the laptop's
    changes in real time but without having seen them, are ordered before them (concurrent
    changes go by clock), so the laptop's star stays and the tag it added stays. After the
    desk has synced, its changes are ordered after everything it saw and win."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        x = ids[0]
        act(clock, roots["laptop"], "laptop", "tag", x, add_tags=["flows"])
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        act(clock, roots["laptop"], "laptop", "tag", x, add_tags=["video"])
        clock.skew = -DAY
        act(clock, roots["desk"], "desk", "star", x, starred=True)
        act(clock, roots["desk"], "desk", "unstar", x, starred=False)
        act(clock, roots["desk"], "desk", "untag", x, remove_tags=["flows"])
        sync(roots["laptop"], roots["desk"])
        sync(roots["desk"], roots["laptop"])
        for name, root in roots.items():
            lib = open_as(root, name)
            got = lib.raw_state(x)
            assert got.get("starred") is True, name  # the laptop's star: later by clock
            assert got.get("tags") == ["video"], name  # "flows" removed, "video" added
            lib.close()
        act(clock, roots["desk"], "desk", "unstar", x, starred=False)  # now it has seen it
        sync(roots["desk"], roots["laptop"])
        for name, root in roots.items():
            lib = open_as(root, name)
            assert not lib.raw_state(x).get("starred"), name
            lib.close()


# ============================================================================ the model
@dataclass
class Op:
    """A change one machine made, as the model knows it."""

    key: str  # its file's stem: "<device>-<NNNNNNNN>"
    device: str
    seq: int
    clock: str  # worked out by the model (hybrid clock)
    kind: str  # read, star, tag+, tag-, note, undo
    pid: str = ""
    value: Any = None  # read/star: the value; tag+/tag-: the tag; note: the line added
    undo_of: str = ""
    saw_notes: frozenset[str] = frozenset()  # note changes of its paper its maker had seen

    @property
    def order(self) -> tuple[str, str, int]:
        return (self.clock, self.device, self.seq)


@dataclass
class Model:
    """The merge rules, applied to every change a set holds, in clock order."""

    papers: list[str]
    ops: dict[str, Op] = field(default_factory=dict)

    def fold(self, keys: set[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """(each paper's state, the note changes that met a text their maker had not seen)."""
        state = {
            p: {"read": False, "starred": False, "tags": [], "note": set()} for p in self.papers
        }
        done: list[tuple[Op, dict[str, set[Any]]]] = []  # (change, what it set: pid -> fields)
        notes_before: dict[str, set[str]] = {p: set() for p in self.papers}
        met = []
        for op in sorted((self.ops[k] for k in keys), key=lambda o: o.order):
            touched: set[Any] = set()
            paper = state[op.pid]
            if op.kind in ("read", "star"):
                name = "read" if op.kind == "read" else "starred"
                paper[name] = op.value
                touched.add(name)
            elif op.kind == "tag+":
                if op.value not in paper["tags"]:
                    paper["tags"].append(op.value)
                touched.add(("tag", op.value))
            elif op.kind == "tag-":
                paper["tags"] = [t for t in paper["tags"] if t != op.value]
                touched.add(("tag", op.value))
            elif op.kind == "note":
                if op.saw_notes != notes_before[op.pid]:
                    met.append(op.key)
                notes_before[op.pid].add(op.key)
                paper["note"].add(op.value)
                touched.add("note")
            else:
                touched = self._undo(op, state, done)
            done.append((op, {op.pid: touched}))
        return state, met

    def _undo(
        self, op: Op, state: dict[str, dict[str, Any]], done: list[tuple[Op, dict[str, set[Any]]]]
    ) -> set[Any]:
        """An undo: each field its target set goes back to what the target's maker saw
        before it, unless a change since the target set it again (a change undone since and
        its undo count as neither); a star or read only if it still has the target's value.
        What it changed."""
        target = self.ops[op.undo_of]
        at = next(i for i, (o, _) in enumerate(done) if o.key == target.key)
        since = done[at + 1 :]
        keys = {o.key for o, _ in since}
        undone = {o.undo_of for o, _ in since if o.kind == "undo"}
        rewritten: set[Any] = set()
        for o, touched in since:
            if o.key in undone or (o.kind == "undo" and o.undo_of in keys):
                continue
            rewritten |= touched.get(target.pid, set())
        paper = state[target.pid]
        if target.kind in ("read", "star"):
            name = "read" if target.kind == "read" else "starred"
            if name not in rewritten and paper[name] == target.value:
                paper[name] = not target.value
                return {name}
        elif ("tag", target.value) not in rewritten:
            tag = target.value
            if target.kind == "tag+" and tag in paper["tags"]:
                paper["tags"].remove(tag)
                return {("tag", tag)}
            if target.kind == "tag-" and tag not in paper["tags"]:
                paper["tags"].append(tag)
                return {("tag", tag)}
        return set()


def shown(lib: Library, pid: str) -> dict[str, Any]:
    """A paper's state in the model's terms: the note as the set of lines typed (without
    conflict marks and blank lines)."""
    got = lib.raw_state(pid)
    lines = {ln for ln in got.get("note", "").splitlines() if ln and not ln.startswith("---")}
    return {
        "read": bool(got.get("read")),
        "starred": bool(got.get("starred")),
        "tags": list(got.get("tags", [])),
        "note": lines,
    }


DEVICES = ("a", "b", "c")
SKEWS = (timedelta(0), -DAY, YEAR, timedelta(minutes=5))
WHO, WHICH = st.integers(0, 2), st.integers(0, 1)  # a machine, a paper
FLAGS = st.tuples(st.sampled_from(["read", "star"]), WHO, WHICH, st.booleans())
TAGS = st.tuples(st.sampled_from(["tag+", "tag-"]), WHO, WHICH, st.sampled_from(["x", "y"]))
NOTE = st.tuples(st.just("note"), WHO, WHICH, st.none())
UNDO = st.tuples(st.just("undo"), WHO, st.none(), st.none())
SYNC = st.tuples(st.just("sync"), WHO, WHO, st.none())
# Changes more often than syncs: machines apart for several changes make the merges.
OPS = st.one_of(FLAGS, FLAGS, FLAGS, TAGS, TAGS, NOTE, UNDO, UNDO, SYNC, SYNC)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A library of two papers, made on "seed" (each example copies it, with its cache: a
    copy opens it instead of building its own, a third of an example's time)."""
    root = tmp_path_factory.mktemp("seeded") / "lib"
    lib = open_as(root, "seed")
    import_feed(lib, root.parent / "seed.xml", [paper(k) for k in range(2)])
    ids = sorted(lib)
    lib.close()
    # What `sync init` (.git) or Syncthing (.stfolder) leaves in a synced folder: without it
    # a machine that has seen no other's file yet folds its journal as if alone and removes
    # its old change files, so a change synced late cannot be replayed in its place.
    (root / ".stfolder").mkdir()
    return root, ids


# The same 200 examples on every run (derandomize; no example database): CI fails only when
# the code changed, never because a run drew a new case. `--hypothesis-seed=N` explores
# others. The explicit examples are cases those 200 do not hold that once failed (below).
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Tags added on two machines apart are both kept (fails when a change's tag list replaces
# the tags as they stand).
@example(
    steps=[("read", 0, 0, False), ("tag+", 0, 1, "y"), ("note", 0, 0, None), ("tag+", 1, 1, "x")],
    skews=(timedelta(0),) * 3,
    fold_every=3,
)
# b folds its journal twice before seeing a's earlier note: it must keep its change files
# in a synced folder, else a's note is replayed after b's and listed as the conflict.
@example(
    steps=[("note", 0, 0, None)]
    + [("note", 1, 0, None)] * 3
    + [("read", 0, 0, False), ("tag+", 1, 0, "x"), ("undo", 1, None, None), ("note", 1, 0, None)],
    skews=(timedelta(0),) * 3,
    fold_every=3,
)
# An undo worked out again at its place in the order: a adds tag x, b (apart) adds x too,
# then a undoes its add. b's add comes after a's in the order, so x stays everywhere; a
# copy that applied the undo as a wrote it (x removed) when b's change arrives late fails.
@example(
    steps=[("tag+", 0, 0, "x"), ("tag+", 1, 0, "x"), ("undo", 0, None, None)],
    skews=(timedelta(0),) * 3,
    fold_every=state_module.CHECKPOINT_EVERY,
)
@given(
    steps=st.lists(OPS, min_size=4, max_size=24),
    skews=st.tuples(*[st.sampled_from(SKEWS)] * 3),
    fold_every=st.sampled_from([3, state_module.CHECKPOINT_EVERY]),
)
def test_three_machines_in_any_interleaving_converge_to_the_rules(
    seeded: tuple[Path, list[str]], steps: list[Any], skews: tuple[timedelta, ...], fold_every: int
) -> None:
    """Three machines (clocks right, a day behind, a year ahead, five minutes ahead) make
    random changes — read, star, tag added or removed, a line added to a note, undo — and
    copy each other's files in random order. At every step each machine shows what the model
    gives for the changes it has; after a last full sync all three show the same, which is
    what the model gives for every change; the clock of every change is the one the model
    works out (its machine's time, or just after the latest change it had seen); a listed
    note conflict is one the model says met an unseen edit. With ``fold_every`` 3 the
    journal is folded into checkpoints as it goes, so replays start from them."""
    source, papers = seeded
    with (
        tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp,
        fake_clock() as clock,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(state_module, "CHECKPOINT_EVERY", fold_every)
        roots = {d: Path(tmp) / d for d in DEVICES}
        for root in roots.values():
            shutil.copytree(source, root)
        libs = {d: open_as(roots[d], d) for d in DEVICES}
        model = Model(papers)
        seen: dict[str, set[str]] = {d: set() for d in DEVICES}
        undoable: dict[str, list[str]] = {d: [] for d in DEVICES}
        seqs = {d: 0 for d in DEVICES}
        skew = dict(zip(DEVICES, skews, strict=True))
        words = 0

        def check(d: str) -> None:
            want, _ = model.fold(seen[d])
            for pid in papers:
                assert shown(libs[d], pid) == want[pid], (d, pid)

        for kind, who, what, arg in steps:
            d = DEVICES[who]
            if kind == "sync":
                other = DEVICES[what]
                if other != d:
                    sync(roots[other], roots[d])
                    seen[d] |= seen[other]
                    libs[d].refresh()
                    check(d)
                continue
            clock.tick(1)
            clock.skew = skew[d]
            now, _ = model.fold(seen[d])
            lib = libs[d]
            latest = max((model.ops[k].clock for k in seen[d]), default="")
            mine = clock.read()
            if latest:
                last = datetime.fromisoformat(latest)
                if last >= mine:
                    mine = last + timedelta(microseconds=1)
            op = Op("", d, 0, mine.isoformat(timespec="microseconds"), kind)
            if kind == "undo":
                if not undoable[d] or model.ops[undoable[d][-1]].kind == "note":
                    continue  # (notes are not undone here: the model keeps their lines)
                op.undo_of = undoable[d].pop()
                op.pid = model.ops[op.undo_of].pid
                assert lib.undo() is not None
            else:
                op.pid = pid = papers[what]
                paper_now = now[pid]
                if kind in ("read", "star"):
                    op.value = arg
                    name = "read" if kind == "read" else "starred"
                    made = lib.set_state([pid], kind, **{name: arg})
                    changes = paper_now[name] != arg
                elif kind in ("tag+", "tag-"):
                    op.value = arg
                    fields = {"add_tags" if kind == "tag+" else "remove_tags": [arg]}
                    made = lib.set_state([pid], kind, **fields)
                    changes = (arg in paper_now["tags"]) == (kind == "tag-")
                else:
                    words += 1
                    op.value = f"w{words}{d}"
                    note = lib.raw_state(pid).get("note", "")
                    op.saw_notes = frozenset(
                        k
                        for k in seen[d]
                        if model.ops[k].kind == "note" and model.ops[k].pid == pid
                    )
                    made = lib.set_state(
                        [pid], "note", note=f"{note}\n{op.value}" if note else op.value
                    )
                    changes = True
                assert made == int(changes), (kind, d)
                if not changes:
                    continue
            seqs[d] = max(
                [seqs[d]]
                + [
                    int(p.stem.rsplit("-", 1)[1])
                    for p in (roots[d] / "changes").glob(f"{d}-*.json")
                ]
            )
            op.seq = seqs[d]
            op.key = f"{d}-{op.seq:08d}"
            head = json.loads((roots[d] / "changes" / f"{op.key}.json").read_text())["change"]["1"]
            assert head["clock"] == op.clock, op  # the hybrid clock, as the model works it out
            model.ops[op.key] = op
            seen[d].add(op.key)
            if kind != "undo":
                undoable[d].append(op.key)
            check(d)

        for _ in range(2):
            for d in DEVICES:
                for other in DEVICES:
                    if other != d:
                        sync(roots[other], roots[d])
        want, met = model.fold(set(model.ops))
        states = []
        for d in DEVICES:
            libs[d].refresh()
            assert {pid: shown(libs[d], pid) for pid in papers} == want, d
            states.append(view(libs[d]))
            assert {c.key for c in libs[d].note_conflicts()} <= set(met)
            libs[d].close()
        assert states[0] == states[1] == states[2]
        again = open_as(roots["a"], "a")
        again.rebuild()
        assert view(again) == states[0]
        again.close()


@pytest.mark.parametrize("shared", ["", ".git", ".stfolder"])
def test_folding_the_journal_removes_no_change_file_in_a_synced_folder(
    tmp_path: Path, shared: str
) -> None:
    """A machine alone in its library removes the change files two checkpoints back once it
    folds its journal; in a folder synced by git or Syncthing it keeps them all (another
    machine may still send a change ordered before them: the replay needs them)."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 3)
        roots, ids = two_copies(tmp_path)
        root = roots["laptop"]
        if shared:
            (root / shared).mkdir()
        lib = open_as(root, "laptop")
        for k in range(10):
            clock.tick()
            assert lib.set_state([ids[0]], "star", starred=k % 2 == 0) == 1
        lib.close()
        assert len(list((root / "state").iterdir())) >= 2  # (folded more than once)
        kept = len(list((root / "changes").iterdir()))
        assert (kept == 10) if shared else (kept < 10)
