"""Writing a file the user named (an export): atomically, and never harming what is there.

The library's own files are written by `tui.library.storage.atomic_write` (private, mode
0600, in directories papertui owns). A file the user names is theirs, so `write_user_file`
treats it the way a careful editor does:

- a new file gets the mode the user's umask (and the folder's default ACL) gives it;
- an existing file keeps its permission bits, and its owner and group where the process may
  set them (an export meant for a group stays readable by the group);
- a symlink is followed: its target is replaced, the link itself stays a link;
- anything that is not a regular file (a directory, FIFO, device or socket) is refused, so
  ``-o /dev/sda`` as root cannot replace a device node and ``-o fifo`` cannot hang;
- a file the user may not write (mode 0444) is refused, as the shell's ``>`` would refuse it;
- the content goes to a temporary file beside the target, is flushed to disk, then renamed
  over it: a reader sees the old file or the new one, and a failure leaves the old one intact.

No Textual here: the CLI and the app both call it. Own code rather than a package: the
usual one, atomicwrites (unmaintained since 2022), renames a 0600 temp file over whatever the
path is, the very fault fixed here, and the rest of the rules are a few `os` calls.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from .text import printable

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class OutputError(Exception):
    """A user-named file could not be written; ``str()`` is one line, control characters
    shown escaped; the file on disk is as it was before."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _reason(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "the disk is full"
    if err.errno == errno.EFBIG:
        return "the file is larger than the file size limit"
    if err.errno == errno.EDQUOT:
        return "the disk quota is exceeded"
    return err.strerror or str(err)


def resolve_target(path: Path) -> tuple[Path, os.stat_result | None]:
    """The file a write to ``path`` must replace, and its status (None when it is new).

    Follows symlinks (a dangling link names the file to create). Raises OutputError when
    the target exists and is not a regular file, is not writable, or its folder is missing.
    """
    shown = printable(str(path))
    try:
        st: os.stat_result | None = os.stat(path)  # follows links, /dev/stdout's too
    except FileNotFoundError:
        st = None  # a new file, or a dangling link to one
    except OSError as err:  # ELOOP, EACCES on a folder on the way, ENOTDIR
        raise OutputError(f"{shown}: cannot be written ({_reason(err)})") from None
    target = Path(os.path.realpath(path))
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            hint = (
                "a file in it" if stat.S_ISDIR(st.st_mode) else "a file, or - for standard output"
            )
            raise OutputError(
                f"{shown}: is {_kind(st.st_mode)}, not a regular file; left alone (give {hint})"
            )
        if not os.access(target, os.W_OK):
            raise OutputError(f"{shown}: is read-only (permission denied); nothing was written")
    elif not target.parent.is_dir():
        raise OutputError(
            f"{shown}: the folder {printable(str(target.parent))} does not exist; "
            "nothing was written"
        )
    return target, st


def _create_temp(directory: Path, mode: int) -> tuple[int, Path]:
    """A new, exclusive temp file in ``directory``; the umask applies to ``mode``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = directory / f".papertui-{secrets.token_hex(6)}.tmp"  # short: any name fits
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(directory))


def write_user_file(path: Path | str, data: bytes) -> Path:
    """Replace the file at ``path`` (a symlink's target) with ``data``; returns that file.

    New files get mode 0666 less the umask; an existing regular file keeps its permission
    bits and, where allowed, its owner and group. Raises OutputError (one line, naming
    ``path``) when the target is not a regular file, is read-only, its folder is missing, or
    the write fails (disk full, file size limit); the existing file is then untouched and no
    temporary file is left behind.
    """
    path = Path(path)
    target, st = resolve_target(path)
    shown = printable(str(path))
    directory = target.parent
    try:
        fd, tmp = _create_temp(directory, 0o600 if st else 0o666)
    except OSError as err:
        raise OutputError(
            f"{shown}: cannot create a file in {printable(str(directory))} ({_reason(err)}); "
            "nothing was written"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if st is not None:
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(handle.fileno(), st.st_uid, st.st_gid)
                with contextlib.suppress(OSError):  # a group the user belongs to
                    os.fchown(handle.fileno(), -1, st.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(st.st_mode) & 0o777)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            kept = "the previous version is intact" if st else "nothing was written"
            raise OutputError(f"{shown}: could not be written ({_reason(err)}); {kept}") from None
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target
