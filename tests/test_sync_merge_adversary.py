"""Adversary round on the merge rules of several machines (issue 11; README, "Merge rules"):
cases the first tests did not try, each one a loss or a divergence found and fixed. Machines
are library folders; a sync copies the truth files another folder has (as a pull or
Syncthing does; tests/test_sync_merge.py), with the test's clock (a machine's skew)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.library import state as state_module

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
