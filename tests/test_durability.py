"""Crashes, failed writes and concurrent processes never lose or mix library data."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tui.library import Library, LibraryError, storage
from tui.library import state as library_state
from tui.library.cache import remove_database
from tui.library.storage import WriteLock

from .conftest import FEEDS, import_files

GROUP = 5


def _group(lib_ids: list[str], gen: int) -> list[str]:
    start = (gen * GROUP) % (len(lib_ids) - GROUP)
    return lib_ids[start : start + GROUP]


def _writer(root: str, ids: list[str], start_gen: int, done: Any = None) -> None:
    """Child process: bulk changes, one generation after another, until killed; ``done``
    (a shared int) is set to each generation once it is saved."""
    library_state.CHECKPOINT_EVERY = 7  # exercise checkpoints (and their crash windows) often
    lib = Library.open(root)
    gen = start_gen
    while True:
        gen += 1
        lib.set_state(_group(ids, gen), f"gen-{gen}", note=f"g{gen}", starred=gen % 2 == 0)
        if done is not None:
            done.value = gen


def _expected_notes(ids: list[str], last_gen: int) -> dict[str, tuple[str, bool]]:
    state: dict[str, tuple[str, bool]] = {}
    for gen in range(1, last_gen + 1):
        for pid in _group(ids, gen):
            state[pid] = (f"g{gen}", gen % 2 == 0)
    return state


def _last_gen(lib: Library) -> int:
    labels = [c.label for c in lib.history() if c.undo_of is None]
    return int(labels[-1].split("-")[1]) if labels else 0


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_old_or_new_state(sample_library: Library) -> None:
    root = str(sample_library.root)
    ids = sorted(sample_library)
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20261122)
    kills = 0
    for i in range(200):
        before = Library.open(root)
        start = _last_gen(before)
        before.close()
        done = ctx.Value("q", 0)
        child = ctx.Process(target=_writer, args=(root, ids, start, done))
        child.start()
        if i % 2:  # every other kill comes after the child has saved a generation, at a
            # random moment of a later write (the others may land while it opens)
            while done.value <= start and child.is_alive():
                time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.06))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        kills += 1
        lib = Library.open(root)  # never raises: every file is whole
        last = _last_gen(lib)
        assert last >= start
        expected = _expected_notes(ids, last)
        actual = {
            pid: (lib.state(pid).note, lib.state(pid).starred)
            for pid in ids
            if not lib.state(pid).is_default()
        }
        assert actual == expected, f"after kill {kills}: state is not that of generation {last}"
        lib.close()
    assert kills == 200
    assert _last_gen(Library.open(root)) > 50  # the writer made real progress meanwhile


def _new_feed(directory: Path) -> Path:
    """A feed of papers the sample library does not have yet."""
    feed = directory / "new.txt"
    text = (FEEDS / "arxivdaily-image-generation.txt").read_text(encoding="utf-8")
    feed.write_text(text.replace("2606.19", "2607.29"), encoding="utf-8")
    return feed


def _fail(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EIO, f"simulated {step} failure")

    if step == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", boom)
    elif step == "fsync":
        monkeypatch.setattr(os, "fsync", boom)
    elif step == "replace":
        monkeypatch.setattr(os, "replace", boom)


@pytest.mark.parametrize("step", ["mkstemp", "fsync", "replace"])
@pytest.mark.parametrize("operation", ["star", "import", "checkpoint"])
def test_failure_at_each_step_of_a_write_keeps_the_previous_library(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch, step: str, operation: str
) -> None:
    root = sample_library.root
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "note", note="keep me")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    if operation == "checkpoint":
        monkeypatch.setattr(library_state, "CHECKPOINT_EVERY", 2)
    _fail(step, monkeypatch)
    with pytest.raises(LibraryError) as err:
        if operation == "import":
            import_files(sample_library, [_new_feed(root.parent)])
        else:
            sample_library.set_state([pid], "star", starred=True)
    monkeypatch.undo()
    assert "could not save" in str(err.value)
    assert [p for p in root.rglob(".tmp-*")] == []
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if not p.name.startswith(".lock")} == {
        p: b for p, b in before.items() if not p.name.startswith(".lock")
    }
    reopened = Library.open(root)
    assert reopened.state(pid).note == "keep me" and not reopened.state(pid).starred


def test_import_failure_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = Library.open(tmp_path / "lib")
    _fail("fsync", monkeypatch)
    with pytest.raises(LibraryError, match="could not save"):
        import_files(lib, [FEEDS / "digest-dit-acceleration.txt"])
    monkeypatch.undo()
    assert len(Library.open(tmp_path / "lib")) == 0
    assert list((tmp_path / "lib" / "papers").iterdir()) == []


def _run_cli(args: list[str], fsize: int | None = None, env: dict | None = None):
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["star", "import"])
def test_file_size_limit_hit_mid_write(sample_library: Library, command: str) -> None:
    """RLIMIT_FSIZE makes the write fail part-way (like a full disk)."""
    root = sample_library.root
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "tag", add_tags=["keep"])
    before = {p: p.read_bytes() for p in root.rglob("*.json")}
    if command == "star":
        args = ["star", pid, "--db", str(root)]
    else:
        args = ["import", str(_new_feed(root.parent)), "--db", str(root)]
    result = _run_cli(args, fsize=120)
    assert result.returncode == 1, result.stdout
    assert "could not save" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in root.rglob("*.json")} == before
    assert [p for p in root.rglob(".tmp-*")] == []
    reopened = Library.open(root)
    assert reopened.state(pid).tags == ["keep"] and not reopened.state(pid).starred


@pytest.mark.parametrize(
    "damage",
    ["truncated", "trailing", "nul", "empty", "foreign"],
)
def test_damaged_library_file_is_named_and_never_overwritten(
    sample_library: Library, damage: str
) -> None:
    root = sample_library.root
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "star", starred=True)
    (segment,) = sorted((root / "papers").iterdir())[:1]
    good = segment.read_bytes()
    bad = {
        "truncated": good[: len(good) // 2],
        "trailing": good + b"garbage",
        "nul": good[:100] + b"\x00" * 50 + good[150:],
        "empty": b"",
        "foreign": json.dumps({"hello": "world"}).encode(),
    }[damage]
    segment.write_bytes(bad)
    # The cache already holds that import, so it reads on without it, but never writes the
    # damaged file; and doctor names it.
    for args in (["list"], ["star", pid]):
        result = _run_cli([*args, "--db", str(root)])
        assert "Traceback" not in result.stderr and segment.read_bytes() == bad
    doctor = _run_cli(["doctor", "--db", str(root)])
    assert doctor.returncode == 1 and str(segment) in doctor.stdout
    # Once the cache is gone (a new machine, a deleted cache), it must be rebuilt from the
    # truth files: every command names the damaged one and changes nothing.
    remove_database(sample_library.cache.path)
    for args in (["list"], ["star", pid], ["import", str(FEEDS / "hf-daily-papers.txt")]):
        result = _run_cli([*args, "--db", str(root)])
        assert result.returncode == 1
        assert str(segment) in result.stderr and "Traceback" not in result.stderr
        assert segment.read_bytes() == bad
    doctor = _run_cli(["doctor", "--db", str(root)])
    assert doctor.returncode == 1 and str(segment) in doctor.stdout


def test_doctor_repair_restores_state_from_backup(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_state, "CHECKPOINT_EVERY", 5)
    ids = sorted(sample_library)[:12]
    for pid in ids:
        sample_library.set_state([pid], "star", starred=True)
    # The newest checkpoint is damaged; the previous one and the changes since it are kept.
    points = sorted((sample_library.root / "state").iterdir())
    assert len(points) == 2
    newest = points[-1]
    newest.write_bytes(newest.read_bytes()[:-20])
    remove_database(sample_library.cache.path)  # (so nothing is read from the cache)
    result = _run_cli(["doctor", "--repair", "--db", str(sample_library.root)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"moved damaged {newest}" in result.stdout
    assert "the state is rebuilt from the previous checkpoint" in result.stdout
    lib = Library.open(sample_library.root)
    assert all(lib.state(pid).starred for pid in ids)
    assert list((sample_library.root / "quarantine").iterdir())


def _tagger(root: str, name: str, count: int, ids: list[str]) -> None:
    lib = Library.open(root, lock_timeout=30)
    for i in range(count):
        lib.set_state([ids[i % len(ids)]], f"{name}-{i}", add_tags=[f"{name}{i}"])


@pytest.mark.slow
def test_two_processes_300_changes_each_lose_nothing(sample_library: Library) -> None:
    root = str(sample_library.root)
    ids = sorted(sample_library)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_tagger, args=(root, n, 300, ids)) for n in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    tags = Library.open(root).all_tags()
    assert {f"a{i}" for i in range(300)} <= set(tags)
    assert {f"b{i}" for i in range(300)} <= set(tags)
    assert sum(tags.values()) == 600


def test_two_imports_started_together_both_store_everything(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    Library.open(db)
    feeds = [FEEDS / "hf-daily-papers.txt", FEEDS / "arxivdaily-image-generation.txt"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tui", "import", str(f), "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for f in feeds
    ]
    for p in procs:
        p.wait(60)
        assert p.returncode == 0, p.stderr.read() if p.stderr else ""
    assert len(Library.open(db)) == 82 + 4


def test_writer_that_cannot_get_the_lock_names_the_holder(sample_library: Library) -> None:
    pid = sorted(sample_library)[0]
    with WriteLock(sample_library.root).held():
        result = _run_cli(
            ["star", pid, "--db", str(sample_library.root)],
            env={"PAPERTUI_LOCK_TIMEOUT": "0.5"},
        )
    assert result.returncode == 1
    assert f"locked by process {os.getpid()}" in result.stderr
    assert not Library.open(sample_library.root).state(pid).starred


def test_the_holder_named_is_the_one_holding_not_the_last_writer(
    sample_library: Library,
) -> None:
    """Found by a newcomer: after the app wrote once (its pid recorded), another program
    holding the lock was reported as the app."""
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "read", read=True)  # (this process's id recorded)
    lock = sample_library.root / ".lock"
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"])
    try:
        deadline = time.monotonic() + 30
        while not _held(lock):
            assert time.monotonic() < deadline, "flock never took the lock"
            time.sleep(0.02)
        result = _run_cli(
            ["star", pid, "--db", str(sample_library.root)],
            env={"PAPERTUI_LOCK_TIMEOUT": "0.5"},
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"locked by process {holder.pid}" in result.stderr, result.stderr
    assert str(os.getpid()) not in result.stderr


def _held(lock: Path) -> bool:
    import fcntl

    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_lock_is_not_held_while_reading(sample_library: Library) -> None:
    """An open library (like the app) does not block another process's writes."""
    pid = sorted(sample_library)[0]
    result = _run_cli(
        ["star", pid, "--db", str(sample_library.root)], env={"PAPERTUI_LOCK_TIMEOUT": "0.5"}
    )
    assert result.returncode == 0, result.stderr
    assert sample_library.refresh() and sample_library.state(pid).starred


def test_atomic_write_fsyncs_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    storage.atomic_write(tmp_path / "f.json", b"{}")
    assert any(".tmp-f.json" in s for s in synced) and str(tmp_path) in synced


def _multi_segment_library(root: Path) -> Library:
    lib = Library.open(root)
    for path in sorted(p for p in FEEDS.iterdir() if p.is_file()):
        import_files(lib, [path])  # a segment each
    lib.set_state(sorted(lib)[:3], "star", starred=True)
    return lib


def _view(lib: Library) -> tuple[list[str], list[str], list[str], dict[str, dict]]:
    """What a user sees: ids in stored order, two searches, and every paper's state."""
    ids = list(lib)
    return (
        ids,
        list(lib.query("diffusion")),
        list(lib.query("is:starred")),
        {p: lib.raw_state(p) for p in ids},
    )


def test_doctor_rebuilds_a_damaged_search_cache(tmp_path: Path) -> None:
    """The search index lives in the derived cache: damage to it is found by doctor and
    repaired by rebuilding it from the truth files, with the same ids, results and state."""
    lib = _multi_segment_library(tmp_path / "lib")
    root = lib.root
    before = _view(lib)
    truth = {p: p.read_bytes() for p in root.rglob("*.json")}
    healthy = _run_cli(["doctor", "--db", str(root)])
    assert healthy.returncode == 0, healthy.stdout
    cache = lib.cache.path
    lib.close()
    data = bytearray(cache.read_bytes())
    data[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)  # pages of the database overwritten
    cache.write_bytes(bytes(data))
    found = _run_cli(["doctor", "--db", str(root)])
    assert found.returncode == 1
    assert f"{cache}: the cache database" in found.stdout
    repaired = _run_cli(["doctor", "--repair", "--db", str(root)])
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "rebuilt the cache" in repaired.stdout
    assert _run_cli(["doctor", "--db", str(root)]).returncode == 0
    assert _view(Library.open(root)) == before
    assert {p: p.read_bytes() for p in root.rglob("*.json")} == truth
    assert not (root / "quarantine").exists()  # a derived file is rebuilt, not set aside


@pytest.mark.parametrize("damage", ["missing", "garbage", "empty"])
def test_a_lost_or_unreadable_cache_is_rebuilt_on_open(tmp_path: Path, damage: str) -> None:
    lib = _multi_segment_library(tmp_path / "lib")
    root = lib.root
    before = _view(lib)
    cache = lib.cache.path
    lib.close()
    if damage == "missing":
        remove_database(cache)
    else:
        remove_database(cache)
        cache.write_bytes(b"" if damage == "empty" else b"not a database" * 100)
    assert _view(Library.open(root)) == before
    assert _run_cli(["doctor", "--db", str(root)]).returncode == 0
    rebuilt = _run_cli(["doctor", "--rebuild", "--db", str(root)])
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert _view(Library.open(root)) == before
