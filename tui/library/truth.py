"""The library's truth: the files that hold what the user cannot get back.

Everything else (the SQLite cache of cache.py) is derived from these files and rebuilt from
them. Each file is a TinyDB document (storage.py), written once, whole and atomically, and
named ``<device>-<NNNNNNNN>.json`` after the machine that wrote it (device.py) and that
machine's own counter, so two machines sharing a library folder never write the same name:

``papers/<device>-<N>.json``  (a *segment*)
    one import: the paper records it added and the merged new versions of the papers it
    changed, whole (tables ``segment``: {device, seq, ts}; ``feeds``: each feed once, by
    `feed_key`; ``papers``: records whose ``src`` lists their feeds' keys).
``changes/<device>-<N>.json``  (a *change*: one journal entry)
    one state change, a keystroke's worth: a star, a tag edit, a note edit, a bulk "mark
    read", an undo (tables ``change``: {device, seq, label, ts, undo_of, by, session};
    ``entries``: {id, old, new[, note_edit]} per paper). A few hundred bytes, whatever the size
    of the library; a long note is stored as its edit (notes.py).
``state/<device>-<N>.json``  (a *checkpoint*)
    the user's state folded from the changes (tables ``checkpoint``: {device, seq, ts,
    covers: {device: last change seq covered}[, conflicts: the note conflicts met so far]};
    ``state``: {id, read, starred, tags, note,
    updated_at} per paper with any; ``history``: the undoable changes). ``N`` is the last of
    its own device's changes it covers.

Files are replayed in the order (ts, device, seq): `order`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware

from .storage import SCHEMA_VERSION, LibraryError, TinyFile, load, table_docs

SEGMENTS, CHANGES, CHECKPOINTS = "papers", "changes", "state"
KINDS = (SEGMENTS, CHANGES, CHECKPOINTS)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # (a link put where a segment was is not read through)
T = TypeVar("T")
_NAME = re.compile(r"^([a-z0-9][a-z0-9_-]{0,31})-(\d{8,})\.json$")


@dataclass(frozen=True, order=True)
class Name:
    """A truth file's name: its device and that device's sequence number."""

    device: str
    seq: int

    @property
    def stem(self) -> str:
        """``<device>-<NNNNNNNN>``: also the key a change is referred to by (``undo_of``)."""
        return f"{self.device}-{self.seq:08d}"

    @property
    def file(self) -> str:
        return self.stem + ".json"


@functools.lru_cache(maxsize=65536)
def parse_name(filename: str) -> Name | None:
    """The `Name` of a truth file name, None for any other name."""
    m = _NAME.match(filename)
    return Name(m.group(1), int(m.group(2))) if m else None


def parse_key(key: str) -> Name | None:
    """The `Name` of a change key (`Name.stem`), None when it is not one."""
    return parse_name(key + ".json")


def listing(root: Path, kind: str) -> dict[Name, str]:
    """The truth files of one kind (`KINDS`) in the library at ``root``: name → path.

    Only regular files: a symbolic link, a FIFO or a device under a truth file's name (a
    file-sync tool copies links as links) is never read, nor followed (a link to /dev/zero
    or to a huge file hung every open until memory ran out); `doctor` names it."""
    return _scan(root / kind, parse_name)


def _scan(folder: Path, parse: Callable[[str], T | None]) -> dict[T, str]:
    """The regular files of ``folder`` whose name ``parse`` reads: what it reads → path."""
    found: dict[T, str] = {}
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            name = parse(entry.name)
            if name is not None and _regular(entry):
                found[name] = entry.path
    return found


def names(root: Path, kind: str) -> frozenset[str]:
    """The names of the regular ``*.json`` files of one truth folder (`listing`'s and any
    other: a sync tool's conflict copy), to tell when one arrives: cheaper than `listing`
    (names are not parsed: 1 ms less per thousand files), temp files left out."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        with os.scandir(root / kind) as entries:
            return frozenset(
                e.name
                for e in entries
                if e.name.endswith(".json") and e.name[0] != "." and _regular(e)
            )
    return frozenset()


def _regular(entry: os.DirEntry[str]) -> bool:
    """Whether a folder entry is a regular file itself (not through a link); one lstat at
    most (none where the folder listing says the type)."""
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


QUARANTINE = "quarantine"


def set_aside(root: Path, kinds: tuple[str, ...], device: str) -> list[int]:
    """The sequence numbers of ``device``'s truth files of ``kinds`` that `doctor --repair`
    moved to quarantine/ (``<kind>_<device>-<N>.json.<time>``). Never used again: another
    machine (a sync) may hold the good copy of that file, and a new file under its name
    replaced that copy there (git committed it as a change of the file)."""
    try:
        names = "\n".join(os.listdir(root / QUARANTINE))
    except (FileNotFoundError, NotADirectoryError):
        return []
    kind = "|".join(re.escape(k) for k in kinds)
    found = re.compile(rf"^(?:{kind})_{re.escape(device)}-(\d{{8,}})\.json\.", re.MULTILINE)
    return [int(seq) for seq in found.findall(names)]


def next_seq(root: Path, device: str) -> int:
    """The next sequence number for a file of ``device``: one more than any it has used for
    a segment, change or checkpoint still in the library or set aside in quarantine/ (call
    under the write lock)."""
    top = max(set_aside(root, KINDS, device), default=0)
    for kind in KINDS:
        for name in listing(root, kind):
            if name.device == device and name.seq > top:
                top = name.seq
    return top + 1


def write_tables(path: Path, tables: dict[str, list[dict[str, Any]]]) -> int:
    """Write a new truth file through TinyDB (one atomic, fsynced write: `TinyFile` under
    TinyDB's CachingMiddleware, flushed once on close); the bytes written.

    LibraryError when it cannot be written; then nothing of it is left."""
    storage = CachingMiddleware(TinyFile)
    db = TinyDB(str(path), storage=storage, schema=SCHEMA_VERSION)
    try:
        for table, docs in tables.items():
            db.table(table).insert_multiple(docs)
    except BaseException:
        storage.cache = None  # nothing reaches the disk
        raise
    db.close()
    return storage.storage.bytes_written


def read_tables(path: Path | str) -> dict[str, list[dict[str, Any]]]:
    """Every table of a truth file as document lists (doc-id order), read through TinyDB.

    LibraryError naming the file when it is damaged, empty or of a newer papertui."""
    path = Path(path)
    db = TinyDB(str(path), storage=TinyFile, access_mode="r")
    try:
        return {name: db.table(name).all() for name in db.tables() if name != "_meta"}
    finally:
        db.close()


def misshapen(path: Path, what: str) -> LibraryError:
    return LibraryError(
        f"{path}: damaged (not a {what} as papertui writes one); "
        "run `papertui doctor --repair` to set it aside"
    )


# ----------------------------------------------------------------------------- segments
def feed_key(source: dict[str, Any]) -> str:
    """Identity of a feed in a segment: its format and content digest."""
    return f"{source.get('format', '')}:{source.get('digest', '')}"


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its empty fields (None, "" and []; 0 and False are kept) and without
    the feed line, which is not stored."""
    # (a true value is kept at once: comparing every value with None, "" and [] cost more)
    return {
        k: v
        for k, v in record.items()
        if (v or (v is not None and v != "" and v != [])) and k != "line"
    }


def segment_tables(
    name: Name, stamp: str, records: Iterable[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The tables of a segment holding ``records`` (whole paper records with ids)."""
    feeds: dict[str, dict[str, Any]] = {}
    papers = []
    for record in records:
        doc = compact(record)
        keys = []
        for source in doc.pop("sources", ()):
            key = feed_key(source)
            feeds.setdefault(key, source)
            keys.append(key)
        if keys:
            doc["src"] = keys
        papers.append(doc)
    return {
        "segment": [{"device": name.device, "seq": name.seq, "ts": stamp}],
        "feeds": [{"key": k, **v} for k, v in feeds.items()],
        "papers": papers,
    }


Span = tuple[int, int]  # (offset, length) in bytes of a paper document in its segment file


@dataclass
class Segment:
    """A segment as the cache takes it in: its paper records (sources resolved, in the
    file's order), where each paper's document lies in the file (id → `Span`, `locate`) and
    its feeds (`feed_key` → source)."""

    stamp: str
    records: list[dict[str, Any]]
    spans: dict[str, Span]
    feeds: dict[str, dict[str, Any]]


def segment_file(
    name: Name, stamp: str, records: Iterable[dict[str, Any]]
) -> tuple[bytes, Segment]:
    """A segment holding ``records`` as the bytes of its file (TinyDB layout, orjson) and as
    a `Segment` (whose records are ``records``), so the cache can read each paper from the
    truth file instead of keeping a second copy of it."""
    records = list(records)
    tables = segment_tables(name, stamp, records)
    data: dict[str, Any] = {"_meta": {"1": {"schema": SCHEMA_VERSION}}}
    for table in ("segment", "feeds"):
        data[table] = {str(i): doc for i, doc in enumerate(tables[table], 1)}
    # The bytes orjson.dumps(data) gives with the papers table in it too, put together from
    # each paper document's own orjson bytes: each is encoded once, and where it lies in the
    # file is known without searching for it (`locate`).
    # Each document's bytes are copied into one buffer at once and let go: orjson (3.12 on)
    # leaves its buffer as it grew it, ~16 KiB for a 1.4 KB document, so keeping 20,000 of
    # them to join made ~300 MB of memory the import touched and gave back.
    out = bytearray(orjson.dumps(data)[:-1] + b',"papers":{')
    spans: dict[str, Span] = {}
    for i, doc in enumerate(tables["papers"], 1):
        out += b'"%d":' % i if i == 1 else b',"%d":' % i
        blob = orjson.dumps(doc)
        spans[doc["id"]] = (len(out), len(blob))
        out += blob
    out += b"}}"
    raw = bytes(out)
    feeds = {doc["key"]: {k: v for k, v in doc.items() if k != "key"} for doc in tables["feeds"]}
    return raw, Segment(stamp, records, spans, feeds)


def locate(raw: bytes, docs: list[dict[str, Any]]) -> dict[str, Span]:
    """Where each paper document (``docs``, in the file's order, as stored: ``src`` not
    resolved) lies in a segment file's bytes: id → (offset, length). A document is found
    only when the file holds it exactly as orjson writes it (a file written by another
    tool, or by hand, may hold the same data otherwise); those not found, and an earlier
    document of the same id, are left out (their records are then kept whole)."""
    spans: dict[str, Span] = {}
    pos = 0
    for i, doc in enumerate(docs):
        blob = orjson.dumps(doc)
        at = raw.find(blob, pos)
        if at < 0:  # (not orjson's layout: the rest would not be found either)
            for rest in docs[i:]:  # nor an earlier version of theirs (a file edited by hand)
                spans.pop(rest.get("id"), None)
            break
        spans[doc["id"]] = (at, len(blob))
        pos = at + len(blob)
    return spans


def read_document(path: Path | str, span: Span) -> dict[str, Any]:
    """The paper document at ``span`` of a segment file (as stored: ``src`` not resolved).

    LibraryError naming the file when it cannot be read there (gone, cut short, changed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)  # (not kept open: nothing of the
        try:  # library's folder stays busy when papertui is idle: umount, sync tools)
            raw = os.pread(fd, span[1], span[0])
        finally:
            os.close(fd)
        doc = orjson.loads(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            raise ValueError
    except (OSError, ValueError):
        raise LibraryError(
            f"{path}: changed or damaged since the cache read it; "
            "run `papertui doctor` (it rebuilds the cache)"
        ) from None
    return doc


def read_segment(path: Path | str) -> tuple[str, list[dict[str, Any]]]:
    """(when it was written, its paper records with their sources resolved); LibraryError
    naming the file when it is damaged or not shaped as papertui writes a segment."""
    segment = read_whole_segment(path)
    return segment.stamp, segment.records


def segment_ids(path: Path | str) -> list[str]:
    """The ids of a segment's paper records, in the file's order; LibraryError naming the
    file when it is damaged."""
    path = Path(path)
    try:
        ids = [doc["id"] for doc in table_docs(load(path), "papers")]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise misshapen(path, "paper segment") from None
    if not all(isinstance(pid, str) for pid in ids):
        raise misshapen(path, "paper segment")
    return ids


def read_whole_segment(path: Path | str) -> Segment:
    """`read_segment`, with where each paper's document lies in the file and its feeds."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise LibraryError(f"{path}: cannot be read ({err.strerror})") from None
    data = load(path, raw)
    try:
        spans = locate(raw, table_docs(data, "papers"))
        (info,) = table_docs(data, "segment")
        stamp = str(info["ts"])
        feeds = {str(doc.pop("key")): doc for doc in table_docs(data, "feeds")}
        docs = table_docs(data, "papers")
        for doc in docs:
            if not isinstance(doc["id"], str):
                raise TypeError
            src = doc.pop("src", None)
            if src is not None:
                doc["sources"] = [dict(feeds[key]) for key in src]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise misshapen(path, "paper segment") from None
    return Segment(stamp, docs, spans, feeds)


_STAMP = re.compile(rb'^\{"_meta":\{"1":\{"schema":\d+\}\},"segment":\{"1":(\{[^{}]*\})\}')


def segment_stamp(path: Path | str) -> str:
    """When a segment was written (its ``ts``), for ordering; LibraryError when damaged.
    Read from the file's first bytes when it is laid out as papertui writes it."""
    try:
        with open(path, "rb") as f:
            m = _STAMP.match(f.read(512))
        if m:
            ts = orjson.loads(m.group(1)).get("ts")
            if isinstance(ts, str):
                return ts
    except (OSError, ValueError):
        pass
    return read_segment(path)[0]


# ----------------------------------------------------------------------------- changes
@dataclass
class Change:
    """One state change (a journal entry)."""

    key: str  # its file's stem: "<device>-<NNNNNNNN>"
    label: str
    ts: str
    undo_of: str | None  # the key of the change it undoes
    # {"id", "old": {field: value}, "new": {field: value}[, "note_edit": see notes.note_edit]}
    entries: list[dict[str, Any]]
    by: str = ""  # who made it: "app", "papertui star" … ("" when not recorded)
    session: str = ""  # the `Library.session` that made it
    # Where it stands among all changes of all devices (ISO 8601, UTC): its maker's time, or
    # later when the maker had already seen a change stamped later (a clock behind, another
    # device's clock ahead), so a change is always ordered after every change its maker saw.
    clock: str = ""

    @property
    def order(self) -> tuple[str, str, int]:
        """Its place in the replay order of every device's changes: (clock, device, seq)."""
        name = parse_key(self.key)
        return (self.clock or self.ts, name.device if name else "", name.seq if name else 0)

    def to_doc(self) -> dict[str, Any]:
        """The change as one document (a checkpoint's history, the cache's history table)."""
        return {
            "key": self.key,
            "label": self.label,
            "ts": self.ts,
            "undo_of": self.undo_of,
            "entries": self.entries,
            "by": self.by,
            "session": self.session,
            "clock": self.clock,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Change:
        """The inverse of `to_doc`: TypeError/KeyError/ValueError when misshapen."""
        change = cls(
            key=str(doc["key"]),
            label=str(doc["label"]),
            ts=str(doc["ts"]),
            undo_of=None if doc.get("undo_of") is None else str(doc["undo_of"]),
            entries=list(doc["entries"]),
            by=str(doc.get("by", "")),
            session=str(doc.get("session", "")),
            clock=str(doc.get("clock", "")),
        )
        check_entries(change.entries)
        return change


def check_entries(entries: list[dict[str, Any]]) -> None:
    """TypeError/KeyError/ValueError when change entries are not shaped as papertui writes."""
    for entry in entries:
        if not (
            isinstance(entry["id"], str)
            and isinstance(entry["old"], dict)
            and isinstance(entry["new"], dict)
        ):
            raise TypeError
        edit = entry.get("note_edit")
        if edit is not None:
            _ = (int(edit["at"]), edit["cut"] + edit["put"] + edit["from"] + edit["to"])


def change_tables(change: Change) -> dict[str, list[dict[str, Any]]]:
    name = parse_key(change.key)
    assert name is not None
    head = {"device": name.device, "seq": name.seq, "label": change.label, "ts": change.ts}
    head.update(undo_of=change.undo_of, by=change.by, session=change.session, clock=change.clock)
    return {"change": [head], "entries": change.entries}


def read_change(path: Path | str) -> Change:
    """One change file, checked: LibraryError naming the file when it is damaged, of a newer
    papertui, not shaped as a change (a file another tool wrote) or not the change its name
    says."""
    path = Path(path)
    change = read_change_content(path)
    if change.key + ".json" != path.name:
        raise misshapen(path, "change")
    return change


def read_change_content(path: Path | str) -> Change:
    """A change file's content, whatever its name (a sync tool's conflict copy)."""
    path = Path(path)
    tables = read_tables(path)
    try:
        (head,) = tables.get("change", [])
        key = Name(str(head["device"]), int(head["seq"])).stem
        entries = [dict(e) for e in tables.get("entries", [])]
        return Change.from_doc({**head, "key": key, "entries": entries})
    except (KeyError, TypeError, ValueError, AttributeError):
        raise misshapen(path, "change") from None


# ----------------------------------------------------------------------------- packs
# A device alone in its library folds its journal into checkpoints and then packs the change
# files two checkpoints back into one file (`state.maybe_checkpoint`): a change that another
# machine made before them and that arrives late (a copy synced days later) is then still
# replayed in its place among them, as if every file had been kept.
_PACK = re.compile(r"^([a-z0-9][a-z0-9_-]{0,31})-(\d{8,})-(\d{8,})\.pack\.json$")


@dataclass(frozen=True, order=True)
class Pack:
    """A pack's name: its device and the lowest and highest change numbers it holds. Every
    change of that device numbered from ``low`` to ``top`` is in it (or is still a file of
    its own, or the number is a segment's)."""

    device: str
    low: int
    top: int

    @property
    def file(self) -> str:
        return f"{self.device}-{self.low:08d}-{self.top:08d}.pack.json"


def parse_pack(filename: str) -> Pack | None:
    """The `Pack` of a pack file's name (in changes/), None for any other name."""
    m = _PACK.match(filename)
    if m is None or int(m.group(2)) > int(m.group(3)):
        return None
    return Pack(m.group(1), int(m.group(2)), int(m.group(3)))


def packs(root: Path) -> dict[Pack, str]:
    """The pack files of the library at ``root`` (regular files only, as `listing`)."""
    return _scan(root / CHANGES, parse_pack)


def pack_tables(pack: Pack, changes: list[Change]) -> dict[str, list[dict[str, Any]]]:
    """A pack as TinyDB tables: ``pack`` (device, low, top) and ``changes`` (`Change.to_doc`)."""
    head = {"device": pack.device, "low": pack.low, "top": pack.top}
    return {"pack": [head], "changes": [c.to_doc() for c in changes]}


def read_pack(path: Path | str) -> list[Change]:
    """The changes of one pack file, checked: LibraryError naming the file when it is
    damaged, of a newer papertui, or holds a change not of its device and numbers."""
    path = Path(path)
    pack = parse_pack(path.name)
    tables = read_tables(path)
    try:
        (head,) = tables.get("pack", [])
        if pack is None or Pack(str(head["device"]), int(head["low"]), int(head["top"])) != pack:
            raise ValueError
        changes = [Change.from_doc(dict(doc)) for doc in tables.get("changes", [])]
        for change in changes:
            name = parse_key(change.key)
            if name is None or name.device != pack.device or not pack.low <= name.seq <= pack.top:
                raise ValueError
        return changes
    except (KeyError, TypeError, ValueError, AttributeError):
        raise misshapen(path, "pack of changes") from None


# ----------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """A checkpoint's content: the folded state, the history and what it covers."""

    ts: str
    covers: dict[str, int]  # device → the last of its changes folded in
    state: dict[str, dict[str, Any]]  # paper id → {read, starred, tags, note, updated_at}
    history: list[Change]
    # The note conflicts met up to it (state.note_conflicts' records), so a replay that
    # starts from it goes on listing them until they are resolved.
    conflicts: list[dict[str, str]] = field(default_factory=list)
    # Made from checkpoints joined (state.replay_plan): by device, the highest change number
    # its state had only from another checkpoint. Once that change is in a file or a pack
    # again (a file-sync tool brought the pack after the checkpoints), it is no start: its
    # state put that device's changes before any other's made before them.
    joined: dict[str, int] = field(default_factory=dict)


def checkpoint_tables(name: Name, point: Checkpoint) -> dict[str, list[dict[str, Any]]]:
    info = {"device": name.device, "seq": name.seq, "ts": point.ts, "covers": point.covers}
    if point.conflicts:
        info["conflicts"] = point.conflicts
    if point.joined:
        info["joined"] = point.joined
    return {
        "checkpoint": [info],
        "state": [{"id": pid, **doc} for pid, doc in point.state.items()],
        "history": [c.to_doc() for c in point.history],
    }


def read_checkpoint(path: Path | str) -> Checkpoint:
    """One checkpoint, checked (LibraryError naming the file when damaged or misshapen)."""
    path = Path(path)
    tables = read_tables(path)
    try:
        (info,) = tables.get("checkpoint", [])
        covers = {str(k): int(v) for k, v in dict(info["covers"]).items()}
        state = {}
        for doc in tables.get("state", []):
            doc = dict(doc)
            state[str(doc.pop("id"))] = doc
        history = [Change.from_doc(doc) for doc in tables.get("history", [])]
        met = info.get("conflicts", [])
        conflicts = [{str(k): str(v) for k, v in dict(r).items()} for r in met]
        joined = {str(k): int(v) for k, v in dict(info.get("joined", {})).items()}
        return Checkpoint(str(info["ts"]), covers, state, history, conflicts, joined)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise misshapen(path, "checkpoint") from None
