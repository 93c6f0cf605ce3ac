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
from hypothesis import HealthCheck, given, settings
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

    def tick(self, seconds: float = 61) -> None:
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
        for path in (source / sub).iterdir():
            if not (target / sub / path.name).exists():
                shutil.copy2(path, target / sub / path.name)
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
            p[1]: {"starred": False, "read": False, "tags": set(), "note": "laptop: check the ablation"},
            p[2]: {"starred": False, "read": True, "tags": set(), "note": ""},
            p[3]: {"starred": False, "read": False, "tags": set(), "note": "desk: reproduce table 2"},
            ids["2611.20010"]: {"starred": False, "read": True, "tags": set(), "note": ""},
            ids["2611.20020"]: {
                "starred": False, "read": False, "tags": {"both-saw", "desk-too"}, "note": ""
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
