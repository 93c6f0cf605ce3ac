"""`papertui doctor`: check every file of a library and, when asked, repair what can be.

The truth files (truth.py) are checked one by one; a damaged one is never deleted: repair
moves it into ``quarantine/`` (the state is then rebuilt from the previous checkpoint and the
changes written since it, which are kept for this). The SQLite cache is derived: a damaged
one is rebuilt from the truth (``--rebuild`` does it on demand). What doctor does not
understand it reports and leaves alone: files it does not know (such as the conflict copies
file-sync tools make, which it describes) and a library written by a newer papertui, which
it refuses to repair at all.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from ..recovery import RECOVERED, recovered_files
from . import truth
from .cache import CACHE_DIR, default_location, fallback_location, file_uri
from .migrate import marker, marker_schema
from .storage import (
    SCHEMA_VERSION,
    TMP_PREFIX,
    LibraryError,
    WriteLock,
    atomic_write,
    is_writable,
    load,
)

MARKER = "papertui.json"
PACK = "pack"  # (the kind of a pack of changes: changes/<device>-<low>-<top>.pack.json)
_ROOT_FILES = {MARKER, ".gitignore", ".stignore", ".lock", ".lock.owner", "watch.json"}
# (.git: `papertui sync`'s repository; doctor told to remove it, as not papertui's)
# Syncthing's folder marker and its versions of changed files, in every folder it shares.
SYNC_TOOLS = (".stfolder", ".stversions")
_OTHER_FOLDERS = {"sessions", "watch", "quarantine", RECOVERED, CACHE_DIR, ".git", *SYNC_TOOLS}


@dataclass
class Finding:
    """One problem found in a library, and what `repair` would do about it.

    ``repairable`` is False for what repair leaves alone (unknown files, newer formats)."""

    path: Path
    problem: str
    remedy: str
    repairable: bool = True


def _leave(path: Path, problem: str, remedy: str) -> Finding:
    return Finding(path, problem, remedy, repairable=False)


def _message(err: LibraryError) -> str:
    return str(err).split(": ", 1)[-1].split("; run `papertui doctor")[0]


def _problem(path: Path, kind: str) -> str | None:
    """What is wrong with one truth file (as the library reads it), or None."""
    try:
        if kind == truth.SEGMENTS:
            truth.read_segment(path)
        elif kind == truth.CHANGES:
            truth.read_change(path)
        elif kind == truth.CHECKPOINTS:
            truth.read_checkpoint(path)
        elif kind == PACK:
            truth.read_pack(path)
        else:
            load(path)
    except LibraryError as err:
        return _message(err)
    return None


def _newer(problem: str) -> bool:
    return problem.startswith("written by a newer papertui")


_REMEDY = {
    truth.SEGMENTS: "quarantine it; re-import the feeds of that import to get its papers back",
    truth.CHANGES: "quarantine it; that one change is lost",
    truth.CHECKPOINTS: "quarantine it; the state is rebuilt from the previous checkpoint and "
    "the changes since",
    PACK: "quarantine it; its changes stay folded in this machine's checkpoints",
}
_FOREIGN = "none: papertui ignores it; compare it with the library and remove it yourself"


def _foreign(path: Path, kind: str) -> Finding:
    """A file of another name in a truth folder: a copy a file-sync tool made when two
    copies of the library wrote the same file, or not ours. Described, never applied."""
    copy = "a file-sync tool's copy from another copy of this library"
    try:
        if kind == truth.CHANGES:
            change = truth.read_change_content(path)
            count = len(change.entries)
            tags = sorted({t for e in change.entries for t in e["new"].get("tags", ())})
            detail = f", tags: {', '.join(tags)}" if tags else ""
            what = f"{change.label!r} on {count} paper{'s' * (count != 1)}{detail}"
            return _leave(
                path,
                f"{copy}: a change papertui has not applied ({what}; made {change.ts})",
                "none yet: keep it; make the change again by hand if you need it now",
            )
        if kind == truth.SEGMENTS:
            _, docs = truth.read_segment(path)
            origins = sorted(
                {s.get("origin", "") for d in docs for s in d.get("sources", ())} - {""}
            )
            shown = ", ".join(origins[:3]) + (", …" if len(origins) > 3 else "")
            return _leave(
                path,
                f"{copy}: {len(docs)} papers papertui has not taken in (imported from {shown})",
                "none yet: import those feeds here again (papertui import FILE), "
                "then delete the copy",
            )
    except LibraryError:
        pass
    return _leave(path, "not a papertui file", _FOREIGN)


def _not_regular(path: Path) -> str | None:
    """What a folder entry is when it is not a regular file (papertui reads only those, and
    never through a link: see `truth.listing`), else None."""
    try:
        mode = path.lstat().st_mode
    except OSError as err:
        return f"cannot be looked at ({err.strerror})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return (
            f"a symbolic link (to {target}), which papertui never writes nor reads through "
            "(a file-sync tool copied a link?)"
        )
    if stat.S_ISDIR(mode):
        return "not a papertui file (a folder)"
    what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"not a papertui file ({what}: never read)"


def _files(root: Path) -> tuple[list[tuple[Path, str]], list[Finding]]:
    """The library's truth files (path, kind) to check, and findings for every file it
    does not know."""
    files: list[tuple[Path, str]] = [(root / MARKER, "")]
    unknown: list[Finding] = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in _ROOT_FILES or name in _OTHER_FOLDERS or name.startswith(TMP_PREFIX):
            continue
        if name in truth.KINDS and entry.is_dir() and not entry.is_symlink():
            for item in sorted(entry.iterdir()):
                if item.name.startswith(TMP_PREFIX):
                    continue  # unfinished writes: see `_unfinished`
                odd = _not_regular(item)
                if odd is not None:  # (never read: a link to /dev/zero would never end)
                    unknown.append(_leave(item, odd, _FOREIGN))
                elif truth.parse_name(item.name) is not None:
                    files.append((item, name))
                elif name == truth.CHANGES and truth.parse_pack(item.name) is not None:
                    files.append((item, PACK))
                else:
                    unknown.append(_foreign(item, name))
            continue
        unknown.append(_leave(entry, "not a papertui file", _FOREIGN))
    return files, unknown


def _unfinished(root: Path, locked: bool) -> list[Finding]:
    """Temp files of writes that never finished. Only meaningful while no other process
    writes: checked under the lock."""
    lock = WriteLock(root)
    if not locked:
        try:
            with lock.held(timeout=0):
                return _unfinished(root, locked=True)
        except LibraryError:
            if not is_writable(root):  # read-only here: nobody writes through this path
                return _unfinished(root, locked=True)
            holder = lock.holder()
            who = f"process {holder}" if holder else "another papertui process"
            return [
                _leave(
                    root,
                    f"{who} is writing to the library now; its unfinished files were not checked",
                    "none: run doctor again when it has finished",
                )
            ]
    return [
        Finding(stray, "unfinished write left by a crash", "remove it")
        for stray in sorted(root.rglob(TMP_PREFIX + "*"))
        if "quarantine" not in stray.relative_to(root).parts
    ]


def cache_problem(root: Path) -> tuple[Path, str] | None:
    """(the cache, what is wrong with it) when SQLite finds it damaged, else None. Only
    the cache this process would use: a library it cannot write uses its own elsewhere."""
    places = [fallback_location(root)]
    if is_writable(root):
        places.insert(0, default_location(root))
    for path in places:
        if path.is_dir() and not path.is_symlink():
            return path, "is a folder where papertui keeps its cache (not papertui's)"
        if not path.exists():
            continue
        try:
            conn = sqlite3.connect(file_uri(path, "ro"), uri=True)
            try:
                result = [r[0] for r in conn.execute("PRAGMA quick_check")]
            finally:
                conn.close()
        except sqlite3.Error as err:
            return path, f"the cache database cannot be read ({err})"
        if result != ["ok"]:
            return path, f"the cache database is damaged ({'; '.join(result[:3])})"
        stale = _stale_segment(root, path)
        if stale is not None:
            return path, f"the cache no longer matches {stale} (changed since it was read)"
    return None


def _stale_segment(root: Path, cache: Path) -> str | None:
    """The first segment (``papers/<name>.json``) at which the cache reads a paper from
    where that paper no longer is, or None. Every paper the cache reads from a segment is
    looked at: the segment's bytes there must be the paper's document."""
    try:
        conn = sqlite3.connect(file_uri(cache, "ro"), uri=True)
        try:
            rows = conn.execute(
                "SELECT p.seg, p.id, r.at, r.size FROM paper p JOIN record r "
                "ON r.rowid = p.rowid WHERE r.body IS NULL ORDER BY p.seg"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # (an older cache: the next open rebuilds it)
    for seg, group in itertools.groupby(rows, key=lambda row: row[0]):
        name = f"{truth.SEGMENTS}/{seg}.json"
        try:
            raw = (root / name).read_bytes()
        except OSError:
            return name
        for _, pid, at, size in group:
            try:
                doc = orjson.loads(raw[at : at + size])
            except orjson.JSONDecodeError:
                return name
            if not isinstance(doc, dict) or doc.get("id") != pid:
                return name
    return None


def check(root: Path, *, locked: bool = False) -> list[Finding]:
    """Every problem in the library at ``root`` (an empty list means it is healthy).

    ``locked``: the caller holds the library's write lock (else it is tried, not waited for).
    Never raises for anything found in the folder: every oddity becomes a Finding."""
    if not root.is_dir():
        return [_leave(root, "no library here", "nothing to do")]
    mark = root / MARKER
    if not mark.exists():
        return [_leave(root, f"not a papertui library (no {MARKER})", "nothing to do")]
    problem = _problem(mark, "")
    if problem and _newer(problem):
        return [
            _leave(
                root,
                f"{problem}, this is papertui with schema {SCHEMA_VERSION}",
                "none: upgrade papertui to use or repair this library",
            )
        ]
    if problem is None and marker_schema(load(mark)) < SCHEMA_VERSION:
        return [
            _leave(
                root,
                "written by an earlier papertui: it is migrated when it is next opened",
                "none: open it (papertui list) and run doctor again",
            )
        ]
    try:
        files, findings = _files(root)
    except OSError as err:
        return [_leave(root, f"cannot be read ({err.strerror})", "none: check its permissions")]
    for path, kind in files:
        problem = _problem(path, kind)
        if problem is None:
            continue
        if _newer(problem):
            findings.append(_leave(path, problem, "none: upgrade papertui"))
        else:
            findings.append(Finding(path, problem, _REMEDY.get(kind, "write a new marker")))
    from ..watch import damaged_memory  # (tui.watch imports the library)

    for path in damaged_memory(root):
        problem = "damaged (not a watch memory as papertui writes one)"
        remedy = "quarantine it; a watch rule may then tag again a paper you took its tag off"
        findings.append(Finding(path, problem, remedy))
    findings += _unfinished(root, locked)
    damaged = cache_problem(root)
    if damaged is not None and damaged[0].is_dir():
        findings.append(_leave(damaged[0], damaged[1], "none: move it out of the way"))
    elif damaged is not None:
        findings.append(Finding(damaged[0], damaged[1], "rebuild it from the library's files"))
    for rescued in recovered_files(root):
        findings.append(
            _leave(
                rescued,
                "notes papertui could not save when they were written, kept here",
                "none: copy each back into its paper (e in the app), then delete the file",
            )
        )
    return findings


def repair(root: Path, timeout: float = 5.0) -> list[str]:
    """Fix what `check` found, then rebuild the cache; returns one line per action taken.

    Raises LibraryError, changing nothing, when the library is one repair does not
    understand (written by a newer papertui, or not a library)."""
    actions: list[str] = []
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    with WriteLock(root, timeout).held():
        findings = check(root, locked=True)
        refused = [f for f in findings if f.path == root]
        if refused:
            raise LibraryError(f"{root}: {refused[0].problem}; nothing was repaired")
        for finding in findings:
            path = finding.path
            if not finding.repairable:
                continue
            if path.name.startswith(TMP_PREFIX):
                path.unlink(missing_ok=True)
                actions.append(f"removed {path}")
                continue
            if path.suffix == ".sqlite":
                continue  # rebuilt below
            quarantine = root / "quarantine"
            quarantine.mkdir(exist_ok=True)
            kept = quarantine / f"{path.relative_to(root).as_posix().replace('/', '_')}.{stamp}"
            shutil.move(str(path), kept)
            actions.append(f"moved damaged {path} to {kept}")
            if path.name == MARKER:
                now = datetime.now(timezone.utc).isoformat(timespec="seconds")
                atomic_write(path, marker(now))
                actions.append(f"wrote a new {path}")
    _refuse_a_foreign_cache(root)
    from .core import Library

    lib = Library.open(root, create=False)
    try:
        if not lib.read_only:
            lib.rebuild()
            actions.append("rebuilt the cache from the library's files")
    finally:
        lib.close()
    return actions


def _refuse_a_foreign_cache(root: Path) -> None:
    """LibraryError when something that is not a file stands where the cache goes: papertui
    never deletes what it did not make, and cannot rebuild its cache there."""
    path = default_location(root)
    if path.is_dir() and not path.is_symlink():
        raise LibraryError(
            f"{path}: is a folder, not papertui's cache; move it out of the way and run "
            "`papertui doctor --rebuild` (until then papertui keeps its cache elsewhere)"
        )


def rebuild(root: Path) -> str:
    """Delete the cache of the library at ``root`` and build it again; what was done."""
    _refuse_a_foreign_cache(root)
    from .core import Library

    lib = Library.open(root, create=False)
    try:
        lib.rebuild()
        return f"rebuilt the cache: {len(lib)} papers"
    finally:
        lib.close()
