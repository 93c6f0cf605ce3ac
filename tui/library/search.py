"""Fast substring search over many papers.

A `TextIndex` keeps the casefolded text of every paper in one string, NUL-separated, so a
query word is found by C-speed ``str.find`` jumps instead of a Python loop over 100,000
papers; a hit is mapped back to its paper by bisecting the start offsets. Papers changed
after the index was built are kept aside (``overrides``) until the next rebuild.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable

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


class WordIndex:
    """Which papers contain which ASCII words: an inverted index with substring lookup.

    A query made only of ASCII letters and digits can only occur inside one maximal run
    of such characters, so finding the indexed runs ("tokens") that contain it and taking
    the union of their postings gives exactly the papers whose text contains it, without
    scanning the text. Other queries (``top-k``, ``Δ``) are narrowed by their longest ASCII
    piece and then checked against each candidate's text.
    """

    def __init__(self, docs: Iterable[tuple[str, str]]) -> None:
        self.ids: list[str] = []
        postings: dict[str, array] = {}
        for idx, (pid, text) in enumerate(docs):
            self.ids.append(pid)
            for token in set(_TOKEN.findall(text)):
                found = postings.get(token)
                if found is None:
                    postings[token] = found = array("I")
                found.append(idx)
        self.postings = postings
        self.vocabulary = TextIndex((token, token) for token in postings)
        self.overrides: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, pid: str, text: str) -> None:
        self.overrides[pid] = text

    @property
    def stale(self) -> bool:
        return len(self.overrides) > 1000 + len(self.ids) // 10

    def candidates(self, word: str) -> tuple[set[str] | None, bool]:
        """(ids that may contain ``word`` or None for "any", whether they surely do)."""
        pieces = _TOKEN.findall(word)
        exact = pieces == [word]
        if not pieces or max(len(p) for p in pieces) < 2 and not exact:
            return None, False
        piece = max(pieces, key=len)
        postings = self.postings
        indexes: set[int] = set()
        for token in self.vocabulary.find(piece):
            indexes.update(postings[token])
        ids = self.ids
        hits = {ids[i] for i in indexes}
        if self.overrides:
            hits.difference_update(self.overrides)
            hits.update(pid for pid, t in self.overrides.items() if word in t)
        return hits, exact
