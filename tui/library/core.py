"""The library: papers merged across feeds, the user's state, undo, queries.

On disk a library is a directory of small TinyDB files (see storage.py):

``papertui.json``
    marker: says this directory is a papertui library (schema version).
``papers/NNNNNNNN.json`` and ``bodies/NNNNNNNN.json``
    paper segments, one per import: the papers it added and the new versions of papers it
    merged into. A later segment's record replaces an earlier one's; a compacted segment
    (``covers``) replaces every segment before it. Imports never rewrite the corpus. Each
    record is split: ``papers/`` holds what the list, the filters and merging need (titles,
    authors, dates, sources), ``bodies/`` the long texts (abstracts, summaries). Opening
    reads only the first; bodies are read when a paper is shown or searched, or in the
    background (`load_bodies`). The ``papers/`` file is written last: it commits the import.
``search/NNNNNNNN.bin``
    the segment's word index (`Postings` of its texts and of its authors), written with it:
    a query looks words up there instead of reading every body. It is derived data: when one
    is missing or unreadable it is rebuilt in memory from the segment's papers.
``changes/NNNNNNNN.json``
    one file per state change (a star, a tag edit, a bulk "mark read", an undo) holding the
    old and new values of each paper it touched: a keystroke writes a few hundred bytes. A
    change to a long note is stored as the edit (`note_edit`), so saving a 1 MB note writes
    about as many bytes as were typed, not the whole note twice. Each change records who made
    it (``by``: "app", "papertui star" …) and the `Library.session` that made it.
``state.json``
    checkpoint: every paper's state and the undo history up to ``last_seq``; written after
    enough change files have accumulated, which are then removed.

Writes happen under an exclusive inter-process lock, after reading whatever another process
wrote in the meantime, so two papertui processes never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import secrets
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..feeds import ParseResult, Skipped
from ..models import Paper, PaperState, Source
from ..text import arxiv_id as find_arxiv_id
from ..text import valid_unicode
from .identity import (
    Crowd,
    compatible,
    lookup_keys,
    merge_into,
    new_id,
    note_version,
    paper_keys,
    same_paper,
)
from .query import QueryError
from .search import Postings, TextIndex
from .searching import SORT_KEYS, Pack, QueryMixin, write_segment_index
from .storage import (
    BASE_SCHEMA,
    TMP_PREFIX,
    LibraryError,
    WriteLock,
    atomic_write,
    backup,
    build_tables,
    dump,
    is_writable,
    load,
    table_docs,
)

MARKER = "papertui.json"
CROWD = 8  # papers under one title key before they are grouped (identity.Crowd)
MIN_PREFIX = 4  # characters of a paper id that `resolve` accepts as the id
CHECKPOINT_EVERY = 256  # change files before the state checkpoint is rewritten
HISTORY_LIMIT = 100  # undoable changes kept
# A note change where old and new note together are longer than this (characters) is stored
# as an edit (unless most of the note changed); a shorter one whole, in a file every papertui
# reads (schema 1).
NOTE_EDIT_MIN = 4096
EDIT_SCHEMA = 2  # the schema of a file holding a note edit (older papertui refuse it)
STATE_FIELDS = ("read", "starred", "tags", "note")
# Fields read when the library opens; every other field of a paper is its body.
HEAD_FIELDS = frozenset(
    (
        "id arxiv_id title title_zh authors author_count organization categories "
        "paper_date feed_date upvotes num_comments sources added_at keys"
    ).split()
)

__all__ = ["ImportReport", "Library", "LibraryError", "QueryError", "SORT_KEYS", "Undone"]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class ImportReport:
    """What importing one feed did to the library."""

    origin: str
    format: str
    found: int = 0
    new: int = 0
    merged: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)


@dataclass
class _Change:
    seq: int
    label: str
    ts: str
    undo_of: int | None
    # {"id", "old": {field: value}, "new": {field: value}[, "note_edit": see `note_edit`]}
    entries: list[dict[str, Any]]
    by: str = ""  # who made it: "app", "papertui star" … ("" when not recorded)
    session: str = ""  # the `Library.session` that made it

    def head(self) -> dict[str, Any]:
        """What older papertui read of a change (its history entry), without the origin."""
        return {k: getattr(self, k) for k in ("seq", "label", "ts", "undo_of", "entries")}


@dataclass
class Undone:
    """What `Library.undo_change` did."""

    label: str  # the undone change's label ("star", "tag", "edit note" …)
    ids: list[str]  # the papers it had changed (those still in the library), in its order
    kept: list[str]  # of those, the ones left as they are: changed again since, by a later change
    ts: str  # when the undone change was made (ISO 8601, UTC)
    by: str  # who made it: "app", "papertui star" … ("" when not recorded)
    own: bool  # made through this same Library handle (this window, this command)


def note_digest(text: str) -> str:
    """A short digest of a note (16 hex digits), to check an edit applies to the right text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _common_prefix(a: str, b: str, limit: int) -> int:
    """Length of the longest common prefix of a and b, at most ``limit`` (C-speed slices)."""
    step, n = 4096, 0
    while n < limit:
        end = min(n + step, limit)
        if a[n:end] == b[n:end]:
            n = end
            continue
        while a[n] == b[n]:
            n += 1
        return n
    return limit


NOTE_CONTEXT = 32  # characters kept on each side of a note edit, to place it without its base
LOST_BASE_MARK = "\n\n--- typed where earlier text is now missing (papertui kept it here): ---\n"


def note_edit(old: str, new: str) -> dict[str, Any]:
    """The edit that turns note ``old`` into ``new``: the one span that changed.

    ``{"at": offset, "cut": text removed there, "put": text inserted, "before": up to
    `NOTE_CONTEXT` characters of ``old`` before it, "after": as many after it, "from": digest
    of old, "to": digest of new}`` (offsets in characters, digests from `note_digest`). Its
    size is that of the edit: typing in a 1 MB note gives an edit of a few dozen characters.
    The context lets `apply_note_edit` place the edit when its base was lost."""
    limit = min(len(old), len(new))
    head = _common_prefix(old, new, limit)
    tail = _common_prefix(old[head:][::-1], new[head:][::-1], limit - head)
    end = len(old) - tail
    return {
        "at": head,
        "cut": old[head:end],
        "put": new[head : len(new) - tail],
        "before": old[max(0, head - NOTE_CONTEXT) : head],
        "after": old[end : end + NOTE_CONTEXT],
        "from": note_digest(old),
        "to": note_digest(new),
    }


def _only(text: str, needle: str) -> int:
    """The offset of ``needle`` in ``text`` when it occurs exactly once, else -1 (twice is
    ambiguous: an edit is never guessed onto one of two look-alike places)."""
    found = text.find(needle)
    if found >= 0 and text.find(needle, found + 1) >= 0:
        return -1
    return found


def apply_note_edit(text: str, edit: dict[str, Any]) -> str | None:
    """``text`` with the edit applied.

    Exactly, when ``text`` is the note the edit was made on. Otherwise (a change before it was
    lost: a damaged file moved aside by `doctor --repair`) the edit is placed by its context,
    so what was typed is never dropped: where its surrounding text still stands; at the end or
    the start when it was made there; else its text is appended after `LOST_BASE_MARK`. None
    only for an edit written without context (by an earlier version) that does not fit."""
    at, cut, put = edit["at"], edit["cut"], edit["put"]
    if note_digest(text) == edit["from"]:
        return text[:at] + put + text[at + len(cut) :]
    if "before" not in edit:
        return None
    before, after = edit["before"], edit["after"]
    # The edit's place is where its context (one side at least, with what it cut) stands
    # once and only once; the cut text alone is no context ("cat" would match "category").
    for left, right in ((before, after), (before, ""), ("", after)):
        if not (left or right):
            continue
        found = _only(text, left + cut + right)
        if found >= 0:
            start = found + len(left)
            return text[:start] + put + text[start + len(cut) :]
    if not put:
        return text  # a deletion of text that is no longer there
    if not after:
        return text + put  # typed at the end of the note
    if not before:
        return put + text  # typed at its start
    return text + LOST_BASE_MARK + put


def invert_note_edit(edit: dict[str, Any]) -> dict[str, Any]:
    """The edit that undoes ``edit``."""
    inverse = {
        "at": edit["at"],
        "cut": edit["put"],
        "put": edit["cut"],
        "from": edit["to"],
        "to": edit["from"],
    }
    if "before" in edit:  # the text around the edit is the same on both sides of it
        inverse["before"], inverse["after"] = edit["before"], edit["after"]
    return inverse


MERGE_MARK = "\n\n--- also written meanwhile elsewhere (another papertui window), kept: ---\n"


def merge_note(base: str, ours: str, theirs: str) -> str:
    """One note holding both edits of ``base``: ``ours`` and ``theirs`` (another process's).

    Edits of separate parts of the note are both applied; text both typed at the same place
    (both added to the end) is kept theirs first; when the edits overlap, the lines of the
    note they both changed are given as ours, `MERGE_MARK`, theirs, the other lines once:
    nothing either side wrote is lost, and only those lines are doubled."""
    if theirs in (base, ours):
        return ours
    if ours == base:
        return theirs
    a, b = note_edit(base, ours), note_edit(base, theirs)
    a_end, b_end = a["at"] + len(a["cut"]), b["at"] + len(b["cut"])
    # Separate when at least one character neither touched lies between them (as diff3).
    if a_end < b["at"]:
        return base[: a["at"]] + a["put"] + base[a_end : b["at"]] + b["put"] + base[b_end:]
    if b_end < a["at"]:
        return base[: b["at"]] + b["put"] + base[b_end : a["at"]] + a["put"] + base[a_end:]
    if a["at"] == b["at"] and not (a["cut"] or b["cut"]):  # both typed at one place (the end)
        return base[: a["at"]] + b["put"] + a["put"] + base[a["at"] :]
    # Overlapping: the lines around them once, and both versions of the lines they share.
    start, end = min(a["at"], b["at"]), max(a_end, b_end)
    start = base.rfind("\n", 0, start) + 1
    end = len(base) if (stop := base.find("\n", end)) < 0 else stop
    rest = len(base) - end
    ours_part, theirs_part = ours[start : len(ours) - rest], theirs[start : len(theirs) - rest]
    return base[:start] + ours_part + MERGE_MARK + theirs_part + base[end:]


def _schema(entries: Iterable[dict[str, Any]]) -> int:
    return EDIT_SCHEMA if any("note_edit" in e for e in entries) else BASE_SCHEMA


def _misshapen(path: Path, what: str) -> LibraryError:
    return LibraryError(
        f"{path}: damaged (not a {what} as papertui writes one); "
        "run `papertui doctor --repair` to set it aside"
    )


def read_change(path: Path) -> _Change:
    """One change file, checked: LibraryError naming the file when it is damaged, of a newer
    papertui, or not shaped as a change (a file another tool wrote)."""
    data = load(path)
    try:
        (head,) = table_docs(data, "change")
        entries = table_docs(data, "entries")
        change = _Change(
            seq=int(head["seq"]),
            label=str(head["label"]),
            ts=str(head["ts"]),
            undo_of=None if head.get("undo_of") is None else int(head["undo_of"]),
            entries=entries,
            by=str(head.get("by", "")),
            session=str(head.get("session", "")),
        )
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
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _misshapen(path, "change") from None
    return change


def segment_docs(
    path: Path, data: dict[str, Any], feeds: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The paper records of a loaded segment file, their sources resolved (``feeds`` gains
    the file's feeds); LibraryError naming the file when they are not shaped as papertui
    writes them."""
    try:
        for doc in table_docs(data, "feeds"):
            feeds.setdefault(str(doc.pop("key")), doc)
        docs = table_docs(data, "papers")
        for doc in docs:
            if not isinstance(doc["id"], str):
                raise TypeError
            src = doc.pop("src", None)
            if src is not None:  # shared, read-only source dicts
                doc["sources"] = [feeds[key] for key in src]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _misshapen(path, "paper segment") from None
    return docs


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading creates millions of objects that are never cyclic garbage: without this
    pause the collector rescans them over and over (3.9 s instead of 1.4 s at 100k)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v not in (None, "", [])}


def split_record(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(head, body) of a full paper record, without empty fields."""
    head: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for k, v in record.items():
        if v in (None, "", []) or k == "line":
            continue
        (head if k in HEAD_FIELDS else body)[k] = v
    head["id"] = record["id"]
    return head, body


def write_segment(
    root: Path, seq: int, records: list[dict[str, Any]], stamp: str
) -> tuple[int, dict[str, Postings]]:
    """Write one paper segment: bodies and word index first, then the heads that commit it.

    Returns the bytes written and the segment's word index."""
    heads, bodies = [], []
    feeds: dict[str, dict[str, Any]] = {}
    for record in records:
        head, body = split_record(record)
        # Sources are stored once per segment and referenced by key: most papers share a
        # handful of feeds, and their paths made up half of every head.
        keys = []
        for source in head.pop("sources", ()):
            key = feed_key(source)
            feeds.setdefault(key, source)
            keys.append(key)
        if keys:
            head["src"] = keys
        heads.append(head)
        bodies.append({"id": record["id"], **body})
    (root / "bodies").mkdir(exist_ok=True)
    commit = root / "papers" / f"{seq:08d}.json"
    try:
        body_file = root / "bodies" / f"{seq:08d}.json"
        written = atomic_write(body_file, dump(build_tables(bodies=bodies)))
        index_bytes, index = write_segment_index(root, seq, stamp, records)
        written += index_bytes
        info = [{"seq": seq, "ts": stamp, "covers": False}]
        feed_docs = [{"key": k, **v} for k, v in feeds.items()]
        tables = build_tables(segment=info, feeds=feed_docs, papers=heads)
        return written + atomic_write(commit, dump(tables)), index
    except BaseException:  # a failed write, Ctrl-C: what never committed goes
        if not commit.exists():
            for leftover in (body_file, root / "search" / f"{seq:08d}.bin"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise


def feed_key(source: dict[str, Any]) -> str:
    """Identity of a feed in a segment: its format and content digest."""
    return f"{source.get('format', '')}:{source.get('digest', '')}"


def _seq_files(directory: Path) -> dict[int, Path]:
    files = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            name = entry.name
            if name.endswith(".json") and name[:-5].isascii() and name[:-5].isdigit():
                files[int(name[:-5])] = Path(entry.path)
    return files


class Library(QueryMixin):
    """A papertui library directory, loaded in memory; writes go straight to disk."""

    def __init__(self, root: Path, lock_timeout: float = 5.0) -> None:
        self.root = Path(root)
        self.papers: dict[str, dict[str, Any]] = {}  # heads, by paper id
        # Each paper's feed date, in the same key order as `papers`: the default sort's keys,
        # gathered while loading (a pass over 100,000 scattered heads costs 30 ms later).
        self.feed_dates: dict[str, str] = {}
        self.bodies: dict[str, dict[str, Any]] = {}  # bodies read so far
        self.states: dict[str, dict[str, Any]] = {}
        # Identity keys (identity.paper_keys) → the first paper filed under each; the few keys
        # several papers share (two papers with one title) list the others in `_more_keys`.
        self.keys: dict[str, str] = {}
        self._more_keys: dict[str, dict[str, None]] = {}  # (ordered sets)
        self._more_without_id: dict[str, dict[str, None]] = {}  # those of them with no arXiv id
        self._crowds: dict[str, Crowd] = {}  # by title key, built when first needed
        self.history: list[_Change] = []
        self._seq_of: dict[str, int] = {}  # the segment holding each paper's current version
        self._superseded: dict[int, set[str]] = {}  # by segment: its papers with later versions
        self._feeds: dict[str, dict[str, Any]] = {}  # every feed seen, by feed_key
        self._bodies_read: set[int] = set()
        self._body_lock = threading.RLock()
        self._derived: dict[str, Any] = {}  # sort orders and indexes, rebuilt when papers change
        self._text: tuple[TextIndex, TextIndex] | None = None  # (English, Chinese) for scans
        self._authors: TextIndex | None = None
        self._unindexed: set[str] = set()  # papers changed since the text indexes were built
        self._segments: set[int] = set()
        self._segment_ts: dict[int, str] = {}  # when each segment was written
        self._postings: dict[int, tuple[list[str], dict[str, Postings]]] = {}  # by segment
        self._packs: dict[str, Pack | None] | None = None  # merged word indexes, by file
        self._annotations: dict[str, str] | None = None  # tags and notes, for word search
        self._flagged: dict[str, set[str]] = {"read": set(), "starred": set()}
        self._changes: set[int] = set()
        self._checkpoint_seq = 0
        self._checkpoint_mtime: int | None = None
        self._lock = WriteLock(self.root, lock_timeout)
        self.read_only = False  # this process cannot write here (set by `open`)
        self.bytes_written = 0  # for benchmarks: bytes this handle has written
        # Who writes through this handle, recorded with each change: undo can then prefer
        # this handle's own changes and say where another one was made.
        self.session = secrets.token_hex(6)
        self.agent = "papertui"  # "app", "papertui star" …: set by the app and the CLI

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        root: Path | str,
        *,
        lock_timeout: float | None = None,
        create: bool = True,
        parents: bool = False,
    ) -> Library:
        """Open the library at ``root``; LibraryError (one line) if it is unusable.

        ``create``: make a new library when there is none (else LibraryError), but only in an
        existing folder unless ``parents`` allows making the missing ones too. ``lock_timeout``
        (default: $PAPERTUI_LOCK_TIMEOUT or 5 s) is how long a write waits for another
        process's write to finish. A library this process cannot write opens read-only
        (`read_only`): reading works, every write raises LibraryError.
        """
        if not str(root).strip():
            raise LibraryError("the library path is blank (check --db and $PAPERTUI_DB)")
        root = Path(root).expanduser()
        if lock_timeout is None:
            try:
                lock_timeout = float(os.environ.get("PAPERTUI_LOCK_TIMEOUT", "5"))
            except ValueError:
                lock_timeout = 5.0
        if root.exists() and not root.is_dir():
            raise LibraryError(
                f"{root}: is a file, not a papertui library (a library is a directory; "
                "pass --db with a new or existing library directory)"
            )
        lib = cls(root, lock_timeout)
        marker = root / MARKER
        if not marker.exists():
            if not create:
                raise LibraryError(
                    f"{root}: no papertui library here (`papertui import FILE --db {root}` "
                    "makes one)"
                )
            lib._create(parents)
        load(marker)
        lib.read_only = not is_writable(root)
        lib._load_all()
        return lib

    def _create(self, parents: bool) -> None:
        """Make a new, empty library at ``self.root``; safe when several processes race."""
        root = self.root
        if not parents and not root.parent.is_dir():
            raise LibraryError(
                f"{root}: cannot make a library there, the folder {root.parent} does not "
                "exist (create it first, or pass --create)"
            )
        try:
            root.mkdir(parents=parents, exist_ok=True)
        except OSError as err:
            raise LibraryError(f"{root}: cannot create the library ({err.strerror})") from None
        marker = root / MARKER

        def refuse_a_folder_of_other_files() -> None:
            ours = {"papers", "changes"}
            stray = any(p.name[0] != "." and p.name not in ours for p in root.iterdir())
            if stray and not marker.exists():  # (another process may have just made it)
                raise LibraryError(
                    f"{root}: not a papertui library (no {MARKER}); "
                    "choose an empty or new directory for --db"
                )

        refuse_a_folder_of_other_files()  # before the lock file is made in someone's folder
        # Under the lock, so a second process creating the same library at the same moment
        # waits and then finds this one (it used to take our folders for someone else's).
        with self._lock.held():
            if marker.exists():
                return
            refuse_a_folder_of_other_files()
            try:
                (root / "papers").mkdir(exist_ok=True)
                (root / "changes").mkdir(exist_ok=True)
            except OSError as err:
                raise LibraryError(f"{root}: cannot create the library ({err.strerror})") from None
            atomic_write(marker, dump({"library": {"1": {"created": now_iso()}}}))

    def _load_all(self) -> None:
        with self._body_lock, _gc_paused():
            self._load_all_unpaused()
        gc.freeze()  # what was loaded stays: keep the collector from rescanning it

    def _load_all_unpaused(self) -> None:
        self.papers.clear()
        self.feed_dates.clear()
        self.bodies.clear()
        self.keys.clear()
        self._more_keys.clear()
        self._more_without_id.clear()
        self._crowds.clear()
        self._seq_of.clear()
        self._superseded.clear()
        self._feeds.clear()
        self._bodies_read.clear()
        self._forget_derived(full=True)
        self._segments.clear()
        self._segment_ts.clear()
        self._postings.clear()
        self._load_segments()
        self._load_state()

    def _load_state(self) -> None:
        """The user's state: the checkpoint, then the change files written after it."""
        checkpoint = self.root / "state.json"
        mtime = data = None
        if checkpoint.exists():
            mtime = checkpoint.stat().st_mtime_ns
            data = load(checkpoint)  # (if this fails, the state in memory is untouched)
        self.states.clear()
        self.history.clear()
        self._changes.clear()
        self._checkpoint_seq = 0
        self._checkpoint_mtime = mtime
        if data is not None:
            info = table_docs(data, "checkpoint")
            self._checkpoint_seq = int(info[0]["last_seq"]) if info else 0
            for doc in table_docs(data, "state"):
                pid = doc.pop("id")
                self.states[pid] = doc
            origins = {o["seq"]: o for o in table_docs(data, "origins")}
            for doc in table_docs(data, "history"):
                origin = origins.get(doc["seq"], {})
                self.history.append(
                    _Change(**doc, by=origin.get("by", ""), session=origin.get("session", ""))
                )
        self._load_changes()
        self._recount()

    def _recount(self) -> None:
        for name, ids in self._flagged.items():
            ids.clear()
            ids.update(pid for pid, s in self.states.items() if s.get(name))
        self._annotations = None

    def _load_segments(self) -> bool:
        files = _seq_files(self.root / "papers")
        new = sorted(set(files) - self._segments)
        if not new:
            return False
        self._crowds.clear()  # rebuilt from the new records when next needed
        for seq in new:
            data = load(files[seq])
            info = table_docs(data, "segment")
            if info and not isinstance(info[0], dict):
                raise _misshapen(files[seq], "segment")
            if info:
                self._segment_ts[seq] = info[0].get("ts", "")
            if info and info[0].get("covers"):
                self.papers.clear()
                self.feed_dates.clear()
                self.bodies.clear()
                self.keys.clear()
                self._more_keys.clear()
                self._more_without_id.clear()
                self._crowds.clear()
                self._seq_of.clear()
                self._superseded.clear()
                self._forget_derived(full=True)
            feeds = self._feeds
            docs = segment_docs(files[seq], data, feeds)  # checked before any is taken
            for doc in docs:
                self._put_paper(doc, seq)
            self._segments.add(seq)
        return True

    # ------------------------------------------------------------------ bodies
    def _read_bodies(self, seq: int) -> None:
        with self._body_lock:
            if seq in self._bodies_read:
                return
            path = self.root / "bodies" / f"{seq:08d}.json"
            if path.exists():
                seq_of, bodies = self._seq_of, self.bodies
                for doc in table_docs(load(path), "bodies"):
                    pid = doc.pop("id")
                    if seq_of.get(pid) == seq:  # an older version's body is stale
                        bodies[pid] = doc
            self._bodies_read.add(seq)

    def load_bodies(self) -> None:
        """Read every paper's body (for search); safe to call from a worker thread."""
        with _gc_paused():
            for seq in sorted(self._segments - self._bodies_read):
                self._read_bodies(seq)

    def body(self, pid: str) -> dict[str, Any]:
        """The long texts of one paper (read from disk the first time they are needed)."""
        found = self.bodies.get(pid)
        if found is None:
            seq = self._seq_of.get(pid)
            if seq is not None and seq not in self._bodies_read:
                self._read_bodies(seq)
            found = self.bodies.get(pid, {})
        return found

    def record(self, pid: str) -> dict[str, Any]:
        """The whole stored record of a paper: head and body."""
        return {**self.papers[pid], **self.body(pid)}

    def _load_changes(self) -> bool:
        files = _seq_files(self.root / "changes")
        new = sorted(s for s in set(files) - self._changes if s > self._checkpoint_seq)
        changes = [read_change(files[seq]) for seq in new]  # all checked before any applies
        for seq, change in zip(new, changes, strict=True):
            self._apply(change)
            self._changes.add(seq)
        return bool(new)

    def refresh(self) -> bool:
        """Read what other processes wrote since; True if anything changed."""
        checkpoint = self.root / "state.json"
        mtime = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
        segments = set(_seq_files(self.root / "papers"))
        if not self._segments <= segments:
            self._load_all()  # segments were replaced: start over
            return True
        changed = self._load_segments()
        if mtime != self._checkpoint_mtime:
            # Another process folded its changes into a new checkpoint: the papers are the
            # same, only the state is read again (0.2 s at 100,000 papers, not a reload).
            with self._body_lock, _gc_paused():
                self._load_state()
            return True
        return self._load_changes() or changed

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.papers)

    def __contains__(self, pid: object) -> bool:
        return pid in self.papers

    def get(self, pid: str) -> Paper:
        return Paper.from_dict(self.record(pid))

    def raw(self, pid: str) -> dict[str, Any]:
        """The paper's head: what a list row needs (read-only; much cheaper than `get`).

        Empty fields are absent: use ``.get(name)``."""
        return self.papers[pid]

    def state(self, pid: str) -> PaperState:
        return PaperState.from_dict(self.states.get(pid))

    def raw_state(self, pid: str) -> dict[str, Any]:
        return self.states.get(pid, {})

    def resolve(self, ref: str) -> str:
        """A paper id from an id, an arXiv id or URL, or a unique id prefix."""
        ref = ref.strip()
        if ref in self.papers:
            return ref
        aid = find_arxiv_id(ref)
        if aid and ("arxiv:" + aid) in self.keys:
            return self.keys["arxiv:" + aid]
        if ref.lower() in self.papers:  # ids are lower case: P4668842F is p4668842f
            return ref.lower()
        prefix = ref.lower()
        hits = [pid for pid in self.papers if pid.startswith(prefix)] if prefix else []
        if len(hits) == 1 and len(prefix) >= MIN_PREFIX:
            return hits[0]
        if len(hits) > 1:
            some = ", ".join(sorted(hits)[:5]) + (", …" if len(hits) > 5 else "")
            raise LibraryError(f"{ref}: ambiguous, the id of {len(hits)} papers starts so: {some}")
        if hits:
            raise LibraryError(
                f"{ref}: give at least {MIN_PREFIX} characters of the id ({hits[0]} starts so)"
            )
        raise LibraryError(f"{ref}: no such paper in {self.root}")

    def all_tags(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for s in self.states.values():
            counts.update(s.get("tags", ()))
        return counts

    def stats(self) -> dict[str, Any]:
        counts = self.counts()
        total, read, starred = counts["papers"], counts["read"], counts["starred"]
        by_format: Counter[str] = Counter()
        by_feed: Counter[str] = Counter()
        for p in self.papers.values():
            for fmt in {s["format"] for s in p.get("sources", ())}:
                by_format[fmt] += 1
            for d in {s.get("feed_date") or "" for s in p.get("sources", ())}:
                by_feed[d] += 1
        return {
            "library": valid_unicode(str(self.root)),  # a path may hold undecodable bytes
            "papers": total,
            "unread": total - read,
            "read": read,
            "starred": starred,
            "tagged": sum(1 for s in self.states.values() if s.get("tags")),
            "noted": sum(1 for s in self.states.values() if s.get("note", "").strip()),
            "tags": dict(self.all_tags().most_common()),
            "by_format": dict(by_format.most_common()),
            "by_feed_date": dict(sorted(by_feed.items(), reverse=True)),
            "undo_steps": len(self._undoable()),
        }

    def begin_session(self) -> str | None:
        """Record that an app session starts now; returns when the previous one started."""
        path = self.root / "session.json"
        previous = None
        if path.exists():
            docs = table_docs(load(path), "session")
            previous = docs[0].get("started") if docs else None
        with self._lock.held():
            atomic_write(path, dump(build_tables(session=[{"started": now_iso()}])))
        return previous

    def new_since(self, stamp: str | None) -> int:
        """How many papers were added after ``stamp`` (all of them when it is None)."""
        if not stamp:
            return len(self.papers)
        return sum(1 for p in self.papers.values() if (p.get("added_at") or "") > stamp)

    def counts(self) -> dict[str, int]:
        """Papers, unread, read and starred, as `stats` counts them; O(1), kept up to date by
        every change (the app's status bar asks after each one)."""
        total, read, starred = len(self.papers), *map(len, self._flagged.values())
        return {"papers": total, "unread": total - read, "read": read, "starred": starred}

    def latest_feed_date(self) -> str | None:
        """The newest feed date any paper was seen in (from an index kept until papers change)."""
        return max(self._index_by("feed_dates"), default="") or None

    # ------------------------------------------------------------------ importing
    def _put_paper(self, doc: dict[str, Any], seq: int) -> None:
        """Take a stored head (or a whole record, as older segments hold) as current."""
        pid = doc["id"]
        if not HEAD_FIELDS.issuperset(doc):
            doc, body = split_record(doc)
            self.bodies[pid] = body
        self.papers[pid] = doc
        self.feed_dates[pid] = doc.get("feed_date") or ""
        old = self._seq_of.get(pid)
        if old is not None and old != seq:
            self._superseded.setdefault(old, set()).add(pid)
        self._seq_of[pid] = seq
        keys, more = self.keys, self._more_keys
        for key in doc.get("keys", ()):
            first = keys.setdefault(key, pid)
            if first != pid:
                more.setdefault(key, {})[pid] = None
                if not doc.get("arxiv_id"):
                    self._more_without_id.setdefault(key, {})[pid] = None
        if self._derived or self._authors is not None:
            self._forget_derived()
        if self._text is not None:
            self._unindexed.add(pid)

    def _match(self, incoming: dict[str, Any], keys: list[str]) -> str | None:
        """The stored paper ``incoming`` is (identity.py's rules), or None: only the papers
        filed under one of its lookup keys (identity.lookup_keys) are looked at,
        never the whole library."""
        tried: set[str] = set()
        title_only = not incoming.get("abstract")
        by_title: list[str] = []  # papers with abstracts that the title alone matched
        for key in keys:
            # A shared arXiv id, whole abstract or whole entry decides unless the ids differ;
            # a title or an old abstract-opening key only proposes: the whole records decide.
            decisive = key.startswith(("arxiv:", "text:", "entry:"))
            for pid in self._filed_under(key, incoming):
                if pid in tried:
                    continue
                tried.add(pid)
                if decisive:
                    if compatible(self.papers[pid], incoming):
                        return pid
                    continue
                record = self.record(pid)
                if not same_paper(record, incoming):
                    continue
                if not (title_only and record.get("abstract")):
                    return pid
                by_title.append(pid)  # (go on: an earlier title-only copy may follow)
        # A copy with only a title is the paper of that title when there is one; when
        # several different papers share it, none of them (it stays a paper of its own).
        return by_title[0] if len(by_title) == 1 else None

    def _filed_under(self, key: str, incoming: dict[str, Any]) -> Iterable[str]:
        """The papers filed under ``key`` that could be ``incoming``. When it has an arXiv
        id, under another key only those without one: a paper with its id was looked up under
        ``arxiv:`` first, and other ids never match. For a title many papers share, only those
        whose abstracts fit (identity.Crowd). So a key that thousands of papers share (a
        withdrawal notice as the abstract, a placeholder title) costs no scan of them all."""
        first = self.keys.get(key)
        if first is None:
            return ()
        if incoming.get("arxiv_id") and not key.startswith("arxiv:"):
            head = () if self.papers[first].get("arxiv_id") else (first,)
            more = self._more_without_id.get(key)
        else:
            head, more = (first,), self._more_keys.get(key)
        if not more:
            return head
        if len(more) < CROWD or not key.startswith("title:"):
            return (*head, *more)
        crowd = self._crowds.get(key)
        if crowd is None:  # every paper under the key, whoever asks first
            crowd = self._crowds[key] = Crowd()
            for pid in (first, *self._more_keys[key]):
                crowd.add(pid, self.record(pid))
        return crowd.candidates(incoming)

    def _file_in_crowds(self, pid: str, record: dict[str, Any]) -> None:
        """Keep the crowds built so far up to date with a new or merged record."""
        if self._crowds:
            for key in record.get("keys", ()):
                crowd = self._crowds.get(key)
                if crowd is not None:
                    crowd.add(pid, record)

    def import_feeds(self, feeds: Iterable[tuple[ParseResult, Source]]) -> list[ImportReport]:
        """Merge parsed feeds into the library in one atomic write; a report per feed."""
        feeds = list(feeds)
        with self._write():
            try:
                reports = self._import(feeds)
            except BaseException:
                self._load_all()  # drop what was merged in memory but never written
                raise
            # The import is stored; merging word indexes is only an accelerator, and a
            # failure there must not report the import as failed.
            with contextlib.suppress(Exception):
                self.pack_segments()
            return reports

    def import_each(
        self, feeds: Iterable[tuple[ParseResult, Source]]
    ) -> tuple[list[ImportReport], list[tuple[Source, Exception]]]:
        """Import feeds so that each is stored or fails on its own.

        All go in one write (`import_feeds`) when they can; when that write fails, each feed is
        written on its own, so a feed that cannot be stored costs only itself. The lock is held
        throughout: raises LibraryError, with nothing stored, only when it cannot be taken.
        Returns the reports of the stored feeds and (source, exception) for each failed one.
        """
        feeds = list(feeds)
        with self._lock.held():
            try:
                return self.import_feeds(feeds), []
            except Exception as err:
                if len(feeds) == 1:
                    return [], [(feeds[0][1], err)]
            reports: list[ImportReport] = []
            failed: list[tuple[Source, Exception]] = []
            for feed in feeds:
                try:
                    reports += self.import_feeds([feed])
                except Exception as err:
                    failed.append((feed[1], err))
            return reports, failed

    def _import(self, feeds: list[tuple[ParseResult, Source]]) -> list[ImportReport]:
        reports = []
        touched: dict[str, dict[str, Any]] = {}
        stamp = now_iso()
        seq = max(self._segments, default=0) + 1
        for result, source in feeds:
            report = ImportReport(
                origin=source.origin,
                format=result.format,
                found=len(result.papers),
                skipped=list(result.skipped),
            )
            src = source.to_dict()
            src["feed_date"] = src.get("feed_date") or result.feed_date
            for paper in result.papers:
                incoming = paper.to_dict()
                incoming["feed_date"] = incoming.get("feed_date") or src["feed_date"]
                incoming["sources"] = [dict(src)]
                note_version(incoming)
                keys, lookup = lookup_keys(incoming)  # lookup: also finds papers filed before
                pid = self._match(incoming, lookup)
                if pid is None:
                    pid = new_id(incoming, lookup, self.papers)
                    incoming.update(id=pid, keys=keys, added_at=stamp)
                    touched[pid] = incoming
                    self._put_paper(dict(incoming), seq)
                    self._file_in_crowds(pid, incoming)
                    report.new += 1
                    report.new_ids.append(pid)
                    continue
                record = touched.get(pid) or self.record(pid)
                record["sources"] = list(record.get("sources", []))
                texts = record.get("title"), record.get("abstract")
                if merge_into(record, incoming):
                    # Filed under its old keys, the incoming copy's and its merged text's.
                    merged_keys = record.get("keys", []) + keys
                    if texts != (record.get("title"), record.get("abstract")):
                        merged_keys += paper_keys(record)
                    record["keys"] = list(dict.fromkeys(merged_keys))
                    touched[pid] = record
                    self._put_paper(dict(record), seq)
                    self._file_in_crowds(pid, record)
                    report.merged += 1
                else:
                    report.unchanged += 1
            reports.append(report)
        if touched:
            written, index = write_segment(self.root, seq, list(touched.values()), stamp)
            self.bytes_written += written
            self._segments.add(seq)
            self._segment_ts[seq] = stamp
            self._postings[seq] = (list(touched), index)
            self._bodies_read.add(seq)  # its bodies are in memory already
        return reports

    # ------------------------------------------------------------------ state changes
    def set_state(
        self,
        ids: Iterable[str],
        label: str,
        *,
        read: bool | None = None,
        starred: bool | None = None,
        tags: list[str] | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        note: str | None = None,
        note_base: str | None = None,
        wait: float | None = None,
    ) -> int:
        """Change the state of papers as one undoable step; returns how many changed.

        ``tags`` replaces the tag list; ``add_tags`` and ``remove_tags`` edit the list as it is
        on disk when the write happens (what the tag editor and `papertui tag` use, so a tag
        another process added meanwhile stays). A long ``note`` is stored as the edit from
        the previous note (`note_edit`); ``note_base`` is the note it was written from: when
        another process has changed the note since, both are kept (`merge_note`). ``wait``:
        seconds to wait for another process's write (default: the library's lock timeout).
        LibraryError when nothing was stored. Tags and notes are stored as valid Unicode
        (`valid_unicode`: a lone UTF-16 surrogate, as an undecodable byte of a command line
        gives, becomes U+FFFD), never refused by the store's writer.
        """
        add_tags = [valid_unicode(t) for t in add_tags]
        remove_tags = [valid_unicode(t) for t in remove_tags]
        tags = None if tags is None else [valid_unicode(t) for t in tags]
        note = None if note is None else valid_unicode(note)
        ids = list(dict.fromkeys(ids))
        for pid in ids:
            if pid not in self.papers:
                raise LibraryError(f"{pid}: no such paper in {self.root}")
        with self._write(wait):
            entries = []
            for pid in ids:
                cur = self.states.get(pid, {})
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
                    want_note = merge_note(note_base, note, old_note)
                if want_note is not None and old_note != want_note:
                    whole = len(old_note) + len(want_note)
                    if whole > NOTE_EDIT_MIN:
                        edit = note_edit(old_note, want_note)
                        if len(edit["cut"]) + len(edit["put"]) > whole // 2:
                            edit = None  # most of the note changed: as cheap whole
                    if edit is None:
                        new["note"] = want_note
                if new or edit:
                    old = {k: cur.get(k, _DEFAULTS[k]) for k in new}
                    entry = {"id": pid, "old": old, "new": new}
                    if edit:
                        entry["note_edit"] = edit
                    entries.append(entry)
            if entries:
                self._commit(label, entries, None)
            return len(entries)

    def undo(self) -> str | None:
        """Undo the most recent change not yet undone; its label, or None if nothing is left."""
        done = self.undo_change()
        return done.label if done else None

    def undo_change(self, *, own_first: bool = False, wait: float | None = None) -> Undone | None:
        """Undo one change as one new undoable step; what was undone, None if nothing is left.

        The change undone is the most recent one not yet undone, or, with ``own_first``, the
        most recent made through this handle (`session`) when there is one (the app: `u`
        undoes what the user did in this window, not what a script did meanwhile).

        Each field goes back to what it was before the change, unless a later change has
        changed it again: a tag added by the change is removed and a tag it removed is put
        back, whatever other tags were added since; a note (or a read/star flag) another
        change has rewritten since is left as it is (those papers are `Undone.kept`).
        """
        with self._write(wait):
            target = self._undo_target(own_first)
            if target is None:
                return None
            entries, ids, kept = [], [], []
            since = self._rewritten_since(target)
            for entry in reversed(target.entries):
                pid = entry["id"]
                if pid not in self.papers:
                    continue
                ids.append(pid)
                inverse, conflict = self._inverse(entry, since.get(pid, {}))
                if inverse is not None:
                    entries.append(inverse)
                if conflict:
                    kept.append(pid)
            self._commit(target.label, entries, target.seq)
            ids.reverse()
            return Undone(
                label=target.label,
                ids=ids,
                kept=kept[::-1],
                ts=target.ts,
                by=target.by,
                own=target.session == self.session,
            )

    def _rewritten_since(self, target: _Change) -> dict[str, dict[str, Any]]:
        """What the changes after ``target`` still in effect set, by paper: ``{field: True}``
        for read, starred and note, ``{"tags": set of tags added or removed}``. A change that
        was undone after ``target``, and its undo, cancel out and count as neither."""
        later = [c for c in self.history if c.seq > target.seq]
        seqs = {c.seq for c in later}
        undone = {c.undo_of for c in later if c.undo_of is not None}
        touched: dict[str, dict[str, Any]] = {}
        for change in later:
            if change.seq in undone or (change.undo_of is not None and change.undo_of in seqs):
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
        self, entry: dict[str, Any], since: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """The entry that undoes ``entry`` on the current state, and whether a field had to
        be left as it is because a later change (``since``: `_rewritten_since`) set it."""
        pid = entry["id"]
        cur = self.states.get(pid, {})
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        conflict = False
        for name, made in entry["new"].items():
            before = entry["old"].get(name, _DEFAULTS[name])
            now = cur.get(name, _DEFAULTS[name])
            want = before
            if name == "tags":
                # Each tag the change added goes, each it removed comes back, unless a later
                # change added or removed that tag again.
                later = since.get("tags", set())
                added = [t for t in made if t not in before and t not in later]
                removed = [t for t in before if t not in made and t not in later]
                conflict = conflict or any(t in later for t in {*made} ^ {*before})
                want = [t for t in now if t not in added] + [t for t in removed if t not in now]
            elif name in since or now != made:  # set again since (even to the same value)
                conflict = True
                continue
            if want != now:
                old[name], new[name] = now, want
        inverse: dict[str, Any] = {"id": pid, "old": old, "new": new}
        edit = entry.get("note_edit")
        if edit is not None:
            if note_digest(cur.get("note", "")) == edit["to"]:
                inverse["note_edit"] = invert_note_edit(edit)
            else:
                conflict = True
        if not (old or "note_edit" in inverse):
            return None, conflict
        return inverse, conflict

    def undo_label(self, *, own_first: bool = False) -> str | None:
        """What `undo_change` would undo next (its label)."""
        target = self._undo_target(own_first)
        return target.label if target else None

    def _undo_target(self, own_first: bool) -> _Change | None:
        targets = self._undoable()
        if own_first:
            own = [c for c in targets if c.session == self.session]
            if own:
                return own[-1]
        return targets[-1] if targets else None

    def _undoable(self) -> list[_Change]:
        undone = {c.undo_of for c in self.history if c.undo_of is not None}
        return [c for c in self.history if c.undo_of is None and c.seq not in undone]

    def _commit(self, label: str, entries: list[dict[str, Any]], undo_of: int | None) -> None:
        seq = max(max(self._changes, default=0), self._checkpoint_seq) + 1
        change = _Change(
            seq=seq,
            label=label,
            ts=now_iso(),
            undo_of=undo_of,
            entries=entries,
            by=self.agent,
            session=self.session,
        )
        head = {"seq": seq, "label": label, "ts": change.ts, "undo_of": undo_of}
        head.update(by=change.by, session=change.session)
        tables = build_tables(change=[head], entries=entries)
        path = self.root / "changes" / f"{seq:08d}.json"
        self.bytes_written += atomic_write(path, dump(tables, _schema(entries)))
        self._changes.add(seq)
        self._apply(change)
        if len(self._changes) >= CHECKPOINT_EVERY:
            # The change is saved: its file is whole. Folding the change files into the
            # checkpoint is housekeeping, retried by the next change if it fails here (a full
            # disk): reporting the change as failed would make the user apply it twice.
            with contextlib.suppress(LibraryError, OSError):
                self._checkpoint()

    def _apply(self, change: _Change) -> None:
        for entry in change.entries:
            pid = entry["id"]
            old = self.states.get(pid, {})
            state = dict(old)
            state.update(entry["new"])
            edit = entry.get("note_edit")
            if edit is not None:
                note = apply_note_edit(state.get("note", ""), edit)
                if note is not None:  # else a change before it is missing: the note stays
                    state["note"] = note
            for name, ids in self._flagged.items():
                if state.get(name):
                    ids.add(pid)
                else:
                    ids.discard(pid)
            state["updated_at"] = change.ts
            if any(state.get(k) for k in STATE_FIELDS):
                self.states[pid] = state
            else:
                self.states.pop(pid, None)
            self._annotate(pid, state)
        self.history.append(change)
        if len(self.history) > HISTORY_LIMIT * 2:
            self._trim_history()

    def _trim_history(self) -> None:
        originals = [c for c in self.history if c.undo_of is None][-HISTORY_LIMIT:]
        keep = {c.seq for c in originals}
        self.history = [c for c in self.history if c.seq in keep or c.undo_of in keep]

    def _checkpoint(self) -> None:
        """Fold the change files into state.json (atomically).

        The previous checkpoint is kept as ``state.json.bak`` together with the change files
        written since it, so `papertui doctor --repair` can rebuild the current state from
        them if ``state.json`` is ever damaged. Older change files are removed.
        """
        last = max(self._changes)
        previous = self._checkpoint_seq
        self._trim_history()
        states = [{"id": pid, **s} for pid, s in self.states.items()]
        # Who made each change is kept beside the history, which older papertui read whole.
        history = [c.head() for c in self.history]
        origins = [{"seq": c.seq, "by": c.by, "session": c.session} for c in self.history]
        tables = build_tables(
            checkpoint=[{"last_seq": last}], state=states, history=history, origins=origins
        )
        schema = max((_schema(c.entries) for c in self.history), default=BASE_SCHEMA)
        path = self.root / "state.json"
        if path.exists():
            backup(path)
        self.bytes_written += atomic_write(path, dump(tables, schema))
        self._checkpoint_seq = last
        self._checkpoint_mtime = path.stat().st_mtime_ns
        for seq, file in _seq_files(self.root / "changes").items():
            if seq <= previous:
                with contextlib.suppress(OSError):
                    file.unlink()
        self._changes = {s for s in self._changes if s > last}

    @contextlib.contextmanager
    def _write(self, wait: float | None = None) -> Iterator[None]:
        with self._lock.held(wait):
            self._remove_stale_temp_files()
            self.refresh()
            yield

    def _remove_stale_temp_files(self) -> None:
        for sub in ("", "papers", "bodies", "search", "changes"):
            directory = self.root / sub
            with contextlib.suppress(OSError):
                for entry in os.scandir(directory):
                    if entry.name.startswith(TMP_PREFIX):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)


_DEFAULTS: dict[str, Any] = {"read": False, "starred": False, "tags": [], "note": ""}
