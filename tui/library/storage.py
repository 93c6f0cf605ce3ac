"""Crash-safe files for the library: atomic writes, strict reads, an inter-process lock.

Every file of a library is a TinyDB document (tables of documents plus a ``_meta`` table that
carries the schema version) serialised with orjson. Files are written once, whole, through
`atomic_write`: a temp file in the same directory, flush, fsync, ``os.replace``, then an fsync of
the directory. A reader therefore sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage, Storage

SCHEMA_VERSION = 3  # the newest file schema this papertui reads (3: engine 2, truth.py)
# What `dump` writes unless told otherwise: schema 1 files are read by every papertui. A file
# holding what a papertui from before schema 2 would silently misread (a note stored as an
# edit, see core.py) is written as schema 2, which those versions refuse to read.
BASE_SCHEMA = 1
TMP_PREFIX = ".tmp-"


class LibraryError(Exception):
    """The library cannot be opened or written; ``str()`` is a one-line message for people."""


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> int:
    """Replace ``path`` with ``data`` atomically and durably; returns the bytes written.

    On any failure (disk full, file size limit, fsync or rename error) the temp file is
    removed, ``path`` keeps its previous content, and LibraryError says what happened.
    """
    directory = path.parent
    existed = path.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as err:
        reason = "the disk is full" if err.errno == errno.ENOSPC else err.strerror or str(err)
        kept = "the previous version is intact" if existed else "nothing was written"
        raise LibraryError(f"{path}: could not save ({reason}); {kept}") from None
    fsync_dir(directory)
    return len(data)


def backup(path: Path) -> Path:
    """Keep the current ``path`` as ``path.bak`` (atomically: the old .bak or the new one)."""
    bak = path.with_name(path.name + ".bak")
    tmp = path.with_name(TMP_PREFIX + path.name + ".bak")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copy2(path, tmp)
    os.replace(tmp, bak)
    return bak


def dump(tables: dict[str, dict[str, Any]], schema: int = BASE_SCHEMA) -> bytes:
    """Serialise TinyDB tables (``{table: {doc_id: doc}}``) plus the file's schema version."""
    data = {"_meta": {"1": {"schema": schema}}, **tables}
    return orjson.dumps(data)


def load(path: Path, raw: bytes | None = None) -> dict[str, dict[str, Any]]:
    """Read one library file strictly (or parse its bytes ``raw``, already read): any damage
    is a LibraryError naming the file."""
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise LibraryError(f"{path}: cannot be read ({err.strerror})") from None
    if not raw.strip():
        raise LibraryError(
            f"{path}: the file is empty; "
            "`papertui doctor` says what --repair would do (it sets files aside, never deletes)"
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise LibraryError(
            f"{path}: damaged ({err.msg} at byte {err.pos}); "
            "`papertui doctor` says what --repair would do (it sets files aside, never deletes)"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("_meta"), dict):
        raise LibraryError(f"{path}: not a papertui library file")
    schema = next(iter(data["_meta"].values()), {}).get("schema")
    if not (type(schema) is int and BASE_SCHEMA <= schema <= SCHEMA_VERSION):
        if type(schema) is int and schema > SCHEMA_VERSION:
            raise LibraryError(f"{path}: written by a newer papertui (schema {schema})")
        raise LibraryError(f"{path}: not a papertui library file (schema {schema!r})")
    return data


def table_docs(data: dict[str, dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """The documents of one table in document-id order."""
    docs = data.get(table) or {}
    return [docs[k] for k in sorted(docs, key=int)]


def build_tables(**tables: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Lay out documents the way TinyDB stores them, using TinyDB itself (in memory)."""
    db = TinyDB(storage=MemoryStorage)
    for name, docs in tables.items():
        db.table(name).insert_multiple(docs)
    return {name: (db.storage.read() or {}).get(name, {}) for name in tables}


class TinyFile(Storage):
    """TinyDB storage over one library file: strict reads (`load`), atomic fsynced orjson
    writes (`atomic_write`) stamped with the file's schema. ``bytes_written`` counts what
    it wrote. Use it under TinyDB's ``CachingMiddleware`` to write a file once, on close."""

    def __init__(self, path: str, access_mode: str = "r+", schema: int = SCHEMA_VERSION) -> None:
        self.path = Path(path)
        self.access_mode = access_mode
        self.schema = schema
        self.bytes_written = 0

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self.path.exists() and self.access_mode != "r":
            return None
        return load(self.path)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self.access_mode == "r":
            raise LibraryError(f"{self.path}: opened read-only")
        tables = {k: v for k, v in data.items() if k != "_meta"}
        self.bytes_written += atomic_write(self.path, dump(tables, self.schema))


class ReadOnlyStorage(Storage):
    """TinyDB storage over one library file, for tools that want TinyDB's query API."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        return load(self.path)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise LibraryError(f"{self.path}: opened read-only")


def read_only_message(root: Path, err: OSError) -> str:
    """One line saying the library at ``root`` cannot be written, and why."""
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = "read-only file system" if err.errno == errno.EROFS else "no write permission"
        return f"{root}: the library is read-only ({why}); nothing was changed"
    return f"{root}: cannot write to the library ({err.strerror or err}); nothing was changed"


def is_writable(root: Path) -> bool:
    """Whether this process may write in the library directory ``root``."""
    return os.access(root, os.W_OK | os.X_OK)


def _flock_holder(path: Path) -> str | None:
    """The pid holding a flock on ``path`` per /proc/locks ("" when the kernel lists none:
    the holder is gone or not known), or None where there is no /proc/locks to ask."""
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            listing = handle.read()
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in listing.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 5337 08:01:1234 0 EOF" ("->" marks a waiter)
        if len(fields) >= 6 and "->" not in fields[1] and fields[1] == "FLOCK":
            if fields[5].lower() == wanted.lower():
                return fields[4]
    return ""


class WriteLock:
    """The exclusive inter-process lock taken only while the library is being written."""

    def __init__(self, root: Path, timeout: float = 5.0) -> None:
        self.path = root / ".lock"
        self.owner = root / ".lock.owner"
        self.timeout = timeout
        self._file_lock: Any = None  # a filelock.FileLock, made on the first write (`_lock`)
        self._making = threading.Lock()

    @property
    def _lock(self) -> Any:
        """The FileLock, made (and `filelock` imported) when first needed: a library that is
        opened to be read, or an app before its first paint, takes no lock."""
        if self._file_lock is None:
            with self._making:
                if self._file_lock is None:
                    from filelock import FileLock

                    self._file_lock = FileLock(str(self.path), timeout=self.timeout)
        return self._file_lock

    def holder(self) -> str:
        """The id of the process holding the lock: as the kernel says (Linux: /proc/locks),
        else as last recorded in the owner file (which keeps the last papertui writer's id
        after it let go); "" when unknown."""
        held = _flock_holder(self.path)
        if held is not None:
            return held
        with contextlib.suppress(OSError):
            return self.owner.read_text().strip()
        return ""

    def _record_owner(self) -> None:
        """Write this process's id to the owner file, unless it says so already: rewriting
        (truncating) a file on every keystroke's write cost more than the change's own
        fsync on ext4, which flushes a truncated file's data when it is closed."""
        mine = f"{os.getpid()}\n"
        with contextlib.suppress(OSError):
            with open(self.owner, encoding="ascii", errors="replace") as handle:
                if handle.read(64) == mine:
                    return
        with contextlib.suppress(OSError):
            self.owner.write_text(mine)

    @contextlib.contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for a write, waiting up to ``timeout`` s (default: the library's).

        LibraryError when it is held elsewhere past the timeout (naming the process that
        holds it), or cannot be taken at all (a read-only library: nothing can be written)."""
        from filelock import Timeout

        wait = self.timeout if timeout is None else timeout
        try:
            self._lock.acquire(timeout=wait)
        except Timeout:  # (a TimeoutError, so an OSError: caught first)
            holder = self.holder()
            who = f" by process {holder}" if holder else ""
            raise LibraryError(
                f"{self.path.parent}: the library is locked{who}; "
                f"waited {wait:g} s, try again when it finishes"
            ) from None
        except OSError as err:
            raise LibraryError(read_only_message(self.path.parent, err)) from None
        try:
            if getattr(self._lock, "lock_counter", 1) == 1:  # (not again when nested)
                self._record_owner()
            yield
        finally:
            self._lock.release()
