"""Author lists as arXiv prints them: a collaboration before a colon, a cut "et al." tail.

A listing shows at most a few names of a long author list, then ``et al. (2912 additional
authors not shown)``: the paper states its total, which is the names shown that are people
plus the number not shown. A collaboration (``XYZ Collaboration: A. Aalto, …``) is a group
that signs the paper, not one more person. Not a format module (no ``FORMAT``): the parsers of
the arXiv formats share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ET_AL = re.compile(r"\bet\.?\s+al\b\.?", re.IGNORECASE)
_NOT_SHOWN = re.compile(
    r"\(\s*(\d[\d,]*)\s+(?:additional|more|other)\s+authors?\s+not\s+shown\s*\)", re.IGNORECASE
)
# "XYZ Collaboration: A. Aalto" (not a URL's "http:", nor an affiliation's "(Univ: Dept)")
_SIGNED_BY = re.compile(r"\s*([^:<>/()]*[^\s:<>/()])\s*:\s+(.*)", re.DOTALL)
_SEPARATORS = re.compile(r"[(),]")
_AFFILIATION = re.compile(r"\(([^()]*)\)\s*$")  # "J. Müller (University of Bonn)"
_GROUP = re.compile(r"\b(?:collaboration|consortium|collab\.?)(?:\W|$)", re.IGNORECASE)


# A generational suffix or a degree written after a comma belongs to the name before it.
_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv|phd|md)\.?$", re.IGNORECASE)
_AND = re.compile(r"^(?:and|&)\s+", re.IGNORECASE)  # "A, B, and C": the last name is "C"


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


@dataclass
class AuthorLine:
    """What an author line says: the names (people and groups), the author total it states
    (people shown plus those "not shown"; None when it states none) and the affiliations
    that followed names in parentheses."""

    names: list[str] = field(default_factory=list)
    total: int | None = None
    affiliations: list[str] = field(default_factory=list)


def read_author_line(text: str) -> AuthorLine:
    """An author line as arXiv prints it, e.g. ``XYZ Collaboration: A. Aalto (Univ. X, Y),
    B. Abbas et al. (2,912 additional authors not shown) You must enable JavaScript…``:
    names are split at commas outside parentheses; "Group: First Person" gives the group and
    the person; a name's trailing "(affiliation)" goes to ``affiliations``; "et al. (N …)"
    ends the names and states the total; whatever follows it is dropped."""
    line = AuthorLine()
    cut = _ET_AL.search(text)
    tail = text[cut.start() :] if cut else ""
    if cut:
        text = text[: cut.start()]
    groups = 0
    for part in _split_names(text):
        signed = _SIGNED_BY.match(part)
        if signed:
            line.names.append(" ".join(signed.group(1).split()))
            groups += 1
            part = signed.group(2)
        affiliation = _AFFILIATION.search(part)
        if affiliation:
            found = " ".join(affiliation.group(1).split())
            if found and found not in line.affiliations:
                line.affiliations.append(found)
            part = part[: affiliation.start()]
        name = _AND.sub("", " ".join(part.split()))
        if name and _SUFFIX.match(name) and line.names:
            line.names[-1] += ", " + name  # "John Smith, Jr.": one person
        elif name:
            line.names.append(name)
            groups += is_group(name)
    line.total = stated_total(len(line.names) - groups, tail)
    return line


def _split_names(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses (in one pass: an unclosed "(" keeps
    the rest together rather than costing a scan per comma)."""
    if "(" not in text:
        return text.split(",")
    parts: list[str] = []
    depth = start = 0
    for m in _SEPARATORS.finditer(text):
        char = m.group()
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            parts.append(text[start : m.start()])
            start = m.end()
    parts.append(text[start:])
    return parts
