"""Migration of a library written before engine 2 (schema 1 and 2) to the truth files of
truth.py (schema 3).

The old layout: ``papers/NNNNNNNN.json`` (paper heads, one segment per import; a segment
whose ``segment`` document says ``covers`` replaces every earlier one), ``bodies/`` (their
long texts), ``search/`` (word indexes, derived), ``changes/NNNNNNNN.json`` (one state
change each), ``state.json`` (the checkpoint: state, history and who made each change, up to
``last_seq``), ``state.json.bak`` and ``session.json``.

The migration reads all of it as the old papertui did, writes the papers as new segments and
the state and history as one checkpoint, all named for this device, and only then rewrites
the marker (the commit). The old files are removed after that; until then they are what the
library is, so an interrupted migration starts over on the next open.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from . import truth
from .notes import apply_note_edit
from .storage import SCHEMA_VERSION, LibraryError, atomic_write, dump, fsync_dir, load, table_docs
from .truth import Change, Checkpoint, Name

MARKER = "papertui.json"
CHUNK = 50_000  # papers per migrated segment
STATE_FIELDS = ("read", "starred", "tags", "note")


def marker(created: str) -> bytes:
    """A schema-3 marker file's content."""
    return dump({"library": {"1": {"created": created}}}, SCHEMA_VERSION)


def marker_schema(data: dict[str, Any]) -> int:
    """The schema a loaded marker file states."""
    return int(next(iter(data["_meta"].values()), {}).get("schema", 1))


def _old_files(directory: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            stem = entry.name[:-5]
            if entry.name.endswith(".json") and stem.isascii() and stem.isdigit():
                found[int(stem)] = Path(entry.path)
    return found


def read_old_papers(root: Path) -> dict[str, dict[str, Any]]:
    """Every paper of an old library as a whole record, by id, in the order it was added."""
    papers: dict[str, dict[str, Any]] = {}
    seq_of: dict[str, int] = {}
    feeds: dict[str, dict[str, Any]] = {}
    for seq, path in sorted(_old_files(root / "papers").items()):
        data = load(path)
        info = table_docs(data, "segment")
        if info and info[0].get("covers"):
            papers.clear()
            seq_of.clear()
        try:
            for doc in table_docs(data, "feeds"):
                feeds.setdefault(str(doc.pop("key")), doc)
            for doc in table_docs(data, "papers"):
                src = doc.pop("src", None)
                if src is not None:
                    doc["sources"] = [dict(feeds[key]) for key in src]
                pid = doc["id"]
                papers[pid] = doc  # (a new version keeps the paper's place, as it was loaded)
                seq_of[pid] = seq
        except (KeyError, TypeError, ValueError, AttributeError):
            raise LibraryError(f"{path}: damaged (not a paper segment); cannot migrate") from None
    by_seq: dict[int, list[str]] = {}
    for pid, seq in seq_of.items():
        by_seq.setdefault(seq, []).append(pid)
    for seq, pids in by_seq.items():
        path = root / "bodies" / f"{seq:08d}.json"
        if not path.exists():
            continue
        wanted = set(pids)
        for doc in table_docs(load(path), "bodies"):
            pid = doc.pop("id", None)
            if pid in wanted:
                papers[pid].update(doc)
    return papers


def read_old_state(root: Path, device: str) -> tuple[dict[str, dict[str, Any]], list[Change], int]:
    """(every paper's state, the history as changes keyed for ``device``, the last change
    number) of an old library: its checkpoint with the change files after it applied."""
    states: dict[str, dict[str, Any]] = {}
    changes: list[Change] = []
    last = 0

    def key(seq: Any) -> str | None:
        return None if seq is None else Name(device, int(seq)).stem

    checkpoint = root / "state.json"
    if checkpoint.exists():
        data = load(checkpoint)
        info = table_docs(data, "checkpoint")
        last = int(info[0]["last_seq"]) if info else 0
        for doc in table_docs(data, "state"):
            states[doc.pop("id")] = doc
        origins = {o["seq"]: o for o in table_docs(data, "origins")}
        for doc in table_docs(data, "history"):
            origin = origins.get(doc["seq"], {})
            changes.append(
                Change(
                    key=str(key(doc["seq"])),
                    label=str(doc["label"]),
                    ts=str(doc["ts"]),
                    undo_of=key(doc.get("undo_of")),
                    entries=list(doc["entries"]),
                    by=str(origin.get("by", "")),
                    session=str(origin.get("session", "")),
                )
            )
    for seq, path in sorted(_old_files(root / "changes").items()):
        if seq <= last:
            continue
        data = load(path)
        try:
            (head,) = table_docs(data, "change")
            change = Change(
                key=str(key(head["seq"])),
                label=str(head["label"]),
                ts=str(head["ts"]),
                undo_of=key(head.get("undo_of")),
                entries=table_docs(data, "entries"),
                by=str(head.get("by", "")),
                session=str(head.get("session", "")),
            )
            truth.check_entries(change.entries)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise LibraryError(f"{path}: damaged (not a change); cannot migrate") from None
        for entry in change.entries:
            pid = entry["id"]
            state = dict(states.get(pid, {}))
            state.update(entry["new"])
            edit = entry.get("note_edit")
            if edit is not None:
                note = apply_note_edit(state.get("note", ""), edit)
                if note is not None:
                    state["note"] = note
            state["updated_at"] = change.ts
            if any(state.get(k) for k in STATE_FIELDS):
                states[pid] = state
            else:
                states.pop(pid, None)
        changes.append(change)
        last = max(last, seq)
    return states, changes[-200:], last


def _new_named(root: Path, device: str) -> list[Path]:
    """The truth files ``device`` wrote: what an interrupted migration of it left."""
    return [
        Path(path)
        for kind in truth.KINDS
        for name, path in truth.listing(root, kind).items()
        if name.device == device
    ]


def _migrated_elsewhere(root: Path, device: str) -> bool:
    """Whether another machine sharing the folder (Syncthing, Dropbox) has migrated it: a
    readable checkpoint of another device is there (a migration writes it after its papers,
    having read every old file), while that machine's new marker has not arrived yet."""
    for name, path in truth.listing(root, truth.CHECKPOINTS).items():
        if name.device != device:
            with contextlib.suppress(LibraryError):
                truth.read_checkpoint(path)
                return True
    return False


def migrate(root: Path, device: str) -> None:
    """Migrate the old library at ``root`` (call under its write lock). LibraryError naming
    the file when an old file cannot be read; then nothing is changed."""
    from .core import IGNORED, now_iso

    # Only this device's files are an interrupted migration's: another machine's (its
    # migration, and the changes it made since, brought by a file-sync tool before its new
    # marker) are its own, and removing them here would remove them there too.
    for leftover in _new_named(root, device):
        leftover.unlink()
    created = now_iso()
    with contextlib.suppress(LibraryError, KeyError, IndexError):
        created = table_docs(load(root / MARKER), "library")[0]["created"]
    if _migrated_elsewhere(root, device):
        # That machine's checkpoint holds everything the old files held; the old files stay
        # for it to remove (an interrupted migration of it starts over from them).
        atomic_write(root / MARKER, marker(created))
        return
    papers = read_old_papers(root)
    states, changes, last = read_old_state(root, device)
    stamp = now_iso()
    for sub in truth.KINDS:
        (root / sub).mkdir(exist_ok=True)
    records = list(papers.values())
    for n, start in enumerate(range(0, len(records), CHUNK), 1):
        name = Name(device, n)
        raw, _ = truth.segment_file(name, stamp, records[start : start + CHUNK])
        atomic_write(root / truth.SEGMENTS / name.file, raw)
    top = max(last, (len(records) + CHUNK - 1) // CHUNK)
    point = Checkpoint(stamp, {device: top}, states, changes)
    name = Name(device, top)
    truth.write_tables(root / truth.CHECKPOINTS / name.file, truth.checkpoint_tables(name, point))
    for ignore in (".gitignore", ".stignore"):
        if not (root / ignore).exists():
            (root / ignore).write_text(IGNORED)
    atomic_write(root / MARKER, marker(created))  # the commit
    _remove_old(root, device)


def _remove_old(root: Path, device: str) -> None:
    """Remove what the migration replaced (after its commit); keep the last session time."""
    session = root / "session.json"
    if session.exists():
        (root / "sessions").mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(session, root / "sessions" / f"{device}.json")
    for sub in ("papers", "changes"):
        for path in _old_files(root / sub).values():
            with contextlib.suppress(OSError):
                path.unlink()
    for sub in ("bodies", "search"):
        shutil.rmtree(root / sub, ignore_errors=True)
    for name in ("state.json", "state.json.bak"):
        with contextlib.suppress(OSError):
            (root / name).unlink()
    fsync_dir(root)
