"""This machine's device id: what makes the names of the library files it writes unique.

Every file of a library's truth is named ``<device>-<NNNNNNNN>.json`` (see truth.py), so two
machines writing to one library folder (through a file-sync tool or git) never write the same
name. The id is made the first time papertui runs on a machine and kept in the user data
directory (platformdirs); ``$PAPERTUI_DEVICE`` overrides it (tests, or a user who wants
readable names such as ``laptop``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
from functools import cache
from pathlib import Path

import platformdirs

from .storage import LibraryError

# Lower-case letters, digits, "_" and "-"; starts with a letter or digit; at most 32 long.
DEVICE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
ENV = "PAPERTUI_DEVICE"


def _host() -> str:
    name = re.sub(r"[^a-z0-9]+", "", socket.gethostname().split(".")[0].lower())
    return name[:12] or "device"


def device_file() -> Path:
    """Where this machine's device id is kept."""
    return Path(platformdirs.user_data_dir("papertui")) / "device"


@cache
def device_id() -> str:
    """This machine's device id (`DEVICE_RE`): ``$PAPERTUI_DEVICE``, else the one kept in
    `device_file`, made there the first time (host name + 6 random hex digits). Where the
    file cannot be written, an id derived from the host name and user (stable, not random).
    LibraryError when ``$PAPERTUI_DEVICE`` is not a valid id."""
    given = os.environ.get(ENV)
    if given is not None:
        if not DEVICE_RE.match(given):
            raise LibraryError(
                f"${ENV}={given!r}: a device id is 1-32 lower-case letters, digits, _ or -"
            )
        return given
    path = device_file()
    with contextlib.suppress(OSError, UnicodeDecodeError):
        found = path.read_text(encoding="utf-8").strip()
        if DEVICE_RE.match(found):
            return found
    made = f"{_host()}-{secrets.token_hex(3)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(made + "\n")
        return made
    except FileExistsError:  # another papertui made it at the same moment: take that one
        with contextlib.suppress(OSError, UnicodeDecodeError):
            found = path.read_text(encoding="utf-8").strip()
            if DEVICE_RE.match(found):
                return found
    except OSError:
        pass
    stable = hashlib.sha1(f"{socket.gethostname()}:{os.getuid()}".encode()).hexdigest()[:6]
    return f"{_host()}-{stable}"
