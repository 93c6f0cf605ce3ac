"""`papertui sync` attacked through its transport: the user's own git settings, a library kept
inside another repository, a remote that is not a library or that carries links, an ssh that
asks for a password, machines pushing at the same moment, a clone cut short, two syncs of one
library at once. Real git, real `papertui` processes (`tests.test_sync.cli`); the oracle is
git itself and `papertui list --json` in a fresh process."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from tui.library import sync
from tui.library.device import device_id

from .conftest import shared_pair
from .test_sync import (
    ROOT,
    bare_remote,
    cli,
    feed,
    git_out,
    listed,
    ok,
    start,
    state_of,
    take_in,
)


def commit_into(remote: Path, tmp: Path, make: str) -> None:
    """Another party commits to the remote's main branch: a shell command ``make`` run in
    a plain clone of it."""
    work = tmp / "other-party"
    subprocess.run(["git", "clone", "--quiet", "-b", "main", str(remote), str(work)], check=True)
    subprocess.run(make, shell=True, cwd=work, check=True)
    for args in (
        ["add", "-A"],
        ["-c", "user.name=o", "-c", "user.email=o@x", "commit", "--quiet", "-m", "other"],
        ["push", "--quiet", "origin", "HEAD:main"],
    ):
        subprocess.run(["git", "-C", str(work), *args], check=True)


def test_a_library_in_another_repository_with_a_broken_git_is_not_committed_into_it(
    tmp_path: Path,
) -> None:
    """The user keeps the library in their dotfiles repository, and its own .git is an
    empty folder (a `sync init` killed at its start): git went up to the dotfiles and
    papertui committed the library there."""
    dotfiles = tmp_path / "dotfiles"
    subprocess.run(["git", "init", "--quiet", str(dotfiles)], check=True)
    (dotfiles / "bashrc").write_text("alias ll='ls -l'\n")
    subprocess.run(["git", "-C", str(dotfiles), "add", "bashrc"], check=True)
    subprocess.run(
        ["git", "-C", str(dotfiles), "-c", "user.name=u", "-c", "user.email=u@x"]
        + ["commit", "--quiet", "-m", "mine"],
        check=True,
    )
    lib = dotfiles / "papers"
    take_in(lib, "laptop", feed(tmp_path, "a", range(0, 2)))
    (lib / ".git").mkdir()
    done = cli(lib, "laptop", "sync")
    assert done.returncode == 1 and "not a usable git repository" in done.stderr, done.stderr
    assert git_out(dotfiles, "log", "--format=%s").split("\n")[0] == "mine"
    assert git_out(dotfiles, "ls-files").split() == ["bashrc"]
    assert len(listed(lib)) == 2


def test_the_users_git_settings_neither_hide_truth_files_nor_refuse_merges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A global ignore file with `*.json` hid every change from `git add` (never sent,
    "nothing new"); merge.ff=only and merge.verifySignatures refused every merge; signed
    pushes and commits need a key the machine may not have."""
    remote, lap, desk = shared_pair(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitignore_global").write_text("*.json\n")
    (home / ".gitconfig").write_text(
        "[core]\n\texcludesFile = ~/.gitignore_global\n"
        "[merge]\n\tff = only\n\tverifySignatures = true\n"
        "[commit]\n\tgpgSign = true\n[push]\n\tgpgSign = true\n"
        "[user]\n\tname = Real User\n\temail = u@example.org\n\tsigningKey = NOKEY\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    ok(lap, "laptop", "star", "2606.20000")
    ok(desk, "desk", "read", "2606.20001")
    assert "1 state change" in ok(lap, "laptop", "sync")
    assert "1 state change from laptop" in ok(desk, "desk", "sync")
    assert "1 state change from desk" in ok(lap, "laptop", "sync")
    expected = {"2606.20000": (False, True, [], ""), "2606.20001": (True, False, [], "")}
    assert state_of(lap) == state_of(desk) == expected


def test_an_ssh_asking_for_a_password_gets_no_terminal(tmp_path: Path) -> None:
    """ssh asks on the terminal itself (GIT_TERMINAL_PROMPT does not reach it): its prompt
    hung `papertui sync` and was drawn over the app, reading the keys typed there. Run in a
    real terminal (a pty); the fake ssh records whether it could open it."""
    lap = tmp_path / "laptop"
    take_in(lap, "laptop", feed(tmp_path, "a", range(0, 2)))
    ok(lap, "laptop", "sync", "init")
    subprocess.run(
        ["git", "-C", str(lap), "remote", "add", "origin", "git@example.org:me/papers.git"],
        check=True,
    )
    opened = tmp_path / "ssh-had-the-terminal"
    ssh = tmp_path / "ssh"
    ssh.write_text(f"#!/bin/sh\n( : < /dev/tty ) 2>/dev/null && touch '{opened}'\nexit 255\n")
    ssh.chmod(0o755)
    pid, fd = pty.fork()
    if pid == 0:  # the child: `papertui sync` with the pty as its terminal
        os.chdir(ROOT)
        env = {**os.environ, "PAPERTUI_DEVICE": "laptop", "GIT_SSH_COMMAND": str(ssh)}
        os.execve(sys.executable, [sys.executable, "-m", "tui", "sync", "--db", str(lap)], env)
    said = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        said += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1, said
    assert b"cannot reach git@example.org:me/papers.git" in said, said
    assert not opened.exists()


def test_a_push_that_loses_a_race_with_another_machines_is_tried_again(tmp_path: Path) -> None:
    """Two machines pushing at the same moment: the remote's branch moves while this push
    runs and git says "cannot lock ref ... (failed to update ref)", which was not retried
    (only "fetch first" was): the sync failed. A hook on the remote makes that race happen
    once, for certain."""
    remote, lap, _ = shared_pair(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "[ -e raced ] && exit 0\n"
        "touch raced\n"
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        "export GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@x GIT_COMMITTER_NAME=o "
        "GIT_COMMITTER_EMAIL=o@x\n"
        "new=$(git commit-tree -p main -m 'another machine' main^{tree})\n"
        "git update-ref refs/heads/main $new\n"
    )
    hook.chmod(0o755)
    ok(lap, "laptop", "star", "2606.20002")
    done = cli(lap, "laptop", "sync")
    assert done.returncode == 0, done.stderr
    assert (remote / "raced").exists()
    assert git_out(remote, "log", "--format=%s", "main").startswith("papertui sync: merge")
    assert "another machine" in git_out(remote, "log", "--format=%s", "main")
    files = git_out(remote, "ls-tree", "-r", "--name-only", "main")
    assert "changes/laptop-" in files


def test_a_remote_that_is_not_a_library_is_neither_joined_nor_cloned(tmp_path: Path) -> None:
    """`sync init` given the address of the user's code repository (a typo): the library
    was merged into the code and pushed to its branch, and a clone of it was taken as
    a library with main.py in it."""
    code = tmp_path / "code.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(code)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "--quiet", str(code), str(work)], check=True)
    (work / "main.py").write_text("print('hello')\n")
    for args in (
        ["add", "-A"],
        ["-c", "user.name=o", "-c", "user.email=o@x", "commit", "--quiet", "-m", "code"],
        ["push", "--quiet", "origin", "HEAD:master"],
    ):
        subprocess.run(["git", "-C", str(work), *args], check=True)
    lap, new = tmp_path / "laptop", tmp_path / "new"
    take_in(lap, "laptop", feed(tmp_path, "a", range(0, 2)))
    for db in (lap, new):
        done = cli(db, "laptop", "sync", "init", str(code))
        assert done.returncode == 1 and "holds no papertui library" in done.stderr, done.stderr
    assert git_out(code, "log", "--format=%s", "master").split() == ["code"]
    assert not new.exists()
    assert [p.name for p in tmp_path.iterdir() if "papertui-clone" in p.name] == []
    assert not (lap / "main.py").exists() and len(listed(lap)) == 2


def test_links_from_the_remote_are_refused_before_they_reach_the_library(
    tmp_path: Path,
) -> None:
    """A change file committed as a symbolic link to /dev/zero: every machine that merged
    it read it until its memory ran out, at every sync and every start of the app."""
    remote, lap, _ = shared_pair(tmp_path)
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    commit_into(remote, tmp_path, f"mkdir -p changes && ln -s {outside} changes/evil-00000001.json")
    for db, args in ((lap, ["sync"]), (tmp_path / "new", ["sync", "init", str(remote)])):
        done = cli(db, "laptop", *args)
        assert done.returncode == 1, done.stderr
        assert "changes/evil-00000001.json is a symbolic link" in done.stderr, done.stderr
    assert not (lap / "changes" / "evil-00000001.json").is_symlink()
    assert not (tmp_path / "new").exists()
    assert len(listed(lap)) == 3


def test_a_clone_cut_short_is_made_again_by_the_next_sync_init(tmp_path: Path) -> None:
    """`sync init REMOTE` on a new machine killed while git clones: the folder kept a .git
    alone and the next `sync init` refused it ("no papertui library here"). An ssh remote
    whose first connection hangs makes the moment certain."""
    remote, lap, _ = shared_pair(tmp_path)
    hung = tmp_path / "ssh-hung"
    ssh = tmp_path / "ssh"
    ssh.write_text(  # (the first call hangs; later ones serve the remote over a pipe)
        f'#!/bin/sh\nif [ ! -e "{hung}" ]; then echo $$ > "{hung}"; exec sleep 60; fi\n'
        'for last; do :; done; exec sh -c "$last"\n'
    )
    ssh.chmod(0o755)
    url = f"ssh://example.org{remote}"
    new = tmp_path / "new"
    env = {**os.environ, "PAPERTUI_DEVICE": "newbox", "GIT_SSH_COMMAND": str(ssh)}
    proc = start(new, env, "sync", "init", url)
    while not hung.exists() or not hung.read_text().strip():
        assert proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    os.kill(int(hung.read_text()), signal.SIGKILL)  # (the hung ssh: git's, in its own session)
    again = subprocess.run(
        [sys.executable, "-m", "tui", "sync", "init", url, "--db", str(new)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "cloned the library" in again.stdout
    assert listed(new) == listed(lap)
    assert [p.name for p in tmp_path.iterdir() if "papertui-clone" in p.name] == []


def test_a_second_sync_of_one_library_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's P and `papertui sync` in a terminal at once raced on git's refs and one
    failed saying the remote could not be reached. A sync holds the library's sync lock;
    a second one waits for it, and says so when it cannot have it."""
    _, lap, _ = shared_pair(tmp_path)
    monkeypatch.setenv("PAPERTUI_DEVICE", "laptop")
    device_id.cache_clear()
    monkeypatch.setattr(sync, "SYNC_WAIT", 0.2)
    try:
        with FileLock(str(lap / ".git" / "papertui-sync.lock")):
            with pytest.raises(sync.SyncError, match="another sync of this library"):
                sync.sync(lap)
        assert sync.sync(lap).pushed
    finally:
        device_id.cache_clear()


def test_two_machines_with_one_device_id_are_named_as_such(tmp_path: Path) -> None:
    """Two machines both called "laptop" (the same $PAPERTUI_DEVICE) write files of the
    same names: the clone warns when the remote already holds this machine's name, and the
    sync that meets the other's file names the cause, not "edited by hand?"."""
    remote = bare_remote(tmp_path)
    lap, other = tmp_path / "laptop", tmp_path / "other"
    take_in(lap, "laptop", feed(tmp_path, "a", range(0, 3)))
    ok(lap, "laptop", "sync", "init", str(remote))
    cloned = ok(other, "laptop", "sync", "init", str(remote))
    assert "already holds files of a machine called 'laptop'" in cloned, cloned
    ok(lap, "laptop", "star", "2606.20000")
    ok(other, "laptop", "read", "2606.20001")
    ok(lap, "laptop", "sync")
    done = cli(other, "laptop", "sync")
    assert done.returncode == 1
    assert "also calls itself 'laptop'" in done.stderr and "edited by hand" not in done.stderr
    assert state_of(other) == {"2606.20001": (True, False, [], "")}


def test_a_library_without_its_gitignore_never_sends_this_machines_own_files(
    tmp_path: Path,
) -> None:
    """A library whose .gitignore was deleted: `sync init` committed .lock and .lock.owner
    (a process id, rewritten by every write); once two machines had written, every sync
    stopped on .lock.owner as changed on both sides. A folder Syncthing also syncs: its old
    versions and half-copied temporaries went to every machine."""
    remote = bare_remote(tmp_path)
    lap, desk = tmp_path / "laptop", tmp_path / "desk"
    take_in(lap, "laptop", feed(tmp_path, "a", range(0, 3)))
    (lap / ".gitignore").unlink()
    assert (lap / ".lock.owner").exists()
    (lap / ".stversions" / "papers").mkdir(parents=True)  # (Syncthing's, in the same folder)
    (lap / ".stversions" / "papers" / "laptop-00000001~20261130-101010.json").write_text("{}")
    (lap / "changes" / ".syncthing.laptop-00000009.json.tmp").write_text('{"cut')
    ok(lap, "laptop", "sync", "init", str(remote))
    ok(desk, "desk", "sync", "init", str(remote))
    ok(lap, "laptop", "star", "2606.20000")
    ok(desk, "desk", "read", "2606.20001")
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")
    ok(lap, "laptop", "sync")
    files = git_out(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert not [f for f in files if f.startswith((".lock", ".cache", ".stversions"))], files
    assert not [f for f in files if "syncthing" in f], files
    assert (
        state_of(lap)
        == state_of(desk)
        == {
            "2606.20000": (False, True, [], ""),
            "2606.20001": (True, False, [], ""),
        }
    )


def test_a_sync_stopped_after_its_commit_reports_what_the_next_one_sends(
    tmp_path: Path,
) -> None:
    """A sync interrupted while it fetched had committed this machine's star; the next
    sync pushed it and said "nothing new". An ssh remote whose first connection hangs
    holds the first sync at its fetch."""
    remote, lap, desk = shared_pair(tmp_path)
    hung = tmp_path / "ssh-hung"
    ssh = tmp_path / "ssh"
    ssh.write_text(
        f'#!/bin/sh\nif [ ! -e "{hung}" ]; then echo $$ > "{hung}"; exec sleep 60; fi\n'
        'for last; do :; done; exec sh -c "$last"\n'
    )
    ssh.chmod(0o755)
    subprocess.run(
        ["git", "-C", str(lap), "remote", "set-url", "origin", f"ssh://example.org{remote}"],
        check=True,
    )
    ok(lap, "laptop", "star", "2606.20002")
    env = {**os.environ, "PAPERTUI_DEVICE": "laptop", "GIT_SSH_COMMAND": str(ssh)}
    proc = start(lap, env, "sync")
    while not hung.exists() or not hung.read_text().strip():
        assert proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # (Ctrl-C)
    proc.wait()
    os.kill(int(hung.read_text()), signal.SIGKILL)
    assert "changes/laptop-" in git_out(lap, "show", "--stat", "HEAD")  # (committed)
    again = subprocess.run(
        [sys.executable, "-m", "tui", "sync", "--db", str(lap)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "sent 1 state change of this machine" in again.stdout, again.stdout
    assert "1 state change from laptop" in ok(desk, "desk", "sync")
