"""The user's config file: one TOML file for every part of papertui that reads settings.

``$PAPERTUI_CONFIG``, else ``config.toml`` in the user config directory (platformdirs). Its
tables: ``[fetch]`` (the sources, `tui.fetch`) and ``[keys]`` (a keymap, `tui.keys`). Read
with the standard library's ``tomllib`` (``tomli`` before Python 3.11).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .text import clean_line


class ConfigError(Exception):
    """The config file cannot be used: ``str()`` is one line naming the file (and line)."""


def config_path() -> Path:
    """``$PAPERTUI_CONFIG``, else ``config.toml`` in the user config directory."""
    env = os.environ.get("PAPERTUI_CONFIG", "")
    if env.strip():
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("papertui", appauthor=False)) / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The TOML document at ``path`` as a dict of its tables. FileNotFoundError when there is
    no file; ConfigError (one line naming the file, and the line of a syntax error) when it
    cannot be read or is not TOML."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (expected a TOML file)") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {clean_line(str(err))} (expected TOML)") from None
