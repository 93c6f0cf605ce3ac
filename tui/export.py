"""Markdown export of a reading list (the CLI's `export` and the app's `x` share it).

Feed text, tags, notes and the document title are untrusted: every piece of it is cleaned of
terminal escapes and control characters. Feed text, tags and the title are escaped so a
CommonMark renderer shows them as the characters they are (`*bold* | <script>` stays
literal); link targets are limited to http(s) and percent-encoded. A note is quoted under its
paper line by line: it is the user's Markdown, so its inline Markdown renders (emphasis,
code, strike-through, math), but nothing of it can make a block of the document, a link, an
image or HTML (`md_note_line`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from datetime import date

from .feeds.authors import is_group
from .models import Paper, PaperState, badge
from .tags import hash_tag
from .text import clean, clean_line

# Every ASCII punctuation character may be backslash-escaped in CommonMark. These can open or
# close an inline construct anywhere in running text (plus `|` for tables, `$` for math);
# the block markers (`-`, `+`, `=`, `1.`) only matter at the start of a line.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!&|~$#])")
_MD_LINE_START = re.compile(r"^(\d*)([+\-=]|(?<=\d)[.)])")
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"


def md_escape(text: str) -> str:
    """Untrusted text as one line of literal Markdown (a paragraph, heading or list item).

    Terminal escapes and control characters are removed (`tui.text.clean`), whitespace runs
    and newlines become one space, and every character that could start Markdown is escaped.
    """
    escaped = _MD_INLINE.sub(r"\\\1", clean_line(text))
    return _MD_LINE_START.sub(r"\1\\\2", escaped)


# Inline math kept as math in an export (GitHub and Obsidian render `$…$`): written tight, of
# plain TeX characters only; a segment with anything else, or with a macro that makes links or
# HTML, is escaped as text like the rest. TeX formatting outside math is dropped to its text.
_MD_MATH = re.compile(
    r"(?<![\\$])\$(?P<math>[A-Za-z0-9\\^_{}()\[\]+\-=,./|*':;! ]{1,200}?)\$(?![0-9$])"
)
# (and what makes a link where math is not typeset: `$[x](https://…)$` is a CommonMark link)
_MD_MATH_UNSAFE = re.compile(
    r"\\(?:href|url|html|class|style|cssId|unicode|require|data)|\]\s*[(\[]|://", re.I
)
_TEX_FORMAT = re.compile(
    r"\\(?:textbf|textit|emph|texttt|textrm|textsc|underline)\{([^{}$]{0,200})\}"
    r"|\\([%&_#$])"
)


def md_text(text: str) -> str:
    """`md_escape`, but inline math (``$O(N^2)$``) kept as math and TeX formatting
    (``\\textbf{Diff}``, ``\\%``) reduced to its text: for titles and abstracts."""
    if "$" not in text and "\\" not in text:
        return md_escape(text)
    text = clean_line(text)
    out: list[str] = []
    end = 0
    for m in _MD_MATH.finditer(text):
        math = m.group("math")
        if math != math.strip() or _MD_MATH_UNSAFE.search(math):
            continue
        out.append(_md_plain(text[end : m.start()]))
        out.append(f"${math}$")
        end = m.end()
    out.append(_md_plain(text[end:]))
    return _MD_LINE_START.sub(r"\1\\\2", "".join(out))


def _md_plain(text: str) -> str:
    text = _TEX_FORMAT.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    return _MD_INLINE.sub(r"\\\1", text)


# In a note, the Markdown of running text stays Markdown: emphasis (`*`, `_`), strike-through
# (`~~`), code spans and inline math; every character that could make a link, an image, HTML,
# a table or a block of the document's (a heading, a list item, a quote, a fence, a rule, a
# link definition) is escaped. A backslash escape the user wrote stays one.
_NOTE_PLAIN = re.compile(r"([\\`\[\]<>!&|$#])")
_NOTE_TOKEN = re.compile(
    r"(?P<escape>\\[!-/:-@\[-`{-~])"  # a backslash escape: already literal
    r"|(?P<ticks>`+)"  # a code span's opening run (kept only with its closing run)
    r"|(?P<math>" + _MD_MATH.pattern.replace("(?P<math>", "(?:") + ")"
)
_NOTE_RULE = re.compile(r"^([*_])(?:\s*\1){2,}\s*$")  # (`***`, `_ _ _`: a thematic break)


def md_note_line(line: str) -> str:
    """One line of the user's note (already cleaned, no newline) as Markdown that renders
    its inline Markdown (``*emphasis*``, ``**strong**``, ``~~struck~~``, `` `code` ``,
    ``$x^2$``) and nothing else: no link, image, HTML or table, and no block of its own (a
    ``# heading``, ``- item``, ``1. item``, ``> quote``, fence or rule shows as typed)."""
    out: list[str] = []
    at = 0
    while at < len(line):
        m = _NOTE_TOKEN.search(line, at)
        if m is None:
            break
        out.append(_NOTE_PLAIN.sub(r"\\\1", line[at : m.start()]))
        if m.group("escape"):
            out.append(m.group())
            at = m.end()
        elif m.group("ticks"):
            run = m.group()
            close = re.compile(rf"(?<!`){run}(?!`)").search(line, m.end())
            if close is None:  # (a lone run: literal backticks)
                out.append("\\`" * len(run))
                at = m.end()
            else:  # (a code span: CommonMark shows its text as it is)
                out.append(line[m.start() : close.end()])
                at = close.end()
        else:
            math = m.group()[1:-1]
            if math != math.strip() or _MD_MATH_UNSAFE.search(math):
                out.append("\\$")
                at = m.start() + 1
            else:
                out.append(m.group())
                at = m.end()
    out.append(_NOTE_PLAIN.sub(r"\\\1", line[at:]))
    text = _MD_LINE_START.sub(r"\1\\\2", "".join(out))
    if _NOTE_RULE.match(text) or re.match(r"\*[ \t]|\*$|~~~", text):
        text = "\\" + text  # (a list item, a rule or a fence of tildes)
    return text


def md_quote(text: str) -> list[str]:
    """A note as the lines of a Markdown block quote, line by line: its inline Markdown
    rendered (`md_note_line`), nothing of it able to leave the quote or make a link.

    Each line ends in a hard line break, so the lines stay lines; a blank line separates
    paragraphs. Returns ``[]`` for a note with nothing in it.
    """
    lines = [line.strip() for line in clean(text).strip().split("\n")]
    out: list[str] = []
    for n, line in enumerate(lines):
        if not line:
            out.append(">")
            continue
        more = n + 1 < len(lines) and lines[n + 1]
        out.append(f"> {md_note_line(line)}" + ("\\" if more else ""))
    return out if any(lines) else []


def md_url(url: str) -> str | None:
    """A URL safe to put in a link destination, or None if it is not http(s)."""
    url = url.strip()
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return urllib.parse.quote(url, safe=_URL_SAFE).replace("(", "%28").replace(")", "%29")


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A sentence ends at . ! ? followed by a space and a capital, a digit or an opening mark;
# not after these abbreviations, nor after one capital letter (an initial: "A. Smith").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[$\"'“])")
_ABBREVIATIONS = frozenset(
    "e.g. i.e. al. etc. vs. cf. fig. figs. eq. eqs. sec. no. approx. resp. ref. refs.".split()
)
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？])")


def _chinese(text: str) -> bool:
    """Whether ``text`` is mostly Chinese (the arXivDaily AI总结 is; Hugging Face's is not)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(bool(_CJK.match(ch)) for ch in letters) * 3 >= len(letters)


def first_sentences(text: str, count: int = 2) -> str:
    """The first ``count`` sentences of an English ``text`` (one line; all of it when it is
    shorter). Abbreviations (e.g., et al., Fig.), initials and decimals end no sentence."""
    text = " ".join(text.split())
    found = 0
    for m in _SENTENCE_END.finditer(text):
        words = text[: m.start()].rsplit(" ", 1)
        last = words[-1].lower()
        if last in _ABBREVIATIONS or re.fullmatch(r"[A-Za-z]\.", last):
            continue
        found += 1
        if found == count:
            return text[: m.start()]
    return text


def first_sentences_zh(text: str, count: int = 2) -> str:
    """The first ``count`` sentences of a Chinese ``text`` (ended by 。！？)."""
    parts = [p for p in _ZH_SENTENCE_END.split(" ".join(text.split())) if p]
    return "".join(parts[:count])


def english_summary(paper: Paper) -> str:
    """The paper's English summary in one paragraph: its AI summary when that is English
    (Hugging Face's), else the first two sentences of its abstract ("" when it has neither)."""
    if paper.ai_summary and not _chinese(paper.ai_summary):
        return paper.ai_summary
    return first_sentences(paper.abstract)


def chinese_summary(paper: Paper) -> str:
    """The paper's Chinese summary: the digest's 核心贡献, else a Chinese AI summary
    (arXivDaily's AI总结), else the first two sentences of the Chinese abstract, else ""."""
    if paper.contribution_zh:
        return paper.contribution_zh
    if paper.ai_summary and _chinese(paper.ai_summary):
        return paper.ai_summary
    return first_sentences_zh(paper.abstract_zh)


def summaries_of(paper: Paper, chinese_first: bool = False) -> list[str]:
    """The summary an export shows for every paper, as paragraphs: the English summary
    (`english_summary`); with ``chinese_first`` (the reader reads Chinese first), the
    Chinese one (`chinese_summary`) before it. A paper without an English summary shows its
    Chinese one either way."""
    en, zh = english_summary(paper), chinese_summary(paper)
    if chinese_first:
        return [t for t in (zh, en) if t]
    return [en] if en else [zh] if zh else []


def summary_of(paper: Paper) -> str:
    """The one-paragraph summary (English; see `summaries_of`)."""
    return (summaries_of(paper) or [""])[0]


def authors_line(paper: Paper, shown: int = 8) -> str:
    """Authors with "+N more" from the stated author count (which counts people: a
    collaboration named among the authors is a group, not one of them)."""
    names = paper.authors[:shown]
    people = sum(not is_group(n) for n in paper.authors)
    total = max(paper.author_count or 0, people)
    text = ", ".join(names)
    people_shown = sum(not is_group(n) for n in names)
    if total > people_shown:
        more = total - people_shown
        text = f"{text} +{more} more" if text else f"{total} authors"
    return text or paper.organization


def links_of(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) for every link the paper has, arXiv links derived from its id."""
    abs_url = paper.abs_url or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else "")
    pdf_url = paper.pdf_url or (f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id else "")
    hf_url = paper.hf_url or (
        f"https://huggingface.co/papers/{paper.arxiv_id}"
        if paper.arxiv_id and any(s.format.startswith("hf") for s in paper.sources)
        else ""
    )
    pairs = [
        ("arXiv", abs_url),
        ("PDF", pdf_url),
        ("Hugging Face", hf_url),
        ("Code", paper.code_url),
    ]
    found = [(label, url) for label, url in pairs if url]
    known = {url.rstrip("/") for _, url in found}
    for url in _TEXT_URL.findall(f"{paper.comments} {paper.abstract}"):
        url = url.rstrip(".,;:)]}'\"")
        try:
            host = urllib.parse.urlsplit(url).hostname
        except ValueError:  # ("http://[x": not an address; feed text is anything)
            continue
        if host and url.rstrip("/") not in known:  # (a page named in the comments or abstract)
            known.add(url.rstrip("/"))
            found.append((host, url))
    return found


_TEXT_URL = re.compile(r"https?://[^\s<>\"'`]{3,300}")


def seen_in(paper: Paper) -> list[str]:
    """Where a paper was seen: "HF (2026-06-19)" once per source badge and feed date."""
    labels = [
        f"{badge(s.format)} ({s.feed_date})" if s.feed_date else badge(s.format)
        for s in paper.sources
    ]
    return list(dict.fromkeys(labels))


def md_tags(tags: Iterable[str]) -> str:
    """Tags on one line of Markdown, as papertui shows them everywhere (`hash_tag`: ``#x``,
    ``#"to read"``, ``#"ml, theory"``), comma-separated, each cleaned and escaped (`md_escape`)."""
    return ", ".join(md_escape(hash_tag(t)) for t in tags)


def paper_markdown(
    paper: Paper,
    state: PaperState,
    level: int = 3,
    *,
    group: str | None = None,
    chinese_first: bool = False,
) -> str:
    """One paper as a Markdown block. Under the heading of its tag ``group``, its other tags
    are an "Also in" line (it is listed once, under its first tag); else a "Tags" line.
    The summary is `summaries_of`'s, one paragraph each."""
    lines = [f"{'#' * level} {md_text(paper.display_title)}"]
    if paper.title and paper.title_zh:
        lines += ["", f"*{md_escape(paper.title_zh)}*"]
    lines.append("")
    authors = authors_line(paper)
    if authors:
        lines.append(f"- **Authors:** {md_escape(authors)}")
    links = [(label, md_url(url)) for label, url in links_of(paper)]
    links_md = " · ".join(f"[{label}]({url})" for label, url in links if url)
    if links_md:
        lines.append(f"- **Links:** {links_md}")
    if group is not None:
        others = [t for t in state.tags if t != group]
        if others:
            lines.append(f"- **Also in:** {md_tags(others)}")
    elif state.tags:
        lines.append(f"- **Tags:** {md_tags(state.tags)}")
    seen = ", ".join(md_escape(label) for label in seen_in(paper))
    if seen:
        lines.append(f"- **Seen in:** {seen}")
    for summary in summaries_of(paper, chinese_first):
        lines += ["", md_text(summary)]
    note = md_quote(state.note)
    if note:
        lines += ["", *note]
    return "\n".join(lines) + "\n"


def export_markdown(
    items: Iterable[tuple[Paper, PaperState]],
    title: str = "Reading list",
    today: date | None = None,
    *,
    chinese_first: bool = False,
) -> str:
    """The reading list grouped by each paper's first tag (untagged papers last): each paper
    once, under its first tag, its other tags on an "Also in" line; each with the same kind
    of summary (`summaries_of`: Chinese first, added, with ``chinese_first``)."""
    items = list(items)
    groups: dict[str, list[tuple[Paper, PaperState]]] = {}
    for paper, state in items:
        groups.setdefault(state.tags[0] if state.tags else "", []).append((paper, state))
    order = sorted((g for g in groups if g), key=str.casefold) + ([""] if "" in groups else [])
    when = (today or date.today()).isoformat()
    count = f"{len(items)} paper{'s' if len(items) != 1 else ''}"
    out = [f"# {md_escape(title)} — {when}", "", f"{count}, grouped by tag.", ""]
    for group in order:
        out += [f"## {md_escape(group) if group else 'Untagged'}", ""]
        for paper, state in groups[group]:
            block = paper_markdown(paper, state, group=group, chinese_first=chinese_first)
            out += [block, ""]
    return "\n".join(out).rstrip() + "\n"


def paper_line(paper: Paper) -> str:
    """One paper as a single Markdown line: title, authors, link (the app's `y`)."""
    links = [md_url(url) for _, url in links_of(paper)]
    link = next((u for u in links if u), None)
    title = md_text(paper.display_title)
    head = f"[{title}]({link})" if link else title
    authors = authors_line(paper, shown=3)
    return f"{head} — {md_escape(authors)}" if authors else head
