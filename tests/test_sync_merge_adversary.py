"""Adversary round on the merge rules of several machines (issue 11; README, "Merge rules"):
cases the first tests did not try, each one a loss or a divergence found and fixed. Machines
are library folders; a sync copies the truth files another folder has (as a pull or
Syncthing does; tests/test_sync_merge.py), with the test's clock (a machine's skew)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui.library import state as state_module

from .test_sync import ROOT
from .test_sync_merge import MARK, act, fake_clock, open_as, sync, two_copies


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


def test_an_undo_whose_change_left_the_history_never_takes_back_a_later_change(
    tmp_path: Path,
) -> None:
    """The laptop stars X; the desk, apart, stars X too, then makes more changes than the
    history keeps; the laptop undoes its star. The desk's star came after the laptop's, so
    the undo must leave X starred (README: never undoes what another machine set again
    since), also where the laptop's star has left the history by the undo's place in the
    order: every copy, once all the files are in."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "HISTORY_LIMIT", 2)  # (100: the same with 201 changes)
        roots, ids = two_copies(tmp_path)
        third = tmp_path / "third"  # (open before the files come: takes them in one by one)
        shutil.copytree(tmp_path / "base", third)
        open_as(third, "third").close()
        x, y = ids[0], ids[1]
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        act(clock, roots["desk"], "desk", "star", x, starred=True)
        for k in range(6):
            act(clock, roots["desk"], "desk", "read", y, read=k % 2 == 0)
        clock.tick()
        laptop = open_as(roots["laptop"], "laptop")
        assert laptop.undo() == "star"
        assert not laptop.raw_state(x).get("starred")  # (the desk's star not here yet)
        laptop.close()
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        sync(roots["laptop"], third)
        for name, root in {**roots, "third": third}.items():
            lib = open_as(root, name)
            assert lib.raw_state(x).get("starred") is True, name
            lib.rebuild()
            assert lib.raw_state(x).get("starred") is True, name
            lib.close()


def test_a_replay_does_not_start_from_a_checkpoint_that_lost_an_undos_change(
    tmp_path: Path,
) -> None:
    """As above, but the desk has folded its journal after the laptop's star arrived and
    left its history: the checkpoint holds the star in its state only. A copy that takes
    in every file replays from that checkpoint only if the laptop's undo, after it, can
    still tell that the desk starred X since; else from the start: X stays starred."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "HISTORY_LIMIT", 2)
        patch.setattr(state_module, "CHECKPOINT_EVERY", 3)
        roots, ids = two_copies(tmp_path)
        for root in roots.values():
            (root / ".stfolder").mkdir()
        x, y = ids[0], ids[1]
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        act(clock, roots["desk"], "desk", "star", x, starred=True)
        for k in range(3):
            act(clock, roots["desk"], "desk", "read", y, read=k % 2 == 0)
        sync(roots["laptop"], roots["desk"])
        for k in range(4):  # (folded again, now holding the laptop's star)
            act(clock, roots["desk"], "desk", "read", y, read=k % 2 == 1)
        clock.tick()
        laptop = open_as(roots["laptop"], "laptop")
        assert laptop.undo() == "star"
        laptop.close()
        third = tmp_path / "third"
        third.mkdir()
        (third / ".stfolder").mkdir()
        sync(roots["desk"], third)
        sync(roots["laptop"], third)
        lib = open_as(third, "third")
        assert lib.raw_state(x).get("starred") is True
        lib.close()


def test_two_libraries_used_alone_then_joined_keep_everything_each_folded_away(
    tmp_path: Path,
) -> None:
    """Laptop and desk each used their copy alone for a while (neither folder synced yet),
    so each folded its journal and removed its old change files, as a machine alone does;
    then they are joined (`sync init` on the desk with its own library: the union of both
    folders). Every star and tag either made is there on both, even those only their
    checkpoints still hold (before: the best checkpoint was replayed alone and the desk's
    early changes were gone)."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 3)
        roots, ids = two_copies(tmp_path, n=9)
        made = {"laptop": ids[:4], "desk": ids[4:8]}
        noted = ids[8]  # a note each wrote first (then folded away)
        for device, papers in made.items():
            lib = open_as(roots[device], device)
            clock.tick()
            lib.set_state([noted], "note", note=f"{device}: first thoughts")
            for pid in papers:
                clock.tick()
                lib.set_state([pid], "star", starred=True)
                clock.tick()
                lib.set_state([pid], "tag", add_tags=[device])
            lib.close()
            assert len(list((roots[device] / "changes").iterdir())) < 8  # (removed: alone)
        both = ids[0]  # and one paper both changed: the desk's tag and note, later
        clock.tick()
        assert act(clock, roots["desk"], "desk", "tag", both, add_tags=["also-desk"]) == 1
        assert act(clock, roots["desk"], "desk", "note", both, note="desk: see fig 3") == 1
        for root in roots.values():
            (root / ".git").mkdir()
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        views = []
        for device, root in roots.items():
            lib = open_as(root, device)
            for maker, papers in made.items():
                for pid in papers:
                    got = lib.raw_state(pid)
                    assert got.get("starred") is True, (device, maker, pid)
                    assert maker in got.get("tags", []), (device, maker, pid)
            assert set(lib.raw_state(both)["tags"]) == {"laptop", "also-desk"}
            assert lib.raw_state(both)["note"] == "desk: see fig 3"
            note = lib.raw_state(noted)["note"]
            lines = [ln for ln in note.splitlines() if ln and "note conflict" not in ln]
            assert sorted(lines) == ["desk: first thoughts", "laptop: first thoughts"]
            assert len(MARK.findall(note)) == 1
            assert [c.id for c in lib.note_conflicts()] == [noted]
            views.append({pid: lib.raw_state(pid) for pid in ids})
            lib.close()
        assert views[0] == views[1]


async def test_typing_on_in_the_app_while_a_sync_brings_a_conflict_stays_in_its_own_section(
    tmp_path: Path,
) -> None:
    """The app is open on the laptop, its note being typed; a sync lands underneath with the
    desk's note on the same paper (a conflict: both texts around the line). The laptop's
    next save goes on with its own text above the line, not glued onto the desk's below
    it ("desk: another view and more", seen in tmux)."""
    from .test_app import build, settle
    from .test_app_hostile import until

    roots, ids = two_copies(tmp_path)
    pid = ids[0]
    lib = open_as(roots["laptop"], "laptop")
    app = build(lib, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        app.paper_list.move_to(app.paper_list.ids.index(pid))
        app.sync_detail()
        await pilot.pause()
        await pilot.press("e", *"laptop typing here")
        # (saved by the debounce, the note still open)
        await until(pilot, lambda: lib.raw_state(pid).get("note") == "laptop typing here")
        assert lib.raw_state(pid)["note"] == "laptop typing here"
        desk = open_as(roots["desk"], "desk")
        desk.set_state([pid], "note", note="desk: another view")
        desk.close()
        sync(roots["desk"], roots["laptop"])
        lib.refresh()
        await pilot.press(*" and more", "escape")
        await settle(pilot)
    note = lib.raw_state(pid)["note"]
    lines = [ln for ln in note.splitlines() if ln]
    assert len(lines) == 3 and MARK.match(lines[1]), note
    assert (lines[0], lines[2]) == ("laptop typing here and more", "desk: another view")
    assert [c.id for c in lib.note_conflicts()] == [pid]
    lib.close()


@pytest.mark.parametrize("folder", ["alone", "syncthing"])
def test_a_change_synced_late_after_a_machine_alone_folded_twice_is_applied_in_its_place(
    tmp_path: Path, folder: str
) -> None:
    """A laptop alone in its folder (Dropbox, rsync: no .git, no .stfolder) folds its journal
    twice and removed the change files two checkpoints back; the desk's star, made before
    the laptop starred and then unstarred the same paper, arrives after that. The replay
    had only the laptop's checkpoint for those changes and applied the desk's star after
    it: the laptop's later unstar was lost (an adversary helper). Now the files are packed
    into one, so the star is replayed in its place. Oracle: the same changes in a folder
    that never removes a file (Syncthing's), and the order the README gives (the latest
    change wins): unstarred, on both machines."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 6)
        roots, ids = two_copies(tmp_path, n=8)
        if folder == "syncthing":
            for root in roots.values():
                (root / ".stfolder").mkdir()
        x, y, z = ids[:3]
        act(clock, roots["desk"], "desk", "star", y, starred=True)
        act(clock, roots["desk"], "desk", "tag", z, add_tags=["desk-tag"])
        act(clock, roots["laptop"], "laptop", "star", y, starred=True)
        act(clock, roots["laptop"], "laptop", "unstar", y, starred=False)
        act(clock, roots["laptop"], "laptop", "star", x, starred=True)
        lib = open_as(roots["laptop"], "laptop")
        lib.fold_in_background = False
        for k in range(20):
            clock.tick()
            lib.set_state([ids[3 + k % 5]], "read", read=k % 2 == 0)
        lib.close()
        changes = os.listdir(roots["laptop"] / "changes")
        packs = [name for name in changes if name.endswith(".pack.json")]
        files = sorted(name for name in changes if name not in packs)
        whole = len(files) == int(files[-1][len("laptop-") : -len(".json")])
        if folder == "alone":  # (the case: change files were removed, into a pack)
            assert packs and not whole, changes
        else:
            assert not packs and whole, changes
        sync(roots["desk"], roots["laptop"])
        sync(roots["laptop"], roots["desk"])
        seen = {}
        for name, root in roots.items():
            lib = open_as(root, name)
            seen[name] = {pid: lib.state(pid) for pid in ids}
            lib.close()
        for states in seen.values():
            assert not states[y].starred and states[x].starred
            assert states[z].tags == ["desk-tag"]
            assert [states[pid].read for pid in ids[3:]] == [False, True, False, True, False]
        assert seen["laptop"] == seen["desk"]
        lines = subprocess.run(
            [sys.executable, "-m", "tui", "--db", str(roots["laptop"]), "doctor"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PAPERTUI_DEVICE": "laptop"},
        )
        assert lines.returncode == 0 and "pack" not in lines.stdout, lines.stdout


def test_a_damaged_pack_of_changes_is_named_by_doctor_and_set_aside_by_repair(
    tmp_path: Path,
) -> None:
    """A pack (the change files a machine alone folded twice, packed: see the test above)
    cut short on disk: `doctor` names it, `doctor --repair` moves it to quarantine/ (never
    deletes it) and the library opens with the state its checkpoints hold. Oracle: the
    state before the damage, read through the CLI."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 4)
        roots, ids = two_copies(tmp_path, n=6)
        root = roots["laptop"]
        lib = open_as(root, "laptop")
        lib.fold_in_background = False
        for k in range(15):
            clock.tick()
            lib.set_state([ids[k % 6]], "star", starred=(k // 6) % 2 == 0)
        before = {pid: lib.state(pid).starred for pid in ids}
        lib.close()
    pack = sorted((root / "changes").glob("*.pack.json"))[-1]
    pack.write_bytes(pack.read_bytes()[:40])

    def doctor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui", "--db", str(root), "doctor", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PAPERTUI_DEVICE": "laptop"},
        )

    found = doctor()
    assert found.returncode != 0 and pack.name in found.stdout, found.stdout
    assert doctor("--repair").returncode == 0
    assert not pack.exists() and list((root / "quarantine").glob("changes_*.pack.json.*"))
    lib = open_as(root, "laptop")
    assert {pid: lib.state(pid).starred for pid in ids} == before
    lib.close()


def _copy_truth(source: Path, target: Path, *, packs: bool) -> None:
    """Copy the change files and checkpoints ``target`` lacks, packs only or all but packs
    (a file-sync tool copies in any order: Dropbox brought a big pack last)."""
    for sub in ("changes", "state"):
        for name in sorted(os.listdir(source / sub)):
            if name.endswith(".pack.json") == packs and not (target / sub / name).exists():
                shutil.copy2(source / sub / name, target / sub / name)


@pytest.mark.parametrize("desk_folds", [False, True])
def test_a_pack_that_arrives_after_its_checkpoints_puts_its_changes_in_their_place(
    tmp_path: Path, desk_folds: bool
) -> None:
    """The laptop, alone, packs its old change files; a file-sync tool brings the desk its
    checkpoints and later change files first and the pack last. Meanwhile the desk's
    replay had those changes only from the checkpoints (joined), and applied its own star,
    made before the laptop's unstar, after them. The pack's arrival changed nothing (its
    changes counted as applied): the laptop's unstar stayed lost in the desk's cache, and,
    when the desk folded before the pack came, in the desk's checkpoint, which every
    machine then replayed from, a rebuild too (an adversary helper). Oracle: the README's
    rule (the latest change wins: unstarred), on both machines, from their caches and
    rebuilt from the files."""
    with fake_clock() as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 6)
        roots, ids = two_copies(tmp_path, n=8)
        laptop, desk = roots["laptop"], roots["desk"]
        y = ids[1]
        act(clock, desk, "desk", "star", y, starred=True)
        act(clock, laptop, "laptop", "star", y, starred=True)
        act(clock, laptop, "laptop", "unstar", y, starred=False)
        lib = open_as(laptop, "laptop")
        lib.fold_in_background = False
        for k in range(20):
            clock.tick()
            lib.set_state([ids[3 + k % 5]], "read", read=k % 2 == 0)
        lib.close()
        assert list((laptop / "changes").glob("*.pack.json"))
        _copy_truth(laptop, desk, packs=False)
        lib = open_as(desk, "desk")
        lib.fold_in_background = False
        if desk_folds:
            for k in range(8):
                clock.tick()
                lib.set_state([ids[2]], "read", read=k % 2 == 0)
            assert list((desk / "state").glob("desk-*.json"))
        lib.close()
        _copy_truth(laptop, desk, packs=True)
        _copy_truth(desk, laptop, packs=False)
        for name, root in roots.items():
            lib = open_as(root, name)
            assert not lib.state(y).starred, name
            lib.close()
            shutil.rmtree(root / ".cache")
            lib = open_as(root, name)
            assert not lib.state(y).starred, name
            lib.close()


@pytest.mark.parametrize("there", ["link", "fewer"])
def test_a_file_already_under_a_packs_name_removes_no_change_it_does_not_hold(
    tmp_path: Path, there: str
) -> None:
    """A fold found a file under the name of the pack it was about to write and took it for
    that pack (another process of this device writes the same one): a symbolic link (a
    file-sync tool's copy; never read) or a pack holding fewer of those changes, and the
    change files went, held nowhere but in checkpoints (an adversary helper). Now a change
    file is removed only when the pack there holds it. Oracle: every change number is in
    a change file or in a pack that reads."""
    from tui.library import truth

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 4)
        roots, ids = two_copies(tmp_path, n=5)
        root = roots["laptop"]
        name = root / "changes" / "laptop-00000001-00000004.pack.json"
        if there == "link":
            name.symlink_to(root / "papertui.json")
        lib = open_as(root, "laptop")
        lib.fold_in_background = False
        for k in range(14):
            if there == "fewer" and k == 4:  # (a pack of change 1 only, under that name)
                change = truth.read_change(root / "changes" / "laptop-00000001.json")
                pack = truth.Pack("laptop", 1, 4)
                truth.write_tables(name, truth.pack_tables(pack, [change]))
            assert lib.set_state([ids[k % 5]], "read", read=k // 5 % 2 == 0) == 1
        lib.close()
    held = {n.seq for n in truth.listing(root, truth.CHANGES)}
    for path in truth.packs(root).values():
        held |= {truth.parse_key(c.key).seq for c in truth.read_pack(path)}  # type: ignore[union-attr]
    assert held == set(range(1, 15)), sorted(os.listdir(root / "changes"))


def test_a_fold_whose_files_were_not_removed_packs_only_what_no_pack_holds(
    tmp_path: Path,
) -> None:
    """The removal after a pack needs the library's lock; when it was busy (a fold in the
    background beside fast writes) the files stayed, and the next fold packed every change
    again from the first: packs 1-3, 1-72, 1-136, 1-141 (an adversary helper), disk and
    reading growing with the square of the journal. Now a fold packs only the files no pack
    of this device holds, and names the others as packed. Oracle: the packs' contents read
    back, and every change in exactly one pack."""
    from tui.library import truth

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(state_module, "CHECKPOINT_EVERY", 1000)  # (no fold of its own)
        roots, ids = two_copies(tmp_path, n=5)
        root = roots["laptop"]
        lib = open_as(root, "laptop")
        for k in range(10):
            assert lib.set_state([ids[k % 5]], "read", read=k // 5 % 2 == 0) == 1
        lib.close()
    files = sorted(truth.listing(root, truth.CHANGES).items())
    first = state_module._pack(root, "laptop", files[:4])  # (its files not removed)
    again = state_module._pack(root, "laptop", files)
    assert first == [n for n, _ in files[:4]] and again == [n for n, _ in files]
    packs = {p: truth.read_pack(path) for p, path in truth.packs(root).items()}
    held = sorted(truth.parse_key(c.key).seq for cs in packs.values() for c in cs)  # type: ignore[union-attr]
    assert held == [n.seq for n, _ in files], sorted(packs)
