"""`papertui sync` and the library under real faults of their surroundings: the user's own git
working in the library folder, a git killed midway leaving its locks, a disk (a file size
limit) that fills during a fetch, links and FIFOs a file-sync tool puts where papertui reads,
another machine's file landing in the same tick of the file-system clock as this one's write.
Real git, real `papertui` processes; the oracle is git itself, `papertui list --json` in a
fresh process, and what the test did."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.library import Library, core, sync
from tui.library.device import device_id

from .conftest import shared_pair
from .test_sync import (
    ROOT,
    bare_remote,
    change,
    cli,
    feed,
    git_out,
    listed,
    ok,
    paper,
    state_of,
    take_in,
)

MEMORY = 3 << 30  # bytes: a papertui that reads through a link to /dev/zero stops here


def users_commit(lib: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """The user's own `git commit -a` in the library folder, its editor left open until the
    returned file exists: git holds the index's lock meanwhile (and no file of it open)."""
    with (lib / ".gitignore").open("a", encoding="utf-8") as f:
        f.write("*.pdf\n")  # (a tracked file the user changed)
    go = tmp / "editor-may-close"
    editor = tmp / "editor.sh"
    editor.write_text(
        f'#!/bin/sh\nwhile [ ! -e "{go}" ]; do sleep 0.05; done\necho "my own commit" > "$1"\n'
    )
    editor.chmod(0o755)
    env = {**os.environ, "GIT_EDITOR": str(editor)}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        ["git", "-c", "user.name=me", "-c", "user.email=me@x", "commit", "-a", "--quiet"],
        cwd=lib,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    lock = lib / ".git" / "index.lock"
    for _ in range(400):
        if lock.exists():
            break
        time.sleep(0.05)
    assert lock.exists() and proc.poll() is None
    return proc, go


def test_the_users_own_git_keeps_its_lock_and_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync removed git's index lock whenever it found one: the user's `git commit -a`
    in the library folder, its editor open, then failed ("unable to write new_index file").
    Now the sync waits for it, then says git is busy, changing nothing; once the user's
    commit is done the sync completes."""
    _, lap, desk = shared_pair(tmp_path)
    change(lap, "laptop", ["2606.20001"], starred=True)
    proc, go = users_commit(lap, tmp_path)
    monkeypatch.setenv("PAPERTUI_DEVICE", "laptop")
    device_id.cache_clear()
    monkeypatch.setattr(sync, "BUSY_WAIT", 0.5, raising=False)
    try:
        with pytest.raises(sync.SyncError) as raised:
            sync.sync(lap)
    finally:
        device_id.cache_clear()
    said = str(raised.value)
    assert f"git is busy in {lap}" in said and "git commit (process" in said, said
    assert "changes are kept" in said
    assert (lap / ".git" / "index.lock").exists()
    go.touch()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert git_out(lap, "log", "-1", "--format=%s").strip() == "my own commit"
    assert "*.pdf" in git_out(lap, "show", "HEAD:.gitignore")
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")
    assert state_of(desk) == {"2606.20001": (False, True, [], "")}


def test_locks_left_by_a_killed_git_are_removed_and_the_sync_completes(tmp_path: Path) -> None:
    """A git killed midway leaves its locks: the index's (a killed `git commit -a`, for
    real) and a ref's (a killed fetch: made here, as it leaves it). With no git working in
    the library any more they are removed, said, and the sync completes; a ref's lock
    made every later fetch fail as "cannot reach" the remote."""
    _, lap, desk = shared_pair(tmp_path)
    change(lap, "laptop", ["2606.20002"], starred=True)
    change(desk, "desk", ["2606.20001"], tags=["desk"])
    ok(desk, "desk", "sync")  # (the laptop's fetch has a ref to move)
    proc, _ = users_commit(lap, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    index_lock = lap / ".git" / "index.lock"
    ref_lock = lap / ".git" / "refs" / "remotes" / "origin" / "main.lock"
    ref_lock.write_text("")
    old = time.time() - 60
    for lock in (index_lock, ref_lock):
        os.utime(lock, (old, old))
    out = ok(lap, "laptop", "sync")
    assert "removed git's lock left by a git that was stopped" in out
    assert "index.lock" in out and "main.lock" in out
    assert not index_lock.exists() and not ref_lock.exists()
    ok(desk, "desk", "sync")
    both = {"2606.20001": (False, False, ["desk"], ""), "2606.20002": (False, True, [], "")}
    assert state_of(desk) == both and state_of(lap) == both


def test_a_fetch_stopped_by_a_full_disk_says_so_and_keeps_the_change(tmp_path: Path) -> None:
    """A fetch that runs out of room (here, for real, the file size limit: git's helper
    writing the fetched file is stopped by SIGXFSZ; a full disk says "No space left on
    device" the same way) was reported as "cannot reach" the remote. It says what ran out;
    the star made here is kept and goes with the next sync."""
    remote, lap, desk = shared_pair(tmp_path)
    big = tmp_path / "big.xml"
    noise = [os.urandom(3000).hex() for _ in range(300)]  # (1.8 MB that do not compress)
    from .feedgen import rss

    papers = [{**paper(500 + k), "abstract": noise[k]} for k in range(300)]
    big.write_text(rss(papers, "2026-06-20"), encoding="utf-8")
    take_in(desk, "desk", big)
    ok(desk, "desk", "sync")
    change(lap, "laptop", ["2606.20000"], starred=True)
    limit = 1 << 20  # bytes: the laptop's own files stay far below

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PAPERTUI_DEVICE": "laptop", "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "sync", "--db", str(lap)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
        preexec_fn=small_files,
    )
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("papertui: error:") == 1
    assert f"cannot fetch from {remote} into {lap}" in done.stderr
    assert "file size limit" in done.stderr and "cannot reach" not in done.stderr
    assert "changes are committed here" in done.stderr
    assert state_of(lap) == {"2606.20000": (False, True, [], "")}
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")
    papers = listed(desk)
    assert len(papers) == 303 and listed(lap) == papers
    assert papers["2606.20000"]["state"]["starred"] is True


def bounded(lib: Path, device: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`papertui ARGS --db lib` with its memory capped (`MEMORY`) and a time limit, so a
    papertui that reads through a link to /dev/zero fails fast instead of filling the
    machine's memory."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    env = {**os.environ, "PAPERTUI_DEVICE": device, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", str(lib)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
        preexec_fn=cap,
    )


def test_links_and_fifos_from_a_file_sync_tool_are_never_read_nor_sent(
    tmp_path: Path,
) -> None:
    """Syncthing and Dropbox copy symbolic links as links: one to /dev/zero under a truth
    file's name made every open read until memory ran out, a FIFO made it wait forever, a
    link to another library's file took that file in. Now the library reads only regular
    files: the papers are all there, `doctor` names each odd entry, and a sync neither
    commits the links (they stopped every other machine's sync) nor stops on them."""
    _, lap, desk = shared_pair(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    take_in(elsewhere, "stranger", feed(tmp_path, "far", range(900, 903)))
    (far,) = (elsewhere / "papers").iterdir()
    (lap / "papers" / "zz-00000001.json").symlink_to("/dev/zero")
    (lap / "papers" / "zz-00000002.json").symlink_to(far)
    (lap / "changes" / "zz-00000003.json").symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(lap / "state" / "zz-00000004.json")
    done = bounded(lap, "laptop", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 3  # (not the stranger's papers)
    done = bounded(lap, "laptop", "doctor")
    assert done.returncode == 1
    for name in ("papers/zz-00000001.json", "papers/zz-00000002.json"):
        assert f"{lap / name}: a symbolic link" in done.stdout, done.stdout
    assert f"{lap / 'changes' / 'zz-00000003.json'}: a symbolic link" in done.stdout
    assert f"{lap / 'state' / 'zz-00000004.json'}: not a papertui file (a FIFO" in done.stdout
    assert f"{lap / '.git'}:" not in done.stdout  # (sync's repository: not to be removed)
    change(lap, "laptop", ["2606.20000"], starred=True)
    done = bounded(lap, "laptop", "sync")
    assert done.returncode == 0, done.stderr
    assert "a symbolic link" in done.stdout and "left out" in done.stdout
    tracked = git_out(lap, "ls-files", "papers", "changes", "state")
    assert "zz-" not in tracked
    ok(desk, "desk", "sync")
    papers = listed(desk)
    assert len(papers) == 3 and papers["2606.20000"]["state"]["starred"] is True


def test_a_file_landing_in_the_same_clock_tick_as_this_devices_write_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another machine's change (a star) arrives through a file-sync tool in the same tick
    of the file-system clock as this device's own write: the folder's modification time is
    the one the library saw after its write (set back here, as a coarse clock leaves it).
    `refresh` noticed files only by that time: the star was missed until the next change.
    The next write under the lock missed it too, and then hid it for good. (The library
    looks at the folders once the tick is surely over: `SETTLE` s, shortened here.)"""
    monkeypatch.setattr(core, "SETTLE", 0.2, raising=False)
    lib_dir = tmp_path / "laptop"
    take_in(lib_dir, "laptop", feed(tmp_path, "lap", range(0, 4)))
    other = tmp_path / "desk"
    shutil.copytree(lib_dir, other, ignore=shutil.ignore_patterns(".cache", ".lock*"))
    ids = [paper(n)["id"] for n in range(4)]

    def desk_changes(pid: str) -> None:
        """The desk stars ``pid`` in its copy; its new change file lands here, in the tick."""
        before = set(os.listdir(other / "changes"))
        lib = Library.open(other)
        lib.device = "desk"
        try:
            lib.set_state([pid], "star", starred=True)
        finally:
            lib.close()
        (new,) = set(os.listdir(other / "changes")) - before
        folder = lib_dir / "changes"
        seen = os.stat(folder).st_mtime_ns
        shutil.copy2(other / "changes" / new, folder / new)
        os.utime(folder, ns=(seen, seen))
        time.sleep(0.3)  # (the tick is over)

    lap = Library.open(lib_dir)
    lap.device = "laptop"
    try:
        lap.set_state([ids[0]], "read", read=True)
        desk_changes(ids[1])
        assert lap.refresh() is True
        assert lap.raw_state(ids[1]).get("starred") is True
        assert lap.refresh() is False
        lap.set_state([ids[0]], "unread", read=False)
        desk_changes(ids[2])
        lap.set_state([ids[3]], "read", read=True)  # (its catch-up takes the star in)
        assert lap.raw_state(ids[2]).get("starred") is True
    finally:
        lap.close()
    starred = {pid for pid, s in state_of(lib_dir).items() if s[1]}
    assert starred == {ids[1], ids[2]}


def test_a_merge_of_the_users_in_progress_is_never_undone(tmp_path: Path) -> None:
    """After a sync stopped on a file edited by hand on both machines, the user merges with
    git and resolves the file; a sync run before they commit undid their merge, and their
    resolution with it, as if a stopped sync had left it. It now says to finish it first."""
    remote = bare_remote(tmp_path)
    lap, desk = tmp_path / "laptop", tmp_path / "desk"
    take_in(lap, "laptop", feed(tmp_path, "lap", range(0, 2)))
    (lap / "reading.txt").write_text("base\n")  # (a file of the user's, in the folder)
    ok(lap, "laptop", "sync", "init", str(remote))
    ok(desk, "desk", "sync", "init", str(remote))
    (lap / "reading.txt").write_text("laptop's line\n")
    (desk / "reading.txt").write_text("desk's line\n")
    ok(lap, "laptop", "sync")
    done = cli(desk, "desk", "sync")
    assert done.returncode == 1 and "reading.txt" in done.stderr
    merging = subprocess.run(
        [
            "git",
            "-C",
            str(desk),
            "-c",
            "user.name=me",
            "-c",
            "user.email=me@x",
            "merge",
            "origin/main",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert merging.returncode == 1 and (desk / ".git" / "MERGE_HEAD").exists()
    (desk / "reading.txt").write_text("both lines, as I resolved them\n")
    done = cli(desk, "desk", "sync")
    assert done.returncode == 1 and "a merge of yours is in progress" in done.stderr
    assert (desk / "reading.txt").read_text() == "both lines, as I resolved them\n"
    assert (desk / ".git" / "MERGE_HEAD").exists()
    git_out(desk, "-c", "user.name=me", "-c", "user.email=me@x", "commit", "-qam", "resolved")
    ok(desk, "desk", "sync")
    ok(lap, "laptop", "sync")
    assert (lap / "reading.txt").read_text() == "both lines, as I resolved them\n"


def test_sync_init_with_a_bad_device_id_clones_nothing(tmp_path: Path) -> None:
    """Found by an adversary: `sync init REMOTE` with $PAPERTUI_DEVICE=machA (upper case)
    said the id was wrong, after cloning: a .git was left in the folder."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    target = tmp_path / "desk"
    env = {**os.environ, "PAPERTUI_DEVICE": "machA"}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(target), "sync", "init", str(remote)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "a device id is 1-32 lower-case letters" in done.stderr
    assert not target.exists()
