"""Papers that two machines stored under two ids and a sync found to be one (README, "Merge
rules"): the id each absorbed paper had, and the id it is kept under.

A machine that took a paper from a feed without arXiv ids (Hugging Face text, a digest) files
it under a hash of its text (``p`` + hex); another machine that took it from a feed with its
arXiv id files it under that id. When one machine's papers arrive at the other (a git pull, a
Syncthing copy), the catch-up matches each paper new to the cache by the rules of an import
(identity.py) and unites the two. Which id is kept does not depend on the order files arrived
in (`keep`): an arXiv id over a hashed one, else the smaller. The other becomes an alias of it
in the cache's ``alias`` table (derived, like the whole cache: the same truth files give the
same aliases on every machine), which the state replay, undo, notes, `Library.resolve` (so
`papertui star ID`, export) and the import's choice of new ids all go through: a change
recorded against either id lands on the one paper.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import replace

import orjson

from .truth import Change

_HASHED = re.compile(r"p[0-9a-f]{8,40}")  # identity.new_id's ids for papers without one
TABLES = (
    "CREATE TABLE IF NOT EXISTS alias(id TEXT PRIMARY KEY, target TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS alias_target ON alias(target)",
)


def keep(a: str, b: str) -> str:
    """Which of two ids of one paper is kept: an arXiv id over a hashed one (``p`` + hex),
    else the smaller (a total order: the same choice whatever the order of arrival)."""
    return min(a, b, key=lambda pid: (_HASHED.fullmatch(pid) is not None, pid))


def targets(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, str]:
    """The kept id of each of ``ids`` that is an alias (one query); {} when there is no
    alias (or no ``alias`` table: a cache made before aliases, read-only)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    try:
        if len(wanted) == 1:
            row = conn.execute("SELECT target FROM alias WHERE id=?", wanted).fetchone()
            return {wanted[0]: row[0]} if row else {}
        return dict(
            conn.execute(
                "SELECT id, target FROM alias WHERE id IN (SELECT value FROM json_each(?))",
                (orjson.dumps(wanted).decode(),),
            )
        )
    except sqlite3.OperationalError:  # (no such table)
        return {}


def canonical(conn: sqlite3.Connection, pid: str) -> str:
    """The id ``pid`` is kept under (``pid`` itself unless it is an alias)."""
    return targets(conn, (pid,)).get(pid, pid)


def add(conn: sqlite3.Connection, absorbed: str, kept: str) -> None:
    """Record that the paper ``absorbed`` is kept as ``kept`` (and so is every id that was
    an alias of ``absorbed``); in the caller's transaction."""
    try:
        conn.execute("UPDATE alias SET target=? WHERE target=?", (kept, absorbed))
    except sqlite3.OperationalError:  # (the first alias of this cache: its table is made)
        for statement in TABLES:
            conn.execute(statement)
    conn.execute("INSERT OR REPLACE INTO alias(id, target) VALUES(?, ?)", (absorbed, kept))
    conn.execute("DELETE FROM alias WHERE id=?", (kept,))


def absorbed_a_hashed_id(conn: sqlite3.Connection, ids: Iterable[str]) -> bool:
    """Whether any of ``ids`` is kept for a paper with a hashed id (``p`` + hex: a copy from
    a feed without arXiv ids, united with it by a sync). False when there is no alias."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return False
    try:
        rows = conn.execute(
            "SELECT id FROM alias WHERE target IN (SELECT value FROM json_each(?))",
            (orjson.dumps(wanted).decode(),),
        ).fetchall()
    except sqlite3.OperationalError:  # (no such table)
        return False
    return any(_HASHED.fullmatch(row[0]) for row in rows)


def count(conn: sqlite3.Connection) -> int:
    """How many ids are aliases (papers merged into another across machines)."""
    try:
        return int(conn.execute("SELECT count(*) FROM alias").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def every(conn: sqlite3.Connection) -> dict[str, str]:
    """Every alias: absorbed id → kept id."""
    try:
        return dict(conn.execute("SELECT id, target FROM alias"))
    except sqlite3.OperationalError:
        return {}


def map_change(conn: sqlite3.Connection, change: Change) -> Change:
    """``change`` with each entry's paper id replaced by the id it is kept under (the same
    change when none is an alias)."""
    found = targets(conn, (e["id"] for e in change.entries))
    if not found:
        return change
    entries = [{**e, "id": found[e["id"]]} if e["id"] in found else e for e in change.entries]
    return replace(change, entries=entries)


def move_state(conn: sqlite3.Connection, old: str, new: str) -> None:
    """Give the state the mirror holds for the paper ``old`` to ``new``, which has none (its
    row renamed from ``old`` to ``new``: the flags, tags and note it indexes stay with it):
    the state document, the changes kept for undo and the note conflicts now name ``new``,
    as a replay through the alias would. In the caller's transaction."""
    conn.execute("UPDATE state SET id=? WHERE id=?", (new, old))
    needle = orjson.dumps(old)
    rows = conn.execute("SELECT key, doc FROM history WHERE instr(doc, ?)", (needle,))
    for key, doc in rows.fetchall():
        change = Change.from_doc(orjson.loads(doc))
        entries = [{**e, "id": new} if e["id"] == old else e for e in change.entries]
        moved = replace(change, entries=entries)
        conn.execute("UPDATE history SET doc=? WHERE key=?", (orjson.dumps(moved.to_doc()), key))
    row = conn.execute("SELECT v FROM meta WHERE k='note_conflicts'").fetchone()
    if row is not None and needle in row[0]:
        found = [{**r, "id": new} if r["id"] == old else r for r in orjson.loads(row[0])]
        conn.execute("UPDATE meta SET v=? WHERE k='note_conflicts'", (orjson.dumps(found),))


def has_state(conn: sqlite3.Connection, pid: str) -> bool:
    """Whether the cache's state mirror names ``pid``: a state document, a change kept for
    undo or a note conflict (then uniting it with another paper replays the state)."""
    if conn.execute("SELECT 1 FROM state WHERE id=?", (pid,)).fetchone() is not None:
        return True
    needle = orjson.dumps(pid)
    if conn.execute("SELECT 1 FROM history WHERE instr(doc, ?) LIMIT 1", (needle,)).fetchone():
        return True
    row = conn.execute("SELECT v FROM meta WHERE k='note_conflicts'").fetchone()
    return row is not None and needle in (row[0] if isinstance(row[0], bytes) else b"")
