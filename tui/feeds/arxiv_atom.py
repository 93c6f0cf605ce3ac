"""Format H: arXiv as Atom 1.0: the API's answer (``export.arxiv.org/api/query``) and the daily
category feed asked for as Atom (``rss.arxiv.org/atom/cs.CV``).

Read with `feedparser` (the maintained reader of every RSS and Atom dialect; see FORMATS.md, H):
each ``<entry>`` has ``id`` (``http://arxiv.org/abs/<id>v<n>``, or ``oai:arXiv.org:<id>v<n>``
in the daily feed), ``title``, ``summary`` (the daily feed's starts ``arXiv:<id> Announce
Type: new Abstract:``), ``author``/``name`` with ``arxiv:affiliation`` (the daily feed:
``dc:creator``, the names in one line), ``published``, ``updated``, ``arxiv:primary_category``,
``category term=…``, ``link`` (abs and pdf), ``arxiv:comment``, ``arxiv:journal_ref``,
``arxiv:doi`` and ``arxiv:announce_type``; the API's ``opensearch:totalResults`` (the papers
of the whole query, for paging) is `ParseResult.total`. feedparser keeps only one affiliation
per entry, so they are read from the entry's own text; entries are numbered by the line their
``<entry`` opens on, for messages.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ..models import Paper
from ..text import arxiv_id, arxiv_version, clean_line
from ._hf import iso_date, string
from .arxiv_rss import refuse_entity_declarations, well_formed_text
from .authors import AuthorLine, read_author_line
from .base import (
    EmptyFeed,
    FeedError,
    ParseContext,
    ParseResult,
    Skipped,
    html_text,
    restore_controls,
)

_ENTRY = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?entry[\s>]")
_AFFILIATION = re.compile(r"<(?:[\w.-]+:)?affiliation[^>]*>([^<]*)<", re.I)
_ANNOUNCE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*([A-Za-z\-]+)\s*", re.I)
_ABSTRACT = re.compile(r"^\s*Abstract:\s*", re.I)


class ArxivAtomFormat:
    name = "arxiv-atom"
    label = "arXiv API / Atom (XML)"
    badge = "arXiv"

    def sniff(self, text: str) -> float:
        head = text[:4096].lstrip("\ufeff \t\r\n")
        if not head.startswith("<"):
            return 0.0
        lower = head.lower()
        if "<feed" not in lower or "http://www.w3.org/2005/atom" not in lower:
            return 0.0
        if "arxiv" in lower:
            return 1.0
        return 0.4 if "arxiv.org/abs/" in text else 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        """The papers of one Atom document. FeedError when it is cut off (no ``</feed>``),
        is not Atom, or holds no entry (the answer past the last result, a day without
        announcements)."""
        if not re.search(r"</(?:[A-Za-z_][\w.-]*:)?feed>\s*$", text[-65536:]):
            raise FeedError(f"{ctx.origin}: cut off before the end of the feed: expected </feed>")
        refuse_entity_declarations(text, ctx)
        import feedparser

        parsed = feedparser.parse(
            well_formed_text(text).encode("utf-8"),
            response_headers={"content-type": "application/atom+xml; charset=utf-8"},
            resolve_relative_uris=False,
            sanitize_html=True,
        )
        if not parsed.get("version", "").startswith("atom"):
            raise FeedError(f"{ctx.origin}: not an Atom feed: expected <feed> with <entry>s")
        starts = [m.start() for m in _ENTRY.finditer(text)]
        feed_date = iso_date(parsed.feed.get("updated"))
        result = ParseResult(format=FORMAT.name, feed_date=feed_date, held_controls=True)
        total = str(parsed.feed.get("opensearch_totalresults") or "").strip()
        result.total = int(total) if total.isascii() and total.isdigit() else None
        for index, entry in enumerate(parsed.entries):
            start = starts[index] if index < len(starts) else 0
            end = starts[index + 1] if index + 1 < len(starts) else len(text)
            line = text.count("\n", 0, start) + 1
            made = _paper(entry, text[start:end], line, index + 1)
            if isinstance(made, Skipped):
                result.skipped.append(made)
            else:
                result.papers.append(made)
        if not result.papers:
            if len(result.skipped) == 1:  # (its reason as a skipped entry's is shown: cleaned)
                (skipped,) = result.skipped
                reason = clean_line(restore_controls(skipped.reason))
                raise FeedError(f"{ctx.origin}: line {skipped.line}: {reason}")
            if result.skipped:
                raise FeedError(
                    f"{ctx.origin}: no papers in the feed ({len(result.skipped)} malformed)"
                )
            raise EmptyFeed(f"{ctx.origin}: no papers in the feed (no <entry>: nothing announced)")
        return result


FORMAT = ArxivAtomFormat()


def _paper(entry: Any, raw: str, line: int, index: int) -> Paper | Skipped:
    pid = arxiv_id(string(entry.get("id")))
    title = " ".join(string(entry.get("title")).split())
    if "/api/errors" in string(entry.get("id")):  # (how the API answers a bad query)
        said = " ".join(string(entry.get("summary")).split()) or title
        return Skipped(line, f"the arXiv API answered an error: {said}")
    if not pid:
        return Skipped(line, f"entry {index} has no arXiv id (expected <id> with arxiv.org/abs/…)")
    if not title:
        return Skipped(line, f"paper {pid} has no title")
    summary = string(entry.get("summary"))
    if (entry.get("summary_detail") or {}).get("type") == "text/html":
        summary = html_text(summary)
    announce = str(entry.get("arxiv_announce_type") or "").strip().lower()
    m = _ANNOUNCE.match(summary)
    if m:  # (the daily feed's summary: "arXiv:ID Announce Type: new Abstract: …")
        announce = announce or m.group(1).lower()
        summary = summary[m.end() :]
    summary = _ABSTRACT.sub("", summary, count=1)
    categories: list[str] = []
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    for term in [primary, *(t.get("term") for t in entry.get("tags") or ())]:
        if isinstance(term, str) and term.strip() and term.strip() not in categories:
            categories.append(term.strip())
    authors = _authors(entry)
    affiliations = list(authors.affiliations)
    for found in _AFFILIATION.findall(raw):
        name = " ".join(html.unescape(found).split())
        if name and name not in affiliations:
            affiliations.append(name)
    links = {
        str(link.get("title") or link.get("rel")): link.get("href")
        for link in entry.get("links") or ()
    }
    version = arxiv_version(string(entry.get("id")))
    published = iso_date(entry.get("published"))
    return Paper(
        arxiv_id=pid,
        title=title,
        authors=authors.names,
        author_count=authors.total,
        institutions="; ".join(affiliations),
        abstract=" ".join(summary.split()),
        announce_type=announce,
        arxiv_version=version,
        categories=categories,
        paper_date=published,
        feed_date=published,
        comments=" ".join(string(entry.get("arxiv_comment")).split()),
        abs_url=f"https://arxiv.org/abs/{pid}",
        pdf_url=f"https://arxiv.org/pdf/{pid}" if "pdf" in links or "alternate" in links else "",
        line=line,
    )


def _authors(entry: Any) -> AuthorLine:
    names = [" ".join(string(a.get("name")).split()) for a in entry.get("authors") or ()]
    names = [n for n in names if n]
    if len(names) == 1 and ("," in names[0] or "(" in names[0]):  # (dc:creator: one line)
        return read_author_line(names[0])
    return AuthorLine(names=names)
