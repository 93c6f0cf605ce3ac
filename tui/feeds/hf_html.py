"""Format D: a saved Hugging Face Daily Papers page (HTML).

The page carries every paper as JSON in the ``data-props`` attribute of the
``<div class="SVELTE_HYDRATER contents" data-target="DailyPapers">`` element. BeautifulSoup
unescapes the attribute once and ``json`` decodes it; the visible cards (links to
``/papers/<arXiv id>``) only give each paper its source line.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from ..models import Paper
from ..text import arxiv_id
from .base import FeedError, ParseContext, ParseResult, Skipped, check_html_complete

if TYPE_CHECKING:  # (bs4 is imported when a page is parsed: importing a text feed, or
    # starting the app, never pays the 0.2-0.4 s it takes)
    from bs4 import BeautifulSoup

_MARKER = 'data-target="DailyPapers"'
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class HFHtmlFormat:
    name = "hf-html"
    label = "Hugging Face Daily Papers (HTML)"
    badge = "HF"

    def sniff(self, text: str) -> float:
        head = text[:4096].lstrip().lower()
        if not head.startswith("<"):
            return 0.0
        if _MARKER in text or "data-target='DailyPapers'" in text:
            return 1.0
        if "<html" in head and "huggingface.co" in text and "/papers/" in text:
            return 0.5
        return 0.0

    def parse(self, text: str, ctx: ParseContext) -> ParseResult:
        check_html_complete(text, ctx)
        try:
            return _parse(text, ctx)
        except RecursionError:
            raise FeedError(f"{ctx.origin}: nested too deeply to be a Daily Papers page") from None


FORMAT = HFHtmlFormat()


def _parse(text: str, ctx: ParseContext) -> ParseResult:
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(text, "html.parser")
    holder = soup.find(attrs={"data-target": "DailyPapers"})
    if not isinstance(holder, Tag):
        raise FeedError(
            f'{ctx.origin}: no Daily Papers data: expected a data-target="DailyPapers" element'
        )
    raw = holder.get("data-props")
    if not isinstance(raw, str) or not raw.strip():
        raise FeedError(f"{ctx.origin}: no Daily Papers data: expected JSON in data-props")
    try:
        props = json.loads(raw)
    except json.JSONDecodeError as err:
        raise FeedError(
            f"{ctx.origin}: cut off or damaged Daily Papers data (JSON error at character "
            f"{err.pos}): expected complete JSON in data-props"
        ) from None
    if not isinstance(props, dict) or not isinstance(props.get("dailyPapers"), list):
        raise FeedError(f"{ctx.origin}: no Daily Papers data: expected a dailyPapers list")

    feed_date = _iso_date(props.get("date")) or _page_date(soup)
    default_line = holder.sourceline or 1
    card_lines = _card_lines(soup)
    result = ParseResult(format=FORMAT.name, feed_date=feed_date)
    for index, item in enumerate(props["dailyPapers"], start=1):
        if not isinstance(item, dict):
            result.skipped.append(Skipped(default_line, f"entry {index} is not a paper object"))
            continue
        paper_obj = item.get("paper") if isinstance(item.get("paper"), dict) else item
        pid = arxiv_id(_str(paper_obj.get("id")))
        line = card_lines.get(pid, default_line) if pid else default_line
        title = _one_line(_str(paper_obj.get("title")) or _str(item.get("title")))
        if not title:
            what = f"paper {pid}" if pid else f"entry {index}"
            result.skipped.append(Skipped(line, f"{what} has no title"))
            continue
        paper = Paper(
            arxiv_id=pid,
            title=title,
            authors=_authors(paper_obj.get("authors")),
            abstract=_one_line(_str(paper_obj.get("summary")) or _str(item.get("summary"))),
            ai_summary=_one_line(_str(paper_obj.get("ai_summary"))),
            keywords=[_one_line(k) for k in _list(paper_obj.get("ai_keywords")) if _str(k)],
            paper_date=_iso_date(paper_obj.get("publishedAt"))
            or _iso_date(item.get("publishedAt")),
            feed_date=feed_date,
            upvotes=_int(paper_obj.get("upvotes")),
            num_comments=_int(item.get("numComments")),
            organization=_organization(paper_obj.get("organization"))
            or _organization(item.get("organization")),
            code_url=_http_url(paper_obj.get("githubRepo")),
            line=line,
        )
        if pid:
            paper.hf_url = f"https://huggingface.co/papers/{pid}"
            paper.abs_url = f"https://arxiv.org/abs/{pid}"
            paper.pdf_url = f"https://arxiv.org/pdf/{pid}"
        result.papers.append(paper)
    if not result.papers:
        reasons = f" ({len(result.skipped)} malformed)" if result.skipped else ""
        raise FeedError(f"{ctx.origin}: no papers in the Daily Papers data{reasons}")
    return result


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _iso_date(value: Any) -> str | None:
    """``2026-06-19`` or ``2026-06-19T17:59:56.000Z`` → ``2026-06-19``; anything else → None."""
    m = _ISO_DATE.match(_str(value).strip())
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        return None


def _page_date(soup: BeautifulSoup) -> str | None:
    """The date in the page's own URL (``/papers/date/2026-06-19``), when the JSON has none."""
    for tag in soup.find_all(["link", "meta"]):
        url = _str(tag.get("href")) or _str(tag.get("content"))
        if "/papers/date/" in url:
            found = _iso_date(url.split("/papers/date/", 1)[1])
            if found:
                return found
    return None


def _authors(value: Any) -> list[str]:
    names = []
    for author in _list(value):
        name = _str(author.get("name")) if isinstance(author, dict) else _str(author)
        name = _one_line(name)
        if name:
            names.append(name)
    return names


def _organization(value: Any) -> str:
    if isinstance(value, dict):
        return _one_line(_str(value.get("fullname")) or _str(value.get("name")))
    return _one_line(_str(value))


def _http_url(value: Any) -> str:
    url = _str(value).strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def _card_lines(soup: BeautifulSoup) -> dict[str, int]:
    """arXiv id → source line of the first visible card linking to ``/papers/<id>``."""
    lines: dict[str, int] = {}
    for link in soup.find_all("a", href=True):
        href = _str(link.get("href"))
        if "/papers/" not in href:
            continue
        pid = arxiv_id(href.split("/papers/", 1)[1])
        if not pid or pid in lines:
            continue
        card = link.find_parent("article") or link
        if card.sourceline:
            lines[pid] = card.sourceline
    return lines
