"""The papertui app: composes the panes, owns the library handle and the global keys.

Widgets never write to the library: they post messages (or are asked for pending notes) and
this class performs every write, so errors surface in one place as a toast, never a crash.
"""

from __future__ import annotations

import contextlib
import gc
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, ProgressBar, Static
from textual.worker import get_current_worker

from .clipboard import ClipboardError
from .commands import PaperCommands
from .dialogs.confirm import ConfirmDialog
from .dialogs.help import HelpRow, HelpScreen
from .dialogs.import_dialog import ImportDialog
from .dialogs.tags import TagDialog
from .export import export_markdown, paper_line
from .feeds import FeedError, parse_text, text_digest
from .library import SORT_KEYS, ImportReport, Library, LibraryError, QueryError
from .library.core import now_iso
from .library.storage import atomic_write
from .models import Source
from .sources import Loaded, expand, load_source
from .widgets.notes import Notes
from .widgets.paper_detail import PaperDetail
from .widgets.paper_list import PaperList
from .widgets.status import StatusBar, StatusInfo

NARROW_WIDTH = 100  # below this the panes stack and the notes open on demand
SEARCH_DELAY = 0.15  # seconds of quiet typing before the search runs
SORT_NAMES = {
    "feed_date": "feed date",
    "paper_date": "paper date",
    "upvotes": "upvotes",
    "title": "title",
    "added": "date added",
}

Opener = Callable[[str], Any]
Copier = Callable[[str], None]
Paster = Callable[[], str]


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

# Actions that act on papers: hidden from the footer (and refused) while typing in a text box.
PAPER_ACTIONS = {
    "read_next",
    "toggle_read",
    "toggle_star",
    "edit_tags",
    "open_note",
    "toggle_select",
    "mark_all_read",
    "undo",
    "next_unread",
    "prev_unread",
    "open_page",
    "open_pdf",
    "copy_line",
    "copy_abstract",
    "export",
    "import",
    "reload",
    "search",
    "view",
    "cycle_sort",
    "toggle_language",
    "help",
    "quit_key",
}

APP_BINDINGS: list[BindingType] = [
    Binding("space", "read_next", "Read", id="read_next", tooltip="Mark read, next unread"),
    Binding("m", "toggle_read", "Read/unread", show=False, id="toggle_read"),
    Binding("s", "toggle_star", "Star", id="toggle_star"),
    Binding("t", "edit_tags", "Tags", id="edit_tags"),
    Binding("e", "open_note", "Note", id="open_note"),
    Binding("enter", "enter", "Open note", show=False, id="enter"),
    Binding("v", "toggle_select", "Select", show=False, id="toggle_select"),
    Binding("A", "mark_all_read", "All read", show=False, id="mark_all_read"),
    Binding("u", "undo", "Undo", id="undo"),
    Binding("n", "next_unread", "Next unread", show=False, id="next_unread"),
    Binding("p", "prev_unread", "Prev unread", show=False, id="prev_unread"),
    Binding("slash", "search", "Search", id="search"),
    Binding("1", "view('inbox')", "Inbox", show=False, id="view_inbox"),
    Binding("2", "view('starred')", "Starred", show=False, id="view_starred"),
    Binding("3", "view('all')", "All", show=False, id="view_all"),
    Binding("4", "view('today')", "Today", show=False, id="view_today"),
    Binding("S", "cycle_sort", "Sort", show=False, id="cycle_sort"),
    Binding("L", "toggle_language", "Language", show=False, id="toggle_language"),
    Binding("o", "open_page", "Open", show=False, id="open_page"),
    Binding("O", "open_pdf", "PDF", show=False, id="open_pdf"),
    Binding("y", "copy_line", "Copy", show=False, id="copy_line"),
    Binding("Y", "copy_abstract", "Copy abstract", show=False, id="copy_abstract"),
    Binding("x", "export", "Export", show=False, id="export"),
    Binding("i", "import", "Import", show=False, id="import"),
    Binding("r", "reload", "Reload", show=False, id="reload"),
    Binding("escape", "escape", "Clear", show=False, id="escape"),
    Binding("question_mark", "help", "Help", id="help"),
    Binding("q", "quit_key", "Quit", id="quit"),
]
# Priority: the app takes each key the moment it arrives, so a burst such as "/diffusion" or
# "e" + a sentence lands in the box "/" or "e" just focused. `check_action` hands the key on to
# the focused widget whenever a text box or a dialog should have it instead.
APP_BINDINGS = [
    Binding(b.key, b.action, b.description, show=b.show, id=b.id, tooltip=b.tooltip, priority=True)
    for b in APP_BINDINGS  # type: ignore[union-attr]
]
"""Global keys as data: ids make them remappable with `App.set_keymap`."""

# Help screen and palette: (section, binding id or literal keys, description, action or None).
HELP: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    (
        "Move",
        [
            ("j / ↓   k / ↑", "next / previous paper", "list:cursor_down"),
            ("g / Home   G / End", "first / last paper", "list:first"),
            ("PgDn / PgUp", "page down / up", "list:page_down"),
            ("n / p", "next / previous unread paper", "next_unread"),
            ("Tab / shift+Tab", "move between list, detail and note", None),
        ],
    ),
    (
        "Triage",
        [
            ("space", "mark read and go to the next unread", "read_next"),
            ("m", "toggle read / unread", "toggle_read"),
            ("s", "toggle star", "toggle_star"),
            ("t", "edit tags (suggests existing tags)", "edit_tags"),
            ("e / Enter", "open the note (Esc goes back; it saves itself)", "open_note"),
            ("v", "select / unselect (m s t space then act on the selection)", "toggle_select"),
            ("A", "mark everything in this view read (asks first)", "mark_all_read"),
            ("u", "undo the last change (bulk changes are one step)", "undo"),
            ("Esc", "clear the selection, then the search", "escape"),
        ],
    ),
    (
        "Find",
        [
            ("/", "search: words and tag:x is:starred is:unread author:x", "search"),
            ("", "source:hf cat:cs.CV since:2026-06-01  -word excludes", None),
            ("1", "Inbox (unread)", "view('inbox')"),
            ("2", "Starred", "view('starred')"),
            ("3", "All papers", "view('all')"),
            ("4", "Today's feed: papers seen in the newest feed date", "view('today')"),
            ("S", "cycle the sort: feed/paper date, upvotes, title, added", "cycle_sort"),
            ("L", "toggle which language comes first in the detail", "toggle_language"),
        ],
    ),
    (
        "Out",
        [
            ("o", "open the paper's page in the browser", "open_page"),
            ("O", "open the PDF", "open_pdf"),
            ("y", "copy the paper as a Markdown line", "copy_line"),
            ("Y", "copy the abstract", "copy_abstract"),
            ("x", "export the starred papers to a Markdown file", "export"),
            ("i", "import a feed file, folder or the clipboard", "import"),
            ("r", "reload what other papertui processes wrote", "reload"),
        ],
    ),
    (
        "App",
        [
            ("?", "this help", "help"),
            ("ctrl+p", "command palette: every action by name", None),
            ("q", "quit (the note is saved)", "quit_key"),
        ],
    ),
]

HELP_NOTES = [
    "Marking papers read keeps them in the list until you switch view or press r.",
    "The list reloads by itself when another papertui (e.g. a cron import) writes.",
]


@dataclass(frozen=True)
class PaletteEntry:
    """One command of the palette."""

    title: str
    help: str
    action: str


class ImportProgress(Message):
    """A worker read another feed."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ImportProgress)


class ImportFinished(Message):
    """A worker's import is over (``reports`` empty when it failed)."""

    def __init__(self, reports: list[ImportReport], errors: list[str]) -> None:
        super().__init__()
        self.reports = reports
        self.errors = errors


class SearchResults(Message):
    """The search worker's answer for ``text``."""

    def __init__(self, text: str, ids: list[str] | None, error: str | None) -> None:
        super().__init__()
        self.text = text
        self.ids = ids
        self.error = error


class SearchBox(Input):
    """The `/` box: Enter keeps the results and returns to the list, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.clear_search", "Clear search", id="search.clear"),
        Binding("down", "app.focus_list", "To list", id="search.to_list"),
    ]
    """Typing filters the list as you go."""


def default_opener(url: str) -> bool:
    """Open ``url`` in a graphical browser; False where only a terminal browser exists."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if isinstance(browser, webbrowser.GenericBrowser) and browser.name in (
        "www-browser",
        "links",
        "elinks",
        "lynx",
        "w3m",
    ):
        return False  # it would take over this terminal
    return bool(browser.open(url))


def system_copy(text: str) -> None:
    """Copy with pyperclip; raises when there is no system clipboard."""
    import pyperclip

    pyperclip.copy(text)


def system_paste() -> str:
    """Paste with tui.clipboard (raises ClipboardError saying how to import instead)."""
    from .clipboard import paste

    return paste()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collections inside (for building long-lived data, which is never garbage)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _format_errors(errors: list[str]) -> str:
    return "; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")


class PaperTUI(App[None]):
    """A keyboard-first reading list for researchers triaging daily paper feeds."""

    CSS_PATH = "app.tcss"
    TITLE = "papertui"
    COMMANDS = App.COMMANDS | {PaperCommands}
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS + [
        Binding(
            b.key, f"list('{b.action}')", b.description, show=False, id=f"app.{b.id}", priority=True
        )
        for b in PaperList.BINDINGS  # type: ignore[union-attr]
    ]

    def __init__(
        self,
        library: Library,
        *,
        export_dir: Path | None = None,
        opener: Opener | None = None,
        clipboard_copy: Copier | None = None,
        clipboard_paste: Paster | None = None,
        today: date | None = None,
        refresh_interval: float = 2.0,
        cursor_blink: bool = True,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.export_dir = export_dir
        self.opener: Opener = opener or default_opener
        self.clipboard_copy: Copier = clipboard_copy or system_copy
        self.clipboard_paste: Paster = clipboard_paste or system_paste
        self.today = today
        self.refresh_interval = refresh_interval
        self.cursor_blink = cursor_blink
        if theme:
            self.theme = theme
        self.view = "inbox"
        self.search_text = ""
        self.sort_key = "feed_date"
        self.new_since = 0
        self._search_timer: Timer | None = None
        self._importing = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="search-bar", classes="-hidden"):
            yield SearchBox(
                placeholder="words, tag:x is:starred is:unread author:x source:hf cat:cs.CV "
                "since:2026-06-01 -word",
                id="search",
                compact=True,
            )
            yield Static(id="search-error", classes="-hidden")
        with Horizontal(id="main"):
            yield PaperList(self.library, id="papers")
            with Vertical(id="side"):
                yield PaperDetail(self.library, id="detail")
                yield Notes(id="notes", cursor_blink=self.cursor_blink)
        yield ProgressBar(id="import-progress", show_eta=False, classes="-hidden")
        yield Footer()

    @property
    def paper_list(self) -> PaperList:
        return self.query_one("#papers", PaperList)

    @property
    def detail(self) -> PaperDetail:
        return self.query_one("#detail", PaperDetail)

    @property
    def notes(self) -> Notes:
        return self.query_one("#notes", Notes)

    @property
    def search_box(self) -> SearchBox:
        return self.query_one("#search", SearchBox)

    def on_mount(self) -> None:
        self.search_box.cursor_blink = self.cursor_blink
        self.paper_list.border_title = "Papers"
        self.detail.border_title = "Paper"
        self.notes.border_title = "Note"
        try:
            previous = self.library.begin_session()
            self.new_since = self.library.new_since(previous)
        except LibraryError as err:
            self._error(str(err))
        self._layout_for(self.size.width)
        self.requery()
        self.paper_list.focus()
        if self.refresh_interval > 0:
            self.set_interval(self.refresh_interval, self.auto_refresh)
        self.call_after_refresh(self.warm_library)

    @work(thread=True, group="warm", exit_on_error=False)
    def warm_library(self) -> None:
        """After the first paint: read every body and build the search indexes, so the first
        search is as fast as the next (about 5 s of background work at 100,000 papers)."""
        worker = get_current_worker()
        for _attempt in range(3):
            if worker.is_cancelled:
                return
            try:
                # What this builds lives as long as the library and is never cyclic garbage:
                # no collections while it is built (they would rescan it again and again),
                # then out of the collector's sight, so no later collection walks the indexes
                # (without this, a full collection during scrolling took up to 0.7 s).
                with gc_paused():
                    self.library.warm()
                gc.freeze()
                return
            except RuntimeError:  # an import changed the library under us: start again
                continue

    def on_resize(self, event: Any) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        self.screen.set_class(width < NARROW_WIDTH, "-narrow")
        with contextlib.suppress(NoMatches):
            self.query_one(Footer).compact = width < NARROW_WIDTH

    def _focus(self, widget: Any) -> None:
        """Focus now, not after the keys already queued: fast typists land in the right box."""
        self.screen.set_focus(widget)

    # ------------------------------------------------------------------ feedback
    def toast(self, message: str, severity: str = "information", timeout: float = 4) -> None:
        """A notification that shows ``message`` literally (feed text is never markup)."""
        self.notify(message, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def _error(self, message: str) -> None:
        self.toast(message, severity="error", timeout=8)

    def status_info(self) -> StatusInfo:
        counts = self.library.counts()
        return StatusInfo(
            view=VIEWS[self.view].name,
            shown=len(self.paper_list.ids),
            cursor=self.paper_list.cursor,
            total=counts["papers"],
            unread=counts["unread"],
            starred=counts["starred"],
            new_since=self.new_since,
            sort=SORT_NAMES[self.sort_key] + (" ↑" if self.sort_key == "title" else " ↓"),
            query=self.search_text,
            selected=len(self.paper_list.selection),
            chinese_first=self.detail.chinese_first,
        )

    def update_status(self) -> None:
        """Recount and redraw the status bar (after a change, not on every cursor move)."""
        info = self.status_info()
        self.query_one(StatusBar).show(info)
        if self.paper_list.border_title != info.view:
            self.paper_list.border_title = info.view
        self._update_position()

    def _update_position(self) -> None:
        """The cursor's place in the view, on the status bar (one line repainted per key)."""
        plist = self.paper_list
        self.query_one("#status", StatusBar).set_position(plist.cursor, len(plist.ids))

    # ------------------------------------------------------------------ queries
    def view_query(self) -> str:
        if self.view == "today":
            latest = self.library.latest_feed_date()
            return f"feed:{latest}" if latest else ""
        return VIEWS[self.view].query

    def full_query(self, search: str | None = None) -> str:
        search = self.search_text if search is None else search
        return " ".join(part for part in (self.view_query(), search) if part)

    def _run_query(self, search: str) -> list[str]:
        return self.library.query(
            self.full_query(search), sort=self.sort_key, reverse=self.sort_key != "title"
        )

    def requery(self, keep: str | None = None) -> None:
        """Run the current view + search now and show the result."""
        try:
            ids = self._run_query(self.search_text)
        except QueryError as err:
            self._show_search_error(str(err))
            return
        self._show_search_error(None)
        self._show_ids(ids, keep)

    def _show_ids(self, ids: list[str], keep: str | None = None) -> None:
        plist = self.paper_list
        plist.empty_text = (
            "No papers match the search. Esc clears it."
            if self.search_text
            else {
                "inbox": "Inbox zero: nothing unread. 3 shows all papers, i imports a feed.",
                "starred": "Nothing starred yet: s stars the highlighted paper.",
            }.get(self.view, "No papers yet: i imports a feed file or the clipboard.")
        )
        plist.set_ids(ids, keep=keep)
        self.update_status()

    def _show_search_error(self, message: str | None) -> None:
        error = self.query_one("#search-error", Static)
        error.update(Content(message or ""))
        error.set_class(message is None, "-hidden")
        self.search_box.set_class(message is not None, "-invalid-query")
        if message is not None:
            self.query_one("#search-bar").remove_class("-hidden")

    # ------------------------------------------------------------------ list events
    @on(PaperList.Highlighted)
    def _highlighted(self, event: PaperList.Highlighted) -> None:
        # Both panes are line-API widgets: following the cursor repaints them and nothing
        # else. Held keys queue up ahead of these messages, which coalesce (`can_replace`),
        # so the detail is composed once per burst, not once per key.
        self._update_position()
        self.sync_detail()

    def sync_detail(self, force: bool = False) -> None:
        """Show the highlighted paper in the detail and notes panes (now)."""
        try:
            pid = self.paper_list.current
        except NoMatches:  # the app is closing
            return
        if force or pid != self.detail.paper_id:
            self.detail.show_paper(pid)
        if force or pid != self.notes.paper_id:
            self._save_pending_note()
            self.notes.load_note(pid, self.library.state(pid).note if pid else "")

    def _refresh_current(self) -> None:
        """Redraw everything that shows state after a change."""
        self.paper_list.invalidate()
        self.detail.invalidate()
        pid = self.paper_list.current
        self.detail.show_paper(pid)
        if not self.notes.dirty:
            self.notes.load_note(pid, self.library.state(pid).note if pid else "")
        self.update_status()

    # ------------------------------------------------------------------ notes
    def _save_note(self, pid: str, text: str) -> bool:
        try:
            self.library.set_state([pid], "edit note", note=text)
        except LibraryError as err:
            self._error(f"note not saved: {err}")
            return False
        self.notes.border_subtitle = "saved"
        self.paper_list.invalidate()
        self.detail.invalidate()
        if self.detail.paper_id == pid:
            self.detail.show_paper(pid)
        return True

    def _save_pending_note(self) -> None:
        pending = self.notes.take_pending()
        if pending:
            self._save_note(*pending)

    @on(Notes.Save)
    def _notes_save(self, event: Notes.Save) -> None:
        self._save_note(event.paper_id, event.text)

    @on(Notes.Changed)
    def _notes_changed(self, event: Notes.Changed) -> None:
        if self.notes.dirty:
            self.notes.border_subtitle = "editing…"

    @on(Notes.Leave)
    def _notes_leave(self) -> None:
        self._leave_note()

    def _leave_note(self) -> None:
        self._save_pending_note()
        self.screen.remove_class("-notes-open")
        self._focus(self.paper_list)

    # ------------------------------------------------------------------ action guards
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("escape", "enter"):
            if isinstance(self.screen, ModalScreen):
                return False
            # Escape leaves a note or the search box; Enter submits the search, not a note.
            return not (action == "enter" and isinstance(self.focused, Notes))
        if action in PAPER_ACTIONS or action == "list":
            if isinstance(self.screen, ModalScreen):
                return False
            if isinstance(self.focused, (Notes, Input)):
                return False
            if action == "list" and not isinstance(self.focused, PaperList):
                return False  # j/k scroll the detail when it has focus
        return True

    def action_list(self, action: str) -> None:
        """Movement keys, taken by the app in key order (see APP_BINDINGS)."""
        getattr(self.paper_list, f"action_{action}")()
        self._update_position()
        self.sync_detail()

    async def action_quit_key(self) -> None:
        await self.action_quit()

    def _targets(self) -> list[str]:
        """The selection (in list order) or else the highlighted paper."""
        plist = self.paper_list
        if plist.selection:
            return [pid for pid in plist.ids if pid in plist.selection]
        return [plist.current] if plist.current else []

    def _change(self, ids: list[str], label: str, **changes: Any) -> int | None:
        """One undoable library write; errors become a toast."""
        self.sync_detail()
        self._save_pending_note()
        try:
            changed = self.library.set_state(ids, label, **changes)
        except LibraryError as err:
            self._error(str(err))
            return None
        if len(ids) > 1:
            self.paper_list.clear_selection()
        self._refresh_current()
        return changed

    def _no_paper(self) -> None:
        self.toast("No paper here: this view is empty.", severity="warning")

    # ------------------------------------------------------------------ triage
    def action_read_next(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        bulk = len(ids) > 1
        if self._change(ids, "mark read", read=True) is None:
            return
        if bulk:
            self.toast(f"Marked {len(ids)} papers read")
        self._go_unread(1, quiet=False)

    def action_toggle_read(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        read = not all(self.library.raw_state(pid).get("read") for pid in ids)
        label = "mark read" if read else "mark unread"
        if self._change(ids, label, read=read) is not None and len(ids) > 1:
            self.toast(f"Marked {len(ids)} papers {'read' if read else 'unread'}")

    def action_toggle_star(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        star = not all(self.library.raw_state(pid).get("starred") for pid in ids)
        label = "star" if star else "unstar"
        if self._change(ids, label, starred=star) is not None and len(ids) > 1:
            self.toast(f"{'Starred' if star else 'Unstarred'} {len(ids)} papers")

    def action_toggle_select(self) -> None:
        pid = self.paper_list.current
        if pid is None:
            return self._no_paper()
        self.paper_list.toggle_selected(pid)
        self.paper_list.action_cursor_down()
        self.update_status()

    def action_edit_tags(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        states = [self.library.raw_state(pid).get("tags", []) for pid in ids]
        common = [t for t in states[0] if all(t in tags for tags in states[1:])]
        if len(ids) == 1:
            title = self.library.raw(ids[0])
            subject = title.get("title") or title.get("title_zh") or "(untitled)"
        else:
            subject = f"{len(ids)} selected papers"
        known = [t for t, _ in self.library.all_tags().most_common()]

        def done(tags: list[str] | None) -> None:
            if tags is None:
                self.toast("Tags unchanged")
                return
            if len(ids) == 1:
                changed = self._change(ids, "tag", tags=tags)
            else:
                add = [t for t in tags if t not in common]
                remove = [t for t in common if t not in tags]
                changed = self._change(ids, "tag", add_tags=add, remove_tags=remove)
            if changed is not None:
                shown = " ".join("#" + t for t in tags) or "no tags"
                self.toast(f"Tags: {shown}" + (f" on {len(ids)} papers" if len(ids) > 1 else ""))

        self.push_screen(TagDialog(subject, common, known), done)

    def action_open_note(self) -> None:
        if self.paper_list.current is None:
            return self._no_paper()
        self.sync_detail()
        self.screen.add_class("-notes-open")
        self.notes.border_subtitle = ""
        self._focus(self.notes)

    def action_mark_all_read(self) -> None:
        ids = list(self.paper_list.ids)
        unread = [pid for pid in ids if not self.library.raw_state(pid).get("read")]
        if not unread:
            self.toast("Everything in this view is already read")
            return
        view = VIEWS[self.view].name
        if self.search_text:
            view += f" (search: {self.search_text})"

        def done(yes: bool | None) -> None:
            if not yes:
                self.toast("Nothing marked")
                return
            if self._change(unread, "mark all read", read=True) is not None:
                self.toast(f"Marked {len(unread)} papers read (u undoes)")

        self.push_screen(
            ConfirmDialog(
                f"Mark all {len(unread)} unread papers in this view read?",
                f"View: {view}. One undo step (u) restores them.",
                yes="Mark read",
            ),
            done,
        )

    def action_undo(self) -> None:
        self._save_pending_note()
        try:
            label = self.library.undo()
        except LibraryError as err:
            self._error(str(err))
            return
        if label is None:
            self.toast("Nothing to undo")
            return
        self._refresh_current()
        self.toast(f"Undone: {label}")

    def _go_unread(self, step: int, quiet: bool = False) -> None:
        index = self.paper_list.find_unread(step)
        if index is None:
            if not quiet:
                where = "below" if step > 0 else "above"
                self.toast(f"No more unread papers {where}")
            return
        self.paper_list.move_to(index)

    def action_next_unread(self) -> None:
        self._go_unread(1)

    def action_prev_unread(self) -> None:
        self._go_unread(-1)

    def action_enter(self) -> None:
        if self.focused is self.search_box:
            self._submit_search(self.search_box.value)
        else:
            self.action_open_note()

    def action_escape(self) -> None:
        if self.focused is self.notes:
            self._leave_note()
        elif self.focused is self.search_box:
            self.action_clear_search()
        elif self.paper_list.selection:
            self.paper_list.clear_selection()
            self.update_status()
            self.toast("Selection cleared")
        elif self.search_text:
            self.action_clear_search()

    # ------------------------------------------------------------------ find
    def action_search(self) -> None:
        self.query_one("#search-bar").remove_class("-hidden")
        self._focus(self.search_box)

    def action_focus_list(self) -> None:
        self._focus(self.paper_list)

    def action_clear_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self.workers.cancel_group(self, "search")
        self.search_text = ""
        with self.search_box.prevent(Input.Changed):
            self.search_box.value = ""
        self.query_one("#search-bar").add_class("-hidden")
        self._show_search_error(None)
        self.requery()
        self._focus(self.paper_list)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._search(event.value))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._submit_search(event.value)

    def _submit_search(self, value: str) -> None:
        """Enter in the search box: search now and go back to the list."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search(value)
        self._focus(self.paper_list)
        if not value.strip():
            self.query_one("#search-bar").add_class("-hidden")

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, text: str) -> None:
        """Run the query off the UI thread so typing never waits for it."""
        worker = get_current_worker()
        for _attempt in range(3):
            try:
                ids = self._run_query(text)
                error = None
                break
            except QueryError as err:
                ids, error = None, str(err)
                break
            except RuntimeError:  # the library changed under us (an import): try again
                continue
        else:
            return
        if not worker.is_cancelled:
            self.post_message(SearchResults(text, ids, error))

    @on(SearchResults)
    def _search_results(self, event: SearchResults) -> None:
        if event.text != self.search_box.value and self.search_box.has_focus:
            return  # typing went on; a newer search is coming
        if event.error is not None or event.ids is None:
            self._show_search_error(event.error)
            return
        self.search_text = event.text.strip()
        self._show_search_error(None)
        self._show_ids(event.ids)

    def action_view(self, name: str) -> None:
        self.view = name
        self.paper_list.clear_selection()
        self.requery()
        query = self.view_query()
        self.toast(
            f"{VIEWS[name].name}: {len(self.paper_list.ids)} papers"
            + (f" ({query})" if query else ""),
            timeout=2,
        )

    def action_cycle_sort(self) -> None:
        keys = list(SORT_KEYS)
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self.requery(keep=self.paper_list.current)
        self.toast(f"Sorted by {SORT_NAMES[self.sort_key]}", timeout=2)

    def action_toggle_language(self) -> None:
        self.detail.chinese_first = not self.detail.chinese_first
        self.update_status()
        self.toast("Chinese first" if self.detail.chinese_first else "English first", timeout=2)

    # ------------------------------------------------------------------ out
    def _current_paper(self) -> Any:
        pid = self.paper_list.current
        return self.library.get(pid) if pid else None

    def _open(self, kind: str) -> None:
        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        from .export import links_of

        links = dict(links_of(paper))
        if kind == "PDF":
            url = links.get("PDF")
        else:
            url = links.get("arXiv") or links.get("Hugging Face") or links.get("Code")
        if not url:
            what = "PDF" if kind == "PDF" else "link"
            self.toast(f"This paper has no {what} (its feed gave no arXiv id or URL)", "warning")
            return
        self._open_url(url, kind)

    @work(thread=True, group="open", exit_on_error=False)
    def _open_url(self, url: str, kind: str) -> None:
        try:
            opened = self.opener(url)
        except Exception as err:  # a browser launcher can fail in many ways
            self.call_from_thread(self._error, f"could not open {url}: {err}")
            return
        if opened is False:
            self.call_from_thread(self._copy, url, f"No browser here; {kind} link")
        else:
            self.call_from_thread(self.toast, f"Opened {kind}: {url}")

    def action_open_page(self) -> None:
        self._open("page")

    def action_open_pdf(self) -> None:
        self._open("PDF")

    def _copy(self, text: str, what: str) -> None:
        try:
            self.clipboard_copy(text)
            how = "copied"
        except Exception:  # pyperclip raises several kinds where there is no clipboard
            self.copy_to_clipboard(text)
            how = "no system clipboard: sent to the terminal's clipboard (OSC 52)"
        self.toast(f"{what} {how}")

    def action_copy_line(self) -> None:
        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        self._copy(paper_line(paper), "Markdown line")

    def action_copy_abstract(self) -> None:
        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        text = paper.abstract or paper.abstract_zh
        if not text:
            self.toast("This paper has no abstract", "warning")
            return
        self._copy(text, "Abstract")

    def export_path(self) -> Path:
        folder = self.export_dir or Path.home()
        return folder / f"papertui-export-{(self.today or date.today()).isoformat()}.md"

    def action_export(self) -> None:
        self._save_pending_note()
        lib = self.library
        ids = lib.query("is:starred", sort=self.sort_key, reverse=self.sort_key != "title")
        if not ids:
            self.toast("Nothing starred to export: s stars a paper", "warning")
            return
        text = export_markdown(((lib.get(pid), lib.state(pid)) for pid in ids), today=self.today)
        target = self.export_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, text.encode("utf-8"))
        except (OSError, LibraryError) as err:
            self._error(f"export failed: {err}")
            return
        self.toast(f"Exported {len(ids)} starred papers to {target}", timeout=8)

    # ------------------------------------------------------------------ import
    def action_import(self) -> None:
        if self._importing:
            self.toast("An import is already running", "warning")
            return

        def done(choice: tuple[str, str] | None) -> None:
            if choice is None:
                self.toast("Import cancelled")
                return
            kind, value = choice
            self._start_import(kind, value)

        self.push_screen(ImportDialog(), done)

    def _start_import(self, kind: str, value: str) -> None:
        self._importing = True
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.remove_class("-hidden")
        self.toast("Importing the clipboard…" if kind == "clipboard" else f"Importing {value}…")
        self.import_worker(kind, value)

    @work(thread=True, group="import", exit_on_error=False)
    def import_worker(self, kind: str, value: str) -> None:
        """Read and parse feeds off the UI thread, then store them in one write."""
        worker = get_current_worker()
        stamp = now_iso()
        loaded: list[tuple[Any, Source]] = []
        errors: list[str] = []
        if kind == "clipboard":
            try:
                text = self.clipboard_paste()
                result = parse_text(text, "<clipboard>", self.today)
                source = Source(
                    format=result.format,
                    origin="<clipboard>",
                    feed_date=result.feed_date or stamp[:10],
                    digest=text_digest(text),
                    imported_at=stamp,
                )
                loaded.append((result, source))
            except ClipboardError as err:
                errors.append(f"{err} — or press i and give a file path")
            except FeedError as err:
                errors.append(str(err))
            except Exception as err:  # pyperclip's own errors
                errors.append(f"clipboard unreadable ({err}); press i and give a file path")
        else:
            sources = list(expand([value]))
            if not sources:
                errors.append(f"{value}: no feed files (.txt .html .xml) in it")
            for done, src in enumerate(sources, 1):
                if worker.is_cancelled:
                    return
                try:
                    item: Loaded = load_source(src, today=self.today, imported_at=stamp)
                    loaded.append((item.result, item.source))
                except FeedError as err:
                    errors.append(str(err))
                self.post_message(ImportProgress(done, len(sources)))
        reports: list[ImportReport] = []
        if loaded and not worker.is_cancelled:
            try:
                reports = self.call_from_thread(self.library.import_feeds, loaded)
            except LibraryError as err:
                errors.append(str(err))
        self.post_message(ImportFinished(reports, errors))

    @on(ImportProgress)
    def _import_progress(self, event: ImportProgress) -> None:
        self.query_one("#import-progress", ProgressBar).update(
            total=event.total, progress=event.done
        )

    @on(ImportFinished)
    def _import_finished(self, event: ImportFinished) -> None:
        self._importing = False
        self.query_one("#import-progress", ProgressBar).add_class("-hidden")
        new = sum(r.new for r in event.reports)
        merged = sum(r.merged for r in event.reports)
        known = sum(r.unchanged for r in event.reports)
        if event.reports:
            self.new_since += new
            self.requery(keep=self.paper_list.current)
            self.toast(
                f"Imported {len(event.reports)} feed(s): {new} new, {merged} merged, "
                f"{known} already known"
            )
        if event.errors:
            self._error(_format_errors(event.errors))

    # ------------------------------------------------------------------ reload
    def action_reload(self) -> None:
        self._save_pending_note()
        try:
            changed = self.library.refresh()
        except LibraryError as err:
            self._error(str(err))
            return
        self.requery(keep=self.paper_list.current)
        self._refresh_current()
        self.toast(
            f"Reloaded: {len(self.library)} papers" + ("" if changed else " (no changes on disk)")
        )

    def auto_refresh(self) -> None:
        """Pick up what another process (a cron import, a second window) wrote."""
        if self._importing or isinstance(self.screen, ModalScreen):
            return
        try:
            changed = self.library.refresh()
        except LibraryError:
            return
        if changed:
            self.requery(keep=self.paper_list.current)
            self._refresh_current()

    # ------------------------------------------------------------------ help, palette, quit
    def help_rows(self) -> list[HelpRow]:
        return [(section, keys, text) for section, rows in HELP for keys, text, _ in rows]

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows(), HELP_NOTES))

    def palette_entries(self) -> list[PaletteEntry]:
        entries: list[PaletteEntry] = []
        for _section, rows in HELP:
            for keys, text, action in rows:
                if action:
                    title = text[0].upper() + text[1:]
                    entries.append(PaletteEntry(title, f"key: {keys}", action))
        entries += [
            PaletteEntry("Previous paper", "key: k / ↑", "list:cursor_up"),
            PaletteEntry("Last paper", "key: G / End", "list:last"),
            PaletteEntry("Page up", "key: PgUp", "list:page_up"),
            PaletteEntry("Previous unread paper", "key: p", "prev_unread"),
            PaletteEntry("Clear the search", "key: Esc in the search box", "clear_search"),
        ]
        return entries

    async def run_palette_entry(self, entry: PaletteEntry) -> None:
        if entry.action.startswith("list:"):
            await self.paper_list.run_action(entry.action[5:])
        else:
            await self.run_action(entry.action)

    async def action_quit(self) -> None:
        self.sync_detail()
        self._save_pending_note()
        self.exit()

    def on_unmount(self) -> None:
        try:
            self._save_pending_note()
        except NoMatches:
            pass


def make_app(
    library: Library | None = None,
    db_path: Path | None = None,
    *,
    feeds: list[str] | None = None,
    **options: Any,
) -> PaperTUI:
    """Build the app on ``library`` (or open ``db_path``); ``feeds`` are imported first.

    Options go to `PaperTUI`: ``export_dir``, ``opener``, ``clipboard_copy``,
    ``clipboard_paste``, ``today``, ``refresh_interval``, ``cursor_blink``, ``theme``.
    """
    if library is None:
        from .cli import default_db

        library = Library.open(db_path or default_db())
    if feeds:
        stamp = now_iso()
        loaded = [load_source(src, imported_at=stamp) for src in expand(feeds)]
        library.import_feeds((item.result, item.source) for item in loaded)
    return PaperTUI(library, **options)
