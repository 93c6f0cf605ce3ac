"""What the list's rows and the status line say, without Textual.

The list pane (`tui.widgets.paper_list`), the status bar (`tui.widgets.status`) and the
first frame drawn before Textual is imported (`tui.prepaint`) all frame their text here, so
the two drawings of the first screen cannot disagree. Each function returns the text as
parts: ``(text, part)`` pairs, where ``part`` names the style the part is drawn in (a
component class of the list, or a Textual style string for the status line); the caller
maps the names to styles. Feed text is cleaned here (`screen_text`): no control character of
a title or a tag reaches a terminal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date as _date

from rich.cells import cell_len, set_cell_size

from .models import badge
from .tags import hash_tags
from .text import ellipsize, readable_tex, screen_text

NARROW_DATE = 72  # below this width (cells of a row) the date is shortened (`row_date`)
NARROW_DATE_CELLS = 9  # "06-19" this year, "10-29 '25" another year
ROW_PARTS = (
    "selected",
    "marker",
    "star",
    "watch",
    "date",
    "tags",
    "badge",
    "count",
    "unread",
    "read",
)
"""The styled parts of a row (component classes ``paper-list--PART``); "" is the row's own."""

SORT_NAMES = {
    "feed_date": "feed date",
    "paper_date": "paper date",
    "upvotes": "upvotes",
    "title": "title",
    "added": "date added",
    "relevance": "relevance",
    "foryou": "for you",
}


@dataclass(frozen=True)
class View:
    """A saved view: a name and the query it stands for."""

    key: str
    name: str
    query: str


VIEWS = {
    "inbox": View("1", "Inbox", "is:unread"),
    "starred": View("2", "Starred", "is:starred"),
    "all": View("3", "All", ""),
    "today": View("4", "Today's feed", ""),  # feed:<latest feed date>, computed on use
}
FIRST_VIEW = "inbox"  # the view the app opens on
FIRST_SORT = "feed_date"  # … sorted by this, newest first


def sort_label(sort: str) -> str:
    """The status bar's name of a sort key, with its direction: ``"feed date ↓"``."""
    return SORT_NAMES[sort] + (" ↑" if sort == "title" else " ↓")


Parts = list[tuple[str, str]]


def fit(parts: Parts, budget: int, *, join: bool = False) -> Parts:
    """``parts`` cut to ``budget`` cells, ending with an ellipsis (in the style of the part
    it cuts) where they were cut; with ``join``, the ellipsis ends that part's text (as
    Textual's `Content.truncate` draws it: one segment) instead of being a part of its own."""
    if sum(cell_len(text) for text, _ in parts) <= budget:
        return parts
    if budget <= 0:
        return []
    out: Parts = []
    room = budget - 1
    for text, style in parts:
        width = cell_len(text)
        if width > room:
            if room and join:
                out.append((set_cell_size(text, room) + "…", style))
                break
            if room:
                out.append((set_cell_size(text, room), style))
            out.append(("…", style))
            break
        out.append((text, style))
        room -= width
    return out


def row_badges(paper: dict) -> list[str]:
    """The distinct source badges of a stored paper, in the order it was seen."""
    found: list[str] = []
    for src in paper.get("sources", ()):
        b = badge(src.get("format", ""))
        if b not in found:
            found.append(b)
    return found


def row_count(paper: dict) -> str:
    """Upvotes (▲12) or, without them, discussion comments (💬4: one wide character,
    two cells in every terminal) where known."""
    if paper.get("upvotes"):
        return f"▲{paper['upvotes']}"
    if paper.get("num_comments"):
        return f"💬{paper['num_comments']}"
    return ""


def row_date(iso: str, narrow: bool, this_year: int) -> str:
    """A row's date: ISO ``2026-06-19``; in a narrow pane ``06-19`` for a date of
    ``this_year`` and ``10-29 '25`` for another year (the day kept, the year shown), so that a
    list sorted by date reads sorted at either width."""
    if not narrow:
        return iso[:10]
    if iso[:4] == str(this_year):
        return iso[5:10]
    if len(iso) >= 10 and iso[:4].isdigit():
        return f"{iso[5:10]} '{iso[2:4]}"
    return iso[:10]


def _watched(state: dict, watched: Collection[str]) -> bool:
    return any(isinstance(t, str) and t.casefold() in watched for t in state.get("tags", ()))


def watch_color(state: dict, colors: Mapping[str, str]) -> str:
    """The colour of the first watch rule (in ``colors``' order: {tag casefolded: colour
    name}, `Library.watch_colors`) whose tag the paper holds; "" when none has one."""
    if not colors:
        return ""
    held = {t.casefold() for t in state.get("tags", ()) if isinstance(t, str)}
    return next((color for tag, color in colors.items() if tag in held), "")


# The watch rules' colours as the list draws them: xterm-256 colours that read on a dark
# theme's background (the bright ones lighter), and darker ones for a light theme; a theme
# of the terminal's own ANSI colours draws the colour names themselves. (Textual's own ANSI
# palette for dark themes draws red, magenta and their bright forms alike.)
TINTS: dict[str, tuple[str, str]] = {  # name: (on a dark background, on a light one)
    "red": ("#ff5f5f", "#d70000"),
    "green": ("#5fd75f", "#008700"),
    "yellow": ("#ffd75f", "#af8700"),
    "blue": ("#5f87ff", "#005fd7"),
    "magenta": ("#ff5fff", "#af00af"),
    "cyan": ("#5fd7ff", "#0087af"),
    "white": ("#e4e4e4", "#767676"),
    "bright_red": ("#ff8787", "#d75f5f"),
    "bright_green": ("#87ff87", "#5faf00"),
    "bright_yellow": ("#ffff87", "#d7af00"),
    "bright_blue": ("#87afff", "#5f87d7"),
    "bright_magenta": ("#ff87ff", "#d75fd7"),
    "bright_cyan": ("#87ffff", "#00afaf"),
}


def tint(color: str, dark: bool | None) -> str:
    """The colour a watch rule's ``color`` (a `TINTS` name) is drawn in, as a Rich colour:
    for a ``dark`` or light theme, or (None) a theme of the terminal's ANSI colours."""
    if dark is None:
        return color
    return TINTS[color][0 if dark else 1]


def split_part(name: str) -> tuple[str, str]:
    """A row part's name (`row_parts`) as (part, colour): ``"watch:magenta"`` →
    ``("watch", "magenta")``, ``"date"`` → ``("date", "")``."""
    part, _, color = name.partition(":")
    return part, color


def row_parts(
    paper: dict,
    state: dict,
    width: int,
    selected: bool,
    *,
    date_key: str = "feed_date",
    this_year: int | None = None,
    watched: Collection[str] = (),
    colors: Mapping[str, str] | None = None,
) -> tuple[Parts, int]:
    """The row of a stored paper (`Library.raw`) with its state (`Library.raw_state`) in
    ``width`` cells: its parts, named by `ROW_PARTS` ("" for the row's own style), and their
    length in cells (``width``, unless the pane is too narrow for the date: then more).

    Selection mark, unread dot, star, watch mark (◆: the paper holds one of the tags
    ``watched``, casefolded: the watch rules' tags, `Library.watched_tags`), the date
    ``date_key`` names (the feed's, or the paper's own when the list is sorted by it;
    `row_date`, with ``this_year`` the current year), then the title cut with an ellipsis
    to the room the tags, badges and count on the right leave (at least 20 cells: in a
    narrow pane those are cut first).

    ``colors``: the watch rules' colours (`watch_color`); a watched paper whose rule has one
    has its mark, and its title while unread, in parts named "watch:COLOUR" and
    "unread:COLOUR" (`split_part`): the part's style with that colour on top. Without
    ``colors`` (NO_COLOR) the mark alone says it."""
    unread = not state.get("read")
    is_watched = bool(watched) and _watched(state, watched)
    color = watch_color(state, colors) if is_watched and colors else ""
    tint = f":{color}" if color else ""
    narrow = width < NARROW_DATE
    year = this_year if this_year is not None else _date.today().year
    # The sort's date: sorted by paper date, a paper with none says so (it sorts last), not
    # its feed date, which read as out of order among the paper dates.
    shown = paper.get(date_key) or ("" if date_key == "paper_date" else paper.get("feed_date"))
    date = row_date(shown, narrow, year) if shown else "no date"
    date_width = NARROW_DATE_CELLS if narrow else 10
    left: Parts = [
        ("▌" if selected else " ", "selected"),
        ("●" if unread else " ", "marker"),
        ("★" if state.get("starred") else " ", "star"),
        ("◆", "watch" + tint) if is_watched else (" ", ""),
        (date.ljust(date_width), "date"),
        (" ", ""),
    ]
    left_len = date_width + 5

    right: Parts = []
    tags = state.get("tags", ())
    if tags:
        right.append((" " + screen_text(hash_tags(tags)), "tags"))
    badges = row_badges(paper)
    if badges:
        right.append((" " + " ".join(badges), "badge"))
    count = row_count(paper)
    if count:
        right.append((" " * max(1, 5 - cell_len(count)) + count, "count"))  # (4 cells wide)
    right.append((" ", ""))
    right_len = sum(cell_len(text) for text, _ in right)

    room = width - left_len - right_len
    if room < 20 and tags:  # the title matters more than the tags: they are cut first
        cut = max(cell_len(right[0][0]) - (20 - room), 3)  # (" #…" at least)
        right[0] = fit([right[0]], cut, join=True)[0] if cut < cell_len(right[0][0]) else right[0]
        right_len = sum(cell_len(text) for text, _ in right)
        room = width - left_len - right_len
    while room < 20 and len(badges) > 1:  # then the badges but the first (the count stays whole)
        badges = badges[:-1]
        at = next(i for i, (_, name) in enumerate(right) if name == "badge")
        right[at] = (" " + " ".join(badges), "badge")
        right_len = sum(cell_len(text) for text, _ in right)
        room = width - left_len - right_len
    if room < 20:  # narrow pane: then what is left of the badges and the count
        right = fit(right, max(width - left_len - 20, 0))
        right_len = sum(cell_len(text) for text, _ in right)
        room = width - left_len - right_len
    title = paper.get("title") or paper.get("title_zh") or "(untitled)"
    title = screen_text(readable_tex(title))  # ($O(N^2)$ as O(N²), as the detail shows it)
    room = max(room, 0)
    title = set_cell_size(ellipsize(title, room), room)
    title_part = "unread" + tint if unread else "read"  # (a read row stays muted)
    return [*left, (title, title_part), *right], left_len + room + right_len


# ---------------------------------------------------------------------------- the status line
@dataclass
class StatusInfo:
    """What the status bar shows; the app builds one after every change."""

    view: str = "All"
    shown: int = 0
    counting: bool = False  # ``shown`` is a first page: the result is still being counted
    cursor: int = 0  # index of the highlighted paper in the view
    total: int = 0
    unread: int = 0
    starred: int = 0
    new_since: int = 0
    watched_today: int = 0  # papers a watch rule tagged that were added today
    sort: str = "feed date"
    query: str = ""
    selected: int = 0
    chinese_first: bool = False
    read_only: bool = False  # the library cannot be written: changes are refused


def status_where(info: StatusInfo) -> Parts:
    """The status line's left part, where you are: the view, "7 of 107", the query, the
    selection, the sort. Styles are Textual style strings ("" the bar's own)."""
    # The space between two parts ends the first one: a part that begins with a space
    # loses it when the SVG screenshots are drawn ("107unread"), so none does except
    # the one after the view's chip, whose own padding keeps them apart.
    where: Parts = [
        (f" {info.view} ", "bold reverse $text-accent"),
        (
            f" {info.cursor + 1 if info.shown else 0:,} of {info.shown:,}"
            + ("+ counting…  " if info.counting else "  "),
            "",
        ),
    ]
    if info.query:
        where += [("/", ""), (f"{info.query}  ", "italic")]
    if info.selected:
        where.append((f"{info.selected:,} selected  ", "bold $text-warning"))
    sort = f"sort: {info.sort}"
    if info.chinese_first:
        where += [(f"{sort}  ", "$text-muted"), ("中文 first", "$text-muted")]
    else:
        where.append((sort, "$text-muted"))
    return where


def status_parts(info: StatusInfo, width: int) -> tuple[Parts, int]:
    """The whole status line ``width`` cells wide: the left part (cut with an ellipsis when
    the counts on the right leave too little room), spaces, the library's counts on the
    right; and the cells of the left part as drawn."""
    star = f"★ {info.starred:,}"
    counts: Parts = [("read-only ", "bold $text-error")] if info.read_only else []
    counts += [
        (f"{info.unread:,} ", "bold"),
        (f"unread of {info.total:,}  ", ""),
        (star, "$text-warning"),
    ]
    new_at = watch_at = 0
    if info.new_since:
        counts[-1] = (f"{star}  ", "$text-warning")
        counts.append((f"{info.new_since:,} new since last session", "$text-success"))
        new_at = len(counts) - 1
    if info.watched_today:
        n = info.watched_today
        counts[-1] = (counts[-1][0] + "  ", counts[-1][1])
        counts.append((f"{n:,} watched paper{'' if n == 1 else 's'} new today", "$text-accent"))
        watch_at = len(counts) - 1
    counts.append((" ", ""))
    # Too long for half the bar: the new papers' count is shortened first, then the watched.
    if _cells(counts) > width // 2 and new_at:
        gap = "  " if watch_at else ""
        counts[new_at] = (f"{info.new_since:,} new{gap}", "$text-success")
    if _cells(counts) > width // 2 and watch_at:
        counts[watch_at] = (f"◆ {info.watched_today:,} today", "$text-accent")
    left = status_where(info)
    room = width - _cells(counts)
    if _cells(left) > room - 1:
        left = fit(left, max(room - 1, 0), join=True)
    left_len = _cells(left)
    pad = max(room - left_len, 0)
    return [*left, *([(" " * pad, "")] if pad else []), *counts], left_len


def _cells(parts: Parts) -> int:
    return sum(cell_len(text) for text, _ in parts)
