"""The user's state: read, starred, tags and notes, changed one journal entry at a time
(truth.Change), mirrored into the cache (cache.py), folded into TinyDB checkpoints, and
undone.

A change holds, for each paper it touched, the old and new value of each field it set (and a
long note's edit, notes.py), so undo can put back exactly what it changed and leave what a
later change set again. The mirror keeps, per device, how far its journal has been applied
(``covers``: the highest sequence number below which every change was applied) so a
checkpoint another process wrote is known to hold nothing new.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from . import aliases, truth
from .cache import DEFAULTS, STATE_FIELDS, Cache
from .notes import (
    CONFLICT_HEAD,
    LOST_BASE_MARK,
    apply_note_edit,
    conflict_mark,
    continue_section,
    invert_note_edit,
    merge_concurrent,
    merge_note,
    note_digest,
    note_edit,
)
from .storage import LibraryError, WriteLock
from .truth import Change, Checkpoint, Name

CHECKPOINT_EVERY = 256  # own change files before the journal is folded into a checkpoint
CHECKPOINT_BYTES_PER_CHANGE = 8192  # a big checkpoint is rewritten once per this many bytes
HISTORY_LIMIT = 100  # undoable changes kept
# A note change where old and new note together are longer than this (characters) is stored
# as an edit (unless most of the note changed).
NOTE_EDIT_MIN = 4096
CONFLICTS_KEPT = 1000  # note conflicts remembered for `note_conflicts`
SHARED = (".git", ".stfolder")  # in a library folder: it is synced with other machines


@dataclass
class Undone:
    """What `Library.undo_change` did."""

    label: str  # the undone change's label ("star", "tag", "edit note" …)
    ids: list[str]  # the papers it had changed (those still in the library), in its order
    kept: list[str]  # of those, the ones left as they are: changed again since, by a later change
    ts: str  # when the undone change was made (ISO 8601, UTC)
    by: str  # who made it: "app", "papertui star" … ("" when not recorded)
    own: bool  # made through this same Library handle (this window, this command)
    # The tags the undone change had added and removed (a "tag" change), in their order.
    tags_added: list[str] = dc_field(default_factory=list)
    tags_removed: list[str] = dc_field(default_factory=list)
    # A redo of an undo that had changed nothing (every paper of its change had been changed
    # again since): nothing is redone. ``ids`` are then the papers of the change it undid.
    undo_changed_nothing: bool = False


def tag_changes(entries: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The tags a change's ``entries`` added and removed (on any of its papers), in order."""
    added: dict[str, None] = {}
    removed: dict[str, None] = {}
    for entry in entries:
        old = entry.get("old", {}).get("tags")
        new = entry.get("new", {}).get("tags")
        if not isinstance(old, list) or not isinstance(new, list):
            continue
        added.update((t, None) for t in new if t not in old)
        removed.update((t, None) for t in old if t not in new)
    return list(added), list(removed)


# ----------------------------------------------------------------------------- reading
def get_state(conn: sqlite3.Connection, pid: str) -> dict[str, Any]:
    row = conn.execute("SELECT doc FROM state WHERE id=?", (pid,)).fetchone()
    return orjson.loads(row[0]) if row else {}


def history(conn: sqlite3.Connection) -> list[Change]:
    """The changes kept for undo, in the order they were applied."""
    return [
        Change.from_doc(orjson.loads(doc))
        for (doc,) in conn.execute("SELECT doc FROM history ORDER BY ord")
    ]


def cancelled(changes: list[Change]) -> set[str]:
    """The keys of the changes taken back by an undo still in effect: an undo taken back in
    turn (a redo: an undo of an undo) no longer cancels its change. ``changes`` in order."""
    out: set[str] = set()
    for change in reversed(changes):  # (an undo always comes after what it takes back)
        if change.key not in out and change.undo_of is not None:
            out.add(change.undo_of)
    return out


def _own(changes: list[Change], session: str | None, device: str | None) -> list[Change]:
    """``device``'s changes (all with None); with ``session``, that session's when it has
    made any."""
    own = [c for c in changes if device is None or c.key.rpartition("-")[0] == device]
    if session is not None:
        mine = [c for c in own if c.session == session]
        return mine or own
    return own


def undoable(conn: sqlite3.Connection, device: str | None = None) -> list[Change]:
    """The changes that can still be undone (neither an undo nor undone), oldest first; with
    ``device``, only those made on that device (the only ones its undo takes back)."""
    changes = history(conn)
    undone = cancelled(changes)
    return [c for c in _own(changes, None, device) if c.undo_of is None and c.key not in undone]


def redo_target(
    conn: sqlite3.Connection, session: str | None, device: str | None = None
) -> Change | None:
    """The undo `redo` takes back: the newest undo still in effect of ``device`` (of
    ``session`` when it made any), unless a change was made after it (a new change ends
    what can be redone, as in every editor); None when there is none."""
    changes = history(conn)
    undone = cancelled(changes)
    by_key = {c.key: c for c in changes}
    for change in reversed(_own(changes, session, device)):
        if change.key in undone:
            continue  # (an undone change, or an undo redone already)
        if change.undo_of is None:
            return None
        target = by_key.get(change.undo_of)
        if target is not None and target.undo_of is None:
            return change  # (an undo; else a redo: look further back)
    return None


def undo_target(
    conn: sqlite3.Connection, session: str | None, device: str | None = None
) -> Change | None:
    """The change `undo` takes back: the newest undoable one; with ``session``, the newest
    made by that session when there is one. With ``device``, only that device's changes are
    candidates: undo is per machine and never takes back a change another machine made
    (README, "Several machines")."""
    targets = undoable(conn, device)
    if session is not None:
        own = [c for c in targets if c.session == session]
        if own:
            return own[-1]
    return targets[-1] if targets else None


# ----------------------------------------------------------------------------- applying
def _covers(conn: sqlite3.Connection) -> tuple[dict[str, int], dict[str, list[int]]]:
    return Cache.get_meta(conn, "covers", {}), Cache.get_meta(conn, "pending", {})


def _note_applied(conn: sqlite3.Connection, name: Name) -> None:
    covers, pending = _covers(conn)
    top = covers.get(name.device, 0)
    if name.seq <= top:
        return
    waiting = set(pending.get(name.device, ())) | {name.seq}
    while top + 1 in waiting:
        top += 1
        waiting.discard(top)
    covers[name.device] = top
    if waiting:
        pending[name.device] = sorted(waiting)
    else:
        pending.pop(name.device, None)
    Cache.set_meta(conn, "covers", covers)
    Cache.set_meta(conn, "pending", pending)


def was_applied(covers: dict[str, int], pending: dict[str, list[int]], name: Name) -> bool:
    """Whether the change ``name`` is applied, from `covers` and the changes applied above a
    gap (``pending``): no row per change, however many years of changes there are."""
    return name.seq <= covers.get(name.device, 0) or name.seq in pending.get(name.device, ())


def applied_changes(conn: sqlite3.Connection) -> tuple[dict[str, int], dict[str, list[int]]]:
    """(covers, pending): see `was_applied`."""
    return _covers(conn)


def covered(conn: sqlite3.Connection, covers: dict[str, int]) -> bool:
    """Whether every change a checkpoint folded (``covers``) is applied here."""
    mine, _ = _covers(conn)
    return all(mine.get(device, 0) >= seq for device, seq in covers.items())


def compact(data: bytes) -> bytes:
    """A copy of ``data`` that holds only its length: orjson (3.12 and later) leaves each
    result holding some 4-16 KiB whatever its length, so a list of 100,000 small documents
    (mark all read) held ~400 MB until it was written."""
    return bytes(memoryview(data))


BULK = 64  # entries from which a change that sets only read/starred is mirrored in bulk


def _apply_flags(conn: sqlite3.Connection, change: Change) -> None:
    """Mirror a change that sets only read/starred on many papers (mark all read, its undo)
    with one statement per table instead of several per paper."""
    ids = orjson.dumps([e["id"] for e in change.entries]).decode()
    olds = dict(
        conn.execute(
            "SELECT id, doc FROM state WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    )
    present = dict(
        conn.execute(
            "SELECT id, rowid FROM paper WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    )
    puts, drops, flags = [], [], []
    delta = {"read": 0, "starred": 0}
    for entry in change.entries:
        pid = entry["id"]
        old = orjson.loads(olds[pid]) if pid in olds else {}
        new = {**old, **entry["new"], "updated_at": change.ts}
        if any(new.get(k) for k in STATE_FIELDS):
            puts.append((pid, compact(orjson.dumps(new))))
        else:
            drops.append((pid,))
        rowid = present.get(pid)
        if rowid is None:
            continue
        now = (bool(new.get("read")), bool(new.get("starred")))
        before = (bool(old.get("read")), bool(old.get("starred")))
        if now != before:
            flags.append((*now, rowid))
            delta["read"] += now[0] - before[0]
            delta["starred"] += now[1] - before[1]
    conn.executemany("INSERT OR REPLACE INTO state(id, doc) VALUES(?, ?)", puts)
    conn.executemany("DELETE FROM state WHERE id=?", drops)
    conn.executemany("UPDATE paper SET read=?, starred=? WHERE rowid=?", flags)
    for name, n in delta.items():
        if n:
            conn.execute("UPDATE tally SET n = n + ? WHERE name=?", (n, name))


def apply_change(
    conn: sqlite3.Connection, change: Change, replayed: Replayed | None = None
) -> None:
    """Mirror one change: each paper's new state, the history, what has been applied.

    Changes are applied in replay order (`Change.order`: every device's changes, by clock),
    and applying them is what merges several devices' state (README, "Several machines"):

    - read, starred: the change's value replaces the field's (the latest change wins);
    - tags: the tags the change added (in its ``new`` list, not its ``old``) are added and
      those it removed are removed, from the tags as they stand, so two devices' tag edits
      both count (when the tags are exactly its ``old`` list, they become its ``new`` list);
    - note: a change whose note (or edit) was made from the note as it stands replaces it;
      made from another text (a device that had not seen another's edit), both are kept
      (`notes.merge_concurrent`; for a long note's edit, placed by its context) and, where
      the edits met, a line naming both devices and times marks the conflict (recorded for
      `note_conflicts`);
    - an undo is worked out again here, against the state and the history as they stand at
      its place in the order (`undo_entries`), so it never takes back what another device
      changed after the change it undoes, whenever that device's files arrive.

    ``replayed``: in a replay, every change applied before this one (an undo whose change
    has left the history by its place, many other devices' changes later, is worked out
    from them).

    A paper id that is an alias (aliases.py: a paper two machines stored under two ids,
    united by a sync) stands for the id it is kept under, here and in the history.

    The result depends only on the changes and their order: every copy that applies the
    same changes shows the same state."""
    change = aliases.map_change(conn, change)
    entries = change.entries
    if change.undo_of is not None:
        entries = _undo_here(conn, change, replayed)
        if entries is not change.entries:
            change = replace(change, entries=entries)
    flags_only = (
        len(entries) >= BULK
        and all("note_edit" not in e and set(e["new"]) <= {"read", "starred"} for e in entries)
        and len({e["id"] for e in entries}) == len(entries)  # (two ids of one paper: in turn)
    )
    for entry in [] if flags_only else entries:
        pid = entry["id"]
        old = get_state(conn, pid)
        new = dict(old)
        for field, value in entry["new"].items():
            if field == "tags":
                new["tags"] = merge_tags(old.get("tags", []), entry["old"].get("tags", []), value)
            elif field == "note":
                new["note"] = _merge_note(
                    conn, change, pid, old, entry["old"].get("note", ""), value
                )
            else:
                new[field] = value
        edit = entry.get("note_edit")
        if edit is not None:
            note = _place_edit(conn, change, pid, new.get("note", ""), edit)
            if note is not None:  # else a change before it is missing: the note stays
                new["note"] = note
        new["updated_at"] = change.ts
        if not any(new.get(k) for k in STATE_FIELDS):
            new = {}
        Cache.put_state(conn, pid, old, new)
    if flags_only:
        _apply_flags(conn, change)
    conn.execute(
        "INSERT OR REPLACE INTO history(key, doc) VALUES(?, ?)",
        (change.key, orjson.dumps(change.to_doc())),
    )
    _trim_history(conn)
    if replayed is not None:
        replayed.add(change)
    name = truth.parse_key(change.key)
    if name is not None:
        _note_applied(conn, name)
    last = Cache.get_meta(conn, "last")
    if last is None or tuple(last) < change.order:
        Cache.set_meta(conn, "last", list(change.order))


def merge_tags(current: list[str], old: list[str], new: list[str]) -> list[str]:
    """The tags after a change that turned ``old`` into ``new`` is applied to ``current``:
    ``new`` when ``current`` is ``old``; else ``current`` without the tags it removed, then
    the tags it added that are not there yet (in its order)."""
    if current == old:
        return list(new)
    removed = set(old) - set(new)
    kept = [t for t in dict.fromkeys(current) if t not in removed]
    return kept + [t for t in dict.fromkeys(new) if t not in old and t not in kept]


class Replayed:
    """The changes a replay has applied so far, in order (`apply_change`): what an undo is
    worked out from when its change is no longer in the history (trimmed to `HISTORY_LIMIT`
    changes: more than that came from other devices between the change and its undo)."""

    def __init__(self, start: list[Change] | None = None) -> None:
        self.changes: list[Change] = []
        self.at: dict[str, int] = {}
        for change in start or ():
            self.add(change)

    def add(self, change: Change) -> None:
        """Note ``change`` as applied (after all those before it)."""
        self.at[change.key] = len(self.changes)
        self.changes.append(change)

    def since(self, key: str) -> list[Change]:
        """The change ``key`` and every one applied after it; [] when it was not applied."""
        at = self.at.get(key)
        return [] if at is None else self.changes[at:]


def _is_undo(target: Change, changes: list[Change]) -> bool:
    """Whether ``target`` is an undo of a change (so taking it back is a redo, which brings
    back what the undo took away: see `_inverse`), as far as ``changes`` tell."""
    return target.undo_of is not None and any(
        c.key == target.undo_of and c.undo_of is None for c in changes
    )


def _undo_here(
    conn: sqlite3.Connection, change: Change, replayed: Replayed | None = None
) -> list[dict[str, Any]]:
    """The entries an undo has at its place in the order: the inverse of its target's
    entries on the state as it stands (`undo_entries`), against the history, or, when its
    target has left the history, against the changes a replay applied (``replayed``). The
    entries it was written with when its target is in neither (more than `HISTORY_LIMIT`
    changes ago, before the checkpoint a replay started from)."""
    changes = history(conn)
    target = next((c for c in changes if c.key == change.undo_of), None)
    if target is None and replayed is not None and change.undo_of is not None:
        changes = replayed.since(change.undo_of)
        target = changes[0] if changes else None
    if target is None:
        return change.entries
    since = _rewritten_since(changes, target)
    redo = _is_undo(target, [*history(conn), *changes])
    entries = []
    for entry in reversed(target.entries):
        pid = entry["id"]
        inverse, _ = _inverse(get_state(conn, pid), entry, since.get(pid, {}), redo)
        if inverse is not None:
            entries.append(inverse)
    return entries


def _note_writer(conn: sqlite3.Connection, pid: str, other_than: str) -> Change | None:
    """The latest change in the history made on a device other than ``other_than`` that set
    the note of ``pid`` (the text a change from ``other_than`` meets in a conflict)."""
    needle = orjson.dumps(pid)  # (only the changes that name the paper are decoded)
    for key, doc in conn.execute("SELECT key, doc FROM history ORDER BY ord DESC"):
        name = truth.parse_key(key)
        if name is None or name.device == other_than:
            continue
        raw = doc if isinstance(doc, bytes) else str(doc).encode()
        if needle not in raw:
            continue
        change = Change.from_doc(orjson.loads(raw))
        for entry in change.entries:
            if entry["id"] == pid and ("note" in entry["new"] or "note_edit" in entry):
                return change
    return None


def _when(ts: str) -> str:
    """A change's time as a conflict mark shows it: "2026-11-30 08:12 UTC"."""
    try:
        stamp = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _conflict(
    conn: sqlite3.Connection, change: Change, pid: str
) -> tuple[str, dict[str, str] | None]:
    """The mark for a note ``change`` made from another text than the note of ``pid`` as it
    stands, and the conflict's record: naming the device that wrote the other text. When no
    other device wrote it (a change of this device is missing: a damaged file set aside),
    `LOST_BASE_MARK` and no record."""
    name = truth.parse_key(change.key)
    ours = name.device if name else ""
    other = _note_writer(conn, pid, ours)
    if other is None:
        return LOST_BASE_MARK, None
    theirs = truth.parse_key(other.key)
    assert theirs is not None
    above = f"{theirs.device} at {_when(other.ts)}"
    mark = conflict_mark(above, f"{ours} at {_when(change.ts)}")
    record = {"id": pid, "key": change.key, "device": ours, "ts": change.ts}
    record.update(other=theirs.device, other_key=other.key, other_ts=other.ts)
    return mark, record


def _record_conflict(conn: sqlite3.Connection, record: dict[str, str]) -> None:
    found = Cache.get_meta(conn, "note_conflicts", [])
    found = [r for r in found if (r["id"], r["key"]) != (record["id"], record["key"])]
    Cache.set_meta(conn, "note_conflicts", [*found, record][-CONFLICTS_KEPT:])


def _merge_note(
    conn: sqlite3.Connection,
    change: Change,
    pid: str,
    state: dict[str, Any],
    base: str,
    ours: str,
) -> str:
    """The note after ``change`` set it to ``ours``, written from ``base``."""
    theirs = state.get("note", "")
    if theirs == base:
        return ours
    continued = continue_section(theirs, base, ours) if CONFLICT_HEAD in theirs else None
    if continued is not None:
        return continued
    mark, record = _conflict(conn, change, pid)
    merged, met = merge_concurrent(base, ours, theirs, mark)
    if met and record is not None:
        _record_conflict(conn, record)
    return merged


def _place_edit(
    conn: sqlite3.Connection, change: Change, pid: str, text: str, edit: dict[str, Any]
) -> str | None:
    """The note after ``change``'s long-note ``edit`` is applied to ``text``."""
    if note_digest(text) == edit["from"]:
        return apply_note_edit(text, edit)
    mark, record = _conflict(conn, change, pid)
    note = apply_note_edit(text, edit, mark)
    if record is not None and note is not None and note == text + mark + edit["put"]:
        _record_conflict(conn, record)
    return note


def note_conflicts(conn: sqlite3.Connection) -> list[dict[str, str]]:
    """The note conflicts met while applying changes, oldest first: ``{"id": paper id, "key":
    the change that met it, "device", "ts": its device and time (ISO 8601), "other",
    "other_key", "other_ts": the device, change and time of the text it met}``. Those whose
    paper's note no longer holds a conflict mark (the user resolved it) are left out."""
    found = []
    for record in Cache.get_meta(conn, "note_conflicts", []):
        if CONFLICT_HEAD in get_state(conn, record["id"]).get("note", ""):
            found.append(record)
    return found


def last_order(conn: sqlite3.Connection) -> tuple[str, str, int] | None:
    """The replay order of the latest change applied (None before any)."""
    last = Cache.get_meta(conn, "last")
    return None if last is None else (str(last[0]), str(last[1]), int(last[2]))


_END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


def next_clock(conn: sqlite3.Connection) -> str:
    """The clock of a change made now (`Change.clock`): the time now, in microseconds, or
    just after the latest change applied here when that is later (a clock set back, another
    device's clock ahead): a new change is ordered after every change its device has seen.
    (A change seen at the last microsecond a datetime holds, 9999-12-31, is not passed: the
    clock stays there and such changes are ordered by device id, then number.)"""
    now = datetime.now(timezone.utc)
    last = last_order(conn)
    if last is not None:
        with contextlib.suppress(ValueError):
            seen = datetime.fromisoformat(last[0])
            if seen.tzinfo is None:
                seen = seen.replace(tzinfo=timezone.utc)
            if seen >= now:
                # (at the last microsecond a date holds the clock stays: ties go by device)
                now = seen + timedelta(microseconds=1) if seen < _END_OF_TIME else seen
    return now.isoformat(timespec="microseconds")


def in_order(conn: sqlite3.Connection, changes: list[Change]) -> bool:
    """Whether these changes all come after every change applied so far, and every undo
    among them finds its change in the history or among them (then applying them gives what
    a replay of everything would; else the state must be replayed)."""
    last = last_order(conn)
    if last is not None and not all(c.order > last for c in changes):
        return False
    targets = {c.undo_of for c in changes if c.undo_of is not None} - {c.key for c in changes}
    if not targets:
        return True
    kept = {key for (key,) in conn.execute("SELECT key FROM history")}
    return targets <= kept


def _trim_history(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT count(*) FROM history").fetchone()[0]
    if rows <= HISTORY_LIMIT * 2:
        return
    changes = history(conn)
    originals = [c for c in changes if c.undo_of is None][-HISTORY_LIMIT:]
    keep = {c.key for c in originals}
    for c in changes:  # (in order: an undo of a kept change is kept, and a redo of it)
        if c.undo_of in keep:
            keep.add(c.key)
    drop = [c.key for c in changes if c.key not in keep]
    conn.executemany("DELETE FROM history WHERE key=?", [(k,) for k in drop])


# ----------------------------------------------------------------------------- changing
def entries_for(
    conn: sqlite3.Connection,
    ids: list[str],
    *,
    read: bool | None,
    starred: bool | None,
    tags: list[str] | None,
    add_tags: list[str],
    remove_tags: list[str],
    note: str | None,
    note_base: str | None,
) -> list[dict[str, Any]]:
    """The change entries that set these fields on these papers (see Library.set_state);
    papers already so are left out."""
    entries = []
    for pid in ids:
        cur = get_state(conn, pid)
        new: dict[str, Any] = {}
        if read is not None and bool(cur.get("read")) != read:
            new["read"] = read
        if starred is not None and bool(cur.get("starred")) != starred:
            new["starred"] = starred
        old_tags = list(cur.get("tags", []))
        want = list(tags) if tags is not None else list(old_tags)
        want += [t for t in add_tags if t not in want]
        want = [t for t in want if t not in remove_tags]
        if want != old_tags:
            new["tags"] = want
        edit = None
        old_note = cur.get("note", "")
        want_note = note
        if note is not None and note_base is not None and old_note != note_base:
            # Written from one side of a sync's conflict (the app was typing it when the
            # sync landed): it goes on there, as a later change of its device would.
            continued = None
            if CONFLICT_HEAD in old_note:
                continued = continue_section(old_note, note_base, note)
            want_note = (
                continued if continued is not None else merge_note(note_base, note, old_note)
            )
        if want_note is not None and old_note != want_note:
            whole = len(old_note) + len(want_note)
            if whole > NOTE_EDIT_MIN:
                edit = note_edit(old_note, want_note)
                if len(edit["cut"]) + len(edit["put"]) > whole // 2:
                    edit = None  # most of the note changed: as cheap whole
            if edit is None:
                new["note"] = want_note
        if new or edit:
            old = {k: cur.get(k, DEFAULTS[k]) for k in new}
            entry: dict[str, Any] = {"id": pid, "old": old, "new": new}
            if edit:
                entry["note_edit"] = edit
            entries.append(entry)
    return entries


def _rewritten_since(changes: list[Change], target: Change) -> dict[str, dict[str, Any]]:
    """What the changes after ``target`` still in effect set, by paper: ``{field: True}``
    for read, starred and note, ``{"tags": set of tags added or removed}``. A change that
    was undone after ``target``, and its undo, cancel out and count as neither."""
    at = next(i for i, c in enumerate(changes) if c.key == target.key)
    later = changes[at + 1 :]
    keys = {c.key for c in later}
    undone = cancelled(later)
    touched: dict[str, dict[str, Any]] = {}
    for change in later:
        if change.key in undone or (change.undo_of is not None and change.undo_of in keys):
            continue
        for entry in change.entries:
            fields = touched.setdefault(entry["id"], {})
            for name, value in entry["new"].items():
                if name == "tags":
                    moved = set(entry["old"].get("tags", [])) ^ set(value)
                    fields.setdefault("tags", set()).update(moved)
                else:
                    fields[name] = True
            if "note_edit" in entry:
                fields["note"] = True
    return touched


def _inverse(
    cur: dict[str, Any], entry: dict[str, Any], since: dict[str, Any], restore: bool = False
) -> tuple[dict[str, Any] | None, bool]:
    """The entry that undoes ``entry`` on the current state ``cur``, and whether a field
    had to be left as it is because a later change (``since``) set it.

    ``restore`` (a redo: ``entry`` is an undo's, and what it took away is the user's text):
    a note written since is not left as it is, which would lose the text for good, but
    merged with the text the redo brings back (`merge_note`; a long note's edit placed by
    its context, `apply_note_edit`), the same way on every device."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    conflict = False
    for name, made in entry["new"].items():
        before = entry["old"].get(name, DEFAULTS[name])
        now = cur.get(name, DEFAULTS[name])
        want = before
        if restore and name == "note" and (name in since or now != made):
            merged = merge_note(made, before, now)  # (base: what the undo left)
            if merged != now:
                old[name], new[name] = now, merged
            continue
        if name == "tags":
            # Each tag the change added goes, each it removed comes back, unless a later
            # change added or removed that tag again.
            later = since.get("tags", set())
            added = [t for t in made if t not in before and t not in later]
            removed = [t for t in before if t not in made and t not in later]
            conflict = conflict or any(t in later for t in {*made} ^ {*before})
            want = [t for t in now if t not in added] + [t for t in removed if t not in now]
            if not conflict and list(now) == list(made):
                want = list(before)  # (untouched since: the tags back in their own order)
        elif name in since or now != made:  # set again since (even to the same value)
            conflict = True
            continue
        if want != now:
            old[name], new[name] = now, want
    inverse: dict[str, Any] = {"id": entry["id"], "old": old, "new": new}
    edit = entry.get("note_edit")
    if edit is not None:
        if note_digest(cur.get("note", "")) == edit["to"]:
            inverse["note_edit"] = invert_note_edit(edit)
        elif restore:  # (the redone text placed in the note as it is now, never dropped)
            now_note = cur.get("note", "")
            redone = apply_note_edit(now_note, invert_note_edit(edit))
            if redone is not None and redone != now_note:
                inverse["note_edit"] = note_edit(now_note, redone)
            elif redone is None:
                conflict = True
        else:
            conflict = True
    if not (old or "note_edit" in inverse):
        return None, conflict
    return inverse, conflict


def undo_entries(
    conn: sqlite3.Connection, target: Change
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(the entries that undo ``target``, the papers it had changed that are still in the
    library in its order, those of them left as they are because changed again since)."""
    entries, ids, kept = [], [], []
    changes = history(conn)
    since = _rewritten_since(changes, target)
    redo = _is_undo(target, changes)
    for entry in reversed(target.entries):
        pid = entry["id"]
        if conn.execute("SELECT 1 FROM paper WHERE id=?", (pid,)).fetchone() is None:
            continue
        ids.append(pid)
        state = get_state(conn, pid)
        inverse, conflict = _inverse(state, entry, since.get(pid, {}), redo)
        if inverse is not None:
            entries.append(inverse)
        if conflict:
            kept.append(pid)
    ids.reverse()
    return entries, ids, kept[::-1]


def undone_papers(conn: sqlite3.Connection, undo: Change) -> list[str]:
    """The papers of the change the undo ``undo`` took back that are still in the library, in
    that change's order ([] when it is not known here)."""
    original = next((c for c in history(conn) if c.key == undo.undo_of), None)
    if original is None:
        return []
    ids = dict.fromkeys(entry["id"] for entry in original.entries)
    return [pid for pid in ids if conn.execute("SELECT 1 FROM paper WHERE id=?", (pid,)).fetchone()]


def _own_seqs(root: Path, kind: str, device: str) -> list[int]:
    """The sequence numbers of ``device``'s truth files of one kind: `truth.listing` from the
    names alone (cheaper, for the checks made after every keystroke's change)."""
    try:
        names = "\n".join(os.listdir(root / kind))
    except (FileNotFoundError, NotADirectoryError):
        return []
    # (one pass of a pattern over all the names; the seq as `truth.parse_name` reads it)
    own = re.compile(rf"^{re.escape(device)}-(\d{{8,}})\.json$", re.MULTILINE)
    return [int(seq) for seq in own.findall(names)]


def next_change_seq(root: Path, conn: sqlite3.Connection, device: str) -> int:
    """The next change number of ``device``: after every change of it on disk, folded into
    a checkpoint, or applied here (call under the write lock)."""
    covers, pending = _covers(conn)
    top = max([covers.get(device, 0), *pending.get(device, ())])
    for kind in (truth.CHANGES, truth.CHECKPOINTS):
        top = max([top, *_own_seqs(root, kind, device)])
    top = max([top, *truth.set_aside(root, (truth.CHANGES, truth.CHECKPOINTS), device)])
    return top + 1


# ----------------------------------------------------------------------------- checkpoints
def snapshot(conn: sqlite3.Connection, ts: str) -> Checkpoint:
    """The mirror's state, history and covers as one consistent checkpoint."""
    conn.execute("BEGIN")
    try:
        state = {pid: orjson.loads(doc) for pid, doc in conn.execute("SELECT id, doc FROM state")}
        changes = history(conn)
        covers, _ = _covers(conn)
        conflicts = Cache.get_meta(conn, "note_conflicts", [])
        joined = Cache.get_meta(conn, "joined", {})
    finally:
        conn.execute("COMMIT")
    return Checkpoint(ts, covers, state, changes, conflicts, joined)


def fold_threshold(root: Path, device: str, folded: int) -> int:
    """How many own changes since the checkpoint ``folded`` (a seq; 0: none) make the next
    fold: `CHECKPOINT_EVERY`, or more when that checkpoint is big, so that writing the whole
    state again costs about `CHECKPOINT_BYTES_PER_CHANGE` bytes per change folded (a million
    papers' state is ~30 MB: folded every ~3,700 changes instead of every 256)."""
    if not folded:
        return CHECKPOINT_EVERY
    try:
        size = (root / truth.CHECKPOINTS / Name(device, folded).file).stat().st_size
    except OSError:
        return CHECKPOINT_EVERY
    return max(CHECKPOINT_EVERY, size // CHECKPOINT_BYTES_PER_CHANGE)


def maybe_checkpoint(root: Path, cache: Cache, device: str, lock: WriteLock | None = None) -> bool:
    """Fold the journal into a new checkpoint when this device has written `fold_threshold`
    changes since its last checkpoint; True when it did. The previous checkpoint and the
    changes written since it stay (doctor can rebuild from them); older change files of this
    device are packed into one (`_pack`) and removed, and older checkpoints removed, but
    only while no other device writes to this library (another may not have read
    them yet, or may have changes ordered before them still to come: never in a folder
    synced by git or Syncthing, `SHARED`). ``lock``: taken (waiting 0.5 s at most) unless
    the caller holds it, only to record the checkpoint and remove old files: the snapshot is
    one SQLite read transaction and the checkpoint a new write-once file, so a keystroke's
    change is never kept waiting behind a fold (seconds at a million papers)."""
    # This runs after every keystroke's change: the journal is listed only when this
    # device's change numbers since its last checkpoint leave room for that many changes.
    folded = max(_own_seqs(root, truth.CHECKPOINTS, device), default=0)
    covers, pending = _covers(cache.conn())
    threshold = CHECKPOINT_EVERY
    if max([covers.get(device, 0), *pending.get(device, ())]) - folded < threshold:
        return False
    threshold = fold_threshold(root, device, folded)
    if sum(seq > folded for seq in _own_seqs(root, truth.CHANGES, device)) < threshold:
        return False
    conn = cache.conn()
    from .core import now_iso  # (core imports this module)

    point = snapshot(conn, now_iso())
    top = point.covers.get(device, 0)
    if top <= folded:
        return False
    name = Name(device, top)
    path = root / truth.CHECKPOINTS / name.file
    if not path.exists():  # (another process of this device may have written the same one)
        (root / truth.CHECKPOINTS).mkdir(exist_ok=True)
        truth.write_tables(path, truth.checkpoint_tables(name, point))
    # The change files to remove are packed first, without the lock (reading a few thousand
    # files: a keystroke's change is not kept waiting), and removed under it.
    alone = _alone(root, device)
    packed = set(_pack(root, device, alone[1])) if alone is not None else set()
    held = lock.held(0.5) if lock is not None else contextlib.nullcontext()
    with held:
        conn.execute("INSERT OR REPLACE INTO applied(kind, name) VALUES('p', ?)", (name.stem,))
        alone = _alone(root, device)
        if alone is None:
            return True
        points, doomed = alone
        for name, file in doomed:
            if name in packed:
                with contextlib.suppress(OSError):
                    os.unlink(file)
        for old in points[:-2]:
            with contextlib.suppress(OSError):
                os.unlink(root / truth.CHECKPOINTS / old.file)
        return True


def _alone(root: Path, device: str) -> tuple[list[Name], list[tuple[Name, str]]] | None:
    """When ``device`` is alone in the library and has two checkpoints or more: its
    checkpoints (oldest first) and its change files the one before the last folded (name,
    path), which a fold may remove once packed. None when another machine writes to the
    library: another machine may have changes made before that checkpoint that have not
    arrived yet, and every change must stay in a file then (in a folder shared through
    git or Syncthing, `SHARED`, always)."""
    changes = truth.listing(root, truth.CHANGES)
    points = sorted(n for n in truth.listing(root, truth.CHECKPOINTS) if n.device == device)
    others = any(n.device != device for n in changes) or any(
        n.device != device for n in truth.listing(root, truth.CHECKPOINTS)
    )
    if others or any((root / shared).exists() for shared in SHARED) or len(points) < 2:
        return None
    previous = points[-2]
    own = sorted(n for n in changes if n.device == device and n.seq <= previous.seq)
    return points, [(n, changes[n]) for n in own]


def _pack(root: Path, device: str, files: list[tuple[Name, str]]) -> list[Name]:
    """Pack ``device``'s change ``files`` into one pack file (`truth.Pack`), so that their
    files can go; the names packed (those whose file may be removed): none when the pack
    cannot be written (a full disk: the files stay), and never a file that cannot be read
    (doctor names it). A pack keeps every change in the order of every device's changes
    for a change synced late, as the files did (`replay_plan`). Files an earlier pack
    already holds (its files were not removed: the lock was busy) are not packed again (a
    pack of everything from the first change at each fold grew with the square of it)."""
    earlier: set[Name | None] = set()
    low, top = min((n.seq for n, _ in files), default=0), max((n.seq for n, _ in files), default=0)
    for pack, path in truth.packs(root).items():
        if pack.device == device and pack.low <= top and pack.top >= low:
            with contextlib.suppress(LibraryError):
                earlier |= {truth.parse_key(change.key) for change in truth.read_pack(path)}
    done = [name for name, _ in files if name in earlier]
    files = [(name, path) for name, path in files if name not in earlier]
    return done + _pack_new(root, device, files)


def _pack_new(root: Path, device: str, files: list[tuple[Name, str]]) -> list[Name]:
    """`_pack` for change files no pack holds yet: the names the new pack holds."""
    read: list[tuple[Name, Change]] = []
    for name, path in sorted(files):
        try:
            read.append((name, truth.read_change(path)))
        except LibraryError:
            continue
    if not read:
        return []
    pack = truth.Pack(device, read[0][0].seq, read[-1][0].seq)
    path = root / truth.CHANGES / pack.file
    try:
        if not os.path.lexists(path):
            truth.write_tables(path, truth.pack_tables(pack, [c for _, c in read]))
            return [name for name, _ in read]
        # Written by another process of this device (the same changes), or not ours (a
        # link, a copy with other content): a file is removed only when a pack holds it.
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return []
        held = {truth.parse_key(change.key) for change in truth.read_pack(path)}
    except (LibraryError, OSError):
        return []
    return [name for name, _ in read if name in held]


def _checkpoints(root: Path, device: str) -> list[tuple[Name, Checkpoint]]:
    """The readable checkpoints, best first: the one that folds the most changes (this
    device's first on a tie); a damaged one is passed over (doctor reports it)."""
    found: list[tuple[tuple[int, bool, str], Name, Checkpoint]] = []
    for name, path in truth.listing(root, truth.CHECKPOINTS).items():
        try:
            point = truth.read_checkpoint(path)
        except LibraryError:
            continue
        found.append(((sum(point.covers.values()), name.device == device, point.ts), name, point))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(name, point) for _, name, point in found]


def best_checkpoint(root: Path, device: str) -> tuple[Name, Checkpoint] | None:
    """The checkpoint that folds the most changes (this device's first on a tie); a damaged
    one is passed over (doctor reports it). None when none."""
    points = _checkpoints(root, device)
    return points[0] if points else None


def replay_plan(
    root: Path, device: str, known: dict[Name, Change] | None = None
) -> tuple[Checkpoint | None, list[Change], dict[str, int]]:
    """Where a replay starts (a checkpoint, or None: from nothing) and the changes to apply
    after it, in replay order. A checkpoint is a start only when every change it does not
    fold comes after every change it holds (else a change synced late, made before what
    the checkpoint holds, would be applied after it: the merge would depend on which
    checkpoint a copy has), and every undo among them finds the change it undoes in the
    checkpoint's history or among them, and every change it does not fold still has its
    file. When none is, the replay starts from nothing, unless change files a checkpoint
    folded are gone: then from the checkpoints joined (`_joined`). LibraryError naming a
    damaged change file. ``known``: changes already read (by their names), not read again.
    Third: when the start is the checkpoints joined, the changes only they held (`_gone`),
    else {}: a replay again puts each in its place once it arrives (`filled`)."""
    files = truth.listing(root, truth.CHANGES)
    loaded: dict[Name, Change] = {n: c for n, c in (known or {}).items() if n in files}
    every = truth.packs(root)
    packs = dict(every)  # (those not read yet)
    packed: dict[Name, Change] = {}  # (the changes of the packs read so far, by name)

    def fresh(point: Checkpoint | None) -> list[Change]:
        covers = point.covers if point is not None else {}
        for pack in [p for p in packs if p.top > covers.get(p.device, 0)]:
            for change in truth.read_pack(packs.pop(pack)):  # (each pack read once)
                name = truth.parse_key(change.key)
                if name is not None and name not in files:
                    packed[name] = change
        names = [n for n in files if n.seq > covers.get(n.device, 0)]
        for name in names:
            if name not in loaded:
                loaded[name] = truth.read_change(files[name])
        return [loaded[n] for n in names] + [
            c for n, c in packed.items() if n.seq > covers.get(n.device, 0)
        ]

    def after(point: Checkpoint | None) -> list[Change]:
        return sorted(fresh(point), key=lambda c: c.order)

    def finds_targets(point: Checkpoint, changes: list[Change]) -> bool:
        # Each undo after it finds the change it undoes in its history or after it (else
        # the undo, replayed from it, could not tell what was set since that change).
        held = {c.key for c in point.history} | {c.key for c in changes}
        return all(c.undo_of in held for c in changes if c.undo_of is not None)

    points = _checkpoints(root, device)
    gone = _gone(root, files, points, every)

    def whole(point: Checkpoint) -> bool:
        # Each change it does not fold that another checkpoint folded still has its file
        # (else those changes are only in that checkpoint: `_joined`); and when it was made
        # from checkpoints joined, what they alone held is still missing (else it is in its
        # place only in a replay that reads it).
        if any(_present(files, every, Name(d, seq)) for d, seq in point.joined.items()):
            return False
        return all(point.covers.get(name, 0) >= seq for name, seq in gone.items())

    for _, point in points:
        if not whole(point):
            continue
        changes = fresh(point)
        if not changes:
            return point, changes, {}
        first = min(c.order for c in changes)
        if not point.history or (
            first > max(c.order for c in point.history) and finds_targets(point, changes)
        ):
            return point, sorted(changes, key=lambda c: c.order), {}
    if gone:
        start = _joined(root, files, points)
        return start, after(start), gone
    return None, after(None), {}


def _present(files: Container[Name], packs: Iterable[truth.Pack], name: Name) -> bool:
    """Whether the change ``name`` is in a change file (``files``) or a pack."""
    if name in files:
        return True
    return any(p.device == name.device and p.low <= name.seq <= p.top for p in packs)


def filled(conn: sqlite3.Connection, root: Path, files: Container[Name]) -> bool:
    """Whether a change the last replay had only from checkpoints joined (`replay_plan`)
    is now in a change file (``files``: `truth.listing`'s) or a pack: another machine's
    pack, or its files, that a file-sync tool brought after its checkpoints. Its changes
    are applied already by what those checkpoints say (`was_applied`), so only a replay
    puts them in their place among the others (else a change of another machine made
    before them stays applied after them, and the next checkpoint keeps it so)."""
    gone: dict[str, int] = Cache.get_meta(conn, "joined", {})
    if not gone:
        return False
    packs = list(truth.packs(root))
    return any(_present(files, packs, Name(device, seq)) for device, seq in gone.items())


def _gone(
    root: Path,
    files: dict[Name, str],
    points: list[tuple[Name, Checkpoint]],
    packs: dict[truth.Pack, str] | None = None,
) -> dict[str, int]:
    """The changes only checkpoints still hold: by device, the highest of the numbers up to
    what the checkpoints fold that is neither a change file, nor in a pack, nor a segment
    (an earlier papertui, alone in a library, removed the change files its previous
    checkpoint folded without packing them). {} when every change a checkpoint folded is
    still in a file or a pack."""
    have: dict[str, set[int]] = {}
    for name in [*files, *truth.listing(root, truth.SEGMENTS)]:
        have.setdefault(name.device, set()).add(name.seq)
    for pack in packs or {}:
        have.setdefault(pack.device, set()).update(range(pack.low, pack.top + 1))
    top: dict[str, int] = {}
    for _, point in points:
        for device, seq in point.covers.items():
            top[device] = max(top.get(device, 0), seq)
    gone = {}
    for device, last in top.items():
        held = have.get(device, set())
        missing = next((seq for seq in range(last, 0, -1) if seq not in held), None)
        if missing is not None:
            gone[device] = missing
    return gone


def _joined(
    root: Path, files: dict[Name, str], points: list[tuple[Name, Checkpoint]]
) -> Checkpoint:
    """The start of a replay when change files that checkpoints folded are gone (a machine
    alone removes those two checkpoints back) and no checkpoint is a safe start: the best
    checkpoint, joined with each other one that holds changes whose files are gone and that
    it does not (two libraries used alone, then joined by `sync init` or Syncthing: each
    folded its own). Their states are merged paper by paper (`_merge_states`), so nothing
    only a checkpoint holds is lost; the same files give the same start on every machine."""
    segments = truth.listing(root, truth.SEGMENTS)
    packs = list(truth.packs(root))
    ranked = sorted(points, key=lambda item: (-sum(item[1].covers.values()), item[0]))
    start = ranked[0][1]
    covers = dict(start.covers)
    for name, point in ranked[1:]:
        adds = any(
            Name(device, seq) not in segments and not _present(files, packs, Name(device, seq))
            for device, top in point.covers.items()
            for seq in range(covers.get(device, 0) + 1, top + 1)
        )
        if not adds:
            continue
        states, met = _merge_states(start.state, point.state, ranked[0][0], name)
        for device, top in point.covers.items():
            covers[device] = max(covers.get(device, 0), top)
        held = {c.key: c for c in [*start.history, *point.history]}
        history = sorted(held.values(), key=lambda c: c.order)
        conflicts = [*start.conflicts, *[r for r in point.conflicts if r not in start.conflicts]]
        conflicts += met
        start = Checkpoint(max(start.ts, point.ts), dict(covers), states, history, conflicts)
    return start


def _merge_states(
    ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]], us: Name, them: Name
) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """Two checkpoints' states (``us``, ``them``: their names) made apart, as one, and the
    note conflicts this met (records as `note_conflicts` gives). A paper in one only is
    taken as it is there; in both: read and starred from the one changed last (its
    ``updated_at``; a tie keeps ``ours``) when it ever set them (else from the other), the
    tags of both, and two different notes both kept around a conflict mark."""
    merged = dict(ours)
    met: list[dict[str, str]] = []
    for pid, doc in theirs.items():
        mine = merged.get(pid)
        if mine is None or mine == doc:
            merged[pid] = doc
            continue
        at, their_at = mine.get("updated_at", ""), doc.get("updated_at", "")
        order = (doc, mine) if their_at > at else (mine, doc)
        new = dict(mine)
        for field in ("read", "starred"):  # (a field a copy never set is not in its doc)
            source = next((d for d in order if field in d), None)
            if source is not None:
                new[field] = bool(source[field])
        tags = list(mine.get("tags", []))
        tags += [t for t in doc.get("tags", []) if t not in tags]
        if tags:
            new["tags"] = tags
        a, b = mine.get("note", ""), doc.get("note", "")
        if b and not a:
            new["note"] = b
        elif b and b != a:
            above, below = f"{us.device} at {_when(at)}", f"{them.device} at {_when(their_at)}"
            new["note"] = a + conflict_mark(above, below) + b
            record = {"id": pid, "key": them.stem, "device": them.device, "ts": their_at}
            met.append(record | {"other": us.device, "other_key": us.stem, "other_ts": at})
        new["updated_at"] = max(at, their_at)
        merged[pid] = new
    return merged, met


def rebuild_state(
    conn: sqlite3.Connection,
    root: Path,
    device: str,
    apply_segments: Callable[[sqlite3.Connection, list[Name]], None],
) -> None:
    """Fill an empty cache (in the caller's transaction): every segment in order, then the
    state (`replay_state`). LibraryError when a truth file is damaged (doctor names it and
    sets it aside)."""
    segments = truth.listing(root, truth.SEGMENTS)
    stamps = {n: truth.segment_stamp(p) for n, p in segments.items()}
    apply_segments(conn, sorted(segments, key=lambda n: (stamps[n], n)))
    replay_state(conn, root, device)


def _clear_state(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM state")
    conn.execute("DELETE FROM tag")
    conn.execute("DELETE FROM noted")
    conn.execute("INSERT INTO annot(annot) VALUES('delete-all')")
    conn.execute("DELETE FROM history")
    conn.execute("UPDATE paper SET read=0, starred=0 WHERE read OR starred")
    conn.execute("UPDATE tally SET n=0 WHERE name IN ('read', 'starred')")  # (not papers)
    conn.execute("DELETE FROM applied WHERE kind IN ('c', 'p')")
    for key in ("covers", "pending", "last", "folded", "note_conflicts", "joined"):
        conn.execute("DELETE FROM meta WHERE k=?", (key,))


def replay_state(
    conn: sqlite3.Connection, root: Path, device: str, known: dict[Name, Change] | None = None
) -> None:
    """The user's state made again from the truth (in the caller's transaction): a
    checkpoint (`replay_plan`), then every change it does not fold, in replay order
    (`Change.order`), so any cache, built at once or change by change in any order of
    arrival, shows the same. ``known``: changes already read, by name (not read again)."""
    _clear_state(conn)
    point, changes, gone = replay_plan(root, device, known)
    gone = gone or (point.joined if point is not None else {})
    if gone:  # (what its state had only from checkpoints joined: `filled`)
        Cache.set_meta(conn, "joined", gone)
    if point is not None:
        point = _canonical_point(conn, point)
        for pid, doc in point.state.items():
            Cache.put_state(conn, pid, {}, doc)
        for change in point.history:
            conn.execute(
                "INSERT OR REPLACE INTO history(key, doc) VALUES(?, ?)",
                (change.key, orjson.dumps(change.to_doc())),
            )
        Cache.set_meta(conn, "covers", dict(point.covers))
        if point.conflicts:
            Cache.set_meta(conn, "note_conflicts", point.conflicts)
        if point.history:
            Cache.set_meta(conn, "last", list(max(c.order for c in point.history)))
    for other in truth.listing(root, truth.CHECKPOINTS):
        conn.execute("INSERT OR REPLACE INTO applied(kind, name) VALUES('p', ?)", (other.stem,))
    replayed = Replayed(point.history if point is not None else None)
    for change in changes:
        apply_change(conn, change, replayed)


def _canonical_point(conn: sqlite3.Connection, point: Checkpoint) -> Checkpoint:
    """A checkpoint with every paper id that is an alias (aliases.py) replaced by the id it
    is kept under: in its state (two documents of one paper merged as two checkpoints' are,
    `_merge_states`), its history and its note conflicts. The same checkpoint when none is."""
    found = aliases.every(conn)
    if not found:
        return point
    state: dict[str, dict[str, Any]] = {}
    conflicts = list(point.conflicts)
    name = Name(device="checkpoint", seq=0)
    for pid, doc in point.state.items():
        kept = found.get(pid, pid)
        if kept in state:
            merged, met = _merge_states({kept: state[kept]}, {kept: doc}, name, name)
            state[kept] = merged[kept]
            conflicts += met
        else:
            state[kept] = doc
    history = [aliases.map_change(conn, change) for change in point.history]
    conflicts = [{**r, "id": found.get(r["id"], r["id"])} for r in conflicts]
    return replace(point, state=state, history=history, conflicts=conflicts)
