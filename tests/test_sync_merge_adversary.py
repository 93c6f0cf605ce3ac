"""Adversary round on the merge rules of several machines (issue 11; README, "Merge rules"):
cases the first tests did not try, each one a loss or a divergence found and fixed. Machines
are library folders; a sync copies the truth files another folder has (as a pull or
Syncthing does; tests/test_sync_merge.py), with the test's clock (a machine's skew)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui.library import state as state_module

from .test_sync import ROOT
from .test_sync_merge import act, fake_clock, open_as, sync, two_copies


def test_a_note_conflict_stays_listed_after_the_journal_is_folded_and_replayed(
    tmp_path: Path,
) -> None:
    """A conflict met before the journal was folded into a checkpoint is still listed once
    the state is replayed from that checkpoint (a rebuild; a change synced late): the note
    still holds the mark, so `papertui sync` must go on naming it until it is resolved."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 3)
        roots, ids = two_copies(tmp_path)
        for root in roots.values():
            (root / ".stfolder").mkdir()
        pid = ids[0]
        act(clock, roots["laptop"], "laptop", "note", pid, note="Result: unclear.")
        sync(roots["laptop"], roots["desk"])
        act(clock, roots["laptop"], "laptop", "note", pid, note="Result: +3 FID.")
        act(clock, roots["desk"], "desk", "note", pid, note="Result: worse on UCF.")
        sync(roots["desk"], roots["laptop"])
        lib = open_as(roots["laptop"], "laptop")
        assert [(c.id, c.device) for c in lib.note_conflicts()] == [(pid, "desk")]
        for k in range(4):  # folded: a checkpoint now holds the conflict
            clock.tick()
            lib.set_state([ids[1]], "star", starred=k % 2 == 0)
        lib.close()
        assert list((roots["laptop"] / "state").iterdir())
        lib = open_as(roots["laptop"], "laptop")
        lib.rebuild()
        assert "note conflict" in lib.raw_state(pid)["note"]
        assert [(c.id, c.device) for c in lib.note_conflicts()] == [(pid, "desk")]
        lib.close()


def test_a_clock_at_the_end_of_time_stops_no_machine_from_making_changes(tmp_path: Path) -> None:
    """A machine whose clock reads the last microsecond a date can hold (9999-12-31: a
    battery-less board, a hand-set date): its change wins while apart, but every machine,
    it included, can still make changes afterwards, and the laptop's change made after it
    has seen the desk's one is ordered after it (by machine id at the same clock: so the
    later change still wins only when its id is greater: laptop > desk)."""
    end = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        x = ids[0]
        clock.skew = end - clock.now - timedelta(seconds=60)  # (act ticks a minute)
        assert act(clock, roots["desk"], "desk", "star", x, starred=True) == 1
        clock.skew = timedelta(0)
        assert act(clock, roots["desk"], "desk", "read", x, read=True) == 1
        sync(roots["desk"], roots["laptop"])
        assert act(clock, roots["laptop"], "laptop", "unstar", x, starred=False) == 1
        sync(roots["laptop"], roots["desk"])
        for name, root in roots.items():
            lib = open_as(root, name)
            got = lib.raw_state(x)
            assert got.get("read") is True and not got.get("starred"), name
            lib.close()
    # The desk undoes its read, then its star made at 9999-12-31 23:59 UTC, as `papertui
    # undo` in Tokyo (a local time past the year 9999): said, not a crash.
    env = {**os.environ, "PAPERTUI_DEVICE": "desk", "TZ": "Asia/Tokyo", "COLUMNS": "200"}
    for label in ("read", "star"):
        done = subprocess.run(
            [sys.executable, "-m", "tui", "undo", "--db", str(roots["desk"])],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"undone: {label} on"), done.stdout
