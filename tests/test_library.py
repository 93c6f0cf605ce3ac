"""The library: merging across feeds, idempotent import, state, undo, durability, queries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.feeds import ParseResult
from tui.library import Library, LibraryError, QueryError
from tui.library import core as library_core
from tui.models import Paper, Source

from .conftest import FEEDS, TODAY, import_files

HF_TEXT = FEEDS / "hf-daily-papers.txt"
DIGEST = FEEDS / "digest-dit-acceleration.txt"
ARXIVDAILY = FEEDS / "arxivdaily-image-generation.txt"
TEXT_FEEDS = [DIGEST, FEEDS / "digest-text-to-image.txt", FEEDS / "digest-diffusion-caching.txt"]


def _source(fmt: str, digest: str, feed_date: str | None = "2026-06-18") -> Source:
    return Source(format=fmt, origin=f"/feeds/{digest}", feed_date=feed_date, digest=digest)


def _files(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".lock")
    }


def test_sample_feeds_import_with_expected_counts(empty_library: Library) -> None:
    reports = import_files(empty_library, [HF_TEXT, *TEXT_FEEDS, ARXIVDAILY])
    found = {Path(r.origin).name: (r.found, r.new) for r in reports}
    assert found["hf-daily-papers.txt"] == (82, 82)
    assert found["digest-dit-acceleration.txt"] == (5, 5)
    assert found["arxivdaily-image-generation.txt"] == (4, 4)
    assert len(empty_library) == 82 + 15 + 4
    uniflow = [
        p for p in empty_library.papers.values() if p.get("title", "").startswith("UniFlow:")
    ]
    assert len(uniflow) == 2


def test_reimport_adds_nothing_and_keeps_state(empty_library: Library) -> None:
    import_files(empty_library, [HF_TEXT, ARXIVDAILY])
    pid = empty_library.resolve("2606.19162")
    empty_library.set_state([pid], "star", starred=True, add_tags=["rl"])
    before_files = _files(empty_library.root)
    before_state = dict(empty_library.raw_state(pid))
    reports = import_files(empty_library, [HF_TEXT, ARXIVDAILY])
    assert [(r.new, r.merged, r.unchanged) for r in reports] == [(0, 0, 82), (0, 0, 4)]
    assert _files(empty_library.root) == before_files  # nothing was rewritten
    reopened = Library.open(empty_library.root)
    assert reopened.raw_state(pid) == before_state
    assert len(reopened) == 86


def test_gbk_copy_of_a_feed_adds_nothing(empty_library: Library, tmp_path: Path) -> None:
    import_files(empty_library, [DIGEST])
    gbk = tmp_path / "digest-gbk.txt"
    gbk.write_bytes(DIGEST.read_text(encoding="utf-8").replace("\n", "\r\n").encode("gb18030"))
    before = _files(empty_library.root)
    (report,) = import_files(empty_library, [gbk])
    assert (report.found, report.new, report.merged, report.unchanged) == (5, 0, 0, 5)
    assert _files(empty_library.root) == before


def test_same_paper_from_digest_and_arxivdaily_merges(empty_library: Library) -> None:
    digest = Paper(
        title_zh="Shiva-DiT:基于残差的可微分Top-k选择",
        authors=["Jiaji Zhang", "Hailiang Zhao"],
        author_count=12,
        contribution_zh="提出了一种名为Shiva-DiT的方法",
        abstract="Diffusion Transformers (DiTs) incur prohibitive costs. We achieve a "
        "1.54$\\times$ wall-clock speedup with superior fidelity compared to existing baselines.",
    )
    daily = Paper(
        arxiv_id="2602.01234",
        title="Shiva-DiT: Residual-Based Differentiable Top-k Selection",
        categories=["cs.CV", "cs.LG"],
        abstract="Diffusion Transformers (DiTs) incur prohibitive costs.  We achieve a "
        "1.54times wall-clock speedup with superior fidelity compared to existing baselines.",
        feed_date="2026-06-18",
    )
    empty_library.import_feeds([(ParseResult("digest", [digest]), _source("digest", "a", None))])
    (report,) = empty_library.import_feeds(
        [(ParseResult("arxivdaily", [daily]), _source("arxivdaily", "b"))]
    )
    assert (report.new, report.merged) == (0, 1)
    assert len(empty_library) == 1
    (paper,) = [empty_library.get(pid) for pid in empty_library.papers]
    assert paper.title.startswith("Shiva-DiT: Residual")
    assert paper.title_zh.startswith("Shiva-DiT:基于")
    assert paper.contribution_zh and paper.author_count == 12
    assert paper.arxiv_id == "2602.01234" and paper.categories == ["cs.CV", "cs.LG"]
    assert [s.format for s in paper.sources] == ["digest", "arxivdaily"]
    assert empty_library.resolve("https://arxiv.org/abs/2602.01234v2") == paper.id


def test_shared_short_name_or_different_ids_are_not_merged(empty_library: Library) -> None:
    a = Paper(title="UniFlow: A Unified Pixel Flow Tokenizer", abstract="x" * 100)
    b = Paper(title="UniFlow: Unifying Speech Front-End Tasks", abstract="y" * 100)
    c = Paper(arxiv_id="2601.00001", title="Same Title For Two Ids", abstract="z" * 100)
    d = Paper(arxiv_id="2601.00002", title="Same Title For Two Ids", abstract="z" * 100)
    empty_library.import_feeds([(ParseResult("hf-text", [a, b, c, d]), _source("hf-text", "u"))])
    assert len(empty_library) == 4


def test_state_changes_and_undo_survive_reopen(sample_library: Library) -> None:
    ids = sample_library.query("", sort="title")[:3]
    sample_library.set_state(ids[:1], "star", starred=True)
    sample_library.set_state(ids, "mark read", read=True)
    sample_library.set_state(ids[:1], "note", note="check the ablations")
    reopened = Library.open(sample_library.root)
    assert reopened.state(ids[0]).note == "check the ablations"
    assert all(reopened.state(i).read for i in ids)
    assert reopened.undo() == "note"
    assert reopened.state(ids[0]).note == ""
    assert reopened.undo() == "mark read"  # the bulk change is one step
    assert not any(reopened.state(i).read for i in ids)
    again = Library.open(sample_library.root)
    assert again.state(ids[0]).starred and not again.state(ids[1]).read
    assert again.undo() == "star"
    assert again.undo() is None
    assert again.state(ids[0]).is_default()


def test_star_writes_one_small_file(sample_library: Library) -> None:
    before = _files(sample_library.root)
    written = sample_library.bytes_written
    pid = next(iter(sample_library.papers))
    sample_library.set_state([pid], "star", starred=True)
    after = _files(sample_library.root)
    added = set(after) - set(before)
    assert len(added) == 1 and next(iter(added)).startswith("changes" + os.sep)
    assert all(after[name] == before[name] for name in before)  # no existing file rewritten
    assert sample_library.bytes_written - written < 600


def test_checkpoint_folds_changes_and_keeps_undo(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_core, "CHECKPOINT_EVERY", 10)
    ids = list(sample_library.papers)[:25]
    for pid in ids:
        sample_library.set_state([pid], "star", starred=True)
    assert (sample_library.root / "state.json").exists()
    # Change files older than the previous checkpoint are gone; the newer ones stay beside
    # state.json.bak so doctor can rebuild state.json from them.
    kept = sorted(int(p.stem) for p in (sample_library.root / "changes").iterdir())
    assert kept == list(range(11, 26))
    assert (sample_library.root / "state.json.bak").exists()
    reopened = Library.open(sample_library.root)
    assert sum(1 for pid in ids if reopened.state(pid).starred) == 25
    assert reopened.undo() == "star"
    assert not Library.open(sample_library.root).state(ids[-1]).starred


def test_two_handles_do_not_lose_each_others_changes(sample_library: Library) -> None:
    other = Library.open(sample_library.root)
    ids = list(sample_library.papers)[:40]
    for i, pid in enumerate(ids):
        (sample_library if i % 2 else other).set_state([pid], "star", starred=True)
    assert Library.open(sample_library.root).stats()["starred"] == 40
    assert other.refresh() and other.stats()["starred"] == 40


def test_failed_write_leaves_library_intact(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = next(iter(sample_library.papers))

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(LibraryError, match="disk is full"):
        sample_library.set_state([pid], "star", starred=True)
    monkeypatch.undo()
    leftovers = [p for p in sample_library.root.rglob(".tmp-*")]
    assert leftovers == []
    assert not Library.open(sample_library.root).state(pid).starred


def test_damaged_file_is_reported_and_never_overwritten(sample_library: Library) -> None:
    pid = next(iter(sample_library.papers))
    sample_library.set_state([pid], "star", starred=True)
    (change,) = list((sample_library.root / "changes").iterdir())
    damaged = change.read_bytes()[:-7]
    change.write_bytes(damaged)
    with pytest.raises(LibraryError) as err:
        Library.open(sample_library.root)
    assert str(change) in str(err.value) and "damaged" in str(err.value)
    assert change.read_bytes() == damaged


def test_db_path_that_is_not_a_library(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(LibraryError, match="is a file"):
        Library.open(a_file)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(LibraryError, match="not a papertui library"):
        Library.open(tmp_path / "photos")
    assert a_file.read_text() == "mine"


def test_queries_and_filters(sample_library: Library) -> None:
    lib = sample_library
    pid = lib.resolve("2606.18765")
    lib.set_state([pid], "tag", add_tags=["spectral"])
    lib.set_state([pid], "star", starred=True)
    assert lib.query("tag:spectral") == [pid]
    assert lib.query("is:starred") == [pid]
    assert pid not in lib.query("-is:starred")
    assert lib.query("spectraldit cat:cs.CV") == [pid]
    assert set(lib.query("source:arxivdaily")) >= {pid}
    assert all(
        lib.raw(p).get("feed_date", "") >= "2026-06-01" for p in lib.query("since:2026-06-01")
    )
    assert lib.query("author:jiayu") == [pid]
    hf = lib.query("source:hf")
    assert len(hf) >= 82
    assert lib.query("is:unread", sort="title") != lib.query(
        "is:unread", sort="title", reverse=False
    )
    with pytest.raises(QueryError, match="since"):
        lib.query("since:yesterday")
    with pytest.raises(QueryError):
        lib.query("is:maybe")


def test_sorting_by_upvotes_and_paper_date(sample_library: Library) -> None:
    by_date = sample_library.query("source:hf", sort="paper_date")
    dates = [sample_library.raw(p).get("paper_date") or "" for p in by_date]
    assert dates == sorted(dates, reverse=True)
    by_comments = sample_library.query("source:hf", sort="upvotes")
    first = sample_library.raw(by_comments[0])
    assert (first.get("upvotes") or first.get("num_comments") or 0) > 0
    assert TODAY.year == 2026


def test_open_reads_heads_only_and_bodies_on_demand(empty_library: Library) -> None:
    import_files(empty_library, [HF_TEXT])
    import_files(empty_library, [ARXIVDAILY])  # a second segment
    pid = empty_library.resolve("2606.18765")
    lib = Library.open(empty_library.root)
    assert lib.bodies == {}  # nothing long was read to open
    assert "abstract" not in lib.raw(pid) and lib.raw(pid)["title"].startswith("SpectralDiT")
    paper = lib.get(pid)
    assert paper.abstract.startswith("We propose SpectralDiT") and paper.abstract_zh
    assert len(lib.bodies) == 4  # only that paper's segment was read
    lib.load_bodies()
    assert len(lib.bodies) == len(lib)


@pytest.mark.parametrize("warm", [False, True], ids=["text-scan", "word-index"])
def test_word_search_sees_papers_imported_after_the_index_was_built(
    empty_library: Library, tmp_path: Path, warm: bool
) -> None:
    import_files(empty_library, [DIGEST])
    if warm:
        empty_library.warm()
    assert empty_library.query("wasserstein") == []  # builds the index
    assert len(empty_library.query("residual")) == 2  # Shiva-DiT and SSG
    feed = tmp_path / "later.txt"
    text = ARXIVDAILY.read_text(encoding="utf-8")
    feed.write_text(text.replace("zero-initialized", "Wasserstein-initialised"), encoding="utf-8")
    import_files(empty_library, [feed])
    assert [empty_library.raw(p)["arxiv_id"] for p in empty_library.query("wasserstein")] == [
        "2606.18765"
    ]
    assert empty_library.query("奖励一直就在") == [empty_library.resolve("2606.19162")]
    # the same answers from a fresh handle that builds its index from disk
    assert len(empty_library.query("top-k")) == 1  # not a plain word: checked by text
    fresh = Library.open(empty_library.root)
    assert fresh.query("wasserstein") == empty_library.query("wasserstein")
    assert fresh.query("top-k") == empty_library.query("top-k")


def test_segments_holding_whole_records_still_load(tmp_path: Path) -> None:
    """Segments written with every field in papers/ (no bodies/ file) are read as well."""
    from tui.library.storage import atomic_write, build_tables, dump

    lib = Library.open(tmp_path / "lib")
    record = Paper(id="p1", title="Whole record", abstract="A" * 100).to_dict()
    tables = build_tables(segment=[{"seq": 1, "covers": False}], papers=[record])
    atomic_write(lib.root / "papers" / "00000001.json", dump(tables))
    again = Library.open(lib.root)
    assert again.get("p1").abstract == "A" * 100
    assert again.query("aaaa") == ["p1"]


def _expected_counts(lib: Library) -> dict[str, int]:
    stats = lib.stats()
    return {key: stats[key] for key in ("papers", "unread", "read", "starred")}


def test_counts_follow_every_change_undo_checkpoint_and_other_process(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = sample_library
    monkeypatch.setattr(library_core, "CHECKPOINT_EVERY", 5)
    ids = lib.query("", sort="title")[:12]
    fresh = {"papers": len(lib), "unread": len(lib), "read": 0, "starred": 0}
    assert lib.counts() == _expected_counts(lib) == fresh
    lib.set_state(ids, "mark read", read=True)
    lib.set_state(ids[:4], "star", starred=True, tags=["x"])
    lib.set_state(ids[:2], "mark unread", read=False)
    lib.set_state(ids[:1], "note", note="n")
    lib.set_state(ids[1:2], "unstar", starred=False)
    assert lib.counts() == _expected_counts(lib)
    assert lib.counts()["read"] == 10 and lib.counts()["starred"] == 3
    for _ in range(3):
        lib.undo()
        assert lib.counts() == _expected_counts(lib)
    other = Library.open(lib.root)  # from the checkpoint and the change files
    assert other.counts() == lib.counts()
    other.set_state(ids[-3:], "star", starred=True)
    assert lib.refresh() and lib.counts() == _expected_counts(lib) == other.counts()
    import_files(lib, [HF_TEXT])  # known papers: the counts stay
    assert lib.counts() == _expected_counts(lib)


def test_another_processs_checkpoint_reloads_the_state_not_the_papers(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_core, "CHECKPOINT_EVERY", 3)
    lib = sample_library
    ids = lib.query("", sort="title")
    lib.set_state(ids[:1], "note", note="before")
    lib.load_bodies()
    papers, bodies = lib.papers, dict(lib.bodies)
    before_search = lib.query("diffusion")
    other = Library.open(lib.root)
    for i, pid in enumerate(ids[1:5]):  # crosses a checkpoint: state.json is rewritten
        other.set_state([pid], f"star {i}", starred=True, add_tags=["later"])
    mtime = lib._checkpoint_mtime
    assert lib.refresh()
    assert lib._checkpoint_mtime != mtime  # it saw the new checkpoint...
    assert lib.papers is papers and lib.bodies == bodies  # ...without reloading the papers
    assert lib.query("tag:later") == other.query("tag:later") and len(lib.query("tag:later")) == 4
    assert lib.counts() == other.counts() == _expected_counts(lib)
    assert lib.query("later") == other.query("later")  # tags are searched as words
    assert lib.query("diffusion") == before_search
    assert lib.undo_label() == other.undo_label() == "star 3"
    assert lib.undo() == "star 3" and other.refresh()
    assert other.query("tag:later") == lib.query("tag:later") and len(lib.query("tag:later")) == 3


def test_latest_feed_date_follows_imports(empty_library: Library) -> None:
    lib = empty_library
    assert lib.latest_feed_date() is None
    paper = Paper(title="One paper", abstract="about something")
    lib.import_feeds([(ParseResult(format="hf-text", papers=[paper]), _source("hf-text", "a"))])
    assert lib.latest_feed_date() == "2026-06-18"
    later = _source("hf-text", "b", feed_date="2026-06-20")
    other = Paper(title="Another paper", abstract="about something else")
    lib.import_feeds([(ParseResult(format="hf-text", papers=[other]), later)])
    assert lib.latest_feed_date() == "2026-06-20"


def _scan(lib: Library, word: str) -> list[str]:
    """What a word query must answer: a plain substring scan of every paper's text."""
    from tui.library.query import haystack_parts

    def text(pid: str) -> str:
        state = lib.raw_state(pid)
        parts = [*haystack_parts(lib.record(pid)), *state.get("tags", ()), state.get("note", "")]
        return "\n".join(parts).casefold()

    return [pid for pid in lib.query("") if word in text(pid)]


def _words(lib: Library) -> list[str]:
    import random
    import re

    rng = random.Random(7)
    vocab = sorted({w for pid in lib.papers for w in re.findall(r"\w+", lib.get(pid).title)})
    words = rng.sample(vocab, 40)
    words += [w[1:4] for w in words[:20]] + ["top-k", "2606.1", "a", "3d", "扩散", "zz9"]
    return [w.casefold() for w in words] + ["mytag", "remember"]


@pytest.mark.parametrize("pack_size", [64, 3], ids=["segment-indexes", "packed-indexes"])
def test_word_queries_equal_a_text_scan_from_stored_rebuilt_or_damaged_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pack_size: int
) -> None:
    """Across segments (one per import) with merged papers, a word query gives exactly what a
    substring scan gives, whether each segment's word index is read from search/, rebuilt
    because it is missing or damaged, or built by warm(); and with the indexes of every
    `pack_size` segments merged into a pack file."""
    from tui.library import searching

    monkeypatch.setattr(searching, "PACK_SIZE", pack_size)
    lib = Library.open(tmp_path / "lib")
    for path in sorted(p for p in FEEDS.iterdir() if p.is_file()):
        import_files(lib, [path])  # one segment each; later ones merge into earlier papers
    packs = sorted((lib.root / "search").glob("pack-*"))
    search = sorted((lib.root / "search").glob("0*.bin"))
    assert len(search) == len(lib._segments) == 8
    assert [p.name for p in packs] == (
        ["pack-00000001-00000003.bin", "pack-00000004-00000006.bin"] if pack_size == 3 else []
    )
    some = lib.query("", sort="title")
    lib.set_state(some[:3], "tag", add_tags=["MyTag"])
    lib.set_state(some[3:4], "note", note="Remember the ablation")
    words = _words(lib)
    expected = {w: _scan(lib, w) for w in words}
    assert all(expected[w] for w in ("mytag", "remember", "top-k", "2606.1"))
    assert {w: lib.query(w) for w in words} == expected
    if packs:  # the packs answer for their segments, minus versions later segments replaced
        fresh = Library.open(lib.root)
        units = fresh._index_units()
        for (ids, _, _), seqs in zip(units, [(1, 2, 3), (4, 5, 6)], strict=False):
            versions = [pid for seq in seqs for pid in fresh._segment_index(seq)[0]]
            assert sorted(ids) == sorted(set(versions))  # each paper once
        assert len(units) == 4 and any(stale for _, _, stale in units[:2])
        packs[0].write_bytes(packs[0].read_bytes()[:100])  # damaged: the segments answer
        assert {w: Library.open(lib.root).query(w) for w in words} == expected

    search[0].unlink()  # missing
    search[1].write_bytes(search[1].read_bytes()[:-7])  # truncated
    search[2].write_bytes(b"\x00" * 64)  # garbage
    search[3].write_bytes(search[4].read_bytes())  # another segment's
    fresh = Library.open(lib.root)
    assert {w: fresh.query(w) for w in words} == expected
    warmed = Library.open(lib.root)
    warmed.warm()
    assert {w: warmed.query(w) for w in words} == expected
    from tui.library.searching import author_text

    for name in ("li", "zhang", "n-v", "ü", "x"):
        want = [p for p in lib.query("") if name in author_text(lib.raw(p))]
        assert want or name in ("ü", "x")
        for handle in (lib, fresh, warmed):
            assert handle.query(f"author:{name}") == want, name


def test_combined_filters_in_either_order_and_sort_direction(sample_library: Library) -> None:
    lib = sample_library
    ids = lib.query("", sort="title")
    lib.set_state(ids[::3], "read", read=True)
    lib.set_state(ids[::5], "star", starred=True)
    read = {p for p in ids if lib.raw_state(p).get("read")}
    starred = {p for p in ids if lib.raw_state(p).get("starred")}
    diffusion = set(lib.query("diffusion"))
    for sort in ("title", "feed_date"):
        for reverse in (True, False):
            order = lib.query("", sort=sort, reverse=reverse)

            def q(text: str, sort: str = sort, reverse: bool = reverse) -> list[str]:
                return lib.query(text, sort=sort, reverse=reverse)

            assert q("is:unread diffusion") == [p for p in order if p in diffusion - read]
            assert q("diffusion is:unread") == q("is:unread diffusion")
            assert q("-is:unread") == [p for p in order if p in read]
            assert q("is:unread -is:starred") == [p for p in order if p not in read | starred]
            assert q("is:starred -diffusion") == [p for p in order if p in starred - diffusion]
            assert q("-diffusion") == [p for p in order if p not in diffusion]
            assert q("is:read is:unread") == []
