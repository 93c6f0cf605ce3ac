"""Format D: a saved Hugging Face Daily Papers page (HTML).

The page carries every paper as JSON in the ``data-props`` attribute of the
``<div class="SVELTE_HYDRATER contents" data-target="DailyPapers">`` element. BeautifulSoup
unescapes the attribute once and ``json`` decodes it; the visible cards (links to
``/papers/<arXiv id>``) only give each paper its source line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..text import arxiv_id
from ._hf import iso_date, paper_from_item, string
from .base import FeedError, ParseContext, ParseResult, Skipped, check_html_complete, html_page

if TYPE_CHECKING:  # (bs4 is imported when a page is parsed: importing a text feed, or
    # starting the app, never pays the 0.2-0.4 s it takes)
    from bs4 import BeautifulSoup

_MARKER = 'data-target="DailyPapers"'


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
    from bs4 import Tag

    soup = html_page(text, ctx, "a Daily Papers page")
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

    feed_date = iso_date(props.get("date")) or _page_date(soup)
    default_line = holder.sourceline or 1
    card_lines = _card_lines(soup)
    result = ParseResult(format=FORMAT.name, feed_date=feed_date)
    for index, item in enumerate(props["dailyPapers"], start=1):
        obj = item if isinstance(item, dict) else {}
        obj = obj["paper"] if isinstance(obj.get("paper"), dict) else obj
        pid = arxiv_id(string(obj.get("id")))
        line = card_lines.get(pid, default_line) if pid else default_line
        made = paper_from_item(item, index, line, feed_date)
        if isinstance(made, Skipped):
            result.skipped.append(made)
        else:
            result.papers.append(made)
    if not result.papers:
        reasons = f" ({len(result.skipped)} malformed)" if result.skipped else ""
        raise FeedError(f"{ctx.origin}: no papers in the Daily Papers data{reasons}")
    return result


def _page_date(soup: BeautifulSoup) -> str | None:
    """The date in the page's own URL (``/papers/date/2026-06-19``), when the JSON has none."""
    for tag in soup.find_all(["link", "meta"]):
        url = string(tag.get("href")) or string(tag.get("content"))
        if "/papers/date/" in url:
            found = iso_date(url.split("/papers/date/", 1)[1])
            if found:
                return found
    return None


def _card_lines(soup: BeautifulSoup) -> dict[str, int]:
    """arXiv id → source line of the first visible card linking to ``/papers/<id>``."""
    lines: dict[str, int] = {}
    for link in soup.find_all("a", href=True):
        href = string(link.get("href"))
        if "/papers/" not in href:
            continue
        pid = arxiv_id(href.split("/papers/", 1)[1])
        if not pid or pid in lines:
            continue
        card = link.find_parent("article") or link
        if card.sourceline:
            lines[pid] = card.sourceline
    return lines
