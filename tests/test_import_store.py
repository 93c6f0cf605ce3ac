"""How an import stores its papers in the cache database does not change what is found.

The cache's settings for speed (the search index's merge settings; an import's identity
keys filed in a small table, folded into the big one now and then) are checked against a
cache rebuilt from the library's files and against words only one paper has: the same
papers, found by the same searches, whatever settings the cache was made with.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui.library import Library, cache
from tui.library.cache import AUTOMERGE, BULK_PAPERS
from tui.sources import load_source

from .feedgen import hf_text


def _feed(tmp_path: Path, name: str, words: list[str]) -> tuple:
    papers = [
        {
            "title": f"Study {word} of sparse caching",
            "abstract": f"We measure {word} with diffusion transformers on caching. " * 6,
        }
        for word in words
    ]
    path = tmp_path / f"{name}.txt"
    path.write_text(hf_text(papers))
    item = load_source(str(path))
    return item.result, item.source


def _found(lib: Library, queries: list[str]) -> dict[str, list[str]]:
    return {q: sorted(lib.query(q)) for q in queries}


def test_imports_into_a_cache_made_with_other_index_settings_find_the_same_papers(
    tmp_path: Path,
) -> None:
    """A cache made before the index's merge settings (FTS5's defaults) takes small and
    bulk imports, then holds the settings; each paper is found by the word only it has,
    and every search finds what a cache rebuilt from the files finds; FTS5's own check
    finds the index sound."""
    sizes = (150, BULK_PAPERS + 50, 150)
    words = [[f"zq{n}w{i:04d}x" for i in range(size)] for n, size in enumerate(sizes)]
    lib = Library.open(tmp_path / "lib")
    conn = lib._conn()
    # As a cache made before the settings: FTS5's defaults, nothing in text_config.
    conn.execute("DELETE FROM text_config WHERE k='automerge'")
    lib.close()
    lib = Library.open(tmp_path / "lib")
    (first,) = lib.import_feeds([_feed(tmp_path, "a", words[0])])
    assert first.new == sizes[0]
    for n in (1, 2):
        (report,) = lib.import_feeds([_feed(tmp_path, "abc"[n], words[n])])
        assert report.new == sizes[n]
    conn = lib._conn()
    assert conn.execute("SELECT v FROM text_config WHERE k='automerge'").fetchone() == (AUTOMERGE,)
    conn.execute("INSERT INTO text(text, rank) VALUES('integrity-check', 0)")
    by_word = {lib.record(pid)["title"].split()[1]: pid for pid in lib}
    assert len(by_word) == sum(sizes)
    every = [w for group in words for w in group]
    queries = [*every[::97], *every[-3:], "sparse caching", "diffus*", '"diffusion transformers"']
    found = _found(lib, queries)
    for word in [*every[::97], *every[-3:]]:
        assert found[word] == [by_word[word]]
    assert len(found["sparse caching"]) == sum(sizes)
    lib.rebuild()
    assert _found(lib, queries) == found
    lib.close()


def _filed(root: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(key, paper id) of the rows of ``ident`` and of ``newident``."""
    db = sqlite3.connect(root / ".cache" / "library.sqlite")
    try:
        return tuple(  # type: ignore[return-value]
            set(db.execute(f"SELECT i.key, p.id FROM {t} i JOIN paper p ON p.rowid = i.paper"))
            for t in ("ident", "newident")
        )
    finally:
        db.close()


@pytest.mark.parametrize("fold_min", [0, 450, 10**9])
def test_imports_file_each_paper_under_its_keys_before_and_after_a_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold_min: int
) -> None:
    """Whether an import's keys are still in ``newident`` or were folded into ``ident``
    (every import folds, the second folds, none does), each paper is filed under exactly
    the keys of its record, once, as a rebuilt cache files it; the same papers imported
    again, or seen in another feed (their records merged), are found, none added."""
    monkeypatch.setattr(cache, "IDENT_FOLD_MIN", fold_min)
    monkeypatch.setattr(cache, "IDENT_FOLD", 0.0)
    root = tmp_path / "lib"
    lib = Library.open(root)
    first = [f"kq{i:04d}y" for i in range(150)]
    second = [f"kr{i:04d}y" for i in range(150)]
    assert lib.import_feeds([_feed(tmp_path, "a", first)])[0].new == len(first)
    assert lib.import_feeds([_feed(tmp_path, "b", second)])[0].new == len(second)
    main, new = _filed(root)
    assert bool(new) == (fold_min > 450) and bool(main) == (fold_min <= 450)
    # The first papers again, from a feed of another format: merged (their records are
    # written again, filed in ``ident``), then the same feed once more: unchanged.
    again = _feed(tmp_path, "c", first)
    again[0].format = "digest"
    for p in again[0].papers:
        p.upvotes = 7
    (merged,) = lib.import_feeds([again])
    assert (merged.new, merged.merged) == (0, len(first))
    (same,) = lib.import_feeds([_feed(tmp_path, "d", second)])
    assert (same.new, same.merged + same.unchanged) == (0, len(second))
    assert len(lib) == len(first) + len(second)
    main, new = _filed(root)
    assert not main & new  # (a key of a paper in one of the two)
    stored = main | new
    assert {pid: sorted(lib.record(pid)["keys"]) for pid in lib} == {
        pid: sorted(k for k, p in stored if p == pid) for pid in lib
    }
    lib.rebuild()
    assert set().union(*_filed(root)) == stored
    lib.close()
