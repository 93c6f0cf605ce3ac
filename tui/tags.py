"""The one tag syntax of papertui, for the tag editor (`t`) and `papertui tag` alike.

A tag is any single line of text without control characters: ``diffusion``, ``to-read``,
``cs.CV``, ``tokyo 2026`` are tags. Surrounding spaces and the leading ``#`` with which papertui
shows a tag are not part of it (``#diffusion`` is the tag ``diffusion``).

Tags are written as a list (in the editor, and as the value of ``--add`` / ``--remove``):
separated by commas or spaces. A tag that holds a space, a comma or a quote, or that starts with
``#``, is written in double quotes, a quote inside doubled: ``diffusion, "tokyo 2026"``,
``"a ""quoted"" word"``. Quoted text is taken literally.

`format_tags` writes a list so that `parse_tags` reads the same list back; `edit` turns the
editor's text into additions and removals against what it showed, so tags the editor shows
unchanged are kept exactly as stored, even ones no longer valid (written by an older version or
another tool). Nothing here imports Textual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .text import clean_line

__all__ = [
    "TagError",
    "TagEdit",
    "check_tag",
    "edit",
    "format_tags",
    "hash_tag",
    "hash_tags",
    "parse_tags",
    "tokens",
    "visible",
]

_SEPARATORS = re.compile(r"[,\s]+")
_BARE = re.compile(r'[^,\s"][^,\s]*')  # a word; quotes inside it are literal
# Bidirectional embeddings, overrides, isolates and marks: they reorder the text around them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class TagError(ValueError):
    """A tag or a list of tags that is not valid; ``str()`` is a one-line message for people."""


@dataclass(frozen=True)
class TagEdit:
    """What an edit of a tag list does: tags to add (new, valid) and tags to remove (as stored)."""

    add: list[str]
    remove: list[str]

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def visible(text: str) -> str:
    """``text`` with every control or bidi character written as an escape (``\\x1b``), for
    error messages: what the user typed is shown, never acted on by the terminal."""
    out = []
    for ch in text:
        if _is_control(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in _BIDI or ch in "\u2028\u2029"


def check_tag(text: str) -> str:
    """The tag ``text`` stands for (surrounding spaces and leading ``#`` removed).

    Raises TagError when nothing is left or when it holds a control character (a tab or a
    newline included) or a bidirectional override.
    """
    _refuse_controls(text)
    tag = unicodedata.normalize("NFC", text.strip().lstrip("#").strip())
    if not tag:
        raise TagError(f'"{text}" is not a tag: a tag needs at least one character besides #')
    _refuse_invisible(tag)
    return tag


def _refuse_invisible(tag: str) -> None:
    """A tag must show: one made only of invisible characters (U+200B, U+3164 …) is refused."""
    if all(
        unicodedata.category(ch) in ("Cf", "Zs", "Mn") or ch in "\u3164\u115f\u1160" for ch in tag
    ):
        raise TagError(f'tag "{visible(tag)}": nothing in it shows (only invisible characters)')


def _refuse_controls(text: str) -> None:
    for ch in text:
        if _is_control(ch):
            raise TagError(
                f'tag "{visible(text)}": control character U+{ord(ch):04X} '
                "(a tag is one line of plain text)"
            )


def tokens(text: str) -> list[tuple[str, bool]]:
    """The items of a tag list as written: ``(text, quoted)`` each, unchecked.

    Raises TagError for a quote that is never closed.
    """
    items, open_at = _scan(text)
    if open_at is not None:
        raise TagError(f"a quote opened at character {open_at + 1} is never closed")
    return items


def _scan(text: str) -> tuple[list[tuple[str, bool]], int | None]:
    """The items of ``text``; the last one may be a quote left open (then its position)."""
    items: list[tuple[str, bool]] = []
    pos, end = 0, len(text)
    while True:
        sep = _SEPARATORS.match(text, pos)
        if sep:
            pos = sep.end()
        if pos >= end:
            return items, None
        if text[pos] == '"':
            start, parts = pos, []
            pos += 1
            while True:
                close = text.find('"', pos)
                if close < 0:
                    parts.append(text[pos:])
                    items.append(("".join(parts), True))
                    return items, start
                parts.append(text[pos:close])
                if text.startswith('"', close + 1):  # "" is a quote inside a quoted tag
                    parts.append('"')
                    pos = close + 2
                    continue
                pos = close + 1
                break
            items.append(("".join(parts), True))
            continue
        word = _BARE.match(text, pos)
        assert word is not None  # pos is neither a separator nor a quote
        items.append((word.group(), False))
        pos = word.end()


def parse_tags(text: str) -> list[str]:
    """The tags of a tag list as written (see the module's docstring), each once, in order.

    Raises TagError naming the first item that is not a valid tag.
    """
    tags = []
    for value, quoted in tokens(text):
        tag = _checked(value, quoted)
        if tag not in tags:
            tags.append(tag)
    return tags


def _checked(value: str, quoted: bool) -> str:
    if quoted:  # literal, but never blank, never a control character
        _refuse_controls(value)
        if not value.strip():
            raise TagError(f'"{value}" is not a tag: a tag needs at least one character')
        value = unicodedata.normalize("NFC", value)  # café typed either way is one tag
        _refuse_invisible(value)
        return value
    return check_tag(value)


def _needs_quotes(tag: str) -> bool:
    return not tag or tag.startswith("#") or '"' in tag or bool(re.search(r"[,\s]", tag))


def format_tag(tag: str) -> str:
    """One tag as the editor shows it: bare when it reads back unchanged, else quoted.

    Control characters (only in tags stored by an older version or another tool) are not
    shown: the editor shows `clean_line` of the tag.
    """
    shown = clean_line(tag) if any(_is_control(ch) for ch in tag) else tag
    if shown == tag and not _needs_quotes(tag):
        return tag
    return '"' + shown.replace('"', '""') + '"'


def hash_tag(tag: str) -> str:
    """One tag as papertui lists it (the list's rows, the detail, messages, `papertui list`):
    ``#diffusion``, and in quotes when it holds a space, a comma or a quote or starts with
    ``#`` (``#"to read"``, not ``#to read``, which reads as the tag ``to`` and a word), as the
    tag editor writes it and as a search names it (``tag:"to read"``). Not cleaned for the
    screen: the caller does (`screen_text`, `clean_line`)."""
    return "#" + format_tag(tag)


def hash_tags(tags: Iterable[str], sign: str = "") -> str:
    """Tags as papertui lists them (`hash_tag`), space-separated, each after ``sign``
    ("+", "-" for a change)."""
    return " ".join(sign + hash_tag(t) for t in tags)


def format_tags(tags: Iterable[str]) -> str:
    """A list of tags as the editor shows it (``", "``-separated; see `format_tag`).

    For every list of valid tags, ``parse_tags(format_tags(tags)) == list(tags)`` (when the
    tags are distinct)."""
    return ", ".join(format_tag(t) for t in tags)


def _shown_value(tag: str) -> str:
    """What `tokens` reads back from `format_tag` of ``tag``."""
    ((value, _quoted_),) = tokens(format_tag(tag))
    return value


def edit(shown: Sequence[str], text: str) -> TagEdit:
    """The change the user made by turning the editor's text from ``format_tags(shown)`` into
    ``text``: the tags of ``shown`` still written in ``text`` are kept as stored (whatever
    they hold), the others removed; the items of ``text`` that are none of them are added,
    once each, after `check_tag`.

    Raises TagError (nothing is changed) for an item that is not a valid tag.
    """
    by_shown: dict[str, list[str]] = {}
    for tag in shown:
        by_shown.setdefault(_shown_value(tag), []).append(tag)
    kept: set[str] = set()
    add: list[str] = []
    for value, quoted in tokens(text):
        if value in by_shown:
            kept.update(by_shown[value])
            continue
        tag = _checked(value, quoted)
        if tag in by_shown:  # `#x` or ` x` for the shown tag `x`
            kept.update(by_shown[tag])
        elif tag not in add and tag not in shown:
            add.append(tag)
    remove = [t for t in dict.fromkeys(shown) if t not in kept]
    return TagEdit(add=add, remove=remove)


def last_item(text: str) -> tuple[str, bool] | None:
    """The item being typed at the end of ``text``, for completion: what it holds so far
    (without a leading ``#`` or the opening quote) and whether it is in an open quote; None
    after a separator or a closed quote."""
    items, open_at = _scan(text)
    if open_at is not None:
        return items[-1][0], True
    if not items or text[-1] == '"' or _SEPARATORS.fullmatch(text[-1]):
        return None
    return items[-1][0].lstrip("#"), False
