"""`papertui sync` with a real git and a bare remote in temporary folders: machines that
import, triage and write notes apart, then sync, end with equal libraries holding everything
each did. The oracle is what the test did (the feeds it generated, the changes it made), read
back through `papertui list --json` in a fresh process; git is checked with git itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tui.library import Library
from tui.library import state as state_module
from tui.sources import load_source

from .conftest import shared_pair
from .feedgen import rss

ROOT = Path(__file__).resolve().parent.parent


def cli(db: Path, device: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`papertui ARGS --db db` run as the machine ``device``."""
    env = {**os.environ, "PAPERTUI_DEVICE": device, "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def start(db: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`papertui ARGS --db db` started in a session of its own (so a signal to its group
    reaches the git it runs too), output discarded; ``env`` its whole environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args, "--db", str(db)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def ok(db: Path, device: str, *args: str) -> str:
    done = cli(db, device, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def listed(db: Path) -> dict[str, dict[str, Any]]:
    """Every paper as `papertui list --json` shows it, by id."""
    return {p["id"]: p for p in json.loads(ok(db, "reader", "list", "--json"))}


def state_of(
    db: Path, papers: dict[str, dict[str, Any]] | None = None
) -> dict[str, tuple[bool, bool, list[str], str]]:
    """(read, starred, sorted tags, note) of every paper that has any: from ``papers`` when
    given (what `listed` gave for ``db``, the library unchanged since), else `listed` now."""
    found = {}
    for pid, paper in (listed(db) if papers is None else papers).items():
        s = paper["state"]
        value = (s["read"], s["starred"], sorted(s["tags"]), s["note"])
        if value != (False, False, [], ""):
            found[pid] = value
    return found


def paper(n: int) -> dict[str, Any]:
    return {
        "id": f"2606.{20000 + n}",
        "title": f"Token merging for diffusion transformers, part {n}",
        "abstract": f"We merge tokens in diffusion transformer number {n}. " * 2,
        "authors": [f"Ann Author{n}", "Bo Wu"],
    }


def feed(tmp: Path, name: str, numbers: range, day: str = "2026-06-19") -> Path:
    path = tmp / f"{name}.xml"
    path.write_text(rss([paper(n) for n in numbers], day), encoding="utf-8")
    return path


def change(db: Path, device: str, ids: list[str], **fields: Any) -> None:
    """Set state fields on papers as the machine ``device`` (in this process: cheaper than
    the CLI; the syncs under test always run as `papertui sync` processes)."""
    lib = Library.open(db)
    lib.device = device
    try:
        assert lib.set_state(ids, "change", **fields) == len(ids)
    finally:
        lib.close()


def note(db: Path, device: str, pid: str, text: str) -> None:
    change(db, device, [pid], note=text)


def take_in(db: Path, device: str, *feeds: Path) -> None:
    """Import feeds as the machine ``device`` (in this process)."""
    lib = Library.open(db, parents=True)
    lib.device = device
    try:
        loaded = [load_source(str(f)) for f in feeds]
        lib.import_feeds((item.result, item.source) for item in loaded)
    finally:
        lib.close()


def bare_remote(tmp: Path) -> Path:
    """An empty bare repository whose HEAD names git's old default branch (master), which
    does not exist yet: a clone must still find the library's branch."""
    remote = tmp / "remote.git"
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=master", str(remote)], check=True
    )
    return remote


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def test_two_machines_apart_then_synced_both_ways_hold_everything_each_did(
    tmp_path: Path,
) -> None:
    remote = bare_remote(tmp_path)
    lap, desk = tmp_path / "laptop", tmp_path / "desk"
    shared = feed(tmp_path, "shared", range(10, 14))
    # Apart: each machine has its own library before they first meet.
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 5)), shared)
    take_in(desk, "desk", feed(tmp_path, "desk", range(20, 25)), shared)
    first = ok(lap, "laptop", "sync", "init", str(remote))
    assert "made" in first and "git repository" in first
    ok(lap, "laptop", "star", "2606.20000")
    ok(lap, "laptop", "tag", "2606.20010", "--add", "from-laptop")
    ok(lap, "laptop", "read", "2606.20011")
    note(lap, "laptop", "2606.20001", "laptop's note\nsecond line")
    ok(desk, "desk", "star", "2606.20020", "2606.20012")
    ok(desk, "desk", "tag", "2606.20013", "--add", "from-desk")
    note(desk, "desk", "2606.20021", "desk's note")
    # The desk joins the remote with its own library: the two are united.
    joined = ok(desk, "desk", "sync", "init", str(remote))
    assert "committed 9 papers and 4 state changes of this machine" in joined, joined
    assert "9 papers from laptop" in joined, joined  # (the laptop has not synced since)
    ok(lap, "laptop", "sync")
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")
    ok(lap, "laptop", "read", "2606.20022")  # (after meeting: a change on what came in)
    ok(lap, "laptop", "sync")
    brought = ok(desk, "desk", "sync")
    assert "1 state change from laptop" in brought, brought

    expected_ids = {paper(n)["id"] for n in [*range(0, 5), *range(10, 14), *range(20, 25)]}
    expected_state = {
        "2606.20000": (False, True, [], ""),
        "2606.20010": (False, False, ["from-laptop"], ""),
        "2606.20011": (True, False, [], ""),
        "2606.20001": (False, False, [], "laptop's note\nsecond line"),
        "2606.20020": (False, True, [], ""),
        "2606.20012": (False, True, [], ""),
        "2606.20013": (False, False, ["from-desk"], ""),
        "2606.20021": (False, False, [], "desk's note"),
        "2606.20022": (True, False, [], ""),
    }
    shown = {db: listed(db) for db in (lap, desk)}
    for db in (lap, desk):
        assert set(shown[db]) == expected_ids, db
        assert state_of(db, shown[db]) == expected_state, db
    assert shown[lap] == shown[desk]
    # One branch on the remote, holding both machines' files (and none of their caches).
    assert git_out(remote, "branch", "--format=%(refname:short)").split() == ["main"]
    files = git_out(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert any(f.startswith("papers/laptop-") for f in files)
    assert any(f.startswith("papers/desk-") for f in files)
    assert not any(f.startswith(".cache") or f.startswith(".lock") for f in files)


def test_a_clone_onto_a_new_machine_has_the_library_and_can_change_it_at_once(
    tmp_path: Path,
) -> None:
    """git keeps no empty folder: a library whose changes/ was empty arrives without it,
    and the first star on the new machine failed ("could not save")."""
    remote = bare_remote(tmp_path)
    lap, new = tmp_path / "laptop", tmp_path / "new"
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 3)))
    ok(lap, "laptop", "sync", "init", str(remote))
    cloned = ok(new, "newbox", "sync", "init", str(remote))
    assert "cloned the library" in cloned and "3 papers" in cloned
    ok(new, "newbox", "star", "2606.20002")
    ok(new, "newbox", "sync")
    assert "1 state change from newbox" in ok(lap, "laptop", "sync")
    assert state_of(lap) == {"2606.20002": (False, True, [], "")}


def test_a_file_changed_on_both_sides_stops_the_sync_naming_it_and_changes_nothing(
    tmp_path: Path,
) -> None:
    remote, lap, desk = shared_pair(tmp_path)
    for db, word in ((lap, "laptop"), (desk, "desk")):  # (a file of the user's, on both)
        (db / "README.md").write_text(f"Our lab's reading list, kept by the {word}\n")
    ok(lap, "laptop", "sync")
    edited = (desk / "README.md").read_text(encoding="utf-8")
    shown = listed(desk)
    done = cli(desk, "desk", "sync")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert str(desk / "README.md") in lines[-1] and "nothing was" in lines[-1], done.stderr
    assert "Traceback" not in done.stderr
    merged = subprocess.run(
        ["git", "-C", str(desk), "merge-base", "--is-ancestor", "origin/main", "HEAD"],
        check=False,
    )
    assert merged.returncode == 1  # (the laptop's commit was not merged)
    assert not (desk / ".git" / "MERGE_HEAD").exists()
    assert (desk / "README.md").read_text(encoding="utf-8") == edited
    assert listed(desk) == shown


def test_an_unreachable_remote_is_one_line_and_the_change_waits_for_the_next_sync(
    tmp_path: Path,
) -> None:
    remote = bare_remote(tmp_path)
    lap = tmp_path / "laptop"
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 3)))
    ok(lap, "laptop", "sync", "init", str(remote))
    moved = tmp_path / "elsewhere.git"
    remote.rename(moved)
    ok(lap, "laptop", "star", "2606.20001")
    done = cli(lap, "laptop", "sync")
    assert done.returncode == 1
    assert done.stderr.count("papertui: error:") == 1
    assert f"cannot reach {remote}" in done.stderr and "next sync" in done.stderr
    assert state_of(lap) == {"2606.20001": (False, True, [], "")}
    moved.rename(remote)
    ok(lap, "laptop", "sync")
    clone = tmp_path / "clone"
    ok(clone, "other", "sync", "init", str(remote))
    assert state_of(clone) == {"2606.20001": (False, True, [], "")}


def test_sync_killed_at_random_points_leaves_a_library_the_next_sync_completes(
    tmp_path: Path,
) -> None:
    """SIGKILL to a real `papertui sync` at staggered moments (while it commits, merges or
    pushes): the library still opens, and a sync afterwards brings both machines together."""
    remote, lap, desk = shared_pair(tmp_path)
    env = {**os.environ, "PAPERTUI_DEVICE": "desk"}
    for k, delay in enumerate((0.25, 0.45, 0.6, 0.75, 0.9, 1.1)):
        take_in(lap, "laptop", feed(tmp_path, f"l{k}", range(100 + 10 * k, 105 + 10 * k)))
        ok(lap, "laptop", "sync")
        take_in(desk, "desk", feed(tmp_path, f"d{k}", range(300 + k, 301 + k)))
        change(desk, "desk", [paper(300 + k)["id"]], starred=True)
        proc = start(desk, env, "sync")
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # (git too, as a closed terminal would)
        proc.wait()
        assert len(listed(desk)) >= 3
    ok(desk, "desk", "sync")
    ok(lap, "laptop", "sync")
    shown = listed(lap)
    assert shown == listed(desk)
    starred = {paper(300 + k)["id"] for k in range(6)}
    assert {pid for pid, s in state_of(lap, shown).items() if s[1]} == starred
    assert len(shown) == 3 + 6 * 5 + 6


def test_sync_before_init_and_a_misspelt_action_say_what_to_do(tmp_path: Path) -> None:
    lap = tmp_path / "laptop"
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 2)))
    done = cli(lap, "laptop", "sync")
    assert done.returncode == 1 and "papertui sync init" in done.stderr
    done = cli(lap, "laptop", "sync", "int")
    assert done.returncode == 2 and "invalid choice" in done.stderr
    assert not (lap / ".git").exists()


def test_a_merge_cut_short_leaving_half_a_file_of_another_machine_is_not_committed(
    tmp_path: Path,
) -> None:
    """A fast-forward merge killed while git writes the files it brings leaves them
    untracked, the last one cut short, and no MERGE_HEAD. The next sync committed them as
    this machine's (a cut segment, in conflict with the whole one forever). It must take
    them from the remote whole instead."""
    remote, lap, desk = shared_pair(tmp_path)
    take_in(lap, "laptop", feed(tmp_path, "b", range(3, 6)))
    ok(lap, "laptop", "sync")
    subprocess.run(["git", "-C", str(desk), "fetch", "--quiet"], check=True)
    new = git_out(desk, "diff", "--name-only", "HEAD", "origin/main").split()
    (segment,) = [f for f in new if f.startswith("papers/")]
    whole = git_out(desk, "show", f"origin/main:{segment}")
    (desk / segment).write_text(whole[: len(whole) // 2], encoding="utf-8")  # (cut short)
    change(desk, "desk", ["2606.20000"], starred=True)
    ok(desk, "desk", "sync")
    assert (desk / segment).read_text(encoding="utf-8") == whole
    assert segment not in git_out(desk, "log", "--format=", "--name-only", "--author=desk")
    ok(lap, "laptop", "sync")
    shown = listed(lap)
    assert shown == listed(desk)
    assert len(shown) == 6
    assert state_of(lap, shown) == {"2606.20000": (False, True, [], "")}


async def test_P_in_the_app_syncs_in_a_worker_and_shows_what_came_in(tmp_path: Path) -> None:
    """The app open on the laptop's library; the desk has imported and starred meanwhile.
    P syncs: the desk's papers and star appear in the list, the toast says where they came
    from, and the laptop's own star made before P reaches the desk."""
    from tui.library import sync

    from .test_app import build, settle, toasts

    remote, lap, desk = shared_pair(tmp_path)
    take_in(desk, "desk", feed(tmp_path, "b", range(50, 54)))
    change(desk, "desk", [paper(51)["id"]], starred=True)
    ok(desk, "desk", "sync")
    lib = Library.open(lap)
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("3")  # (All)
        await settle(pilot)
        assert len(app.paper_list.ids) == 3
        await pilot.press("s")  # (stars the first row)
        await settle(pilot)
        starred_here = app.paper_list.ids[0]
        await pilot.press("P")
        await settle(pilot)
        assert set(app.paper_list.ids) >= {paper(n)["id"] for n in range(50, 54)}
        shown = " ".join(toasts(app))
        assert "4 papers and 1 state change from desk" in shown, shown
    lib.close()
    assert sync.is_shared(lap)
    ok(desk, "desk", "sync")
    starred = {pid for pid, s in state_of(desk).items() if s[1]}
    assert starred == {paper(51)["id"], starred_here}


def test_a_file_of_another_machine_set_aside_here_is_put_back_not_deleted_everywhere(
    tmp_path: Path,
) -> None:
    """doctor --repair moves a file damaged here into quarantine/; committing that move
    would delete the other machines' good copy of it at their next sync. The sync puts
    it back from git instead, and every machine keeps every paper."""
    remote, lap, desk = shared_pair(tmp_path, range(0, 4))
    (segment,) = (desk / "papers").iterdir()
    whole = segment.read_bytes()
    segment.write_bytes(whole[:-40])  # (damaged here only: a bad disk block)
    assert cli(desk, "desk", "doctor", "--repair").returncode == 0
    assert not segment.exists()
    done = ok(desk, "desk", "sync")
    assert "put back 1 file of other machines" in done, done
    assert segment.read_bytes() == whole
    assert "papers/" + segment.name in git_out(remote, "ls-tree", "-r", "--name-only", "main")
    ok(lap, "laptop", "sync")
    assert (lap / "papers" / segment.name).read_bytes() == whole
    assert len(listed(desk)) == len(listed(lap)) == 4


def test_a_pack_of_changes_damaged_on_one_machine_is_never_sent_nor_deleted_everywhere(
    tmp_path: Path,
) -> None:
    """A library used alone packed old change files (changes/<device>-<low>-<top>.pack.json)
    before `sync init` shared it. A pack damaged on the desk (a bad disk block) was sent by
    the next sync, replacing every machine's good copy, and once `doctor --repair` set it
    aside the sync committed its deletion: sync knew only the names of change files, and
    the laptop lost its pack at its next sync (an adversary helper). Now a pack is a truth
    file to sync as the others: the damaged one is not sent, the one set aside is put back
    from git. Oracle: the pack's bytes as the laptop wrote them, on every machine."""
    remote = bare_remote(tmp_path)
    lap, desk = tmp_path / "laptop", tmp_path / "desk"
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 4)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 3)
        lib = Library.open(lap)
        lib.device, lib.fold_in_background = "laptop", False
        ids = sorted(lib)
        for k in range(12):
            lib.set_state([ids[k % 4]], "read", read=k % 8 < 4)
        lib.close()
    pack = sorted((lap / "changes").glob("*.pack.json"))[0]
    whole = pack.read_bytes()
    ok(lap, "laptop", "sync", "init", str(remote))
    ok(desk, "desk", "sync", "init", str(remote))
    copy = desk / "changes" / pack.name
    assert copy.read_bytes() == whole
    copy.write_bytes(whole[:40])  # (damaged here only)
    assert "damaged here, not sent" in ok(desk, "desk", "sync")
    assert git_out(remote, "show", f"main:changes/{pack.name}").encode() == whole
    assert cli(desk, "desk", "doctor", "--repair").returncode == 0
    assert not copy.exists()
    done = ok(desk, "desk", "sync")
    assert "put back 1 file of other machines" in done, done
    assert copy.read_bytes() == whole
    ok(lap, "laptop", "sync")
    assert pack.read_bytes() == whole
    assert state_of(desk) == state_of(lap)


def test_a_note_written_on_two_machines_apart_is_listed_by_sync_with_both_texts(
    tmp_path: Path,
) -> None:
    remote, lap, desk = shared_pair(tmp_path)
    pid = paper(1)["id"]
    note(lap, "laptop", pid, "read section 3 again")
    note(desk, "desk", pid, "the baseline is weak")
    ok(lap, "laptop", "sync")
    done = ok(desk, "desk", "sync")
    assert f"note conflict on {pid} (Token merging for diffusion transformers" in done, done
    ok(lap, "laptop", "sync")
    shown = {db: listed(db) for db in (lap, desk)}
    for db in (lap, desk):
        text = shown[db][pid]["state"]["note"]
        assert "read section 3 again" in text and "the baseline is weak" in text
        assert "note conflict" in text
    assert shown[lap][pid]["state"] == shown[desk][pid]["state"]
    assert f"note conflict on {pid}" in ok(lap, "laptop", "sync")  # (until resolved)
    note(lap, "laptop", pid, "read section 3 again; the baseline is weak")
    assert "note conflict" not in ok(lap, "laptop", "sync")
    assert "note conflict" not in ok(desk, "desk", "sync")
