"""A library of the earlier papertui in a folder two machines share (Syncthing, Dropbox), both
upgraded: what the first machine's migration wrote, and the changes it made since, arrive at
the second before its new marker does (Syncthing pulls files in random order). The second
machine's migration took them for its own interrupted migration's leftovers and deleted them,
and the sync tool deleted them on the first machine too: its star and note were lost. Found
by an adversary helper (advA) copying the files by hand as a sync tool would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEGACY = Path(__file__).resolve().parent / "legacy"


def papertui(root: Path, device: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PAPERTUI_DEVICE": device},
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("arrived", [("papers", "changes"), ("papers", "changes", "state")])
def test_a_migration_keeps_what_another_machine_migrated_and_changed(
    tmp_path: Path, arrived: tuple[str, ...]
) -> None:
    laptop, desk = tmp_path / "laptop", tmp_path / "desk"
    shutil.copytree(LEGACY / "v2-small", laptop)
    shutil.copytree(LEGACY / "v2-small", desk)
    listed = papertui(laptop, "laptop", "list", "--json")  # (migrates the laptop's copy)
    assert listed.returncode == 0, listed.stderr
    pid = next(p["id"] for p in json.loads(listed.stdout) if not p["state"]["starred"])
    assert papertui(laptop, "laptop", "star", pid).returncode == 0
    assert papertui(laptop, "laptop", "note", pid, "-m", "written on the laptop").returncode == 0
    # The laptop's new files reach the desk; its marker (schema 3) has not yet.
    brought = []
    for kind in arrived:
        (desk / kind).mkdir(exist_ok=True)
        for path in (laptop / kind).iterdir():
            shutil.copy2(path, desk / kind / path.name)
            brought.append(f"{kind}/{path.name}")
    assert any(name.startswith("changes/laptop-") for name in brought)

    shown = papertui(desk, "desk", "show", pid, "--json")
    assert shown.returncode == 0, shown.stderr

    # Nothing the laptop wrote was deleted (a sync tool would delete it there too) ...
    assert [name for name in brought if not (desk / name).exists()] == []
    # ... and the desk shows the laptop's changes.
    state = json.loads(shown.stdout)["state"]
    assert (state["starred"], state["note"]) == (True, "written on the laptop")
    # Both copies agree once the desk's files reach the laptop.
    for kind in ("papers", "changes", "state"):
        for path in (desk / kind).glob("desk-*"):
            shutil.copy2(path, laptop / kind / path.name)
    there = json.loads(papertui(laptop, "laptop", "show", pid, "--json").stdout)["state"]
    assert (there["starred"], there["note"]) == (True, "written on the laptop")
    assert papertui(laptop, "laptop", "list").stdout == papertui(desk, "desk", "list").stdout
