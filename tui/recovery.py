"""Notes the library could not take, kept in a file of their own so they are never lost.

When the app ends (quit anyway, a signal, a crash) with notes it could not store (a full disk,
a lock another process held too long, a library made read-only), their text is written to a
new Markdown file: in the library's ``recovered/`` folder when possible (no lock is needed: the
name is new), else in the user state directory, else in the temp directory. The app says
where, and announces such files when it next opens the library; `papertui doctor` lists them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_state_dir

RECOVERED = "recovered"  # the folder in a library


def recovered_files(root: Path) -> list[Path]:
    """The files of rescued notes of the library at ``root``, oldest first: those in its
    ``recovered/`` folder, and those written elsewhere (when the library could not take
    them) that name this library."""
    found: list[Path] = []
    for folder in _folders(root):
        with contextlib.suppress(OSError):
            for path in sorted(folder.iterdir()):
                if not (path.is_file() and path.suffix == ".md"):
                    continue
                if folder == root / RECOVERED:
                    found.append(path)
                elif path.name.startswith("papertui-notes-") and _names(path, root):
                    found.append(path)
    return found


def _names(path: Path, root: Path) -> bool:
    """Whether the rescue file at ``path`` holds notes of the library at ``root``."""
    with contextlib.suppress(OSError), path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", "replace")
        return f"\nLibrary: {_where(root)}\n" in head
    return False


def render(notes: Mapping[str, str], titles: Mapping[str, str], root: Path, when: str) -> str:
    """The rescue file's text: a heading per paper (id and title) and the note as typed."""
    parts = [
        f"# Notes papertui could not save ({when})\n\n"
        f"Library: {_where(root)}\n\n"
        "Copy each note back into its paper (press e on the paper in papertui), then delete "
        "this file.\n"
    ]
    for pid, text in notes.items():
        parts.append(f"\n## {pid} — {titles.get(pid, '')}\n\n{text}\n")
    return "".join(parts)


def _where(root: Path) -> Path:
    """The library's absolute path, as rescue files name it."""
    with contextlib.suppress(OSError):
        return root.resolve()
    return root.absolute()


def _folders(root: Path) -> Iterable[Path]:
    yield root / RECOVERED
    yield Path(user_state_dir("papertui", appauthor=False)) / RECOVERED
    yield Path(tempfile.gettempdir())  # (only files named papertui-notes-* are ours there)


def compact(notes: Mapping[str, str], root: Path) -> str:
    """The rescue file's text at its smallest: the library and each note under its paper's
    id (what `render` writes, less the instructions and the titles)."""
    return f"# papertui notes\nLibrary: {_where(root)}\n" + "".join(
        f"\n## {pid}\n\n{text}\n" for pid, text in notes.items()
    )


def rescue(notes: Mapping[str, str], titles: Mapping[str, str], root: Path) -> Path | None:
    """Write ``notes`` (paper id → text) to a new file; its path, or None when no folder
    could take it (then the caller prints them). When no folder takes the whole file (a
    disk or quota that refused the library's smaller write already), its `compact` form is
    tried in each. Never raises for a write that failed."""
    if not notes:
        return None
    now = datetime.now(timezone.utc)
    name = f"notes-{now.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.md"
    whole = render(notes, titles, root, now.strftime("%Y-%m-%d %H:%M UTC"))
    for text in (whole, compact(notes, root)):
        path = _write_new(text.encode("utf-8", "replace"), name, root)
        if path is not None:
            return path
    return None


def _new_file(first: Path) -> tuple[int, Path]:
    """A new file (its descriptor and path): ``first``, or when a file of that name exists
    (a second rescue in the same second, by the same process) ``first`` with -2, -3 … after
    its stem. OSError as `os.open`'s (FileExistsError after 99 such names)."""
    for n in range(1, 100):
        path = first if n == 1 else first.with_name(f"{first.stem}-{n}{first.suffix}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(first)


def _write_new(text: bytes, name: str, root: Path) -> Path | None:
    """Write ``text`` to a new file ``name`` in the first of the rescue folders that takes
    it whole; its path, or None."""
    for folder in _folders(root):
        first = folder / (name if folder == root / RECOVERED else "papertui-" + name)
        made = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, path = _new_file(first)
        except OSError:
            if made:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # (an empty folder made for nothing)
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink()
            if made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            continue
        return path
    return None
