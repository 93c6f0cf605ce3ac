"""A machine's own file damaged on its disk, in a library synced by git. Found by an adversary
helper (advA) with two clones of a real bare remote and `truncate`:

- `papertui sync` before `doctor`: the damaged copy was committed as a change of the file and
  replaced the good copy on every other machine (their next rebuild lost the note);
- `doctor --repair` then `papertui sync`: the file set aside was committed as deleted, and
  every other machine's good copy was deleted at its next sync (only files of *other*
  machines were put back from git);
- a change made after the repair took the number of the file set aside, and its file
  replaced the good copy of the other one everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import shared_pair
from .test_sync import git_out, ok


def note_on(db: Path, pid: str) -> str:
    return json.loads(ok(db, "reader", "show", pid, "--json"))["state"]["note"]


def test_a_damaged_own_file_is_not_sent_and_is_put_back_after_the_repair(
    tmp_path: Path,
) -> None:
    remote, lap, desk = shared_pair(tmp_path, range(0, 3))
    pid = "2606.20001"
    ok(lap, "laptop", "note", pid, "-m", "only written on the laptop")
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")
    (name,) = [p.name for p in (lap / "changes").iterdir()]
    whole = (lap / "changes" / name).read_bytes()
    assert (desk / "changes" / name).read_bytes() == whole

    (lap / "changes" / name).write_bytes(whole[:100])  # (a bad block on the laptop's disk)
    said = ok(lap, "laptop", "sync")
    assert "damaged here, not sent" in said, said
    assert git_out(remote, "show", f"main:changes/{name}").encode() == whole

    ok(lap, "laptop", "doctor", "--repair")
    assert not (lap / "changes" / name).exists()
    ok(lap, "laptop", "star", pid)  # (a change made after the repair)
    assert not (lap / "changes" / name).exists()  # (it did not take the number set aside)
    said = ok(lap, "laptop", "sync")
    assert "put back 1 file of this machine" in said, said
    assert (lap / "changes" / name).read_bytes() == whole
    ok(desk, "desk", "sync")
    assert (desk / "changes" / name).read_bytes() == whole
    for db in (lap, desk):
        ok(db, "reader", "doctor", "--rebuild")
        assert note_on(db, pid) == "only written on the laptop"
        state = json.loads(ok(db, "reader", "show", pid, "--json"))["state"]
        assert state["starred"] is True
