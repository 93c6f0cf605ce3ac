"""Every export format behind one interface: a name, a file suffix and a render function.

- ``markdown`` (``.md``): the reading list grouped by tag (`tui.export.export_markdown`).
- ``bibtex`` (``.bib``): one ``@misc`` entry per paper in arXiv's own style (``eprint``,
  ``archivePrefix = {arXiv}``, ``primaryClass``), written with bibtexparser 2; every value's
  text is LaTeX-encoded with pylatexenc (``{``, ``}``, ``\\``, ``%``, ``&``, ``#`` … escaped,
  accents as ``\\"u``), so no feed text can end a field or run a macro; inline math made of
  plain TeX is kept as math. An author list the feed cut short (its stated count is larger:
  "et al. (2912 additional authors not shown)", "等 (12 位作者)") ends in ``and others``.
  The format: BibTeX's (Patashnik, "BibTeXing", 1988) with biblatex's ``eprint`` fields.
- ``csl-json`` (``.json``): CSL-JSON, the Citation Style Language's data format that Zotero,
  pandoc and Mendeley read (citationstyles.org, "CSL JSON schema" 1.0.2): an arXiv paper is
  ``type: "article"`` (a preprint) with ``archive: "arXiv"`` and its id as ``number``. An
  author list the feed cut short ends in ``{"literal": "others"}`` (`ETAL`), as pandoc writes
  BibTeX's ``and others`` and its citeproc prints as "et al.".

Names are split into given and family names by BibTeX's rules (bibtexparser's
`parse_single_name_into_parts`: "Ludwig van Beethoven" has the particle "van"); a suffix
(``Jr.``, ``III``) stays with its name; a collaboration or a name without a space (a Chinese
name) is one literal name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from .export import _MD_MATH_UNSAFE, export_markdown, links_of
from .feeds.authors import is_group
from .models import Paper, PaperState
from .text import clean, clean_line

Items = list[tuple[Paper, PaperState]]


@dataclass(frozen=True)
class Exporter:
    """One export format: ``render(items, title, today)`` returns the whole file's text;
    ``languages``: it also takes ``chinese_first`` (the reader's language, see `render`)."""

    name: str
    suffix: str
    description: str
    render: Callable[..., str]
    languages: bool = False


# --------------------------------------------------------------------------- names
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"}


@dataclass(frozen=True)
class Name:
    """One author: ``literal`` for a group or a one-word name, else given/particle/family
    and a suffix."""

    literal: str = ""
    given: str = ""
    particle: str = ""
    family: str = ""
    suffix: str = ""


def split_name(name: str) -> Name:
    """``name`` as written in a feed ("Ana Lima Jr.", "Ludwig van Beethoven", "张三",
    "ATLAS Collaboration") split by BibTeX's rules."""
    from bibtexparser.middlewares.names import parse_single_name_into_parts

    text = clean_line(name)
    # "Eve Adams, Jr." (as arXiv writes a suffix): the name "Eve Adams" and its suffix
    # ("Lee, V" is a family name and an initial; "Adams, Jr." names no given name)
    head, comma, tail = text.rpartition(",")
    suffix = tail.strip()
    if comma and suffix.lower() in _SUFFIXES - {"v"} and "," not in head and len(head.split()) > 1:
        text = f"{head.strip()} {suffix}"
    words = text.split()
    if is_group(text) or len(words) < 2 or "," in text or "and" in map(str.lower, words):
        return Name(literal=text)  # (BibTeX would split a name at its word "and")
    suffix = ""
    if len(words) > 2 and words[-1].lower().rstrip(",") in _SUFFIXES:
        suffix = words.pop()
    try:
        parts = parse_single_name_into_parts(" ".join(words))
    except Exception:  # noqa: BLE001 - bibtexparser's own errors: keep the name whole
        return Name(literal=text)
    if not parts.last:
        return Name(literal=text)
    return Name(
        given=" ".join(parts.first),
        particle=" ".join(parts.von),
        family=" ".join(parts.last),
        suffix=suffix or " ".join(parts.jr),
    )


def cut_short(paper: Paper) -> bool:
    """Whether the feed named only some of the paper's authors: its stated author count
    ("et al. (2912 additional authors not shown)", "等 (12 位作者)") is larger than the
    people it named (a collaboration among them is a group, not one of them)."""
    return (paper.author_count or 0) > sum(not is_group(a) for a in paper.authors)


# --------------------------------------------------------------------------- BibTeX
_MATH = re.compile(r"(?<![\\$])\$([A-Za-z0-9\\^_{}()\[\]+\-=,./|*':;! ]{1,200}?)\$(?![0-9$])")
_UNSAFE_TEX = re.compile(
    r"\\(?:input|include|write|immediate|openout|openin|read|def|edef|gdef|xdef|let|"
    r"catcode|csname|expandafter|url|href|special|jobname|newcommand|renewcommand)(?![A-Za-z])",
    re.I,
)


def _balanced(text: str, escaped: bool = False) -> bool:
    """Whether the braces of ``text`` match: as TeX counts them (an escaped brace, ``\\{``, is
    none), or, ``escaped``, as BibTeX does (every brace counts)."""
    depth = 0
    for ch in text if escaped else text.replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


# An escaped brace of math (``\{``, ``\}``; not the ``\\`` line break before a brace):
# BibTeX counts it as a brace all the same, so math with an unmatched one (``\left\{ x
# \right.``, a piecewise definition) is written with ``\lbrace``/``\rbrace``, the same symbol.
_MATH_BRACE = re.compile(r"(?<!\\)((?:\\\\)*)\\([{}])")


def _bib_math(math: str) -> str | None:
    """Inline math as a BibTeX value may hold it (every brace, escaped or not, matched), or
    None when it cannot be."""
    if not _balanced(math):
        return None
    if not _balanced(math, escaped=True):
        math = _MATH_BRACE.sub(_math_brace, math)
    return math if _balanced(math, escaped=True) else None


def _math_brace(m: re.Match[str]) -> str:
    return m[1] + ("\\lbrace " if m[2] == "{" else "\\rbrace ")


def _encoder() -> Any:
    """pylatexenc's encoder, with braces written as macros: BibTeX counts every brace of a
    value, escaped or not, so ``\\}`` would end a field; ``{\\textbraceright}`` cannot."""
    from pylatexenc.latexencode import (
        RULE_DICT,
        UnicodeToLatexConversionRule,
        UnicodeToLatexEncoder,
    )

    braces = UnicodeToLatexConversionRule(
        RULE_DICT, {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright"}
    )
    return UnicodeToLatexEncoder(
        conversion_rules=[braces, "defaults"],
        unknown_char_policy="keep",
        unknown_char_warning=False,
        replacement_latex_protection="braces",
    )


def tex(text: str, encoder: Any = None) -> str:
    """Untrusted ``text`` as the LaTeX of a BibTeX field value: one line, every special
    character escaped (pylatexenc), accents as TeX; inline math of plain TeX (balanced
    braces, no macro that reads, writes or defines) kept as it is."""
    encoder = encoder or _encoder()
    line = clean_line(text)
    out: list[str] = []
    end = 0
    for m in _MATH.finditer(line):
        math = _bib_math(m.group(1))
        if math is None or _UNSAFE_TEX.search(math) or _MD_MATH_UNSAFE.search(math):
            continue
        out += [_text_tex(line[end : m.start()], encoder), f"${math}$"]
        end = m.end()
    out.append(_text_tex(line[end:], encoder))
    return "".join(out)


# Text-formatting commands as arXiv metadata writes them (`\textbf{Diff}-ES`): kept as the
# command, their plain argument escaped; escaped, they would print as the text "\textbf{…}".
_FORMAT = re.compile(r"\\(textbf|textit|emph|texttt|textsc|underline)\{([^{}\\$]{1,500})\}")


def _text_tex(text: str, encoder: Any) -> str:
    out: list[str] = []
    end = 0
    for m in _FORMAT.finditer(text):
        out += [encoder.unicode_to_latex(text[end : m.start()])]
        out.append(f"\\{m.group(1)}{{{encoder.unicode_to_latex(m.group(2))}}}")
        end = m.end()
    out.append(encoder.unicode_to_latex(text[end:]))
    return "".join(out)


def _bib_name(name: Name, encoder: Any) -> str:
    if name.literal:
        return "{" + tex(name.literal, encoder) + "}"
    family = " ".join(p for p in (name.particle, name.family) if p)
    parts = [tex(family, encoder)]
    if name.suffix:
        parts.append(tex(name.suffix, encoder))
    if name.given:
        parts.append(tex(name.given, encoder))
    return ", ".join(parts)


def _key_word(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", _ascii(text))
    return words[0].lower() if words else ""


_STOP = {"a", "an", "the", "on", "of", "for", "to", "in", "and", "towards", "with"}


def cite_key(paper: Paper) -> str:
    """A citation key in Google Scholar's style, ASCII letters and digits only:
    family name of the first author + year + first word of the title ("he2026diffusion");
    "paper" + the library id's letters when the paper gives none of them."""
    family = ""
    if paper.authors:
        name = split_name(paper.authors[0])
        family = _key_word(name.family or name.literal)
    year = cited_date(paper)[:4]
    year = year if year.isdigit() else ""
    words = _ascii(_MATH.sub(" ", paper.title))  # (no word of $\mathcal{O}(n)$: "o")
    title_words = [w for w in re.findall(r"[A-Za-z0-9]+", words) if w.lower() not in _STOP]
    first = title_words[0].lower() if title_words else ""
    if not family and not first:  # (a Chinese title and names: a year alone says nothing)
        return "paper" + re.sub(r"[^A-Za-z0-9]", "", paper.arxiv_id or paper.id or "x")
    return f"{family}{year}{first}"


# An arXiv id says the month the paper was submitted: 2511.09876, hep-th/9901001.
_ID_MONTH = re.compile(
    r"^(?:(\d{2})(\d{2})\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/(\d{2})(\d{2})\d{3})(?:v\d+)?$"
)


def cited_date(paper: Paper) -> str:
    """The date a citation gives (ISO, "2025-11" when only the month is known): the paper's
    date, else its feed's; for an arXiv paper, the month of its id when that date is not of
    that month or the one before (a paper may be dated the last day of the month before
    its id). A replacement's announcement is no date of the paper: 2511.09876 announced
    again on 9 June 2026 is cited as of November 2025, as arXiv's own BibTeX does."""
    when = paper.paper_date or paper.feed_date or ""
    m = _ID_MONTH.match(paper.arxiv_id or "")
    if not m:
        return when
    yy, mm = (int(g) for g in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
    year = 2000 + yy if m.group(1) or yy < 91 else 1900 + yy
    if not 1 <= mm <= 12:
        return when
    month = year * 12 + mm - 1
    try:
        dated = date.fromisoformat(when[:10])
    except ValueError:
        dated = None
    if dated is not None and month - 1 <= dated.year * 12 + dated.month - 1 <= month:
        return when
    return f"{year:04d}-{mm:02d}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def bibtex(items: Items, title: str = "", today: date | None = None) -> str:
    """The papers as BibTeX ``@misc`` entries (see the module's docstring); keys made
    unique with a, b, c… as BibTeX users expect."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    encoder = _encoder()
    library = bibtexparser.Library()
    used: dict[str, int] = {}
    for paper, state in items:
        key = cite_key(paper)
        n = used.get(key, 0)
        used[key] = n + 1
        if n:
            key += _letters(n)
        fields: list[tuple[str, str]] = [("title", tex(paper.display_title, encoder))]
        names = [split_name(a) for a in paper.authors if clean_line(a)]
        if names:
            listed = [_bib_name(n, encoder) for n in names]
            if cut_short(paper):
                listed.append("others")  # BibTeX's "et al.": the feed named only some
            fields.append(("author", " and ".join(listed)))
        elif paper.organization:
            fields.append(("author", "{" + tex(paper.organization, encoder) + "}"))
        when = cited_date(paper)
        if when[:4].isdigit():
            fields.append(("year", when[:4]))
            month = when[5:7]
            if month.isdigit() and 1 <= int(month) <= 12:
                fields.append(("month", _MONTHS[int(month) - 1]))
        if paper.arxiv_id:
            fields += [("eprint", tex(paper.arxiv_id, encoder)), ("archivePrefix", "arXiv")]
            if paper.categories:
                fields.append(("primaryClass", tex(paper.categories[0], encoder)))
        url = next((u for _, u in links_of(paper) if u.startswith(("https://", "http://"))), "")
        if url:
            fields.append(("url", _bib_url(url)))
        if paper.abstract:
            fields.append(("abstract", tex(paper.abstract, encoder)))
        keywords = bib_keywords(state.tags, encoder)
        if keywords:
            fields.append(("keywords", keywords))
        if state.note.strip():
            fields.append(("note", tex(state.note, encoder)))
        # The month is BibTeX's macro (``month = jun``, printed "June"; biber reads it as 6),
        # never a braced word (``{jun}`` prints "jun" and biber rejects it).
        library.add(
            Entry(
                "misc",
                key,
                [
                    Field(k, v, enclosing="no-enclosing" if k == "month" else None)
                    for k, v in fields
                    if v
                ],
            )
        )
    return bibtexparser.write_string(library)


def bib_keywords(tags: Iterable[str], encoder: Any = None) -> str:
    """Tags as the value of BibTeX's ``keywords``: LaTeX-encoded (`tex`), separated by
    ``", "``; a tag that holds a comma is enclosed in braces (``{ml, theory}, caching``), as
    biblatex and biber read a separated list: they split at the commas outside braces (btparse's
    ``split_list``), so the tag stays one keyword, and the braces print nothing."""
    encoder = encoder or _encoder()
    words = [tex(t, encoder) for t in tags]
    return ", ".join("{" + w + "}" if "," in w else w for w in words if w)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _bib_url(url: str) -> str:
    """A link as a BibTeX value: characters that could end the field or start a comment
    percent-encoded (a URL is written verbatim by ``\\url``)."""
    return re.sub(r"[{}\\%\s#&~^]", lambda m: f"%{ord(m.group()):02X}", clean_line(url))


def _letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


# --------------------------------------------------------------------------- CSL-JSON
# The last author of a list the feed cut short. CSL-JSON has no field for it; this is what
# pandoc writes for BibTeX's "and others", and its citeproc (jgm/citeproc 0.4, 2021, issue
# #61) renders a final literal "others" as the style's localized "et al." term.
ETAL = {"literal": "others"}


def _csl_name(name: Name) -> dict[str, str]:
    if name.literal:
        return {"literal": name.literal}
    out = {"family": name.family, "given": name.given}
    if name.particle:
        out["non-dropping-particle"] = name.particle
    if name.suffix:
        out["suffix"] = name.suffix
    return {k: v for k, v in out.items() if v}


def _date_parts(iso: str | None) -> list[int] | None:
    parts = (iso or "").split("-")[:3]
    try:
        numbers = [int(p) for p in parts if p]
    except ValueError:
        return None
    return numbers or None


def csl_json(items: Items, title: str = "", today: date | None = None) -> str:
    """The papers as a CSL-JSON array (see the module's docstring); ids are the BibTeX keys,
    so a document citing ``@he2026diffusion`` works with either file."""
    used: dict[str, int] = {}
    records = []
    for paper, state in items:
        key = cite_key(paper)
        n = used.get(key, 0)
        used[key] = n + 1
        if n:
            key += _letters(n)
        record: dict[str, Any] = {
            "id": key,
            "type": "article",
            "title": clean_line(paper.display_title),
        }
        names = [split_name(a) for a in paper.authors if clean_line(a)]
        if names:
            record["author"] = [_csl_name(n) for n in names]
            if cut_short(paper):  # (pandoc's citeproc prints it as the style's "et al.")
                record["author"].append(dict(ETAL))
        elif paper.organization:
            record["author"] = [{"literal": clean_line(paper.organization)}]
        issued = _date_parts(cited_date(paper))
        if issued:
            record["issued"] = {"date-parts": [issued]}
        if paper.arxiv_id:
            record.update(archive="arXiv", number=paper.arxiv_id, publisher="arXiv")
            record["DOI"] = f"10.48550/arXiv.{paper.arxiv_id}"
        url = next((u for _, u in links_of(paper) if u.startswith(("https://", "http://"))), "")
        if url:
            record["URL"] = clean_line(url)
        if paper.abstract:
            record["abstract"] = clean_line(paper.abstract)
        if paper.title_zh and paper.title:
            record["original-title"] = clean_line(paper.title_zh)
        keywords = [clean_line(t) for t in (*state.tags, *paper.categories)]
        if keywords:
            record["keyword"] = ", ".join(k for k in keywords if k)
        if state.note.strip():
            record["note"] = clean(state.note)  # (untrusted: no escapes reach pandoc or Zotero)
        records.append(record)
    return orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"


# --------------------------------------------------------------------------- the table
def _markdown(items: Items, title: str, today: date, chinese_first: bool = False) -> str:
    return export_markdown(items, title=title, today=today, chinese_first=chinese_first)


EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter(
            "markdown", ".md", "Markdown, grouped by tag, with notes", _markdown, languages=True
        ),
        Exporter("bibtex", ".bib", "BibTeX @misc entries (arXiv eprint fields)", bibtex),
        Exporter("csl-json", ".json", "CSL-JSON, for Zotero and pandoc", csl_json),
    )
}


def exporter_for(name: str | None, path: Path | None = None) -> Exporter:
    """The exporter named ``name``, else the one whose suffix ``path`` has, else Markdown.
    ValueError naming the formats when ``name`` is not one."""
    if name:
        found = EXPORTERS.get(name.lower())
        if found is None:
            raise ValueError(f"no export format {name!r}; there are {', '.join(EXPORTERS)}")
        return found
    if path is not None:
        for e in EXPORTERS.values():
            if path.suffix.lower() == e.suffix or (
                e.name == "bibtex" and path.suffix.lower() == ".bibtex"
            ):
                return e
    return EXPORTERS["markdown"]


def render(
    exporter: Exporter,
    items: Iterable[tuple[Paper, PaperState]],
    title: str,
    today: date | None = None,
    *,
    chinese_first: bool = False,
) -> str:
    """The file ``exporter`` makes of ``items``; ``chinese_first``: the reader reads Chinese
    first (the app's `L`), so a format written for reading (Markdown) adds each paper's
    Chinese summary, first."""
    if exporter.languages:
        return exporter.render(list(items), title, today or date.today(), chinese_first)
    return exporter.render(list(items), title, today or date.today())
