"""The paper objects of Hugging Face Daily Papers, shared by the saved page (format D, its
``data-props`` JSON) and the API's answer (format G, ``/api/daily_papers``): one object per
paper, ``{"paper": {"id", "title", "summary", "authors": [{"name"}], "publishedAt",
"submittedOnDailyAt", "upvotes", "ai_summary", "ai_keywords", "githubRepo", "organization"},
"numComments", "title", "summary", "publishedAt", …}`` (see FORMATS.md, D and G)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ..models import Paper
from ..text import arxiv_id
from .base import Skipped

_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def paper_from_item(item: Any, index: int, line: int, feed_date: str | None) -> Paper | Skipped:
    """One Daily Papers object (entry ``index`` from 1, starting on ``line``) as a Paper, or
    the reason it is left out (not an object, no title)."""
    if not isinstance(item, dict):
        return Skipped(line, f"entry {index} is not a paper object")
    paper_obj = item.get("paper") if isinstance(item.get("paper"), dict) else item
    pid = arxiv_id(string(paper_obj.get("id")))
    title = _one_line(string(paper_obj.get("title")) or string(item.get("title")))
    if not title:
        what = f"paper {pid}" if pid else f"entry {index}"
        return Skipped(line, f"{what} has no title")
    paper = Paper(
        arxiv_id=pid,
        title=title,
        authors=_authors(paper_obj.get("authors")),
        abstract=_one_line(string(paper_obj.get("summary")) or string(item.get("summary"))),
        ai_summary=_one_line(string(paper_obj.get("ai_summary"))),
        keywords=[_one_line(k) for k in _list(paper_obj.get("ai_keywords")) if string(k)],
        paper_date=iso_date(paper_obj.get("publishedAt")) or iso_date(item.get("publishedAt")),
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
    return paper


def daily_date(item: Any) -> str | None:
    """The day a Daily Papers object was listed (``submittedOnDailyAt``), when it says."""
    if not isinstance(item, dict):
        return None
    paper_obj = item.get("paper") if isinstance(item.get("paper"), dict) else item
    return iso_date(paper_obj.get("submittedOnDailyAt"))


def string(value: Any) -> str:
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


def iso_date(value: Any) -> str | None:
    """``2026-06-19`` or ``2026-06-19T17:59:56.000Z`` → ``2026-06-19``; anything else → None."""
    m = _ISO_DATE.match(string(value).strip())
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        return None


def _authors(value: Any) -> list[str]:
    names = []
    for author in _list(value):
        name = string(author.get("name")) if isinstance(author, dict) else string(author)
        name = _one_line(name)
        if name:
            names.append(name)
    return names


def _organization(value: Any) -> str:
    if isinstance(value, dict):
        return _one_line(string(value.get("fullname")) or string(value.get("name")))
    return _one_line(string(value))


def _http_url(value: Any) -> str:
    url = string(value).strip()
    return url if url.lower().startswith(("https://", "http://")) else ""
