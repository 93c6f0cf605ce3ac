"""Text hygiene and normalisation shared by parsers, the library and the exporters.

`clean()` makes untrusted feed text safe to keep: it removes control characters and
bidirectional overrides so nothing from a feed can reach a terminal as an escape sequence.
`norm_key()` builds the comparison keys used to recognise the same paper in several feeds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# C0 controls except tab and newline, DEL, C1 controls.
_CONTROL = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\x7f"
_CONTROL += "".join(chr(c) for c in range(0x80, 0xA0))
# Bidirectional embeddings/overrides/isolates and marks that can reorder displayed text.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ESCAPE_SEQ = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL / ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC
    r"|\x1b[@-Z\\-_]"  # two-character sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_DELETE = str.maketrans({c: None for c in _CONTROL + _BIDI})


def clean(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides."""
    if not text:
        return ""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE_SEQ.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_DELETE)


def clean_line(text: str) -> str:
    """`clean()` and collapse all whitespace (newlines included) to single spaces."""
    return " ".join(clean(text).split())


def papers(count: int) -> str:
    """ "1 paper", "2 papers" (with thousands separators)."""
    return f"{count:,} paper" + ("" if count == 1 else "s")


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_ASCII_NON_WORD = bytes(c for c in range(128) if not chr(c).isalnum())


def normalise(text: str) -> str:
    """Comparison form of a title or abstract: case, whitespace, punctuation, LaTeX and
    accents folded.

    `1.54$\\times$ speedup` and `1.54times speedup` normalise to the same string, and so do
    `Schr\\"odinger`, `Schrödinger` and `Schrodinger` (TeX accents and Unicode ones).
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():  # the common case, done in C: keep only letters and digits
        return text.encode("ascii").translate(None, _ASCII_NON_WORD).decode("ascii")
    # Decomposed, an accent is a combining mark: \W, dropped with the punctuation (and the
    # backslash of \times).
    return _NON_WORD.sub("", unicodedata.normalize("NFKD", text))


def norm_key(text: str) -> str | None:
    """A short stable hash of `normalise(text)`, or None when nothing is left."""
    n = normalise(text)
    if not n:
        return None
    return hashlib.sha1(n.encode("utf-8")).hexdigest()[:16]


_ARXIV_ID = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
_ARXIV_VERSION = re.compile(r"(?:(?<![\d.])\d{4}\.\d{4,5}|\b[a-z\-]+(?:\.[A-Z]{2})?/\d{7})v(\d+)\b")
_OLD_ARXIV_ID = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\b")


def arxiv_id(text: str | None) -> str | None:
    """The arXiv id in `text` (an id, an abs/pdf URL, an OAI guid) without its version."""
    if not text:
        return None
    m = _ARXIV_ID.search(text)
    if m:
        return m.group(1)
    m = _OLD_ARXIV_ID.search(text)
    return m.group(1) if m else None


def arxiv_version(text: str | None) -> int | None:
    """The version N of the first ``<arXiv id>vN`` in ``text`` (``2312.01234v2`` → 2), or None
    when the text names no version."""
    m = _ARXIV_VERSION.search(text or "")
    return int(m.group(1)) if m else None
