"""Engine 2 (issue 10): truth files named per device, the SQLite cache derived from them,
TinyDB for the state, migration of libraries the earlier papertui wrote, search in English
and Chinese, and threads that never see a half-made result."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tinydb import Query, TinyDB
from tinydb.storages import JSONStorage

from tui.library import Library, LibraryError
from tui.library.cache import default_location

from .conftest import FEEDS, import_files
from .test_store_integrity import read_only

ROOT = Path(__file__).resolve().parent.parent
LEGACY = Path(__file__).resolve().parent / "legacy"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )


def _snapshot(lib: Library) -> dict[str, object]:
    """Everything a user sees of a library, from its public API."""
    return {
        "papers": {pid: lib.record(pid) for pid in lib},
        "states": {pid: lib.raw_state(pid) for pid in lib},
        "order": list(lib.query("")),
        "undo": lib.undo_label(),
        "counts": lib.counts(),
    }


# ----------------------------------------------------------------------------- migration
@pytest.mark.parametrize("fixture", ["v1-small", "v2-small"])
def test_a_library_of_the_earlier_papertui_is_migrated_with_everything_in_it(
    tmp_path: Path, fixture: str
) -> None:
    """The fixture was written by papertui before engine 2 (tests/legacy/make_fixture.py);
    what it showed then is in the expected file, written by that papertui."""
    root = tmp_path / "lib"
    shutil.copytree(LEGACY / fixture, root)
    expected = json.loads((LEGACY / f"{fixture}.expected.json").read_text())
    lib = Library.open(root)
    assert len(lib) == len(expected["papers"])
    for pid, want in expected["papers"].items():
        record = lib.record(pid)
        assert record.get("title", "") == want["title"]
        assert record.get("title_zh", "") == want["title_zh"]
        assert record.get("abstract", "") == want["abstract"]
        assert list(record.get("authors", [])) == want["authors"]
        assert [s["format"] for s in record.get("sources", [])] == want["sources"]
        state = lib.raw_state(pid)
        got = {
            "read": bool(state.get("read")),
            "starred": bool(state.get("starred")),
            "tags": state.get("tags", []),
            "note": state.get("note", ""),
        }
        assert got == want["state"], pid
    assert lib.counts() == expected["counts"]
    assert dict(lib.all_tags()) == expected["tags"]
    for query, ids in expected["queries"].items():
        if query != "diffusion":  # (words now match as word prefixes, not substrings)
            # The same papers in the same order (equal dates in the order they were stored).
            assert list(lib.query(query)) == ids, query
    # Undo goes on where the earlier papertui stopped: the same steps, newest first.
    labels = expected["undoable"]
    for label in reversed(labels[-5:]):
        done = lib.undo_change()
        assert done is not None and done.label == label
    # The old files are gone, the new ones are named for this device, and doctor is happy.
    assert not (root / "state.json").exists() and not (root / "bodies").exists()
    assert not any(p.name[:8].isdigit() for p in (root / "papers").iterdir())
    done = _cli("doctor", "--db", str(root))
    assert done.returncode == 0 and "healthy" in done.stdout, done.stdout + done.stderr


def test_an_interrupted_migration_starts_over_and_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(LEGACY / "v2-small", root)
    expected = json.loads((LEGACY / "v2-small.expected.json").read_text())
    # A migration killed after writing its new files, before its commit (the marker):
    script = (
        "import sys\n"
        "from tui.library import migrate\n"
        "real = migrate.atomic_write\n"
        "def dying(path, data):\n"
        "    if path.name == 'papertui.json':\n"
        "        import os; os._exit(9)\n"
        "    return real(path, data)\n"
        "migrate.atomic_write = dying\n"
        "from tui.library import Library\n"
        f"Library.open({str(root)!r})\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert killed.returncode == 9
    assert (root / "state.json").exists()  # the old library is still whole
    lib = Library.open(root)
    assert len(lib) == len(expected["papers"])
    assert lib.counts() == expected["counts"]
    assert len(list((root / "state").iterdir())) == 1


def test_a_read_only_old_library_says_it_must_be_migrated(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(LEGACY / "v1-small", root)
    with read_only(root):
        with pytest.raises(LibraryError, match="migrated"):
            Library.open(root)
    assert len(Library.open(root)) == 13


# ----------------------------------------------------------------------------- truth and cache
def test_the_cache_is_derived_delete_it_and_the_same_library_comes_back(
    sample_library: Library,
) -> None:
    lib = sample_library
    ids = list(lib)
    lib.set_state(ids[:3], "star", starred=True)
    lib.set_state(ids[2:5], "tag", add_tags=["kept tag"])
    lib.set_state([ids[7]], "note", note="a note\nwith lines")
    lib.set_state(ids[:10], "mark read", read=True)
    before = _snapshot(lib)
    lib.close()
    cache = default_location(lib.root)
    for suffix in ("", "-wal", "-shm"):
        Path(str(cache) + suffix).unlink(missing_ok=True)
    again = Library.open(lib.root)
    assert _snapshot(again) == before
    # …and on demand:
    done = _cli("doctor", "--rebuild", "--db", str(lib.root))
    assert done.returncode == 0, done.stderr
    assert _snapshot(Library.open(lib.root)) == before


def test_a_damaged_cache_is_rebuilt_never_the_users_files(sample_library: Library) -> None:
    lib = sample_library
    pid = next(iter(lib))
    lib.set_state([pid], "star", starred=True)
    lib.close()
    cache = default_location(lib.root)
    cache.write_bytes(b"this is not a database" * 100)
    Path(str(cache) + "-wal").unlink(missing_ok=True)
    again = Library.open(lib.root)
    assert again.raw_state(pid).get("starred") is True
    assert len(again) == len(list(again))


def test_state_files_are_tinydb_documents(sample_library: Library) -> None:
    """TinyDB reads the journal and the checkpoints with its own API."""
    lib = sample_library
    ids = list(lib)
    for n in range(260):  # enough for a checkpoint
        lib.set_state([ids[n % 20]], "read", read=(n // 20) % 2 == 0)
    lib.set_state([ids[0]], "star", starred=True)
    checkpoints = sorted((lib.root / "state").iterdir())
    assert checkpoints
    with TinyDB(checkpoints[-1], storage=JSONStorage, access_mode="r") as db:
        info = db.table("checkpoint").all()[0]
        assert info["device"] == lib.device
        rows = db.table("state").search(Query().id == ids[1])
        assert len(rows) <= 1
    newest = sorted((lib.root / "changes").iterdir())[-1]
    with TinyDB(newest, storage=JSONStorage, access_mode="r") as db:
        (head,) = db.table("change").all()
        assert head["label"] == "star"
        assert db.table("entries").search(Query().id == ids[0])[0]["new"] == {"starred": True}


def test_a_star_writes_one_small_file_whatever_the_library_size(tmp_path: Path) -> None:
    sizes = []
    for feeds in ([FEEDS / "digest-dit-acceleration.txt"], sorted(FEEDS.glob("*.*"))):
        lib = Library.open(tmp_path / str(len(sizes)))
        import_files(lib, feeds)
        pid = next(iter(lib))
        before = lib.bytes_written
        lib.set_state([pid], "star", starred=True)
        sizes.append(lib.bytes_written - before)
    assert sizes[0] < 1000
    assert abs(sizes[0] - sizes[1]) < 40  # (only the id's length differs)


# ----------------------------------------------------------------------------- two machines
def test_two_copies_of_a_library_united_by_a_sync_tool_hold_everything(tmp_path: Path) -> None:
    """Each machine names its files after its device: the union of two copies' files is a
    library with the papers and the state of both (the issue's 9-instead-of-14 case)."""
    base = tmp_path / "base"
    first = Library.open(base)
    import_files(first, [FEEDS / "digest-dit-acceleration.txt"])
    first.close()
    copies = {}
    for device, feed in (("laptop", "digest-text-to-image.txt"), ("desk", "hf-daily-papers.txt")):
        root = tmp_path / device
        shutil.copytree(base, root)
        done = _cli("import", str(FEEDS / feed), "--db", str(root), env={"PAPERTUI_DEVICE": device})
        assert done.returncode == 0, done.stderr
        star = _cli("list", "--db", str(root), "--json", env={"PAPERTUI_DEVICE": device})
        pid = json.loads(star.stdout)[0]["id"]
        done = _cli("star", pid, "--db", str(root), env={"PAPERTUI_DEVICE": device})
        assert done.returncode == 0, done.stderr
        copies[device] = (root, pid)
    union = tmp_path / "union"
    shutil.copytree(copies["laptop"][0], union)
    for sub in ("papers", "changes", "state"):
        for path in (copies["desk"][0] / sub).iterdir():
            target = union / sub / path.name
            assert not target.exists() or target.read_bytes() == path.read_bytes()
            shutil.copy2(path, target)
    lib = Library.open(union)
    laptop, desk = Library.open(copies["laptop"][0]), Library.open(copies["desk"][0])
    assert set(lib) == set(laptop) | set(desk)
    assert len(lib) == len(set(laptop) | set(desk)) > max(len(laptop), len(desk))
    assert lib.raw_state(copies["laptop"][1]).get("starred")
    assert lib.raw_state(copies["desk"][1]).get("starred")
    done = _cli("doctor", "--db", str(union))
    assert done.returncode == 0 and "healthy" in done.stdout, done.stdout


def test_the_library_keeps_its_cache_out_of_git_and_syncthing(empty_library: Library) -> None:
    root = empty_library.root
    import_files(empty_library, [FEEDS / "digest-dit-acceleration.txt"])
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "papertui.json" in listed and any(p.startswith("papers/") for p in listed)
    assert not any(p.startswith(".cache") or p.startswith(".lock") for p in listed), listed
    assert ".cache/" in (root / ".stignore").read_text()


# ----------------------------------------------------------------------------- search
def test_words_match_as_prefixes_and_chinese_from_the_index(sample_library: Library) -> None:
    lib = sample_library

    def titles(query: str) -> list[str]:
        return [
            (lib.record(pid).get("title", "") + lib.record(pid).get("title_zh", ""))
            for pid in lib.query(query)
        ]

    assert titles("diffus")
    assert len(lib.query("diffus")) >= len(lib.query("diffusion")) > 0
    for text in titles("diffusion"):
        assert text  # (each hit is a paper)
    # Chinese: two characters, one character, a longer word; each a substring of a hit.
    for word in ("扩散", "缓", "扩散模型"):
        hits = list(lib.query(word))
        assert hits, word
        for pid in hits:
            record = lib.record(pid)
            text = json.dumps(record, ensure_ascii=False) + json.dumps(
                lib.raw_state(pid), ensure_ascii=False
            )
            assert word in text, (word, pid)
    # Every paper whose Chinese title holds 扩散 is found (the oracle: a plain scan).
    scan = {pid for pid in lib if "扩散" in lib.record(pid).get("title_zh", "")}
    assert scan and scan <= set(lib.query("扩散"))
    # A Chinese query and an English one together: both must hold.
    both = set(lib.query("扩散 diffusion"))
    assert both == set(lib.query("扩散")) & set(lib.query("diffusion"))


def test_relevance_puts_title_matches_first(sample_library: Library) -> None:
    lib = sample_library
    ranked = list(lib.query("token", sort="relevance"))
    assert ranked
    in_title = [pid for pid in ranked if "token" in lib.record(pid).get("title", "").casefold()]
    assert in_title and ranked[: len(in_title)] == in_title


def test_results_are_windows_that_agree_with_a_full_listing(sample_library: Library) -> None:
    lib = sample_library
    everything = list(lib.query("", sort="title", reverse=False))
    result = lib.query("", sort="title", reverse=False)
    assert len(result) == len(everything) == len(lib)
    assert [result[i] for i in range(len(result))] == everything
    assert result[-1] == everything[-1] and result[3:7] == everything[3:7]
    for pid in everything[::7]:
        assert result.index(pid) == everything.index(pid)
        assert pid in result
    titles = [
        lib.record(pid).get("title") or lib.record(pid).get("title_zh") or "" for pid in everything
    ]
    assert [t.casefold() for t in titles] == sorted(t.casefold() for t in titles)


def test_searches_on_a_worker_while_the_ui_thread_writes(sample_library: Library) -> None:
    """1,000 writes on one thread, searches on another: every result is whole and right."""
    lib = sample_library
    ids = list(lib)
    errors: list[BaseException] = []
    stop = threading.Event()
    checked = [0]

    def search() -> None:
        try:
            while not stop.is_set():
                starred = list(lib.query("is:starred"))
                for pid in starred:
                    assert pid in ids
                words = list(lib.query("diffusion is:unread"))
                assert len(set(words)) == len(words)
                checked[0] += 1
                stop.wait(0.002)  # (a reader, not a busy loop holding the GIL)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    worker = threading.Thread(target=search)
    worker.start()
    try:
        for n in range(1000):
            pid = ids[n % len(ids)]
            lib.set_state([pid], "star", starred=n % 3 != 0)
    finally:
        stop.set()
        worker.join()
    assert not errors, errors[0]
    assert checked[0] > 0
    expected = {ids[n % len(ids)] for n in range(1000) if n % 3 != 0}
    last = {}
    for n in range(1000):
        last[ids[n % len(ids)]] = n % 3 != 0
    assert set(lib.query("is:starred")) == {pid for pid, on in last.items() if on}
    assert expected  # (the oracle above is the writes' own record)


def test_a_cache_file_another_process_holds_busy_does_not_lose_a_star(
    sample_library: Library,
) -> None:
    lib = sample_library
    pid = next(iter(lib))
    other = sqlite3.connect(default_location(lib.root), timeout=0)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a cache write
    try:
        with pytest.raises(LibraryError):
            lib.set_state([pid], "star", starred=True, wait=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    lib.set_state([pid], "star", starred=True)
    assert Library.open(lib.root).raw_state(pid).get("starred") is True


@pytest.mark.parametrize("sort", ["feed_date", "paper_date", "upvotes", "title", "added"])
@pytest.mark.parametrize("reverse", [True, False])
def test_pages_read_by_keyset_equal_one_sorted_listing(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch, sort: str, reverse: bool
) -> None:
    """With pages of 7 rows, reading page after page (each after the previous page's last
    row) and jumping anywhere (by offset) give the same list as Python's stable sort of the
    stored records, and `index` finds every paper where it is."""
    from tui.library import sqlquery

    monkeypatch.setattr(sqlquery, "PAGE", 7)
    lib = sample_library
    stored = list(lib)  # the order the papers were stored in

    def key(pid: str) -> tuple[object, ...]:
        r = lib.record(pid)
        return {
            "feed_date": (r.get("feed_date") or "",),
            "paper_date": (r.get("paper_date") or "",),
            "upvotes": (r.get("upvotes", -1), r.get("num_comments", -1)),
            "title": ((r.get("title") or r.get("title_zh") or "").casefold(),),
            "added": (r.get("added_at") or "",),
        }[sort]

    # Largest first, equal keys in the order stored (as a feed lists them); the other way
    # round is that list reversed, as it always was.
    expected = sorted(stored, key=key, reverse=True)
    if not reverse:
        expected.reverse()
    result = lib.query("", sort=sort, reverse=reverse)
    assert list(result) == expected
    jumped = lib.query("", sort=sort, reverse=reverse)
    assert [jumped[i] for i in reversed(range(len(expected)))] == expected[::-1]
    for pid in expected[::5]:
        assert result.index(pid) == expected.index(pid)


# ----------------------------------------------------------------------------- adversary round 1
def _union(source: Path, target: Path, *, only: str | None = None) -> None:
    """Copy the truth files of ``source`` into ``target``, as a file-sync tool does (only
    one folder's with ``only``)."""
    for sub in ("papers", "changes", "state") if only is None else (only,):
        (target / sub).mkdir(exist_ok=True)
        for path in (source / sub).iterdir():
            if not (target / sub / path.name).exists():
                shutil.copy2(path, target / sub / path.name)


def _device(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from tui.library import core

    monkeypatch.setattr(core, "device_id", lambda: name)


def test_a_change_and_a_segment_of_the_same_number_are_both_taken_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments and changes are numbered apart: papers/a-00000002 and changes/a-00000002
    are different files, and a device that has one has not seen the other."""
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    _device(monkeypatch, "a")
    a = Library.open(a_root)
    import_files(a, [FEEDS / "digest-dit-acceleration.txt"])
    pid = next(iter(a))
    a.set_state([pid], "star", starred=True)
    a.close()
    shutil.copytree(a_root, b_root)
    _device(monkeypatch, "b")
    Library.open(b_root).close()  # B has seen papers a-1 and change a-1
    _device(monkeypatch, "a")
    a = Library.open(a_root)
    a.set_state([pid], "note", note="written on a")  # change a-2
    import_files(a, [FEEDS / "digest-text-to-image.txt"])  # papers a-2
    a.close()
    _device(monkeypatch, "b")
    _union(a_root, b_root, only="changes")  # the change arrives first…
    b = Library.open(b_root)
    assert b.raw_state(pid).get("note") == "written on a"
    b.close()
    _union(a_root, b_root)  # …then the papers
    b = Library.open(b_root)
    assert len(b) == len(Library.open(a_root)) == 10
    assert b.raw_state(pid) == {**Library.open(a_root).raw_state(pid)}


def test_a_clock_set_back_never_undoes_the_last_change(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timezone

    from tui.library import state as state_module

    lib = sample_library
    pid = next(iter(lib))
    lib.set_state([pid], "star", starred=True)

    class Past(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime(2020, 1, 1, tzinfo=timezone.utc)

    monkeypatch.setattr(state_module, "datetime", Past)
    lib.set_state([pid], "unstar", starred=False)  # made with the clock six years back
    assert not lib.raw_state(pid).get("starred")
    lib.rebuild()
    assert not lib.raw_state(pid).get("starred")


def test_two_devices_see_the_same_state_whatever_order_their_files_arrive_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "base"
    _device(monkeypatch, "a")
    lib = Library.open(base)
    import_files(lib, [FEEDS / "digest-dit-acceleration.txt"])
    pid = next(iter(lib))
    lib.close()
    roots = {name: tmp_path / name for name in "ab"}
    for root in roots.values():
        shutil.copytree(base, root)
    _device(monkeypatch, "b")
    b = Library.open(roots["b"])
    b.set_state([pid], "star", starred=True)
    b.set_state([pid], "unstar", starred=False)
    b.close()
    _device(monkeypatch, "a")
    a = Library.open(roots["a"])
    a.set_state([pid], "star", starred=True)  # the latest change of all
    a.close()
    _union(roots["b"], roots["a"])  # b's older changes arrive after a's newer one
    _device(monkeypatch, "b")
    _union(roots["a"], roots["b"])
    views = []
    for name, root in roots.items():
        _device(monkeypatch, name)
        lib = Library.open(root)
        views.append(lib.raw_state(pid).get("starred"))
        lib.rebuild()
        views.append(lib.raw_state(pid).get("starred"))
        lib.close()
    assert views == [True] * 4


def _titled(lib: Library, titles: list[str]) -> dict[str, str]:
    from tui.feeds import ParseResult
    from tui.models import Paper, Source

    papers = [Paper(title=t, abstract=f"abstract number {n} of {t}") for n, t in enumerate(titles)]
    result = ParseResult(format="digest", papers=papers)
    lib.import_feeds([(result, Source(format="digest", origin="t", digest="t"))])
    return {lib.record(pid)["title"]: pid for pid in lib}


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("Straße", "Die Straße der Diffusion"),
        ("strasse", "Die Straße der Diffusion"),
        ("fine", "Eﬃcient ﬁne-tuning of models"),
        ("efficient", "Eﬃcient ﬁne-tuning of models"),
        ("İstanbul", "İstanbul dataset for vision"),
        ("istanbul", "İstanbul dataset for vision"),
        ("𠀁", "𠀀𠀁 a rare character"),
        ("ＧＰＴ", "GPT models at scale"),
        ("muller", "Müller flows in practice"),
    ],
)
def test_a_word_is_found_however_unicode_writes_it(
    empty_library: Library, query: str, title: str
) -> None:
    ids = _titled(
        empty_library,
        [
            "Die Straße der Diffusion",
            "Eﬃcient ﬁne-tuning of models",
            "İstanbul dataset for vision",
            "𠀀𠀁 a rare character",
            "GPT models at scale",
            "Müller flows in practice",
        ],
    )
    assert list(empty_library.query(query)) == [ids[title]]


def test_punctuation_alone_matches_nothing_and_one_letter_is_a_word(
    empty_library: Library,
) -> None:
    ids = _titled(empty_library, ["C++ templates for kernels", "Compilers and caches"])
    for query in ("'", "*", "-", "+", "()"):
        assert list(empty_library.query(query)) == [], query
    assert len(empty_library.query('"')) == 2  # (a lone quote opens a phrase: nothing yet)
    assert list(empty_library.query("c++")) == [ids["C++ templates for kernels"]]
    assert len(empty_library.query("-'")) == 2  # (negating nothing excludes nothing)


def test_a_folder_where_the_cache_goes_is_reported_and_never_removed(
    sample_library: Library,
) -> None:
    lib = sample_library
    count = len(lib)
    lib.close()
    cache = default_location(lib.root)
    for suffix in ("", "-wal", "-shm"):
        Path(str(cache) + suffix).unlink(missing_ok=True)
    cache.mkdir()
    (cache / "mine.txt").write_text("the user's")
    for args in ((), ("--rebuild",), ("--repair",)):
        done = _cli("doctor", *args, "--db", str(lib.root))
        assert done.returncode == 1, (args, done.stdout)
        assert "folder" in done.stdout + done.stderr
    assert (cache / "mine.txt").read_text() == "the user's"
    assert len(Library.open(lib.root)) == count  # (its cache kept elsewhere meanwhile)


def test_reading_a_big_result_to_its_end_runs_its_query_once(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Iterating a result (the CLI's `list` without --limit, bulk actions) reads the rows the list
    has shown, then the rest in one query: never one query per page (each would run the
    whole search again). The last page (G) is read from the other end."""
    from tui.library import sqlquery

    monkeypatch.setattr(sqlquery, "PAGE", 5)
    lib = sample_library
    result = lib.query("diffusion")
    everything = list(lib.query("diffusion"))
    assert len(everything) > 3 * 5
    statements: list[str] = []
    lib._conn().set_trace_callback(statements.append)
    assert result[0] == everything[0]  # the list shows its first page
    assert list(result) == everything
    assert result[len(everything) - 1] == everything[-1]
    lib._conn().set_trace_callback(None)
    # (the plan's looks are not searches: for the word in tags and notes, LIMIT 1, and
    # whether it is rare, its first RARE matches counted)
    rare = f"LIMIT {sqlquery.RARE})"
    matches = [sql for sql in statements if "text MATCH" in sql and not sql.endswith(rare)]
    assert len(matches) <= 4, matches  # first page, the rest, the count, the last page


# ----------------------------------------------------------------------------- records once
def _records_in_the_truth(root: Path) -> dict[str, dict[str, object]]:
    """Each paper's latest record, read from the segment files with the json module (the
    oracle: not the library's reader), its sources resolved from the segment's feeds."""
    found: dict[str, dict[str, object]] = {}
    for path in sorted((root / "papers").iterdir()):
        data = json.loads(path.read_text(encoding="utf-8"))
        feeds = {doc["key"]: doc for doc in data["feeds"].values()}
        for doc in (data["papers"][k] for k in sorted(data["papers"], key=int)):
            record = dict(doc)
            src = record.pop("src", [])
            record["sources"] = [{k: v for k, v in feeds[s].items() if k != "key"} for s in src]
            found[record["id"]] = record
    return found


def _cache_rows(root: Path) -> list[tuple[str, object]]:
    conn = sqlite3.connect(default_location(root))
    try:
        return conn.execute(
            "SELECT p.id, r.body FROM paper p JOIN record r ON r.rowid = p.rowid"
        ).fetchall()
    finally:
        conn.close()


def _relaid(segment: Path) -> Path:
    """Rewrite a segment with the same data in another layout (as a tool that pretty-prints
    JSON would); the segment's path."""
    data = json.loads(segment.read_text(encoding="utf-8"))
    segment.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return segment


def _two_imports(root: Path) -> Library:
    """A library of the sample feeds imported in two goes (the second merges papers the first
    stored into new versions in its own segment)."""
    lib = Library.open(root)
    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    import_files(lib, feeds[::2])
    import_files(lib, feeds[1::2])
    return lib


def test_each_record_is_kept_once_in_the_truth_and_read_from_there(tmp_path: Path) -> None:
    lib = _two_imports(tmp_path / "lib")
    truth_records = _records_in_the_truth(lib.root)
    assert len(list((lib.root / "papers").iterdir())) == 2
    assert {pid: lib.record(pid) for pid in lib} == truth_records
    assert all(body is None for _, body in _cache_rows(lib.root))  # no second copy
    lib.close()
    # The cache file holds no abstract (only the index's words): the text is in the truth.
    longest = max((r.get("abstract") or "" for r in truth_records.values()), key=len)
    assert len(longest) > 200
    cache_bytes = default_location(lib.root).read_bytes()
    assert longest[:80].encode() not in cache_bytes
    assert longest[:80].encode() in b"".join(
        p.read_bytes() for p in (lib.root / "papers").iterdir()
    )


def test_a_segment_laid_out_by_another_tool_is_read_and_kept_whole(tmp_path: Path) -> None:
    """A segment rewritten with the same data in another layout (a tool that pretty-prints
    JSON): the cache cannot read papers from it by position, so it keeps them whole."""
    lib = _two_imports(tmp_path / "lib")
    before = {pid: lib.record(pid) for pid in lib}
    lib.close()
    first = _relaid(sorted((lib.root / "papers").iterdir())[0])
    for suffix in ("", "-wal", "-shm"):
        Path(str(default_location(lib.root)) + suffix).unlink(missing_ok=True)
    again = Library.open(lib.root)
    assert {pid: again.record(pid) for pid in again} == before
    kept_whole = {pid for pid, body in _cache_rows(lib.root) if body is not None}
    in_first = set(json.loads(first.read_text())["papers"][k]["id"] for k in ["1", "2"])
    assert in_first & set(before) and kept_whole  # (those the second import did not replace)
    assert doctor_findings(lib.root) == []


def doctor_findings(root: Path) -> list[str]:
    done = _cli("doctor", "--db", str(root))
    return [line for line in done.stdout.splitlines() if line.strip()] if done.returncode else []


def test_a_segment_changed_after_the_cache_read_it_is_reported_and_rebuilt(
    tmp_path: Path,
) -> None:
    """A segment rewritten under the cache (same data, other bytes): reading a paper from it
    fails with the file named, never with another paper's text; doctor finds it and its
    repair rebuilds the cache; nothing is lost."""
    lib = _two_imports(tmp_path / "lib")
    before = {pid: lib.record(pid) for pid in lib}
    lib.close()
    second = _relaid(sorted((lib.root / "papers").iterdir())[1])
    again = Library.open(lib.root)
    victim = json.loads(second.read_text())["papers"]["1"]["id"]
    with pytest.raises(LibraryError, match=second.name):
        again.record(victim)
    again.close()
    shown = _cli("list", "--json", "--db", str(lib.root))
    assert shown.returncode != 0 and second.name in shown.stderr
    assert "Traceback" not in shown.stderr
    found = _cli("doctor", "--db", str(lib.root))
    assert found.returncode != 0 and second.name in found.stdout
    repaired = _cli("doctor", "--repair", "--db", str(lib.root))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    healed = Library.open(lib.root)
    assert {pid: healed.record(pid) for pid in healed} == before


async def test_the_app_shows_a_paper_whose_text_cannot_be_read_with_the_reason(
    tmp_path: Path,
) -> None:
    """The paper stays in the list and the detail pane, with its id and the file named in
    place of its text; export says why it cannot write the text instead of crashing."""
    from .test_app import Recorder, build, detail_text, goto, row, toasts

    lib = _two_imports(tmp_path / "lib")
    lib.close()
    second = _relaid(sorted((lib.root / "papers").iterdir())[1])
    data = json.loads(second.read_text())
    victim = data["papers"]["1"]
    again = Library.open(lib.root)
    again.set_state([victim["id"]], "star", starred=True)
    rec = Recorder()
    app = build(again, tmp_path, rec)
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, victim["id"])
        shown = " ".join(detail_text(app).split())
        assert victim["arxiv_id"] in shown and second.name in shown and "doctor" in shown
        assert "unreadable" in row(app)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # (the export dialog's proposed file)
        await pilot.pause()
        assert any("export failed" in t and second.name in t for t in toasts(app))
        assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


def test_a_rebuild_gives_the_cache_the_imports_built_paper_by_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild stores each paper's last version at once (two passes over the segments);
    what it gives must equal the cache that imports and another device's files built one
    segment at a time: the same records, ids, stored order, search results and states."""
    from tui.library import core

    feeds = sorted(p for p in FEEDS.iterdir() if p.is_file())
    _device(monkeypatch, "laptop")
    lib = Library.open(tmp_path / "lib")
    # (segments are taken in by their stamps: make each import's its own second)
    monkeypatch.setattr(core, "now_iso", lambda: "2026-11-20T08:00:00+00:00")
    import_files(lib, feeds[::2])
    monkeypatch.setattr(core, "now_iso", lambda: "2026-11-21T08:00:00+00:00")
    import_files(lib, feeds[1::2])  # (merges into new versions in a second segment)
    lib.set_state(list(lib)[:5], "star", starred=True)
    lib.close()
    _device(monkeypatch, "desk")
    monkeypatch.setattr(core, "now_iso", lambda: "2026-11-22T08:00:00+00:00")
    other = Library.open(tmp_path / "other")
    import_files(other, feeds[1::3])  # the same papers, seen by another device
    other.close()
    _union(tmp_path / "other", tmp_path / "lib")
    _device(monkeypatch, "laptop")
    built = Library.open(tmp_path / "lib")
    before = {**_snapshot(built), "stored": list(built), "hits": list(built.query("model"))}
    built.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(default_location(tmp_path / "lib")) + suffix).unlink(missing_ok=True)
    again = Library.open(tmp_path / "lib")
    assert {**_snapshot(again), "stored": list(again), "hits": list(again.query("model"))} == before
    assert len(list((tmp_path / "lib" / "papers").iterdir())) == 3


@pytest.mark.parametrize("rare", [2048, 0])  # (words read from their matches; from windows)
@pytest.mark.parametrize(
    ("query", "sort"),
    [
        ("is:unread", "feed_date"),
        ("is:unread", "foryou"),
        ("is:unread diffusion", "feed_date"),
        ("is:unread diffusion", "relevance"),
        ("is:unread model", "title"),
        ("is:unread -model", "added"),
        ("-is:starred", "paper_date"),
    ],
)
def test_papers_kept_in_a_result_stay_where_they_were_once_they_no_longer_match(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch, query: str, sort: str, rare: int
) -> None:
    """The list run again after another process wrote keeps the papers the reader marked
    read in an unread view (`Library.query(keep=...)`): the result equals the one listed
    before they were changed, read whole, page by page (pages of 7 rows, keyset and by
    offset), counted, and each paper's position asked; a kept paper that still matches is
    there once; an id the library does not hold is left out."""
    from tui.library import sqlquery

    monkeypatch.setattr(sqlquery, "PAGE", 7)
    monkeypatch.setattr(sqlquery, "RARE", rare)
    lib = sample_library
    before = list(lib.query(query, sort=sort))
    assert len(before) > 10
    picked = [before[0], before[len(before) // 2], before[-1], before[8]]
    if "starred" in query:
        lib.set_state(picked[:3], "star", starred=True)
    else:
        lib.set_state(picked[:3], "read", read=True)
    assert len(lib.query(query, sort=sort)) == len(before) - 3  # (they no longer match)
    kept = lib.query(query, sort=sort, keep=[*picked, "2699.99999"])
    assert len(kept) == len(before)
    assert list(kept) == before
    paged = lib.query(query, sort=sort, keep=picked)
    assert [paged[i] for i in range(len(before))] == before  # (keyset, page after page)
    jumped = lib.query(query, sort=sort, keep=picked)
    assert [jumped[i] for i in reversed(range(len(before)))] == before[::-1]  # (offsets)
    head = lib.query(query, sort=sort, keep=picked).head()
    assert head == before[: len(head)]
    asked = lib.query(query, sort=sort, keep=picked)
    for pid in {*picked, *before[::5]}:
        assert asked.index(pid) == before.index(pid)
        assert pid in asked
    assert "2699.99999" not in kept


def test_a_write_on_a_worker_thread_is_not_taken_for_another_processs(
    sample_library: Library,
) -> None:
    """A change the handle made on another thread (the app's workers) is its own: `refresh`
    finds nothing new after it (each thread's connection counts every connection's commits
    but its own, so one thread's data version compared with another's took the worker's
    write for another process's: the list ran again, the papers marked read left it). A real
    other process's change is found."""
    lib = sample_library
    ids = list(lib.query(""))
    lib.set_state([ids[0]], "read", read=True)
    assert not lib.refresh()
    arrivals = lib.arrivals  # (another process's changes taken in by a write)
    worker = threading.Thread(target=lib.set_state, args=([ids[1]], "read"), kwargs={"read": True})
    worker.start()
    worker.join()
    assert lib.state(ids[1]).read
    assert not lib.refresh()
    assert lib.arrivals == arrivals
    lib.set_state([ids[2]], "read", read=True)  # (and back on this thread: nothing either)
    assert not lib.refresh()
    code = (
        "import sys; from tui.library import Library; "
        "Library.open(sys.argv[1]).set_state([sys.argv[2]], 'read', read=True)"
    )
    subprocess.run([sys.executable, "-c", code, str(lib.root), ids[3]], check=True, cwd=ROOT)
    assert lib.refresh()
    assert lib.state(ids[3]).read
