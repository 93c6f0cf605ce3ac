"""Text hygiene and normalisation shared by parsers, the library and the exporters.

`clean()` makes untrusted feed text safe to keep: it removes control characters and
bidirectional overrides so nothing from a feed can reach a terminal as an escape sequence, and
makes it valid Unicode (`valid_unicode()`), so the store (orjson, UTF-8) can always write it.
`norm_key()` builds the comparison keys used to recognise the same paper in several feeds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls.
_CONTROL = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\x7f"
_CONTROL += "".join(chr(c) for c in range(0x80, 0xA0))
# Bidirectional embeddings/overrides/isolates and marks that can reorder displayed text.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# The escape sequences whose characters after ESC are parameters, not text: a CSI (the
# colours of pasted terminal output, ``ESC [ 31 m``), and an OSC, DCS, SOS, PM or APC string
# with its terminator (BEL or ST). Removed whole. Any other ESC (``ESC S``, ``ESC c``,
# ``ESC ( 0``, a string never terminated) is removed alone, with the other controls: what
# follows it is the feed's text ("&#x1b;Sigma" reads "Sigma"), and without the ESC no
# terminal takes it as a command.
_ESCAPE_SEQ = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x9c|\x1b\\)"  # OSC ... BEL / ST
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI (7- and 8-bit)
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x9c|\x1b\\)"  # DCS/SOS/PM/APC
)
_DELETE = str.maketrans({c: None for c in _CONTROL + _BIDI})
# The ASCII characters `clean` removes or changes (carriage return too).
_ASCII_UNCLEAN = bytes(c for c in range(0x20) if c not in (0x09, 0x0A)) + b"\x7f"


def valid_unicode(text: str) -> str:
    """``text`` as valid Unicode: UTF-16 surrogate code points, which no UTF-8 writer accepts,
    are joined where a high one is followed by a low one (the character the pair encodes, as
    CESU-8 bytes or ``&#55357;&#56832;`` give them) and replaced by U+FFFD where alone (a JSON
    ``\\ud83d`` escape cut from its pair, an undecodable byte kept by ``surrogateescape``)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # (fails only on a surrogate: 7x faster than searching for one)
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


_C1_INTRODUCER = re.compile("[\x90\x98\x9b\x9d\x9e\x9f]")
# Every character `printable()` shows as an escape: controls (newline and tab too), DEL, C1,
# the bidi controls, and the line/paragraph separators that break a line like a newline.
# (and lone surrogates: the bytes of a file name that is not UTF-8, which no terminal takes)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029\ud800-\udfff]")
# The same but JSON's whitespace (tab, newline, carriage return), which a JSON encoder already
# escapes inside strings and uses raw only between tokens.
_JSON_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]")
_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def clean(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides; valid Unicode
    (see `valid_unicode`)."""
    if not text:
        return ""
    if _is_clean(text):  # (most feed text: nothing to remove, checked in C)
        return text
    text = valid_unicode(text)
    if "\x1b" in text or (not text.isascii() and _C1_INTRODUCER.search(text)):
        text = _ESCAPE_SEQ.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_DELETE)


def _is_clean(text: str) -> bool:
    """Whether `clean` would leave ``text`` as it is. A printable string holds no control,
    bidi control, surrogate or carriage return (all are Unicode categories C*), and `clean`
    removes or changes nothing else; ASCII is checked faster by deleting its controls."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_UNCLEAN)) == len(text)
    return text.isprintable()


def clean_line(text: str) -> str:
    """`clean()` and collapse all whitespace (newlines included) to single spaces."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        # (printable: no control and no whitespace but the space: already one clean line)
        return text
    return " ".join(clean(text).split())


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def has_controls(text: str) -> bool:
    """Whether ``text`` holds anything `printable` would escape (a control character, a bidi
    control, a byte that was not UTF-8): never to be drawn as it is."""
    return bool(_UNSAFE.search(text))


def printable(text: str) -> str:
    """``text`` on one line with every control character shown as a visible escape.

    For names the user must recognise (file names, paths, the arguments of an error): nothing
    is removed, so ``$'evil\\x1bc.txt'`` is shown as ``evil\\x1bc.txt`` and a newline as
    ``\\n``. Content (titles, tags, notes) goes through `clean()` instead. Escaped are C0
    controls (tab and newline included), DEL, C1 controls, bidi controls, U+2028 and U+2029.
    """
    return _UNSAFE.sub(_escape, text) if text else ""


def json_safe(document: str) -> str:
    """A JSON document with the characters JSON may leave raw but a terminal acts on escaped.

    JSON requires only U+0000–U+001F to be escaped inside strings; DEL, the C1 controls
    (U+009B is a CSI), bidi controls and U+2028/U+2029 are written as ``\\uXXXX`` here. Those
    characters can only occur inside strings, so the document decodes to the same data.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def ellipsize(text: str, cells: int) -> str:
    """``text`` cut to at most ``cells`` terminal cells, ending in "…" where it was cut (a
    wide character, Chinese, counts two cells: `rich.cells.cell_len`); "" when ``cells`` < 1."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= cells:
        return text
    if cells < 1:
        return ""
    # (a wide character that would straddle the cut is padded by a space: dropped)
    return set_cell_size(text, cells - 1).rstrip() + "…"


def papers(count: int) -> str:
    """ "1 paper", "2 papers" (with thousands separators)."""
    return f"{count:,} paper" + ("" if count == 1 else "s")


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_ASCII_NON_WORD = bytes(c for c in range(128) if not chr(c).isalnum())
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def normalise(text: str) -> str:
    """Comparison form of a title or abstract: case, whitespace, punctuation, LaTeX and
    accents folded.

    `1.54$\\times$ speedup` and `1.54times speedup` normalise to the same string, and so do
    `Schr\\"odinger`, `Schrödinger` and `Schrodinger` (TeX accents and Unicode ones).
    """
    if text.isascii():  # the common case, in one pass in C: ASCII is NFKC already, and
        # keeping only the letters (lowercased) and digits is one bytes.translate
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_NON_WORD).decode("ascii")
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():  # (compatibility forms of ASCII: "ﬁ", fullwidth letters)
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
# The archives of arXiv's identifiers before April 2007 (``hep-th/9901001``, ``math.AG/0601001``):
# any word before a slash and seven digits (a blog's ``/post/1234567``, PubMed's
# ``.gov/3812345``) is no arXiv id, and two such links were one paper.
_OLD_ARCHIVES = (
    "acc-phys|adap-org|alg-geom|ao-sci|astro-ph|atom-ph|bayes-an|chao-dyn|chem-ph|cmp-lg|"
    "comp-gas|cond-mat|cs|dg-ga|funct-an|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math|math-ph|"
    "mtrl-th|nlin|nucl-ex|nucl-th|patt-sol|physics|plasm-ph|q-alg|q-bio|q-fin|quant-ph|"
    "solv-int|stat|supr-con"
)
_OLD_ID = rf"(?<![\w.-])(?:{_OLD_ARCHIVES})(?:\.[A-Z]{{2}})?/\d{{7}}"
_ARXIV_VERSION = re.compile(rf"(?:(?<![\d.])\d{{4}}\.\d{{4,5}}|{_OLD_ID})v(\d+)\b")
_OLD_ARXIV_ID = re.compile(rf"({_OLD_ID})(?:v\d+)?\b")


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


# TeX accents and letters as arXiv metadata writes them (`M\\"uller`, `{\\'E}cole`, `\\v{S}koda`,
# `Bj{\\o}rn`): each occurrence is turned into Unicode by pylatexenc. Only these pieces are
# converted, never the whole text: `%` starts a TeX comment, and "50% of" would lose the rest.
# Symbol accents take a bare letter (`\\"u`); letter accents only a braced one (`\\c{c}`), so
# that `\\cite` or a path such as `C:\\temp` is left alone.
# (TeX eats the space after a control word: `\\"\\i ve` is "ïve", as `\\"\\i{}ve` is)
_TEX_LETTER = r"(?:\\[ij](?![A-Za-z])(?:\{\}|\s(?=[A-Za-z]))?|[A-Za-z])"
_TEX_PIECE = (
    rf"\\['\"`^~=.]\s*(?:\{{\s*{_TEX_LETTER}\s*\}}|{_TEX_LETTER})"
    rf"|\\[uvHckrdbG]\s*\{{\s*{_TEX_LETTER}\s*\}}"
    r"|\\(?:ss|ae|AE|oe|OE|aa|AA|o|O|l|L)(?![A-Za-z])(?:\{\}|\s(?=[A-Za-z]))?"
)
# (``\\\\``, TeX's line break, is matched first and kept: its second backslash never starts
# an accent with what follows)
_TEX_ACCENT = re.compile(rf"\\\\|\{{\s*(?:{_TEX_PIECE})\s*\}}|{_TEX_PIECE}")


def tex_accents(text: str) -> str:
    """``text`` with its TeX accents and special letters in Unicode (``Schr\\"odinger`` →
    Schrödinger, ``\\L{}ukasz`` → Łukasz), converted by pylatexenc's latex2text; everything
    else (math, ``%``, other commands) left as it is."""
    if "\\" not in text:
        return text
    if not any(m.group() != "\\\\" for m in _TEX_ACCENT.finditer(text)):
        return text
    convert = _latex2text("accents")

    def one(m: re.Match[str]) -> str:
        if m.group() == "\\\\":
            return m.group()
        return convert(m.group()).strip() or m.group()

    return _TEX_ACCENT.sub(one, text)


_CONVERTERS: dict[str, Any] = {}


def _latex2text(kind: str) -> Any:
    """pylatexenc's converter's `latex_to_text`, made once (making one builds its tables of
    macros: milliseconds each time): "accents" for text, "math" for math as text."""
    convert = _CONVERTERS.get(kind)
    if convert is None:
        import logging

        from pylatexenc.latex2text import LatexNodes2Text

        # Its complaints about the TeX it is given (`$\\frac{a}$`: "WARNING: Error in
        # configuration: macro '\\frac' failed its substitution!") are about feed text, and
        # went to the standard error of `papertui list`, over the screen of the app.
        quiet = logging.getLogger("pylatexenc")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False

        nodes = LatexNodes2Text(math_mode="text") if kind == "math" else LatexNodes2Text()
        convert = _CONVERTERS[kind] = nodes.latex_to_text
    return convert


# Inline TeX in titles and abstracts, made readable for the screen (the stored text keeps it:
# a Markdown export keeps `$…$`, which GitHub and Obsidian render). Only math between `$`s, a
# few text-formatting macros and escaped specials are converted (by pylatexenc); the rest of
# the text is left as written ("50% of", `\\cite`, paths).
_TEX_DISPLAY = re.compile(
    r"\$\$(?P<block>[^$]{1,400})\$\$"
    # (inline math is written tight, `$O(N^2)$`; "$5 and $10" is money: not converted)
    r"|(?<![\\$])\$(?P<math>[^$\s](?:[^$\n]{0,198}?[^$\s\\])?)\$(?![0-9])"
    r"|\\(?P<macro>textbf|textit|emph|texttt|textrm|textsc|underline|mathrm|mathbf)\{(?P<arg>[^{}$]{0,2000})\}"
    r"|\\(?P<special>[%&_#$])"
)
_SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SCRIPT = re.compile(r"([\^_])(?:\{([0-9+\-=()n]{1,6})\}|([0-9n]))")


def readable_tex(text: str) -> str:
    """``text`` with its inline TeX as readable Unicode: ``$O(N^2)$`` → O(N²),
    ``2.1$\\times$`` → 2.1×, ``\\textbf{Diff}`` → Diff, ``\\%`` → %. For display only."""
    if "$" not in text and "\\" not in text:
        return text
    if not _TEX_DISPLAY.search(text):
        return text
    convert = _latex2text("math")

    def one(m: re.Match[str]) -> str:
        if m.group("special"):
            return m.group("special")
        if m.group("macro"):
            return m.group("arg")
        math = m.group("math") if m.group("math") is not None else m.group("block")
        if "^" in math or "_" in math:
            math = _SCRIPT.sub(_script, math)
        try:
            shown = convert(math.replace("%", "\\%").replace("&", "\\&"))
        except Exception:  # (pylatexenc on malformed TeX: the text as written)
            return m.group()
        if "%s" in shown and "%s" not in math:  # (a macro short of its arguments: "%s/%s")
            return m.group()
        return " ".join(shown.split())

    return _TEX_DISPLAY.sub(one, text)


def _script(m: re.Match[str]) -> str:
    body = m.group(2) or m.group(3)
    table = _SUPERSCRIPT if m.group(1) == "^" else _SUBSCRIPT
    converted = body.translate(table)
    return converted if converted != body or not body.isalpha() else m.group()


# What makes an emoji's width differ between terminals: a zero-width joiner (a family 👨‍👩‍👧
# is one glyph of 2 cells where it is joined, three of 6 where not), a skin tone modifier, a
# variation selector (❤️ is 1 cell or 2), tag characters (subdivision flags). Removed from what
# is drawn in the panes, so each emoji takes the cells the layout counted in every terminal
# and tmux; the stored text keeps them.
_WIDTH_AMBIGUOUS = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def screen_text(text: str) -> str:
    """``text`` as drawn in a pane: `clean_line`, without the characters that make an emoji's
    width depend on the terminal (joiners, skin tones, variation selectors, tags)."""
    text = clean_line(text)
    if text.isascii():
        return text
    return _WIDTH_AMBIGUOUS.sub("", text)


_ANCHOR = re.compile(
    r"""<a\s[^<>]*?href\s*=\s*["']([^"'<>]{1,500})["'][^<>]*>([^<>]{0,300})</a\s*>""", re.I
)
# The words arXiv gives a link in an abstract ("Code: <a href=…>this https URL</a>"): they say
# nothing, the address does.
_PLACEHOLDER_WORDS = re.compile(r"^this https? url\.?$", re.I)


def link_text(words: str, url: str) -> str:
    """How a web link written into feed text reads as text: its address when its ``words``
    say nothing (none, arXiv's "this https URL", the address again), else ``words
    (address)``; a full stop that ended the words stays after the address."""
    if not words or _PLACEHOLDER_WORDS.match(words) or words.rstrip(".") == url:
        return url + ("." if words.endswith(".") else "")
    return f"{words} ({url})"


def readable_links(text: str) -> str:
    """HTML anchors written into feed text as text (Hugging Face copies arXiv's
    ``<a href="…">this https URL.</a>``) shown as their address (``words (address)`` when
    the link has words of its own: `link_text`). For display only."""
    if "<a" not in text and "<A" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        url, words = m.group(1).strip(), " ".join(m.group(2).split())
        if not url.lower().startswith(("https://", "http://")):
            return words or m.group()
        return link_text(words, url)

    return _ANCHOR.sub(one, text)


# --------------------------------------------------------------------------- line breaking
# Kinsoku (禁則): no line starts with closing punctuation, none ends with opening punctuation.
CLOSING = frozenset(
    "，。、；：？！」』）》〉】〕〗〙〛｝］〞’”…‥・ー々ゝゞ"
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
    ",.;:?!)]}%'\"»›"
)
OPENING = frozenset("「『（《〈【〔〖〘〚｛［〝‘“([{«‹")


def _wide(ch: str) -> bool:
    """A character of Chinese, Japanese or Korean text (a line may break beside it)."""
    return not ch.isascii() and unicodedata.east_asian_width(ch) in ("W", "F")


def _may_break(before: str, after: str) -> bool:
    """Whether a line may break between ``before`` and ``after`` (neither a space): beside
    a CJK character, unless ``after`` closes or ``before`` opens; never inside a Latin word."""
    if after in CLOSING or before in OPENING:
        return False
    return _wide(before) or _wide(after)


def line_breaks(text: str, width: int) -> list[int]:
    """Where to break one line of ``text`` (no newline in it) so each piece is at most
    ``width`` terminal cells: the indices each new line starts at, in order.

    A line breaks after spaces (which stay at the end of the line they end, for the caller
    to strip) or beside a CJK character, never before closing punctuation (，。、；：？！」』）
    and their ASCII forms) nor after opening punctuation, and never inside a Latin word
    (``基于DiT的扩散模型Token Merging方法`` breaks before "Token" or "Merging", not in
    them). Only a run with no such place that is wider than the line is cut where it is full.
    """
    from rich.cells import get_character_cell_size

    width = max(width, 2)
    breaks: list[int] = []
    start = 0  # where the current line starts
    used = 0  # its cells so far (spaces at its end included)
    last = -1  # the latest place it may break, after `start`
    used_at_last = 0  # the cells before `last`
    content = False  # the line has more than spaces
    for i, ch in enumerate(text):
        cells = get_character_cell_size(ch)
        if ch.isspace():
            used += cells  # (spaces may run past the edge: the caller strips them)
            continue
        if i > start and content:
            before = text[i - 1]
            if before.isspace() or _may_break(before, ch):
                last, used_at_last = i, used
        while used + cells > width and i > start:
            if last > start:  # break at the latest opportunity, carry the rest over
                breaks.append(last)
                used -= used_at_last
                start, last = last, -1
            else:  # a run without one, wider than the line: cut it where it is full
                breaks.append(i)
                start, used, last = i, 0, -1
        used += cells
        content = True
    return breaks
