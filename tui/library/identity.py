"""When two records are the same paper, and how their fields are merged.

Rules (FORMATS.md): the arXiv id (version ignored) decides; otherwise the normalised English
abstract; otherwise the normalised full English title. A short name before a colon never is.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..text import normalise

# Abstract keys use a prefix of the normalised text so a copy cut off at the end still matches.
ABSTRACT_PREFIX = 300
MIN_ABSTRACT = 80
MIN_TITLE = 12

_MAX_FIELDS = ("upvotes", "num_comments", "author_count", "relevance")
_UNION_FIELDS = ("categories", "keywords")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def paper_keys(paper: dict[str, Any]) -> list[str]:
    """Identity keys of a paper record, strongest first."""
    keys = []
    if paper.get("arxiv_id"):
        keys.append("arxiv:" + paper["arxiv_id"])
    # Only a prefix is compared; 1,000 characters always normalise to more than that.
    abstract = normalise((paper.get("abstract") or "")[:1000])
    if len(abstract) >= MIN_ABSTRACT:
        keys.append("abs:" + _digest(abstract[:ABSTRACT_PREFIX]))
    title = normalise(paper.get("title") or "")
    if len(title) >= MIN_TITLE:
        keys.append("title:" + _digest(title))
    return keys


def new_id(paper: dict[str, Any], keys: list[str], taken: dict[str, Any]) -> str:
    """A short stable id: the arXiv id when there is one, else a hash of the strongest key."""
    if paper.get("arxiv_id") and paper["arxiv_id"] not in taken:
        return paper["arxiv_id"]
    basis = keys[0] if keys else repr(sorted(paper.items()))
    digest = hashlib.sha1(basis.encode("utf-8")).hexdigest()
    for length in range(8, 41):
        candidate = "p" + digest[:length]
        if candidate not in taken:
            return candidate
    raise RuntimeError("could not allocate a paper id")  # pragma: no cover - 40 hex digits


def compatible(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Records matched by abstract or title are still different papers if their ids differ."""
    a, b = existing.get("arxiv_id"), incoming.get("arxiv_id")
    return not (a and b and a != b)


def merge_into(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Fold ``incoming``'s fields and sources into ``existing``; True if anything changed."""
    changed = False
    for name, value in incoming.items():
        if name in ("id", "keys", "sources", "added_at", "line") or value in (None, "", []):
            continue
        current = existing.get(name)
        if name in _MAX_FIELDS:
            if current is None or value > current:
                existing[name] = value
                changed = True
        elif name in _UNION_FIELDS:
            merged = list(current or []) + [v for v in value if v not in (current or [])]
            if merged != (current or []):
                existing[name] = merged
                changed = True
        elif name == "feed_date":
            if not current or value < current:
                existing[name] = value
                changed = True
        elif current in (None, "", []):
            existing[name] = value
            changed = True
    have = {(s["format"], s["digest"]) for s in existing.get("sources", [])}
    for source in incoming.get("sources", []):
        if (source["format"], source["digest"]) not in have:
            existing.setdefault("sources", []).append(source)
            have.add((source["format"], source["digest"]))
            changed = True
    return changed
