"""Project-wide rules: lint is clean, the domain half never imports Textual."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_ruff_check_and_format_are_clean() -> None:
    for cmd in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_domain_modules_do_not_import_textual() -> None:
    code = (
        "import sys; sys.modules['textual'] = None\n"
        "import tui.models, tui.feeds, tui.library, tui.export, tui.sources, tui.cli\n"
        "import tui.importing, tui.services, tui.tags, tui.history, tui.recovery\n"
        "import tui.frame, tui.prepaint\n"
        "tui.feeds.formats()\n"
        "assert not any(m.startswith('textual') for m in sys.modules if sys.modules[m])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_command_imports_what_a_command_needs_when_it_runs() -> None:
    """`papertui` (which mostly opens the app) starts without the importers, urllib, the
    doctor or Rich's tables and progress bars; the commands that use them import them."""
    code = "import sys, tui.cli; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = set(result.stdout.split())
    assert "tui.library" in modules
    later = {
        "tui.sources",
        "tui.importing",
        "tui.clipboard",
        "tui.files",
        "tui.library.doctor",
        "urllib.request",
        "http.client",
        "rich.progress",
        "rich.table",
        "textual",
    }
    assert sorted(later & modules) == []


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert command in readme
