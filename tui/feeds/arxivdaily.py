"""Format B: arXivDaily (arXiv每日学术速递), copied as text.

A page header (site name, section, its description, ``今日/当前日期收录 N 信号源:cs.CV, …``), then
per paper, separated by blank lines::

    2606.19162 2026-06-18 cs.LG cs.CV 新提交 85%     id, date, categories, status, relevance
    The Reward Was in Your Data All Along: …          English title
    奖励一直就在你的数据中: …                          Chinese title
    Nicolas Beltran-Velez, Felix Friedrich, …          authors
    发表机构 * FAIR at Meta …                          optional: institutions
    专题命中 扩散模型 :用RL纠正…                        optional: topic hit
    AI总结 针对流匹配模型…                              optional: AI summary
    Comments 84 pages, including appendices            optional: arXiv comments
    详情
    AI中文摘要
    得分匹配和流匹配模型…                              Chinese abstract
    英文摘要
    Score- and flow-matching models …                  English abstract

The id line starts an entry. An entry needs a title (English or Chinese) and its English abstract;
one without is reported in ``skipped``. A labelled line that can only come before the abstracts
(``发表机构``, ``专题命中``, ``AI总结``, ``详情``) showing up after them means the next
entry lost its id line: that part is skipped rather than glued onto the abstract. A file whose
last entry has no English abstract is cut off and raises `FeedError`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from ..models import Paper
from .base import FeedError, ParseContext, ParseResult, Skipped, sniff_lines, split_lines

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ID_LINE = re.compile(
    r"^(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
    r"\s+(?P<date>\d{4}-\d{2}-\d{2})(?P<rest>(?:\s.*)?)$"
)
_RELEVANCE = re.compile(r"^(\d{1,3})\s*[%％]$")
_CATEGORY = re.compile(
    r"^(?:[a-z][a-z\-]*\.[A-Za-z][A-Za-z\-]*"
    r"|hep-(?:th|ph|ex|lat)|quant-ph|gr-qc|nucl-(?:th|ex)|math-ph|cond-mat)$"
)
_NAME_SEP = re.compile(r"\s*[,，、;；]\s*")
# Labelled lines between the authors and the abstracts, with what follows the label.
_META = {
    "institutions": re.compile(r"^发表机构\s*[*:：]?\s*(.*)$"),
    "topic_hit": re.compile(r"^专题命中\s*[:：]?\s*(.*)$"),
    "ai_summary": re.compile(r"^AI\s*总结\s*[:：]?\s*(.*)$"),
}
_COMMENTS = re.compile(r"^Comments(?:\s*[:：]\s*|\s+)(.*)$|^Comments$")
_DETAILS = "详情"
_ZH_ABSTRACT = re.compile(r"^AI\s*中文摘要\s*[:：]?\s*(.*)$")
_EN_ABSTRACT = re.compile(r"^英文摘要\s*[:：]?\s*(.*)$")
_TOPIC_SEP = re.compile(r"\s*[:：]\s*")
_SENTENCE = re.compile(r"[.!?]\s+[A-Z]")


def _is_prose(line: str) -> bool:
    return not _CJK.search(line) and len(line.split()) >= 8


def _is_abstract(line: str) -> bool:
    """A prose paragraph rather than a title (titles are short and do not end with a full stop)."""
    if len(line) >= 200:
        return True
    return len(line) >= 100 and (line.endswith(".") or bool(_SENTENCE.search(line)))


def _is_names(line: str) -> bool:
    """A plain list of people's names: short comma-separated parts, no Chinese, no full stop."""
    if _CJK.search(line) or line.endswith("."):
        return False
    names = [n for n in _NAME_SEP.split(line) if n]
    return (
        bool(names)
        and all(len(n.split()) <= 5 for n in names)
        and (len(names) >= 2 or len(line.split()) <= 4)
    )


@dataclass
class _Entry:
    line: int
    arxiv_id: str = ""
    day: str | None = None
    rest: str = ""  # categories, status and relevance from the id line
    head: list[str] = field(default_factory=list)  # titles and authors
    meta: dict[str, list[str]] = field(default_factory=dict)
    zh: list[str] = field(default_factory=list)
    en: list[str] = field(default_factory=list)
    en_lines: list[int] = field(default_factory=list)  # line numbers of `en`
    tail: list[tuple[int, str]] = field(default_factory=list)  # lines after the abstract
    saw_en: bool = False
    last_no: int = 0


class ArxivDailyFormat:
    """arXivDaily's text form: arXiv id, date, categories and a Chinese title and summary."""

    name = "arxivdaily"
    label = "arXivDaily (text)"
    badge = "arXivDaily"

    def sniff(self, text: str) -> float:
        head = text.lstrip("\ufeff \t\r\n")
        if not head or head.startswith("<"):
            return 0.0
        lines = sniff_lines(text)
        # No id line, no score. An id line starts with a digit (``\d``: any decimal digit)
        # or a lowercase letter (an old-style id): the cheap test first.
        if not any(
            (line[:1].isdecimal() or "a" <= line[:1] <= "z") and _ID_LINE.match(line)
            for line in lines
        ):
            return 0.0
        ids = markers = 0
        for line in lines:
            if _ID_LINE.match(line):
                ids += 1
            elif line in ("AI中文摘要", "英文摘要") or "信号源" in line or "arXivDaily" in line:
                markers += 1
        if ids and markers:
            return 0.95
        if ids >= 2:
            return 0.5
        return 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        entries: list[_Entry] = []
        preamble: list[tuple[int, str]] = []
        current: _Entry | None = None
        state = "head"  # head → meta → details → zh → en
        for no, raw in enumerate(split_lines(text), 1):
            line = raw.strip()
            if not line:
                continue
            m = _ID_LINE.match(line)
            if m:
                current = _Entry(no, m.group("id"), m.group("date"), m.group("rest").strip())
                entries.append(current)
                state = "head"
                current.last_no = no
                continue
            if current is None:
                if not self._is_label(line):
                    preamble.append((no, line))  # the page header, or a first entry's titles
                    continue
                # The first entry lost its id line: skip it rather than drop it silently.
                current = self._headless_first(preamble, no)
                entries.append(current)
                state = "head"
            if state in ("zh", "en") and self._restarts(line, state):
                # A labelled line that belongs before the abstracts: the next entry's id line is
                # missing. Keep this entry's abstract and skip the headless part.
                current = self._split_headless(current, entries, no)
                state = "meta"
            current.last_no = no
            state = self._add(current, line, state, no)

        if not entries:
            raise FeedError(
                f"{ctx.origin}: no {self.label} entries found "
                "(expected lines like '2606.19162 2026-06-18 cs.CV 新提交 85%')"
            )
        last = entries[-1]
        self._recover_english(last)
        if last.arxiv_id and not last.en:
            expected = "the English abstract after 英文摘要"
            if not last.saw_en:
                expected = "英文摘要 and the English abstract"
            raise FeedError(
                f"{ctx.origin}: cut off at line {last.last_no}: expected {expected} "
                f"(entry {last.arxiv_id} starting at line {last.line})"
            )

        papers: list[Paper] = []
        skipped: list[Skipped] = []
        for entry in entries:
            self._recover_english(entry)
            problem = self._problem(entry)
            if problem:
                skipped.append(Skipped(entry.line, problem))
            else:
                papers.append(self._paper(entry))
        if not papers:
            first = skipped[0]
            raise FeedError(
                f"{ctx.origin}: no paper could be read as {self.label} "
                f"({len(skipped)} malformed; line {first.line}: {first.reason})"
            )
        dates = Counter(p.paper_date for p in papers if p.paper_date)
        feed_date = dates.most_common(1)[0][0] if dates else None
        for paper in papers:
            paper.feed_date = feed_date
        return ParseResult(format=self.name, papers=papers, skipped=skipped, feed_date=feed_date)

    @staticmethod
    def _is_label(line: str) -> bool:
        return (
            line == _DETAILS
            or any(rx.match(line) for rx in _META.values())
            or bool(_ZH_ABSTRACT.match(line) or _EN_ABSTRACT.match(line))
        )

    @staticmethod
    def _headless_first(preamble: list[tuple[int, str]], no: int) -> _Entry:
        """An entry before the first id line: its titles follow the page's 信号源 line."""
        sources = [i for i, (_, line) in enumerate(preamble) if "信号源" in line]
        head = preamble[sources[-1] + 1 :] if sources else preamble[-3:]
        entry = _Entry(head[0][0] if head else no)
        entry.head = [line for _, line in head]
        return entry

    @staticmethod
    def _restarts(line: str, state: str) -> bool:
        if line == _DETAILS or any(rx.match(line) for rx in _META.values()):
            return True
        return state == "en" and bool(_ZH_ABSTRACT.match(line))

    @staticmethod
    def _split_headless(entry: _Entry, entries: list[_Entry], no: int) -> _Entry:
        """Start an entry without an id line; lines after the first abstract paragraph move."""
        moved = entry.tail
        if entry.en and not _is_abstract(entry.en[0]):
            # Not a paragraph: the abstract is lost and this is the next entry's title.
            moved = list(zip(entry.en_lines, entry.en, strict=True)) + moved
            entry.en, entry.en_lines = [], []
        entry.tail = []
        headless = _Entry(moved[0][0] if moved else no)
        headless.head = [line for _, line in moved]
        entries.append(headless)
        return headless

    @staticmethod
    def _add(entry: _Entry, line: str, state: str, no: int) -> str:
        """File one non-blank line of an entry; return the new state."""
        if state in ("head", "meta"):
            for key, rx in _META.items():
                m = rx.match(line)
                if m:
                    entry.meta.setdefault(key, []).append(m.group(1).strip())
                    return "meta"
            m = _COMMENTS.match(line)
            if m and (entry.head or state == "meta"):
                entry.meta.setdefault("comments", []).append((m.group(1) or "").strip())
                return "meta"
        if line == _DETAILS:
            return "details"
        m = _ZH_ABSTRACT.match(line)
        if m and state != "en":
            if m.group(1):
                entry.zh.append(m.group(1))
            return "zh"
        m = _EN_ABSTRACT.match(line)
        if m and state != "en":
            entry.saw_en = True
            if m.group(1):
                entry.en.append(m.group(1))
                entry.en_lines.append(no)
            return "en"
        if state == "head":
            entry.head.append(line)
        elif state in ("meta", "details"):
            # Each field is one line on the page, so an unlabelled line after them is the
            # Chinese abstract whose 详情 / AI中文摘要 lines were lost.
            entry.zh.append(line)
            return "zh"
        elif state == "zh":
            entry.zh.append(line)
        elif state == "en":
            if entry.en and (entry.tail or not _is_abstract(line)):
                # After the abstract: page text, or the titles of an entry whose id line is lost.
                entry.tail.append((no, line))
            else:
                entry.en.append(line)
                entry.en_lines.append(no)
        return state

    @staticmethod
    def _recover_english(entry: _Entry) -> None:
        """Without an 英文摘要 line, English prose at the end of the Chinese abstract is it."""
        if entry.saw_en or entry.en:
            return
        while entry.zh and _is_prose(entry.zh[-1]):
            entry.en.insert(0, entry.zh.pop())

    @staticmethod
    def _problem(entry: _Entry) -> str:
        missing = []
        if not entry.arxiv_id:
            missing.append("no '<arXiv id> <date> …' line before the titles")
        title, title_zh, _ = _split_head(entry.head)
        if not (title or title_zh):
            missing.append("no title")
        if not entry.en:
            missing.append("no English abstract (英文摘要)")
        return "; ".join(missing)

    @staticmethod
    def _paper(entry: _Entry) -> Paper:
        paper = Paper(arxiv_id=entry.arxiv_id, line=entry.line)
        paper.abs_url = f"https://arxiv.org/abs/{entry.arxiv_id}"
        paper.pdf_url = f"https://arxiv.org/pdf/{entry.arxiv_id}"
        try:
            paper.paper_date = date.fromisoformat(entry.day or "").isoformat()
        except ValueError:
            paper.paper_date = None
        tokens = entry.rest.split()
        if len(tokens) >= 2 and tokens[-1] in ("%", "％") and tokens[-2].isdigit():
            tokens[-2:] = [tokens[-2] + "%"]
        relevance = _RELEVANCE.match(tokens[-1]) if tokens else None
        if relevance:
            paper.relevance = int(relevance.group(1))
            tokens.pop()
        paper.categories = [t for t in tokens if _CATEGORY.match(t)]
        paper.announce_type = " ".join(t for t in tokens if not _CATEGORY.match(t))

        title, title_zh, authors = _split_head(entry.head)
        paper.title, paper.title_zh = title, title_zh
        paper.authors = [a for a in _NAME_SEP.split(authors) if a] if authors else []
        meta = {key: " ".join(v for v in values if v) for key, values in entry.meta.items()}
        paper.institutions = meta.get("institutions", "")
        paper.topic_hit = _topic(meta.get("topic_hit", ""))
        paper.ai_summary = meta.get("ai_summary", "")
        paper.comments = meta.get("comments", "")
        paper.abstract_zh = "\n".join(entry.zh)
        paper.abstract = "\n".join(entry.en)
        return paper


def _split_head(head: list[str]) -> tuple[str, str, str]:
    """English title, Chinese title and authors from the lines between id line and labels."""
    if len(head) >= 3:
        return head[0], head[1], ", ".join(head[2:])
    zh = next((i for i, line in enumerate(head) if _CJK.search(line)), None)
    if zh is None:
        # Two lines: title and authors; one line: the title, unless it is a list of names.
        if len(head) == 1 and _is_names(head[0]):
            return "", "", head[0]
        return head[0] if head else "", "", head[1] if len(head) > 1 else ""
    before, after = head[:zh], head[zh + 1 :]
    return (before[0] if before else ""), head[zh], (after[0] if after else "")


def _topic(value: str) -> str:
    """``扩散模型 :用RL纠正…`` → ``扩散模型: 用RL纠正…``."""
    parts = _TOPIC_SEP.split(value, maxsplit=1)
    if len(parts) < 2 or not parts[0]:
        return value
    return f"{parts[0]}: {parts[1]}" if parts[1] else parts[0]


FORMAT = ArxivDailyFormat()
