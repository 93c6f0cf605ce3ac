"""Format C: Hugging Face Daily Papers, copied as text.

A page header (``new``, ``Get trending papers in your email inbox!``, ``Subscribe``,
``Daily Papers``, ``byAK and the research community``, then the page date such as ``Oct 29``),
then per paper::

    StreamDiT: Real-Time Streaming Text-to-Video Generation     title
                                                                 (blank lines are ignored)
    Recently, great progress has been achieved in …             abstract
      • 5 authors              or an organisation: "nvidia NVIDIA", "W2GenAI Lab"
    ·
    Jul 4 5                    date ("Jun 3, 2024" or "Jul 4") and the number of comments

The author/organisation, ``·`` and date lines are missing for some papers. The parser first
collects those "meta" lines (an organisation is a short line right before ``·``), then splits the
remaining lines into title/abstract pairs by their looks: an abstract is a long prose
paragraph, a title a short line. A paper's meta lines belong to the pair right before them.

Odd inputs:

* An abstract whose title line was lost (two abstracts in a row, or an abstract right after a
  paper's date line) is imported with an empty ``title``: the abstract is what identifies the
  paper and carries its content, so it is kept, but it never becomes a title and is never glued
  to its neighbour.
* A title with no abstract after it is reported in ``skipped`` (a lone short line may as well be
  stray page text). At the very end of the text it means the copy was cut off: `FeedError`.
* A text ending with ``·`` and no date, or with an author line and nothing after it, is cut off.
* Author/date lines with no paper before them are reported in ``skipped``.

Dates: HF prints a year only for dates outside the current year, and the page date has none. The
page's year is one more than the latest explicit year on the page, at most ``ctx.today``'s year,
and one less if that would put the page date after ``ctx.today``. A yearless paper date that
would fall after the page date belongs to the year before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from ..models import Paper
from .base import FeedError, ParseContext, ParseResult, Skipped, sniff_lines, split_lines

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = re.compile(
    r"^(?P<month>[A-Z][a-z]{2})[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<comments>\d+))?$"
)
_AUTHORS = re.compile(r"^[•·∙⋅*\-]?\s*(\d+)\s+authors?$")
_AUTHOR_ENDS = ("author", "authors")
_DOTS = frozenset("·•∙⋅")
_CHROME = frozenset(
    line.casefold()
    for line in (
        "new",
        "Get trending papers in your email inbox!",
        "Subscribe",
        "Daily Papers",
        "byAK and the research community",
        "Daily",
        "Weekly",
        "Monthly",
        "Previous",
        "Next",
    )
)
_CHROME_LONGEST = max(map(len, _CHROME))
_SENTENCE = re.compile(r"[.!?]\s+[A-Z]")
_META_ORDER = {"authors": 0, "org": 0, "dot": 1, "date": 2}

_Resolver = Callable[[str], "tuple[str | None, int | None]"]


def _is_abstract(line: str) -> bool:
    """A long prose paragraph, as opposed to a title (at most ~130 characters on this page)."""
    if len(line) >= 200:
        return True
    if len(line) < 100:
        return False
    return line.endswith(".") or bool(_SENTENCE.search(line))


def _is_chrome(line: str) -> bool:
    """A line of the page's header ("Daily Papers", "Subscribe" …)."""
    return len(line) <= _CHROME_LONGEST and line.casefold() in _CHROME


@dataclass(slots=True)
class _Token:
    no: int
    text: str
    kind: str  # "text", "authors", "org", "dot", "date"


@dataclass
class _Meta:
    tokens: list[_Token]

    def first(self, kind: str) -> _Token | None:
        for token in self.tokens:
            if token.kind == kind:
                return token
        return None


@dataclass
class _Entry:
    title: _Token | None
    abstract: _Token | None
    meta: _Meta | None = None

    @property
    def start(self) -> int:
        first = self.title or self.abstract
        assert first is not None
        return first.no


def _kind(line: str) -> str:
    """What a stripped line is. The cheap tests first: an author line ends in "author(s)", a
    date line starts with a capital A-Z and ends in a digit (``\\d``: any decimal digit)."""
    if len(line) == 1 and line in _DOTS:  # (no hashing of a long line)
        return "dot"
    if line.endswith(_AUTHOR_ENDS) and _AUTHORS.match(line):
        return "authors"
    if line[-1:].isdecimal() and "A" <= line[:1] <= "Z":
        m = _DATE.match(line)
        if m and m.group("month").lower() in _MONTHS:
            return "date"
    return "text"


@lru_cache(maxsize=4096)  # (a page repeats a few dates over and over)
def _month_day(line: str) -> tuple[int, int, int | None, int | None]:
    m = _DATE.match(line)
    assert m is not None
    year = int(m.group("year")) if m.group("year") else None
    comments = int(m.group("comments")) if m.group("comments") else None
    return _MONTHS[m.group("month").lower()], int(m.group("day")), year, comments


class HfTextFormat:
    """The Hugging Face Daily Papers page as copied text: titles, abstracts, counts, dates."""

    name = "hf-text"
    label = "Hugging Face Daily Papers (text)"
    badge = "HF"

    def sniff(self, text: str) -> float:
        head = text.lstrip("\ufeff \t\r\n")
        if not head or head.startswith("<"):
            return 0.0
        lines = sniff_lines(text)
        chrome = sum(1 for line in lines[:40] if _is_chrome(line))
        # Author lines, and date lines after "·" ("·" then "May 27 2"): the score tells
        # none, one, or two and more, so the count stops at two (a page has hundreds).
        marks = 0
        previous = ""
        for line in lines:
            # (an author line ends in "author" or "authors": the cheap test first)
            if (line.endswith(_AUTHOR_ENDS) and _AUTHORS.match(line)) or (
                len(previous) == 1 and previous in _DOTS and _kind(line) == "date"
            ):
                marks += 1
                if marks == 2:
                    break
            previous = line
        score = 0.0
        if marks:
            score = 0.6 if marks >= 2 else 0.4
        if chrome >= 2:
            score = min(score + 0.35, 0.95) if score else 0.5
        return score

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        tokens = [
            _Token(no, line, _kind(line))
            for no, raw in enumerate(split_lines(text), 1)
            if (line := raw.strip())
        ]
        page_md, has_header, tokens = self._header(tokens)
        tokens = self._drop_repeated_headers(tokens)  # a page pasted twice
        if not tokens or not (has_header or any(t.kind != "text" for t in tokens)):
            # Neither the page header nor any author/date line: nothing marks entries.
            raise FeedError(
                f"{ctx.origin}: no {self.label} entries found "
                "(expected the 'Daily Papers' header or '· <date>' lines)"
            )
        last_no = tokens[-1].no

        # An organisation is a short line right before "·" (or, when "·" is lost, between an
        # abstract and a date).
        for i, tok in enumerate(tokens[:-1]):
            if tok.kind != "text" or _is_abstract(tok.text):
                continue
            nxt, prev = tokens[i + 1], tokens[i - 1] if i else None
            after_abstract = prev is not None and prev.kind == "text" and _is_abstract(prev.text)
            if nxt.kind == "dot" or (nxt.kind == "date" and after_abstract):
                tok.kind = "org"

        # Alternate runs of text lines and groups of meta lines.
        runs: list[tuple[list[_Token], _Meta | None]] = []
        run: list[_Token] = []
        metas: list[_Meta] = []
        for tok in tokens:
            if tok.kind == "text":
                if metas:
                    runs.append((run, metas[0]))
                    runs.extend(([], m) for m in metas[1:])
                    run, metas = [], []
                run.append(tok)
            elif not metas or self._starts_meta(metas[-1], tok):
                metas.append(_Meta([tok]))
            else:
                metas[-1].tokens.append(tok)
        if metas:
            runs.append((run, metas[0]))
            runs.extend(([], m) for m in metas[1:])
        elif run:
            runs.append((run, None))

        entries: list[_Entry] = []
        skipped: list[Skipped] = []
        for run, meta in runs:
            pairs = self._pairs(run)
            if meta is not None:
                if pairs:
                    pairs[-1].meta = meta
                else:
                    skipped.append(
                        Skipped(meta.tokens[0].no, "author/date lines without a title and abstract")
                    )
            entries.extend(pairs)

        # Cut off: the text ends inside an entry.
        if entries and runs:
            last = entries[-1]
            end_meta = runs[-1][1]
            if end_meta is None and last.abstract is None:
                raise FeedError(
                    f"{ctx.origin}: cut off at line {last_no}: expected the abstract after the "
                    f"title at line {last.start}"
                )
            if end_meta is not None and end_meta.tokens[-1].kind != "date":
                what = (
                    "a date line after ·" if end_meta.tokens[-1].kind == "dot" else "· and a date"
                )
                raise FeedError(
                    f"{ctx.origin}: cut off at line {last_no}: expected {what} "
                    f"(entry starting at line {end_meta.tokens[0].no})"
                )

        page_date, resolve = self._dates(page_md, entries, ctx)
        feed_date = page_date.isoformat() if page_date else None
        papers: list[Paper] = []
        for entry in entries:
            if entry.abstract is None:
                skipped.append(Skipped(entry.start, "title with no abstract after it"))
                continue
            papers.append(self._paper(entry, feed_date, resolve))
        skipped.sort(key=lambda s: s.line)
        if not papers:
            if skipped:
                first = skipped[0]
                raise FeedError(
                    f"{ctx.origin}: no paper could be read as {self.label} "
                    f"({len(skipped)} malformed; line {first.line}: {first.reason})"
                )
            raise FeedError(f"{ctx.origin}: no {self.label} entries found")
        return ParseResult(format=self.name, papers=papers, skipped=skipped, feed_date=feed_date)

    @staticmethod
    def _header(
        tokens: list[_Token],
    ) -> tuple[tuple[int, int, int | None] | None, bool, list[_Token]]:
        """Drop the page chrome. Return the page's (month, day, year), whether there was a
        header, and the remaining lines."""
        i = 0
        while i < len(tokens) and _is_chrome(tokens[i].text):
            i += 1
        if i < len(tokens) and tokens[i].kind == "date":
            month, day, year, comments = _month_day(tokens[i].text)
            if comments is None:
                return (month, day, year), True, tokens[i + 1 :]
        return None, i > 0, tokens[i:]

    @staticmethod
    def _drop_repeated_headers(tokens: list[_Token]) -> list[_Token]:
        """Drop header lines further down: chrome and a page date right after it."""
        kept: list[_Token] = []
        after_chrome = False
        for tok in tokens:
            if len(tok.text) <= _CHROME_LONGEST and _is_chrome(tok.text):
                after_chrome = True
                continue
            if after_chrome and tok.kind == "date" and _month_day(tok.text)[3] is None:
                after_chrome = False
                continue
            after_chrome = False
            kept.append(tok)
        return kept

    @staticmethod
    def _starts_meta(meta: _Meta, tok: _Token) -> bool:
        """Whether `tok` begins a new group of meta lines rather than continuing `meta`."""
        return _META_ORDER[tok.kind] <= _META_ORDER[meta.tokens[-1].kind]

    @staticmethod
    def _pairs(run: list[_Token]) -> list[_Entry]:
        """Split a run of text lines into (title, abstract) entries."""
        entries: list[_Entry] = []
        i = 0
        while i < len(run):
            tok = run[i]
            nxt = run[i + 1] if i + 1 < len(run) else None
            if _is_abstract(tok.text):
                entries.append(_Entry(None, tok))  # its title line was lost
                i += 1
            elif nxt is None:
                entries.append(_Entry(tok, None))
                i += 1
            elif _is_abstract(nxt.text):
                entries.append(_Entry(tok, nxt))
                i += 2
            else:
                after = run[i + 2] if i + 2 < len(run) else None
                if after is not None and _is_abstract(after.text):
                    entries.append(_Entry(tok, None))  # `nxt` is the next paper's title
                    i += 1
                else:
                    entries.append(_Entry(tok, nxt))  # a short abstract
                    i += 2
        return entries

    @staticmethod
    def _dates(
        page_md: tuple[int, int, int | None] | None, entries: list[_Entry], ctx: ParseContext
    ) -> tuple[date | None, _Resolver]:
        """The page date and a function resolving a paper's date line to an ISO date."""
        years = [
            y
            for e in entries
            if e.meta and (d := e.meta.first("date"))
            for y in [_month_day(d.text)[2]]
            if y is not None
        ]
        today = ctx.today
        page_year = min(max(years) + 1, today.year) if years else today.year
        page_date: date | None = None
        if page_md is not None:
            month, day, year = page_md
            if year is not None:
                page_date = _safe_date(year, month, day)
            else:
                page_date = _safe_date(page_year, month, day)
                if page_date is None or page_date > today:
                    page_date = _safe_date(page_year - 1, month, day) or page_date
        if page_date is not None:
            reference = page_date
        else:
            reference = today if page_year >= today.year else date(page_year, 12, 31)
        ref_year = reference.year

        @cache  # (one page: a few dates, each on many papers)
        def resolve(line: str) -> tuple[str | None, int | None]:
            month, day, year, comments = _month_day(line)
            if year is None:
                d = _safe_date(ref_year, month, day)
                if d is None or d > reference:
                    d = _safe_date(ref_year - 1, month, day)
            else:
                d = _safe_date(year, month, day)
            return (d.isoformat() if d else None), comments

        return page_date, resolve

    @staticmethod
    def _paper(entry: _Entry, feed_date: str | None, resolve: _Resolver) -> Paper:
        assert entry.abstract is not None
        paper = Paper(
            title=entry.title.text if entry.title else "",
            abstract=entry.abstract.text,
            feed_date=feed_date,
            line=entry.start,
        )
        if entry.meta is not None:
            authors = entry.meta.first("authors")
            if authors is not None:
                m = _AUTHORS.match(authors.text)
                assert m is not None
                paper.author_count = int(m.group(1))
            org = entry.meta.first("org")
            if org is not None:
                paper.organization = org.text
            when = entry.meta.first("date")
            if when is not None:
                paper.paper_date, paper.num_comments = resolve(when.text)
        return paper


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


FORMAT = HfTextFormat()
