"""`papertui doctor`: check every file of a library and, when asked, restore what can be.

Damaged files are never deleted: repair moves them into ``quarantine/`` and restores the last
good version where one exists (``state.json.bak`` plus the change files written since it).
A segment's word index (``search/``) is derived data: a missing or damaged one is rebuilt.
What doctor does not understand it reports and leaves alone: files it does not know (such as
the conflict copies file-sync tools make) and a library written by a newer papertui, which it
refuses to repair at all.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..recovery import RECOVERED, recovered_files
from .core import read_change, segment_docs
from .search import load_postings
from .searching import write_segment_index
from .storage import (
    SCHEMA_VERSION,
    TMP_PREFIX,
    LibraryError,
    WriteLock,
    atomic_write,
    build_tables,
    dump,
    is_writable,
    load,
    table_docs,
)

MARKER = "papertui.json"
_SEGMENT = re.compile(r"^[0-9]+\.json$")
_INDEX = re.compile(r"^[0-9]+\.bin$")
_PACK = re.compile(r"^pack-[0-9]{8}-[0-9]{8}\.bin$")
# What a library holds; anything else is reported as unknown and never touched.
_ROOT_FILES = {MARKER, "session.json", "state.json", "state.json.bak"}
_FOLDERS = {"papers": _SEGMENT, "bodies": _SEGMENT, "changes": _SEGMENT, "search": None}


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


def _problem(path: Path) -> str | None:
    """What is wrong with one of the library's files (as the library reads it), or None."""
    try:
        data = load(path)
        if path.parent.name == "changes":
            read_change(path)
        elif path.parent.name == "papers":
            segment_docs(path, data, {})
    except LibraryError as err:
        return str(err).split(": ", 1)[-1].split("; run `papertui doctor")[0]
    return None


def _newer(problem: str) -> bool:
    return problem.startswith("written by a newer papertui")


def _known(root: Path) -> tuple[list[Path], list[Finding]]:
    """The library's own files (to check), and findings for every file it does not know."""
    files = [root / name for name in sorted(_ROOT_FILES) if (root / name).is_file()]
    unknown: list[Finding] = []
    remedy = "none: papertui ignores it; compare it with the library and remove it yourself"
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith(".") or name == "quarantine" or name in _ROOT_FILES:
            continue
        if name == RECOVERED and entry.is_dir():
            continue  # (see `check`: rescued notes, wherever they were kept)
        if name in _FOLDERS and entry.is_dir() and not entry.is_symlink():
            pattern = _FOLDERS[name]
            for item in sorted(entry.iterdir()):
                if item.name.startswith(TMP_PREFIX):
                    continue  # unfinished writes: see `_unfinished`
                if name == "search":
                    ok = bool(_INDEX.match(item.name) or _PACK.match(item.name))
                else:
                    ok = bool(pattern and pattern.match(item.name))
                if ok and item.is_file():
                    if name != "search":
                        files.append(item)
                elif item.is_file() and name in ("changes", "papers"):
                    unknown.append(_foreign(item, remedy))
                else:
                    unknown.append(_leave(item, "not a papertui file", remedy))
            continue
        unknown.append(_leave(entry, "not a papertui file", remedy))
    return files, unknown


def _foreign(path: Path, remedy: str) -> Finding:
    """A file of another name in ``changes/`` or ``papers/``: a change or papers from another
    copy of the library (a file-sync tool renames a file both copies wrote), or not ours.

    Its content is described, never applied: whether another copy's change is already folded
    into this copy's checkpoint, or was undone there, cannot be told from here (a library
    synced between machines needs the format of the next papertui)."""
    copy = "a file-sync tool's copy from another copy of this library"
    try:
        if path.parent.name == "changes":
            change = read_change(path)
            count = len(change.entries)
            tags = sorted({t for e in change.entries for t in e["new"].get("tags", ())})
            detail = f", tags: {', '.join(tags)}" if tags else ""
            what = f"{change.label!r} on {count} paper{'s' * (count != 1)}{detail}"
            return _leave(
                path,
                f"{copy}: a change papertui has not applied ({what}; made {change.ts})",
                "none yet: keep it; make the change again by hand if you need it now",
            )
        docs = segment_docs(path, load(path), feeds := {})
    except LibraryError:
        return _leave(path, "not a papertui file", remedy)
    origins = sorted({f.get("origin", "") for f in feeds.values()} - {""})
    shown = ", ".join(origins[:3]) + (", …" if len(origins) > 3 else "")
    return _leave(
        path,
        f"{copy}: {len(docs)} papers papertui has not taken in (imported from {shown})",
        "none yet: import those feeds here again (papertui import FILE), then delete the copy",
    )


def _unfinished(root: Path, locked: bool) -> list[Finding]:
    """Temp files of writes that never finished, and segment files whose import never
    committed. Only meaningful while no other process writes: checked under the lock."""
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
    findings = [
        Finding(stray, "unfinished write left by a crash", "remove it")
        for stray in sorted(root.rglob(TMP_PREFIX + "*"))
        if "quarantine" not in stray.relative_to(root).parts
    ]
    committed = {p.stem for p in (root / "papers").glob("*.json") if _SEGMENT.match(p.name)}
    for sub, pattern in (("bodies", _SEGMENT), ("search", _INDEX)):
        for path in sorted((root / sub).glob("*")) if (root / sub).is_dir() else ():
            if pattern.match(path.name) and path.stem not in committed:
                findings.append(
                    Finding(
                        path,
                        "left by an import that did not finish (its papers were never stored)",
                        "move it to quarantine/ (the library never used it)",
                    )
                )
    return findings


def check(root: Path, *, locked: bool = False) -> list[Finding]:
    """Every problem in the library at ``root`` (an empty list means it is healthy).

    ``locked``: the caller holds the library's write lock (else it is tried, not waited for).
    Never raises for anything found in the folder: every oddity becomes a Finding."""
    if not root.is_dir():
        return [_leave(root, "no library here", "nothing to do")]
    marker = root / MARKER
    if not marker.exists():
        return [_leave(root, f"not a papertui library (no {MARKER})", "nothing to do")]
    problem = _problem(marker)
    if problem and _newer(problem):
        return [
            _leave(
                root,
                f"{problem}, this is papertui with schema {SCHEMA_VERSION}",
                "none: upgrade papertui to use or repair this library",
            )
        ]
    try:
        files, findings = _known(root)
    except OSError as err:
        return [_leave(root, f"cannot be read ({err.strerror})", "none: check its permissions")]
    bak_ok = (root / "state.json.bak").exists() and _problem(root / "state.json.bak") is None
    for path in files:
        problem = _problem(path)
        if problem is None:
            continue
        if _newer(problem):
            findings.append(_leave(path, problem, "none: upgrade papertui"))
            continue
        rel = path.relative_to(root).as_posix()
        if rel == "state.json":
            remedy = (
                "restore the previous checkpoint (state.json.bak) and replay the changes since"
                if bak_ok
                else "rebuild the state from the change files that remain (older state is lost)"
            )
        elif rel.startswith("papers/"):
            remedy = "quarantine it; re-import the feeds of that import to get its papers back"
        elif rel.startswith("bodies/"):
            remedy = "quarantine it; re-import the feeds of that import to get its abstracts back"
        elif rel.startswith("changes/"):
            remedy = "quarantine it; that one change is lost"
        elif rel == MARKER:
            remedy = "write a new marker"
        else:
            remedy = "quarantine it"
        findings.append(Finding(path, problem, remedy))
    findings += _unfinished(root, locked)
    for rescued in recovered_files(root):
        findings.append(
            _leave(
                rescued,
                "notes papertui could not save when they were written, kept here",
                "none: copy each back into its paper (e in the app), then delete the file",
            )
        )
    return findings + _index_findings(root)


def _segment(root: Path, seq: str) -> tuple[dict, list[dict]] | None:
    """(segment info, full records) of a readable segment, else None."""
    try:
        data = load(root / "papers" / f"{seq}.json")
        bodies_path = root / "bodies" / f"{seq}.json"
        bodies = table_docs(load(bodies_path), "bodies") if bodies_path.exists() else []
        info = table_docs(data, "segment")
        by_id = {doc["id"]: doc for doc in bodies}
        records = [{**by_id.get(head["id"], {}), **head} for head in table_docs(data, "papers")]
    except (LibraryError, KeyError, TypeError, ValueError, AttributeError):
        return None  # reported as a damaged file
    return (info[0] if info else {}), records


def _index_findings(root: Path) -> list[Finding]:
    """Segments whose word index is missing, damaged or another segment's."""
    findings = []
    papers = root / "papers"
    for path in sorted(papers.glob("*.json")) if papers.is_dir() else ():
        if not _SEGMENT.match(path.name) or not path.is_file():
            continue
        seq = path.stem
        segment = _segment(root, seq)
        if segment is None:
            continue
        info, records = segment
        index = root / "search" / f"{seq}.bin"
        try:
            header, _ = load_postings(index.read_bytes())
        except FileNotFoundError:
            problem = "missing"
        except (OSError, ValueError) as err:
            problem = f"unreadable ({err})"
        else:
            same = header.get("seq") == int(seq) and header.get("ts") == info.get("ts")
            ids = [r.get("id") for r in records]
            problem = None if same and header.get("ids") == ids else "not this segment's"
        if problem:
            remedy = "rebuild it from the segment (until then queries rebuild it in memory)"
            findings.append(Finding(index, f"word index {problem}", remedy))
    search = root / "search"
    for pack in sorted(search.glob("pack-*.bin")) if search.is_dir() else ():
        if not _PACK.match(pack.name):
            continue
        try:
            load_postings(pack.read_bytes())
        except (OSError, ValueError) as err:
            remedy = "quarantine it; the segments' own word indexes answer instead"
            findings.append(Finding(pack, f"merged word index unreadable ({err})", remedy))
    return findings


def _rebuild_index(root: Path, path: Path) -> None:
    segment = _segment(root, path.stem)
    if segment is None:
        return
    info, records = segment
    write_segment_index(root, int(path.stem), info.get("ts", ""), records)


def repair(root: Path, timeout: float = 5.0) -> list[str]:
    """Fix what `check` found; returns one line per action taken.

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
            committed = (root / "papers" / f"{path.stem}.json").exists()
            if path.parent.name == "search" and _INDEX.match(path.name) and committed:
                _rebuild_index(root, path)
                actions.append(f"rebuilt the word index {path}")
                continue
            quarantine = root / "quarantine"
            quarantine.mkdir(exist_ok=True)
            kept = quarantine / f"{path.relative_to(root).as_posix().replace('/', '_')}.{stamp}"
            shutil.move(str(path), kept)
            what = "unused" if "did not finish" in finding.problem else "damaged"
            actions.append(f"moved {what} {path} to {kept}")
            if path.name == "state.json":
                bak = root / "state.json.bak"
                if bak.exists() and _problem(bak) is None:
                    atomic_write(path, bak.read_bytes())
                    actions.append(f"restored {path} from {bak}")
            elif path.name == MARKER:
                now = datetime.now(timezone.utc).isoformat(timespec="seconds")
                atomic_write(path, dump(build_tables(library=[{"created": now}])))
                actions.append(f"wrote a new {path}")
    return actions
