"""Plain domain objects shared by the parsers, the library, the CLI and the app.

Nothing here imports Textual or TinyDB: a `Paper` is what a parser produces and what the
library stores; a `PaperState` is the user's decisions about one paper.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The short badge of each feed format (its parser's ``FORMAT.badge``), here so that drawing a
# row imports no parser: the HTML ones import bs4, which took 0.3 s of the app's first paint.
# tests/test_export.py checks the table against every format module.
BADGES = {
    "arxiv-atom": "arXiv",
    "arxiv-html": "arXiv",
    "arxiv-rss": "arXiv",
    "arxivdaily": "arXivDaily",
    "digest": "digest",
    "hf-api": "HF",
    "hf-html": "HF",
    "hf-text": "HF",
}


def badge(fmt: str) -> str:
    """The source badge of format ``fmt`` ("HF", "arXiv" …); an unknown name as it is."""
    return BADGES.get(fmt, fmt)


@dataclass
class Source:
    """One feed a paper was seen in (provenance)."""

    format: str  # the feed format's name, e.g. "hf-text"
    origin: str  # file path or URL (or "<stdin>", "<clipboard>")
    feed_date: str | None = None  # ISO date of the feed/page, when known
    digest: str = ""  # hash of the feed's decoded text: the same feed imported twice is one source
    imported_at: str = ""  # ISO timestamp of the import

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "origin": self.origin,
            "feed_date": self.feed_date,
            "digest": self.digest,
            "imported_at": self.imported_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        return cls(**{k: data.get(k) for k in _SOURCE_FIELDS if k in data})


@dataclass
class Paper:
    """A paper as carried by one or more feeds. Every field is optional in practice."""

    id: str = ""  # the library's stable id (empty until stored)
    arxiv_id: str | None = None  # without version suffix
    title: str = ""  # English title
    title_zh: str = ""  # Chinese title (format A's title line, B's second title)
    authors: list[str] = field(default_factory=list)
    author_count: int | None = None  # stated count ("等 (12 位作者)", "8 authors")
    organization: str = ""  # HF organisation shown instead of authors
    institutions: str = ""  # B's 发表机构
    abstract: str = ""  # English abstract
    abstract_zh: str = ""  # Chinese abstract (B's AI中文摘要)
    contribution_zh: str = ""  # A: 核心贡献
    method_zh: str = ""  # A: 方法
    findings_zh: str = ""  # A: 关键发现
    ai_summary: str = ""  # B: AI总结
    topic_hit: str = ""  # B: 专题命中
    relevance: int | None = None  # B: relevance score in percent
    announce_type: str = ""  # B status (新提交), E section, F "Announce Type"
    arxiv_version: int | None = None  # the arXiv version (the N of vN) of the text, when stated
    # Every announcement seen, oldest first: {"announce": "replace", "version": 2,
    # "date": "2026-06-24"} (empty parts left out); library/identity.py keeps it.
    versions: list[dict[str, Any]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)  # D: ai_keywords
    paper_date: str | None = None  # ISO date of the paper itself
    feed_date: str | None = None  # ISO date of the (first) feed it came from
    upvotes: int | None = None
    num_comments: int | None = None  # discussion comments on HF
    comments: str = ""  # arXiv "Comments" field (e.g. "84 pages")
    abs_url: str = ""
    pdf_url: str = ""
    hf_url: str = ""
    code_url: str = ""
    line: int | None = None  # line in the feed where the entry starts (not stored)
    sources: list[Source] = field(default_factory=list)
    added_at: str = ""  # ISO timestamp of when the library first stored it

    @property
    def display_title(self) -> str:
        """The English title, or the Chinese title when that is all there is."""
        return self.title or self.title_zh or "(untitled)"

    @property
    def source_formats(self) -> list[str]:
        seen: list[str] = []
        for s in self.sources:
            if s.format not in seen:
                seen.append(s.format)
        return seen

    def to_dict(self) -> dict[str, Any]:
        """The stored form (a plain dict; lists copied). Faster than `dataclasses.asdict`,
        which deep-copies field by field and dominated import time."""
        data = dict(self.__dict__)  # (the fields in their order, as __init__ set them)
        if data.keys() == _PAPER_FIELDS:
            del data["line"]
        else:  # (an attribute added or removed by hand)
            data = {name: getattr(self, name) for name in _PAPER_FIELD_NAMES}
        for name in ("authors", "categories", "keywords", "versions"):
            data[name] = list(data[name])
        data["sources"] = [s.to_dict() for s in self.sources]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        kwargs = {k: v for k, v in data.items() if k in _PAPER_FIELDS}
        kwargs["sources"] = [Source.from_dict(s) for s in data.get("sources", [])]
        return cls(**kwargs)


@dataclass
class PaperState:
    """The user's decisions about one paper: what the library persists per keystroke."""

    read: bool = False
    starred: bool = False
    tags: list[str] = field(default_factory=list)
    note: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PaperState:
        if not data:
            return cls()
        return cls(
            read=bool(data.get("read", False)),
            starred=bool(data.get("starred", False)),
            tags=list(data.get("tags", [])),
            note=str(data.get("note", "")),
            updated_at=str(data.get("updated_at", "")),
        )

    def is_default(self) -> bool:
        return not (self.read or self.starred or self.tags or self.note)


_PAPER_FIELDS = {f.name for f in fields(Paper)}
_PAPER_FIELD_NAMES = tuple(f.name for f in fields(Paper) if f.name != "line")
_SOURCE_FIELDS = {f.name for f in fields(Source)}
