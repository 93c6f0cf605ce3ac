"""How an import stores its papers in the cache database does not change what is found.

The cache's settings for speed (the search index's merge settings, rows written in key
order) are checked against a cache rebuilt from the library's files and against words only
one paper has: the same papers, found by the same searches, whatever settings the cache
was made with.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tui.library import Library
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


def test_an_import_files_each_new_paper_under_its_keys_in_the_cache(tmp_path: Path) -> None:
    """The identity keys of an import's new papers (written in key order, not the papers'
    order) are each filed under their own paper, as a rebuilt cache files them; the same
    papers imported again are all found, none added."""
    words = [f"kq{i:04d}y" for i in range(300)]
    lib = Library.open(tmp_path / "lib")
    feed = _feed(tmp_path, "a", words)
    (report,) = lib.import_feeds([feed])
    assert report.new == len(words)

    def filed() -> set[tuple[str, str]]:
        db = sqlite3.connect(tmp_path / "lib" / ".cache" / "library.sqlite")
        try:
            return set(
                db.execute("SELECT i.key, p.id FROM ident i JOIN paper p ON p.rowid = i.paper")
            )
        finally:
            db.close()

    stored = filed()
    assert {pid for _, pid in stored} == set(lib)
    assert {pid: sorted(lib.record(pid)["keys"]) for pid in lib} == {
        pid: sorted(k for k, p in stored if p == pid) for pid in lib
    }
    (again,) = lib.import_feeds([_feed(tmp_path, "b", words)])
    assert (again.new, again.unchanged + again.merged) == (0, len(words))
    lib.rebuild()
    assert filed() == stored
    lib.close()
