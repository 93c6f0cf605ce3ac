"""The detail pane: one paper composed for reading, in either language first.

Every piece of feed text goes through `Content(...)`/`Content.assemble(...)` as plain text, so a
title such as ``[bold]x[/]`` is shown as those characters. The pane keeps a fixed set of
`Static` widgets and only updates them, so moving the cursor never mounts anything.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from ..export import authors_line, badge, links_of
from ..models import Paper, PaperState
from ..text import clean

if TYPE_CHECKING:
    from ..library import Library

LABEL = "bold $text-muted"


def _text(value: str) -> str:
    """Feed text made safe for the screen (no escapes), paragraphs kept."""
    return clean(value or "").strip()


class Section(Vertical):
    """A heading and its body; hidden while the body is empty."""

    def __init__(self, heading: str, *, id: str) -> None:  # noqa: A002
        super().__init__(id=id, classes="section")
        self.heading = heading

    def compose(self) -> ComposeResult:
        yield Static(Content(self.heading), classes="heading")
        yield Static(classes="body")

    def show(self, body: str | Content) -> None:
        content = body if isinstance(body, Content) else Content(_text(body))
        self.query_one(".body", Static).update(content)
        self.set_class(not content.plain.strip(), "-hidden")


class PaperDetail(VerticalScroll, can_focus=True):
    """Everything the library knows about the highlighted paper."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Scroll down", show=False, id="detail.down"),
        Binding("k", "scroll_up", "Scroll up", show=False, id="detail.up"),
    ]
    """j/k scroll the text when this pane has focus (Tab moves here)."""

    chinese_first: reactive[bool] = reactive(False)
    """Show the Chinese title and abstract before the English ones."""

    def __init__(self, library: Library, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.library = library
        self.paper_id: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="titles"):
            yield Static(id="title-en", classes="title")
            yield Static(id="title-zh", classes="title")
        yield Static(id="state-line")
        yield Static(id="meta")
        yield Section("Links", id="links")
        yield Section("中文摘要 · Summary", id="summary-zh")
        yield Section("AI总结 · AI summary", id="ai-summary")
        yield Section("专题命中 · Topic hit", id="topic-hit")
        with Vertical(id="abstracts"):
            yield Section("Abstract", id="abstract-en")
            yield Section("中文摘要 · Chinese abstract", id="abstract-zh")
        yield Section("Seen in", id="seen-in")
        yield Static(id="empty", classes="-hidden")

    def _style_titles(self) -> None:
        """The title in the first language is the heading; the other one is quieter."""
        en = self.query_one("#title-en", Static)
        zh = self.query_one("#title-zh", Static)
        has_both = not zh.has_class("-hidden")
        en.set_class(has_both and self.chinese_first, "-secondary")
        zh.set_class(not self.chinese_first, "-secondary")

    def watch_chinese_first(self, value: bool) -> None:
        self._style_titles()
        for container, en, zh in (
            ("#titles", "#title-en", "#title-zh"),
            ("#abstracts", "#abstract-en", "#abstract-zh"),
        ):
            parent = self.query_one(container)
            first, second = (zh, en) if value else (en, zh)
            parent.move_child(self.query_one(first), before=0)
            parent.move_child(self.query_one(second), after=0)

    def show_paper(self, pid: str | None) -> None:
        """Show ``pid`` (None: the view is empty); reads the library afresh."""
        if pid != self.paper_id:
            self.scroll_home(animate=False)
        self.paper_id = pid
        empty = pid is None or pid not in self.library
        for child in self.children:
            child.set_class(empty, "-hidden")
        empty_widget = self.query_one("#empty", Static)
        empty_widget.set_class(not empty, "-hidden")
        if empty:
            empty_widget.update(Content("Nothing selected: this view has no papers."))
            return
        assert pid is not None
        self._fill(self.library.get(pid), self.library.state(pid))

    def _fill(self, paper: Paper, state: PaperState) -> None:
        q = self.query_one
        title_en, title_zh = _text(paper.title), _text(paper.title_zh)
        q("#title-en", Static).update(Content(title_en or title_zh or "(untitled)"))
        q("#title-zh", Static).update(Content(title_zh if title_en else ""))
        q("#title-zh", Static).set_class(not (title_en and title_zh), "-hidden")
        self._style_titles()
        q("#state-line", Static).update(self._state_line(state))
        q("#meta", Static).update(self._meta(paper))
        q("#links", Section).show(
            Content.assemble(
                *[
                    part
                    for label, url in links_of(paper)
                    for part in ((f"{label:<13}", LABEL), _text(url), "\n")
                ]
            ).rstrip()
        )
        summary: list[str | tuple[str, str]] = []
        for label, value in (
            ("核心贡献 ", paper.contribution_zh),
            ("方法 ", paper.method_zh),
            ("关键发现 ", paper.findings_zh),
        ):
            if value.strip():
                summary += [(label, LABEL), _text(value), "\n"]
        q("#summary-zh", Section).show(Content.assemble(*summary).rstrip())
        q("#ai-summary", Section).show(paper.ai_summary)
        q("#topic-hit", Section).show(paper.topic_hit)
        q("#abstract-en", Section).show(paper.abstract)
        q("#abstract-zh", Section).show(paper.abstract_zh)
        seen: list[str | tuple[str, str]] = []
        for src in paper.sources:
            seen += [
                (f"{badge(src.format):<11}", LABEL),
                f"{src.feed_date or 'undated':<11}",
                (_text(PurePath(src.origin).name or src.origin), "$text-muted"),
                "\n",
            ]
        q("#seen-in", Section).show(Content.assemble(*seen).rstrip())

    def _state_line(self, state: PaperState) -> Content:
        parts: list[str | tuple[str, str]] = [
            ("read" if state.read else "● unread", "$text-muted" if state.read else "bold $accent")
        ]
        if state.starred:
            parts += ["  ", ("★ starred", "bold $warning")]
        if state.tags:
            parts += ["  ", (" ".join("#" + _text(t) for t in state.tags), "$secondary")]
        if state.note.strip():
            parts += ["  ", ("✎ note", "$text-muted")]
        return Content.assemble(*parts)

    def _meta(self, paper: Paper) -> Content:
        rows: list[tuple[str, str]] = []
        authors = authors_line(paper)
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
            rows.append(("arXiv", paper.arxiv_id))
        if paper.comments:
            rows.append(("Comments", paper.comments))
        parts: list[str | tuple[str, str]] = []
        for label, value in rows:
            parts += [(f"{label:<13}", LABEL), " ".join(_text(value).split()), "\n"]
        return Content.assemble(*parts).rstrip()
