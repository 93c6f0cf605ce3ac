"""Fast substring search over many papers.

A `TextIndex` keeps the casefolded text of every paper in one string, NUL-separated, so a
query word is found by C-speed ``str.find`` jumps instead of a Python loop over 100,000
papers; a hit is mapped back to its paper by bisecting the start offsets. Papers changed
after the index was built are kept aside (``overrides``) until the next rebuild.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

SEPARATOR = "\x00"  # never in feed text: `tui.text.clean` removes C0 controls


class TextIndex:
    """Casefolded text of many papers, searchable by substring."""

    def __init__(self, docs: Iterable[tuple[str, str]]) -> None:
        ids: list[str] = []
        starts: list[int] = []
        parts: list[str] = []
        pos = 0
        for pid, text in docs:
            ids.append(pid)
            starts.append(pos)
            parts.append(text)
            pos += len(text) + 1
        self.ids = ids
        self.starts = starts
        self.text = SEPARATOR.join(parts)
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
        last = len(ids) - 1
        i = text.find(word)
        while i != -1:
            k = bisect_right(starts, i) - 1
            hits.add(ids[k])
            if k == last:
                break
            i = text.find(word, starts[k + 1])
        if self.overrides:
            hits.difference_update(self.overrides)
            hits.update(pid for pid, t in self.overrides.items() if word in t)
        return hits
