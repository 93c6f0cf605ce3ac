"""Format A: the Chinese digest, copied as text.

Seven lines per paper and no blank lines between papers::

    Shiva-DiT:基于残差的可微分Top-k选择用于高效扩散Transformer      title (Chinese)
    Jiaji Zhang, Hailiang Zhao, … 等 (12 位作者)                      authors (+ stated count)
    核心贡献: …                                                      contribution
    方法: …                                                          method
    关键发现: …                                                      findings
    查看原文摘要                                                     marker
    Diffusion Transformers (DiTs) incur …                            English abstract

Real copies drop lines, so the parser does not count to seven. It anchors on the labelled
lines (``核心贡献`` / ``方法`` / ``关键发现`` / ``查看原文摘要``): each run of them in that order is
the core of one entry. The unlabelled lines between two cores are split by their looks: the
first one is the previous entry's abstract when it is English prose, the last one is the next
entry's author list when it looks like names, and the line before that is its title.

An entry needs a title and an English abstract (the abstract is what identifies a paper that has
no arXiv id); one without either is reported in ``skipped`` and the others are still imported.
Missing authors or a missing 核心贡献/方法/关键发现 line only leave that field empty. A file that
ends inside an entry (no abstract after the last core, or a title with no core) is cut off and
raises `FeedError`.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

from ..models import Paper
from .base import FeedError, ParseContext, ParseResult, Skipped, sniff_lines, split_lines

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LABEL = re.compile(r"^(核心贡献|方法|关键发现)\s*[:：]\s*(.*)$")
_MARKER = re.compile(r"^查看原文摘要\s*[:：▼▾»>]*\s*(.*)$")
_ET_AL = re.compile(r"\s*等\s*[(（]\s*(\d+)\s*位?\s*作者\s*[)）]\s*$")
_NAME_SEP = re.compile(r"\s*[,，、;；]\s*")
# Whether a stripped line may be a 核心贡献 or 查看原文摘要 line (what sniffing counts).
_STARTS_ENTRY = operator.methodcaller("startswith", ("核心贡献", "查看原文摘要"))

_RANK = {"核心贡献": 0, "方法": 1, "关键发现": 2, "查看原文摘要": 3}
_FIELD = {"核心贡献": "contribution_zh", "方法": "method_zh", "关键发现": "findings_zh"}
_NEXT_PART = {
    "核心贡献": "the 方法: line",
    "方法": "the 关键发现: line",
    "关键发现": "查看原文摘要 and the English abstract",
    "查看原文摘要": "the English abstract after 查看原文摘要",
}


@dataclass
class _Line:
    no: int  # 1-based
    text: str
    label: str = ""  # "" for an unlabelled line, else a key of _RANK
    value: str = ""  # the text after the label


def _classify(no: int, raw: str) -> _Line:
    text = raw.strip()
    m = _LABEL.match(text)
    if m:
        return _Line(no, text, m.group(1), m.group(2).strip())
    m = _MARKER.match(text)
    if m:
        return _Line(no, text, "查看原文摘要", m.group(1).strip())
    return _Line(no, text)


def _authors(line: str) -> tuple[list[str], int | None] | None:
    """The names and stated count of an author line, or None when it does not look like one."""
    m = _ET_AL.search(line)
    names_part = line[: m.start()] if m else line
    if _CJK.search(names_part):
        return None
    names = [n for n in _NAME_SEP.split(names_part.strip()) if n]
    if not names:
        return None
    if not m:
        # Without the "等 (N 位作者)" tail, accept only a plain list of short names.
        if names_part.rstrip().endswith(".") or len(names) > 60:
            return None
        if any(len(n.split()) > 5 or len(n) > 60 for n in names):
            return None
    return names, int(m.group(1)) if m else None


def _is_abstract(line: str) -> bool:
    """English prose: no Chinese, several words and not a list of names."""
    return not _CJK.search(line) and len(line.split()) >= 8 and _authors(line) is None


@dataclass
class _Entry:
    core: list[_Line]
    title: _Line | None = None
    authors: _Line | None = None
    abstract: list[str] = field(default_factory=list)

    @property
    def start(self) -> int:
        first = self.title or self.authors or self.core[0]
        return first.no

    def inline_abstract(self) -> str:
        return next((ln.value for ln in self.core if ln.label == "查看原文摘要" and ln.value), "")


class DigestFormat:
    """The Chinese digest's text form: no ids, no English titles, a Chinese summary per paper."""

    name = "digest"
    label = "Chinese digest (text)"
    badge = "digest"

    def sniff(self, text: str) -> float:
        head = text.lstrip("\ufeff \t\r\n")
        if not head or head.startswith("<"):
            return 0.0
        if "核心贡献" not in text and "查看原文摘要" not in text:
            return 0.0  # (no line can start with either: the test below, at once)
        lines = sniff_lines(text)
        if not any(map(_STARTS_ENTRY, lines)):
            return 0.0  # (the loop below would find neither)
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
        if (contrib or markers) and other:
            return 0.6
        return 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        lines = [_classify(i, raw) for i, raw in enumerate(split_lines(text), 1) if raw.strip()]
        cores: list[list[_Line]] = []
        gaps: list[list[_Line]] = [[]]  # gaps[k] = unlabelled lines before cores[k]
        open_core = False
        for line in lines:
            if not line.label:
                gaps[-1].append(line)
                open_core = False
            elif open_core and _RANK[line.label] > _RANK[cores[-1][-1].label]:
                cores[-1].append(line)
            else:
                cores.append([line])
                gaps.append([])
                open_core = True
        if not cores:
            raise FeedError(
                f"{ctx.origin}: no {self.label} entries found "
                "(expected lines starting with 核心贡献: and 查看原文摘要)"
            )

        entries = [_Entry(core) for core in cores]
        skipped: list[Skipped] = []
        # Lines before the first entry other than its title and authors are page chrome.
        self._take_header(entries[0], list(gaps[0]))
        for k, entry in enumerate(entries):
            gap = gaps[k + 1]
            rest = self._take_abstract(entry, gap)
            if k + 1 == len(entries):
                if not entry.abstract:
                    last = entry.core[-1]
                    raise FeedError(
                        f"{ctx.origin}: cut off at line {last.no}: expected "
                        f"{_NEXT_PART[last.label]} (entry starting at line {entry.start})"
                    )
                if rest:
                    raise FeedError(
                        f"{ctx.origin}: cut off at line {rest[-1].no}: expected 核心贡献: and "
                        f"the rest of the entry starting at line {rest[0].no}"
                    )
                break
            extra = self._take_header(entries[k + 1], rest)
            for line in extra:
                if entry.abstract and _is_abstract(line.text):
                    entry.abstract.append(line.text)  # an abstract wrapped over lines
                else:
                    skipped.append(Skipped(line.no, f"stray line outside any entry: {line.text!r}"))

        papers: list[Paper] = []
        for entry in entries:
            problem = self._problem(entry)
            if problem:
                skipped.append(Skipped(entry.start, problem))
            else:
                papers.append(self._paper(entry))
        skipped.sort(key=lambda s: s.line)
        if not papers:
            first = skipped[0]
            raise FeedError(
                f"{ctx.origin}: no paper could be read as {self.label} "
                f"({len(skipped)} malformed; line {first.line}: {first.reason})"
            )
        return ParseResult(format=self.name, papers=papers, skipped=skipped)

    @staticmethod
    def _take_abstract(entry: _Entry, gap: list[_Line]) -> list[_Line]:
        """Give `entry` its abstract from the start of the gap after it; return the rest."""
        inline = entry.inline_abstract()
        if inline:
            entry.abstract.append(inline)
            return list(gap)
        if gap and _is_abstract(gap[0].text):
            entry.abstract.append(gap[0].text)
            return list(gap[1:])
        return list(gap)

    @staticmethod
    def _take_header(entry: _Entry, rest: list[_Line]) -> list[_Line]:
        """Give `entry` its authors and title from the end of `rest`; return what is left."""
        if rest and _authors(rest[-1].text) is not None:
            entry.authors = rest.pop()
        if rest:
            entry.title = rest.pop()
        return rest

    @staticmethod
    def _problem(entry: _Entry) -> str:
        missing = []
        if entry.title is None:
            missing.append("no title line")
        if not entry.abstract:
            missing.append("no English abstract after 查看原文摘要")
        return "; ".join(missing)

    @staticmethod
    def _paper(entry: _Entry) -> Paper:
        assert entry.title is not None
        paper = Paper(title_zh=entry.title.text, line=entry.start)
        if entry.authors is not None:
            parsed = _authors(entry.authors.text)
            if parsed:
                paper.authors, paper.author_count = parsed
        for line in entry.core:
            if line.label in _FIELD:
                setattr(paper, _FIELD[line.label], line.value)
        paper.abstract = " ".join(entry.abstract)
        return paper


FORMAT = DigestFormat()
