"""`papertui doctor`: check every file of a library and, when asked, restore what can be.

Damaged files are never deleted: repair moves them into ``quarantine/`` and restores the last
good version where one exists (``state.json.bak`` plus the change files written since it).
A segment's word index (``search/``) is derived data: a missing or damaged one is rebuilt.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .search import load_postings
from .searching import write_segment_index
from .storage import (
    TMP_PREFIX,
    LibraryError,
    WriteLock,
    atomic_write,
    build_tables,
    dump,
    load,
    table_docs,
)

MARKER = "papertui.json"


@dataclass
class Finding:
    """One problem found in a library, and what `repair` would do about it."""

    path: Path
    problem: str
    remedy: str


def _files(root: Path) -> list[Path]:
    files = [root / MARKER, root / "session.json", root / "state.json", root / "state.json.bak"]
    for sub in ("papers", "bodies", "changes"):
        if (root / sub).is_dir():
            files += sorted(p for p in (root / sub).iterdir() if p.suffix == ".json")
    return [f for f in files if f.exists()]


def _problem(path: Path) -> str | None:
    try:
        load(path)
    except LibraryError as err:
        return str(err).split(": ", 1)[-1].split("; run `papertui doctor")[0]
    return None


def check(root: Path) -> list[Finding]:
    """Every problem in the library at ``root`` (an empty list means it is healthy)."""
    if not root.is_dir():
        return [Finding(root, "no library here", "nothing to do")]
    if not (root / MARKER).exists():
        return [Finding(root, f"not a papertui library (no {MARKER})", "nothing to do")]
    findings = []
    bak_ok = (root / "state.json.bak").exists() and _problem(root / "state.json.bak") is None
    for path in _files(root):
        problem = _problem(path)
        if problem is None:
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
    for stray in root.rglob(TMP_PREFIX + "*"):
        findings.append(Finding(stray, "unfinished write left by a crash", "remove it"))
    return findings + _index_findings(root)


def _segment(root: Path, seq: str) -> tuple[dict, list[dict]] | None:
    """(segment info, full records) of a readable segment, else None."""
    try:
        data = load(root / "papers" / f"{seq}.json")
        bodies_path = root / "bodies" / f"{seq}.json"
        bodies = table_docs(load(bodies_path), "bodies") if bodies_path.exists() else []
    except LibraryError:
        return None  # reported as a damaged file
    info = table_docs(data, "segment")
    by_id = {doc["id"]: doc for doc in bodies}
    records = [{**by_id.get(head["id"], {}), **head} for head in table_docs(data, "papers")]
    return (info[0] if info else {}), records


def _index_findings(root: Path) -> list[Finding]:
    """Segments whose word index is missing, damaged or another segment's."""
    findings = []
    papers = root / "papers"
    for path in sorted(papers.glob("*.json")) if papers.is_dir() else ():
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
            ids = [r["id"] for r in records]
            problem = None if same and header.get("ids") == ids else "not this segment's"
        if problem:
            remedy = "rebuild it from the segment (until then queries rebuild it in memory)"
            findings.append(Finding(index, f"word index {problem}", remedy))
    search = root / "search"
    for pack in sorted(search.glob("pack-*.bin")) if search.is_dir() else ():
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
    """Fix what `check` found; returns one line per action taken."""
    actions: list[str] = []
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    with WriteLock(root, timeout).held():
        for finding in check(root):
            path = finding.path
            if path == root:
                continue
            if path.name.startswith(TMP_PREFIX):
                path.unlink(missing_ok=True)
                actions.append(f"removed {path}")
                continue
            if path.parent.name == "search" and path.stem.isdigit():
                _rebuild_index(root, path)
                actions.append(f"rebuilt the word index {path}")
                continue
            quarantine = root / "quarantine"
            quarantine.mkdir(exist_ok=True)
            kept = quarantine / f"{path.relative_to(root).as_posix().replace('/', '_')}.{stamp}"
            shutil.move(str(path), kept)
            actions.append(f"moved damaged {path} to {kept}")
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
