"""The library: a directory of truth files (truth.py) and the SQLite cache derived from them
(cache.py). This module is the public face the app and the CLI use: opening (with creation
and migration), reading, querying, importing (identity.py decides what is one paper) and
changing the user's state, with undo (state.py).

On disk::

    papertui.json          marker: a papertui library, its schema (3)
    papers/<dev>-<N>.json  segments: the papers each import added or changed (truth)
    changes/<dev>-<N>.json the journal: one file per state change (truth)
    state/<dev>-<N>.json   checkpoints: the journal folded (truth)
    sessions/<dev>.json    when this device's last app session started
    watch/<dev>.json       what this device's watch rules tagged (tui/watch.py)
    .cache/library.sqlite  the derived database (never synced; rebuilt when missing)
    .gitignore .stignore   keep the cache and the lock files out of git and Syncthing

Writes take an exclusive inter-process lock (storage.WriteLock), read what other processes
wrote meanwhile, write the truth file, then mirror it into the cache: a crash at any point
leaves the truth whole, and the next open brings the cache up to date.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ..feeds import ParseResult, Skipped
from ..models import Paper, PaperState, Source
from ..text import arxiv_id as find_arxiv_id
from ..text import clean_line, readable_tex, valid_unicode
from . import aliases, cache, migrate, state, truth
from .cache import Adding, Beside, Cache, join_through, open_cache, pack_body, remove_database
from .device import device_id
from .identity import (
    OLD_ABSTRACT,
    Crowd,
    compatible,
    id_choices,
    id_digest,
    lookup_keys,
    merge_into,
    new_id,
    note_version,
    other_paper,
    paper_keys,
    same_paper,
)
from .notes import (
    LOST_BASE_MARK,
    apply_note_edit,
    invert_note_edit,
    merge_note,
    note_digest,
    note_edit,
)
from .query import Query, QueryError, parse_query
from .sqlquery import SORT_KEYS, Results, compile_query, match_tokens
from .storage import (
    SCHEMA_VERSION,
    TMP_PREFIX,
    LibraryError,
    WriteLock,
    atomic_write,
    build_tables,
    dump,
    fsync_dir,
    is_writable,
    load,
    table_docs,
)
from .truth import Change, compact

MARKER = "papertui.json"
CROWD = 8  # papers under one title key before they are grouped (identity.Crowd)
MIN_PREFIX = 4  # characters of a paper id that `resolve` accepts as the id
IGNORED = "# papertui: the cache and lock files are this machine's own\n.cache/\n.lock\n"
IGNORED += ".lock.owner\n.tmp-*\n"
_T = TypeVar("_T")
ROW_CACHE = 4096  # paper heads and states kept decoded
# s: a truth folder whose last change is this old gets a new modification time from any file
# added to it (`Library._arrived_unseen`): the coarsest file-system clocks tick every 2 s.
SETTLE = 5.0
# After a segment's name in `paper.seg`: the record is merged here from several devices'
# versions (kept whole in the cache), so a later version from any device is merged into it.
MERGED = "+"

__all__ = [
    "ImportReport",
    "LOST_BASE_MARK",
    "Library",
    "LibraryError",
    "NoteConflict",
    "QueryError",
    "SORT_KEYS",
    "Undone",
    "apply_note_edit",
    "invert_note_edit",
    "merge_note",
    "note_digest",
    "note_edit",
]


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
    merged_ids: list[str] = field(default_factory=list)  # known papers this feed changed
    partial: str = ""  # the feed says it held only part of its entries (a paged listing)


Undone = state.Undone


@dataclass(frozen=True)
class NoteConflict:
    """A paper's note edited on two devices before either saw the other's edit; both texts
    are in the note, around a conflict mark (see `Library.note_conflicts`)."""

    id: str  # the paper
    key: str  # the change that met the other device's text (`Change.key`)
    device: str  # where that change was made
    ts: str  # when (ISO 8601, UTC, that device's clock)
    other: str  # the device whose text it met
    other_key: str  # the change that wrote that text
    other_ts: str  # when


class _Stale(Exception):
    """The cache holds a truth file that is gone, or a paper where its segment no longer
    has it (a tool rewrote the file): it must be rebuilt."""


class Library:
    """A papertui library directory. Reads come from the SQLite cache (no paper is loaded
    into memory as a whole library); writes go to a truth file first, then to the cache."""

    def __init__(self, root: Path, lock_timeout: float = 5.0) -> None:
        self.root = Path(root)
        self._papers = self.root / truth.SEGMENTS  # (where records are read from)
        self._lock = WriteLock(self.root, lock_timeout)
        self._mutex = threading.RLock()  # one writer thread at a time in this process
        self.read_only = False  # this process cannot write here (set by `open`)
        self.watch: dict[str, str] | None = None  # (`watch_tags`: read when first needed)
        self._watched: frozenset[str] | None = None
        self._colors: dict[str, str] | None = None  # (`watch_colors`)
        # Papers the watch rules newly tagged through this handle, by rule name
        # (`tui.importing.watch_new` adds to it): what `papertui import` reports.
        self.watch_tagged: dict[str, int] = {}
        self.bytes_written = 0  # for benchmarks: bytes this handle has written
        # Who writes through this handle, recorded with each change: undo can then prefer
        # this handle's own changes and say where another one was made.
        self.session = secrets.token_hex(6)
        self.agent = "papertui"  # "app", "papertui star" …: set by the app and the CLI
        self.device = device_id()
        self.cache: Cache = Cache(None)
        self._heads: dict[str, dict[str, Any]] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._len: int | None = None
        self._seen: tuple[Any, ...] = ()
        # The truth files the cache has accounted for, by folder (`truth.KINDS`): names as
        # listed before the last catch-up, and this device's files written since (see
        # `_arrived_unseen`); None until the cache has been brought up to date.
        self._known: tuple[frozenset[str], ...] | None = None
        self._settled = False  # `_known` was checked once the folders' clock tick was over
        self._wrote: list[Path] = []  # truth files written under the current write lock
        # Each write of the last `import_feeds` / `import_each`: its reports and the name of
        # its segment (None: it changed nothing), for `kept_imports`.
        self._imports: list[tuple[list[ImportReport], truth.Name | None]] = []
        # Papers of two ids united by the segments just applied, and one of them had state:
        # the state is replayed so their changes land on the kept id (`_unite`).
        self._remap = False
        # Papers this handle found to be one under two ids (`_unite`): (absorbed, kept).
        self.united: list[tuple[str, str]] = []
        # Ids whose rows a `_split` made or renamed in the cache being built, and the rowids
        # of that build (`_build_segments`): None outside a build.
        self._split_ids: set[str] = set()
        self._build_rowids: dict[str, int] | None = None
        self._rebuilding = False  # (the cache is being built from nothing: `_rebuild`)
        # Other devices' truth files not readable yet (`_arrived`): paths.
        self.in_transit: set[str] = set()
        # How many times other processes' or devices' files were taken in (by `refresh` or
        # before a write): a window compares it with what it last showed.
        self.arrivals = 0
        self._told: set[str] = set()
        # The app folds the journal on a worker thread, off the keystroke's path; a command
        # does it before it exits.
        self.fold_in_background = False
        self._big = False  # (the write under way is a big import's: `_write`)
        self._swept = False
        self._folding = threading.Event()

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
        (`read_only`): reading works, every write raises LibraryError. A library written by
        papertui before engine 2 (schema 1 or 2) is migrated first (migrate.py).
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
        schema = migrate.marker_schema(load(marker))
        lib.read_only = not is_writable(root)
        if not lib.read_only:  # (git keeps no empty folder: a clone may have none of them)
            for sub in truth.KINDS:
                with contextlib.suppress(OSError):
                    (root / sub).mkdir(exist_ok=True)
        if schema < SCHEMA_VERSION:
            if lib.read_only:
                raise LibraryError(
                    f"{root}: this library was written by an earlier papertui and must be "
                    "migrated once, but it is read-only here; open it where it can be written"
                )
            with lib._lock.held():
                migrate.migrate(root, lib.device)
        lib.cache = open_cache(root, not lib.read_only)
        lib._open_cache()
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
            ours = {"papers", "changes", "state", ".gitignore", ".stignore"}
            stray = any(p.name[0] != "." and p.name not in ours for p in root.iterdir())
            if stray and not marker.exists():  # (another process may have just made it)
                raise LibraryError(
                    f"{root}: not a papertui library (no {MARKER}); "
                    "choose an empty or new directory for --db"
                )

        refuse_a_folder_of_other_files()  # before the lock file is made in someone's folder
        # Under the lock, so a second process creating the same library at the same moment
        # waits and then finds this one.
        with self._lock.held():
            if marker.exists():
                return
            refuse_a_folder_of_other_files()
            try:
                for sub in truth.KINDS:
                    (root / sub).mkdir(exist_ok=True)
                for name in (".gitignore", ".stignore"):
                    (root / name).write_text(IGNORED)
            except OSError as err:
                raise LibraryError(f"{root}: cannot create the library ({err.strerror})") from None
            atomic_write(marker, migrate.marker(now_iso()))

    def close(self) -> None:
        """Close the cache's connections (the library stays usable: they reopen)."""
        self.cache.close()

    # ------------------------------------------------------------------ the cache
    def _conn(self) -> sqlite3.Connection:
        return self.cache.conn()

    def _open_cache(self) -> None:
        """Bring the cache up to date with the truth, rebuilding it when it is unusable."""
        for attempt in range(2):
            try:
                if not self.cache.usable():
                    self._rebuild(if_needed=True)
                else:
                    if not self.read_only:  # (before a catch-up writes to them)
                        Cache.ensure_score(self._conn())
                    self._catch_up()
                if not self.read_only:
                    self.cache.count_papers()
                return
            except (_Stale, sqlite3.DatabaseError) as err:
                if _out_of_room(err):  # (not damage: the cache is kept as it is)
                    raise LibraryError(
                        f"{self.root}: the library's cache cannot take in what changed ({err}); "
                        "nothing was lost: free some space and try again"
                    ) from None
                if attempt or self.cache.path is None:
                    if isinstance(err, sqlite3.DatabaseError):
                        raise LibraryError(
                            f"{self.root}: the library's cache cannot be built ({err})"
                        ) from None
                self._drop_cache()

    def _drop_cache(self) -> None:
        path = self.cache.path
        self.cache.close()
        if path is not None:
            remove_database(path)
        self.cache = open_cache(self.root, not self.read_only)
        self._forget()

    def rebuild(self) -> None:
        """Delete the cache and build it again from the truth files (`doctor --rebuild`)."""
        with self._mutex:
            self._drop_cache()
            self._rebuild()

    def _rebuild(self, if_needed: bool = False) -> None:
        """Build the cache from nothing: every segment, the best checkpoint, the journal.
        ``if_needed``: unless another process has built it meanwhile (several processes
        opening a new library at once wait for one another's transaction, then find it)."""
        known = self._names()  # (before reading: what arrives meanwhile is new next time)
        with self._mutex, self.cache.transaction() as conn:
            if if_needed and self.cache.usable():
                self._forget()  # (built by another process: `_known` left to a catch-up)
                return
            for table in ("text", "annot"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%\\_%' ESCAPE '\\'"
                )
            ]
            for name in names:
                conn.execute(f"DROP TABLE IF EXISTS {name}")
            self.cache.create(conn)
            self._rebuilding = True
            try:
                state.rebuild_state(
                    conn, self.root, self.device, apply_segments=self._apply_segments
                )
            finally:
                self._rebuilding = False
            self._remap = False  # (the state was replayed after the segments)
            Cache.set_meta(conn, "complete", now_iso())
        with contextlib.suppress(sqlite3.Error):  # (the build's journal: as big as the cache)
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.cache.tidy(self._conn())  # (the old cache's pages the build did not reuse)
        self._known = known
        self._forget()

    def _build_again(self) -> None:
        """Build the cache again from the truth files when it holds one that is gone
        (`_Stale`): in place, in one transaction, so when the truth cannot be read (a damaged
        file: LibraryError naming it) the cache stays as it was and the library is still
        shown (deleting the cache first left a running app a database with no tables)."""
        self.arrivals += 1
        try:
            self._rebuild()
        except LibraryError:
            self._known = self._names()
            self._forget()  # (tried: tried again when the files change)
            raise
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError):  # (busy, full: not the file's fault)
                raise
            self.rebuild()  # the database itself is damaged: made anew

    def _apply_segments(self, conn: sqlite3.Connection, names: list[truth.Name]) -> None:
        """Apply segments (in `truth` order) to the cache: each record replaces the one with
        its id, or, written by another device, is merged into it (`_store_version`)."""
        files = truth.listing(self.root, truth.SEGMENTS)
        if len(names) > 1 and conn.execute("SELECT 1 FROM paper LIMIT 1").fetchone() is None:
            return self._build_segments(conn, names, files)
        for name in names:
            segment = self._arrived(name, files[name], truth.read_whole_segment)
            if segment is None:
                continue
            spans = segment.spans
            Cache.add_feeds(conn, name.stem, segment.feeds)
            fresh: dict[str, dict[str, Any]] = {}  # papers new to the cache: stored in bulk
            kept = aliases.targets(conn, (r["id"] for r in segment.records))
            for record in segment.records:
                pid = kept.get(record["id"], record["id"])
                span = spans.get(pid) if pid == record["id"] else None
                row = conn.execute("SELECT seg FROM paper WHERE id=?", (pid,)).fetchone()
                if row is None:
                    fresh[record["id"]] = record  # (a later record of the same id replaces it)
                    continue
                try:
                    self._store_version(conn, name, record, span, row[0], pid)
                except LibraryError:  # (the version held: its segment changed since)
                    raise _Stale from None  # built again from the files
            self._unite_arrivals(conn, name, fresh)
            Cache.add_papers(conn, list(fresh.values()), name.stem, spans)
            conn.execute("INSERT OR REPLACE INTO applied(kind, name) VALUES('s', ?)", (name.stem,))

    def _build_segments(
        self, conn: sqlite3.Connection, names: list[truth.Name], files: dict[truth.Name, str]
    ) -> None:
        """`_apply_segments` into an empty cache (a rebuild), the same result in two passes:
        the first finds each paper's first and last version, the second stores only the last
        one, in bulk, under the rowid of the first (the order papers were stored in). A paper
        that several devices wrote is merged version by version, as `_apply_segments` does;
        papers of several devices that are one paper under two ids are then united
        (`_unite_built`)."""
        rowid_of: dict[str, int] = {}  # (the order of first appearance)
        self._split_ids, self._build_rowids = set(), rowid_of
        try:
            self._build_in_order(conn, names, files, rowid_of)
        finally:
            self._split_ids, self._build_rowids = set(), None

    def _build_in_order(
        self,
        conn: sqlite3.Connection,
        names: list[truth.Name],
        files: dict[truth.Name, str],
        rowid_of: dict[str, int],
    ) -> None:
        """`_build_segments`' two passes; ``rowid_of`` (empty) gets each paper's rowid."""
        first: dict[str, int] = {}  # the index in ``names`` of the paper's first segment
        last: dict[str, int] = {}  # the index in ``names`` of the paper's last version
        maker: dict[str, str] = {}
        mixed: set[str] = set()  # papers written by more than one device
        read: list[int] = []  # a hash of each segment's ids, to see one change between passes
        listed = [(n, self._arrived(n, files[n], truth.segment_ids)) for n in names]
        names = [n for n, ids in listed if ids is not None]
        for i, ids in enumerate(ids for _, ids in listed if ids is not None):
            name = names[i]
            read.append(hash(tuple(ids)))
            for pid in ids:
                if pid not in rowid_of:
                    rowid_of[pid] = len(rowid_of) + 1
                    maker[pid] = name.device
                    first[pid] = i
                elif maker[pid] != name.device:
                    mixed.add(pid)
                if pid not in last or names[last[pid]].seq <= name.seq:  # (its device's order)
                    last[pid] = i
        for i, name in enumerate(names):
            segment = truth.read_whole_segment(files[name])
            if hash(tuple(r["id"] for r in segment.records)) != read[i]:
                raise LibraryError(
                    f"{files[name]}: changed while the cache was being rebuilt (another "
                    "program writing into the library?); run `papertui doctor --rebuild` again"
                )
            Cache.add_feeds(conn, name.stem, segment.feeds)
            final: dict[str, dict[str, Any]] = {}
            for record in segment.records:
                pid = record["id"]
                if pid not in mixed and pid not in self._split_ids:
                    if last[pid] == i:
                        final[pid] = record
                    continue
                if pid not in mixed and last[pid] != i:
                    continue  # (an earlier version of a paper a `_split` stored: its last)
                row = conn.execute("SELECT seg FROM paper WHERE id=?", (pid,)).fetchone()
                if row is None and (kept := aliases.canonical(conn, pid)) != pid:
                    row = conn.execute("SELECT seg FROM paper WHERE id=?", (kept,)).fetchone()
                    if row is not None:  # (its id names another paper since a `_split`)
                        self._store_version(conn, name, record, None, row[0], kept)
                        continue
                if row is None:
                    Cache.add_papers(
                        conn, [record], name.stem, segment.spans, rowids=[rowid_of[pid]]
                    )
                    continue
                self._store_version(conn, name, record, segment.spans.get(pid), row[0])
            records = list(final.values())
            rowids = [rowid_of[r["id"]] for r in records]
            Cache.add_papers(conn, records, name.stem, segment.spans, rowids=rowids)
            conn.execute("INSERT OR REPLACE INTO applied(kind, name) VALUES('s', ?)", (name.stem,))
        if len({n.device for n in names}) > 1:
            self._unite_built(conn, rowid_of, first)

    def _unite_built(
        self, conn: sqlite3.Connection, rowid_of: dict[str, int], first: dict[str, int]
    ) -> None:
        """Unite, after `_build_segments` (``rowid_of``: each paper's rowid; ``first``: the
        index of the segment it first appeared in), the papers `_apply_segments` unites one
        segment at a time (`_unite_arrivals`): each paper filed under a key an earlier paper
        is filed under too is matched, by the rules of an import, against the papers stored
        before it, except those first seen in its own segment. Only keys two papers share
        are looked at (one join of the ``ident`` index with itself): a few papers."""
        Cache.fold_idents(conn, everything=True)  # (the join below reads ``ident`` alone)
        later = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT b.paper FROM ident a JOIN ident b "
                "ON b.key = a.key AND b.paper > a.paper ORDER BY b.paper"
            )
        ]
        where = dict(rowid_of)  # (ids move when a row is renamed)

        class Skip:  # (the papers a paper arriving at ``at`` from segment ``seg`` never met)
            def __init__(self, at: int, seg: int) -> None:
                self.at, self.seg = at, seg

            def __contains__(self, pid: object) -> bool:
                rowid = where.get(str(pid))
                return rowid is None or rowid >= self.at or first.get(str(pid)) == self.seg

        for rowid in later:
            row = conn.execute("SELECT id FROM paper WHERE rowid=?", (rowid,)).fetchone()
            if row is None:  # (united already)
                continue
            pid = row[0]
            record = self._record(conn, pid)
            batch = _Batch(conn)
            skip = Skip(rowid, first.get(pid, -1))
            found = self._match(conn, record, record.get("keys", []), {}, batch, skip=skip)
            if found is None:
                continue
            kept = self._unite_rows(conn, found, pid)
            where[kept] = where[found]
            first[kept] = first[found]

    def _unite_rows(self, conn: sqlite3.Connection, held: str, arriving: str) -> str:
        """`_unite` for two papers the database holds (a rebuild): ``arriving``, stored
        after ``held``, is removed and folded into ``held``'s row, renamed to the kept id
        when that is ``arriving``'s; the id kept."""
        kept = aliases.keep(held, arriving)
        absorbed = arriving if kept == held else held
        base, other = self._record(conn, held), self._record(conn, arriving)
        if kept != held:
            base, other = other, base
        merge_into(base, other)
        base["id"] = kept
        base["keys"] = list(dict.fromkeys([*base.get("keys", []), *other.get("keys", [])]))
        # (a catch-up into an empty database may hold state: replayed, as `_unite` does)
        self._remap = self._remap or any(aliases.has_state(conn, p) for p in (held, arriving))
        row = conn.execute("SELECT seg FROM paper WHERE id=?", (arriving,)).fetchone()
        seg = row[0].rstrip(MERGED) + MERGED
        Cache.remove_paper(conn, self._papers, arriving)
        if kept == held:
            Cache.put_paper(conn, self._papers, base, seg)
        else:
            Cache.put_paper(conn, self._papers, {**base, "id": held}, seg)
            conn.execute("UPDATE paper SET id=? WHERE id=?", (kept, held))
            conn.execute(
                "UPDATE record SET body=? WHERE rowid=(SELECT rowid FROM paper WHERE id=?)",
                (pack_body(compact(base)), kept),
            )
        aliases.add(conn, absorbed, kept)
        return kept

    def _store_version(
        self,
        conn: sqlite3.Connection,
        name: truth.Name,
        record: dict[str, Any],
        span: truth.Span | None,
        held: str,
        pid: str | None = None,
    ) -> None:
        """Store ``record``, a paper's version in the segment ``name`` (at ``span`` in it),
        over the version the cache holds, from the segment ``held`` (`paper.seg`). A version
        its own device wrote before it replaces (a device's later version grows from its
        earlier one), or a later one (a file that arrived late) is kept over it; into any
        other it is merged: another device's, or a record merged here from several devices'
        versions (its ``held`` ends in `MERGED`), which the device that wrote ``record`` may
        never have seen. ``pid``: the paper it is a version of, when that is not its own id
        (its id is an alias: aliases.py), and then it is always merged."""
        earlier = truth.parse_key(held)
        seg = name.stem
        pid = pid or record["id"]
        if pid != record["id"]:
            earlier = None
        if earlier is not None and earlier.device == name.device and earlier.seq > name.seq:
            return
        if earlier is None or earlier.device != name.device:
            mine = Cache.read_record(conn, self._papers, pid) or {}
            if not compatible(mine, record):  # (one id, two arXiv papers: two papers)
                self._split(conn, name, record, pid, mine)
                return
            merge_into(mine, record)
            mine["keys"] = list(dict.fromkeys([*mine.get("keys", []), *record.get("keys", [])]))
            mine["id"] = pid
            record, span, seg = mine, None, seg + MERGED  # (held by no truth file: kept whole)
        Cache.put_paper(conn, self._papers, record, seg, span)

    def _split(
        self,
        conn: sqlite3.Connection,
        name: truth.Name,
        record: dict[str, Any],
        pid: str,
        held: dict[str, Any],
    ) -> None:
        """Two devices' versions of one paper that carry different arXiv ids (``held``, the
        cache's record of ``pid``; ``record``, of the segment ``name``): each device found
        the paper without an arXiv id (a digest, filed under an id made from its text) to be
        one of two arXiv papers with the same abstract (a duplicate submission), each the one
        it held first. They are two papers, each under its arXiv id, and the id both carry
        names the smaller of the two (`aliases.keep`). Before, each copy kept the one it had
        held first: the digest's star on one paper on the laptop, on the other on the desk.

        What each of the two records holds depends on the order the versions are merged in,
        so a catch-up does not split: it builds the cache again from the files (`_Stale`),
        in the one order every copy with the same files builds in; this is that build. The
        state is replayed after it, so what was done under the shared id lands on the paper
        it names."""
        if not self._rebuilding:
            raise _Stale
        theirs, mine = record["arxiv_id"], held["arxiv_id"]
        if pid != mine:  # the held paper under its own arXiv id
            if conn.execute("SELECT 1 FROM paper WHERE id=?", (mine,)).fetchone() is not None:
                self._unite_rows(conn, mine, pid)
            else:
                kept = {**held, "id": mine}
                Cache.put_paper(conn, self._papers, {**kept, "id": pid}, name.stem + MERGED)
                conn.execute("UPDATE paper SET id=? WHERE id=?", (mine, pid))
                conn.execute(
                    "UPDATE record SET body=? WHERE rowid=(SELECT rowid FROM paper WHERE id=?)",
                    (pack_body(compact(kept)), mine),
                )
                aliases.add(conn, pid, mine)
        row = conn.execute("SELECT seg FROM paper WHERE id=?", (theirs,)).fetchone()
        if row is not None:  # the arriving version under its own (merged: its id differs)
            self._store_version(conn, name, record, None, row[0], theirs)
        elif self._build_rowids is None:  # (a build applying segments one at a time)
            Cache.put_paper(conn, self._papers, {**record, "id": theirs}, name.stem + MERGED)
        else:  # (the rowid of the paper's first appearance in the build, or a new one)
            rowid = self._build_rowids.get(theirs) or len(self._build_rowids) + 1
            self._build_rowids.setdefault(theirs, rowid)
            Cache.add_papers(conn, [{**record, "id": theirs}], name.stem + MERGED, rowids=[rowid])
        aliases.add(conn, record["id"], aliases.keep(mine, theirs))
        self._split_ids.update((mine, theirs))

    def _unite_arrivals(
        self, conn: sqlite3.Connection, name: truth.Name, fresh: dict[str, dict[str, Any]]
    ) -> None:
        """Of the papers of the segment ``name`` new to the cache (``fresh``, by id), unite
        each that is, by the rules of an import (`_match`), a paper the cache holds under
        another id (`_unite`), and take it out of ``fresh``. Another machine took the paper
        from another feed: from one without arXiv ids and this one from one with them, or
        the other way. Only papers filed under one of its identity keys are looked at (one
        query for all the keys of the segment: `Cache.stored_keys`), never the library; and
        never a paper of the segment itself (its own import told them apart)."""
        if not fresh:
            return
        # The keys its device filed it under (`paper_keys`, worked out once, at its import:
        # ~20 µs a paper to do again, a rebuild's 1M papers 20 s more).
        lookups = {pid: r.get("keys") or lookup_keys(r)[1] for pid, r in fresh.items()}
        stored = Cache.stored_keys(conn, {key for keys in lookups.values() for key in keys})
        if not stored:
            return
        own = set(fresh) | {r["id"] for r in fresh.values()}
        crowds: dict[str, Crowd] = {}
        for pid, keys in lookups.items():
            if not stored.intersection(keys):
                continue
            batch = _Batch(conn)
            batch.stored = stored
            found = self._match(conn, fresh[pid], keys, crowds, batch, skip=own)
            if self._order_decides(conn, fresh[pid], keys, found, stored, own):
                raise _Stale  # (built again from the files: the order every copy builds in)
            if found is None:
                continue
            self._unite(conn, name, found, fresh.pop(pid))
            crowds = {}  # (an id may have been renamed)

    def _order_decides(
        self,
        conn: sqlite3.Connection,
        record: dict[str, Any],
        keys: list[str],
        found: str | None,
        stored: set[str],
        own: set[str],
    ) -> bool:
        """Whether which paper an arriving ``record`` (of a catch-up; ``found``: the held
        paper `_match` made it) is one with depends on the order the files arrived in: a
        copy without an arXiv id that is either of two arXiv papers with the same abstract
        (a duplicate submission), the one a sync united it with being the first held. So
        when ``record`` has no arXiv id and a second held arXiv paper would take it too, or
        has one and shares its abstract with an arXiv paper a copy without an id was
        united with. Rare; then the cache is built again from the files, in the one order
        every copy with the same files builds in (`_build_segments`)."""
        if self._rebuilding:
            return False
        arxiv = record.get("arxiv_id")
        if not arxiv:
            if found is None or not self._record(conn, found).get("arxiv_id"):
                return False
            batch = _Batch(conn)
            batch.stored = stored
            other = self._match(conn, record, keys, {}, batch, skip=own | {found})
            return other is not None and bool(self._record(conn, other).get("arxiv_id"))
        held = [
            pid
            for key in keys
            if key.startswith("text:") and key in stored
            for pid, has_id in Cache.filed_under(conn, key)
            if has_id
        ]
        return aliases.absorbed_a_hashed_id(conn, held)

    def _unite(
        self, conn: sqlite3.Connection, name: truth.Name, held: str, record: dict[str, Any]
    ) -> None:
        """Make the paper ``held`` and the arriving ``record`` (of the segment ``name``, an id
        the cache does not hold) one paper, under the id `aliases.keep` chooses; the other
        id becomes its alias. The kept id's record is the base and the other folded into it
        (`merge_into`), whichever arrived first, so every machine stores the same record.
        The state follows: a held paper renamed gives its state to the kept id
        (`aliases.move_state`); when both ids have state here (or the arriving one has:
        its changes came before its paper), the state is replayed (`_remap`) so that both
        ids' changes land on the one paper, in their order."""
        kept = aliases.keep(held, record["id"])
        absorbed = record["id"] if kept == held else held
        base, other = self._record(conn, held), record
        if kept != held:
            base, other = dict(record), base
        merge_into(base, other)
        base["id"] = kept
        base["keys"] = list(dict.fromkeys([*base.get("keys", []), *other.get("keys", [])]))
        seg = name.stem + MERGED  # (held by no truth file: kept whole)
        if kept == held:
            # The arriving id has state only when its changes came before its paper (files
            # copied by Syncthing in any order): replayed.
            self._remap = self._remap or aliases.has_state(conn, absorbed)
            Cache.put_paper(conn, self._papers, base, seg)
        else:  # (the row keeps its place and the state it indexes: stored, then renamed)
            if aliases.has_state(conn, kept):  # (its changes came before its paper)
                self._remap = True
            Cache.put_paper(conn, self._papers, {**base, "id": held}, seg)
            conn.execute("UPDATE paper SET id=? WHERE id=?", (kept, held))
            conn.execute(
                "UPDATE record SET body=? WHERE rowid=(SELECT rowid FROM paper WHERE id=?)",
                (pack_body(compact(base)), kept),
            )
            if not self._remap:
                aliases.move_state(conn, held, kept)
        aliases.add(conn, absorbed, kept)
        self.united.append((absorbed, kept))

    def _catch_up(self) -> bool:
        """Apply the truth files the cache does not hold yet; True if there were any.
        `_Stale` when the cache holds a segment that is gone, or a paper to merge with that its
        segment no longer has where the cache says (then it must be rebuilt)."""
        root = self.root
        known = self._names()  # (before reading: what arrives meanwhile is new next time)
        segments = truth.listing(root, truth.SEGMENTS)
        changes = truth.listing(root, truth.CHANGES)
        points = truth.listing(root, truth.CHECKPOINTS)
        conn = self._conn()
        applied = _applied(conn)
        stems = {n.stem for n in segments}
        if any(name not in stems for name in applied["s"]):
            raise _Stale
        covers, pending = state.applied_changes(conn)
        new_segments = [n for n in segments if n.stem not in applied["s"]]
        new_changes = [n for n in changes if not state.was_applied(covers, pending, n)]
        new_points = [n for n in points if n.stem not in applied["p"]]
        filled = state.filled(conn, root, changes)
        if not (new_segments or new_changes or new_points or filled):
            self._known = known
            return False
        with self._mutex, self.cache.transaction() as conn:
            applied = _applied(conn)  # (again, under the database's lock)
            new_segments = [n for n in new_segments if n.stem not in applied["s"]]
            stamps = {n: self._arrived(n, segments[n], truth.segment_stamp) for n in new_segments}
            new_segments = [n for n in new_segments if stamps[n] is not None]
            self._remap = False
            if new_segments:
                self._apply_segments(conn, sorted(new_segments, key=lambda n: (stamps[n], n)))
            covers, pending = state.applied_changes(conn)
            fresh = [n for n in new_changes if not state.was_applied(covers, pending, n)]
            read = [self._arrived(n, changes[n], truth.read_change) for n in fresh]
            loaded = [change for change in read if change is not None]  # all checked first
            arrived = {n: c for n, c in zip(fresh, read, strict=True) if c is not None}
            remap, self._remap = self._remap, False
            if not remap and not filled and state.in_order(conn, loaded):
                # (an undo among them whose change leaves the history as they are applied)
                undos = any(change.undo_of is not None for change in loaded)
                replayed = state.Replayed(state.history(conn)) if undos else None
                for change in sorted(loaded, key=lambda c: c.order):
                    state.apply_change(conn, change, replayed)
            else:  # (a change made before one applied here: another device's, synced late;
                # or two papers with state united: their changes now land on one)
                state.replay_state(conn, root, self.device, arrived)
                applied = _applied(conn)  # (the replay read every checkpoint: not again)
            for name in new_points:
                if name.stem in applied["p"]:
                    continue
                point = self._arrived(name, points[name], truth.read_checkpoint)
                if point is None:
                    continue
                if not state.covered(conn, point.covers):
                    raise _Stale  # it folded changes whose files are gone here
                conn.execute(
                    "INSERT OR REPLACE INTO applied(kind, name) VALUES('p', ?)", (name.stem,)
                )
        self._known = known
        self._forget()
        self.arrivals += 1
        return True

    def _arrived(self, name: truth.Name, path: str, read: Callable[[str], _T]) -> _T | None:
        """``read(path)``, or None when that file is another device's and cannot be read
        yet: one in transit (a git merge or a copy stopped midway leaves it cut short), taken
        in once it is whole; `doctor` names it meanwhile. This device's own files are never
        in transit: LibraryError, as any damaged file."""
        try:
            return read(path)
        except LibraryError:
            if name.device == self.device:
                raise
            self.in_transit.add(path)
            return None

    def unreadable_arrivals(self) -> list[str]:
        """Other devices' files found unreadable (`_arrived`) since the last call: paths."""
        found = sorted(self.in_transit - self._told)
        self._told |= self.in_transit
        return found

    def _forget(self) -> None:
        """Drop the decoded rows kept for speed (after any change to the cache)."""
        self._heads = {}
        self._states = {}
        self._len = None
        self._seen = self._watch()
        self._settled = False

    def _know_own_files(self) -> None:
        """Count the truth files this handle wrote under the write lock (`_wrote`) as
        accounted for in `_known` (no folder is listed for it)."""
        wrote, self._wrote = self._wrote, []
        if self._known is None:
            return
        known = list(self._known)
        for path in wrote:
            if path.parent.name in truth.KINDS:
                at = truth.KINDS.index(path.parent.name)
                known[at] = known[at] | {path.name}
        self._known = tuple(known)

    def _names(self) -> tuple[frozenset[str], ...]:
        """The truth files in each truth folder now (`truth.names`), in `truth.KINDS` order."""
        return tuple(truth.names(self.root, kind) for kind in truth.KINDS)

    def _arrived_unseen(self) -> bool:
        """Whether a truth folder holds a file the cache has not accounted for (`_known`)
        although its modification time is the one last seen: a file written in the same
        tick of a coarse file-system clock as the last change this handle saw (another
        machine's, by Syncthing or a git merge, landing as this device wrote: a tick is
        4 ms on many kernels, 2 s on FAT) was missed until the next change. The folders
        are listed once per change seen, when its tick is surely over (`SETTLE` s later):
        a file added after that gives the folder a new time."""
        if self._settled:
            return False
        now = time.time()
        if any(m is not None and abs(now - m / 1e9) <= SETTLE for m in self._seen[1:]):
            return False  # (the tick may still be open: looked at once it is over)
        self._settled = True
        return self._names() != self._known

    def _watch(self) -> tuple[Any, ...]:
        """What changes when another process writes: the cache's data version and the
        truth folders' modification times."""
        try:
            version = self.cache.data_version()
        except sqlite3.Error:
            version = None
        return (version, *self.truth_marks())

    def truth_marks(self) -> tuple[int | None, ...]:
        """The truth folders' modification times: what an import, a change of state or a
        sync moves, in any process; a write of the cache's derived tables alone (the "for
        you" scores) does not."""
        times: list[int | None] = []
        for sub in truth.KINDS:
            try:
                times.append(os.stat(self.root / sub).st_mtime_ns)
            except OSError:
                times.append(None)
        return tuple(times)

    def truth_unchanged(self) -> bool:
        """Whether the truth folders are as this handle last took them in (`refresh`, its
        own writes): what changed since, if anything, is the cache alone."""
        return self.truth_marks() == tuple(self._seen[1:])

    def take_own_cache_writes(self) -> None:
        """This process wrote only derived tables of the cache (the "for you" scores, from a
        worker's connection or its training process): when the truth folders are as this
        handle last took them in, count the cache's new data version as seen, so `refresh`
        does not take it for another process's change."""
        if self.truth_unchanged():
            self._seen = self._watch()

    def refresh(self) -> bool:
        """Read what other processes wrote since; True if anything changed."""
        if self.cache.replaced() and self._take_new_cache():
            return True  # (while the new one is being built, the old one is read as ever)
        if self._watch() == self._seen and not self._arrived_unseen():
            return False
        try:
            with self._mutex:
                self._catch_up()
        except _Stale:
            self._build_again()
        except sqlite3.OperationalError:  # the cache is busy: the next refresh reads it
            return False
        self._forget()
        return True

    def _take_new_cache(self) -> bool:
        """Read the cache another process built anew (`Cache.replaced`: it deleted the file
        this handle's connections read, which they would go on reading for the rest of the
        session, and the "for you" training, opening the file by its name, stored its scores
        in the new one) once it is complete; False while it is being built (looked at again
        at the next refresh; the old one serves meanwhile)."""
        fresh = Cache(self.cache.path)
        if not fresh.usable():
            fresh.close()
            return False
        with self._mutex:
            old, self.cache = self.cache, fresh
            old.close()
            self.arrivals += 1
            try:
                self._catch_up()
            except _Stale:
                self._build_again()
            except sqlite3.OperationalError:  # the cache is busy: the next refresh reads it
                pass
        self._forget()
        return True

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        if self._len is None:
            self._len = self._tally().get("papers")
            if self._len is None:  # (a cache made before papers were tallied, read-only)
                self._len = self._conn().execute("SELECT count(*) FROM paper").fetchone()[0]
        return self._len

    def _tally(self) -> dict[str, int]:
        """The running totals of the cache (`cache.py`, ``tally``): read, starred, and papers
        unless that total cannot be trusted (`Cache.paper_total`)."""
        conn = self._conn()
        tally = dict(conn.execute("SELECT name, n FROM tally WHERE name IN ('read', 'starred')"))
        total = Cache.paper_total(conn)
        if total is not None:
            tally["papers"] = total
        return tally

    def __contains__(self, pid: object) -> bool:
        if not isinstance(pid, str):
            return False
        if pid in self._heads:
            return True
        return self._conn().execute("SELECT 1 FROM paper WHERE id=?", (pid,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        """Every paper id, in the order they were stored."""
        for (pid,) in self._conn().execute("SELECT id FROM paper ORDER BY rowid"):
            yield pid

    def holding_any(self, phrases: list[str]) -> set[str]:
        """The ids of the papers whose indexed text (titles, abstracts, authors, summaries:
        the search's words) holds one of ``phrases``, each a phrase of whole words: ASCII
        letters, digits and ``_`` between single spaces, as `tui.watch.plain` makes them.
        ValueError for another phrase; LibraryError when the cache cannot be read."""
        for phrase in phrases:
            if (
                not phrase
                or not phrase.isascii()
                or not all(w.isalnum() for w in phrase.replace("_", "a").split(" "))
            ):
                raise ValueError(f"not a phrase of words: {phrase!r}")
        found: set[str] = set()
        for start in range(0, len(phrases), 100):  # (FTS5 takes 256 levels of OR at most)
            match = " OR ".join(f'"{p}"' for p in phrases[start : start + 100])
            try:
                rows = self._conn().execute(
                    "SELECT id FROM paper WHERE rowid IN "
                    "(SELECT rowid FROM text WHERE text MATCH ?)",
                    (match,),
                )
                found.update(pid for (pid,) in rows)
            except sqlite3.Error as err:
                raise _cache_error(self.root, err) from None
        return found

    def paper_segments(self) -> list[tuple[str, str]]:
        """Every paper as (id, the segment its stored version is in: ``<device>-<NNNNNNNN>``,
        with `MERGED` after it when merged here from several devices' versions), in the order
        they were stored: what `tui.watch.apply` goes by to find the papers that arrived
        since it last looked (an import, a sync)."""
        return self._conn().execute("SELECT id, seg FROM paper ORDER BY rowid").fetchall()

    def raw(self, pid: str) -> dict[str, Any]:
        """The paper's head: what a list row needs (read-only; much cheaper than `get`).

        Empty fields are absent: use ``.get(name)``. KeyError when there is no such paper."""
        heads = self._heads  # (a worker's read lands in the rows of its time: see _forget)
        head = heads.get(pid)
        if head is None:
            conn = self._conn()
            try:
                head = Cache.read_record(conn, self._papers, pid, body=False)
            except LibraryError as err:  # (a truth file changed under the cache)
                head = _unreadable_head(conn, pid, err)
            if head is None:
                raise KeyError(pid)
            if len(heads) >= ROW_CACHE:
                heads.clear()
            heads[pid] = head
        return head

    def short_title(self, pid: str, limit: int = 60) -> str:
        """The paper's title (its Chinese title, else its id, when it has none) as one clean
        line cut to ``limit`` characters (ending in …), for messages naming it. KeyError
        when there is no such paper. Inline TeX reads as the list shows it ($\\mathcal{O}(N)$ →
        𝒪(N))."""
        head = self.raw(pid)
        title = clean_line(readable_tex(head.get("title") or head.get("title_zh") or pid))
        return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"

    def rows(self, ids: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(`raw`, `raw_state`) of each paper of ``ids``, in order: a screenful of list rows
        read at once (one query for the heads, one for the states, each segment file opened
        once) instead of two queries a row. KeyError when one is not in the library."""
        missing = [pid for pid in dict.fromkeys(ids) if pid not in self._heads]
        if missing:
            heads = Cache.read_heads(self._conn(), self._papers, missing)
            if len(self._heads) + len(heads) > ROW_CACHE:
                self._heads = {}
            self._heads.update(heads)
        missing = [pid for pid in dict.fromkeys(ids) if pid not in self._states]
        if missing:
            found = dict.fromkeys(missing, b"{}")
            found.update(
                self._conn().execute(
                    "SELECT id, doc FROM state WHERE id IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(missing).decode(),),
                )
            )
            if len(self._states) + len(found) > ROW_CACHE:
                self._states = {}
            self._states.update((pid, orjson.loads(doc)) for pid, doc in found.items())
        return [(self.raw(pid), self.raw_state(pid)) for pid in ids]

    def body(self, pid: str) -> dict[str, Any]:
        """The long texts of one paper (abstracts, summaries)."""
        return Cache.read_record(self._conn(), self._papers, pid, head=False) or {}

    def record(self, pid: str) -> dict[str, Any]:
        """The whole stored record of a paper: head and body (a new dict)."""
        found = Cache.read_record(self._conn(), self._papers, pid)
        if found is None:
            raise KeyError(pid)
        return found

    def get(self, pid: str) -> Paper:
        """The whole paper. KeyError when there is none; LibraryError when its text cannot
        be read (a truth file changed under the cache: see `head_paper`)."""
        return Paper.from_dict(self.record(pid))

    def head_paper(self, pid: str) -> Paper:
        """The paper as its list row knows it (titles, authors, dates; no abstract, no
        sources): what can be shown of it when `get` cannot read its text."""
        return Paper.from_dict({k: v for k, v in self.raw(pid).items() if k != "sources"})

    def state(self, pid: str) -> PaperState:
        return PaperState.from_dict(self.raw_state(pid))

    def raw_state(self, pid: str) -> dict[str, Any]:
        """The paper's state document ({} when it has none): read, starred, tags, note."""
        states = self._states  # (as in `raw`)
        found = states.get(pid)
        if found is None:
            row = self._conn().execute("SELECT doc FROM state WHERE id=?", (pid,)).fetchone()
            found = orjson.loads(row[0]) if row else {}
            if len(states) >= ROW_CACHE:
                states.clear()
            states[pid] = found
        return found

    def states(self) -> dict[str, dict[str, Any]]:
        """Every paper's state that is not the default, by id."""
        return {
            pid: orjson.loads(doc) for pid, doc in self._conn().execute("SELECT id, doc FROM state")
        }

    def resolve(self, ref: str) -> str:
        """A paper id from an id, an arXiv id or URL, or a unique id prefix."""
        ref = ref.strip()
        conn = self._conn()
        if ref and ref in self:
            return ref
        aid = find_arxiv_id(ref)
        if aid:
            found = Cache.filed_under(conn, "arxiv:" + aid)
            if found:
                return found[0][0]
        if ref.lower() in self:  # ids are lower case: P4668842F is p4668842f
            return ref.lower()
        kept = aliases.targets(conn, (ref, ref.lower()))  # the other id of a united paper
        if kept:
            return kept.get(ref) or kept[ref.lower()]
        prefix = ref.lower()
        hits = []
        if prefix:
            hits = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM paper WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                    (prefix, prefix + "\U0010ffff"),
                )
            ]
        if len(hits) == 1 and len(prefix) >= MIN_PREFIX:
            return hits[0]
        if len(hits) > 1:
            total = conn.execute(
                "SELECT count(*) FROM paper WHERE id >= ? AND id < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchone()[0]
            some = ", ".join(hits[:5]) + (", …" if total > 5 else "")
            raise LibraryError(f"{ref}: ambiguous, the id of {total} papers starts so: {some}")
        if hits:
            raise LibraryError(
                f"{ref}: give at least {MIN_PREFIX} characters of the id ({hits[0]} starts so)"
            )
        raise LibraryError(f"{ref}: no such paper in {self.root}")

    def merged_ids(self) -> dict[str, str]:
        """The papers two machines stored under two ids that a sync found to be one paper
        (aliases.py): the other id → the id it is kept under."""
        return aliases.every(self._conn())

    def all_tags(self) -> Counter[str]:
        """Every tag (as written) and how many papers carry it."""
        counts: Counter[str] = Counter()
        for (doc,) in self._conn().execute("SELECT doc FROM state"):
            tags = orjson.loads(doc).get("tags")
            if tags:
                counts.update(tags)
        return counts

    def stats(self) -> dict[str, Any]:
        conn = self._conn()
        counts = self.counts()
        total, read, starred = counts["papers"], counts["read"], counts["starred"]

        def facet(kind: str) -> list[tuple[str, int]]:
            return list(
                conn.execute(
                    "SELECT value, count(*) FROM facet WHERE kind=? GROUP BY value",
                    (kind,),
                )
            )

        by_format = Counter(dict(facet("f")))
        by_feed = dict(sorted(facet("d"), reverse=True))
        states = [orjson.loads(d) for (d,) in conn.execute("SELECT doc FROM state")]
        return {
            "library": valid_unicode(str(self.root)),  # a path may hold undecodable bytes
            "papers": total,
            "unread": total - read,
            "read": read,
            "starred": starred,
            "tagged": sum(1 for s in states if s.get("tags")),
            "noted": sum(1 for s in states if s.get("note", "").strip()),
            "tags": dict(self.all_tags().most_common()),
            "by_format": dict(by_format.most_common()),
            "by_feed_date": by_feed,
            "undo_steps": len(state.undoable(conn, self.device)),
        }

    def counts(self) -> dict[str, int]:
        """Papers, unread, read and starred, as `stats` counts them (kept as tallies)."""
        tally = self._tally()
        total, read, starred = len(self), tally["read"], tally["starred"]
        return {"papers": total, "unread": total - read, "read": read, "starred": starred}

    def begin_session(self, wait: float | None = None) -> str | None:
        """Record that an app session starts now; returns when the previous one started
        (or was last seen: `end_session`). ``wait``: seconds for the lock (LibraryError)."""
        path = self.root / "sessions" / f"{self.device}.json"
        previous = None
        if path.exists():
            with contextlib.suppress(LibraryError):
                docs = table_docs(load(path), "session")
                previous = docs[0].get("started") if docs else None
        with self._lock.held(wait):
            path.parent.mkdir(exist_ok=True)
            atomic_write(path, dump(build_tables(session=[{"started": now_iso()}])))
        return previous

    def end_session(self, wait: float | None = None) -> None:
        """Record that the app session ends now: papers it imported (seen in it) are not
        "new since last session" next time. LibraryError when the lock is not had in ``wait``
        seconds (then the session's start stands)."""
        self.begin_session(wait)

    def new_since(self, stamp: str | None) -> int:
        """How many papers were added after ``stamp`` (all of them when it is None)."""
        if not stamp:
            return len(self)
        row = self._conn().execute("SELECT count(*) FROM paper WHERE added_at > ?", (stamp,))
        return int(row.fetchone()[0])

    def latest_feed_date(self) -> str | None:
        """The newest feed date any paper was seen in."""
        row = (
            self._conn()
            .execute("SELECT max(value) FROM facet WHERE kind='d' AND value != ''")
            .fetchone()
        )
        return row[0] or None

    # ------------------------------------------------------------------ "for you" scores
    def unread_ids(self) -> list[str]:
        """The ids of every unread paper, in the order they were stored."""
        return [r[0] for r in self._conn().execute("SELECT id FROM paper WHERE read=0")]

    def documents(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored records of papers (title, abstract, authors, categories, the Chinese
        fields …; no sources), read in bulk: paper id → record. Papers that are not there
        or cannot be read are left out."""
        drop = ("src", "sources", "versions")
        return Cache.read_docs(
            self._conn(),
            self._papers,
            ids,
            lambda doc: {k: v for k, v in doc.items() if k not in drop},
        )

    def feature_rows(
        self, version: int
    ) -> tuple[list[str], list[int], list[bytes | None], list[bytes | None]]:
        """Every paper, in the order stored, as four lists: its id, whether it is read (1 or
        0), and its stored "for you" features (`relevance.features`: columns, counts), None
        for a paper with none stored under ``version`` (`store_features`). One statement."""
        conn = self._conn()
        try:
            current = Cache.get_meta(conn, "feat_version", 1)
            if current == version:
                rows = conn.execute(
                    "SELECT p.id, p.read, f.cols, f.counts FROM paper p "
                    "LEFT JOIN feat f ON f.paper = p.rowid ORDER BY p.rowid"
                ).fetchall()
            else:
                rows = None
        except sqlite3.OperationalError:  # (a read-only cache made before the table)
            rows = None
        if rows is None:
            rows = conn.execute("SELECT id, read, NULL, NULL FROM paper ORDER BY rowid").fetchall()
        if not rows:
            return [], [], [], []
        ids, read, cols, counts = zip(*rows, strict=True)
        return list(ids), list(read), list(cols), list(counts)

    def store_features(self, made: dict[str, tuple[bytes, bytes]], version: int) -> None:
        """Keep papers' features (paper id → (columns, counts)), made under the scheme
        ``version``, in the cache, one transaction; ids not in the library are left out.
        The features stored under another version are dropped first."""
        with self.cache.transaction() as conn:
            Cache.ensure_score(conn)
            if Cache.get_meta(conn, "feat_version", 1) != version:
                conn.execute("DELETE FROM feat")
                Cache.set_meta(conn, "feat_version", version)
            conn.executemany(
                "INSERT OR REPLACE INTO feat(paper, cols, counts) "
                "SELECT rowid, ?, ? FROM paper WHERE id=?",
                [(cols, counts, pid) for pid, (cols, counts) in made.items()],
            )

    def seeded(
        self,
        authors: Iterable[str],
        arxiv: Iterable[str],
        match: Callable[[dict[str, Any]], bool],
    ) -> list[str]:
        """The papers by one of ``authors`` or with one of the ``arxiv`` ids (the config's
        "for you" seeds), found through the index and confirmed by ``match`` on the record."""
        conn = self._conn()
        found: list[str] = []
        for aid in arxiv:
            found += [pid for pid, _ in Cache.filed_under(conn, "arxiv:" + aid)]
        for name in authors:
            words = [w for w in match_tokens(name) if w]
            if not words:
                continue
            phrase = "authors : (" + " + ".join(f'"{w}"' for w in words) + ")"
            found += [
                r[0]
                for r in conn.execute(
                    "SELECT p.id FROM text t JOIN paper p ON p.rowid = t.rowid WHERE text MATCH ?",
                    (phrase,),
                )
            ]
        found = list(dict.fromkeys(found))
        docs = self.documents(found)
        return [pid for pid in found if pid in docs and match(docs[pid])]

    def triage_fingerprint(self) -> str:
        """A string that changes whenever a paper's state or the number of papers does: the
        stored scores (`score_info`) are stale when theirs differs."""
        conn = self._conn()
        row = conn.execute("SELECT key FROM history ORDER BY ord DESC LIMIT 1").fetchone()
        states = conn.execute("SELECT count(*) FROM state").fetchone()[0]
        return f"{row[0] if row else ''}/{states}/{len(self)}"

    def store_scores(
        self, scores: dict[str, float], why: dict[str, str], reason: str, fingerprint: str
    ) -> None:
        """Replace the "for you" scores (paper id → score, larger first; the `foryou` sort
        reads them) and their explanations (paper id → one line) in one transaction, with
        the reason line and the fingerprint (`triage_fingerprint`) they were made from.
        Ids not in the library are left out. The cache only: scores are made again from
        the truth (tui/relevance.py) when the cache is rebuilt."""
        with self.cache.transaction() as conn:  # (not the mutex: no key waits for it)
            Cache.ensure_score(conn)
            conn.execute("DELETE FROM score")
            rowid = dict(
                conn.execute(
                    "SELECT id, rowid FROM paper WHERE id IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(list(scores)).decode(),),
                )
            )
            conn.executemany(
                "INSERT OR REPLACE INTO score(paper, value, why) VALUES(?, ?, ?)",
                [(rowid[pid], v, why.get(pid)) for pid, v in scores.items() if pid in rowid],
            )
            Cache.set_meta(
                conn, "foryou", {"reason": reason, "fingerprint": fingerprint, "at": now_iso()}
            )

    def _scored(self) -> bool:
        """Whether the cache has the ``score`` table (a writable one always has)."""
        if not self.read_only:
            return True
        row = self._conn().execute("SELECT 1 FROM sqlite_master WHERE name='score'").fetchone()
        return row is not None

    def score_info(self) -> dict[str, Any]:
        """What the stored scores were made from: {"reason": line, "fingerprint": …, "at":
        ISO time}; {} when none were stored."""
        return Cache.get_meta(self._conn(), "foryou", {}) or {}

    def score_of(self, pid: str) -> tuple[float, str] | None:
        """A paper's "for you" score and its explanation ("" when none was stored); None
        when it has no score (read, or no model)."""
        try:
            row = (
                self._conn()
                .execute(
                    "SELECT s.value, s.why FROM score s JOIN paper p ON p.rowid = s.paper "
                    "WHERE p.id=?",
                    (pid,),
                )
                .fetchone()
            )
        except sqlite3.OperationalError:  # (a read-only cache made before the table)
            return None
        return (row[0], row[1] or "") if row else None

    # ------------------------------------------------------------------ queries
    def query(
        self,
        query: str | Query = "",
        sort: str = "feed_date",
        reverse: bool = True,
        keep: Collection[str] = (),
    ) -> Results:
        """The ids of the papers matching ``query`` (a lazy, windowed `Results`), sorted
        (newest first by default; ``relevance``: best bm25 match first when the query has
        words), with the papers of ids ``keep`` in their place whether they match or not
        (ids not in the library are left out). QueryError when the query or the sort cannot
        be understood."""
        q = parse_query(query) if isinstance(query, str) else query
        if sort == "foryou" and not self._scored():
            sort = "feed_date"  # (a read-only cache made before the scores were kept)
        watch = None
        if any(t.key == "watch" or (t.key, t.value) == ("is", "watched") for t in q.terms):
            watch = self.watch_tags()
        compiled = compile_query(q, sort, reverse, watch)
        if keep:  # (a paper a sync united with another since is kept under its new id)
            renamed = self.renamed(keep)
            keep = list(dict.fromkeys(renamed.get(pid, pid) for pid in keep))
        return Results(self._conn, compiled, count=self._count(q), keep=keep)

    def renamed(self, ids: Iterable[str]) -> dict[str, str]:
        """The id each of ``ids`` is held under now, for those that are no longer a paper's
        own id: a sync united that paper with another, kept under the other's id (aliases.py;
        a list or a cursor holding the old id finds the paper under it). One query."""
        return aliases.targets(self._conn(), ids)

    def watched_since(self, day: date) -> int:
        """How many papers holding a watch rule's tag (`watched_tags`) were added to the
        library on ``day`` (local time) or later."""
        if not self.watched_tags():
            return 0
        n = 0
        for pid in self.query("is:watched", sort="added"):  # (the newest first)
            added = self.raw(pid).get("added_at") or ""
            try:
                when = datetime.fromisoformat(added).astimezone().date()
            except ValueError:
                continue
            if when < day - timedelta(days=1):  # (older still: a day of clock offsets kept)
                break
            n += when >= day
        return n

    def watched_tags(self) -> frozenset[str]:
        """The watch rules' tags, casefolded (`watch_tags`); none when the config's rules
        cannot be used (the list shows no watch marks then; a search says why)."""
        if self._watched is None:
            try:
                self._watched = frozenset(self.watch_tags().values())
            except QueryError:
                self._watched = frozenset()
        return self._watched

    def watch_tags(self) -> dict[str, str]:
        """The tags of the config file's watch rules by rule name, both casefolded
        (`tui.watch.config_rules`): what ``watch:NAME`` and ``is:watched`` find. Set the
        attribute ``watch`` (a dict) to use other rules (a bad rule is left out). QueryError
        when none of the config's rules can be used (the first one-line problem)."""
        if self.watch is None:
            from ..watch import config_rules

            rules, problems = config_rules()
            if problems and not rules:
                raise QueryError(problems[0])
            self.watch = {r.name.casefold(): r.tag.casefold() for r in rules}
            colors: dict[str, str] = {}
            for rule in rules:  # (the first rule with a colour wins: config order)
                if rule.color:
                    colors.setdefault(rule.tag.casefold(), rule.color)
            self._colors = colors
        return self.watch

    def watch_colors(self) -> dict[str, str]:
        """The watch rules' colours: {tag casefolded: colour name (`tui.watch.COLORS`)}, in
        the config's order, for the rules that have one (a tag two rules give: the first's
        colour); empty when the rules cannot be used or were set through ``watch``."""
        if self._colors is None:
            with contextlib.suppress(QueryError):
                self.watch_tags()
            if self._colors is None:
                self._colors = {}
        return self._colors

    def _count(self, q: Query) -> int | None:
        """How many papers ``q`` finds when the running totals say (all papers, read,
        unread, starred, unstarred: the views), else None (the query counts them)."""
        if len(q.terms) > 1 or (q.terms and (q.terms[0].key != "is" or q.terms[0].negated)):
            return None
        flag = q.terms[0].value if q.terms else ""
        if flag not in ("", "read", "unread", "starred", "unstarred"):
            return None
        tally = self._tally()
        total = tally.get("papers")
        if total is None:
            return None
        if flag in ("read", "starred"):
            return tally[flag]
        return total - tally[flag[2:]] if flag else total

    def sort(self, ids: list[str], sort: str = "feed_date", reverse: bool = True) -> list[str]:
        """``ids`` in a sort order."""
        wanted = set(ids)
        return [pid for pid in self.query("", sort, reverse) if pid in wanted]

    def warm(self) -> None:
        """Read the database's pages a first query needs (the app does it in a worker)."""
        conn = self._conn()
        with contextlib.suppress(sqlite3.Error):
            conn.execute("SELECT count(*) FROM paper WHERE read=0").fetchone()
            # (a word found nowhere: reads the index's upper pages, not a long posting list)
            conn.execute("SELECT count(*) FROM text WHERE text MATCH 'qqqqzz'").fetchone()

    # ------------------------------------------------------------------ importing
    def import_feeds(self, feeds: Iterable[tuple[ParseResult, Source]]) -> list[ImportReport]:
        """Merge parsed feeds into the library in one atomic write; a report per feed.
        LibraryError (nothing stored) when it cannot be written."""
        feeds = list(feeds)
        self._imports = []
        return self._import_once(feeds)

    def _import_once(self, feeds: list[tuple[ParseResult, Source]]) -> list[ImportReport]:
        before = len(self._imports)
        try:
            with self._write() as conn:
                return self._import(conn, feeds)
        except Exception:  # (failed, nothing kept: `kept_imports` never counts it, even
            del self._imports[before:]  # when the next write's segment takes its name)
            raise

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
        self._imports = []
        with self._lock.held():
            try:
                return self._import_once(feeds), []
            except Exception as err:
                if len(feeds) == 1:
                    return [], [(feeds[0][1], err)]
            reports: list[ImportReport] = []
            failed: list[tuple[Source, Exception]] = []
            for feed in feeds:
                try:
                    reports += self._import_once([feed])
                except Exception as err:
                    failed.append((feed[1], err))
            return reports, failed

    def kept_imports(self) -> list[ImportReport]:
        """The reports of the feeds the last `import_feeds` or `import_each` stored, as the
        cache holds them now: what an import cut short by a Ctrl-C (a KeyboardInterrupt
        raised at any moment of it) kept. A write is kept when its segment is in the cache
        (its COMMIT went through; `_write` keeps it then, whatever came after); one that
        changed nothing counts as kept (its reports say so). [] when nothing was stored.
        A write interrupted before its rollback ran is rolled back here, its segment file
        deleted, so that it is not kept later either. Raises LibraryError when the cache
        cannot be read."""
        conn = self._conn()
        try:
            if conn.in_transaction:  # (interrupted in `_write` before its ROLLBACK)
                Beside.stop_on(conn)
                conn.execute("ROLLBACK")
                self._forget()
            kept: list[ImportReport] = []
            for reports, name in self._imports:
                if (
                    name is not None
                    and not conn.execute(
                        "SELECT 1 FROM applied WHERE kind = 's' AND name = ?", (name.stem,)
                    ).fetchone()
                ):
                    with contextlib.suppress(OSError):  # (never taken in by a later open)
                        (self._papers / name.file).unlink()
                    continue
                kept += reports
        except sqlite3.Error as err:
            raise _cache_error(self.root, err) from None
        return kept

    def _import(
        self, conn: sqlite3.Connection, feeds: list[tuple[ParseResult, Source]]
    ) -> list[ImportReport]:
        with _gc_paused():
            return self._import_feeds(conn, feeds)

    def _import_feeds(
        self, conn: sqlite3.Connection, feeds: list[tuple[ParseResult, Source]]
    ) -> list[ImportReport]:
        reports = []
        # Every record this import writes (new or merged), and what it is filed under that
        # the database does not know yet: the database is written once, at the end.
        batch = _Batch(conn)
        crowds: dict[str, Crowd] = {}
        stamp = now_iso()
        name = truth.Name(self.device, truth.next_seq(self.root, self.device))
        prepared = []
        # Which of the keys the database files papers under, and which of the ids new papers
        # would take are in use: asked a few thousand papers at a time, on a thread of its
        # own for a big import, while the next feeds' keys are worked out (`_Finder`).
        big = cache.bulk(sum(len(result.papers) for result, _ in feeds))
        self._big = big  # (its commit's checkpoint after it, on a thread: `_write`)
        # (a library made since the identity rules files no paper under an abstract's
        # opening: a third of a paper's lookup keys, not asked about then)
        finder = _Finder(conn, big, Cache.files_under_prefix(conn, OLD_ABSTRACT))
        try:
            finder.start()
            for result, source in feeds:
                report = ImportReport(
                    origin=source.origin,
                    format=result.format,
                    found=len(result.papers),
                    skipped=list(result.skipped),
                    partial=getattr(result, "partial", ""),
                )
                src = source.to_dict()
                src["feed_date"] = src.get("feed_date") or result.feed_date
                items = []
                asked = 0  # (a big feed is asked about a chunk at a time too)
                for paper in result.papers:
                    incoming = paper.to_dict()
                    incoming["feed_date"] = incoming.get("feed_date") or src["feed_date"]
                    day = incoming["feed_date"] if getattr(result, "by_day", False) else None
                    incoming["sources"] = [_dated_source(src, day)]
                    note_version(incoming)
                    keys, lookup = lookup_keys(incoming)  # lookup: finds papers filed before
                    items.append((incoming, keys, lookup, id_digest(incoming, lookup)))
                    if len(items) - asked >= _Finder.CHUNK:
                        finder.add(items[asked:])
                        asked = len(items)
                prepared.append((report, items))
                finder.add(items[asked:])
            batch.stored, batch.free = finder.result()
        except BaseException:
            finder.stop()
            raise
        for report, items in prepared:
            for incoming, keys, lookup, digest in items:
                pid = self._match(conn, incoming, lookup, crowds, batch)
                if pid is None:
                    pid = new_id(incoming, lookup, batch, digest)
                    incoming.update(id=pid, keys=keys, added_at=stamp)
                    batch.put(pid, incoming, new=True)
                    _file_in_crowds(crowds, pid, incoming)
                    report.new += 1
                    report.new_ids.append(pid)
                    continue
                # (read once: `_match` kept what it read; a record merging changes, in
                # place, is in `touched` from then on, which comes first)
                record = batch.touched.get(pid) or batch.read.get(pid)
                if record is None:
                    record = self._record(conn, pid, batch)
                record["sources"] = list(record.get("sources", []))
                texts = record.get("title"), record.get("abstract")
                if merge_into(record, incoming):
                    # Filed under its old keys, the incoming copy's and its merged text's.
                    merged_keys = record.get("keys", []) + keys
                    if texts != (record.get("title"), record.get("abstract")):
                        merged_keys += paper_keys(record)
                    record["keys"] = list(dict.fromkeys(merged_keys))
                    batch.put(pid, record, new=False)
                    _file_in_crowds(crowds, pid, record)
                    report.merged += 1
                    report.merged_ids.append(pid)
                else:
                    report.unchanged += 1
            reports.append(report)
        self._imports.append((reports, name if batch.touched else None))
        if batch.touched:
            # The new papers' rows go in on a thread of their own (`Adding`) while the
            # segment file is made here, then written and synced by another (`_Writer`),
            # both done before the cache commits; the file takes its name only once the
            # rows are in (a big import: 0.3-0.5 s less of its wall time at 20,000 papers).
            new = [batch.touched[pid] for pid in batch.new]
            path = self._papers / name.file
            # (one handler from the moment the index's thread may start: one left running,
            # by an error or a Ctrl-C between two statements here, went on on the
            # connection after the rollback, each statement committing on its own)
            adding: Adding | None = None
            writer: _Writer | None = None
            try:
                adding = Adding(conn, new, name.stem)
                raw, segment = truth.segment_file(name, stamp, batch.touched.values())
                writer = _Writer(path, raw)
                adding.finish(segment.spans)
                Cache.add_feeds(conn, name.stem, segment.feeds)
                for pid, record in batch.touched.items():
                    if pid not in batch.new:
                        span = segment.spans.get(pid)
                        Cache.put_paper(
                            conn, self._papers, record, name.stem, span, feeds=batch.feeds
                        )
            except BaseException:
                if adding is not None:
                    adding.stop()
                if writer is not None:
                    writer.wait()  # (then gone: no segment the cache does not hold remains)
                for gone in (path, _aside(path)):
                    with contextlib.suppress(OSError):
                        gone.unlink()
                raise
            written = writer.wait()  # (the file is whole or gone before anything goes on)
            try:
                self.bytes_written += written()
                self._wrote.append(path)
                self._uncommitted = path  # until the cache commits it (see `_write`)
            except BaseException:
                with contextlib.suppress(OSError):
                    path.unlink()  # (atomic_write leaves nothing; a signal might)
                raise
            conn.execute("INSERT INTO applied(kind, name) VALUES('s', ?)", (name.stem,))
        return reports

    def _record(
        self, conn: sqlite3.Connection, pid: str, batch: _Batch | None = None
    ) -> dict[str, Any]:
        found = Cache.read_record(
            conn, self._papers, pid, feeds=batch.feeds if batch is not None else None
        )
        assert found is not None
        return found

    def _match(
        self,
        conn: sqlite3.Connection,
        incoming: dict[str, Any],
        keys: list[str],
        crowds: dict[str, Crowd],
        batch: _Batch,
        skip: Container[str] = (),
    ) -> str | None:
        """The stored paper ``incoming`` is (identity.py's rules), or None: only the papers
        filed under one of its lookup keys are looked at, never the whole library; never
        one of ``skip``."""
        tried: set[str] = set()
        title_only = not incoming.get("abstract")
        # Papers the title alone matched (an abstract missing on one side): this paper only
        # when there is one. (Two arXiv papers of a title without their abstracts, as a
        # /recent listing gives them, and a copy of one of them with its abstract: which?)
        by_title: list[str] = []
        heads = batch.read

        def record(pid: str) -> dict[str, Any]:
            found = batch.touched.get(pid) or heads.get(pid)
            if found is None:
                found = heads[pid] = self._record(conn, pid, batch)
            return found

        stored = batch.stored
        for key in keys:
            if stored is not None and key not in stored and key not in batch.keys:
                if key not in crowds:
                    continue  # filed under nothing yet (most keys of a new paper)
            # A shared arXiv id, whole abstract or whole entry decides unless the ids differ;
            # a title or an old abstract-opening key only proposes: the whole records decide.
            decisive = key.startswith(("arxiv:", "text:", "entry:"))
            for pid in _filed_under(batch, key, incoming, crowds, record):
                if pid in tried or pid in skip:
                    continue
                tried.add(pid)
                if decisive:
                    found = record(pid)
                    if compatible(found, incoming) and not (
                        key.startswith("text:") and other_paper(found, incoming)
                    ):
                        return pid
                    continue
                found = record(pid)  # (not `stored`: the keys asked about, above)
                if not same_paper(found, incoming):
                    continue
                if title_only != (not found.get("abstract")):
                    by_title.append(pid)  # (go on: an earlier title-only copy may follow)
                    continue
                return pid  # (the abstracts decided; or a title-only copy seen again)
        # A copy with only a title is the paper of that title when there is one; when
        # several different papers share it, none of them (it stays a paper of its own).
        return by_title[0] if len(by_title) == 1 else None

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
        when the write happens (so a tag another process added meanwhile stays). A long
        ``note`` is stored as the edit from the previous note (`notes.note_edit`);
        ``note_base`` is the note it was written from: when another process has changed the
        note since, both are kept (`notes.merge_note`). ``wait``: seconds to wait for another
        process's write (default: the library's lock timeout). LibraryError when nothing
        was stored. Tags and notes are stored as valid Unicode (`valid_unicode`).
        """
        add_tags = [valid_unicode(t) for t in add_tags]
        remove_tags = [valid_unicode(t) for t in remove_tags]
        tags = None if tags is None else [valid_unicode(t) for t in tags]
        note = None if note is None else valid_unicode(note)
        ids = list(ids)
        kept = aliases.targets(self._conn(), ids)  # (an id a sync united with another)
        ids = list(dict.fromkeys(kept.get(pid, pid) for pid in ids))
        for pid in ids:
            if pid not in self:
                raise LibraryError(f"{pid}: no such paper in {self.root}")
        with self._write(wait) as conn:
            entries = state.entries_for(
                conn,
                ids,
                read=read,
                starred=starred,
                tags=tags,
                add_tags=add_tags,
                remove_tags=remove_tags,
                note=note,
                note_base=note_base,
            )
            if entries:
                self._commit(conn, label, entries, None)
            return len(entries)

    def add_tags_each(self, tags: Mapping[str, Iterable[str]], label: str) -> int:
        """Add to each paper its own tags (``{paper id: tags}``), all as one undoable step
        labelled ``label``; returns how many papers changed (those with the tags already are
        left out). LibraryError when a paper is unknown or nothing could be stored."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for pid, add in tags.items():
            key = tuple(valid_unicode(t) for t in add)
            if key:
                groups.setdefault(key, []).append(pid)
        if not groups:
            return 0
        conn0 = self._conn()
        for key, ids in list(groups.items()):
            kept = aliases.targets(conn0, ids)
            groups[key] = list(dict.fromkeys(kept.get(pid, pid) for pid in ids))
            for pid in groups[key]:
                if pid not in self:
                    raise LibraryError(f"{pid}: no such paper in {self.root}")
        with self._write(None) as conn:
            entries: list[dict[str, Any]] = []
            for key, ids in groups.items():
                entries += state.entries_for(
                    conn,
                    ids,
                    read=None,
                    starred=None,
                    tags=None,
                    add_tags=list(key),
                    remove_tags=[],
                    note=None,
                    note_base=None,
                )
            if entries:
                self._commit(conn, label, entries, None)
            return len(entries)

    def undo(self) -> str | None:
        """Undo this device's most recent change not yet undone (`undo_change`); its label,
        or None if nothing is left."""
        done = self.undo_change()
        return done.label if done else None

    def undo_change(self, *, own_first: bool = False, wait: float | None = None) -> Undone | None:
        """Undo one change as one new undoable step; what was undone, None if nothing is left.

        The change undone is the most recent one made on this device (`device`: never another
        machine's, synced in) not yet undone, or, with ``own_first``, the most recent made
        through this handle (`session`) when there is one. Each field goes back to what it
        was before the change, unless a later change, of any device, has changed it again
        (those papers are `Undone.kept`); see state.undo_entries. Every copy works the undo
        out again at its place among all devices' changes (state.apply_change)."""
        return self._take_back(state.undo_target, own_first, wait, redo=False)

    def redo_change(self, *, own_first: bool = False, wait: float | None = None) -> Undone | None:
        """Take back the last undo (`state.redo_target`) as one new undoable step: the fields
        it had put back get what the undone change gave them (a note its text); what was
        redone, None when nothing can be (no undo, or a change made since it). Per device
        and per handle (``own_first``) as `undo_change`."""
        return self._take_back(state.redo_target, own_first, wait, redo=True)

    def _take_back(
        self, find: Callable[..., Change | None], own_first: bool, wait: float | None, redo: bool
    ) -> Undone | None:
        """Undo the change ``find`` names (`state.undo_target`, or `state.redo_target`: an
        undo, taken back) as one new step; what was taken back, None when there is none."""
        with self._write(wait) as conn:
            target = find(conn, self.session if own_first else None, self.device)
            if target is None:
                return None
            entries, ids, kept = state.undo_entries(conn, target)
            self._commit(conn, target.label, entries, target.key)
            added, removed = state.tag_changes(target.entries)
            if redo:  # (an undo's tags, turned round: what the redo brings back)
                added, removed = removed, added
            nothing = redo and not target.entries  # (an undo that had changed nothing)
            if nothing:  # (its papers: those of the change it undid, all left as they are)
                ids = state.undone_papers(conn, target)
                kept = []
            return Undone(
                undo_changed_nothing=nothing,
                label=target.label,
                tags_added=added,
                tags_removed=removed,
                ids=ids,
                kept=kept,
                ts=target.ts,
                by=target.by,
                own=target.session == self.session,
            )

    def undo_label(self, *, own_first: bool = False) -> str | None:
        """What `undo_change` would undo next (its label)."""
        session = self.session if own_first else None
        target = state.undo_target(self._conn(), session, self.device)
        return target.label if target else None

    def history(self) -> list[Change]:
        """The recent changes, oldest first."""
        return state.history(self._conn())

    def note_conflicts(self, since: Iterable[NoteConflict] = ()) -> list[NoteConflict]:
        """The notes where two devices' edits met and both texts were kept around a conflict
        mark (`notes.conflict_mark`; README, "Several machines"), oldest first, one per
        change that met one; a note whose marks the user has removed is no longer listed.
        ``since``: a list this returned earlier, left out: what a sync brought in is
        ``note_conflicts(since=before)`` with ``before`` taken before it."""
        seen = set(since)
        found = []
        for r in state.note_conflicts(self._conn()):
            conflict = NoteConflict(
                r["id"], r["key"], r["device"], r["ts"], r["other"], r["other_key"], r["other_ts"]
            )
            if conflict not in seen:
                found.append(conflict)
        return found

    def _commit(
        self,
        conn: sqlite3.Connection,
        label: str,
        entries: list[dict[str, Any]],
        undo_of: str | None,
    ) -> None:
        """Write one change to the journal, then mirror it (inside `_write`'s transaction)."""
        seq = state.next_change_seq(self.root, conn, self.device)
        ts = now_iso()
        change = Change(
            key=truth.Name(self.device, seq).stem,
            label=label,
            ts=ts,
            clock=state.next_clock(conn),
            undo_of=undo_of,
            entries=entries,
            by=self.agent,
            session=self.session,
        )
        path = self.root / truth.CHANGES / (change.key + ".json")
        self.bytes_written += truth.write_tables(path, truth.change_tables(change))
        self._wrote.append(path)
        # The change is saved: mirroring it and folding the journal must not report it as
        # failed (the user would make it twice); a failure leaves the cache behind, and the
        # next open or refresh applies the file.
        self._saved = True
        state.apply_change(conn, change)

    @contextlib.contextmanager
    def holding(self, wait: float | None = None) -> Iterator[None]:
        """Be the library's only writer (this thread, this process) while inside: the locks a
        write takes, in its order; writes inside may take them again. For a read-modify-write
        of a file kept beside the library (`tui.watch.apply`). LibraryError when the lock is
        held elsewhere for ``wait`` s (default: the library's timeout)."""
        with self._mutex, self._lock.held(wait):
            yield

    @contextlib.contextmanager
    def _write(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """The write lock, the cache brought up to date, and one cache transaction. When the
        truth file was written (``_saved``) a failing mirror is not an error."""
        if self.read_only:
            raise LibraryError(f"{self.root}: the library is read-only here; nothing was changed")
        with self._mutex, self._lock.held(wait):
            if not self._swept:  # (a crashed writer's temp files: once per handle)
                self._remove_stale_temp_files()
                self._swept = True
            try:
                if self._watch() != self._seen or self._arrived_unseen():  # another wrote
                    self.arrivals += 1  # (it may have brought its changes into the cache)
                    self._catch_up()
            except _Stale:
                self._build_again()
            except sqlite3.Error as err:
                raise _cache_error(self.root, err) from None
            self._saved = False
            self._uncommitted: Path | None = None
            self._big = False  # (set by a big import: `Cache.big_commit`)
            conn = self._conn()
            patience = self._lock.timeout if wait is None else wait
            conn.execute(f"PRAGMA busy_timeout={int(max(patience, 0.05) * 1000)}")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise LibraryError(f"{self.root}: the library's cache is busy ({err})") from None
            committing = False
            try:
                yield conn
                committing = True
                if self._big:
                    with self.cache.big_commit(conn):
                        conn.execute("COMMIT")
                else:
                    conn.execute("COMMIT")
                    with contextlib.suppress(sqlite3.Error):  # (a merge's free pages)
                        self.cache.tidy(conn)
            except BaseException as err:
                if committing and not conn.in_transaction and not isinstance(err, sqlite3.Error):
                    # The COMMIT went through and what was raised came after it (a Ctrl-C at
                    # its very end): the change is kept, its segment too (deleting it made
                    # the next open rebuild the whole cache, minutes at 1M, and lose it).
                    raise
                Beside.stop_on(conn)  # (a thread lent the connection: ended first)
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    with contextlib.suppress(sqlite3.Error):  # give back the WAL's space
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                if self._uncommitted is not None:
                    # An import whose cache transaction failed: its segment goes too, so
                    # "not stored" is true and the next open does not take it in.
                    with contextlib.suppress(OSError):
                        self._uncommitted.unlink()
                    fsync_dir(self._uncommitted.parent)
                if not self._saved or not isinstance(err, (sqlite3.Error, OSError)):
                    self._forget()
                    if isinstance(err, sqlite3.Error):
                        raise _cache_error(self.root, err) from None
                    raise
            finally:
                self._forget()
                self._know_own_files()
            if not self.fold_in_background:
                self.fold()
        if self.fold_in_background and not self._folding.is_set():
            self._folding.set()
            threading.Thread(target=self._fold_later, name="papertui-fold", daemon=True).start()

    def fold(self) -> bool:
        """Fold the journal into a checkpoint when enough changes have accumulated (see
        state.maybe_checkpoint); never raises: it is housekeeping, retried by later writes."""
        try:
            return state.maybe_checkpoint(self.root, self.cache, self.device, self._lock)
        except (LibraryError, OSError, sqlite3.Error):
            return False

    def _fold_later(self) -> None:
        try:
            self.fold()
        finally:
            self._folding.clear()

    def _remove_stale_temp_files(self) -> None:
        for sub in ("", *truth.KINDS, "sessions"):
            directory = self.root / sub
            with contextlib.suppress(OSError):
                for entry in os.scandir(directory):
                    if entry.name.startswith(TMP_PREFIX):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)


def _out_of_room(err: BaseException) -> bool:
    """Whether a cache error is the disk's (full, a file size limit, an I/O error), not
    damage to the cache: what it held is still good, and deleting it to build it again on
    a full disk left nothing to read (an adversary's round)."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def _cache_error(root: Path, err: sqlite3.Error) -> LibraryError:
    """A failed cache write as one line for people."""
    if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return LibraryError(f"{root}: could not save (the disk is full); nothing was written")
    return LibraryError(f"{root}: cannot write the cache ({err})")


def _unreadable_head(
    conn: sqlite3.Connection, pid: str, err: LibraryError
) -> dict[str, Any] | None:
    """A list row's head for a paper whose record cannot be read: its id, dates and the
    reason in place of its title (the paper stays in view; `doctor` rebuilds the cache)."""
    row = conn.execute(
        "SELECT arxiv_id, feed_date, paper_date, added_at FROM paper WHERE id=?", (pid,)
    ).fetchone()
    if row is None:
        return None
    values = dict(zip(("arxiv_id", "feed_date", "paper_date", "added_at"), row, strict=True))
    return {"id": pid, **{k: v for k, v in values.items() if v}, "title": f"(unreadable: {err})"}


def _applied(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """The segments (``s``) and checkpoints (``p``) the cache holds (changes: see
    `state.was_applied`)."""
    found: dict[str, set[str]] = {"s": set(), "p": set()}
    for kind, name in conn.execute("SELECT kind, name FROM applied"):
        found.setdefault(kind, set()).add(name)
    return found


class _Finder:
    """Which lookup keys of an import's papers the database files papers under, and which of
    the ids its new papers would take are in use (their `identity.id_choices`; an alias a
    sync left takes its id too), each asked in one query for a few thousand papers
    (`Cache.known`). ``beside``: on a thread of its own (`Beside`), while the caller works
    out the next papers' keys; nothing else may use the connection until `result` or
    `stop` returns."""

    CHUNK = 2000  # papers asked about at a time

    def __init__(self, conn: sqlite3.Connection, beside: bool, old_abstracts: bool) -> None:
        """``old_abstracts``: ask about the keys of abstracts' openings too (`OLD_ABSTRACT`:
        some paper is filed under one); those not asked about are taken as filed under
        nothing."""
        self._conn = conn
        self._old_abstracts = old_abstracts
        self._keys: list[str] = []  # (of the papers not asked about yet)
        self._choices: list[str] = []  # (same)
        self._wanted: list[str] = []  # (of every paper)
        self._papers = 0
        self._chunks: queue.SimpleQueue[tuple[list[str], list[str]] | None] | None = None
        self._beside: Beside | None = None
        if beside:
            self._chunks = queue.SimpleQueue()
            self._beside = Beside(conn, self._ask)

    def start(self) -> None:
        if self._beside is not None:
            self._beside.start()

    def _ask(self, conn: sqlite3.Connection) -> tuple[set[str], set[str]]:
        stored: set[str] = set()
        taken: set[str] = set()
        choices: list[str] = []
        assert self._chunks is not None
        while (chunk := self._chunks.get()) is not None:
            keys, ids = Cache.known(conn, *chunk)
            stored |= keys
            taken |= ids
            choices += chunk[1]
        taken.update(aliases.targets(conn, choices))  # (a united paper's other id is taken)
        return stored, taken

    def add(self, items: list[tuple[dict[str, Any], list[str], list[str], str]]) -> None:
        """Ask about these papers' keys and ids (`_import_feeds`'s items) too."""
        choices = []
        for incoming, _, lookup, digest in items:
            if self._old_abstracts:
                self._keys += lookup
            else:
                self._keys += [k for k in lookup if not k.startswith(OLD_ABSTRACT)]
            choices += id_choices(incoming, digest)
        self._choices += choices
        self._wanted += choices
        self._papers += len(items)
        if self._chunks is not None and self._papers >= self.CHUNK:
            self._chunks.put((self._keys, self._choices))
            self._keys, self._choices, self._papers = [], [], 0

    def result(self) -> tuple[set[str], set[str]]:
        """(the keys papers are filed under, the ids of those asked about that are free)."""
        if self._chunks is None:  # (all of them still to ask, here)
            stored, taken = Cache.known(self._conn, self._keys, self._choices)
            taken.update(aliases.targets(self._conn, self._choices))
        else:
            self._chunks.put((self._keys, self._choices))
            self._chunks.put(None)
            assert self._beside is not None
            stored, taken = self._beside.wait()
        return stored, set(self._wanted) - taken

    def stop(self) -> None:
        """Abandon the questions (the caller is failing)."""
        if self._chunks is not None and self._beside is not None:
            self._chunks.put(None)
            self._beside.stop()


class _Batch:
    """What one import has stored so far, before it is written to the database: the
    records (by id), which of them are new papers, and the identity keys they are filed
    under that the database does not hold yet. ``pid in batch``: the id is taken (in the
    database or in the batch), for `identity.new_id`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.touched: dict[str, dict[str, Any]] = {}
        self.new: dict[str, None] = {}
        self.keys: dict[str, dict[str, None]] = {}
        self.stored: set[str] | None = None  # the keys the database holds (None: unknown)
        self.free: set[str] = set()  # ids known not to be in the database
        # Stored records read (as the database holds them: not in ``touched``), and the
        # feeds of their segments (`Cache.read_record`): each is read once per import.
        self.read: dict[str, dict[str, Any]] = {}
        self.feeds: dict[str, dict[str, dict[str, Any]]] = {}

    def put(self, pid: str, record: dict[str, Any], *, new: bool) -> None:
        self.touched[pid] = record
        if new:
            self.new[pid] = None
        for key in record.get("keys", ()):
            self.keys.setdefault(key, {})[pid] = None

    def filed_under(self, key: str) -> list[tuple[str, bool]]:
        """(id, has an arXiv id) of the papers filed under ``key``: stored ones first."""
        stored = self.stored is None or key in self.stored
        filed = Cache.filed_under(self.conn, key) if stored else []
        more = self.keys.get(key)
        if more:
            known = {pid for pid, _ in filed}
            filed += [
                (pid, bool(self.touched[pid].get("arxiv_id"))) for pid in more if pid not in known
            ]
        return filed

    def __contains__(self, pid: object) -> bool:
        if pid in self.touched:
            return True
        if pid in self.free:
            return False
        if self.conn.execute("SELECT 1 FROM paper WHERE id=?", (pid,)).fetchone() is not None:
            return True
        return bool(aliases.targets(self.conn, (pid,)))  # (a united paper's other id)


def _dated_source(src: dict[str, Any], day: str | None) -> dict[str, Any]:
    """The feed ``src`` as one paper of it was seen: on the paper's own ``day`` when the
    page dates its papers by day (`ParseResult.by_day`: an arXiv ``/recent`` page holds
    several days' sections), so `feed:` and the stats find each paper on its day. Each day
    is a feed of its own (its digest names the day): one feed record holds one date."""
    if not day or day == src.get("feed_date"):
        return dict(src)
    return dict(src, feed_date=day, digest=f"{src.get('digest', '')}@{day}")


def _aside(path: Path) -> Path:
    """Where `_Writer` writes the file ``path`` before it takes its name: a temp file's
    name, which no reader lists and a crashed import's next write sweeps."""
    return path.with_name(TMP_PREFIX + path.name)


class _Writer:
    """``atomic_write`` of ``data`` in a thread of its own, started at once, under a temp
    name beside ``path`` (`_aside`); `wait`'s function puts it at ``path``. Until then no
    other process sees a segment the cache does not hold: one that did (the app's auto
    refresh) took it for an arrival and waited for the import's transaction, up to the
    cache's 30 s busy timeout, the app frozen meanwhile."""

    def __init__(self, path: Path, data: bytes) -> None:
        self._path, self._data = path, data
        self._written = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="papertui-segment", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._written = atomic_write(_aside(self._path), self._data)
        except BaseException as err:  # (given to the importing thread by `wait`)
            self._error = err

    def wait(self) -> Callable[[], int]:
        """Wait until the file is written aside or the write failed, whatever interrupts the
        wait (a signal's exception is raised once the writer is done, so no file appears
        after the import gave up); then a function that puts the file at ``path`` and gives
        the bytes written, or raises the writer's error or LibraryError (the rename failed:
        nothing is left)."""
        interrupted = join_through(self._thread)
        if interrupted is not None:
            with contextlib.suppress(OSError):
                _aside(self._path).unlink()
            raise interrupted

        def written() -> int:
            if self._error is not None:
                raise self._error
            aside = _aside(self._path)
            try:
                os.replace(aside, self._path)
            except OSError as err:
                with contextlib.suppress(OSError):
                    aside.unlink()
                reason = err.strerror or str(err)
                raise LibraryError(
                    f"{self._path}: could not save ({reason}); nothing was written"
                ) from None
            fsync_dir(self._path.parent)
            return self._written

        return written


_gc_lock = threading.Lock()
_gc_pauses = 0  # bulk steps under way (in any thread) with the collector paused
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a bulk step, and restored when the last such
    step (of any thread) ends, even on an error. An import makes a dozen objects per paper,
    none of them in a cycle (freed by reference counting alone), and the collector's passes
    over the growing heap cost up to a third of its time."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _filed_under(
    batch: _Batch,
    key: str,
    incoming: dict[str, Any],
    crowds: dict[str, Crowd],
    record: Any,
) -> Iterable[str]:
    """The papers filed under ``key`` that could be ``incoming``. When it has an arXiv id,
    under another key only those without one. For a title many papers share, only those
    whose abstracts fit (identity.Crowd), so a key thousands of papers share costs no scan
    of them all."""
    crowd = crowds.get(key)
    if crowd is not None:
        return crowd.candidates(incoming)
    filed = batch.filed_under(key)
    if not filed:
        return ()
    everyone = filed
    if incoming.get("arxiv_id") and not key.startswith("arxiv:"):
        filed = [(pid, has) for pid, has in filed if not has]
    if len(filed) <= CROWD or not key.startswith("title:"):
        return [pid for pid, _ in filed]
    crowd = crowds[key] = Crowd()
    for pid, _ in everyone:
        crowd.add(pid, record(pid))
    return crowd.candidates(incoming)


def _file_in_crowds(crowds: dict[str, Crowd], pid: str, record: dict[str, Any]) -> None:
    for key in record.get("keys", ()):
        crowd = crowds.get(key)
        if crowd is not None:
            crowd.add(pid, record)
