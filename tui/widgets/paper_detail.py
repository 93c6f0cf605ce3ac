"""The detail pane: one paper composed for reading, in either language first.

A line-API widget (like the list): the paper is assembled into one `Content`, wrapped to the
pane's width once, and drawn line by line. Showing another paper repaints this pane only; it
never asks Textual for a new layout of the screen, which is what kept each cursor move above
a frame when the pane was a tree of `Static` widgets (a layout costs ~12 ms at 120×40).

Every piece of feed text goes into the `Content` as plain text, so a title such as
``[bold]x[/]`` is shown as those characters, and nothing in it is a link or an action.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.style import Style as RichStyle
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style

from ..export import authors_line, links_of
from ..library import LibraryError
from ..models import Paper, PaperState, badge
from ..tags import hash_tag
from ..text import clean, line_breaks, printable, readable_links, readable_tex, screen_text

if TYPE_CHECKING:
    from ..library import Library

Part = str | tuple[str, Style]
EMPTY_TEXT = "Nothing selected: this view has no papers."


def _text(value: str) -> str:
    """Feed text made safe for the screen (no escapes, no emoji of terminal-dependent
    width: `screen_text`), paragraphs kept."""
    text = clean(value or "").strip()
    if text.isascii():
        return text
    return "\n".join(screen_text(line) if line else "" for line in text.split("\n"))


def wrap(content: Content, width: int) -> list[Content]:
    """``content`` as the lines of a pane ``width`` cells wide, styles kept. English lines
    wrap as Textual wraps them; a line with CJK text follows `line_breaks` (no line starts
    with a comma or other closing punctuation, no Latin word cut where a space or a CJK
    character beside it allows a break)."""
    lines: list[Content] = []
    for line in content.split(allow_blank=True):
        if line.plain.isascii():
            lines += line.wrap(width)
            continue
        pieces = line.divide(line_breaks(line.plain, width))
        lines += [piece.rstrip().truncate(width) for piece in pieces]
    return lines


class PaperDetail(ScrollView, can_focus=True):
    """Everything the library knows about the highlighted paper."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Scroll down", show=False, id="detail.down"),
        Binding("k", "scroll_up", "Scroll up", show=False, id="detail.up"),
        Binding("g", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="detail.bottom"),
    ]
    """j/k (and the arrows, PgUp/PgDn) scroll the text when this pane has focus (Tab)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paper-detail--title",
        "paper-detail--title-secondary",
        "paper-detail--label",
        "paper-detail--heading",
        "paper-detail--unread",
        "paper-detail--read",
        "paper-detail--starred",
        "paper-detail--tags",
        "paper-detail--muted",
        "paper-detail--empty",
    }

    chinese_first: reactive[bool] = reactive(False)
    """Show the Chinese title and abstract before the English ones."""

    def __init__(self, library: Library, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.library = library
        self.paper_id: str | None = None
        self._told = False  # show_paper called: until then the pane is blank, not "empty"
        self._lines: list[Content] = []  # the paper wrapped to the pane's width
        self._strips: dict[int, Strip] = {}  # the lines drawn so far
        self._base_style: RichStyle | None = None
        self._content = Content("")
        self._generation = 0  # bumped when the library or the styles change
        self._cache: LRUCache[tuple, tuple[Content, list[Content]]] = LRUCache(32)
        # Under the state line, why the "for you" order ranks the paper (set by the app
        # while that order is shown; `Library.score_of`).
        self.show_why = False

    # ------------------------------------------------------------------ data
    @property
    def text(self) -> str:
        """The plain text shown (every line, also those scrolled out of view)."""
        return self._content.plain

    def show_paper(self, pid: str | None) -> None:
        """Show ``pid`` (None: the view is empty); reads the library afresh."""
        if pid != self.paper_id:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.paper_id = pid
        self._told = True
        self._rebuild()

    def invalidate(self) -> None:
        """Forget every composed paper (the library changed); `show_paper` reads it afresh."""
        self._generation += 1
        self._cache.clear()

    def watch_chinese_first(self) -> None:
        self._rebuild()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()  # the theme or the focus changed the component styles
        self._strips = {}
        self._base_style = None

    def on_resize(self, event: events.Resize) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        """Wrap the paper to the pane's width; sets the scrollable height without a layout."""
        width = self.scrollable_content_region.width
        if width <= 0 or not self.is_attached:
            return
        folded = self._folded()
        key = (
            self.paper_id,
            self._told,
            width,
            folded,
            self.chinese_first,
            self.show_why,
            self._generation,
        )
        cached = self._cache.get(key)
        if cached is None:
            content = self._assemble(width)
            cached = self._cache[key] = (content, wrap(content, width))
        self._content, self._lines = cached
        self._strips = {}
        # The pane's size is fixed by the stylesheet and it draws no scrollbar (overflow:
        # hidden; `allow_vertical_scroll` says when it scrolls), so a new paper needs a
        # repaint, never a layout: setting `virtual_size` the usual way would relayout the
        # whole screen on every cursor move, and a scrollbar costs more to draw than the text.
        self.set_reactive(PaperDetail.virtual_size, Size(width, len(self._lines)))
        self.scroll_y = self.validate_scroll_y(self.scroll_y)
        self._show_more()
        self.refresh()

    @property
    def allow_vertical_scroll(self) -> bool:
        return self.max_scroll_y > 0

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._show_more()

    def _show_more(self) -> None:
        """Say in the bottom border how much text is below (there is no scrollbar)."""
        below = len(self._lines) - int(self.scroll_y) - self.scrollable_content_region.height
        self.border_subtitle = f"↓ {below} more" if below > 0 else None

    @property
    def base_style(self) -> RichStyle:
        """The pane's own Rich style (cached: computing it walks every ancestor)."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def render_line(self, y: int) -> Strip:
        """One wrapped line, turned into a `Strip` only when it is on screen."""
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        strip = self._strips.get(index)
        if strip is None:
            if not 0 <= index < len(self._lines):
                return Strip.blank(width, self.base_style)
            line = self._lines[index]
            strip = Strip(line.render_segments(self.visual_style), line.cell_length)
            strip = self._strips[index] = strip.extend_cell_length(width, self.base_style)
        return strip

    # ------------------------------------------------------------------ composing
    def _style(self, name: str) -> Style:
        return self.get_visual_style(f"paper-detail--{name}", partial=True)

    def _assemble(self, width: int) -> Content:
        pid = self.paper_id
        if not self._told:  # (the first paint comes before the list's first highlight)
            return Content("")
        if pid is None or pid not in self.library:
            return Content.assemble((EMPTY_TEXT, self._style("empty")))
        problem = ""
        try:
            paper = self.library.get(pid)
        except LibraryError as err:  # (a truth file changed under the cache: say so)
            paper, problem = self.library.head_paper(pid), str(err)
        state = self.library.state(pid)
        # The titles and the state line, then blocks separated by a blank line.
        parts: list[Part] = [*self._titles(paper), "\n", *self._state_line(state, width)]
        why = self.library.score_of(pid) if self.show_why else None
        if why and why[1]:
            parts += ["\n", (_text(why[1]), self._style("muted"))]
        if problem:
            parts += ["\n\n", (_text(problem), self._style("empty"))]
        rows = self._meta(paper, width)
        heading = self._style("heading")
        named = [(name, body) for name, body in self._sections(paper) if body]
        # What the paper says (summaries, abstracts) before the rest of its record, and where
        # it links and was seen last: the summary shows without scrolling at either size.
        tail = ("Links", "Seen in")
        text = [[(n, heading), "\n", *b] for n, b in named if n not in tail]
        links = [[(n, heading), "\n", *b] for n, b in named if n in tail]
        first = self._rows([r for r in rows if r[0] in ("Authors", "Dates")], width)
        rest = self._rows([r for r in rows if r[0] not in ("Authors", "Dates")], width)
        if self._folded():  # (a short pane: the summary first, then authors and dates)
            blocks = [*text[:1], first, *text[1:], rest, *links]
        else:
            blocks = [first, *text, rest, *links]
        for block in blocks:
            if block:
                parts += ["\n\n", *block]
        return Content.assemble(*parts)

    def _titles(self, paper: Paper) -> list[Part]:
        en, zh = _text(readable_tex(paper.title)), _text(paper.title_zh)
        if not (en and zh):
            return [(en or zh or "(untitled)", self._style("title"))]
        first, second = (zh, en) if self.chinese_first else (en, zh)
        return [(first, self._style("title")), "\n", (second, self._style("title-secondary"))]

    def _state_line(self, state: PaperState, width: int) -> list[Part]:
        """Read, starred, each tag and the note mark, broken between them only when the line
        is wider than ``width`` cells ("✎" at the end of one line and "note" on the next)."""
        items: list[tuple[str, Part]] = [
            (
                "",
                ("read", self._style("read"))
                if state.read
                else ("● unread", self._style("unread")),
            )
        ]
        if state.starred:
            items.append(("  ", ("★ starred", self._style("starred"))))
        for n, tag in enumerate(state.tags):
            items.append((" " if n else "  ", (_text(hash_tag(tag)), self._style("tags"))))
        if state.note.strip():
            items.append(("  ", ("✎ note", self._style("muted"))))
        parts: list[Part] = []
        used = 0
        for gap, (text, style) in items:
            cells = cell_len(text)
            if parts and used + len(gap) + cells > width:
                parts.append("\n")
                used = 0
            elif parts:
                parts.append(gap)
                used += len(gap)
            parts.append((text, style))
            used += cells
        return parts

    def _rows(self, rows: list[tuple[str, str | list[str]]], width: int) -> list[Part]:
        """Label-value lines, the label column `LABEL` cells wide and a long value wrapped
        under its own column. A value given as words (a list) breaks only between them."""
        label = self._style("label")
        room = max(width - LABEL, 10)
        parts: list[Part] = []
        for name, value in rows:
            if parts:
                parts.append("\n")
            words = value if isinstance(value, list) else _text(value).split()
            lines = _pack([_text(w) for w in words], room)
            parts += [(f"{name:<{LABEL}}", label), ("\n" + " " * LABEL).join(lines)]
        return parts

    def _folded(self) -> bool:
        """A short pane (80×24): authors on one line, so the summary shows without scrolling."""
        return 0 < self.scrollable_content_region.height < FOLD_BELOW

    def _meta(self, paper: Paper, width: int) -> list[tuple[str, str | list[str]]]:
        """The label-value rows of ``paper`` (see `_rows`), in their order."""
        rows: list[tuple[str, str | list[str]]] = []
        authors = author_words(paper, max(width - LABEL, 10) if self._folded() else None)
        if authors:
            rows.append(("Authors", authors))
        if paper.organization:
            rows.append(("Organisation", paper.organization))
        if paper.institutions:
            rows.append(("Institutions", paper.institutions))
        if paper.categories:
            rows.append(("Categories", " ".join(paper.categories)))
        if paper.keywords:
            rows.append(("Keywords", ", ".join(paper.keywords)))
        dates = []
        if paper.paper_date:
            dates.append(f"paper {paper.paper_date}")
        if paper.feed_date:
            dates.append(f"feed {paper.feed_date}")
        if dates:
            rows.append(("Dates", " · ".join(dates)))
        numbers = []
        if paper.upvotes is not None:
            numbers.append(f"▲ {paper.upvotes} upvotes")
        if paper.num_comments is not None:
            numbers.append(f"{paper.num_comments} comments")
        if paper.relevance is not None:
            numbers.append(f"relevance {paper.relevance}%")
        if paper.announce_type:
            numbers.append(paper.announce_type)
        if numbers:
            rows.append(("Signals", " · ".join(numbers)))
        if paper.arxiv_id:
            version = f"v{paper.arxiv_version}" if paper.arxiv_version else ""
            rows.append(("arXiv", paper.arxiv_id + version))
        if len(paper.versions) > 1:  # announced more than once: a replacement, a cross-list
            seen = [
                " ".join(
                    str(v) for v in (e.get("announce"), _v(e.get("version")), e.get("date")) if v
                )
                for e in paper.versions
            ]
            rows.append(("History", " · ".join(seen)))
        if paper.comments:
            rows.append(("Comments", paper.comments))
        return rows

    def _sections(self, paper: Paper) -> list[tuple[str, list[Part]]]:
        """(heading, body) in reading order; empty bodies are left out by the caller."""
        label = self._style("label")
        summary: list[Part] = []
        for name, value in (
            ("核心贡献 ", paper.contribution_zh),
            ("方法 ", paper.method_zh),
            ("关键发现 ", paper.findings_zh),
        ):
            if value.strip():
                summary += ["\n"] if summary else []
                summary += [(name, label), _text(value)]
        seen: list[Part] = []
        for src in paper.sources:
            seen += ["\n"] if seen else []
            seen += [
                (f"{badge(src.format):<11}", label),
                f"{src.feed_date or 'undated':<11}",
                # (a file name shows its escapes, as the command line prints it: `printable`)
                (printable(PurePath(src.origin).name or src.origin), self._style("muted")),
            ]
        abstracts = [
            ("Abstract", self._plain(readable_links(readable_tex(paper.abstract)))),
            ("中文摘要 · Chinese abstract", self._plain(paper.abstract_zh)),
        ]
        if self.chinese_first:
            abstracts.reverse()
        return [
            ("Links", self._links(paper)),
            ("中文摘要 · Summary", summary),
            ("AI总结 · AI summary", self._plain(paper.ai_summary)),
            ("专题命中 · Topic hit", self._plain(paper.topic_hit)),
            *abstracts,
            ("Seen in", seen),
        ]

    def _links(self, paper: Paper) -> list[Part]:
        label = self._style("label")
        parts: list[Part] = []
        for name, url in links_of(paper):
            parts += ["\n"] if parts else []
            name = name if cell_len(name) < LABEL else "Page"  # (the address names its host)
            parts += [(f"{name:<{LABEL}}", label), _text(url)]
        return parts

    @staticmethod
    def _plain(value: str) -> list[Part]:
        text = _text(value)
        return [text] if text else []


def _v(version: object) -> str:
    return f"v{version}" if version else ""


LABEL = 13  # cells of the label column of the detail's label-value rows
FOLD_BELOW = 12  # a pane shorter than this (lines) shows the authors on one line


def author_words(paper: Paper, room: int | None = None) -> list[str]:
    """The authors line (`authors_line`) as the words it may break between: each name with
    its comma, and "+N more" kept whole. With ``room``, as many names as fit on one line of
    ``room`` cells, the rest counted in "+N more"."""
    names = paper.authors
    if not names:  # "12 authors", or the organization, or nothing
        return authors_line(paper).split()
    for shown in range(len(names), 0, -1) if room is not None else [8]:
        text = authors_line(paper, shown=shown)
        if room is None or cell_len(text) <= room or shown == 1:
            break
    head, _, more = text.rpartition(" +") if " more" in text and " +" in text else (text, "", "")
    words = [n + "," for n in head.split(", ")] if head else []
    if words:
        words[-1] = words[-1].rstrip(",")
    return [*words, f"+{more}"] if more else words


def _pack(words: list[str], room: int) -> list[str]:
    """``words`` in lines of at most ``room`` cells, broken between words only (a word
    longer than a line is cut by the pane's own wrapping)."""
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if line and cell_len(candidate) > room:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines
