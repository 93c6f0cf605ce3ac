"""One bad character, file or worker never costs the rest (issue 9, section 2).

Lone UTF-16 surrogates, however they arrive (a JSON escape, a character reference, bytes, a
file name, a command-line argument, the clipboard), are stored as valid Unicode; a source that
fails is one error line naming it while the others are imported, in the CLI and in the app;
every app worker reports its failure and releases what it holds.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tui.library import Library
from tui.library.storage import WriteLock

from .conftest import FEEDS
from .test_app import SIZE, Recorder, build, settle, toasts

CASES = Path(__file__).resolve().parent / "cases"
SURROGATE_HF = CASES / "surrogate-hf.html"  # 2 papers, one with a lone \ud83d escape
SURROGATE_RSS = CASES / "surrogate-rss.rss"  # 4 items, one with &#55357;&#56832;
DIGEST = FEEDS / "digest-dit-acceleration.txt"  # 5 papers
ARXIVDAILY = FEEDS / "arxivdaily-image-generation.txt"  # 4 papers
RSS_TITLE = "Sparse Token Routing for Video Diffusion"


def run(*args: str, db: Path, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI; ``args`` may hold lone surrogates, which reach argv as the bytes they
    stand for (``os.fsencode``), exactly as a shell passes ``$'\\xff'``."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("DISPLAY", None)
    full_env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", str(db)],
        capture_output=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def papers(db: Path) -> list[dict[str, Any]]:
    result = run("list", "--json", db=db)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def titles(db: Path) -> set[str]:
    return {p.get("title") or p.get("title_zh") for p in papers(db)}


def assert_store_is_valid_utf8(db: Path) -> None:
    """Every library file decodes as strict UTF-8 JSON, with no surrogate anywhere."""
    for path in db.rglob("*.json"):
        text = path.read_bytes().decode("utf-8")  # strict: raises on encoded surrogates
        assert "\\ud8" not in text.lower() and "\\udc" not in text.lower(), path
        json.loads(text)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---------------------------------------------------------------------------- surrogates
def test_the_surrogate_cases_import_with_the_bad_character_replaced(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    result = run("import", str(SURROGATE_HF), str(SURROGATE_RSS), db=db)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "hf-html: 2 found, 2 new" in result.stdout
    assert "arxiv-rss: 4 found, 4 new" in result.stdout
    stored = {p["title"]: p for p in papers(db)}
    # A lone half becomes U+FFFD; the text around it is kept.
    broken = stored["Broken Emoji \ufffd Survives Truncation"]
    assert broken["authors"] == ["Bo Chen"]
    abstract = Library.open(db).get(broken["id"]).abstract
    assert abstract.endswith("leaving half a surrogate pair: \ufffd end.")
    # A whole pair is the character it encodes (as a JSON escape and as character references).
    assert "RocketBench \U0001f680: Evaluating Agents on Launch Schedules" in stored
    assert f"{RSS_TITLE} \U0001f600" in stored
    assert len(stored) == 6
    assert_store_is_valid_utf8(db)


def _rss_with(title_end: bytes, encoding: str = "utf-8", bom: bytes = b"") -> bytes:
    """The surrogate RSS case with the first title ending in ``title_end`` (raw bytes in
    ``encoding``; the rest of the feed encoded in it)."""
    text = SURROGATE_RSS.read_text(encoding="utf-8")
    head, tail = text.split("&#55357;&#56832;", 1)
    return bom + head.encode(encoding) + title_end + tail.encode(encoding)


@pytest.mark.parametrize(
    "data, expected",
    [
        # CESU-8 / Java's modified UTF-8: a pair of encoded surrogates, then one alone.
        (_rss_with(b"\xed\xa0\xbd\xed\xb8\x80"), "\U0001f600"),
        (_rss_with(b"\xed\xa0\xbd"), "\ufffd"),
        # UTF-16 with a BOM holding a lone high surrogate (D83D) and a lone low one (DE00).
        (_rss_with(b"\x3d\xd8", "utf-16-le", b"\xff\xfe"), "\ufffd"),
        (_rss_with(b"\xde\x00", "utf-16-be", b"\xfe\xff"), "\ufffd"),
        # Hexadecimal character references, alone and as a pair.
        (_rss_with(b"&#xD83D;"), "\ufffd"),
        (_rss_with(b"&#xd83d;&#xDE00;"), "\U0001f600"),
        # A BOM says UTF-8 and one byte is not: that character only, not the whole feed.
        (_rss_with(b"\xff", "utf-8", b"\xef\xbb\xbf"), "\ufffd"),
    ],
    ids=["cesu8-pair", "cesu8-lone", "utf16le-lone", "utf16be-lone", "hex-ref", "hex-pair", "bom"],
)
def test_bytes_that_decode_to_surrogates_import_as_valid_unicode(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    feed = tmp_path / "feed.rss"
    feed.write_bytes(data)
    db = tmp_path / "lib"
    result = run("import", str(feed), db=db)
    assert result.returncode == 0, result.stderr
    assert "arxiv-rss: 4 found, 4 new" in result.stdout
    found = titles(db)
    assert f"{RSS_TITLE} {expected}" in found
    assert "Robust Depth Priors for Indoor Scenes" in found  # the rest of the feed is intact
    assert_store_is_valid_utf8(db)


def test_a_file_name_with_an_undecodable_byte_is_imported(tmp_path: Path) -> None:
    # Python gives a file name's non-UTF-8 byte as a lone surrogate (surrogateescape).
    feed = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt"))
    shutil.copy(DIGEST, feed)
    db = tmp_path / "lib"
    result = run("import", str(feed), db=db)
    assert result.returncode == 0, result.stderr
    assert "5 new" in result.stdout
    origins = {s["origin"] for p in papers(db) for s in p["sources"]}
    assert origins == {str(tmp_path / "caf\ufffd.txt")}
    assert_store_is_valid_utf8(db)
    again = run("import", str(tmp_path), db=db)  # the folder holding it: the same feed
    assert again.returncode == 0, again.stderr
    assert "5 already known" in again.stdout


def test_import_json_names_a_missing_file_with_an_undecodable_byte(tmp_path: Path) -> None:
    missing = Path(os.fsdecode(bytes(tmp_path) + b"/gone\xff.txt"))
    result = run("import", "--json", str(missing), str(DIGEST), db=tmp_path / "lib")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    error = f"{tmp_path}/gone\\xff.txt: no such file"  # (the byte named, as --db names it)
    assert report["errors"] == [error]
    assert [r["new"] for r in report["reports"]] == [5]
    assert one_error_line(result.stderr) == f"papertui: error: {error}"


@pytest.mark.parametrize(
    "sample, count", [(DIGEST, 5), (FEEDS / "hf-daily-papers.txt", 82)], ids=["digest", "hf"]
)
def test_a_stray_byte_in_utf8_costs_only_its_character(
    tmp_path: Path, sample: Path, count: int
) -> None:
    """A UTF-8 feed (no BOM, no declared charset) with one byte of another code page: that
    byte is U+FFFD; every other character is read as UTF-8, not the whole file as GBK."""
    data = sample.read_bytes()
    first, second = data.split(b"\n", 2)[:2]
    feed = tmp_path / sample.name
    feed.write_bytes(data.replace(second, b"\xe9" + second, 1))
    db = tmp_path / "lib"
    result = run("import", str(feed), db=db)
    assert result.returncode == 0, result.stderr
    assert f"{count} found, {count} new" in result.stdout
    expected = titles(_imported(tmp_path, sample))
    assert titles(db) == expected
    assert_store_is_valid_utf8(db)


def test_a_stray_nul_or_cr_costs_nothing_and_many_nuls_are_binary(tmp_path: Path) -> None:
    """Found by a newcomer: one NUL byte in an abstract rejected the whole HF text file as
    "binary data"; a bare CR in a title line cut the title in two and lost its abstract."""
    sample = FEEDS / "hf-daily-papers.txt"
    data = sample.read_bytes()
    lines = data.split(b"\n")
    title_at = next(i for i, line in enumerate(lines) if line.startswith("Δ-DiT".encode()))
    lines[title_at] = lines[title_at][:12] + b"\r" + lines[title_at][12:]
    stray = b"\n".join(lines).replace(b" the ", b" the\x00 ", 1)
    feed = tmp_path / "stray.txt"
    feed.write_bytes(stray)
    db = tmp_path / "lib"
    result = run("import", str(feed), db=db)
    assert result.returncode == 0, result.stderr
    assert "82 found, 82 new" in result.stdout and "skipped" not in result.stdout
    assert len(titles(db)) == len(titles(_imported(tmp_path, sample)))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00".join(data[i : i + 40] for i in range(0, 4000, 40)))
    refused = run("import", str(binary), db=db)
    assert refused.returncode == 1 and "binary data, not a feed" in refused.stderr


def _imported(tmp_path: Path, sample: Path) -> Path:
    db = tmp_path / "reference"
    assert run("import", str(sample), db=db).returncode == 0
    return db


def test_a_library_path_with_an_undecodable_byte_works(tmp_path: Path) -> None:
    db = Path(os.fsdecode(bytes(tmp_path) + b"/lib\xff"))
    assert run("import", str(DIGEST), db=db).returncode == 0
    result = run("stats", "--json", db=db)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["library"] == f"{tmp_path}/lib\ufffd" and stats["papers"] == 5


def test_text_arguments_with_undecodable_bytes_are_one_error_line(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    assert run("import", str(DIGEST), db=db).returncode == 0
    pid = papers(db)[0]["id"]
    before = {p.name: p.read_bytes() for p in (db / "changes").iterdir()}
    for args in (
        ["tag", pid, "--add", "\udcff"],
        ["tag", pid, "--remove", "caf\udce9"],
        ["list", "--search", "caf\udce9"],
        ["list", "--tag", "\udcff"],
        ["export", "--all", "--title", "\udcff"],
        ["star", "\udcff"],
    ):
        result = run(*args, db=db)
        assert result.returncode == 1, args
        line = one_error_line(result.stderr)
        assert "not UTF-8 text" in line and "\ufffd" in line, line
    assert {p.name: p.read_bytes() for p in (db / "changes").iterdir()} == before
    assert all(not p["state"]["tags"] for p in papers(db))


def test_the_library_stores_tags_and_notes_as_valid_unicode(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    lib.import_feeds([_feed(DIGEST)])
    pid = sorted(lib)[0]
    lib.set_state([pid], "tag", add_tags=["caf\udce9", "\ud83d\ude80"])
    lib.set_state([pid], "edit note", note="half \ud83d an emoji")
    reopened = Library.open(tmp_path / "lib")
    assert reopened.state(pid).tags == ["caf\ufffd", "\U0001f680"]
    assert reopened.state(pid).note == "half \ufffd an emoji"
    reopened.set_state([pid], "tag", remove_tags=["caf\udce9"])  # the same tag, as typed
    assert Library.open(tmp_path / "lib").state(pid).tags == ["\U0001f680"]
    assert_store_is_valid_utf8(tmp_path / "lib")


def _feed(path: Path) -> tuple[Any, Any]:
    from tui.sources import load_source

    item = load_source(str(path), imported_at="2026-11-22T08:00:00+00:00")
    return item.result, item.source


# ---------------------------------------------------------------------------- each source alone
def test_a_folder_with_bad_files_imports_every_good_one(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for path in (SURROGATE_HF, SURROGATE_RSS, DIGEST, ARXIVDAILY):
        shutil.copy(path, folder / path.name)
    (folder / "broken.html").write_text("<html><body>not a feed</body></html>")
    (folder / "empty.txt").write_bytes(b"")
    db = tmp_path / "lib"
    result = run("import", str(folder), db=db)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr, result.stderr
    assert any(str(folder / "broken.html") in e for e in errors)
    assert any(str(folder / "empty.txt") in e for e in errors)
    for name, new in (("surrogate-hf.html", 2), ("surrogate-rss.rss", 4), (DIGEST.name, 5)):
        assert f"{name}  " in result.stdout and f"{new} new" in result.stdout, result.stdout
    assert len(papers(db)) == 2 + 4 + 5 + 4


def test_import_of_several_sources_keeps_the_good_ones(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    missing = tmp_path / "missing.txt"
    result = run("import", str(SURROGATE_RSS), str(missing), str(DIGEST), db=db)
    assert result.returncode == 1
    assert str(missing) in one_error_line(result.stderr)
    assert "4 new" in result.stdout and "5 new" in result.stdout
    assert len(papers(db)) == 9


def test_papertui_files_opens_on_the_good_ones(tmp_path: Path) -> None:
    """`papertui FILE...` imports each file on its own, then opens (here, where no terminal
    app can run, prints the list); the exit status says one failed."""
    db = tmp_path / "lib"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01")
    result = run(str(SURROGATE_HF), str(bad), str(DIGEST), db=db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("papertui: error")]
    assert len(errors) == 1 and str(bad) in errors[0], result.stderr
    assert "Broken Emoji \ufffd Survives Truncation" in result.stdout  # the list was shown
    assert "7 shown" in result.stderr
    all_bad = run(str(bad), db=tmp_path / "lib2")
    assert all_bad.returncode == 1 and "shown" not in all_bad.stdout


def _big_rss(count: int) -> str:
    items = "".join(
        f"<item><title>Generated paper {i}</title>"
        f"<link>https://arxiv.org/abs/2606.{10000 + i}</link>"
        f"<description>arXiv:2606.{10000 + i}v1 Announce Type: new Abstract: Paper {i} "
        f"studies {'a very long abstract ' * 20}{i}.</description>"
        f"<guid>oai:arXiv.org:2606.{10000 + i}v1</guid><dc:creator>Author {i}</dc:creator>"
        "</item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">'
        "<channel><title>cs.CV updates on arXiv.org</title>"
        f"<pubDate>Tue, 09 Jun 2026 00:00:00 -0400</pubDate>{items}</channel></rss>"
    )


def test_a_feed_too_big_to_store_costs_only_itself(tmp_path: Path) -> None:
    """A real write failure (RLIMIT_FSIZE, like a nearly full disk) on one feed's segment:
    the other feeds of the same command are still stored, each in its own write. (The limit
    leaves room for the SQLite cache of the nine small papers, about 400 KB with its WAL.)"""
    big = tmp_path / "big.rss"
    big.write_text(_big_rss(2400))  # a segment of about 1.6 MB
    db = tmp_path / "lib"
    Library.open(db)  # the library exists before the limit

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "import", str(DIGEST), str(big), str(ARXIVDAILY)]
        + ["--db", str(db)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    assert str(big) in line and "could not save" in line, line
    assert "5 new" in proc.stdout and "4 new" in proc.stdout
    assert len(papers(db)) == 9
    assert [p for p in db.rglob(".tmp-*")] == []


def test_a_locked_library_names_every_source_and_stores_none(tmp_path: Path) -> None:
    """Another process holds the library: each source is an error line naming it (the lock
    is waited for once, not once per source), and nothing is half-stored."""
    db = tmp_path / "lib"
    Library.open(db)
    with WriteLock(db).held():
        result = run(
            "import", str(DIGEST), str(ARXIVDAILY), db=db, env={"PAPERTUI_LOCK_TIMEOUT": "0.3"}
        )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    for path, line in zip((DIGEST, ARXIVDAILY), lines, strict=True):
        assert str(path) in line and f"locked by process {os.getpid()}" in line, line
    assert papers(db) == []


def test_cli_clipboard_with_lone_surrogates(monkeypatch: pytest.MonkeyPatch) -> None:
    """`papertui import --clipboard` (the clipboard injected: there is no display here)."""
    from tui import sources

    text = DIGEST.read_text(encoding="utf-8").replace("Shiva-DiT", "Shiva\udcffDiT", 1)
    monkeypatch.setattr(sources, "paste", lambda: text)
    loaded = sources.load_source("--clipboard", imported_at="2026-11-22T08:00:00+00:00")
    assert loaded.origin == "<clipboard>" and len(loaded.result.papers) == 5
    assert loaded.result.papers[0].title_zh.startswith("Shiva\ufffdDiT")


FAULTY_PARSER = """
import sys
from tui.feeds import digest
original = digest.FORMAT.parse
def parse(text, ctx):
    if "BOOM" in text:
        raise KeyError("a bug in the parser")
    return original(text, ctx)
digest.FORMAT.parse = parse
from tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_bug_in_a_parser_costs_only_its_feed(tmp_path: Path) -> None:
    """An unexpected exception (injected: a parser that raises KeyError on one feed) is one
    error line naming that feed; the other feeds are imported."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    boom = folder / "a-boom.txt"
    boom.write_text(DIGEST.read_text(encoding="utf-8").replace("Shiva-DiT", "BOOM", 1))
    shutil.copy(ARXIVDAILY, folder / "b.txt")
    shutil.copy(FEEDS / "digest-text-to-image.txt", folder / "c.txt")
    db = tmp_path / "lib"
    proc = subprocess.run(
        [sys.executable, "-c", FAULTY_PARSER, "import", str(folder), "--db", str(db)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    assert str(boom) in line and "KeyError" in line and "a bug in the parser" in line, line
    assert len(papers(db)) == 4 + 5


# ---------------------------------------------------------------------------- the app
async def _import(pilot: Any, path: Path | str) -> None:
    await pilot.press("i")
    pilot.app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot, 0.1)


async def test_app_imports_the_surrogate_case_then_imports_again(
    empty_library: Library, tmp_path: Path
) -> None:
    lib = empty_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await _import(pilot, SURROGATE_HF)
        assert any("Imported 1 feed: 2 new" in t for t in toasts(app)), toasts(app)
        assert "Broken Emoji \ufffd Survives Truncation" in {lib.get(p).title for p in lib}
        await _import(pilot, DIGEST)
        assert not any("already running" in t for t in toasts(app)), toasts(app)
        assert any("Imported 1 feed: 5 new" in t for t in toasts(app)), toasts(app)
        assert len(lib) == 7 and len(app.paper_list.ids) == 7
    assert_store_is_valid_utf8(lib.root)


async def test_app_folder_import_keeps_the_good_files(
    empty_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for path in (SURROGATE_RSS, DIGEST):
        shutil.copy(path, folder / path.name)
    (folder / "broken.txt").write_text("nothing to see here\n" * 5)
    lib = empty_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _import(pilot, folder)
        assert len(lib) == 9
        assert any("Imported 2 feeds: 9 new" in t for t in toasts(app)), toasts(app)
        assert any(str(folder / "broken.txt") in t for t in toasts(app)), toasts(app)


async def test_make_app_with_feeds_imports_the_good_ones_and_shows_the_rest(
    empty_library: Library, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not a feed at all\n")
    lib = empty_library
    app = build(lib, tmp_path, feeds=[str(SURROGATE_RSS), str(bad), str(DIGEST)])
    assert len(lib) == 9
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any(str(bad) in t and "not a recognised feed" in t for t in toasts(app))


async def test_app_clipboard_with_lone_surrogates(empty_library: Library, tmp_path: Path) -> None:
    rec = Recorder()
    text = DIGEST.read_text(encoding="utf-8").replace("Shiva-DiT", "Shiva\udcff\ud83dDiT", 1)
    rec.paste_text = text
    lib = empty_library
    app = build(lib, tmp_path, rec)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.click("#clipboard")
        await settle(pilot, 0.1)
        assert len(lib) == 5, toasts(app)
        assert any(lib.get(p).title_zh.startswith("Shiva\ufffd\ufffdDiT") for p in lib)
    assert_store_is_valid_utf8(lib.root)


async def test_app_import_worker_failure_is_reported_and_released(
    empty_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while reading (injected: read_paths raises) ends the import with an error the
    user sees, and the next `i` imports."""
    from tui import importing  # (the import worker takes read_paths from it when it runs)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk gremlin")

    lib = empty_library
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        with monkeypatch.context() as patch:
            patch.setattr(importing, "read_paths", broken)
            await _import(pilot, DIGEST)
        assert any("RuntimeError" in t and "disk gremlin" in t for t in toasts(app)), toasts(app)
        assert not app.query_one("#import-progress").display
        await _import(pilot, DIGEST)
        assert not any("already running" in t for t in toasts(app)), toasts(app)
        assert len(lib) == 5


async def test_any_worker_that_raises_is_reported(sample_library: Library, tmp_path: Path) -> None:
    """The search worker (injected: its query raises a bug's exception) says so in a
    notification instead of dying in silence; the app goes on searching."""
    app = build(sample_library, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        real = app._run_query

        def query(search: str) -> list[str]:
            if "crash" in search:
                raise ZeroDivisionError("a bug in the search")
            return real(search)

        app._run_query = query  # type: ignore[method-assign]
        await pilot.press("/", *"crash")
        await settle(pilot, 0.35)
        assert any(
            "The search failed" in t and "ZeroDivisionError" in t and "a bug in the search" in t
            for t in toasts(app)
        ), toasts(app)
        app.search_box.value = ""
        await pilot.press(*"diffusion")
        await settle(pilot, 0.35)
        assert app.paper_list.ids == sample_library.query("is:unread diffusion")


def test_import_of_a_folder_without_feed_files_says_so(tmp_path: Path) -> None:
    """Found trying it: `papertui import empty-folder` printed nothing and exited 0, as if
    the folder had been imported; the other sources of the command are still imported."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF")
    result = run("import", str(empty), str(DIGEST), db=tmp_path / "lib")
    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        f"papertui: error: {empty}: no feed files "
        "(.txt .html .htm .xml .rss .atom .json or none) in this folder"
    )
    assert "digest: 5 found, 5 new" in result.stdout


def test_a_feed_that_grows_between_its_size_and_its_read_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file is read as much as it holds (plus a byte, to see it grew): one written to while
    it is imported (a fetch in progress) is read whole, not cut at the size it had a moment
    before. (Its size, as asked first, is given 100 bytes short here.)"""
    from tui import sources

    path = tmp_path / "growing.txt"
    data = b"".join(b"A line of a feed being written, number %d.\n" % i for i in range(500))
    path.write_bytes(data)
    real_stat = Path.stat

    def stat_before(self: Path, *args: Any, **kwargs: Any) -> Any:
        info = real_stat(self, *args, **kwargs)
        if self == path:
            fields = list(info)
            fields[6] -= 100  # st_size: as it was before the last 100 bytes
            return os.stat_result(fields)
        return info

    monkeypatch.setattr(Path, "stat", stat_before)
    read, _name = sources.read_source(str(path))
    assert read == data


def _laughs(source: Path, old: str) -> str:
    """``source`` with a "billion laughs" DOCTYPE (ten levels of ten nested entities: 10⁹
    "lol"s expanded) and a reference to the last one in place of ``old``."""
    text = source.read_text(encoding="utf-8")
    first, rest = text.split("\n", 1)
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    assert old in rest
    return "\n".join([first, "<!DOCTYPE lolz [", *levels, "]>", rest.replace(old, "&lol9; ", 1)])


def test_a_feed_declaring_entities_is_one_error_line_and_costs_nothing_else(
    tmp_path: Path,
) -> None:
    """Found by an adversary: an RSS feed holding a "billion laughs" (nested entity
    declarations) was refused as "not an RSS feed: expected <rss><channel>", and the same
    in Atom was imported with "&lol9;" in a title. papertui expands no declared entity:
    either is one line naming the file, the line of the first declaration and what is
    expected; the other files of the import are imported, and the exit status is 1."""
    rss = tmp_path / "laughs.rss"
    rss.write_text(_laughs(FEEDS / "arxiv-cs-cv-2026-06-19.rss", "SpectralDiT: "), "utf-8")
    atom = tmp_path / "laughs.xml"
    api = Path(__file__).resolve().parent / "feeds" / "arxiv-api-query-cs-cv.xml"
    atom.write_text(_laughs(api, "Merge &amp; "), "utf-8")
    db = tmp_path / "lib"
    result = run("import", "--create", str(rss), str(atom), str(DIGEST), db=db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"papertui: error: {path}: line 3: declares XML entities (<!ENTITY …>), which "
        "papertui does not expand: expected a feed without entity declarations"
        for path in (rss, atom)
    ]
    assert "5 new" in result.stdout
    assert len(papers(db)) == 5  # the digest's, nothing of the two feeds


def test_utf32_and_utf16_feeds_with_a_bom_are_read(tmp_path: Path) -> None:
    """Found by an adversary: a feed saved as UTF-32 (with its BOM, as Windows editors and
    PowerShell write it) was "not a recognised feed" (UTF-32-LE's BOM begins with UTF-16-LE's:
    read as UTF-16, every other character a NUL) or "binary data" (big-endian). Each is read
    by its BOM, UTF-16 as before; one cut off in the middle of a character is one error line,
    and costs the other files nothing. Oracle: the papers of the same feeds in UTF-8, by
    title, as Python's codecs encode the text."""
    rss_text = (FEEDS / "arxiv-cs-cv-2026-06-19.rss").read_text(encoding="utf-8")
    digest_text = DIGEST.read_text(encoding="utf-8")
    files = {
        "digest-32le.txt": digest_text.encode("utf-32-le"),
        "digest-32be.txt": digest_text.encode("utf-32-be"),
        "digest-16be.txt": digest_text.encode("utf-16-be"),
        "feed-32le.rss": rss_text.replace("encoding='UTF-8'", "encoding='UTF-32'").encode(
            "utf-32-le"
        ),
    }
    boms = {"32le": b"\xff\xfe\x00\x00", "32be": b"\x00\x00\xfe\xff", "16be": b"\xfe\xff"}
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(boms[name.split("-")[1].split(".")[0]] + data)
        paths.append(path)
    cut = tmp_path / "cut-32le.txt"
    cut.write_bytes(boms["32le"] + files["digest-32le.txt"][:-2])
    db = tmp_path / "lib"
    result = run("import", "--create", *map(str, [*paths, cut]), db=db)
    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        f"papertui: error: {cut}: cut off in the middle of a UTF-32-LE character "
        f"at byte {len(files['digest-32le.txt'])}"  # (the BOM's 4, then all but the last 4)
    )
    assert result.stdout.count("digest: 5 found") == 3, result.stdout
    assert "arxiv-rss: 7 found, 7 new" in result.stdout, result.stdout
    got = titles(db)
    assert digest_text.split("\n", 1)[0] in got
    assert (
        "SpectralDiT: Timestep-Conditioned Spectral Residual Correction for Flow-Matching DiTs"
        in got
    )
    assert len(got) == 12
