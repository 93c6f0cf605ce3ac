"""Where papertui's library lives by default, for the CLI, the app and the start-up path.

Kept apart from `tui.cli` so that opening the app (`tui.start`) and the app itself find the
library without importing the CLI (argparse, Rich's console, the exporters).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from .library import LibraryError


def default_db() -> Path:
    """The library used when neither --db nor PAPERTUI_DB says otherwise.

    Raises LibraryError when PAPERTUI_DB is set but blank (it would name a folder " ")."""
    env = os.environ.get("PAPERTUI_DB")
    if env is not None and env != "":
        if not env.strip():
            raise LibraryError("PAPERTUI_DB is blank: unset it or give a library directory")
        return Path(env).expanduser()
    return user_library()


def user_library() -> Path:
    """The library in the user data directory (its parent folders are papertui's to make)."""
    return Path(user_data_dir("papertui", appauthor=False)) / "library"
