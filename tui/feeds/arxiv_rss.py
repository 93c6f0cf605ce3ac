"""Format F: an arXiv RSS 2.0 feed (XML), e.g. the daily ``cs.CV`` feed.

Each ``<item>`` has ``title``, ``link``, ``description`` (``arXiv:<id> Announce Type: new
Abstract: …``), ``guid``, one ``category`` per category, ``dc:creator`` (comma-separated
authors), ``pubDate`` and ``arxiv:announce_type``. BeautifulSoup's lxml XML builder reads the
content; a second, line-aware lxml pass only supplies each item's source line.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ..models import Paper
from ..text import arxiv_id, arxiv_version
from .authors import read_author_line
from .base import (
    EmptyFeed,
    FeedError,
    ParseContext,
    ParseResult,
    RefusedFeed,
    Skipped,
    char_ref_value,
    held_control,
    html_text,
)

if TYPE_CHECKING:  # (bs4 and lxml are imported when a feed is parsed: importing a text
    # feed, or starting the app, never pays the 0.2-0.4 s they take)
    from bs4 import Tag

# Plain-text patterns over the description's text value.
_ANNOUNCE = re.compile(r"Announce Type:\s*([A-Za-z\-]+)")
_ABSTRACT = re.compile(r"\bAbstract:\s*")
_DESCRIPTION_ID = re.compile(r"\s*arXiv:\s*(\S+)")
_UPDATED = re.compile(r"\(arXiv:[^()]*\bUPDATED\)\s*$")
# RSS before 2024 ended each title with " (arXiv:2312.04001v1 [cs.CV])" (" UPDATED" for a new
# version), put HTML links in dc:creator and an HTML paragraph in the description.
_TITLE_ID = re.compile(r"\.?\s*\(arXiv:\s*([^()\s]+)(?:\s*\[([^\]()]*)\])?(?:\s+UPDATED)?\)\s*$")
_HTML = re.compile(r"</?(?:p|a|br|i|b|em|strong|sub|sup|span|div|tt|code)\b[^<>]*>", re.I)
# What XML 1.0 forbids in a document (C0 controls but tab and line ends, U+FFFE, U+FFFF): one
# of them anywhere made the XML parser's recovery drop every entity after it, in every item
# (`$w &gt; 1$` read as `$w 1$`). A control is held as a placeholder (`held_control`) and
# removed by `clean` after the parse, as in any feed; U+FFFE and U+FFFF are read as a space.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Every ``&`` of the text outside CDATA: a character reference, an entity reference, or
# neither. libxml2's recovery drops every entity after the first error it meets, in every item,
# as above: a reference to a character XML forbids (``&#27;``, ``&#xFFFE;``), an HTML entity XML
# does not define (``&nbsp;``, ``&eacute;``) or a bare ``&`` (``R&D``) was such an error. Each is
# made well-formed before parsing: a space, the character, ``&amp;``.
_AMPERSAND = re.compile(r"&(?:#([0-9]+);|#[xX]([0-9a-fA-F]+);|([A-Za-z][A-Za-z0-9]{0,31});)?")
_XML_ENTITIES = frozenset(("amp", "lt", "gt", "quot", "apos"))


def _reference(match: re.Match[str]) -> str:
    import html.entities

    if match[1] or match[2]:
        value = char_ref_value(match[1], match[2])
        if value is None:
            return match[0]  # (beyond Unicode: made U+FFFD before any parser sees it)
        return _held(chr(value)) if value <= 0x10FFFF and _NOT_XML.match(chr(value)) else match[0]
    name = match[3]
    if name is None:
        return "&amp;"  # a bare & (R&D)
    if name in _XML_ENTITIES:
        return match[0]
    char = html.entities.html5.get(name + ";")
    if char is None:
        return "&amp;" + name + ";"  # (kept as the text it is)
    return char.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _held(char: str) -> str:
    """What stands for a character XML forbids: a control's placeholder, else a space."""
    return held_control(ord(char)) if char < " " else " "


def well_formed_text(text: str) -> str:
    """``text`` without what XML forbids (a placeholder for each control or reference to one,
    `held_control`, which `restore_controls` gives back; a space for U+FFFE, U+FFFF) and with
    every ``&`` a well-formed reference (`_reference`): what the XML parser's recovery would
    lose more than itself to (arXiv RSS here, the Atom of feedparser too, where ``&#27;`` cost
    the letter after it and ``R&D`` read as ``R&D;``). Its parse result's ``held_controls``
    must be set."""
    text = _NOT_XML.sub(lambda m: _held(m[0]), text)
    if "&" in text:
        text = _well_formed_references(text)
    return text


def _well_formed_references(text: str) -> str:
    parts = _markup_split(text)
    for i in range(0, len(parts), 2):  # (the odd parts: CDATA, comments, kept as written)
        if "&" in parts[i]:
            parts[i] = _AMPERSAND.sub(_reference, parts[i])
    return "".join(parts)


def refuse_entity_declarations(text: str, ctx: ParseContext) -> None:
    """RefusedFeed naming the file and the line when ``text`` declares XML entities (an
    ``<!ENTITY`` in its DOCTYPE; not one in a CDATA section, a comment or a processing
    instruction, which is text). papertui expands none: nested ones (a "billion laughs") would
    take gigabytes, and a feed whose text needs them cannot be read as it means. arXiv's feeds
    declare none."""
    if "<!ENTITY" not in text:
        return
    at = 0
    for i, part in enumerate(_markup_split(text)):
        found = part.find("<!ENTITY") if i % 2 == 0 else -1
        if found >= 0:
            line = text.count("\n", 0, at + found) + 1
            raise RefusedFeed(
                f"{ctx.origin}: line {line}: declares XML entities (<!ENTITY …>), which "
                "papertui does not expand: expected a feed without entity declarations"
            )
        at += len(part)


# What XML reads as it is written, no markup and no reference in it: a CDATA section, a
# comment, a processing instruction (each from its opening to its end).
_LITERAL = (("<![CDATA[", "]]>"), ("<!--", "-->"), ("<?", "?>"))


def _markup_split(text: str) -> list[str]:
    """``text`` cut into text, a literal section (`_LITERAL`), text, …, in the order XML reads
    them: a comment's ``<![CDATA[`` opens nothing (nor a CDATA section's ``<!--``). A section
    never closed is text, and so is all that follows it. (Found with `str.find`: a lazy
    regular expression went to the end of the text from each of thousands of unclosed
    openings.)"""
    parts: list[str] = []
    at = 0
    nearest = [text.find(opening) for opening, _closing in _LITERAL]
    while True:
        for k, (opening, _closing) in enumerate(_LITERAL):
            if 0 <= nearest[k] < at:
                nearest[k] = text.find(opening, at)
        found = [(pos, k) for k, pos in enumerate(nearest) if pos >= 0]
        if not found:
            break
        start, k = min(found)
        opening, closing = _LITERAL[k]
        end = text.find(closing, start + len(opening))
        if end < 0:
            break
        parts += [text[at:start], text[start : end + len(closing)]]
        at = end + len(closing)
    parts.append(text[at:])
    return parts


class ArxivRssFormat:
    name = "arxiv-rss"
    label = "arXiv RSS (XML)"
    badge = "arXiv"

    def sniff(self, text: str) -> float:
        head = text[:4096].lstrip().lower()
        if not head.startswith("<") or "<rss" not in head:
            return 0.0
        lower = text.lower()
        if "arxiv" in lower and "<item" in lower:
            return 1.0
        return 0.5 if "arxiv" in lower else 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        if "</rss>" not in text[-65536:].lower():
            raise FeedError(f"{ctx.origin}: cut off before the end of the feed: expected </rss>")
        refuse_entity_declarations(text, ctx)
        try:
            return _parse(text, ctx)
        except RecursionError:
            raise FeedError(f"{ctx.origin}: nested too deeply to be an RSS feed") from None


FORMAT = ArxivRssFormat()


def _parse(text: str, ctx: ParseContext) -> ParseResult:
    from bs4 import BeautifulSoup, Tag

    text = well_formed_text(text)
    tree, error = _xml(text)
    if error is None:
        soup = BeautifulSoup(text, "xml")
        channel = soup.find("channel")
        items: list[Tag | None] = list(soup.find_all("item"))
        lines = _item_lines(tree, len(items))
    else:
        channel, items, lines = _items_apart(text)
    if not isinstance(channel, Tag):
        raise FeedError(f"{ctx.origin}: not an RSS feed: expected <rss><channel>")
    feed_date = _rfc822_date(_child_text(channel, "pubDate")) or _rfc822_date(
        _child_text(channel, "lastBuildDate")
    )
    result = ParseResult(format=FORMAT.name, feed_date=feed_date, held_controls=True)
    for index, item in enumerate(items):
        line = lines[index] if lines else None
        if item is None:  # (not well-formed on its own: `_items_apart`)
            result.skipped.append(Skipped(line or 1, _NOT_WELL_FORMED))
            continue
        paper, reason = _item(item)
        if paper is None:
            result.skipped.append(Skipped(line or 1, reason))
            continue
        paper.line = line
        result.papers.append(paper)
    if not result.papers:
        if not result.skipped:  # (a day without announcements: the channel has no item)
            raise EmptyFeed(f"{ctx.origin}: no items in the arXiv RSS feed")
        reasons = f" ({len(result.skipped)} malformed)"
        raise FeedError(f"{ctx.origin}: no items in the arXiv RSS feed{reasons}")
    for paper in result.papers:
        paper.feed_date = feed_date
    return result


def _item(item: Tag) -> tuple[Paper | None, str]:
    title = _child_text(item, "title")
    link = _child_text(item, "link")
    guid = _child_text(item, "guid")
    description = _child_text(item, "description")
    if not _DESCRIPTION_ID.match(description):  # (today's is text: "every <p> tag" is text)
        description = _html_text(description)  # (RSS before 2024: an HTML paragraph)
    suffix = _TITLE_ID.search(title)
    title_id, title_categories, title_version = "", [], None
    if suffix and suffix.start() > 0:  # (the whole title is never only the suffix)
        title_id = suffix.group(1)
        title_version = arxiv_version(title_id)
        title_categories = [c for c in (suffix.group(2) or "").split() if c]
        updated = bool(_UPDATED.search(title))
        title = title[: suffix.start()].rstrip()
    else:
        updated = False
    if not title:
        return None, f"item {link or guid or '(no link)'} has no <title>"
    if not link:
        return None, f"item {title[:60]!r} has no <link>"
    # (the description's own id only where arXiv puts it, first: an id it cites later, "a
    # comment on arXiv:2606.07001", is another paper's)
    said = _DESCRIPTION_ID.match(description)
    aid = (
        arxiv_id(link)
        or arxiv_id(guid)
        or arxiv_id(title_id)
        or (arxiv_id(said.group(1)) if said else None)
    )
    announce = _child_text(item, "announce_type")
    abstract = description
    m = _ABSTRACT.search(description)
    if m:
        if not announce:
            found = _ANNOUNCE.search(description[: m.start()])
            announce = found.group(1) if found else ""
        abstract = description[m.end() :]
    elif not announce:
        found = _ANNOUNCE.search(description)
        announce = found.group(1) if found else ""
    # "J. Müller (Univ. of Bonn), …, C. Abe et al. (2912 additional authors not shown)"
    line = read_author_line(
        ", ".join(_html_text(c.get_text()).strip() for c in item.find_all("creator"))
    )
    if not announce and updated:
        announce = "replace"  # RSS before 2024: "(arXiv:2312.01234v2 [cs.CV] UPDATED)"
    categories: list[str] = []
    for category in item.find_all("category"):
        code = " ".join(category.get_text().split())
        if code and code not in categories:
            categories.append(code)
    categories += [c for c in title_categories if c not in categories]
    paper = Paper(
        arxiv_id=aid,
        title=title,
        authors=line.names,
        author_count=line.total,
        institutions="; ".join(line.affiliations),
        abstract=" ".join(abstract.split()),
        categories=categories,
        announce_type=announce.lower(),
        arxiv_version=arxiv_version(link) or arxiv_version(guid) or title_version,
        paper_date=_rfc822_date(_child_text(item, "pubDate")),
    )
    if aid:
        paper.abs_url = f"https://arxiv.org/abs/{aid}"
        paper.pdf_url = f"https://arxiv.org/pdf/{aid}"
    elif link.lower().startswith(("https://", "http://")):
        paper.abs_url = link
    return paper, ""


def _html_text(value: str) -> str:
    """The text of HTML markup inside a field (RSS before 2024: ``<p>…</p>``, ``<a href=…>Ana
    Lima</a>``), or the value as it is when it holds none."""
    if "<" not in value or not _HTML.search(value):
        return value
    return html_text(value)


def _child_text(parent: Tag, name: str) -> str:
    from bs4 import Tag

    child = parent.find(name, recursive=False)
    return " ".join(child.get_text().split()) if isinstance(child, Tag) else ""


def _rfc822_date(value: str) -> str | None:
    """``Fri, 19 Jun 2026 00:00:00 -0400`` → ``2026-06-19`` (the date where it was stamped)."""
    if not value:
        return None
    try:
        day = parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # (RFC 2822 reads a year under 100 as 19xx/20xx: "01 Jan 0001" would be 2001-01-01)
    written = re.search(r"\b\d{1,2}\s+[A-Za-z]{3}[a-z]*\s+(\d+)\b", value)
    if written and len(written.group(1)) == 4 and int(written.group(1)) != day.year:
        return None
    return day.isoformat()


def _xml(text: str) -> tuple[Any, str | None]:
    """lxml's tree of ``text`` and None; or None and what makes it no well-formed XML
    (lxml's message)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, encoding="utf-8")
    try:
        return etree.fromstring(text.encode("utf-8"), parser), None
    except etree.XMLSyntaxError as err:
        return None, str(err) or "not well-formed"


_ITEM_START = re.compile(r"<item\b")
_ITEM_END = re.compile(r"</item\s*>")
_NOT_WELL_FORMED = "item is not well-formed XML (a tag left open or a bare <): read as no paper"
_ROOT = re.compile(r"<(?:rss|rdf:RDF)\b[^<>]*>")


def _items_apart(text: str) -> tuple[Tag | None, list[Tag | None], list[int | None]]:
    """(the channel, each item or None when it is no XML on its own, each item's line) of
    a feed that is not well-formed XML. Parsed whole, one error (``a < b`` in a title, an
    unclosed ``<br>``) cost the items after it, or every entity after it (libxml2's recovery
    drops them): each item is parsed on its own, so the error costs only its own item."""
    from bs4 import BeautifulSoup, Tag

    root = _ROOT.search(text)
    opening = root.group(0) if root else "<rss>"
    closing = "</rdf:RDF>" if opening.startswith("<rdf:") else "</rss>"
    found = _item_spans(text)
    head = text[: found[0][0]] if found else text
    if "</channel>" not in head:
        head += "</channel>"
    channel = BeautifulSoup(head + closing, "xml").find("channel")
    items: list[Tag | None] = []
    lines: list[int | None] = []
    line, at = 1, 0
    for start, end in found:
        line += text.count("\n", at, start)
        at = start
        lines.append(line)
        document = opening + text[start:end] + closing
        if _xml(document)[1] is not None:
            items.append(None)
            continue
        item = BeautifulSoup(document, "xml").find("item")
        items.append(item if isinstance(item, Tag) else None)
    return channel if isinstance(channel, Tag) else None, items, lines


def _item_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each ``<item …>…</item>`` in ``text``: from an opening to the first
    closing after it, the next from an opening after that. (Not one lazy regular expression:
    on thousands of openings with no closing it went to the end of the text from each.)"""
    import bisect

    ends = [m.end() for m in _ITEM_END.finditer(text)]
    spans: list[tuple[int, int]] = []
    after = 0
    for m in _ITEM_START.finditer(text):
        if m.start() < after:
            continue
        i = bisect.bisect_right(ends, m.start())
        if i == len(ends):
            break
        after = ends[i]
        spans.append((m.start(), after))
    return spans


def _item_lines(root: Any, expected: int) -> list[int | None]:
    """Source line of each ``<item>``, from lxml's own parse of the same text (`_xml`:
    BeautifulSoup's XML builder does not record lines). Empty when the two parses disagree
    on the items."""
    if root is None:
        return []
    lines: list[int | None] = [el.sourceline for el in root.iter("{*}item")]
    return lines if len(lines) == expected else []
