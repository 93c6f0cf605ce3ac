"""Adversary of the WAL copied beside a big import (`Cache.big_commit`) and of the library
paths SQLite is given as URIs: real `papertui` processes on libraries whose folder names
hold the characters a URI gives meaning to. The oracle is what the test wrote (a damaged
cache file, the folder's listing), never the code under test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui.library import Library

from .conftest import ROOT


def _papertui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", ["lib #1", "lib?x", "lib%231", "my lib #2 ?mode=ro"])
def test_doctor_reads_the_cache_of_a_library_whose_name_a_uri_gives_meaning_to(
    tmp_path: Path, sample_library: Library, name: str
) -> None:
    """`papertui doctor` on a library named with ``#``, ``?`` or ``%``: a damaged cache is
    found (not a database made empty beside the library, in its parent folder, and found
    healthy), `doctor --repair` rebuilds it, and nothing is left in the parent folder."""
    sample_library.close()
    root = tmp_path / name
    shutil.copytree(sample_library.root, root, symlinks=True)
    ids = sorted(Library.open(root))
    before = sorted(os.listdir(tmp_path))
    assert _papertui("doctor", "--db", str(root)).returncode == 0
    cache = root / ".cache" / "library.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    cache.write_bytes(b"not a database at all " * 400)  # (damaged: the oracle)
    found = _papertui("doctor", "--db", str(root))
    assert found.returncode != 0, found.stdout
    assert "cache database cannot be read" in found.stdout, found.stdout
    assert sorted(os.listdir(tmp_path)) == before  # (no file made beside the library)
    repaired = _papertui("doctor", "--repair", "--db", str(root))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert _papertui("doctor", "--db", str(root)).returncode == 0
    assert sorted(Library.open(root)) == ids
    assert sorted(os.listdir(tmp_path)) == before


# ---------------------------------------------------------- papers filed under old keys (abs:)
def test_a_paper_filed_only_under_its_old_abstract_key_is_found_after_another_papers_title(
    tmp_path: Path,
) -> None:
    """A paper filed before the identity rules (under ``abs:``, its abstract's opening, and
    its old title), then the same whole abstract again under a new title that another paper
    of the library has: the title's paper is looked at first and is not it (other abstract),
    and the old abstract key still finds the paper (rule 2: the same whole abstract), so it
    is merged, not stored a second time."""
    from tui.feeds import ParseResult
    from tui.library import truth
    from tui.models import Paper

    from .test_identity import SENTENCES, _legacy_keys, _source

    root = tmp_path / "lib"
    lib = Library.open(root)
    whole = " ".join(SENTENCES)  # (over 300 characters: an abs: key)
    other = "We study attention sinks in large language models and why they appear. " * 3
    (report,) = lib.import_feeds(
        [
            (
                ParseResult("hf-text", [Paper(title="Attention Sinks Revisited", abstract=other)]),
                _source("modern"),
            )
        ]
    )
    assert report.new == 1
    old = {
        "id": "pold00001",
        "title": "Feature Caching for Diffusion Transformers",
        "abstract": whole,
        "added_at": "2026-01-01T00:00:00+00:00",
        "sources": [
            {
                "format": "hf-text",
                "origin": "/old",
                "feed_date": "2026-01-01",
                "digest": "old",
                "imported_at": "",
            }
        ],
    }
    old["keys"] = _legacy_keys(old)
    lib.close()
    name = truth.Name("oldmachine", 1)
    segment = truth.segment_tables(name, "2026-01-01T00:00:00+00:00", [old])
    truth.write_tables(root / truth.SEGMENTS / name.file, segment)
    lib = Library.open(root)
    assert len(lib) == 2
    retitled = Paper(title="Attention Sinks Revisited", abstract=whole)
    (report,) = lib.import_feeds([(ParseResult("hf-text", [retitled]), _source("again"))])
    assert (report.new, report.merged) == (0, 1)
    assert len(Library.open(root)) == 2


def test_papers_filed_under_old_abstract_keys_that_arrive_by_sync_take_a_big_import_here(
    tmp_path: Path,
) -> None:
    """This machine's library was made since the identity rules (no paper under an ``abs:``
    key: a big import then does not ask about them); another machine's papers filed under
    them (written by a papertui before the rules) arrive by `papertui sync`; the same
    papers imported here as a big import (a digest: Chinese titles, the abstracts; found by
    the old abstract key alone) are merged into them, none stored twice. Real processes;
    the oracle is the papers the test wrote."""
    import json

    from tui.library import truth

    from .conftest import shared_pair
    from .feedgen import digest
    from .test_identity import _legacy_keys
    from .test_sync import ok

    _, laptop, desk = shared_pair(tmp_path)
    count = 1000  # (a big import: `cache.BULK_PAPERS`)

    def abstract(n: int) -> str:
        return (
            f"Paper {n} of an old library studies how keys filed long ago find it again. "
            "We propose a method, test it on many benchmarks and report what holds up. " * 3
        )

    old = []
    for n in range(count):
        record = {
            "id": f"pold{n:05d}",
            "title": f"An English title of old paper {n}",
            "abstract": abstract(n),
            "authors": ["Old Author"],
            "added_at": "2026-01-01T00:00:00+00:00",
            "sources": [
                {
                    "format": "hf-text",
                    "origin": "/old",
                    "feed_date": "2026-01-01",
                    "digest": "old",
                    "imported_at": "",
                }
            ],
        }
        record["keys"] = _legacy_keys(record)
        old.append(record)
    name = truth.Name("laptop", truth.next_seq(laptop, "laptop"))
    segment = truth.segment_tables(name, "2026-01-01T00:00:00+00:00", old)
    truth.write_tables(laptop / truth.SEGMENTS / name.file, segment)
    ok(laptop, "laptop", "sync")
    ok(desk, "desk", "sync")
    before = json.loads(ok(desk, "desk", "list", "--json"))
    assert sum(p["id"].startswith("pold") for p in before) == count
    feed = tmp_path / "digest.txt"
    feed.write_text(
        digest(
            [
                {"title": "x", "title_zh": f"旧论文第{n}篇", "abstract": abstract(n)}
                for n in range(count)
            ]
        ),
        encoding="utf-8",
    )
    said = ok(desk, "desk", "import", str(feed))
    assert f"{count} found, 0 new, {count} merged" in said, said
    after = json.loads(ok(desk, "desk", "list", "--json"))
    assert sorted(p["id"] for p in after) == sorted(p["id"] for p in before)
    again = ok(desk, "desk", "import", str(feed))
    assert f"0 new, 0 merged, {count} already known" in again, again
    ok(desk, "desk", "doctor")
