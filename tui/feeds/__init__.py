"""Feed parsing: robust decoding, format detection from content, and the format registry."""

from __future__ import annotations

import codecs
import hashlib
import importlib
import pkgutil
import re
from dataclasses import fields
from datetime import date
from functools import cache

from ..models import Paper
from ..text import clean, clean_line, tex_accents, valid_unicode
from .base import (
    EmptyFeed,
    FeedError,
    FeedFormat,
    ParseContext,
    ParseResult,
    RefusedFeed,
    Skipped,
    char_ref_value,
    lines_shared,
    restore_controls,
    split_lines,
)

__all__ = [
    "EmptyFeed",
    "FeedError",
    "FeedFormat",
    "ParseContext",
    "ParseResult",
    "RefusedFeed",
    "Skipped",
    "MAX_FEED_BYTES",
    "decode",
    "formats",
    "get_format",
    "parse_bytes",
    "parse_text",
    "parse_text_digest",
    "text_digest",
]

MAX_FEED_BYTES = 50 * 1024 * 1024
_NOT_FORMATS = {"base"}
_SNIFF_THRESHOLD = 0.3


@cache
def formats() -> tuple[FeedFormat, ...]:
    """Every format module in this package that defines ``FORMAT``, in module-name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in _NOT_FORMATS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if fmt is not None:
            found.append(fmt)
    return tuple(found)


def get_format(name: str) -> FeedFormat | None:
    return next((f for f in formats() if f.name == name), None)


_BOMS = (  # (UTF-32-LE's before UTF-16-LE's, which begins it)
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)


def decode(data: bytes, origin: str) -> str:
    """Bytes to text: BOMs, UTF-8, a declared HTML/XML charset, GB18030 (GBK), cp1252.

    Raises FeedError for binary data and for UTF-8/UTF-16/UTF-32 cut off in the middle of a
    character (UTF-16 and UTF-32 are read by their BOM). Text with a BOM keeps the BOM's
    encoding whatever else is wrong with it: a byte sequence that is not a character becomes
    U+FFFD, one bad character never costs the rest.
    UTF-8 that encodes UTF-16 surrogates (CESU-8, a lone half of an emoji) is read as UTF-8;
    `parse_text` makes the surrogates valid. A stray NUL byte or two is dropped (more is binary
    data). Line ends are normalised to ``\\n`` (a bare CR only in a file without LF).
    """
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(
            f"{origin}: {len(data) / 1e6:.0f} MB is larger than the "
            f"{MAX_FEED_BYTES // (1024 * 1024)} MB a feed may be"
        )
    text: str | None = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            if enc == "utf-32-le" and _utf16_not_32(data):
                bom, enc = b"\xff\xfe", "utf-16-le"
            text = _decode_marked(data[len(bom) :], enc, origin, len(bom))
            break
    if text is None:
        head = data[:65536]
        if _binary(head):
            raise FeedError(f"{origin}: binary data, not a feed (expected text, HTML or XML)")
        text = _decode_unmarked(data.replace(b"\x00", b""), origin)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        # A bare CR ends lines only in a file that has no other line end (classic Mac OS);
        # inside a line of a LF file it is a stray (a title cut in two by it lost its abstract).
        text = text.replace("\r", "\n" if "\n" not in text else " ")
    return text


# Bytes that text never holds (C0 controls but tab, LF, FF, CR and ESC).
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32)])


def _binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary data, not text: NUL bytes, and more than
    a stray one or two (damage in a text file: dropped), or among many other control bytes
    (random data holds one in nine)."""
    nul = head.count(0)
    if not nul:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return nul > max(8, len(head) // 200) or controls > len(head) // 20


def _utf16_not_32(data: bytes) -> bool:
    """Whether ``data``, which starts with UTF-32-LE's BOM (FF FE 00 00), is UTF-16-LE whose
    first character is U+0000 (a stray NUL after UTF-16-LE's BOM, FF FE): most of its 4-byte
    units are beyond Unicode, as UTF-16 text read as UTF-32 is. (UTF-32 damaged here and there
    or cut off mid-character stays UTF-32.)"""
    body = data[4:]
    units = body[: len(body) // 4 * 4]
    try:
        units.decode("utf-32-le", "surrogatepass")
        return False
    except UnicodeDecodeError:
        pass
    read = units.decode("utf-32-le", "replace")
    return read.count("\ufffd") * 2 > len(read)


def _decode_marked(data: bytes, encoding: str, origin: str, offset: int) -> str:
    try:
        return data.decode(encoding, "surrogatepass")  # surrogates: made valid by parse_text
    except UnicodeDecodeError:
        return _decode_replacing(data, encoding, origin, offset)


def _decode_replacing(data: bytes, encoding: str, origin: str, offset: int = 0) -> str:
    """``data`` in ``encoding`` with U+FFFD for each byte sequence that is not a character;
    FeedError when it ends in the middle of one (cut off, not merely damaged)."""
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    text = decoder.decode(data, final=False)
    pending = decoder.getstate()[0]
    if pending:
        raise FeedError(
            f"{origin}: cut off in the middle of a {encoding.upper()} character "
            f"at byte {offset + len(data) - len(pending)}"
        )
    return text


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few stray bytes (a byte of another code page pasted in, a damaged
    sector): at least 20 well-formed non-ASCII characters for each malformed sequence. Text in
    GBK or cp1252 is nowhere near (few of its byte pairs happen to be well-formed UTF-8)."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    return good >= 20 * bad


def _decode_unmarked(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        # Cut off mid-character, unless nothing before it was UTF-8 (then it is likely GBK).
        if (
            err.reason == "unexpected end of data"
            and err.end == len(data)
            and not data[: err.start].isascii()
        ):
            raise FeedError(
                f"{origin}: cut off in the middle of a UTF-8 character at byte {err.start}"
            ) from None
    try:  # UTF-8 apart from encoded surrogates (CESU-8, Java's modified UTF-8, half an emoji)
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096]) or _XML_ENCODING.search(data[:512])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    if _mostly_utf8(data):  # one bad byte must not turn every other character into mojibake
        return _decode_replacing(data, "utf-8", origin)
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    return data.decode("cp1252", errors="replace")


def text_digest(text: str) -> str:
    """Identity of a feed's content: the same page saved as UTF-8 or GBK has one digest."""
    canonical = "\n".join(map(str.rstrip, text.strip().split("\n")))
    return hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]


def parse_bytes(data: bytes, origin: str, today: date | None = None) -> ParseResult:
    """Decode and parse one feed; see `parse_text`."""
    if not data.strip():
        raise FeedError(f"{origin}: empty file, not a feed")
    return parse_text(decode(data, origin), origin, today)


def parse_text(text: str, origin: str, today: date | None = None) -> ParseResult:
    """Detect the format from the content and parse it.

    Raises FeedError with one line naming the origin and the formats tried when nothing fits.
    This is the boundary every feed text crosses, whatever its source: no parser sees a UTF-16
    surrogate (nor a character reference to one, which the XML parser cannot take), and every
    string of the result comes back `clean()`ed, valid Unicode the store can always write
    (what cannot be a character is U+FFFD).
    """
    if not text.strip():
        raise FeedError(f"{origin}: empty file, not a feed")
    text = _valid_input(text)
    with lines_shared(text):
        return _parse_valid(text, origin, today)


def parse_text_digest(text: str, origin: str, today: date | None = None) -> tuple[ParseResult, str]:
    """`parse_text` of ``text`` and the `text_digest` of the text made valid Unicode
    (`valid_unicode`), from one split of the text into lines and one UTF-8 encoding of it,
    which also tells that it holds no surrogate. Raises as `parse_text`."""
    if text.startswith("\ufeff") or "\r" in text:  # (not split as `split_lines` splits)
        return parse_text(text, origin, today), text_digest(valid_unicode(text))
    with lines_shared(text):
        # `text_digest`'s text, from the lines the parser reads too: trailing blank space of
        # each line and of the whole text dropped (`text.strip()` first, then each line's
        # `rstrip()`, is the same text).
        canonical = "\n".join(map(str.rstrip, split_lines(text))).strip()
        if not canonical:
            raise FeedError(f"{origin}: empty file, not a feed")
        try:
            data = canonical.encode("utf-8")
        except UnicodeEncodeError:  # a surrogate (none is blank space: all are in canonical)
            data = None
        if data is None or "&#" in text:  # (text `_valid_input` changes)
            result = parse_text(text, origin, today)
        else:
            result = _parse_valid(text, origin, today)
    if data is None:
        return result, text_digest(valid_unicode(text))
    return result, hashlib.sha1(data).hexdigest()[:16]


def _parse_valid(text: str, origin: str, today: date | None) -> ParseResult:
    """`parse_text` of a text with no surrogate and no reference to one (`_valid_input`)."""
    if text.startswith("\ufeff"):  # (a second BOM, left by an editor that added one)
        text = text.lstrip("\ufeff")
    ctx = ParseContext(origin=origin, today=today or date.today())
    scored = sorted(((f.sniff(text), f) for f in formats()), key=lambda s: -s[0])
    candidates = [f for score, f in scored if score >= _SNIFF_THRESHOLD]
    tried = ", ".join(f.label for f in formats())
    if not candidates:
        raise FeedError(f"{origin}: not a recognised feed (tried {tried})")
    errors: list[str] = []
    empty: EmptyFeed | None = None  # a well-formed feed of no paper: said as such
    for fmt in candidates:
        try:
            result = fmt.parse(text, ctx)
        except FeedError as err:
            if "cut off" in str(err) or isinstance(err, RefusedFeed):
                raise  # the right format, but incomplete: never fall back to a worse guess
            if isinstance(err, EmptyFeed) and empty is None:
                empty = err
            errors.append(str(err))
            continue
        if result.papers:
            _clean_result(result)
            return result
        errors.append(f"{origin}: no papers found as {fmt.label}")
    if empty is not None:
        raise empty
    if len(errors) == 1:
        raise FeedError(errors[0])
    raise FeedError(f"{errors[0]} (also tried {tried})")


_STR_FIELDS = [f.name for f in fields(Paper) if f.type in ("str", "str | None")]
_INT_FIELDS = [f.name for f in fields(Paper) if f.type == "int | None" and f.name != "line"]
MAX_COUNT = 2**31 - 1  # the largest count, upvote total or version number a paper keeps
_LIST_FIELDS = ("authors", "categories", "keywords")
_MULTILINE = {"abstract", "abstract_zh", "contribution_zh", "method_zh", "findings_zh"}


# A numeric character reference to a UTF-16 surrogate (&#55357; or &#xD83D;): never a
# character. HTML parsers read it as U+FFFD; libxml2 passes it on as bytes Python cannot decode.
_SURROGATE_REF = re.compile(r"&#(?:0*(5[5-7][0-9]{3})|[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}));")


def _surrogate_ref(match: re.Match[str]) -> str:
    value = int(match[1]) if match[1] else int(match[2], 16)
    return chr(value) if 0xD800 <= value <= 0xDFFF else match[0]


# A numeric character reference beyond Unicode (&#x110000;, &#99999999999;): no character
# either. HTML and lxml read it as U+FFFD; feedparser (Atom) raised ValueError/OverflowError.
# (Each run of digits read once: no backtracking over a long one.)
_NUMERIC_REF = re.compile(r"&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));")


def _huge_ref(match: re.Match[str]) -> str:
    value = char_ref_value(match[1], match[2])
    return "\ufffd" if value is None or value > 0x10FFFF else match[0]


def _valid_input(text: str) -> str:
    """The text with every surrogate, written out or referenced, made valid: a high and a low
    one in a row become the character they encode, a lone one U+FFFD; so does a reference
    to a number beyond Unicode."""
    if "&#" in text:
        text = _SURROGATE_REF.sub(_surrogate_ref, text)
        text = _NUMERIC_REF.sub(_huge_ref, text)
    return valid_unicode(text)


def _restore_controls(result: ParseResult) -> None:
    """The controls an XML reader held as placeholders (`held_control`) given back to every
    string of ``result``, for `clean` to remove as it does for any feed."""
    if result.feed_date:
        result.feed_date = restore_controls(result.feed_date)
    for skipped in result.skipped:
        skipped.reason = restore_controls(skipped.reason)
    for p in result.papers:
        values = p.__dict__
        for name in _STR_FIELDS:
            if values[name]:
                values[name] = restore_controls(values[name])
        for name in _LIST_FIELDS:
            if values[name]:
                values[name] = [restore_controls(a) for a in values[name]]


def _clean_result(result: ParseResult) -> None:
    """`clean()` every string a parser produced (`clean` makes it valid Unicode too), with
    its TeX accents in Unicode (`tex_accents`: arXiv writes ``M\\"uller``, a listing of the
    same paper ``Müller``)."""
    if result.held_controls:
        _restore_controls(result)
    if result.feed_date:
        result.feed_date = clean_line(result.feed_date)
    for skipped in result.skipped:
        skipped.reason = clean_line(skipped.reason)
    for p in result.papers:
        values = p.__dict__  # (the dataclass's fields, read and written without getattr)
        for name in _STR_FIELDS:
            value = values[name]
            if value:
                if "\\" in value:
                    value = tex_accents(value)
                values[name] = clean(value).strip() if name in _MULTILINE else clean_line(value)
        for name in _INT_FIELDS:  # a count no feed could mean (2**64 upvotes) is no count
            value = values[name]
            if value is not None and not (isinstance(value, int) and 0 <= value <= MAX_COUNT):
                values[name] = None
        for name in _LIST_FIELDS:
            if values[name]:
                items = [tex_accents(a) if "\\" in a else a for a in values[name]]
                values[name] = [a for a in map(clean_line, items) if a]
