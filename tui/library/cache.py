"""The derived store: one SQLite database (WAL, FTS5) holding the papers, their search index
and a mirror of the user's state, built from the truth files (truth.py) and rebuilt from them
whenever it is missing, damaged or of another version.

Each thread uses its own connection (`Cache.conn`), so a worker never shares a Python
structure with the UI thread: SQLite's WAL gives every reader a consistent snapshot while one
writer commits. A big import lends its connection to one helper thread at a time, for a
statement that runs without the GIL while the importing thread does Python work and leaves
the connection alone (`Beside`); a rollback stops the helper first. Writes to it happen
only under the library's write lock, after the truth file they mirror is on disk: losing the
cache never loses anything.

Tables (``paper.rowid`` is the row every other table refers to):

``paper``
    one row per paper: its id, the columns the sort orders and filters use (indexed) and the
    mirrored ``read``/``starred`` flags: narrow, so counting and paging touch few pages.
``record``
    where the paper's record is, by the same rowid: ``at``/``size``, the byte span of its
    document in its truth segment (``paper.seg``): each record is kept once, in the truth,
    and a list row reads its head from there too; or, for a record no truth file holds as
    such (two devices' versions merged here) or a segment not laid out as papertui writes,
    ``body``: the whole record (compressed: `pack_body`).
``feed``
    the feeds of each segment (`truth.feed_key` → the source, orjson): the sources of the
    records read from it.
``ident`` and ``newident``
    the identity keys each paper is filed under (identity.py), for merging at import: exactly
    the ``keys`` of its current record.
    An import's new papers are filed in ``newident``, which `fold_idents` moves into
    ``ident`` once it holds `IDENT_FOLD` of the library's size: the keys are digests, so
    an import's keys fall on nearly every page of ``ident`` (into 1,000,000 papers: 8,550
    pages, 70 MB of the commit's 107), and that is written once per several imports.
``facet``
    (kind, value, paper): source formats (``f``), categories (``c``, casefolded) and feed
    dates (``d``) of each paper, for ``source:``, ``cat:`` and ``feed:``: exactly `facets` of
    its current record.
``state``, ``tag``, ``noted``
    the user's state per paper id (an orjson document; kept even for a paper not in the
    library yet), and for the papers present their tags (casefolded) and which have a note,
    mirrored from the journal.
``history``
    the recent changes (for undo), in the order they were applied.
``applied``
    the segments and checkpoints the database holds, by kind (``s``, ``p``: a segment and a
    checkpoint may share a name), so a reopen applies only what is new; the changes applied
    are kept as ranges per device (state.py: ``covers``).
``tally``
    how many papers there are (and the highest rowid when that was right:
    `Cache.paper_total`), are read and are starred, updated with every row of ``paper``
    added and flag changed: the status bar's and the views' counts cost the same at any
    size of library.
``text`` and ``annot``
    FTS5 indexes (contentless, ``unicode61`` folding case and accents) of the papers' text
    (columns title, abstract, authors, other; Chinese runs indexed as overlapping bigrams, see
    `cjk_grams`) and of their tags and notes.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import operator
import os
import re
import sqlite3
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import platformdirs

from .storage import LibraryError
from .truth import Span, compact, read_document

# The WAL is copied into the database when a commit leaves it over this many pages (4 MB of
# 8 KB pages, SQLite's default in bytes); see `Cache.big_commit` for the big imports'.
WAL_AUTOCHECKPOINT = 512
# Free pages: a merge of the ``text`` index frees the segments it merged, tens of MB at
# 100,000 papers (87 MB of 272 after two years of daily imports), which later writes reuse
# only slowly. A commit that leaves more than COMPACT_PAGES and COMPACT_SHARE of the file
# free has them given back, COMPACT_STEP pages a transaction (each 10-30 ms at 100,000
# papers: 0.44 s for those 87 MB) on a thread of its own (`Cache.checkpoint_beside`).
COMPACT_PAGES = 1024  # (8 MB of 8 KB pages)
COMPACT_SHARE = 0.05
COMPACT_STEP = 256
# A compaction stops when the WAL holds more than this many pages no checkpoint could copy
# into the database: a reader in a long transaction (another process's export or search)
# holds a snapshot from before the pages moved, so each further step only grows the WAL by
# what it gives back (as much disk again). What is left is given back after a later commit.
COMPACT_WAL = 2 * WAL_AUTOCHECKPOINT
# How long the process's exit or `Cache.close` lets a running compaction go on before it
# stops it between two steps (what is left is given back after a later commit).
COMPACT_GRACE = 2.0
CACHE_VERSION = 11  # bump to rebuild every cache (PRAGMA user_version)
CACHE_DIR = ".cache"
CACHE_FILE = "library.sqlite"
HEAD_FIELDS = frozenset(
    (
        "id arxiv_id title title_zh authors author_count organization categories "
        "paper_date feed_date upvotes num_comments sources added_at"
    ).split()
)
STATE_FIELDS = ("read", "starred", "tags", "note")
DEFAULTS: dict[str, Any] = {"read": False, "starred": False, "tags": [], "note": ""}

SCHEMA = """
CREATE TABLE paper(
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    arxiv_id TEXT,
    feed_date TEXT NOT NULL,
    paper_date TEXT NOT NULL,
    added_at TEXT NOT NULL,
    day TEXT NOT NULL,
    title_key TEXT NOT NULL,
    upvotes INTEGER NOT NULL,
    comments INTEGER NOT NULL,
    seg TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    starred INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE record(rowid INTEGER PRIMARY KEY, at INTEGER, size INTEGER, body BLOB);
CREATE INDEX paper_feed ON paper(feed_date);
CREATE INDEX paper_added ON paper(added_at);
CREATE INDEX paper_read ON paper(read, feed_date);
CREATE INDEX paper_starred ON paper(starred, feed_date);
CREATE TABLE feed(seg TEXT NOT NULL, key TEXT NOT NULL, doc BLOB NOT NULL,
                  PRIMARY KEY(seg, key)) WITHOUT ROWID;
CREATE TABLE ident(key TEXT NOT NULL, paper INTEGER NOT NULL, has_id INTEGER NOT NULL,
                   PRIMARY KEY(key, paper)) WITHOUT ROWID;
CREATE TABLE newident(key TEXT NOT NULL, paper INTEGER NOT NULL, has_id INTEGER NOT NULL,
                      PRIMARY KEY(key, paper)) WITHOUT ROWID;
CREATE TABLE facet(kind TEXT NOT NULL, value TEXT NOT NULL, paper INTEGER NOT NULL,
                   PRIMARY KEY(kind, value, paper)) WITHOUT ROWID;
CREATE TABLE state(id TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE tag(tag TEXT NOT NULL, paper INTEGER NOT NULL,
                 PRIMARY KEY(tag, paper)) WITHOUT ROWID;
CREATE INDEX tag_paper ON tag(paper);
CREATE TABLE noted(paper INTEGER PRIMARY KEY);
CREATE TABLE history(ord INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, doc BLOB NOT NULL);
CREATE TABLE applied(kind TEXT NOT NULL, name TEXT NOT NULL,
                     PRIMARY KEY(kind, name)) WITHOUT ROWID;
CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE score(paper INTEGER PRIMARY KEY, value REAL NOT NULL, why TEXT);
CREATE TABLE feat(paper INTEGER PRIMARY KEY, cols BLOB NOT NULL, counts BLOB NOT NULL);
CREATE TABLE tally(name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO tally VALUES('papers', 0), ('papers_at', 0), ('read', 0), ('starred', 0);
CREATE VIRTUAL TABLE text USING fts5(title, abstract, authors, other, content='',
    tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE annot USING fts5(body, content='',
    tokenize='unicode61 remove_diacritics 2');
"""

# FTS5 gathers this much of the text being indexed in memory (bytes: its default) before it
# writes it to the index as a segment, merging segments as they accumulate. An import of
# `BULK_PAPERS` or more gathers `BULK_HASHSIZE` instead: it writes fewer, bigger segments,
# which climb fewer levels of merges. (With the default `AUTOMERGE` this was dearer into a
# library holding papers already, 178k → 226k instructions a paper into 100,000; with
# `AUTOMERGE` it is cheaper into any: 0.38 → 0.31 CPU-s per 20,000-paper import into
# 100,000 and into 1,000,000, eight imports in a row.)
FTS_HASHSIZE = 1024 * 1024
BULK_HASHSIZE = 8 * 1024 * 1024
# How many segments of one size the ``text`` index gathers before it merges them into one
# (FTS5's ``automerge``; its default is 4). Each merge rewrites what it merges, so a page of
# the index is written once per level it climbs: log4 of the index's size in flushes with
# the default, log16 with 16, half as often. Into 1,000,000 papers that halves the index's
# share of an import (0.73 → 0.38 CPU-s per 20,000 papers, eight imports in a row), which
# grew with the library (0.26 into an empty one). The index then holds more segments (30
# instead of 11 after those imports; at most 15 a level): a query looks each term up in
# each, which measured the same (a word in 276,000 of 1,000,000 papers: 9 ms either way).
AUTOMERGE = 16
# ``newident`` is folded into ``ident`` when it holds this many rows for each paper in the
# library (about a tenth of ``ident``: a 1,000,000-paper library folds every sixth import
# of 20,000 papers), or at least IDENT_FOLD_MIN.
IDENT_FOLD = 0.25
IDENT_FOLD_MIN = 100_000
BULK_PAPERS = 1000  # (fewer papers' text fits in FTS_HASHSIZE)


def bulk(papers: int) -> bool:
    """Whether an import of ``papers`` papers is stored as a big one (`BULK_PAPERS`): its text
    gathered in `BULK_HASHSIZE`, its statements run beside its Python work (`Beside`)."""
    return papers >= BULK_PAPERS


# Han, kana and hangul: the scripts written without spaces between words.
CJK_RUN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+"
)


_STRAY_MARKS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Text as the index holds it and queries are matched: compatibility-normalised (NFKC:
    the ligature "ﬁ" is "fi", fullwidth "Ｇ" is "G") and case-folded ("Straße" is "strasse",
    "İ" is "i"); accents go in the tokenizer (``remove_diacritics 2``)."""
    if text.isascii():
        return text.lower()
    if not unicodedata.is_normalized("NFKC", text):  # (a quick check: Chinese text 400x)
        text = unicodedata.normalize("NFKC", text)
    # (casefold leaves "İ" as "i" + a combining dot, which would split the word)
    return _STRAY_MARKS.sub("", text.casefold())


def _grams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(map(operator.add, run, run[1:])) + " " + run[-1]


def cjk_grams(text: str) -> str:
    """``text`` with each run of CJK characters written as its overlapping bigrams followed by
    its last character ("扩散模型" → "扩散 散模 模型 型"), so that the ``unicode61``
    tokenizer, which keeps such a run as one token, indexes every character as the start of
    a token: a two-character query is one token, a longer one a phrase of bigrams, a single
    character a prefix query (query.py)."""
    text = fold(text)
    if text.isascii() or not CJK_RUN.search(text):
        return text
    return CJK_RUN.sub(lambda m: " " + _grams(m.group()) + " ", text)


def _indexed(text: str) -> str:
    """A column's text as the index takes it (`cjk_grams`). ASCII goes as it is: ``unicode61``
    folds its case itself, so lowering it first gives the index the very same tokens."""
    return text if text.isascii() else cjk_grams(text)


def fts_values(record: dict[str, Any]) -> tuple[str, str, str, str]:
    """The four ``text`` columns of a paper record: (title, abstract, authors, other), as
    the index takes them (Chinese as bigrams: `cjk_grams`)."""
    get = record.get
    title = "\n".join([get("title") or "", get("title_zh") or ""])
    abstract = get("abstract") or ""
    authors = "\n".join(
        [" ".join(get("authors") or ()), get("organization") or "", get("institutions") or ""]
    )
    other = "\n".join(
        [
            get("comments") or "",
            get("arxiv_id") or "",
            " ".join(get("keywords") or ()),
            get("ai_summary") or "",
            get("topic_hit") or "",
            get("abstract_zh") or "",
            get("contribution_zh") or "",
            get("method_zh") or "",
            get("findings_zh") or "",
        ]
    )
    return _indexed(title), _indexed(abstract), _indexed(authors), _indexed(other)


def annot_value(state: dict[str, Any]) -> str:
    """The ``annot`` text of a paper's state: its tags and note."""
    return cjk_grams("\n".join([*state.get("tags", ()), state.get("note", "")]))


def pack_body(body: dict[str, Any]) -> bytes:
    """A record as the cache keeps it when no truth file holds it as such: orjson,
    zlib-compressed (abstracts and summaries shrink to about a third)."""
    return zlib.compress(orjson.dumps(body), 3)


def unpack_body(blob: bytes) -> dict[str, Any]:
    """The inverse of `pack_body`."""
    return orjson.loads(zlib.decompress(blob))


def head_of(record: dict[str, Any]) -> dict[str, Any]:
    """What a list row needs of a record (`HEAD_FIELDS`; sources by their format only): a
    stored document (``src``: feed keys) or a whole record (``sources``)."""
    head = {k: v for k, v in record.items() if k in HEAD_FIELDS and k != "sources"}
    if "src" in record:
        head["sources"] = [{"format": key.rpartition(":")[0]} for key in record["src"]]
    elif "sources" in record:
        head["sources"] = [{"format": s.get("format") or ""} for s in record["sources"]]
    return head


def _int(value: Any) -> int:
    return value if type(value) is int else -1


def damage_line(err: BaseException) -> str | None:
    """The line for people when ``err`` is the cache's database found damaged under a query
    (a page of it garbled on the disk while its header, all that opening reads, is fine):
    what rebuilds it. None for any other error."""
    if not isinstance(err, sqlite3.DatabaseError) or isinstance(err, sqlite3.OperationalError):
        return None
    return (
        f"the library's cache is damaged ({err}); it holds nothing the library's files do "
        "not: `papertui doctor --repair` builds it again from them"
    )


def default_location(root: Path) -> Path:
    """Where the cache of the library at ``root`` lives: ``<root>/.cache/library.sqlite``,
    kept out of sync by the library's ``.gitignore`` and ``.stignore``."""
    return root / CACHE_DIR / CACHE_FILE


def fallback_location(root: Path) -> Path:
    """Where the cache of a library that cannot be written lives: the user cache dir."""
    digest = hashlib.sha1(os.fsencode(os.path.realpath(root))).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("papertui")) / f"library-{digest}.sqlite"


class Cache:
    """The SQLite database of one library: a connection per thread, the schema, and the
    row-level operations the library's modules compose (all inside the caller's
    transaction: `transaction`)."""

    def __init__(self, path: Path | None) -> None:
        """``path``: the database file, or None for an in-memory database shared by this
        process's threads (a library that cannot be written anywhere)."""
        self.path = path
        self._local = threading.local()
        self._uri = f"file:papertui-{id(self)}?mode=memory&cache=shared" if path is None else None
        self._keep: sqlite3.Connection | None = None  # keeps a shared memory db alive
        # (the thread each is for, and it: `_connect`, `close`)
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        self._checkpoint: threading.Thread | None = None  # (`checkpoint_beside`)
        # (mode=rw: a database gone meanwhile is not made again, empty)
        self._rw = file_uri(path, "rw") if path else None
        self._watcher: sqlite3.Connection | None = None  # (`data_version`)
        self._watcher_lock = threading.Lock()
        self._file: tuple[int, int] | None = None  # (`replaced`)

    # ------------------------------------------------------------------ connections
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (made on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` on a connection of its own that never writes: it
        changes whenever a connection commits, this process's threads' as well as other
        processes', so values read from any thread compare. (Each thread's connection
        counts the commits of every connection but itself: a value read on a worker's,
        compared with one read on the UI thread's, took the worker's write for another
        process's.) sqlite3.Error when the database cannot be read."""
        if self._uri is not None:  # (a shared memory database: this process's alone)
            return int(self.conn().execute("PRAGMA data_version").fetchone()[0])
        with self._watcher_lock:
            if self._watcher is None:
                self._watcher = sqlite3.connect(
                    self._rw, uri=True, isolation_level=None, check_same_thread=False
                )
            return int(self._watcher.execute("PRAGMA data_version").fetchone()[0])

    def replaced(self) -> bool:
        """Whether the database file at `path` is no longer the one this cache's connections
        opened: another process deleted it and built a new one (`doctor --rebuild`, a
        repair) while they kept reading the deleted one. False while no file is there."""
        if self.path is None or self._file is None:
            return False
        found = _identity(self.path)
        return found is not None and found != self._file

    def _connect(self) -> sqlite3.Connection:
        if self._uri is not None:
            conn = sqlite3.connect(
                self._uri, uri=True, isolation_level=None, check_same_thread=False
            )
            if self._keep is None:
                self._keep = conn
        else:
            assert self.path is not None
            # (a connection stays its thread's; an import lends it to one helper thread
            # while its own thread does Python work without it: `Beside`)
            # The file the connections read (`replaced`), identified before it is opened:
            # identified after, a file another process made in between (a rebuild deleting
            # this one) was taken for it, and the replacement was never seen. Replaced in
            # between, the next `replaced` says so and the current file is taken again.
            before = _identity(self.path) if self._file is None else None
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            if self._file is None:  # (no file before: this connection made it)
                self._file = before or _identity(self.path)
            conn.execute("PRAGMA page_size=8192")  # (a new file only: records of 2-6 KB)
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                # (a new file only, too: the pages a merge of the index frees are given back
                # to the file system afterwards, `checkpoint_beside`; asked of a database
                # that has pages, it waits for another process's write to end)
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            # (checkpoint the WAL every 4 MB as with 4 KB pages; keep its file at most that)
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            conn.execute("PRAGMA journal_size_limit=4194304")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-16000")
        conn.execute("PRAGMA temp_store=MEMORY")
        # The connections of threads that have ended are closed: a thread made for one task
        # (the app folds the journal on a new one after every change) left its connection
        # here, and two file descriptors with it, for the rest of the session (about 600
        # changes in the app reached the usual limit of 1,024 open files).
        with self._all_lock:
            ended = [c for t, c in self._all if not t.is_alive() and c is not self._keep]
            self._all = [(t, c) for t, c in self._all if t.is_alive() or c is self._keep]
            self._all.append((threading.current_thread(), conn))
        for old in ended:
            with contextlib.suppress(sqlite3.Error):
                old.close()
        return conn

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended, and let go
        of the others: each thread gets a new one when it next asks (`conn`). Another
        thread's is left for it to finish with (a search running on it) and is closed once
        nothing refers to it: a collection is made for them at once (a connection is in a
        reference cycle of its own, sqlite3's statement cache, and an app at rest may make
        no full collection for hours: the file a `doctor --rebuild` deleted, its space and
        its file descriptors, stayed held, one more at each rebuild)."""
        self.settle(COMPACT_GRACE)
        me = threading.current_thread()
        with self._all_lock:
            conns, self._all = self._all, []
        others = False
        for owner, conn in conns:
            if owner is me or not owner.is_alive():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            else:
                others = True
        self._local = threading.local()
        self._keep = None
        self._file = None
        with self._watcher_lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(sqlite3.Error):
                watcher.close()
        if others:
            del conns, conn
            gc.collect()

    @contextlib.contextmanager
    def big_commit(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Around the COMMIT of a big write (an import of `BULK_PAPERS` papers or more): the
        commit leaves its pages in the WAL (tens of MB at 1,000,000 papers) instead of
        copying them into the database at once, and a thread of its own copies them after
        it (`checkpoint_beside`), so the writer goes on 0.1-0.2 s sooner. Readers and later
        writers never wait for it (WAL); a crash in between loses nothing (the WAL holds
        the committed pages and the next connection copies them)."""
        if self._rw is None:  # (an in-memory database has no WAL)
            yield
            return
        conn.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        if not conn.in_transaction:  # (committed)
            self.checkpoint_beside()

    def checkpoint_beside(self, checkpoint: bool = True) -> None:
        """On a thread of its own, with a connection of its own: copy the WAL's committed
        pages into the database (``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no reader
        and no writer; what it cannot copy the next commit's checkpoint copies), then give
        back the database's free pages when there are many (`compact`). `settle` waits
        for it; so do `close` and the process's exit, for at most `COMPACT_GRACE` seconds
        of compaction (`_settle_at_exit`: a Ctrl-C then ends the wait; the pages left in
        the WAL are copied by the next commit, the free pages left given back after it)."""
        self.settle()  # (the last one first: one at a time)
        uri = self._rw
        assert uri is not None  # (called for a database file only)
        stop = threading.Event()

        def run() -> None:
            try:
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0)
                try:
                    if checkpoint:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    Cache.compact(conn, stop)
                finally:
                    conn.close()
            except sqlite3.Error:
                pass  # (the next commit's or connection's checkpoint does it)
            finally:
                _CHECKPOINTS.pop(threading.current_thread(), None)

        self._checkpoint = threading.Thread(target=run, name="papertui-checkpoint", daemon=True)
        _CHECKPOINTS[self._checkpoint] = stop
        self._checkpoint.start()

    def tidy(self, conn: sqlite3.Connection) -> None:
        """After a commit on ``conn``: give back the database's free pages on a thread of
        its own (`checkpoint_beside`) when they are many (`wants_compacting`: a merge of
        the index left them) and no such thread is at work already. Microseconds when
        there is nothing to do (two numbers from the file's header)."""
        running = self._checkpoint
        if self._rw is None or (running is not None and running.is_alive()):
            return
        if Cache.wants_compacting(conn):
            self.checkpoint_beside(checkpoint=False)

    @staticmethod
    def wants_compacting(conn: sqlite3.Connection) -> bool:
        """Whether the database has more than `COMPACT_PAGES` and `COMPACT_SHARE` of its
        pages free and can give them back (``auto_vacuum=INCREMENTAL``: a cache made since
        2026-12-01; an older one reuses them as it grows)."""
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if free <= COMPACT_PAGES:
            return False
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        if free <= pages * COMPACT_SHARE:
            return False
        return conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2

    @staticmethod
    def compact(conn: sqlite3.Connection, stop: threading.Event) -> int:
        """Give back the free pages of the database on ``conn`` (a connection of the
        caller's, outside any transaction) to the file system when it `wants_compacting`:
        ``PRAGMA incremental_vacuum``, `COMPACT_STEP` pages a transaction, until none are
        left or ``stop`` is set; a step that finds another connection writing is tried
        again 50 ms later. After each step the WAL is copied into the database, which
        shrinks the file; when a reader's snapshot keeps more than `COMPACT_WAL` pages
        there, it stops. Returns the pages given back. Raises sqlite3.Error (a full disk:
        the step under way is rolled back, the database is as it was before it)."""
        if not Cache.wants_compacting(conn):
            return 0
        conn.execute("PRAGMA journal_size_limit=4194304")
        before = free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        step = COMPACT_STEP
        while free and not stop.is_set():
            try:
                # (executescript steps the statement to its end: `execute` gives back one
                # page, https://sqlite.org/pragma.html#pragma_incremental_vacuum)
                conn.executescript(f"PRAGMA incremental_vacuum({step});")
            except sqlite3.OperationalError as err:
                code = getattr(err, "sqlite_errorcode", 0) & 0xFF
                if code == sqlite3.SQLITE_FULL and step > 1:
                    # (a nearly full disk, where the space matters most: a shorter step
                    # fits in the WAL the failed one left, and each gives some back)
                    step //= 2
                elif code != sqlite3.SQLITE_BUSY:
                    raise
                else:
                    stop.wait(0.05)
            # (each step's pages copied into the database at once, so the WAL is
            # written again from its start: it stays one step long, unless a reader's
            # snapshot keeps them there)
            _, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            if logged - copied > COMPACT_WAL:
                break
        return before - free

    def settle(self, grace: float = 0.0) -> None:
        """Wait for the thread `checkpoint_beside` started, if any: its checkpoint (a
        fraction of a second), and its compaction for ``grace`` seconds more, then it is
        stopped between two of its steps."""
        thread, self._checkpoint = self._checkpoint, None
        if thread is not None:
            _finish(thread, grace)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT on this thread's connection (ROLLBACK on any error)."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            Beside.stop_on(conn)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ------------------------------------------------------------------ schema
    def usable(self) -> bool:
        """Whether the database has this version's schema (else it must be rebuilt)."""
        try:
            conn = self.conn()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != CACHE_VERSION:
                return False
            return conn.execute("SELECT v FROM meta WHERE k='complete'").fetchone() is not None
        except sqlite3.Error:
            return False

    def create(self, conn: sqlite3.Connection) -> None:
        """Make the schema in an empty database (inside a transaction)."""
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        Cache.tune_index(conn)
        conn.execute(f"PRAGMA user_version={CACHE_VERSION}")

    @staticmethod
    def tune_index(conn: sqlite3.Connection) -> None:
        """Set the ``text`` index's merge settings (`AUTOMERGE`) when they are not set yet
        (a cache made before them: they are kept in the database, ``text_config``), inside
        the caller's transaction. They change how the index is laid out, never what it
        finds."""
        row = conn.execute("SELECT v FROM text_config WHERE k='automerge'").fetchone()
        if row is None or row[0] != AUTOMERGE:
            conn.execute("INSERT INTO text(text, rank) VALUES('automerge', ?)", (AUTOMERGE,))

    @staticmethod
    def ensure_score(conn: sqlite3.Connection) -> None:
        """Add the ``score`` and ``feat`` tables (`SCHEMA`: the "for you" order's scores
        and each paper's features, tui/relevance.py) to a cache made before they were."""
        for statement in SCHEMA.split(";"):
            if statement.strip().startswith(("CREATE TABLE score", "CREATE TABLE feat")):
                conn.execute(statement.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))

    def count_papers(self) -> None:
        """Make the tally of papers right when it is not (`paper_total` says): a cache made
        before papers were tallied, or one a papertui that did not keep the tally added
        papers to. One count then, none on the next opens. Nothing when the cache cannot be
        written (the papers are then counted when asked)."""
        conn = self.conn()
        try:
            if self.paper_total(conn) is not None:
                return
            with self.transaction() as conn:
                if self.paper_total(conn) is None:
                    conn.execute(
                        "INSERT OR REPLACE INTO tally SELECT 'papers', count(*) FROM paper "
                        "UNION ALL SELECT 'papers_at', coalesce(max(rowid), 0) FROM paper"
                    )
        except sqlite3.Error:
            pass

    @staticmethod
    def paper_total(conn: sqlite3.Connection) -> int | None:
        """How many papers there are, from the tally; None when it cannot be trusted: it is
        missing, or the highest rowid is not the one it was last kept at (``papers_at``:
        papers were added by a papertui that did not keep it)."""
        row = conn.execute(
            "SELECT (SELECT n FROM tally WHERE name='papers'), "
            "(SELECT n FROM tally WHERE name='papers_at'), "
            "(SELECT coalesce(max(rowid), 0) FROM paper)"
        ).fetchone()
        return row[0] if row[0] is not None and row[1] == row[2] else None

    @staticmethod
    def _papers_added(conn: sqlite3.Connection, count: int) -> None:
        """Keep the tally of papers (`paper_total`) after ``count`` were added."""
        conn.execute(
            "UPDATE tally SET n = CASE name WHEN 'papers' THEN n + ? "
            "ELSE (SELECT max(rowid) FROM paper) END WHERE name IN ('papers', 'papers_at')",
            (count,),
        )

    # ------------------------------------------------------------------ meta
    @staticmethod
    def get_meta(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
        row = conn.execute("SELECT v FROM meta WHERE k=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else default

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: Any) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", (key, orjson.dumps(value)))

    # ------------------------------------------------------------------ papers
    @staticmethod
    def _row(record: dict[str, Any], seg: str) -> tuple[Any, ...]:
        """The ``paper`` columns after ``id`` (arxiv_id … seg) of a record."""
        get = record.get
        feed_date = get("feed_date") or ""
        added = get("added_at") or ""
        return (
            get("arxiv_id") or None,
            feed_date,
            get("paper_date") or "",
            added,
            feed_date or added[:10],
            (get("title") or get("title_zh") or "").casefold(),
            _int(get("upvotes")),
            _int(get("num_comments")),
            seg,
        )

    @staticmethod
    def _blobs(record: dict[str, Any], span: Span | None) -> tuple[Any, ...]:
        """The ``record`` columns of a record (at, size, body): where it lies in its segment
        when it is there (``span``), else the record itself."""
        if span is not None:
            return span[0], span[1], None
        return None, None, pack_body(compact(record))

    @staticmethod
    def read_record(
        conn: sqlite3.Connection,
        papers: Path,
        pid: str,
        *,
        head: bool = True,
        body: bool = True,
        feeds: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> dict[str, Any] | None:
        """A paper's stored record (its head, body or both), None when there is none.
        ``papers``: the library's segment folder, where the bodies are read from. ``feeds``:
        the feeds of the segments read so far (segment → `truth.feed_key` → source), kept by
        a caller that reads many records in one transaction (an import): each segment's
        feeds are then read once, not with every record (a segment of 200 feeds made reading
        a record 25 times dearer).

        LibraryError naming the segment when the body is to be read from a truth file that
        changed or was damaged since the cache read it (`truth.read_document`)."""
        whole = head and body
        query = (  # (the segment's feeds, only for a whole record: one statement either way)
            "(SELECT json_group_object(f.key, json(CAST(f.doc AS TEXT))) FROM feed f "
            "WHERE f.seg = p.seg)"
            if whole and feeds is None
            else "NULL"
        )
        row = conn.execute(
            f"SELECT p.seg, r.at, r.size, r.body, {query} FROM paper p "
            "JOIN record r ON r.rowid = p.rowid WHERE p.id=?",
            (pid,),
        ).fetchone()
        if row is None:
            return None
        seg, at, size, blob, feeds_json = row
        if blob is not None:
            doc = unpack_body(blob)
        else:
            path = f"{papers}/{seg}.json"  # (a str: pathlib costs more than the read)
            doc = read_document(path, (at, size))
            if doc["id"] != pid:
                raise LibraryError(
                    f"{path}: changed since the cache read it; "
                    "run `papertui doctor` (it rebuilds the cache)"
                )
        if not body:
            return head_of(doc)
        if not head:
            return {k: v for k, v in doc.items() if k not in HEAD_FIELDS and k != "src"}
        src = doc.pop("src", None)
        if src:
            if feeds is None:
                sources = orjson.loads(feeds_json or "{}")
            else:
                sources = feeds.get(seg)  # type: ignore[assignment]
                if sources is None:
                    sources = feeds[seg] = {
                        key: orjson.loads(raw)
                        for key, raw in conn.execute(
                            "SELECT key, doc FROM feed WHERE seg=?", (seg,)
                        )
                    }
            if any(key not in sources for key in src):
                raise LibraryError(f"{path}: the cache lacks its feeds; run `papertui doctor`")
            # (copies: a source held in ``feeds`` is never shared by two records)
            doc["sources"] = [dict(sources[key]) for key in src]
        return doc

    @staticmethod
    def read_heads(
        conn: sqlite3.Connection, papers: Path, pids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """The heads (`head_of`) of several papers, as `read_record` with ``body=False``
        reads each, in one statement and one open of each segment file: a screenful of list
        rows. Papers that are not there, or whose record cannot be read, are left out (read
        them one by one to learn why)."""
        return Cache.read_docs(conn, papers, pids, head_of)

    @staticmethod
    def read_docs(
        conn: sqlite3.Connection,
        papers: Path,
        pids: list[str],
        shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The stored documents of several papers (head and body; their sources as feed
        keys, ``src``), each passed through ``shape`` when given, as `read_heads` reads
        them: one statement, each segment file opened once; the unreadable left out."""
        shape = shape or (lambda doc: doc)
        rows = conn.execute(
            "SELECT p.id, p.seg, r.at, r.size, r.body FROM paper p "
            "JOIN record r ON r.rowid = p.rowid "
            "WHERE p.id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(pids).decode(),),
        ).fetchall()
        heads: dict[str, dict[str, Any]] = {}
        by_segment: dict[str, list[tuple[str, int, int]]] = {}
        for pid, seg, at, size, blob in rows:
            if blob is not None:
                heads[pid] = shape(unpack_body(blob))
            elif at is not None:
                by_segment.setdefault(seg, []).append((pid, at, size))
        for seg, spans in by_segment.items():
            try:
                fd = os.open(f"{papers}/{seg}.json", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                for pid, at, size in spans:
                    try:
                        doc = orjson.loads(os.pread(fd, size, at))
                    except (OSError, ValueError):
                        continue
                    if isinstance(doc, dict) and doc.get("id") == pid:
                        heads[pid] = shape(doc)
            finally:
                os.close(fd)
        return heads

    @staticmethod
    def add_feeds(conn: sqlite3.Connection, seg: str, feeds: dict[str, dict[str, Any]]) -> None:
        """Keep the feeds of the segment ``seg`` (`truth.Segment.feeds`)."""
        conn.executemany(
            "INSERT OR REPLACE INTO feed(seg, key, doc) VALUES(?, ?, ?)",
            [(seg, key, orjson.dumps(doc)) for key, doc in feeds.items()],
        )

    @staticmethod
    def _facets(record: dict[str, Any]) -> set[tuple[str, str]]:
        """The (kind, value) facets of a record (see the ``facet`` table)."""
        sources = record.get("sources") or ()
        facets = {("f", s.get("format") or "") for s in sources}
        facets |= {("d", s.get("feed_date") or "") for s in sources}
        facets |= {("c", c.casefold()) for c in record.get("categories") or ()}
        return facets

    @staticmethod
    def add_papers(
        conn: sqlite3.Connection,
        records: list[dict[str, Any]],
        seg: str,
        spans: dict[str, Span] | None = None,
        rowids: list[int] | None = None,
    ) -> None:
        """Store papers whose ids are not in the database yet, in bulk (an import's new
        papers: one statement per table, not per paper). ``spans``: where each record lies
        in the segment ``seg`` (`truth.locate`); a record without one is kept here whole.
        ``rowids``: theirs (a rebuild keeps the order papers were first stored in), else
        the next ones."""
        adding = Adding(conn, records, seg, rowids)
        try:
            adding.finish(spans or {})
        except BaseException:  # (a Ctrl-C on entering `finish`: its thread is stopped first)
            adding.stop()
            raise

    @staticmethod
    def known(
        conn: sqlite3.Connection, keys: list[str], ids: list[str]
    ) -> tuple[set[str], set[str]]:
        """Those of ``keys`` some paper is filed under (`stored_keys`) and those of ``ids``
        some paper has, each asked in one statement that gives one row (`Beside`)."""
        taken = conn.execute(
            "SELECT json_group_array(id) FROM paper WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(ids).decode(),),
        ).fetchone()[0]
        return Cache.stored_keys(conn, keys), set(orjson.loads(taken))

    @staticmethod
    def put_paper(
        conn: sqlite3.Connection,
        papers: Path,
        record: dict[str, Any],
        seg: str,
        span: Span | None = None,
        feeds: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> int:
        """Store a whole paper record as the current version of its paper (replacing the
        previous one, whose index entries are removed); its rowid. ``papers``: the segment
        folder (the previous version's text is read there); ``span``: where ``record`` lies
        in the segment ``seg``, None to keep it here whole; ``feeds``: as `read_record`'s.

        LibraryError when the previous version cannot be read (`read_record`)."""
        pid = record["id"]
        get = record.get
        values = Cache._row(record, seg)
        blobs = Cache._blobs(record, span)
        keys = dict.fromkeys(get("keys") or ())
        facets = Cache._facets(record)
        row = conn.execute("SELECT rowid FROM paper WHERE id=?", (pid,)).fetchone()
        if row is None:
            cur = conn.execute(
                "INSERT INTO paper(id, arxiv_id, feed_date, paper_date, added_at, day, "
                "title_key, upvotes, comments, seg) VALUES(?,?,?,?,?,?,?,?,?,?)",
                (pid, *values),
            )
            rowid = cur.lastrowid
            assert rowid is not None
            Cache._papers_added(conn, 1)
            conn.execute(
                "INSERT INTO record(rowid, at, size, body) VALUES(?, ?, ?, ?)", (rowid, *blobs)
            )
            found = conn.execute("SELECT doc FROM state WHERE id=?", (pid,)).fetchone()
            if found is not None:  # a state that arrived before its paper (another device's)
                Cache.index_state(conn, rowid, {}, orjson.loads(found[0]))
        else:
            rowid = row[0]
            old = Cache.read_record(conn, papers, pid, feeds=feeds)
            assert old is not None
            conn.execute(
                "INSERT INTO text(text, rowid, title, abstract, authors, other) "
                "VALUES('delete', ?, ?, ?, ?, ?)",
                (rowid, *fts_values(old)),
            )
            gone = [(key, rowid) for key in old.get("keys") or () if key not in keys]
            conn.executemany("DELETE FROM ident WHERE key=? AND paper=?", gone)
            conn.executemany("DELETE FROM newident WHERE key=? AND paper=?", gone)
            conn.executemany(
                "DELETE FROM facet WHERE kind=? AND value=? AND paper=?",
                [(*facet, rowid) for facet in Cache._facets(old) - facets],
            )
            conn.execute(
                "UPDATE paper SET arxiv_id=?, feed_date=?, paper_date=?, added_at=?, day=?, "
                "title_key=?, upvotes=?, comments=?, seg=? WHERE rowid=?",
                (*values, rowid),
            )
            conn.execute("UPDATE record SET at=?, size=?, body=? WHERE rowid=?", (*blobs, rowid))
            conn.execute("DELETE FROM feat WHERE paper=?", (rowid,))  # (its text changed)
        conn.execute(
            "INSERT INTO text(rowid, title, abstract, authors, other) VALUES(?, ?, ?, ?, ?)",
            (rowid, *fts_values(record)),
        )
        has_id = 1 if get("arxiv_id") else 0
        conn.executemany(  # (filed in ``ident`` only: a key is in one of the two tables)
            "DELETE FROM newident WHERE key=? AND paper=?", [(key, rowid) for key in keys]
        )
        conn.executemany(
            "INSERT OR REPLACE INTO ident(key, paper, has_id) VALUES(?, ?, ?)",
            [(key, rowid, has_id) for key in keys],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO facet(kind, value, paper) VALUES(?, ?, ?)",
            [(kind, value, rowid) for kind, value in facets],
        )
        return rowid

    @staticmethod
    def remove_paper(conn: sqlite3.Connection, papers: Path, pid: str) -> None:
        """Take a paper out of the database (it was united with another: aliases.py): its
        row, record, search text, identity keys, facets and the index of its state (the
        state document, keyed by id, stays). ``papers``: the segment folder (its text is
        read there to take it out of the index); LibraryError as `read_record`."""
        old = Cache.read_record(conn, papers, pid)
        row = conn.execute("SELECT rowid, read, starred FROM paper WHERE id=?", (pid,)).fetchone()
        if old is None or row is None:
            return
        rowid = row[0]
        conn.execute(
            "INSERT INTO text(text, rowid, title, abstract, authors, other) "
            "VALUES('delete', ?, ?, ?, ?, ?)",
            (rowid, *fts_values(old)),
        )
        found = conn.execute("SELECT doc FROM state WHERE id=?", (pid,)).fetchone()
        if found is not None:
            Cache.index_state(conn, rowid, orjson.loads(found[0]), {})
        filed = [(key, rowid) for key in old.get("keys") or ()]
        # (by their keys: the tables are keyed by value first)
        conn.executemany("DELETE FROM ident WHERE key=? AND paper=?", filed)
        conn.executemany("DELETE FROM newident WHERE key=? AND paper=?", filed)
        conn.executemany(
            "DELETE FROM facet WHERE kind=? AND value=? AND paper=?",
            [(*facet, rowid) for facet in Cache._facets(old)],
        )
        conn.execute("DELETE FROM tag WHERE paper=?", (rowid,))
        conn.execute("DELETE FROM noted WHERE paper=?", (rowid,))
        conn.execute("DELETE FROM feat WHERE paper=?", (rowid,))
        conn.execute("DELETE FROM score WHERE paper=?", (rowid,))
        conn.execute("DELETE FROM record WHERE rowid=?", (rowid,))
        conn.execute("DELETE FROM paper WHERE rowid=?", (rowid,))
        Cache._papers_added(conn, -1)

    @staticmethod
    def fold_idents(conn: sqlite3.Connection, everything: bool = False) -> bool:
        """Move ``newident`` into ``ident`` (in key order: each page of ``ident`` is written
        once) when it holds `IDENT_FOLD` rows a paper, or whatever it holds when
        ``everything``; inside the caller's transaction. Whether it did."""
        held = conn.execute("SELECT count(*) FROM newident").fetchone()[0]
        if not held:
            return False
        if not everything:
            papers = Cache.paper_total(conn)
            if papers is None:
                papers = conn.execute("SELECT coalesce(max(rowid), 0) FROM paper").fetchone()[0]
            if held < max(IDENT_FOLD_MIN, int(papers * IDENT_FOLD)):
                return False
        conn.execute("INSERT OR REPLACE INTO ident SELECT key, paper, has_id FROM newident")
        conn.execute("DELETE FROM newident")
        return True

    @staticmethod
    def files_under_prefix(conn: sqlite3.Connection, prefix: str) -> bool:
        """Whether some paper is filed under an identity key that starts with ``prefix`` (a
        short ASCII prefix such as ``abs:``): two index probes."""
        past = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # (the first string after them all)
        return (
            conn.execute(
                "SELECT EXISTS(SELECT 1 FROM ident WHERE key >= ?1 AND key < ?2) "
                "OR EXISTS(SELECT 1 FROM newident WHERE key >= ?1 AND key < ?2)",
                (prefix, past),
            ).fetchone()[0]
            == 1
        )

    @staticmethod
    def stored_keys(conn: sqlite3.Connection, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` some paper is filed under, asked in one statement that gives
        one row (`Beside`: it runs without Python's GIL from start to end)."""
        found = conn.execute(
            "SELECT json_group_array(key) FROM (SELECT key FROM ident WHERE key IN "
            "(SELECT value FROM json_each(?1)) UNION SELECT key FROM newident WHERE key IN "
            "(SELECT value FROM json_each(?1)))",
            (orjson.dumps(list(keys)).decode(),),
        ).fetchone()[0]
        return set(orjson.loads(found))

    @staticmethod
    def filed_under(conn: sqlite3.Connection, key: str) -> list[tuple[str, bool]]:
        """(paper id, has an arXiv id) of the papers filed under an identity key, in the
        order they were stored."""
        rows = conn.execute(
            "SELECT paper, has_id FROM ident WHERE key=?1 "
            "UNION ALL SELECT paper, has_id FROM newident WHERE key=?1 ORDER BY paper",
            (key,),
        ).fetchall()
        if not rows:  # (most keys of an incoming paper: one index probe, no join)
            return []
        found = []
        for rowid, has_id in rows:
            row = conn.execute("SELECT id FROM paper WHERE rowid=?", (rowid,)).fetchone()
            if row is not None:
                found.append((row[0], bool(has_id)))
        return found

    # ------------------------------------------------------------------ state
    @staticmethod
    def put_state(
        conn: sqlite3.Connection, pid: str, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """Mirror a paper's new state (``old`` is what the mirror held): the document, and
        when the paper is in the library the flags on its row, its tags, whether it has a
        note and its ``annot`` text."""
        if any(new.get(k) for k in STATE_FIELDS):
            conn.execute(
                "INSERT OR REPLACE INTO state(id, doc) VALUES(?, ?)", (pid, orjson.dumps(new))
            )
        else:
            conn.execute("DELETE FROM state WHERE id=?", (pid,))
        row = conn.execute("SELECT rowid FROM paper WHERE id=?", (pid,)).fetchone()
        if row is not None:
            Cache.index_state(conn, row[0], old, new)

    @staticmethod
    def index_state(
        conn: sqlite3.Connection, rowid: int, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """Index a present paper's state: flags, tags, note, ``annot`` (from ``old``)."""
        read, starred = bool(new.get("read")), bool(new.get("starred"))
        was_read, was_starred = bool(old.get("read")), bool(old.get("starred"))
        if (read, starred) != (was_read, was_starred):
            conn.execute("UPDATE paper SET read=?, starred=? WHERE rowid=?", (read, starred, rowid))
            for name, now, before in (("read", read, was_read), ("starred", starred, was_starred)):
                if now != before:
                    conn.execute(
                        "UPDATE tally SET n = n + ? WHERE name=?", (1 if now else -1, name)
                    )
        old_tags, new_tags = old.get("tags") or [], new.get("tags") or []
        if old_tags != new_tags:
            conn.execute("DELETE FROM tag WHERE paper=?", (rowid,))
            conn.executemany(
                "INSERT OR IGNORE INTO tag(tag, paper) VALUES(?, ?)",
                [(t.casefold(), rowid) for t in new_tags],
            )
        if bool((old.get("note") or "").strip()) != bool((new.get("note") or "").strip()):
            if (new.get("note") or "").strip():
                conn.execute("INSERT OR IGNORE INTO noted(paper) VALUES(?)", (rowid,))
            else:
                conn.execute("DELETE FROM noted WHERE paper=?", (rowid,))
        before, after = annot_value(old), annot_value(new)
        if before != after:
            if before.strip():
                conn.execute(
                    "INSERT INTO annot(annot, rowid, body) VALUES('delete', ?, ?)",
                    (rowid, before),
                )
            if after.strip():
                conn.execute("INSERT INTO annot(rowid, body) VALUES(?, ?)", (rowid, after))


# The checkpoints `Cache.checkpoint_beside` started that are running: the process waits for
# them before it exits (the CLI and the app end without closing the library).
# (each with the event that stops its compaction)
_CHECKPOINTS: dict[threading.Thread, threading.Event] = {}


def _finish(thread: threading.Thread, grace: float) -> None:
    thread.join(grace)
    stop = _CHECKPOINTS.get(thread)
    if stop is not None:
        stop.set()
    thread.join()


@atexit.register
def _settle_at_exit() -> None:
    try:
        for thread in list(_CHECKPOINTS):
            _finish(thread, COMPACT_GRACE)
    except KeyboardInterrupt:  # (a Ctrl-C as the process ends: it ends now)
        pass


def join_through(
    thread: threading.Thread, on_interrupt: Callable[[], Any] = lambda: None
) -> BaseException | None:
    """Wait for ``thread`` to end, whatever interrupts the wait (a Ctrl-C's KeyboardInterrupt
    arriving meanwhile calls ``on_interrupt`` and the wait goes on); the first exception that
    interrupted it, for the caller to raise once the thread is done, or None."""
    interrupted: BaseException | None = None
    while thread.is_alive():
        try:
            thread.join()
        except BaseException as err:
            interrupted = interrupted or err
            on_interrupt()
    return interrupted


class Beside:
    """Work on a connection done by a thread of its own while the calling thread goes on with
    Python work: SQLite runs a statement without holding Python's GIL, so the two use two
    cores. The work should be a few statements that each give one row at most (a row
    fetched takes the GIL back, and waits for the other thread to let it go). The caller
    does not touch the connection before `wait` (or `stop`) returns: a connection is used by
    one thread at a time."""

    _lent: dict[int, Beside] = {}  # id(connection) → the work running on it (`stop_on`)
    _lent_lock = threading.Lock()

    def __init__(self, conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], Any]):
        self._conn = conn
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(work,), name="papertui-sql", daemon=True
        )

    def start(self) -> None:
        """Start the work (its owner holds this object first, so that a signal arriving
        as it starts still finds it to `stop`; so does `stop_on`)."""
        with Beside._lent_lock:
            Beside._lent[id(self._conn)] = self
        self._thread.start()

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> None:
        try:
            self._result = work(self._conn)
        except BaseException as err:  # (raised in the caller's thread by `wait`)
            self._error = err

    @staticmethod
    def stop_on(conn: sqlite3.Connection) -> None:
        """`stop` the work lent ``conn``, if any: the rollback of a transaction
        (`Cache.transaction`, the library's writes) calls it first, whatever failed and
        wherever, so that no statement of it runs after the rollback, on its own."""
        with Beside._lent_lock:
            work = Beside._lent.get(id(conn))
        if work is not None:
            work.stop()

    def wait(self) -> Any:
        """The work's result once its thread has ended, or its exception raised. Whatever
        interrupts the wait (a Ctrl-C's KeyboardInterrupt) interrupts the statement running
        (`sqlite3.Connection.interrupt`: SQLite rolls the transaction back) and is raised
        once the thread has ended, so nothing runs on the connection after it."""
        interrupted = join_through(self._thread, self._conn.interrupt)
        with Beside._lent_lock:
            if Beside._lent.get(id(self._conn)) is self:
                del Beside._lent[id(self._conn)]
        if interrupted is not None:
            raise interrupted
        if self._thread.ident is None:
            raise RuntimeError("Beside.wait: the work was never started")
        if self._error is not None:
            raise self._error
        return self._result

    def stop(self) -> None:
        """Interrupt the work and wait for its thread to end (the caller is failing: the
        transaction is rolled back); its result or error is dropped."""
        if self._thread.is_alive():
            self._conn.interrupt()
        if self._thread.ident is not None:
            with contextlib.suppress(BaseException):
                self.wait()


class Adding:
    """`Cache.add_papers` in two steps, so that an import's Python work runs beside its
    biggest statement. Made, it indexes the papers' text (the ``text`` table): for a big
    import (`bulk`, with no ``rowids``) from a temporary table in one statement on a thread
    of its own (`Beside`), ~0.25-0.45 s of CPU for 20,000 papers that run while it makes the
    other tables' rows and the caller makes the segment file; `finish` waits for the index
    and stores the rest, with each record's place in the segment (known once the segment is
    made); `stop` abandons it all (the caller is failing: its transaction is rolled back).
    Nothing else may use the connection in between."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        records: list[dict[str, Any]],
        seg: str,
        rowids: list[int] | None = None,
    ) -> None:
        self._conn = conn
        self._records = records
        self._beside: Beside | None = None
        if not records:
            self._rowids: list[int] = []
            return
        big = False  # (an import's many papers: see BULK_HASHSIZE)
        if rowids is None:
            top = conn.execute("SELECT coalesce(max(rowid), 0) FROM paper").fetchone()[0]
            rowids = list(range(top + 1, top + 1 + len(records)))
            big = bulk(len(records))
        self._rowids = rowids
        texts = [(r, *fts_values(record)) for r, record in zip(rowids, records, strict=True)]
        if big:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS temp.staged"
                "(rowid INTEGER PRIMARY KEY, title, abstract, authors, other)"
            )
            conn.execute("DELETE FROM temp.staged")
            conn.executemany("INSERT INTO temp.staged VALUES(?, ?, ?, ?, ?)", texts)
            self._beside = Beside(conn, _index_staged)
        else:
            Cache.tune_index(conn)
            conn.executemany(TEXT_INSERT.format(values="VALUES(?, ?, ?, ?, ?)"), texts)
        self._rows: list[tuple[Any, ...]] = []
        self._idents: list[tuple[str, int, int]] = []
        self._facets: list[tuple[str, str, int]] = []
        try:
            if self._beside is not None:
                self._beside.start()
            # (made while the index takes the text; stored by `finish`)
            for rowid, record in zip(rowids, records, strict=True):
                self._rows.append((rowid, record["id"], *Cache._row(record, seg)))
                has_id = 1 if record.get("arxiv_id") else 0
                self._idents += [(key, rowid, has_id) for key in record.get("keys") or ()]
                self._facets += [(kind, value, rowid) for kind, value in Cache._facets(record)]
        except BaseException:
            self.stop()  # (the caller has no `Adding` to stop)
            raise

    def finish(self, spans: dict[str, Span]) -> None:
        """Wait for the rows to be stored, then store each record's place (``spans``: id →
        where it lies in the segment; a record without one is kept whole) and index the
        states that arrived before their papers (another device's)."""
        if self._beside is not None:
            self._beside.wait()
        conn = self._conn
        if not self._records:
            return
        conn.executemany(
            "INSERT INTO paper(rowid, id, arxiv_id, feed_date, paper_date, added_at, day, "
            "title_key, upvotes, comments, seg) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            self._rows,
        )
        Cache._papers_added(conn, len(self._rows))
        # (Into ``newident``, small enough to stay in the page cache: in paper order. Sorted
        # into the 90 MB of ``ident`` itself, at 1,000,000 papers, they cost 0.17 CPU-s
        # instead of 0.38; the fold writes them in key order.)
        conn.executemany(
            "INSERT OR IGNORE INTO newident(key, paper, has_id) VALUES(?, ?, ?)", self._idents
        )
        Cache.fold_idents(conn)
        conn.executemany(
            "INSERT OR IGNORE INTO facet(kind, value, paper) VALUES(?, ?, ?)", self._facets
        )
        rowid_of: dict[str, int] = {}
        blobs = []
        for rowid, record in zip(self._rowids, self._records, strict=True):
            pid = record["id"]
            rowid_of[pid] = rowid
            blobs.append((rowid, *Cache._blobs(record, spans.get(pid))))
        conn.executemany("INSERT INTO record(rowid, at, size, body) VALUES(?, ?, ?, ?)", blobs)
        if conn.execute("SELECT 1 FROM state LIMIT 1").fetchone() is None:
            return
        found = conn.execute(  # states that arrived before their papers (another device's)
            "SELECT id, doc FROM state WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(rowid_of)).decode(),),
        ).fetchall()
        for pid, doc in found:
            Cache.index_state(conn, rowid_of[pid], {}, orjson.loads(doc))

    def stop(self) -> None:
        """Abandon the rows (the caller is failing: its transaction is rolled back)."""
        if self._beside is not None:
            self._beside.stop()


TEXT_INSERT = "INSERT INTO text(rowid, title, abstract, authors, other) {values}"


def _index_staged(conn: sqlite3.Connection) -> None:
    """Index the text of ``temp.staged`` (`Adding`: an import's many papers) in one statement,
    gathering `BULK_HASHSIZE` of it in memory (set back after: the setting is kept in the
    file)."""
    Cache.tune_index(conn)
    conn.execute("INSERT INTO text(text, rank) VALUES('hashsize', ?)", (BULK_HASHSIZE,))
    conn.execute(TEXT_INSERT.format(values="SELECT * FROM temp.staged"))
    conn.execute("INSERT INTO text(text, rank) VALUES('hashsize', ?)", (FTS_HASHSIZE,))
    conn.execute("DELETE FROM temp.staged")


def _identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path``; None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def file_uri(path: Path | str, mode: str) -> str:
    """The SQLite URI that opens the database file ``path`` (relative: to the working
    directory now) with ``mode`` (``ro``, ``rw``): absolute, its characters escaped, so a
    folder named with ``#``, ``?`` or ``%`` is that folder (``file:`` + the path cut it at
    the ``#`` or ``?``, and SQLite made an empty database there, in the folder above)."""
    return f"{Path(os.path.abspath(path)).as_uri()}?mode={mode}"


def open_cache(root: Path, writable: bool) -> Cache:
    """The cache of the library at ``root``: in the library when it can be written there,
    else in the user cache directory, else in memory. LibraryError never: a cache that
    cannot be stored is only slower."""
    candidates = [default_location(root)] if writable else []
    candidates.append(fallback_location(root))
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent.name == CACHE_DIR:
                ignore = path.parent / ".gitignore"
                if not ignore.exists():
                    ignore.write_text("*\n")
            if not os.access(path.parent, os.W_OK):
                continue
            cache = Cache(path)
            try:
                cache.conn().execute("PRAGMA user_version").fetchone()
            except sqlite3.DatabaseError as err:
                if isinstance(err, sqlite3.OperationalError):
                    raise
                # Not a database at all (damaged, or another file): it is derived, so it is
                # replaced here rather than left behind while a second cache is built.
                cache.close()
                remove_database(path)
                cache = Cache(path)
                cache.conn().execute("PRAGMA user_version").fetchone()
            return cache
        except (OSError, sqlite3.Error):
            continue
    return Cache(None)


def remove_database(path: Path) -> None:
    """Delete a cache database and its WAL files (it is derived: the truth rebuilds it)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(path) + suffix)


__all__ = ["Cache", "LibraryError", "cjk_grams", "fts_values", "open_cache"]
