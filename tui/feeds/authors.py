"""Author lists as arXiv prints them: a collaboration before a colon, a cut "et al." tail.

A listing shows at most a few names of a long author list, then ``et al. (2912 additional
authors not shown)``: the paper states its total, which is the names shown that are people
plus the number not shown. A collaboration (``XYZ Collaboration: A. Aalto, …``) is a group
that signs the paper, not one more person. Not a format module (no ``FORMAT``): the parsers of
the arXiv formats share it.
"""

from __future__ import annotations

import re

_ET_AL = re.compile(r"\bet\.?\s+al\b\.?", re.IGNORECASE)
_NOT_SHOWN = re.compile(
    r"\(\s*(\d[\d,]*)\s+(?:additional|more|other)\s+authors?\s+not\s+shown\s*\)", re.IGNORECASE
)
# "XYZ Collaboration: A. Aalto" (not a URL's "http:", nor an affiliation's "(Univ: Dept)")
_SIGNED_BY = re.compile(r"\s*([^:<>/()]*[^\s:<>/()])\s*:\s+(.*)", re.DOTALL)
_GROUP = re.compile(r"\b(?:collaboration|consortium|collab\.?)(?:\W|$)", re.IGNORECASE)


def is_group(name: str) -> bool:
    """True for a collaboration's or consortium's name ("ATLAS Collaboration")."""
    return bool(_GROUP.search(name))


def not_shown(text: str) -> int | None:
    """N from "et al. (N additional authors not shown)" in ``text``, or None."""
    m = _NOT_SHOWN.search(text)
    return int(m.group(1).replace(",", "")) if m else None


def stated_total(people_shown: int, text: str) -> int | None:
    """The author total a listing states: the people shown plus those "not shown" in
    ``text``; None when the text states no count."""
    more = not_shown(text)
    return None if more is None else people_shown + more


def read_names(names: list[str]) -> tuple[list[str], int | None]:
    """Names split from an author line (comma-separated, as a feed gives them) → (names,
    stated total or None). "Group: First Person" is split into the group and the person;
    "Last Person et al. (N additional authors not shown)" keeps the person and the count, and
    whatever follows (a "You must enable JavaScript…" note) is dropped."""
    out: list[str] = []
    groups = 0
    tail = ""
    for index, name in enumerate(names):
        cut = _ET_AL.search(name)
        if cut:
            tail = name[cut.start() :]
            name = name[: cut.start()]
        signed = _SIGNED_BY.match(name)
        if signed:
            group, name = " ".join(signed.group(1).split()), signed.group(2)
            out.append(group)
            groups += 1
        name = " ".join(name.split())
        if name:
            out.append(name)
            groups += is_group(name)
        if cut:
            tail = ",".join([tail, *names[index + 1 :]])  # the split undone: "2,912"
            break
    return out, stated_total(len(out) - groups, tail)
