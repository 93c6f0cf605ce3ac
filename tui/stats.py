"""A picture of the reading: the figures of the stats screen and of ``papertui stats --plot``.

`reading_stats` computes them from the library's SQLite cache with a handful of grouped
queries (no Python loop over the papers: at a million papers the work is SQLite's, on its
indexes); `draw` draws one figure on a plotext plot (plotext's module or a
``textual_plotext`` widget's ``plt``) and `render_plot` draws all four as terminal text.

Where each number comes from:

- papers per day by source: the ``facet`` table's feed dates (``d``) and source formats
  (``f``) of each paper, the formats grouped into the sources ``source:`` names (hf, arxiv,
  arxivdaily, digest). The library keeps which sources carried a paper and on which days,
  not which source on which day: a paper carried by two sources on two different days
  counts on both days for both (exact for every paper seen by one source or on one day);
  a paper carried twice by one source on one day (two HF pages) counts once.
- read and starred per day: the state keeps no time per flag, and the journal's change files
  are folded into checkpoints (and deleted) every few hundred changes; what every paper's
  state does keep is ``updated_at``, the time of its latest change of any kind (read, star,
  tags, note). So a paper counts as read (starred) on the day its state last changed, if it is
  read (starred) now: reading a paper on Monday and tagging it on Friday moves it to Friday,
  and a paper read then marked unread again is not counted at all.
- top tags: the ``tag`` table (tags casefolded, shown as first written) joined to the
  papers' starred flags.
- the inbox's age: the unread papers by the day a feed first carried them (``paper.feed_date``).

Nothing here imports Textual or plotext at import time: the app imports this module (and
plotext) only when the stats screen is opened.
"""

from __future__ import annotations

import re
import sqlite3
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from rich.cells import cell_len

from .library.query import SOURCE_ALIASES
from .text import clean, screen_text

if TYPE_CHECKING:
    from .library import Library

WINDOW_DAYS = 90  # days shown by the per-day figures, today included
TOP_TAGS = 10  # tags in the tags figure
TAG_WIDTH = 18  # characters of a tag shown in a plot's labels (longer ones end in "…")
WEEK = 7  # days: an unread paper first seen more than this many days ago is "old"
# The inbox-age bars: (label, the oldest age in days the bar holds; None: no limit).
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("≤1 week", WEEK),
    ("1-4 wk", 28),
    ("1-3 mo", 91),
    ("3-12 mo", 365),
    (">1 year", None),
)
UNDATED = "undated"

# Each source format as the source `source:` names it (hf-text → hf): the first alias wins.
SOURCE_OF: dict[str, str] = {}
for _name, _formats in SOURCE_ALIASES.items():
    for _format in _formats:
        SOURCE_OF.setdefault(_format, _name)


# --------------------------------------------------------------------------- the figures
@dataclass(frozen=True)
class Series:
    """One line or bar series of a per-day figure: ``counts[i]`` papers on ``days[i]``."""

    name: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """Papers over the whole window (a paper counted on several days counts each time)."""
        return sum(self.counts)


@dataclass(frozen=True)
class Daily:
    """Papers per day over ``days`` (consecutive calendar days, oldest first, the last one
    today), one `Series` per source or per kind of change, each as long as ``days``."""

    days: tuple[date, ...]
    series: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        """Whether every count of every series is 0."""
        return not any(s.total for s in self.series)

    def counts(self, name: str) -> tuple[int, ...]:
        """The counts of the series ``name`` (zeros when there is none)."""
        for s in self.series:
            if s.name == name:
                return s.counts
        return (0,) * len(self.days)


@dataclass(frozen=True)
class TagCount:
    """One tag: ``papers`` papers carry it, ``starred`` of them are starred."""

    tag: str  # as the user first wrote it (controls removed): display text, untrusted
    papers: int
    starred: int


@dataclass(frozen=True)
class InboxAge:
    """The unread papers by how long ago a feed first carried them.

    ``buckets``: (label, papers) for each of `AGE_BUCKETS` in order, then ("undated", papers
    whose feed gave no date) when there are any. ``older_than_week``: unread papers first seen
    more than `WEEK` days before today (undated ones not included). ``unread``: all of them."""

    unread: int
    older_than_week: int
    buckets: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ReadingStats:
    """Everything the stats screen and ``papertui stats --plot`` draw, as of ``today``.

    ``papers``, ``unread``, ``starred``: counts of papers in the library now. ``by_source``:
    papers per day by source over the last `WINDOW_DAYS` days (series named hf, arxiv …).
    ``triage``: papers read and starred per day over the same days (series "read" and
    "starred"; see the module's note on what a day means here). ``tags``: the `TOP_TAGS` tags
    carried by most papers, most first. ``inbox``: the unread papers' age."""

    today: date
    papers: int
    unread: int
    starred: int
    by_source: Daily
    triage: Daily
    tags: tuple[TagCount, ...]
    inbox: InboxAge

    @property
    def empty(self) -> bool:
        """Whether the library holds no paper: nothing to plot."""
        return self.papers == 0


def reading_stats(
    library: Library,
    today: date | None = None,
    *,
    days: int = WINDOW_DAYS,
    utc_offset: timedelta | None = None,
) -> ReadingStats:
    """The figures of ``library`` as of ``today`` (default: the local date).

    ``days``: how many days the per-day figures cover (today included). ``utc_offset``: the
    time zone the read/starred times (stored in UTC) are counted in, so a paper read at 23:30
    counts on the reader's day (default: the local zone's offset now). Reads the library's
    cache on the calling thread's own connection (so it may run in a worker). A cache that
    cannot be read raises `sqlite3.Error`."""
    if today is None:
        today = date.today()
    if utc_offset is None:
        utc_offset = datetime.now().astimezone().utcoffset() or timedelta(0)
    conn = library.cache.conn()
    window = tuple(today - timedelta(days=n) for n in range(days - 1, -1, -1))
    tally = dict(conn.execute("SELECT name, n FROM tally"))
    papers = int(conn.execute("SELECT count(*) FROM paper").fetchone()[0])
    unread = papers - int(tally.get("read", 0))
    return ReadingStats(
        today=today,
        papers=papers,
        unread=unread,
        starred=int(tally.get("starred", 0)),
        by_source=_by_source(conn, window),
        triage=_triage(conn, window, utc_offset),
        tags=_top_tags(conn),
        inbox=_inbox_age(conn, today, unread),
    )


def _daily(window: tuple[date, ...], rows: Sequence[tuple[str, str, int]]) -> Daily:
    """A `Daily` from (day ISO, series name, count) rows (days outside ``window`` ignored);
    series in order of their totals, largest first (then by name)."""
    at = {d.isoformat(): i for i, d in enumerate(window)}
    counts: dict[str, list[int]] = {}
    for day, name, n in rows:
        i = at.get(day)
        if i is not None:
            counts.setdefault(name, [0] * len(window))[i] += int(n)
    series = sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return Daily(window, tuple(Series(name, tuple(c)) for name, c in series))


def _formats(conn: sqlite3.Connection) -> list[str]:
    """The source formats in the library: one index seek each (not a scan of the facets)."""
    found: list[str] = []
    row = conn.execute("SELECT min(value) FROM facet WHERE kind='f'").fetchone()
    while row[0] is not None:
        found.append(row[0])
        row = conn.execute(
            "SELECT min(value) FROM facet WHERE kind='f' AND value > ?", (row[0],)
        ).fetchone()
    return found


def _by_source(conn: sqlite3.Connection, window: tuple[date, ...]) -> Daily:
    first, last = window[0].isoformat(), window[-1].isoformat()
    sources: dict[str, list[str]] = {}
    for fmt in _formats(conn):
        sources.setdefault(SOURCE_OF.get(fmt, fmt) or "unknown", []).append(fmt)
    # The papers with a feed date in the window have rowids from this one on: the formats'
    # facets below it are skipped (a library's rowids grow with the days it was fed).
    low = conn.execute(
        "SELECT min(paper) FROM facet WHERE kind='d' AND value >= ? AND value <= ?", (first, last)
    ).fetchone()[0]
    rows: list[tuple[str, str, int]] = []
    if low is None:
        return Daily(window, ())
    for source, formats in sources.items():
        # One query a source: a paper that two of its formats carried (an HF page and the
        # HF text list) on one day counts once; one index range of facets per format.
        marks = ",".join("?" * len(formats))
        rows += [
            (day, source, n)
            for day, n in conn.execute(
                "SELECT value, count(*) FROM facet WHERE kind='d' AND value >= ? AND value <= ? "
                "AND paper IN (SELECT paper FROM facet "
                f"WHERE kind='f' AND value IN ({marks}) AND paper >= ?) GROUP BY value",
                (first, last, *formats, low),
            )
        ]
    return _daily(window, rows)


def _triage(conn: sqlite3.Connection, window: tuple[date, ...], offset: timedelta) -> Daily:
    minutes = f"{round(offset.total_seconds() / 60):+d} minutes"
    # The states changed in the window first (one pass over the state documents, read as
    # text: they are orjson bytes, never SQLite's binary JSON), then their papers' flags.
    rows = conn.execute(
        "SELECT s.day, sum(p.read), sum(p.starred) FROM ("
        " SELECT id, date(json_extract(CAST(doc AS TEXT), '$.updated_at'), ?) AS day"
        " FROM state WHERE day >= ? AND day <= ?"
        ") s CROSS JOIN paper p ON p.id = s.id WHERE p.read = 1 OR p.starred = 1"
        " GROUP BY s.day",
        (minutes, window[0].isoformat(), window[-1].isoformat()),
    ).fetchall()
    flat = [(day, "read", r) for day, r, _ in rows] + [(day, "starred", s) for day, _, s in rows]
    daily = _daily(window, flat)
    # Always both series, read first: the legend and colours stay put.
    return Daily(window, tuple(Series(n, daily.counts(n)) for n in ("read", "starred")))


def _top_tags(conn: sqlite3.Connection, limit: int = TOP_TAGS) -> tuple[TagCount, ...]:
    rows = conn.execute(
        "SELECT t.tag, count(*), sum(p.starred) FROM tag t JOIN paper p ON p.rowid = t.paper "
        "GROUP BY t.tag ORDER BY count(*) DESC, sum(p.starred) DESC, t.tag LIMIT ?",
        (limit,),
    ).fetchall()
    return tuple(TagCount(_written(conn, tag), int(n), int(s)) for tag, n, s in rows)


def _written(conn: sqlite3.Connection, folded: str) -> str:
    """A tag as the user wrote it (the ``tag`` table holds it casefolded), from the state of
    one paper carrying it; controls and escape sequences removed (`clean`)."""
    row = conn.execute(
        "SELECT s.doc FROM tag t JOIN paper p ON p.rowid = t.paper JOIN state s ON s.id = p.id "
        "WHERE t.tag = ? LIMIT 1",
        (folded,),
    ).fetchone()
    if row is not None:
        for tag in orjson.loads(row[0]).get("tags") or ():
            if isinstance(tag, str) and tag.casefold() == folded:
                return clean(tag)
    return clean(folded)


def _inbox_age(conn: sqlite3.Connection, today: date, unread: int) -> InboxAge:
    """The age buckets, each a count over a range of the (read, feed_date) index; the last
    and largest (the oldest papers) is what the others leave of ``unread``."""
    undated = conn.execute("SELECT count(*) FROM paper WHERE read = 0 AND feed_date = ''")
    left = unread - int(undated.fetchone()[0])
    buckets: list[tuple[str, int]] = []
    newer: str | None = None
    for label, days in AGE_BUCKETS:
        if days is None:
            n = left
        else:
            oldest = (today - timedelta(days=days)).isoformat()
            sql = "SELECT count(*) FROM paper WHERE read = 0 AND feed_date >= ?"
            params = [oldest]
            if newer is not None:
                sql += " AND feed_date < ?"
                params.append(newer)
            n = int(conn.execute(sql, params).fetchone()[0])
            newer = oldest
        buckets.append((label, n))
        left -= n
    if unread - sum(n for _, n in buckets):
        buckets.append((UNDATED, unread - sum(n for _, n in buckets)))
    return InboxAge(
        unread=unread,
        older_than_week=sum(n for _, n in buckets[1 : len(AGE_BUCKETS)]),
        buckets=tuple(buckets),
    )


# --------------------------------------------------------------------------- drawing
FIGURES = ("sources", "triage", "tags", "inbox")
"""The four plots, in the order the screen and `render_plot` show them."""
TABS = {"sources": "Sources", "triage": "Read, starred", "tags": "Tags", "inbox": "Inbox age"}
"""The figures' short names (the stats screen's tabs)."""
TITLES = {
    "sources": "Papers per day by source",
    "triage": "Read and starred per day",
    "tags": "Top tags",
    "inbox": "Inbox age",
}
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# Without colour, series are told apart by their marks (bars: shades; lines: symbols).
BAR_MARKS = ("█", "▒", "░", "▚", "#", "=")
LINE_MARKS = ("•", "x", "+", "o")


def day_label(day: date) -> str:
    """A short label for a date tick, the same in every locale: "Nov 22"."""
    return f"{MONTHS[day.month - 1]} {day.day:02d}"


def short(text: str, width: int = TAG_WIDTH) -> str:
    """``text`` cut to ``width`` columns on screen (a Chinese character takes two), ending
    in "…" when cut."""
    if cell_len(text) <= width:
        return text
    while cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _date_ticks(plt: Any, days: tuple[date, ...], width: int) -> None:
    """Label a few days of the x axis (the first, the last: today, and evenly between):
    one label per ~14 columns of the plot's ``width``."""
    n = len(days)
    labels = max(2, min(6, width // 14))
    at = sorted({round(i * (n - 1) / (labels - 1)) for i in range(labels)})
    plt.xticks(at, [day_label(days[i]) for i in at])
    plt.xlim(-1, n)


def count_ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to at least ``top`` (a count), at most ``most`` + 1 of them,
    a step of 1, 2 or 5 times a power of ten: 0 5 10 15 for 13."""
    step = 1
    while top / step > most:
        for factor in (2, 5 / 2, 2):  # 1 → 2 → 5 → 10 → 20 …
            step = round(step * factor)
            if top / step <= most:
                break
    last = -(-max(top, 1) // step) * step
    return list(range(0, last + 1, step))


def _value_axis(plt: Any, top: int, height: int, legend: int = 0, axis: str = "y") -> None:
    """Whole-number ticks on the value axis, with room above ``top`` for a ``legend`` of
    that many lines in a plot ``height`` lines high (so the legend covers no bar)."""
    inner = max(4, height - 5)  # (title, frame and the axis labels take five lines)
    room = top * inner / max(1, inner - legend - 1) if legend else top
    ticks = count_ticks(max(1, int(room + 0.999)))
    if axis == "y":
        plt.yticks(ticks)
        plt.ylim(0, max(ticks[-1], room))
    else:
        plt.xticks(ticks)
        plt.xlim(0, max(ticks[-1], room))


MIN_PLOT = (30, 8)
"""Columns and lines (its title's line included) a plot needs: on less, `figure_text` gives
the figure as lines of text (a plot's frame, ticks and labels would take all the room)."""


def title(figure: str, stats: ReadingStats) -> str:
    """The headline of the figure ``figure`` (one of `FIGURES`): what it shows and its
    totals, or that there is nothing to show. KeyError for an unknown figure."""
    if figure == "sources":
        daily = stats.by_source
        n = len(daily.days)
        if daily.empty:
            return f"{TITLES['sources']}: no feed in the last {n} days"
        total = sum(s.total for s in daily.series)
        return (
            f"{TITLES['sources']}, last {n} days ({total:,} {'paper' if total == 1 else 'papers'})"
        )
    if figure == "triage":
        daily = stats.triage
        if daily.empty:
            return f"{TITLES['triage']}: nothing read or starred in {len(daily.days)} days"
        totals = ", ".join(f"{s.total:,} {s.name}" for s in daily.series)
        return f"{TITLES['triage']} ({totals})"
    if figure == "tags":
        if not stats.tags:
            return f"{TITLES['tags']}: no tags yet"
        return f"{TITLES['tags']}: papers, the starred first (★)"
    if figure != "inbox":
        raise KeyError(figure)
    inbox = stats.inbox
    if not inbox.unread:
        return f"{TITLES['inbox']}: the inbox is empty"
    return (
        f"{TITLES['inbox']}: {inbox.unread:,} unread, {inbox.older_than_week:,} older than a week"
    )


def has_plot(figure: str, stats: ReadingStats) -> bool:
    """Whether the figure has anything to plot (else its `title` says all there is).
    KeyError for an unknown figure."""
    return {
        "sources": not stats.by_source.empty,
        "triage": not stats.triage.empty,
        "tags": bool(stats.tags),
        "inbox": bool(stats.inbox.unread),
    }[figure]


def summary(figure: str, stats: ReadingStats) -> list[str]:
    """The figure as text lines, for a size too small to plot it: each series' total (and
    today's count), each tag's papers and starred papers, each age's unread papers."""
    if not has_plot(figure, stats):
        return []
    if figure in ("sources", "triage"):
        daily = stats.by_source if figure == "sources" else stats.triage
        return [f"{s.name}: {s.total:,}, today {s.counts[-1]:,}" for s in daily.series]
    if figure == "tags":
        return [f"{screen_text(t.tag)}: {t.papers:,} ★{t.starred:,}" for t in stats.tags]
    return [f"{label}: {n:,}" for label, n in stats.inbox.buckets]


def draw(
    plt: Any, figure: str, stats: ReadingStats, *, width: int, height: int, color: bool = True
) -> bool:
    """Draw the figure ``figure`` (one of `FIGURES`) of ``stats`` on ``plt``, a plotext figure
    (`textual_plotext.Plot`) cleared beforehand, without its title (`title`: plotext drops a
    title wider than the plot's canvas, which long tag labels narrow).

    ``width``, ``height``: the plot's size in columns and lines (where the date labels and the
    legend go). ``color``: False tells series apart by their marks, for output without
    colour. False (nothing drawn) when the figure has nothing to plot (`has_plot`) or its
    labels leave it no room. KeyError for an unknown figure."""
    drawers = {
        "sources": _draw_sources,
        "triage": _draw_triage,
        "tags": _draw_tags,
        "inbox": _draw_inbox,
    }
    drawer = drawers[figure]
    if not has_plot(figure, stats):
        return False
    return drawer(plt, stats, width, height, color)


def _draw_sources(plt: Any, stats: ReadingStats, width: int, height: int, color: bool) -> bool:
    daily = stats.by_source
    n = len(daily.days)
    series = daily.series
    marks = {} if color else {"marker": list(BAR_MARKS[: len(series)])}
    plt.stacked_bar(
        list(range(n)), [list(s.counts) for s in series], labels=[s.name for s in series], **marks
    )
    _date_ticks(plt, daily.days, width)  # (after the bars, which set ticks of their own)
    top = max(map(sum, zip(*(s.counts for s in series), strict=True)))
    _value_axis(plt, top, height, legend=len(series))
    return True


def _draw_triage(plt: Any, stats: ReadingStats, width: int, height: int, color: bool) -> bool:
    daily = stats.triage
    n = len(daily.days)
    _date_ticks(plt, daily.days, width)
    for s, mark in zip(daily.series, LINE_MARKS, strict=False):
        plt.plot(list(range(n)), list(s.counts), label=s.name, marker="braille" if color else mark)
    top = max(max(s.counts) for s in daily.series)
    _value_axis(plt, top, height, legend=len(daily.series))
    return True


TAG_BARS = 12  # columns the tags' bars need at least, their frame included


def tag_labels(tags: Sequence[TagCount], width: int) -> list[str] | None:
    """The tags plot's labels in a plot ``width`` columns wide: each tag (without the
    characters whose width depends on the terminal, `screen_text`) cut to what the bars
    leave, then how many of its papers are starred; right-aligned by their width on screen
    (plotext aligns by length: a tag in Chinese is twice as wide as long; `fit_width` then
    takes the extra columns back). None when not even 4 columns of a tag fit."""
    stars = [f" ★{t.starred}" for t in tags]
    room = min(TAG_WIDTH, width - TAG_BARS - max(map(cell_len, stars)))
    if room < 4:
        return None
    names = [short(screen_text(t.tag), room) + star for t, star in zip(tags, stars, strict=True)]
    widest = max(map(cell_len, names))
    return [" " * (widest - cell_len(n)) + n for n in names]


def _draw_tags(plt: Any, stats: ReadingStats, width: int, height: int, color: bool) -> bool:
    # No legend (it would lie over the bars, which start at its corner): each label says
    # how many of the tag's papers are starred, and the bar's first part is theirs.
    ordered = list(reversed(stats.tags))  # (drawn bottom up: the most on top)
    names = tag_labels(ordered, width)
    if names is None or height < len(ordered) + 3:  # (a bar a line, the frame, the ticks)
        return False
    starred = [t.starred for t in ordered]
    other = [t.papers - t.starred for t in ordered]
    marks = {} if color else {"marker": list(BAR_MARKS[:2])}
    plt.stacked_bar(names, [starred, other], orientation="horizontal", width=0.6, **marks)
    _value_axis(plt, max(t.papers for t in ordered), width, axis="x")
    return True


def _draw_inbox(plt: Any, stats: ReadingStats, width: int, height: int, color: bool) -> bool:
    inbox = stats.inbox
    labels = [label for label, _ in inbox.buckets]
    counts = [n for _, n in inbox.buckets]
    plt.bar(labels, counts, width=0.6, **({} if color else {"marker": BAR_MARKS[0]}))
    _value_axis(plt, max(counts), height)
    return True


def figure_text(
    figure: str, stats: ReadingStats, width: int, height: int, *, theme: str, color: bool
) -> str:
    """The figure ``figure`` as terminal text of at most ``width`` x ``height`` cells: its
    `title` (centred; on two lines, or cut, when wider than ``width``), then its plot
    (plotext, in ``theme``; ANSI colours when ``color``, else plain with the series told
    apart by marks) in the lines left. Below `MIN_PLOT`, or when its labels leave the bars
    no room, the title (wrapped) and the figure as text lines (`summary`) instead, cut to
    ``height`` lines (the last "…" when cut); a figure with nothing to plot is its title
    alone."""
    if width <= 0 or height <= 0:
        return ""
    head = title(figure, stats)
    wrapped = [short(line, width) for line in textwrap.wrap(head, width)] or [""]
    top = wrapped if len(wrapped) <= 2 else [short(head, width)]  # (over the plot: 2 lines)
    room = height - len(top)
    if has_plot(figure, stats) and width >= MIN_PLOT[0] and room >= MIN_PLOT[1] - 1:
        from textual_plotext import Plot

        plt = Plot()
        plt._limit_size(False, False)  # (plotext would cut it to the terminal's size)
        plt.plotsize(width, room)
        plt.theme(theme)
        if draw(plt, figure, stats, width=width, height=room, color=color):
            text = fit_width(plt.build(), width)
            text = text if color else plt.uncolorize(text)
            return "\n".join([*_title_lines(plt, top, width, color), text])
    lines = wrapped + [short(line, width) for line in summary(figure, stats)]
    if len(lines) > height:  # (the title's first line kept on a plot one line high)
        lines = (lines[: max(height - 1, 1)] + ["…"])[:height]
    return "\n".join(lines)


def _title_lines(plt: Any, lines: list[str], width: int, color: bool) -> list[str]:
    """The title's ``lines`` centred over a plot ``width`` columns wide; with ``color``, in
    the plot's colours (its ticks' on its background, as plotext draws a title)."""
    import plotext  # (textual-plotext's own colorize passes plotext a wrong keyword)

    out = []
    for line in lines:
        pad = (width - cell_len(line)) // 2
        if not color:
            out.append(" " * pad + line)
            continue
        full = " " * pad + line + " " * (width - pad - cell_len(line))
        look = plt.monitor
        out.append(plotext.colorize(full, look.ticks_color, look.ticks_style, look.axes_color))
    return out


def plot_text(figure: str, stats: ReadingStats, width: int, height: int, color: bool) -> str:
    """One figure drawn as terminal text, ``width`` x ``height`` characters at most (ANSI
    colours when ``color``), on a figure of its own (no plotext state shared with anything
    else): `figure_text`."""
    return figure_text(figure, stats, width, height, theme="pro" if color else "clear", color=color)


_SGR = re.compile(r"\x1b\[[0-9;]*m")
_LEAD = re.compile(r"((?:\x1b\[[0-9;]*m)*)( +)")


def fit_width(text: str, width: int) -> str:
    """plotext's ``text`` with each line ``width`` columns wide on screen: plotext counts
    characters, so a line holding wide ones (a tag in Chinese) comes out wider by one column
    per wide character; as many of the line's leading blanks are taken off (the labels are
    padded to one width on screen first, so those blanks are plotext's extra padding)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        extra = cell_len(_SGR.sub("", line)) - width
        lead = _LEAD.match(line)
        if extra > 0 and lead:
            cut = min(extra, len(lead.group(2)))
            lines[i] = lead.group(1) + lead.group(2)[cut:] + line[lead.end() :]
    return "\n".join(lines)


def render_plot(
    library: Library,
    width: int,
    height: int,
    today: date | None = None,
    *,
    color: bool = False,
    stats: ReadingStats | None = None,
) -> str:
    """The four plots of ``library`` as terminal text, ``width`` columns wide (a 2 x 2 grid
    from 100 columns, else one above the other, a blank line between) and ``height`` lines
    high (at least 12 a plot; on a width too small to plot, `figure_text`'s text lines),
    as of ``today`` (default: the local date). ``color``: ANSI colours (for a
    terminal), else plain text with series told apart by their marks. ``stats``: figures
    already computed (`reading_stats`). An empty library: one line saying there is nothing
    to plot yet. The text ends in a newline; the caller prints it."""
    if stats is None:
        stats = reading_stats(library, today)
    if stats.empty:
        return EMPTY + "\n"
    cols = 2 if width >= 100 else 1
    rows = len(FIGURES) // cols
    w = max(1, width // cols)
    h = max(12, height // rows)
    lines: list[str] = []
    for r in range(rows):
        texts = [plot_text(f, stats, w, h, color) for f in FIGURES[r * cols : (r + 1) * cols]]
        if cols == 1:  # (one above the other: each as long as it is, a blank line between)
            lines += [*texts[0].splitlines(), ""] if r < rows - 1 else texts[0].splitlines()
            continue
        blocks = [_block(text, w, h) for text in texts]
        lines += ["".join(parts).rstrip() for parts in zip(*blocks, strict=True)]
    return "\n".join(lines) + "\n"


def _block(text: str, width: int, height: int) -> list[str]:
    """A plot's lines, ``height`` of them, each padded to ``width`` columns (plotext's own
    lines may come shorter; an ANSI line's escapes take no column)."""
    out = []
    for line in (text.splitlines() + [""] * height)[:height]:
        shown = cell_len(_SGR.sub("", line))
        out.append(line + " " * max(0, width - shown))
    return out


EMPTY = "Nothing to plot yet: the library holds no papers (import a feed, or papertui fetch)."
