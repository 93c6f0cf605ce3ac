"""Writes that report what they did, doctor that understands what it touches, libraries made
only where asked, and read-only libraries (issue 9, section 5).

Faults are real where the machine allows: RLIMIT_FSIZE in a subprocess (a full disk for one
file), a read-only bind mount (as root) or a folder without write permission (otherwise),
two real processes racing to create a library, a lock held by this process.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import multiprocessing.synchronize
import os
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tui.library import Library
from tui.library import core as library_core
from tui.library import state as library_state
from tui.library.storage import SCHEMA_VERSION, WriteLock

from .conftest import FEEDS, import_files


def cli(
    *args: str, fsize: int | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".lock")
    }


def truth_snapshot(root: Path) -> dict[str, bytes]:
    """`snapshot` without the derived cache (doctor --repair rebuilds it)."""
    return {k: v for k, v in snapshot(root).items() if not k.startswith(".cache/")}


# ----------------------------------------------------------------- a change kept is reported
def test_change_kept_when_the_checkpoint_after_it_fails_reports_success(
    sample_library: Library,
) -> None:
    """The star's change file fits under the size limit, the checkpoint it triggers does
    not: the star is saved, so the command says so and a retry or undo does it once."""
    lib, root = sample_library, sample_library.root
    ids = sorted(lib)
    for i in range(library_state.CHECKPOINT_EVERY - 1):  # the next change checkpoints
        lib.set_state([ids[i % len(ids)]], "tag", add_tags=[f"t{i}"])
    assert len(list((root / "changes").iterdir())) == library_state.CHECKPOINT_EVERY - 1
    target = ids[-1]
    result = cli("star", target, "--db", str(root), fsize=4096)
    assert result.returncode == 0, result.stderr
    assert "star: 1 of 1 paper changed" in result.stdout and "Traceback" not in result.stderr
    assert not list((root / "state").iterdir())  # the checkpoint really failed
    assert [p for p in root.rglob(".tmp-*")] == []
    assert Library.open(root).state(target).starred
    # Retrying changes nothing; one undo takes the star back, the next one a tag.
    assert "0 of 1 paper changed" in cli("star", target, "--db", str(root)).stdout
    assert cli("undo", "--db", str(root)).stdout.startswith("undone: star on ")
    after = Library.open(root)
    assert not after.state(target).starred
    assert after.state(ids[(library_state.CHECKPOINT_EVERY - 2) % len(ids)]).tags
    assert list((root / "state").iterdir())  # the next change folded them after all


def test_checkpoint_failure_in_process_keeps_the_change(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same rule for the API the app uses: a full disk at the checkpoint (even in the backup
    copy, which raised a bare OSError) does not turn a saved change into an error."""
    monkeypatch.setattr(library_state, "CHECKPOINT_EVERY", 2)
    ids = sorted(sample_library)
    sample_library.set_state([ids[0]], "note", note="first")
    sample_library.set_state([ids[1]], "note", note="second")  # a checkpoint: state/
    assert list((sample_library.root / "state").iterdir())
    real_replace = os.replace

    def full_for_state(src: str, dst: str) -> None:
        if Path(dst).parent.name == "state":  # a checkpoint
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_for_state)
    sample_library.set_state([ids[2]], "star", starred=True)
    assert sample_library.set_state([ids[3]], "star", starred=True) == 1  # checkpoints
    monkeypatch.undo()
    reopened = Library.open(sample_library.root)
    assert [reopened.state(p).starred for p in ids[2:4]] == [True, True]
    assert reopened.state(ids[0]).note == "first"


# ----------------------------------------------------------------- doctor and newer libraries
def _make_newer(root: Path) -> None:
    """What a future papertui (a schema above ours) would leave: a new marker and files."""
    for path in [root / "papertui.json", *sorted((root / "papers").iterdir())[-1:]]:
        data = orjson.loads(path.read_bytes())
        data["_meta"] = {"1": {"schema": SCHEMA_VERSION + 1}}
        path.write_bytes(orjson.dumps(data))


def test_doctor_repair_refuses_a_library_written_by_a_newer_papertui(
    sample_library: Library,
) -> None:
    root = sample_library.root
    sample_library.set_state([sorted(sample_library)[0]], "note", note="mine")
    _make_newer(root)
    before = snapshot(root)
    for args in (["doctor"], ["doctor", "--repair"]):
        result = cli(*args, "--db", str(root))
        assert result.returncode == 1, result.stdout
        assert "newer papertui" in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert snapshot(root) == before
    assert not (root / "quarantine").exists()
    for args in (["list"], ["star", "x"], ["import", str(FEEDS / "hf-daily-papers.txt")]):
        line = one_line_error(cli(*args, "--db", str(root)))
        assert "newer papertui" in line
    assert snapshot(root) == before


def test_doctor_leaves_a_single_newer_file_alone(sample_library: Library) -> None:
    root = sample_library.root
    segment = sorted((root / "papers").iterdir())[0]
    data = orjson.loads(segment.read_bytes())
    data["_meta"] = {"1": {"schema": SCHEMA_VERSION + 5}}
    segment.write_bytes(orjson.dumps(data))
    found = cli("doctor", "--db", str(root))
    assert found.returncode == 1 and f"{segment}: written by a newer papertui" in found.stdout
    repaired = cli("doctor", "--repair", "--db", str(root))
    assert "Traceback" not in repaired.stderr
    assert segment.exists()
    assert orjson.loads(segment.read_bytes())["_meta"]["1"]["schema"] == SCHEMA_VERSION + 5


# ----------------------------------------------------------------- interrupted imports
def _disk_full_for_heads(real_replace: object) -> object:
    def replace(src: str, dst: str) -> None:
        if Path(dst).parent.name == "papers":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)  # type: ignore[operator]

    return replace


def test_a_failed_import_leaves_none_of_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [FEEDS / "digest-dit-acceleration.txt"])
    before = snapshot(lib.root)
    monkeypatch.setattr(os, "replace", _disk_full_for_heads(os.replace))
    with pytest.raises(library_core.LibraryError, match="disk is full"):
        import_files(lib, [FEEDS / "hf-daily-papers.txt"])
    monkeypatch.undo()
    assert snapshot(lib.root) == before  # its segment and cache rows went with it
    assert cli("doctor", "--db", str(lib.root)).returncode == 0


def _killed_at_commit(root: str) -> None:
    """Child process: import, and die by SIGKILL just as the import would commit."""

    def kill_at_commit(src: str, dst: str) -> None:
        if Path(dst).parent.name == "papers":
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    real_replace = os.replace
    os.replace = kill_at_commit  # type: ignore[assignment]
    import_files(Library.open(root), [FEEDS / "hf-daily-papers.txt"])


def test_doctor_finds_the_files_of_an_import_killed_before_it_committed(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [FEEDS / "digest-dit-acceleration.txt"])
    child = multiprocessing.get_context("fork").Process(target=_killed_at_commit, args=(lib.root,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    root = lib.root
    # Its whole segment was written to a temp file, never renamed: nothing is committed.
    segments = sorted((root / "papers").iterdir())
    orphans = [p for p in segments if p.name.startswith(".tmp-")]
    assert len(orphans) == 1 and len(segments) == 2
    assert len(Library.open(root)) == 5
    found = cli("doctor", "--db", str(root))
    assert found.returncode == 1
    for orphan in orphans:
        assert f"{orphan}: unfinished write left by a crash" in found.stdout
    repaired = cli("doctor", "--repair", "--db", str(root))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not any(p.exists() for p in orphans)  # a half-written temp file: removed
    assert cli("doctor", "--db", str(root)).returncode == 0
    assert len(Library.open(root)) == 5
    assert cli("import", str(FEEDS / "hf-daily-papers.txt"), "--db", str(root)).returncode == 0
    assert len(Library.open(root)) == 5 + 82


def test_doctor_does_not_call_a_live_writers_temp_file_a_crash_leftover(
    sample_library: Library,
) -> None:
    root = sample_library.root
    temp = root / "changes" / ".tmp-00000009.json.abc"
    temp.write_bytes(b"{half a wri")
    with WriteLock(root).held():  # a writer at work (this process)
        during = cli("doctor", "--db", str(root))
        assert f"process {os.getpid()} is writing" in during.stdout
        assert "crash" not in during.stdout
        assert temp.exists()
    after = cli("doctor", "--db", str(root))
    assert f"{temp}: unfinished write left by a crash" in after.stdout


# ----------------------------------------------------------------- files doctor does not know
def test_doctor_reports_unknown_files_and_never_touches_them(sample_library: Library) -> None:
    root = sample_library.root
    sample_library.set_state([sorted(sample_library)[0]], "star", starred=True)
    segment = sorted((root / "papers").iterdir())[0]
    dev = sample_library.device
    strangers = {
        root / "papers" / f"{dev}-00000002.sync-conflict-20261129-101010-ABCDEFG.json": segment,
        root / "changes" / f"{dev}-00000001 (conflicted copy 2026-11-29).json": None,
        root / "state.sync-conflict-20261129-101010-ABCDEFG.json": None,
        root / "papers" / f"{dev}-00000003.json.orig": segment,
        root / "papers" / "٣.json": segment,  # Arabic-Indic digit: isdigit() but not ours
        root / "notes-to-self.txt": None,
    }
    for path, like in strangers.items():
        path.write_bytes(like.read_bytes() if like else b"whatever the sync tool left")
    (root / "papers" / "subfolder").mkdir()
    before = truth_snapshot(root)
    found = cli("doctor", "--db", str(root))
    assert found.returncode == 1 and "Traceback" not in found.stderr, found.stderr
    for path, like in [*strangers.items(), (root / "papers" / "subfolder", None)]:
        if like is segment:  # papers in a file of another name: what to do with them is said
            said = f"{path}: a file-sync tool's copy from another copy of this library: "
            count = len(orjson.loads(segment.read_bytes())["papers"])
            assert f"{said}{count} papers papertui has not taken in (imported from " in found.stdout
        else:
            assert f"{path}: not a papertui file" in found.stdout
    assert "remove it yourself" not in found.stdout.split("a file-sync tool's copy")[1]
    repaired = cli("doctor", "--repair", "--db", str(root))
    assert repaired.returncode == 0 and "Traceback" not in repaired.stderr, repaired.stderr
    # (repair rebuilds the derived cache; every other file is as it was)
    assert truth_snapshot(root) == before and not (root / "quarantine").exists()
    assert "left alone" in repaired.stdout
    listed = cli("list", "--db", str(root))
    assert listed.returncode == 0 and "107 papers" in listed.stderr, listed.stderr
    assert len(listed.stdout.splitlines()) == 107  # (piped: one line per paper)


# ----------------------------------------------------------------- creating a library
def _import_into(db: str, feed: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    """Child process: wait for the others, then run `papertui import FEED --db DB`."""
    from tui.cli import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    barrier.wait()
    os._exit(main(["import", feed, "--db", db]))


def test_processes_creating_one_library_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    feeds = sorted(str(p) for p in FEEDS.iterdir() if p.suffix == ".txt")
    expected = Library.open(tmp_path / "one")
    import_files(expected, [Path(f) for f in feeds])
    for attempt in range(8):
        db = str(tmp_path / f"lib{attempt}")
        barrier = ctx.Barrier(len(feeds))
        procs = [ctx.Process(target=_import_into, args=(db, f, barrier)) for f in feeds]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [p.exitcode for p in procs] == [0] * len(feeds), f"attempt {attempt}"
        assert sorted(Library.open(db, create=False)) == sorted(expected)


def test_only_a_command_that_adds_papers_makes_a_library(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "deep" / "lib"
    for args in (["list"], ["star", "2606.18765"], ["stats"], ["export"], ["undo"]):
        line = one_line_error(cli(*args, "--db", str(typo)))
        assert "no papertui library here" in line
        assert not (tmp_path / "typo").exists()
    line = one_line_error(cli("import", str(FEEDS / "hf-daily-papers.txt"), "--db", str(typo)))
    assert f"the folder {typo.parent} does not exist" in line
    assert not (tmp_path / "typo").exists()
    made = cli("import", str(FEEDS / "hf-daily-papers.txt"), "--db", str(typo), "--create")
    assert made.returncode == 0, made.stderr
    assert len(Library.open(typo, create=False)) == 82
    here = tmp_path / "new"  # an existing parent: import makes it
    assert cli("import", str(FEEDS / "hf-daily-papers.txt"), "--db", str(here)).returncode == 0
    assert (here / "papertui.json").exists()


@pytest.mark.parametrize("value", [" ", "   ", "\t"])
def test_a_blank_library_path_is_an_error_not_a_folder(tmp_path: Path, value: str) -> None:
    feed = str(FEEDS / "hf-daily-papers.txt")
    line = one_line_error(cli("import", feed, env={"PAPERTUI_DB": value}, cwd=tmp_path))
    assert "PAPERTUI_DB is blank" in line
    line = one_line_error(cli("import", feed, "--db", value, cwd=tmp_path))
    assert "--db is blank" in line
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- read-only libraries
@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this process and its children: a read-only bind mount
    when running as root (root ignores permission bits), else no write permission."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        dirs = [path, *(p for p in path.rglob("*") if p.is_dir())]
        modes = {d: d.stat().st_mode for d in dirs}
        for d in dirs:
            d.chmod(stat.S_IMODE(modes[d]) & ~0o222)
        try:
            yield
        finally:
            for d in dirs:
                d.chmod(stat.S_IMODE(modes[d]))


def test_a_read_only_library_reads_and_refuses_writes_in_one_line(
    sample_library: Library,
) -> None:
    root = sample_library.root
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "star", starred=True)
    before = snapshot(root)
    with read_only(root):
        for args in (
            ["star", pid],
            ["tag", pid, "--add", "x"],
            ["undo"],
            ["import", str(FEEDS / "hf-daily-papers.txt")],
        ):
            line = one_line_error(cli(*args, "--db", str(root)))
            assert "read-only" in line and "nothing was changed" in line
        listed = cli("list", "--starred", "--db", str(root))
        assert listed.returncode == 0 and pid in listed.stdout
        assert cli("doctor", "--db", str(root)).returncode == 0
    assert snapshot(root) == before


async def test_the_app_opens_a_read_only_library_and_says_so(sample_library: Library) -> None:
    from tui.app import make_app

    root = sample_library.root
    with read_only(root):
        lib = Library.open(root)
        assert lib.read_only
        app = make_app(library=lib, refresh_interval=0, cursor_blink=False)
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.pause()
            status = str(app.query_one("#status").render())
            assert "read-only" in status
            await pilot.press("s")
            await pilot.pause()
            messages = [n.message for n in app._notifications]
            assert any("read-only" in m and "nothing you change" in m for m in messages)
            assert any("the library is read-only" in m for m in messages)
            assert app.is_running
            first = app.paper_list.ids[0]
    assert not Library.open(root).state(first).starred


def test_an_import_that_reads_nothing_makes_no_library(tmp_path: Path) -> None:
    new = tmp_path / "newlib"
    line = one_line_error(cli("import", str(tmp_path / "nonexistent.txt"), "--db", str(new)))
    assert "no such file" in line and not new.exists()
    home = tmp_path / "home"  # the default library (in the user data dir) is not made either
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "PAPERTUI_DB": ""}
    one_line_error(cli("import", str(tmp_path / "nonexistent.txt"), env=env))
    assert not (home / "data").exists()
    made = cli("import", str(FEEDS / "hf-daily-papers.txt"), env=env)
    assert made.returncode == 0, made.stderr
    assert len(Library.open(home / "data" / "papertui" / "library", create=False)) == 82


def test_a_refused_folder_gets_no_lock_files(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    line = one_line_error(cli("import", str(FEEDS / "hf-daily-papers.txt"), "--db", str(folder)))
    assert "not a papertui library" in line
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_a_damaged_change_file_of_the_wrong_shape_is_named_not_a_traceback(
    sample_library: Library,
) -> None:
    root = sample_library.root
    pid = sorted(sample_library)[0]
    sample_library.set_state([pid], "star", starred=True)
    # A change file the cache has not taken in yet (one a file-sync tool just brought):
    # named on every command, which still works (it is another machine's: left out).
    change = root / "changes" / "laptop-00000002.json"
    change.write_bytes(b'{"_meta":{"1":{"schema":3}},"change":{},"entries":{}}')
    for args in (["list"], ["star", pid], ["undo"]):
        done = cli(*args, "--db", str(root))
        assert done.returncode == 0, done.stderr
        (line,) = [x for x in done.stderr.splitlines() if "another machine" in x]
        assert str(change) in line and "another machine's file, not readable" in line
    found = cli("doctor", "--db", str(root))
    assert found.returncode == 1 and f"{change}: damaged" in found.stdout
    assert cli("doctor", "--repair", "--db", str(root)).returncode == 0
    assert not Library.open(root).state(pid).starred  # (the undo above stands)
    segment = root / "papers" / "laptop-00000001.json"
    segment.write_bytes(b'{"_meta":{"1":{"schema":3}},"papers":{"1":{"title":"no id"}}}')
    done = cli("list", "--db", str(root))
    assert done.returncode == 0 and str(segment) in done.stderr, done.stderr
    assert "another machine's file, not readable" in done.stderr
    found = cli("doctor", "--db", str(root))
    assert f"{segment}: " in found.stdout and "not a paper segment" in found.stdout


def test_ids_are_found_by_case_and_prefix_with_messages_that_say_why(
    sample_library: Library,
) -> None:
    root = str(sample_library.root)
    ids = sorted(p for p in sample_library if p.startswith("p"))
    pid = ids[0]
    starred = cli("star", pid.upper(), "--db", root)
    assert starred.returncode == 0 and "1 of 1" in starred.stdout, starred.stderr
    short = one_line_error(cli("star", pid[:2], "--db", root))
    assert ("ambiguous" in short and pid in short) or "give at least 4 characters" in short
    sharing = [p for p in ids if p.startswith(pid[:2])]
    if len(sharing) > 1:
        assert f"the id of {len(sharing)} papers starts so" in short
    bad = cli("list", "--limit", "-1", "--db", root)  # a usage error, as argparse gives them
    assert bad.returncode == 2 and "'-1' is not a whole number" in bad.stderr


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` (tmpfs) at ``path``: it fills up like a full disk."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_on_a_full_disk_only_the_feed_that_does_not_fit_is_lost(tmp_path: Path) -> None:
    """Three small feeds and one too big for the disk, in one command: the combined write
    fails, and each feed is then stored on its own; the big one's files are gone, so they
    cost the others nothing (a leftover bodies file used to fill the disk for every retry)."""
    from .feedgen import rss

    def feed(name: str, prefix: str, n: int) -> str:
        papers = [
            dict(
                id=f"2606.{prefix}{i:03d}",
                title=f"Paper {prefix} number {i} on diffusion caching",
                abstract=f"We study method number {i} of family {prefix}. " * 30,
                authors=["Ann Lee", "Bo Wu"],
            )
            for i in range(n)
        ]
        (tmp_path / name).write_text(rss(papers), encoding="utf-8")
        return str(tmp_path / name)

    feeds = [feed("f0.rss", "1", 60), feed("f1.rss", "2", 60), feed("f2.rss", "3", 999)]
    feeds.append(feed("f3.rss", "4", 60))
    with small_disk(tmp_path / "disk", "2000k") as disk:
        result = cli("import", *feeds, "--db", str(disk / "lib"))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1 and "f2.rss: not stored" in errors[0]
        assert "disk is full" in errors[0] and "nothing was written" in errors[0]
        lib = Library.open(disk / "lib", create=False)
        assert len(lib) == 180
        assert {p[:7] for p in lib} == {"2606.10", "2606.20", "2606.40"}
        lib.close()  # (its cache connections would keep the disk busy)
        assert cli("doctor", "--db", str(disk / "lib")).returncode == 0
