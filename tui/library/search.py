"""Fast substring search over many papers.

A `TextIndex` keeps the casefolded text of every paper in one string, NUL-separated, so a
query word is found by C-speed ``str.find`` jumps instead of a Python loop over 100,000
papers; a hit is mapped back to its paper by bisecting the start offsets. Papers changed
after the index was built are kept aside (``overrides``) until the next rebuild.

`Postings` is an inverted index of one library segment's papers, written with the segment at
import: a one-word query looks the word up in each segment's vocabulary instead of reading
and scanning every paper's text.
"""

from __future__ import annotations

import mmap
import os
import re
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence

import orjson

SEPARATOR = "\x00"  # never in feed text: `tui.text.clean` removes C0 controls


class TextIndex:
    """Casefolded text of many papers, searchable by substring.

    With ``utf8`` the text is kept as UTF-8 bytes: English text with a single "Δ" or "—"
    would otherwise make the whole Python string 2 bytes per character, twice the memory
    and twice the scanning. UTF-8 is self-synchronising, so byte search finds exactly the
    character matches. Chinese text is better kept as ``str`` (2 bytes per character).
    """

    def __init__(self, docs: Iterable[tuple[str, str]], utf8: bool = False) -> None:
        ids: list[str] = []
        starts: list[int] = []
        parts: list = []
        pos = 0
        for pid, text in docs:
            part = text.encode("utf-8") if utf8 else text
            ids.append(pid)
            starts.append(pos)
            parts.append(part)
            pos += len(part) + 1
        self.utf8 = utf8
        self.ids = ids
        self.starts = starts
        self.text: str | bytes = (SEPARATOR.encode() if utf8 else SEPARATOR).join(parts)
        self.overrides: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, pid: str, text: str) -> None:
        """Use ``text`` for ``pid`` from now on (a paper added or changed after the build)."""
        self.overrides[pid] = text

    @property
    def stale(self) -> bool:
        """Rebuilding is worth it once many papers live in the overrides."""
        return len(self.overrides) > 1000 + len(self.ids) // 10

    def find(self, word: str) -> set[str]:
        """Ids of the papers whose text contains ``word`` (already casefolded)."""
        hits: set[str] = set()
        if not word or SEPARATOR in word:
            return hits
        text, starts, ids = self.text, self.starts, self.ids
        needle: str | bytes = word.encode("utf-8") if self.utf8 else word
        last = len(ids) - 1
        i = text.find(needle)  # type: ignore[arg-type]
        while i != -1:
            k = bisect_right(starts, i) - 1
            hits.add(ids[k])
            if k == last:
                break
            i = text.find(needle, starts[k + 1])  # type: ignore[arg-type]
        if self.overrides:
            hits.difference_update(self.overrides)
            hits.update(pid for pid, t in self.overrides.items() if word in t)
        return hits


_TOKEN = re.compile(r"[a-z0-9]+")
MAGIC = b"papertui-postings 1\n"


def word_pieces(word: str) -> tuple[str | None, bool]:
    """(the piece of ``word`` to look up in postings or None for "scan", whether hits are exact).

    A query made only of ASCII letters and digits can only occur inside one maximal run of
    such characters (a "token"), so the union of the postings of the indexed tokens that
    contain it is exactly the set of texts containing it. Other queries (``top-k``) are
    narrowed by their longest ASCII piece and checked against each candidate's text.
    """
    pieces = _TOKEN.findall(word)
    exact = pieces == [word]
    if not pieces or (max(len(p) for p in pieces) < 2 and not exact):
        return None, False
    return max(pieces, key=len), exact


class Postings:
    """Which of a few thousand texts contain which ASCII words: an inverted index in four flat
    arrays, built once per library segment and stored next to it (`dump_postings`).

    The vocabulary is every distinct token, NUL-separated, at ``buf[lo:hi]`` (``starts[k]``
    is where token ``k`` begins, from ``lo``), so a substring of a token is found by C-speed
    ``bytes.find`` jumps; the texts holding token ``k`` are
    ``postings[offsets[k]:offsets[k + 1]]``. A loaded file is used where it lies (the arrays
    are memoryviews of the file's bytes): no copy, no Python object per token or posting.
    """

    def __init__(
        self,
        buf: bytes | mmap.mmap,
        lo: int,
        hi: int,
        starts: Sequence[int],
        offsets: Sequence[int],
        postings: Sequence[int],
    ) -> None:
        self.buf, self.lo, self.hi = buf, lo, hi
        self.starts = starts
        self.offsets = offsets
        self.postings = postings

    @classmethod
    def build(cls, texts: Iterable[str]) -> Postings:
        """From casefolded texts; `find` answers with their positions in ``texts``."""
        by_token: dict[str, list[int]] = {}
        count = 0
        for idx, text in enumerate(texts):
            count += 1
            for token in set(_TOKEN.findall(text)):
                found = by_token.get(token)
                if found is None:
                    by_token[token] = [idx]
                else:
                    found.append(idx)
        return cls.from_tokens({t.encode("ascii"): p for t, p in by_token.items()}, count)

    @classmethod
    def from_tokens(cls, by_token: dict[bytes, list[int]], count: int) -> Postings:
        """From each token's positions (below ``count``)."""
        tokens = sorted(by_token)
        starts, offsets = array("I"), array("I", [0])
        postings = array("H" if count <= 0xFFFF else "I")
        pos = 0
        for token in tokens:
            starts.append(pos)
            pos += len(token) + 1
            postings.extend(by_token[token])
            offsets.append(len(postings))
        vocab = b"\x00".join(tokens)
        return cls(vocab, 0, len(vocab), starts, offsets, postings)

    def tokens(self) -> Iterator[tuple[bytes, Sequence[int]]]:
        """Every token with the positions of the texts holding it."""
        if self.hi <= self.lo:
            return
        offsets, postings = self.offsets, self.postings
        for k, token in enumerate(self.buf[self.lo : self.hi].split(b"\x00")):
            yield token, postings[offsets[k] : offsets[k + 1]]

    def find(self, piece: str) -> set[int]:
        """Positions of the texts having a token that contains ``piece`` (see `word_pieces`)."""
        buf, lo, hi = self.buf, self.lo, self.hi
        starts, offsets, postings = self.starts, self.offsets, self.postings
        needle = piece.encode("ascii")
        last = len(starts) - 1
        found: set[int] = set()
        i = buf.find(needle, lo, hi)
        while i != -1:
            k = bisect_right(starts, i - lo) - 1
            found.update(postings[offsets[k] : offsets[k + 1]])
            if k == last:
                break
            i = buf.find(needle, lo + starts[k + 1], hi)
        return found

    def _sizes(self) -> list:
        code = memoryview(self.postings).format  # type: ignore[arg-type]
        return [self.hi - self.lo, len(self.starts), code, len(self.postings)]

    def _blobs(self) -> list[bytes]:
        arrays = (self.starts, self.offsets, self.postings)
        return [self.buf[self.lo : self.hi], *(bytes(a) for a in arrays)]  # type: ignore[call-overload]


def merge_postings(parts: list[tuple[Postings, list[int]]], count: int) -> Postings:
    """One index of several: each part's positions renumbered through its map (-1: drop)."""
    by_token: dict[bytes, list[int]] = {}
    for postings, renumber in parts:
        at = renumber.__getitem__
        for token, positions in postings.tokens():
            mapped = [p for p in map(at, positions) if p >= 0]
            if mapped:
                found = by_token.get(token)
                if found is None:
                    by_token[token] = mapped
                else:
                    found.extend(mapped)
    return Postings.from_tokens(by_token, count)


def dump_postings(header: dict, sections: dict[str, Postings]) -> bytes:
    """The stored form of a segment's postings: magic, a JSON header (``header`` plus the
    sections' sizes), then each section's arrays."""
    head = dict(header)
    head["sections"] = {name: p._sizes() for name, p in sections.items()}
    head["byteorder"] = sys.byteorder
    data = orjson.dumps(head)
    blobs = [blob for p in sections.values() for blob in p._blobs()]
    return b"".join([MAGIC, len(data).to_bytes(4, "little"), data, *blobs])


def map_file(path: str | os.PathLike) -> bytes | mmap.mmap:
    """A postings file's bytes, mapped rather than read: a query touches only the pages of
    the vocabulary and of the postings it needs. The library never changes a written file
    in place (it writes a new one and renames it), so the mapping stays valid. (Each map
    holds a file descriptor: used for the few large pack files only.)"""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def load_postings(data: bytes | mmap.mmap) -> tuple[dict, dict[str, Postings]]:
    """(header, sections) from `dump_postings` output; ValueError if it is not that."""
    try:
        return _load_postings(data)
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError) as err:
        raise ValueError(f"bad postings file ({type(err).__name__})") from None


def _load_postings(data: bytes | mmap.mmap) -> tuple[dict, dict[str, Postings]]:
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError("not a postings file")
    at = len(MAGIC)
    size = int.from_bytes(data[at : at + 4], "little")
    at += 4
    header = orjson.loads(data[at : at + size])
    sizes = header["sections"]
    swap = header["byteorder"] != sys.byteorder
    at += size
    sections = {}
    view = memoryview(data)
    for name, (n_vocab, n_tokens, code, n_postings) in sizes.items():
        lo = at
        at += n_vocab
        arrays = []
        for typecode, count in (("I", n_tokens), ("I", n_tokens + 1), (code, n_postings)):
            if typecode not in ("H", "I"):
                raise ValueError(f"bad postings type {typecode!r}")
            end = at + count * array(typecode).itemsize
            if end > len(data):
                raise ValueError("truncated postings file")
            if swap:  # written on a machine of the other byte order: copy and swap
                arr = array(typecode, data[at:end])
                arr.byteswap()
                arrays.append(arr)
            else:
                arrays.append(view[at:end].cast(typecode))
            at = end
        if arrays[1][-1] != n_postings:
            raise ValueError("inconsistent postings file")
        sections[name] = Postings(data, lo, lo + n_vocab, *arrays)
    if at != len(data):
        raise ValueError("trailing data in postings file")
    return header, sections
