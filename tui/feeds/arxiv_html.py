"""Format E: a saved arXiv listing page (HTML), e.g. ``/list/cs.CV/new``.

Entries are ``<dt>``/``<dd>`` pairs in ``<dl id="articles">``; ``<h3>`` headings split them into
new submissions, cross-lists and replacements and carry the listing's date. The page is parsed
with BeautifulSoup's ``html.parser`` because it records each element's source line.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from ..models import Paper
from ..text import arxiv_id, arxiv_version, link_text
from .authors import is_group, read_author_line, stated_total
from .base import FeedError, ParseContext, ParseResult, Skipped, check_html_complete, html_page

if TYPE_CHECKING:  # (bs4 is imported when a page is parsed: importing a text feed, or
    # starting the app, never pays the 0.2-0.4 s it takes)
    from bs4 import Tag

# Plain-text patterns (applied to text values, never to markup).
_CATEGORY = re.compile(r"\(([a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?)\)\s*$")
_LONG_DATE = re.compile(r"\b(\d{1,2}) ([A-Za-z]+) (\d{4})\b")  # "Friday, 19 June 2026"
_SHORT_DATE = re.compile(r"\b(\d{1,2}) ([A-Za-z]{3}) (\d{2})\b")  # "Fri, 19 Jun 26"


class ArxivHtmlFormat:
    name = "arxiv-html"
    label = "arXiv listing (HTML)"
    badge = "arXiv"

    def sniff(self, text: str) -> float:
        head = text[:4096].lstrip().lower()
        if not head.startswith("<"):
            return 0.0
        lower = text.lower()
        if "arxiv" not in lower:
            return 0.0
        articles = any(
            m in lower for m in ("<dl id='articles'", '<dl id="articles"', "<dl id=articles")
        )
        if articles and "list-title" in lower:
            return 1.0
        if articles or ("list-title" in lower and "<dt" in lower):
            return 0.7
        if "<html" in head and "arxiv.org" in lower and "/list/" in lower:
            return 0.5  # an arXiv listing page, perhaps cut off before its entries
        return 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        check_html_complete(text, ctx)
        try:
            return _parse(text, ctx)
        except RecursionError:
            raise FeedError(f"{ctx.origin}: nested too deeply to be an arXiv listing") from None


FORMAT = ArxivHtmlFormat()


def _parse(text: str, ctx: ParseContext) -> ParseResult:

    soup = html_page(text, ctx, "an arXiv listing")
    lists = [dl for dl in soup.find_all("dl") if dl.get("id") == "articles"]
    if not lists:
        lists = [dl for dl in soup.find_all("dl") if dl.find("dt")]
    if not lists:
        raise FeedError(f'{ctx.origin}: no arXiv listing: expected <dl id="articles">')
    allowed = {id(dl) for dl in lists}

    result = ParseResult(format=FORMAT.name)
    section = ""
    day: str | None = None  # the day section an entry is in (`/recent` holds several)
    shown: list[tuple[str | None, int, int]] = []  # (day, shown, total) of partial sections
    pending: Tag | None = None
    for el in soup.find_all(["h3", "dt", "dd"]):
        if el.name == "h3":
            heading = _line_text(el)
            found = _section(heading)
            if found is not None:
                section = found
            dated = _heading_date(heading)
            if dated is not None:
                day = dated
            elif _LONG_DATE.search(heading) or _SHORT_DATE.search(heading):
                day = None  # a day heading with no such day ("31 Feb"): not the day before's
            if result.feed_date is None:
                result.feed_date = dated
            part = _SHOWING.search(heading)
            if part:
                shown.append((dated or day, int(part.group(1)), int(part.group(2))))
            continue
        if id(el.find_parent("dl")) not in allowed:
            continue
        if el.name == "dt":
            if pending is not None:
                result.skipped.append(Skipped(_line(pending), "entry without its <dd> details"))
            pending = el
            continue
        if pending is None:
            result.skipped.append(Skipped(_line(el), "<dd> details without their <dt> entry"))
            continue
        dt, pending = pending, None
        paper, reason = _entry(dt, el, section)
        if paper is None:
            result.skipped.append(Skipped(_line(dt), reason))
        else:
            paper.feed_date = day
            result.papers.append(paper)
    if pending is not None:
        result.skipped.append(Skipped(_line(pending), "entry without its <dd> details"))
    if not result.papers:
        reasons = f" ({len(result.skipped)} malformed)" if result.skipped else ""
        raise FeedError(f"{ctx.origin}: no entries in the arXiv listing{reasons}")
    for paper in result.papers:
        paper.feed_date = paper.feed_date or result.feed_date
    result.by_day = len({p.feed_date for p in result.papers}) > 1
    partial = [(d, n, m) for d, n, m in shown if n < m]
    if partial:
        held = sum(n for _, n, _ in shown)
        total = sum(m for _, _, m in shown)
        days = ", ".join(f"{n} of {m} on {d or 'an undated day'}" for d, n, m in partial)
        result.partial = (
            f"the page shows {held} of its {total:,} entries ({days}): the rest are not in it"
        )
    return result


def _entry(dt: Tag, dd: Tag, section: str) -> tuple[Paper | None, str]:
    from bs4 import Tag

    aid = version = None
    for link in dt.find_all("a", href=True):
        href = str(link.get("href", ""))
        if "/abs/" in href:
            aid = arxiv_id(href.split("/abs/", 1)[1]) or arxiv_id(link.get_text())
            version = arxiv_version(href) or arxiv_version(link.get_text())
            if aid:
                break
    if aid is None:
        aid = arxiv_id(_line_text(dt).replace("arXiv:", " "))
    if aid is None:
        return None, "entry without an arXiv id"
    title = _field(dd, "list-title")
    if not title:
        return None, f"arXiv:{aid} has no title"
    announce = section or _marker_type(_line_text(dt))
    abstract_tag = dd.find("p", class_="mathjax")
    if isinstance(abstract_tag, Tag):
        _inline_links(abstract_tag)
    authors, author_count = _authors(dd)
    paper = Paper(
        arxiv_id=aid,
        title=title,
        authors=authors,
        author_count=author_count,
        abstract=_line_text(abstract_tag) if isinstance(abstract_tag, Tag) else "",
        categories=_categories(dd),
        comments=_field(dd, "list-comments"),
        announce_type=announce,
        arxiv_version=version,
        abs_url=f"https://arxiv.org/abs/{aid}",
        pdf_url=f"https://arxiv.org/pdf/{aid}",
        line=dt.sourceline,
    )
    return paper, ""


def _inline_links(tag: Tag) -> None:
    """Each web link in an abstract as its address in the text: arXiv writes "Project page:
    <a href=…>this https URL</a>", whose text alone says nothing ("text (address)" when the
    link has words of its own)."""
    for link in tag.find_all("a", href=True):
        href = str(link.get("href") or "").strip()
        if not href.lower().startswith(("https://", "http://")):
            continue
        link.replace_with(link_text(" ".join(link.get_text().split()), href))


def _line(tag: Tag) -> int:
    return tag.sourceline or 1


def _line_text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def _text_without_descriptor(tag: Tag) -> str:
    """The tag's text without its ``<span class="descriptor">Title:</span>`` label."""
    from bs4 import NavigableString

    parts = []
    for piece in tag.descendants:
        if not isinstance(piece, NavigableString) or type(piece) is not NavigableString:
            continue
        parent = piece.parent
        if parent is not None and "descriptor" in (parent.get("class") or []):
            continue
        parts.append(str(piece))
    return " ".join(" ".join(parts).split())


def _field(dd: Tag, css_class: str) -> str:
    from bs4 import Tag

    tag = dd.find("div", class_=css_class)
    if not isinstance(tag, Tag):
        return ""
    _inline_links(tag)
    return _text_without_descriptor(tag)


def _authors(dd: Tag) -> tuple[list[str], int | None]:
    """The names in ``div.list-authors`` and the author total it states, if any.

    ``XYZ Collaboration: A. Aalto, B. Abbas, C. Abe et al. (2912 additional authors not
    shown)`` gives the four names and 3 + 2,912 = 2,915: the collaboration is not a person."""
    from bs4 import NavigableString, Tag

    tag = dd.find("div", class_="list-authors")
    if not isinstance(tag, Tag):
        return [], None
    text = _text_without_descriptor(tag)
    names: list[str] = []
    groups = 0
    for link in tag.find_all("a"):
        name = _line_text(link)
        if not name:
            continue
        names.append(name)
        after = link.next_sibling
        followed_by_colon = isinstance(after, NavigableString) and after.lstrip().startswith(":")
        groups += followed_by_colon or is_group(name)
    if not names:
        line = read_author_line(text)
        return line.names, line.total
    return names, stated_total(len(names) - groups, text)


def _categories(dd: Tag) -> list[str]:
    """Category codes from ``div.list-subjects``, the primary subject first."""
    from bs4 import Tag

    tag = dd.find("div", class_="list-subjects")
    if not isinstance(tag, Tag):
        return []
    codes: list[str] = []
    primary = tag.find("span", class_="primary-subject")
    subjects = [_line_text(primary)] if isinstance(primary, Tag) else []
    subjects += _text_without_descriptor(tag).split(";")
    for subject in subjects:
        m = _CATEGORY.search(subject.strip())
        if m and m.group(1) not in codes:
            codes.append(m.group(1))
    return codes


_SHOWING = re.compile(r"showing\s+(?:first\s+)?(\d+)\s+of\s+(\d+)\s+entries", re.I)


def _section(heading: str) -> str | None:
    h = heading.lower()
    if h.startswith("new submissions"):
        return "new"
    if h.startswith("cross"):
        return "cross"
    if h.startswith("replace"):
        return "replace"
    return None


def _marker_type(dt_text: str) -> str:
    """Announce type from the entry's own marker, for pages without section headings."""
    lower = dt_text.lower()
    if "(cross-list from" in lower:
        return "cross"
    if "(replaced)" in lower:
        return "replace"
    return ""


def _heading_date(heading: str) -> str | None:
    """``Showing new listings for Friday, 19 June 2026`` (or ``… for Fri, 19 Jun 26``)."""
    for pattern, fmt in (
        (_LONG_DATE, "%d %B %Y"),
        (_LONG_DATE, "%d %b %Y"),
        (_SHORT_DATE, "%d %b %y"),
    ):
        m = pattern.search(heading)
        if not m:
            continue
        try:
            return datetime.strptime(" ".join(m.groups()), fmt).date().isoformat()
        except ValueError:
            continue
    return None
