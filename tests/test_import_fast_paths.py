"""The import's fast paths give what the plain algorithms give.

Each shortcut taken for speed (sniffers that skip text that cannot match, `clean` returning
clean text at once, the segment file put together from each paper's bytes, the collector
paused during an import) is checked here against a plain reference: the code as it was
before the shortcut, or orjson itself.
"""

from __future__ import annotations

import gc
import random
import re
from pathlib import Path

import orjson
import pytest

from tui.feeds import FeedError, parse_text
from tui.feeds.arxivdaily import _ID_LINE
from tui.feeds.arxivdaily import FORMAT as ARXIVDAILY
from tui.feeds.base import split_lines
from tui.feeds.digest import FORMAT as DIGEST
from tui.feeds.digest import _classify
from tui.feeds.hf_text import _AUTHORS, _CHROME, _DOTS, _kind
from tui.feeds.hf_text import FORMAT as HF_TEXT
from tui.library import Library, LibraryError, core, truth
from tui.text import clean, clean_line

from .feedgen import hf_text


# ------------------------------------------------------------------ the sniffers, as they were
def _head_lines(text: str) -> list[str] | None:
    head = text.lstrip("\ufeff \t\r\n")
    if not head or head.startswith("<"):
        return None
    return [line.strip() for line in split_lines(head)[:3000]]


def digest_sniff(text: str) -> float:
    lines = _head_lines(text)
    if lines is None:
        return 0.0
    contrib = markers = other = 0
    for raw in lines:
        line = _classify(0, raw)
        if line.label == "核心贡献":
            contrib += 1
        elif line.label == "查看原文摘要":
            markers += 1
        elif line.label:
            other += 1
    if contrib and markers:
        return 0.95
    return 0.6 if (contrib or markers) and other else 0.0


def arxivdaily_sniff(text: str) -> float:
    lines = _head_lines(text)
    if lines is None:
        return 0.0
    ids = markers = 0
    for line in lines:
        if _ID_LINE.match(line):
            ids += 1
        elif line in ("AI中文摘要", "英文摘要") or "信号源" in line or "arXivDaily" in line:
            markers += 1
    if ids and markers:
        return 0.95
    return 0.5 if ids >= 2 else 0.0


_DATE = re.compile(
    r"^(?P<month>[A-Z][a-z]{2})[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<comments>\d+))?$"
)
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def plain_kind(line: str) -> str:
    if line in _DOTS:
        return "dot"
    if _AUTHORS.match(line):
        return "authors"
    m = _DATE.match(line)
    return "date" if m and m.group("month").lower() in _MONTHS else "text"


def hf_sniff(text: str) -> float:
    lines = _head_lines(text)
    if lines is None:
        return 0.0
    chrome = sum(1 for line in lines[:40] if line.casefold() in _CHROME)
    authors = sum(1 for line in lines if _AUTHORS.match(line))
    dated = sum(
        1 for a, b in zip(lines, lines[1:], strict=False) if a in _DOTS and plain_kind(b) == "date"
    )
    score = 0.0
    if dated or authors:
        score = 0.6 if dated + authors >= 2 else 0.4
    if chrome >= 2:
        score = min(score + 0.35, 0.95) if score else 0.5
    return score


# Lines that each shortcut could misjudge: a marker or label not at a line's start, an id
# line after blank space or with another script's digits, "authors" at a line's end that
# is no author line, chrome in another case, dates with odd digits, controls.
TRICKY = [
    "核心贡献: 一个贡献",
    "  核心贡献：前有空格",
    "见 核心贡献: 不在行首",
    "查看原文摘要",
    "查看原文摘要 ▼ An abstract",
    "方法: 一个方法",
    "关键发现: 发现",
    "2606.19162 2026-06-18 cs.LG cs.CV 新提交 85%",
    "  2606.19162v2 2026-06-18",
    "cs/0601001 2026-06-18 cs.CV",
    "hep-th/0601001v3 2026-06-18",
    "٢٦٠٦.١٩١٦٢ ٢٠٢٦-٠٦-١٨",
    "x2606.19162 2026-06-18",
    "AI中文摘要",
    "英文摘要",
    "今日收录 3 信号源:cs.CV",
    "from arXivDaily",
    "• 6 authors",
    "12 authors",
    "Many authors",
    "the authors",
    "·",
    "•",
    "Nov 30 2",
    "Jun 3, 2024",
    "Sept. 5",
    "Feb ٣",
    "Dec 1x",
    "DAILY PAPERS",
    "Subscribe",
    "byAK and the research community",
    "A Title: Diffusion Models for Everything",
    "We present a method. It works on every benchmark we tried and on many more besides.",
    "",
    "   ",
    "\t",
    "ﬁ",
    "\x1b[31m red",
]


@pytest.mark.parametrize("seed", range(40))
def test_sniffers_score_as_the_plain_algorithms(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        lines = [rng.choice(TRICKY) for _ in range(rng.randrange(1, 60))]
        text = rng.choice(["", "\ufeff", "\n\n", "  "]) + "\n".join(lines)
        assert DIGEST.sniff(text) == digest_sniff(text), text
        assert ARXIVDAILY.sniff(text) == arxivdaily_sniff(text), text
        assert HF_TEXT.sniff(text) == hf_sniff(text), text
        for line in lines:
            assert _kind(line.strip()) == plain_kind(line.strip()), line


# ------------------------------------------------------------------ clean, as it was
_CONTROL = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\x7f"
_CONTROL += "".join(chr(c) for c in range(0x80, 0xA0))
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def plain_clean(text: str) -> str:
    from tui.text import _ESCAPE_SEQ

    if not text:
        return ""
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _ESCAPE_SEQ.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(str.maketrans({c: None for c in _CONTROL + _BIDI}))


def test_clean_gives_what_the_plain_algorithm_gives() -> None:
    rng = random.Random(7)
    alphabet = [*"ab Z.é中\n\t\r", "\r\n", "  ", "\x1b[31m", "\x1b", "\x9b", "\x85", "\xa0"]
    alphabet += ["\u2028", "\u3000", "\u202e", "\u200f", "\ud83d", "\ude00", "\x00", "\x7f"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(10)))
        assert clean(text) == plain_clean(text), repr(text)
        assert clean_line(text) == " ".join(plain_clean(text).split()), repr(text)


# ------------------------------------------------------------------ the segment file
def test_segment_file_is_orjson_of_its_tables_and_spans_point_at_each_paper() -> None:
    records = [
        {"id": f"p{i}", "title": f"T{i} ✓", "upvotes": 0, "authors": [], "keys": ["title:x"]}
        for i in range(12)
    ]
    for record in records:
        record["sources"] = [{"format": "hf-text", "digest": "d", "origin": "o"}]
    name = truth.Name("dev", 3)
    raw, segment = truth.segment_file(name, "2026-01-01T00:00:00", records)
    tables = truth.segment_tables(name, "2026-01-01T00:00:00", records)
    data = {"_meta": {"1": {"schema": truth.SCHEMA_VERSION}}}
    for table, docs in tables.items():
        data[table] = {str(i): doc for i, doc in enumerate(docs, 1)}
    assert raw == orjson.dumps(data)
    assert segment.spans == truth.locate(raw, tables["papers"])
    for doc in tables["papers"]:
        at, size = segment.spans[doc["id"]]
        assert orjson.loads(raw[at : at + size]) == doc


def test_a_segment_is_put_together_without_keeping_each_document_s_bytes() -> None:
    """orjson's bytes hold ~16 KiB of memory each whatever their length: the segment's file
    of 2,000 documents of 1.5 KB is put together in at most a few times its own size (it
    took 12 times its size, ~300 MB for an import of 20,000 papers), and is the same file."""
    import tracemalloc

    records = [
        {
            "id": f"p{i}",
            "title": f"Title {i} " * 8,
            "abstract": f"We study caching {i}. " * 60,
            "sources": [{"format": "hf-text", "origin": "f.txt", "digest": "abc"}],
        }
        for i in range(2000)
    ]
    name = truth.Name("dev", 1)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        raw, segment = truth.segment_file(name, "2026-01-01T00:00:00", records)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(raw)
    tables = truth.segment_tables(name, "2026-01-01T00:00:00", records)
    assert segment.spans == truth.locate(raw, tables["papers"])
    assert orjson.loads(raw)["papers"]["2000"] == tables["papers"][-1]


# ------------------------------------------------------------------ the collector
def _feed(tmp_path: Path) -> tuple:
    from tui.sources import load_source

    path = tmp_path / "feed.txt"
    papers = [
        {"title": f"A paper about caching number {i}", "abstract": f"We cache {i}. " * 20}
        for i in range(3)
    ]
    path.write_text(hf_text(papers))
    item = load_source(str(path))
    return item.result, item.source


def test_an_import_pauses_the_collector_and_restores_it_even_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = Library.open(tmp_path / "lib")
    feed = _feed(tmp_path)
    seen = []
    real_write = core.atomic_write

    def failing_write(path: Path, data: bytes) -> int:
        seen.append(gc.isenabled())
        raise LibraryError(f"{path}: could not save (the disk is full)")

    assert gc.isenabled()
    monkeypatch.setattr(core, "atomic_write", failing_write)
    with pytest.raises(LibraryError):
        lib.import_feeds([feed])
    assert seen == [False]  # paused while it stored
    assert gc.isenabled()  # and back on after the failure
    assert len(lib) == 0
    monkeypatch.setattr(core, "atomic_write", real_write)
    (report,) = lib.import_feeds([feed])
    assert report.new == 3 and gc.isenabled()


@pytest.mark.parametrize("fails", ["cache", "segment"])
def test_the_segment_written_beside_the_cache_rows_is_gone_when_either_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """The segment file is written in a thread while the cache's rows go in: when the rows
    fail after the file is written (the writer held back until then), or the file fails,
    nothing is stored, no file stays behind, and the next import stores the feed."""
    import threading

    lib = Library.open(tmp_path / "lib")
    feed = _feed(tmp_path)
    papers = tmp_path / "lib" / "papers"
    before = sorted(papers.iterdir())
    rows_failed = threading.Event()
    real_write, real_finish = core.atomic_write, core.Adding.finish

    def late_write(path: Path, data: bytes) -> int:
        assert rows_failed.wait(30)  # (written only once the rows have failed)
        if fails == "segment":
            raise LibraryError(f"{path}: could not save (the disk is full)")
        return real_write(path, data)

    def finish(self: core.Adding, spans: dict[str, tuple[int, int]]) -> None:
        if fails == "cache":
            rows_failed.set()
            raise OSError("simulated cache failure")
        real_finish(self, spans)
        rows_failed.set()

    monkeypatch.setattr(core, "atomic_write", late_write)
    monkeypatch.setattr(core.Adding, "finish", finish)
    with pytest.raises((OSError, LibraryError)):
        lib.import_feeds([feed])
    monkeypatch.undo()
    assert sorted(papers.iterdir()) == before
    assert len(lib) == 0 and len(Library.open(tmp_path / "lib")) == 0
    (report,) = lib.import_feeds([feed])
    assert report.new == 3 and len(Library.open(tmp_path / "lib")) == 3


def test_a_collector_turned_off_by_the_caller_stays_off(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    feed = _feed(tmp_path)
    gc.disable()
    try:
        lib.import_feeds([feed])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_feed_with_a_surrogate_or_a_reference_to_one_parses_as_the_plain_path(
    tmp_path: Path,
) -> None:
    from tui.sources import load_text

    text = hf_text([{"title": "Surrogates everywhere in this title", "abstract": "Text. " * 40}])
    for odd in ("\ud83d", "&#55357;&#56832;", "\ud83d&#56832;", "&amp;"):
        bad = text.replace("everywhere", odd)
        item = load_text(bad, "o")
        plain = parse_text(bad, "o")
        assert [vars(p) for p in item.result.papers] == [vars(p) for p in plain.papers]
        assert item.result.papers[0].title.encode("utf-8")  # valid Unicode
    with pytest.raises(FeedError):
        load_text(" \n\t\n", "o")


# ------------------------------------------------------------------ papers already stored
def _hf_feeds(tmp_path: Path, name: str, upvotes: list[int], count: int = 6) -> list[tuple]:
    """One feed file per entry of ``upvotes``: the same ``count`` papers (their abstracts
    identify them), each feed naming its own author count (merged as the largest)."""
    from tui.sources import load_source

    feeds = []
    for n, authors in enumerate(upvotes):
        papers = [
            {
                "title": f"Feature caching for diffusion transformers {i}",
                "abstract": f"We study caching of transformer features, case {i}. " * 6,
                "count": authors + i,
            }
            for i in range(count)
        ]
        path = tmp_path / f"{name}-{n}.txt"
        path.write_text(hf_text(papers, page=f"Jun {10 + n}"))
        item = load_source(str(path), imported_at=f"2026-06-{10 + n}T08:00:00+00:00")
        feeds.append((item.result, item.source))
    return feeds


def test_an_import_reads_each_stored_paper_and_each_segments_feeds_once(
    tmp_path: Path,
) -> None:
    """A paper already stored is read from its segment once per import (to match and to
    merge: not twice), and the feeds of a segment once, not with every record read."""
    lib = Library.open(tmp_path / "lib")
    lib.import_feeds(_hf_feeds(tmp_path, "first", [3, 4, 5]))  # one segment of 3 feeds
    statements: list[str] = []
    lib._conn().set_trace_callback(statements.append)
    reports = lib.import_feeds(_hf_feeds(tmp_path, "first", [3, 4, 5]))  # the same again
    lib._conn().set_trace_callback(None)
    assert [(r.new, r.merged, r.unchanged) for r in reports] == [(0, 0, 6)] * 3
    records = [s for s in statements if "JOIN record r ON r.rowid = p.rowid WHERE p.id=" in s]
    assert len(records) == 6  # each stored paper once, though three feeds carry it
    assert not [s for s in statements if "json_group_object" in s]
    assert len([s for s in statements if s.startswith("SELECT key, doc FROM feed")]) == 1


def test_papers_merged_twice_in_one_import_hold_what_the_feeds_say(tmp_path: Path) -> None:
    """Stored papers met by two feeds of one import: each ends with the largest author
    count any feed gave and every feed as a source, once, in import order; nothing new."""
    lib = Library.open(tmp_path / "lib")
    first = _hf_feeds(tmp_path, "first", [3])
    lib.import_feeds(first)
    ids = sorted(lib)
    later = _hf_feeds(tmp_path, "later", [7, 5])
    reports = lib.import_feeds(later)
    assert [(r.new, r.merged, r.unchanged) for r in reports] == [(0, 6, 0), (0, 6, 0)]
    assert sorted(lib) == ids
    digests = [source.digest for _, source in first + later]
    for pid in ids:
        record = lib.record(pid)
        i = int(record["title"].rsplit(" ", 1)[1])
        assert record["author_count"] == 7 + i
        assert [s["digest"] for s in record["sources"]] == digests
    # and the same once the cache is built again from the truth files alone
    again = Library.open(tmp_path / "lib")
    again.rebuild()
    assert {pid: again.record(pid) for pid in ids} == {pid: lib.record(pid) for pid in ids}


def test_a_big_import_into_an_empty_library_finds_each_paper_by_its_words(
    tmp_path: Path,
) -> None:
    """An import of many papers into an empty library (the index then gathers more text
    before writing it: `BULK_HASHSIZE`) finds each paper by a word only it has, and by a
    word all have; the index's setting is back to FTS5's default after it."""
    from tui.library.cache import BULK_PAPERS, FTS_HASHSIZE
    from tui.sources import load_source

    count = BULK_PAPERS + 200
    words = [f"zq{i:04d}x" for i in range(count)]  # (unicode61: one token each)
    papers = [
        {
            "title": f"Paper number {i} on {word} caching",
            "abstract": f"We study {word} and caching of transformer features. " * 8,
        }
        for i, word in enumerate(words)
    ]
    path = tmp_path / "big.txt"
    path.write_text(hf_text(papers))
    item = load_source(str(path))
    lib = Library.open(tmp_path / "lib")
    (report,) = lib.import_feeds([(item.result, item.source)])
    assert report.new == count
    by_word = {}
    for pid in lib:
        title = lib.record(pid)["title"]
        by_word[title.split(" on ")[1].split()[0]] = pid
    for word in words[:: count // 40] + words[-3:]:
        assert list(lib.query(word)) == [by_word[word]]
    assert len(lib.query("caching transformer")) == count
    row = lib._conn().execute("SELECT v FROM text_config WHERE k='hashsize'").fetchone()
    assert row is None or row[0] == FTS_HASHSIZE
