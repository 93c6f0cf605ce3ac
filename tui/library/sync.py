"""One library on several machines through git: `papertui sync init [REMOTE]` and
`papertui sync`.

git carries the library's truth files (papers/, changes/, state/, sessions/, watch/ and the
marker); the cache and the lock files stay out through the library's own ``.gitignore``. Every
truth file is written once and named after the device that wrote it (truth.py; watch/ holds
one file per device, written by that device only), so a pull only ever adds files and never
conflicts; the library then replays what the other devices wrote
(state.py's merge rules). git runs as a subprocess (``git`` on the PATH), never prompting
(``GIT_TERMINAL_PROMPT=0``: a remote that needs a password it does not have fails with
git's message), with papertui's commits made without the user's hooks or signing.

A sync takes the library's write lock only for the local steps (commit, merge), never while
it talks to the remote, so an app open on the library keeps saving meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from ..text import clean_line
from . import truth
from .device import ENV, device_file, device_id
from .storage import LibraryError, WriteLock, read_only_message

if TYPE_CHECKING:
    from .core import Library

NETWORK_TIMEOUT = 300.0  # s: a fetch or push that takes longer is stopped
LOCAL_TIMEOUT = 120.0  # s: any other git command
PUSH_TRIES = 8  # a push refused because the remote moved on: fetch, merge, push again
# What git says when a push lost a race with another machine's push (the remote's branch
# moved on: before this push started, or while it ran): fetch, merge and push again.
RACED = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref")
SYNC_WAIT = 60.0  # s: a sync waits this long for another sync of the same library to end
# git's own locks, which a git stopped midway (SIGKILL, a closed terminal) leaves behind and
# every later git refuses to work past ("Unable to create '….lock': File exists"); those of
# refs/ too. git never removes one by itself ("remove the file manually to continue").
GIT_LOCKS = (
    "index.lock",
    "HEAD.lock",
    "ORIG_HEAD.lock",
    "FETCH_HEAD.lock",
    "config.lock",
    "packed-refs.lock",
    "shallow.lock",
)
STALE_LOCK = 5.0  # s: a git lock this old, with no git working in the library, is a leftover
STALE_UNSEEN = 600.0  # s: the same where the running processes cannot be seen (no /proc)
BUSY_WAIT = 20.0  # s: how long a sync waits for a git of the user's working in the library
FULL_BELOW = 1 << 20  # bytes: a disk with less left after git could not write a file is full
# The user's own git settings that would change what papertui's commands do: hooks, signing
# (a commit or push that waits for a key; merges refused as unsigned), a global ignore file
# (`*.json` in it hid every truth file from `git add`: nothing was ever sent, silently),
# fast-forward-only merges (every sync of two machines that both wrote failed).
NEUTRAL = (
    "core.hooksPath=/dev/null",
    "core.excludesFile=/dev/null",
    "commit.gpgSign=false",
    "push.gpgSign=false",
    "merge.ff=true",
    "merge.verifySignatures=false",
    "core.quotepath=false",
)
# Files every library has: when two libraries first meet (`sync init` into a remote that
# holds another library) both have their own; this machine's is kept.
SHARED_ROOT_FILES = ("papertui.json", ".gitignore", ".stignore")


class SyncError(LibraryError):
    """A sync that could not be done, as one line: what failed and what was kept."""


@dataclass
class Brought:
    """What one other device's files brought in: papers (records in its new segments) and
    state changes (entries of its new change files; checkpoints count as none)."""

    papers: int = 0
    changes: int = 0

    def __bool__(self) -> bool:
        return bool(self.papers or self.changes)

    def __str__(self) -> str:
        what = [_count(self.papers, "paper")] if self.papers else []
        what += [_count(self.changes, "state change")] if self.changes else []
        return " and ".join(what) or "nothing"


@dataclass
class SyncReport:
    """What `sync` did. ``committed``: files of this machine newly committed; ``brought``:
    by device id; ``sent``: what this machine's committed files hold; ``pushed``: whether
    the remote now has this machine's commits (False when there is no remote); ``remote``:
    its URL, or None."""

    committed: int = 0
    brought: dict[str, Brought] = field(default_factory=dict)
    sent: Brought = field(default_factory=Brought)
    pushed: bool = False
    remote: str | None = None
    notes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as lines for people, e.g. ``12 papers, 40 state changes from desk``."""
        out = [f"{got} from {device}" for device, got in sorted(self.brought.items()) if got]
        if self.sent:
            out.append(f"sent {self.sent} of this machine")
        if self.remote is None:
            out.append("no remote to sync with: `papertui sync init REMOTE` adds one")
        elif self.pushed and (self.brought or self.committed or self.sent):
            out.append(f"in step with {self.remote}")
        elif self.pushed:
            out.append(f"nothing new: in step with {self.remote}")
        return out + self.notes + self.conflicts


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' * (n != 1)}"


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- git
def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C", GIT_EDITOR="true")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(name, None)
    # git looks for the repository in ``root`` only, never in a folder above it: a library
    # kept inside another repository (the user's dotfiles) whose own .git is missing or
    # unusable (a clone or `git init` killed at its start) was committed, as papertui's,
    # into that other repository, and its branch pushed.
    env["GIT_CEILING_DIRECTORIES"] = str(root.parent)
    return env


def git(
    root: Path,
    *args: str,
    timeout: float = LOCAL_TIMEOUT,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C root ARGS`` (``stdin``: its input) with the user's settings of `NEUTRAL`
    set aside; its result. SyncError (one line: git's last message) when it fails and
    ``check``, when git is not installed, or after ``timeout`` seconds.

    The commands that talk to a remote (clone, fetch, push, ls-remote) run without the
    terminal (a session of their own): ssh asks for a password or a host key on the
    terminal itself, whatever ``GIT_TERMINAL_PROMPT`` says, and its prompt hung the
    command line for minutes and was drawn over the app, reading the keys typed there;
    without a terminal ssh fails at once with its own message."""
    neutral = [arg for setting in NEUTRAL for arg in ("-c", setting)]
    command = ["git", "-C", str(root), *neutral, *args]
    network = args[0] in ("clone", "fetch", "push", "ls-remote")
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_env(root),
            timeout=timeout,
            check=False,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            start_new_session=network,
        )
    except FileNotFoundError:
        raise SyncError("git is not installed (papertui sync runs git)") from None
    except subprocess.TimeoutExpired:
        raise SyncError(f"git {args[0]} took longer than {timeout:g} s and was stopped") from None
    if check and done.returncode != 0:
        busy = _busy_lock(done)
        if busy is not None:
            raise SyncError(_busy_message(root, busy, None))
        full = _no_space(done)
        if full is not None:
            raise SyncError(
                f"git {args[0]} stopped: {full} ({_last_line(done)}); nothing of the "
                f"library was lost: free some space and sync again"
            )
        raise SyncError(f"git {args[0]} failed: {_last_line(done)}")
    return done


def _full_now(root: Path, done: subprocess.CompletedProcess[str]) -> str | None:
    """Whether git failed for a full disk although it does not say so (when it checks files
    out it says only "unable to write file …"): "no space left on the disk" when the disk
    holding ``root`` has less than `FULL_BELOW` bytes left after such a failure; else None."""
    said = done.stderr + "\n" + done.stdout
    if "unable to write" not in said and "write error" not in said:
        return None
    try:
        st = os.statvfs(root)
    except OSError:
        return None
    return "no space left on the disk" if st.f_bavail * st.f_frsize < FULL_BELOW else None


def _busy_lock(done: subprocess.CompletedProcess[str]) -> str | None:
    """The lock file git found taken (another git working in the repository, or one that
    was stopped and left it), from its message, or None."""
    for line in (done.stderr + "\n" + done.stdout).splitlines():
        if "Unable to create '" in line and "File exists" in line:
            return line.split("Unable to create '", 1)[1].split("'", 1)[0]
    return None


def _busy_message(root: Path, lock: str | Path, who: str | None) -> str:
    """`git is busy in <folder>`: ``who`` (``git commit (process 4242)``, or None when not
    known) holds ``lock``; what the user can do."""
    shown = Path(lock)
    with contextlib.suppress(ValueError):
        shown = shown.relative_to(root)
    said = f"{shown} is taken, {who} is working there" if who else f"{shown} is taken"
    what = (
        f"git is busy in {root}: {said}; nothing was changed and this machine's changes "
        "are kept: sync again when it has finished"
    )
    return what if who else f"{what} (if no git is running there, remove {lock})"


def _no_space(done: subprocess.CompletedProcess[str]) -> str | None:
    """What ran out when git failed for want of space (from its message, or the signal
    that stopped it), in words; None when it failed for another reason. git stops with
    "No space left on device" (the disk), "Disk quota exceeded", or "File too large" or
    SIGXFSZ (25: the file size limit, ``ulimit -f``), often in a helper it ran
    ("unpack-objects died of signal 25")."""
    said = done.stderr + "\n" + done.stdout
    if "No space left on device" in said or "Out of diskspace" in said:
        return "no space left on the disk"
    if "Disk quota exceeded" in said:
        return "the disk quota is used up"
    xfsz = getattr(signal, "SIGXFSZ", None)
    if "File too large" in said or (
        xfsz is not None and (done.returncode == -xfsz or f"died of signal {int(xfsz)}" in said)
    ):
        return "a file grew past the file size limit (ulimit -f)"
    return None


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (done.stderr + "\n" + done.stdout).splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    if done.returncode < 0:  # (killed: SIGXFSZ when the disk or the file size limit is full)
        with contextlib.suppress(ValueError):
            fatal.insert(0, f"git was stopped by {signal.Signals(-done.returncode).name}")
    return (fatal or lines or [f"exit status {done.returncode}"])[0]


def is_shared(root: Path) -> bool:
    """Whether the library at ``root`` is a git repository of its own (`sync init` done)."""
    return (root / ".git").exists()


def remote_url(root: Path) -> str | None:
    """The URL of the library's ``origin`` remote, or None."""
    done = git(root, "remote", "get-url", "origin", check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def _branch(root: Path) -> str:
    done = git(root, "symbolic-ref", "--short", "HEAD", check=False)
    return done.stdout.strip() or "main"


def _head(root: Path) -> str | None:
    done = git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return done.stdout.strip() or None


def _remote_head(root: Path, branch: str) -> str | None:
    done = git(
        root, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", check=False
    )
    return done.stdout.strip() or None


def _remote_branch(root: Path) -> str | None:
    """The branch the library lives on at the remote (fetched): the remote's default
    branch, else ``main``, ``master`` or its only one; None when the remote is empty."""
    heads = git(root, "for-each-ref", "--format=%(refname:short)", "refs/remotes/origin").stdout
    names = [h.removeprefix("origin/") for h in heads.split() if h != "origin/HEAD"]
    if not names:
        return None
    listed = git(root, "ls-remote", "--symref", "origin", "HEAD", check=False).stdout
    for line in listed.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            default = line[len("ref: refs/heads/") : -len("\tHEAD")]
            if default in names:
                return default
    for name in ("main", "master"):
        if name in names:
            return name
    return names[0] if len(names) == 1 else None


def _follow_remote(root: Path) -> None:
    """Put this machine's library on the remote's branch (fetched) when it is on another:
    a new repository (`git init` says main; a remote made elsewhere may say master) or a
    clone of a remote whose default branch does not exist yet."""
    branch = _remote_branch(root)
    if branch is None or branch == _branch(root):
        return
    if _head(root) is None:
        git(root, "checkout", "--quiet", "-B", branch, f"origin/{branch}")
    else:
        git(root, "branch", "-M", branch)


def _identity(root: Path) -> None:
    """A committer for papertui's commits when git has none configured (a new machine):
    the device id, so the history says which machine wrote what."""
    for key, value in (
        ("user.name", f"papertui {device_id()}"),
        ("user.email", "papertui@localhost"),
    ):
        if git(root, "config", key, check=False).returncode != 0:
            git(root, "config", key, value)


# ----------------------------------------------------------------------------- steps
def _recover(root: Path) -> list[str]:
    """Undo what a sync stopped midway (SIGKILL, a closed terminal) left in git: a merge of
    papertui's not concluded is aborted (the working tree goes back to the last commit:
    the files it was bringing come again with the next merge). A merge of the user's in
    progress (one they are resolving by hand) is never touched: SyncError. Call with the
    library's write lock held, after `_clear_git_locks`. What was done, as lines."""
    git_dir = root / ".git"
    if not (git_dir / "MERGE_HEAD").exists():
        return []
    try:
        message = (git_dir / "MERGE_MSG").read_text(encoding="utf-8", errors="replace")
    except OSError:
        message = ""
    if not message.startswith("papertui sync:"):
        raise SyncError(
            f"{root}: a merge of yours is in progress there (git merge); nothing was "
            "changed: finish it (git commit) or undo it (git merge --abort), then sync again"
        )
    git(root, "merge", "--abort", check=False)
    return ["a merge left unfinished by a stopped sync was undone and done again"]


def _git_locks(root: Path) -> list[Path]:
    """git's lock files present in the library's repository (`GIT_LOCKS`, and refs/)."""
    git_dir = root / ".git"
    found = [git_dir / name for name in GIT_LOCKS if os.path.lexists(git_dir / name)]
    for folder, _, files in os.walk(git_dir / "refs"):
        found += [Path(folder, name) for name in files if name.endswith(".lock")]
    return found


def _gits_at_work(root: Path) -> list[str] | None:
    """The git processes working in the library now, as ``git commit (process 4242)``:
    those whose working folder is in it, whose command line names it, or that have one of
    its files open. None where processes cannot be looked at (no /proc: not Linux). Only
    this user's processes can be looked at (another user's git cannot write here)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    real = os.path.realpath(root)
    inside = (real, str(root))

    def within(path: str) -> bool:
        return any(path == p or path.startswith(p + os.sep) for p in inside)

    found = []
    with contextlib.suppress(OSError), os.scandir(proc) as entries:
        pids = [e.name for e in entries if e.name.isdigit() and e.name != str(os.getpid())]
    for pid in pids:
        try:
            comm = (proc / pid / "comm").read_text(errors="replace").strip()
            if comm != "git" and not comm.startswith("git-"):
                continue
            args = (proc / pid / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = os.readlink(proc / pid / "cwd")
        except OSError:  # (gone, or another user's)
            continue
        at_work = within(cwd) or any(within(a.split("=", 1)[-1]) for a in args[1:] if a)
        if not at_work:
            with contextlib.suppress(OSError):
                for fd in os.scandir(proc / pid / "fd"):
                    with contextlib.suppress(OSError):
                        if within(os.readlink(fd.path)):
                            at_work = True
                            break
        if at_work:
            found.append(f"{_command(comm, args)} (process {pid})")
    return found


def _command(comm: str, args: list[str]) -> str:
    """``git commit`` from a git process's name and command line (its options left out)."""
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in ("-c", "-C", "--git-dir", "--work-tree", "--namespace"):
            skip = True
        elif arg and not arg.startswith("-"):
            return clean_line(f"{comm} {arg}")[:40] if comm == "git" else comm
    return comm


def _clear_git_locks(root: Path) -> list[str]:
    """Make way for the sync's own git commands: remove git's locks (`_git_locks`) that a
    git stopped midway left (none of the library's git processes is running and they are
    `STALE_LOCK` s old; `STALE_UNSEEN` s where processes cannot be seen), waiting up to
    `BUSY_WAIT` s for a git that is working there (the user's own `git commit -a` in the
    library folder holds the index's lock while its editor is open: removing it lost the
    commit). SyncError naming the lock and the git when it is still busy: nothing changed.
    Call without the library's write lock (the app keeps saving meanwhile). What was
    removed, as lines."""
    removed: list[str] = []
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        locks = _git_locks(root)
        if not locks:
            break
        at_work = _gits_at_work(root)
        stale_after = STALE_LOCK if at_work == [] else STALE_UNSEEN
        if not at_work:
            for lock in locks:
                with contextlib.suppress(OSError):
                    seen = lock.lstat()
                    if time.time() - seen.st_mtime < stale_after:
                        continue
                    now = lock.lstat()  # (still the one judged stale: then gone)
                    if (now.st_ino, now.st_mtime_ns) == (seen.st_ino, seen.st_mtime_ns):
                        lock.unlink()
                        removed.append(lock.relative_to(root).as_posix())
            if not _git_locks(root):
                break
        if time.monotonic() >= deadline:
            lock = _git_locks(root)[0] if _git_locks(root) else locks[0]
            raise SyncError(_busy_message(root, lock, at_work[0] if at_work else None))
        time.sleep(0.2)
    if not removed:
        return []
    return [f"removed git's lock left by a git that was stopped ({', '.join(removed)})"]


def _fetch_failed(
    root: Path,
    remote: str,
    done: subprocess.CompletedProcess[str],
    kept: str = "this machine's changes are committed here and go with the next sync",
) -> str:
    """Why a fetch from ``remote`` failed, for people: the disk full here (git's message
    or the signal that stopped it), a lock of git's taken, else the remote unreachable."""
    full = _no_space(done)
    if full is not None:
        return (
            f"cannot fetch from {remote} into {root}: {full} ({_last_line(done)}); "
            f"nothing was fetched and {kept}; free some space and sync again"
        )
    busy = _busy_lock(done)
    if busy is not None:
        return _busy_message(root, busy, None)
    return f"cannot reach {remote} ({_last_line(done)}); {kept}"


def _device_of(rel: str) -> str | None:
    """The device that wrote the truth file at ``rel`` (a path in the library), or None: a
    pack of changes too (changes/<device>-<low>-<top>.pack.json, written by a machine alone
    before the library was shared), which is written once as every truth file is."""
    folder, base = rel.split("/", 1)[0], rel.rsplit("/", 1)[-1]
    name = truth.parse_name(base)
    if name is not None and folder in truth.KINDS:
        return name.device
    pack = truth.parse_pack(base)
    return pack.device if pack is not None and folder == truth.CHANGES else None


def _strays(root: Path) -> list[str]:
    """Files git does not track in the truth folders that another device wrote: they reach
    this machine only through a merge, so these are what a merge stopped midway (SIGKILL)
    left, some perhaps cut short; never committed as this machine's."""
    listed = git(
        root, "ls-files", "-z", "--others", "--exclude-standard", "--", *truth.KINDS
    ).stdout
    me = device_id()
    found = []
    for rel in (p for p in listed.split("\0") if p):
        device = _device_of(rel)
        if device is not None and device != me:
            found.append(rel)
    return found


def _clear_strays(root: Path, branch: str) -> None:
    """Remove the `_strays` the remote's branch holds (the merge writes them whole again):
    git refuses to merge over untracked files. Others stay (a file-sync tool's)."""
    strays = _strays(root)
    if not strays:
        return
    held = git(
        root, "ls-tree", "-r", "-z", "--name-only", f"origin/{branch}", "--", *truth.KINDS
    ).stdout
    known = set(held.split("\0"))
    for rel in strays:
        if rel in known:
            with contextlib.suppress(FileNotFoundError):
                (root / rel).unlink()


def _restore_missing(root: Path) -> list[str]:
    """Put back, from the last commit, the truth files missing here: papertui never deletes
    a committed one (a library synced by git folds no change file away), so it was set
    aside (`doctor --repair` moves a file damaged here into quarantine/) or deleted by hand;
    committing that would delete the other machines' good copies, this machine's own files
    too (their writer's disk damaged its copy; the others hold it whole). What was done, as
    lines."""
    listed = git(root, "ls-files", "-z", "--deleted", "--", *truth.KINDS).stdout
    me = device_id()
    missing = [rel for rel in listed.split("\0") if rel and _device_of(rel) is not None]
    if not missing:
        return []
    git(
        root,
        "checkout",
        "HEAD",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        stdin="\0".join(f":(literal){rel}" for rel in missing),
    )
    own = sum(_device_of(rel) == me for rel in missing)
    lines = []
    if len(missing) > own:
        lines.append(
            f"put back {_count(len(missing) - own, 'file')} of other machines missing here, "
            "from git"
        )
    if own:
        lines.append(
            f"put back {_count(own, 'file')} of this machine missing here (set aside by "
            "`doctor --repair`, or deleted), from git: the copy sent before"
        )
    return lines


def _damaged_here(root: Path) -> list[str]:
    """Truth files git tracks that were changed here into something papertui cannot read
    (a bad disk block, a cut write): a truth file is written once, so this is damage, and
    committing it would replace every other machine's good copy. Never committed; `doctor
    --repair` sets them aside, and the next sync puts back the copy git holds."""
    listed = git(root, "ls-files", "-z", "--modified", "--", *truth.KINDS).stdout
    damaged = []
    for rel in (p for p in listed.split("\0") if p):
        if _device_of(rel) is None or not (root / rel).exists():
            continue
        try:
            truth.read_tables(root / rel)
        except (LibraryError, OSError):
            damaged.append(rel)
    return damaged


def _first_of(paths: list[str], what: str) -> list[str]:
    """One line naming the first of ``paths`` (and how many more), then ``what``; none
    when there are none."""
    if not paths:
        return []
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return [f"{paths[0]}{more}: {what}"]


def _damaged_note(damaged: list[str]) -> list[str]:
    return _first_of(
        damaged,
        "damaged here, not sent (the other machines keep their good copy); run `papertui "
        "doctor --repair`, then sync: the copy git holds is put back",
    )


# This machine's own files, never committed whatever the library's .gitignore says (a
# library without one committed .lock.owner, which holds a process id: every machine
# changed it, and every sync after the first stopped on it as "changed on both sides").
# (Globs: git refuses an `add` whose pathspec names an ignored file, even to exclude it.)
MACHINES_OWN = (
    ":(exclude,glob)**/.lock",
    ":(exclude,glob)**/.lock.owner",
    ":(exclude,glob)**/.cache/**",
    ":(exclude,glob)**/.tmp-*",
    # A folder Syncthing or Dropbox also syncs: their own files (old versions, half-copied
    # temporaries, markers) are each machine's, not the library's.
    ":(exclude,glob)**/.stversions/**",
    ":(exclude,glob)**/.stfolder*",
    ":(exclude,glob)**/.syncthing.*.tmp",
    ":(exclude,glob)**/~syncthing~*.tmp",
    ":(exclude,glob)**/.dropbox*",
)


def _ignore(root: Path) -> bool:
    """Give the library its .gitignore again when it lacks one, or lines of one (deleted or
    edited by hand): whether it was changed."""
    from .core import IGNORED

    path = root / ".gitignore"
    try:
        kept = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        kept = ""
    lines = set(kept.splitlines())
    missing = [ln for ln in IGNORED.splitlines() if ln and ln not in lines]
    if not missing:
        return False
    glue = "\n" if kept and not kept.endswith("\n") else ""
    path.write_text(kept + glue + "\n".join(missing) + "\n", encoding="utf-8")
    return True


def _links_here(root: Path) -> list[str]:
    """Symbolic links, not committed yet, where papertui reads (`READ_HERE`): a file-sync
    tool's copies of links (papertui never writes one). The library never reads through
    them (`truth.listing`); committed, they would stop every other machine's sync
    (`_check_incoming`), so they are never committed."""
    listed = git(
        root, "ls-files", "-z", "--others", "--modified", "--exclude-standard", "--", *READ_HERE
    ).stdout
    return sorted({rel for rel in listed.split("\0") if rel and os.path.islink(root / rel)})


def _links_note(links: list[str]) -> list[str]:
    return _first_of(
        links,
        "a symbolic link, which papertui never writes, reads through nor sends (a file-sync "
        "tool's copy?): left out; remove it (`papertui doctor` lists them)",
    )


def _commit(root: Path, message: str) -> int:
    """Commit every file the library's .gitignore lets through but `_strays`,
    `_links_here`, `_damaged_here` and `MACHINES_OWN`; how many changed."""
    specs = [".", *MACHINES_OWN]
    left = (*_strays(root), *_links_here(root), *_damaged_here(root))
    specs += [f":(exclude,literal){rel}" for rel in left]
    git(root, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", stdin="\0".join(specs))
    staged = git(root, "diff", "--cached", "--name-only", "-z").stdout.split("\0")
    staged = [s for s in staged if s]
    if staged:
        git(root, "commit", "--quiet", "--no-verify", "-m", message)
    return len(staged)


# Where papertui reads: a symbolic link or a submodule there is read through (a link to
# /dev/zero made every machine that merged it read until its memory ran out, at every open).
READ_HERE = (*truth.KINDS, "papertui.json", ".gitignore", ".stignore")
_LINK_MODES = ("120000", "160000")  # git's modes of a symbolic link and of a submodule


def _check_incoming(root: Path, rev: str, where: str, since: str | None = None) -> None:
    """Refuse, before anything of it reaches the library, a commit ``rev`` from ``where``
    that is not a papertui library's (no papertui.json: a remote typed wrong, the user's
    code repository, would have had the library merged and pushed into it) or that brings
    a symbolic link or a submodule where papertui reads (`READ_HERE`). ``since``: a commit
    whose files were checked already (only what came after it is looked at). SyncError."""
    if git(root, "cat-file", "-e", f"{rev}:papertui.json", check=False).returncode != 0:
        raise SyncError(
            f"{where} holds no papertui library (no papertui.json on its branch): not "
            "joined, nothing was merged or sent; check the remote's address"
        )
    if since is None:
        listed = git(root, "ls-tree", "-r", "-z", "--full-tree", rev, "--", *READ_HERE).stdout
        links = [
            entry.split("\t", 1)[1]
            for entry in listed.split("\0")
            if "\t" in entry and entry.split(" ", 1)[0] in _LINK_MODES
        ]
    else:
        raw = git(
            root, "diff", "--raw", "-z", "--no-renames", f"{since}...{rev}", "--", *READ_HERE
        ).stdout.split("\0")
        links = [
            path
            for meta, path in zip(raw[0::2], raw[1::2], strict=False)
            if meta.startswith(":") and meta.split(" ")[1] in _LINK_MODES
        ]
    if links:
        more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
        raise SyncError(
            f"{where}: {links[0]}{more} is a symbolic link or a submodule, which papertui "
            "never writes (it would read through it, outside the library); nothing was "
            "merged; remove it from the remote with git"
        )


@contextlib.contextmanager
def _one_sync(root: Path) -> Iterator[None]:
    """Hold the library's sync lock (in .git: never committed) for a whole sync: two syncs
    of one library at once (the app's P and `papertui sync` in a terminal) raced on git's
    own refs and one failed, saying the remote could not be reached. The second waits up
    to `SYNC_WAIT` s. SyncError when it still cannot take it."""
    lock = FileLock(str(root / ".git" / "papertui-sync.lock"))
    try:
        lock.acquire(timeout=SYNC_WAIT)
    except Timeout:
        raise SyncError(
            f"{root}: another sync of this library is still running; waited "
            f"{SYNC_WAIT:g} s, try again when it finishes"
        ) from None
    except OSError as err:
        raise SyncError(read_only_message(root, err)) from None
    try:
        yield
    finally:
        lock.release()


def _merge(root: Path, branch: str, unrelated: bool = False) -> None:
    """Merge what was fetched into this machine's branch. Files both sides added that every
    library has (`SHARED_ROOT_FILES`) keep this machine's version; any other file changed on
    both sides (edited by hand) stops the sync: the merge is undone, nothing changes, and
    SyncError names the file."""
    args = ["merge", "--no-edit", "--quiet", "-m", f"papertui sync: merge into {device_id()}"]
    if unrelated:
        args.append("--allow-unrelated-histories")
    done = git(root, *args, f"origin/{branch}", check=False)
    if done.returncode == 0:
        return
    conflicted = git(root, "diff", "--name-only", "-z", "--diff-filter=U").stdout.split("\0")
    conflicted = [c for c in conflicted if c]
    if not conflicted:
        full = _no_space(done) or _full_now(root, done)  # (before space is given back)
        git(root, "merge", "--abort", check=False)
        # What it wrote before it stopped (a file cut short by a full disk: the space is
        # given back); the next merge writes them whole.
        _clear_strays(root, branch)
        if full is not None:
            raise SyncError(
                f"git merge stopped: {full} holding {root} ({_last_line(done)}); nothing "
                "was changed here: free some space and sync again"
            )
        raise SyncError(f"git merge failed: {_last_line(done)}; nothing was changed here")
    others = [c for c in conflicted if c not in SHARED_ROOT_FILES]
    if others:
        git(root, "merge", "--abort", check=False)
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        me = device_id()
        if all(_device_of(c) == me for c in others):
            raise SyncError(
                f"{root / others[0]}{more}: written both here and by another machine that "
                f"also calls itself {me!r} (two machines with one device id: "
                f"${ENV} set alike, or {device_file()} copied); the sync stopped and "
                "nothing was changed here; give one of them its own id, and resolve this "
                f"with git in {root}"
            )
        raise SyncError(
            f"{root / others[0]}{more}: changed both here and on another machine (papertui "
            "writes each file once: edited by hand?); the sync stopped and nothing was "
            f"changed here; resolve it with git in {root}, then sync again"
        )
    git(root, "checkout", "--ours", "--", *conflicted)
    git(root, "add", "--", *conflicted)
    git(root, "commit", "--quiet", "--no-verify", "--no-edit")


def _tally(
    root: Path, before: str | None, after: str | None, mine: bool = False
) -> dict[str, Brought]:
    """Papers and state changes in the truth files added between two commits, by device:
    other devices' files, or (``mine``) only this device's. Each file is read whole (a
    paper count is in no header), so each is read by one tally only. (The Library's
    catch-up reads them too, but cannot tell: an app open on the library may have taken
    them in first.)"""
    if after is None or before == after:
        return {}
    if before is None:
        listed = git(root, "ls-tree", "-r", "--name-only", "-z", after).stdout
    else:
        listed = git(root, "diff", "--name-only", "-z", "--diff-filter=A", before, after).stdout
    found: dict[str, Brought] = {}
    me = device_id()
    for rel in (p for p in listed.split("\0") if p):
        parts = rel.split("/")
        if len(parts) != 2 or parts[0] not in (truth.SEGMENTS, truth.CHANGES):
            continue
        name = truth.parse_name(parts[1])
        if name is None or (name.device == me) != mine:
            continue
        got = found.setdefault(name.device, Brought())
        with contextlib.suppress(LibraryError, OSError):
            if parts[0] == truth.SEGMENTS:
                got.papers += len(truth.segment_ids(root / rel))
            else:
                got.changes += len(truth.read_change(root / rel).entries)
    return found


def _clone(root: Path, remote: str) -> None:
    """Clone ``remote`` to ``root`` (missing or an empty folder) whole or not at all: into a
    hidden folder beside it, checked (`_check_incoming`), then renamed into place. A clone
    cut short (SIGKILL, a closed terminal) left a .git alone in ``root``: the next
    `sync init` refused the folder as "no papertui library here". SyncError."""
    prefix = f".{root.name}.papertui-clone-"
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        for stale in root.parent.glob(glob_escape(prefix) + "*"):  # (a clone cut short)
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=root.parent))
    except OSError as err:
        raise SyncError(
            f"{root.parent}: cannot make the clone there ({err.strerror or err})"
        ) from None
    try:
        made = staging / "library"
        git(staging, "clone", "--quiet", "--", remote, str(made), timeout=NETWORK_TIMEOUT)
        _follow_remote(made)
        if _head(made) is not None:
            _check_incoming(made, "HEAD", remote)
        try:
            with contextlib.suppress(FileNotFoundError):
                root.rmdir()  # (an empty folder: the clone takes its place)
            made.rename(root)
        except OSError as err:
            raise SyncError(f"{root}: cannot put the clone there ({err.strerror or err})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ----------------------------------------------------------------------------- commands
def init(root: Path, remote: str | None = None, progress: Progress = _quiet) -> list[str]:
    """Make the library at ``root`` a git repository (``sync init``), or, when ``root`` is
    missing or an empty folder and ``remote`` is given, clone the library there. With a
    remote, this machine's library and the remote's are joined and pushed. What was done,
    as lines; SyncError (nothing of the user's changed) when git fails."""
    from .core import Library

    root = Path(root).expanduser().absolute()
    fresh = not root.exists() or (root.is_dir() and not any(root.iterdir()))
    lines: list[str] = []
    if remote and fresh:
        device_id()  # (LibraryError for a bad $PAPERTUI_DEVICE before anything is cloned)
        progress(f"cloning {remote}")
        _clone(root, remote)
        lib = Library.open(root)  # (an empty remote: a new library is made here)
        try:
            count = len(lib)
        finally:
            lib.close()
        _identity(root)
        lines.append(f"cloned the library from {remote}: {count:,} papers")
        listed = git(root, "ls-files", "-z", "--", *truth.KINDS).stdout.split("\0")
        if any(_device_of(rel) == device_id() for rel in listed if rel):
            lines.append(
                f"warning: the library already holds files of a machine called "
                f"{device_id()!r}, as this one is: if that was another machine, give this "
                f"one its own id (${ENV}, or {device_file()}) before changing anything"
            )
        lines.extend(sync(root, progress).lines())
        return lines
    lib = Library.open(root, create=False)
    lib.close()
    if not is_shared(root):
        git(root, "init", "--quiet", "--initial-branch=main")
        lines.append(f"made {root} a git repository")
    _identity(root)
    _clear_git_locks(root)
    with WriteLock(root).held():
        _recover(root)
        if _ignore(root):
            lines.append(f"wrote {root / '.gitignore'}: the cache and lock files stay out of git")
        committed = _commit(root, f"papertui: the library of {device_id()}")
    if committed:
        mine = _tally(root, None, _head(root), mine=True).get(device_id(), Brought())
        lines.append(f"committed {mine} of this machine" if mine else "committed the library")
    if remote:
        if remote_url(root) is None:
            git(root, "remote", "add", "origin", remote)
        else:
            git(root, "remote", "set-url", "origin", remote)
        lines.append(f"remote: {remote}")
        progress(f"fetching from {remote}")
        done = git(root, "fetch", "--quiet", "origin", timeout=NETWORK_TIMEOUT, check=False)
        if done.returncode != 0:
            raise SyncError(
                _fetch_failed(
                    root,
                    remote,
                    done,
                    "the library is committed here and joins "
                    "the remote at the next `papertui sync`",
                )
            )
        _follow_remote(root)
        lines.extend(sync(root, progress).lines())
    return lines


def sync(root: Path, progress: Progress = _quiet) -> SyncReport:
    """Commit this machine's new files, fetch and merge the remote's, push, and replay what
    other machines wrote into the cache. SyncError (one line, naming what is kept) when the
    library is not shared yet, the remote cannot be reached, or a file conflicts; the
    library is usable after any failure and the next sync completes what this one did not."""
    from .core import Library

    root = Path(root).expanduser().absolute()
    lib = Library.open(root, create=False)  # (checks it is a library, migrates if needed)
    lib.close()
    if not is_shared(root):
        raise SyncError(f"{root}: not shared yet; run `papertui sync init [REMOTE]` first")
    if git(root, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise SyncError(
            f"{root / '.git'}: not a usable git repository (a `sync init` cut short?); "
            "move it aside and run `papertui sync init [REMOTE]` again"
        )
    with _one_sync(root):
        return _sync(root, progress)


def _sync(root: Path, progress: Progress) -> SyncReport:
    from .core import Library

    report = SyncReport(remote=remote_url(root))
    branch = _branch(root)
    lock = WriteLock(root)
    progress("committing this machine's changes")
    first = _head(root)
    # What the remote had of this machine when last heard from: a sync stopped after its
    # commit (Ctrl-C while it fetched) left this machine's files committed and not sent;
    # the next sync sent them and said "nothing new".
    known = _remote_head(root, branch) if report.remote is not None else first
    report.notes.extend(_clear_git_locks(root))
    with lock.held():
        report.notes.extend(_recover(root))
        report.notes.extend(_restore_missing(root))
        report.notes.extend(_damaged_note(_damaged_here(root)))
        report.notes.extend(_links_note(_links_here(root)))
        report.committed += _commit(root, f"papertui sync: {device_id()}")
    if report.remote is not None:
        for attempt in range(PUSH_TRIES):
            progress(f"fetching from {report.remote}")
            done = git(root, "fetch", "--quiet", "origin", timeout=NETWORK_TIMEOUT, check=False)
            if done.returncode != 0:
                raise SyncError(_fetch_failed(root, report.remote, done))
            if _remote_head(root, branch) is not None:
                progress("merging")
                with lock.held():
                    report.committed += _commit(root, f"papertui sync: {device_id()}")
                    _clear_strays(root, branch)
                    base = git(root, "merge-base", "HEAD", f"origin/{branch}", check=False)
                    unrelated = base.returncode != 0
                    _check_incoming(
                        root,
                        f"origin/{branch}",
                        report.remote,
                        since=None if unrelated else base.stdout.strip(),
                    )
                    _merge(root, branch, unrelated=unrelated)
            progress(f"pushing to {report.remote}")
            pushed = git(
                root,
                "push",
                "--quiet",
                "-u",
                "origin",
                f"HEAD:{branch}",
                timeout=NETWORK_TIMEOUT,
                check=False,
            )
            if pushed.returncode == 0:
                report.pushed = True
                break
            said = pushed.stderr + pushed.stdout
            if attempt < PUSH_TRIES - 1 and any(race in said for race in RACED):
                # Another machine pushed first (or at the same moment: "cannot lock ref"):
                # wait a little, longer each time, so machines that sync together (a
                # lab's cron at the hour) do not keep colliding, and go round again.
                time.sleep(random.uniform(0.1, 0.5) * (attempt + 1))
                continue
            raise SyncError(
                f"could not push to {report.remote} ({_last_line(pushed)}); what came "
                "from it is merged here and this machine's changes go with the next sync"
            )
    last = _head(root)
    report.brought = _tally(root, first, last)
    report.sent = _tally(root, known, last, mine=True).get(device_id(), Brought())
    progress("taking in what other machines wrote")
    lib = Library.open(root, create=False)  # (catches up with the files merged)
    try:
        if lib.united:
            some = ", ".join(f"{old} is {new}" for old, new in lib.united[:3])
            more = ", …" if len(lib.united) > 3 else ""
            report.notes.append(
                f"{_count(len(lib.united), 'paper')} came under another id than here and "
                f"{'is' if len(lib.united) == 1 else 'are'} one paper with it ({some}{more}; "
                "either id names it)"
            )
        report.conflicts = _conflict_lines(lib)
    finally:
        lib.close()
    return report


def _conflict_lines(lib: Library) -> list[str]:
    """One line per note holding both machines' texts (`Library.note_conflicts`), until
    the user resolves it."""
    lines, seen = [], set()
    for conflict in lib.note_conflicts():
        if conflict.id in seen:
            continue
        seen.add(conflict.id)
        lines.append(
            f"note conflict on {conflict.id} ({lib.short_title(conflict.id)}): written on "
            f"{conflict.other} and {conflict.device} apart, both kept; keep what you want "
            "and delete the conflict line"
        )
    return lines
