"""The state and helpers every group of actions shares.

Widgets never write to the library: they post messages (or are asked for pending notes) and
the app performs every write here, so errors surface in one place as a toast, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.content import Content
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ..frame import sort_label
from ..keys import VIEWS
from ..library import SORT_KEYS, Library, LibraryError, QueryError, parse_query
from ..library.sqlquery import Head, Results
from ..recovery import rescue
from ..services import Copier, Opener, Paster, default_opener, system_copy, system_paste
from ..text import clean, printable
from ..widgets.notes import Notes
from ..widgets.paper_detail import PaperDetail
from ..widgets.paper_list import PaperList
from ..widgets.search_box import SearchBox
from ..widgets.status import StatusBar, StatusInfo

# What each worker group does, for the message when one fails.
WORKER_TASKS = {
    "import": "The import",
    "sync": "The sync",
    "fetch": "The fetch",
    "search": "The search",
    "open": "Opening the link",
    "warm": "Preparing the search indexes",
    "session": "Noting the session",
}
TOAST_WIDTH = 60  # cells: Textual's Toast (`width: 60; max-width: 50%`)
MESSAGES_KEPT = 200  # warnings and errors the messages screen (`!`) keeps
TOAST_MAX = 400  # characters: a toast quoting a 20,000-character tag would fill the screen
NOTE_RETRY_EVERY = 3.0  # seconds between attempts to store a note the library refused
NOTE_WAIT = 0.5  # seconds an autosave waits for another process's write (then it retries)
# papers whose state this window changed that a reload keeps in the list (`_kept`): a "mark
# all read" of more leaves its papers to go at the next reload
KEPT_MAX = 10_000


def save_failure(err: LibraryError) -> str:
    """Why a write failed, in a few words, from the library's one-line message."""
    message = str(err)
    if "could not save (" in message:
        return message.split("could not save (", 1)[1].split(")", 1)[0]
    if "is locked" in message:
        if f"locked by process {os.getpid()};" in message:
            return "an import in this window is still writing"
        return "the library is locked" + message.split("is locked", 1)[1].split(";", 1)[0]
    return message


class PaperAppBase(App[None]):
    """The library handle, the view and search, and the helpers the actions build on."""

    _foryou_busy = False  # a "for you" training (or the look whether one is due) runs

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
        notices: list[str] | None = None,
        keymap: Mapping[str, str] | None = None,
        chinese_first: bool = False,
    ) -> None:
        super().__init__()
        # The detail (and the Markdown export) start Chinese first (`L` toggles it).
        self.chinese_first_at_start = chinese_first
        self.notices = list(notices or [])  # errors to show once the app is up
        # This session's warnings and errors in full, (time, severity, text, items), the
        # oldest first: the messages screen (`!`) shows them; a toast may cut them or sum up
        # its items.
        self.messages_log: list[tuple[str, str, str, list[str]]] = []
        # The user's keys (`tui.keys.load_keymap`: binding id → "k1,k2"), shown by `?` too.
        self.keymap = dict(keymap or {})
        self.set_keymap(self.keymap)
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
        self.watched_today = 0  # (counted whenever the list is shown: `count_watched`)
        self._first_painted = False  # (`_first_paint_done`: app.py)
        self._watch_counts = 0  # (how many counts were asked for: `count_watched`)
        self._search_error: str | None = None  # the query error shown under the search box
        self._list_had_papers = True  # (the footer's "↓ To list": `_show_ids`)
        # The papers whose state this window changed while the list showed the view,
        # search and sort `_kept_for`: the list run again for the same (another process
        # wrote, an import ended, an undo) keeps them where they were, a paper marked read
        # in the Inbox too, until the view, the search or the sort changes or `r`. Replaced
        # as a whole, never changed in place (a search worker reads it).
        self._kept: frozenset[str] = frozenset()
        self._kept_for: tuple[str, str] | None = None
        # (the paper a search result shown is still looking for, and that result:
        # `_search_anchor`)
        self._awaited_position: tuple[str, Sequence[str]] | None = None
        self._follow_timer: Timer | None = None  # the panes will follow the cursor (app.py)
        self._after_paint = True  # the panes wait for the next paint (the first; a result's)
        self._importing = False
        self._arrivals_shown = library.arrivals  # (`auto_refresh`)
        self._syncing = False
        self._fetching = False
        self._fetch_stop = threading.Event()  # set to stop the fetch under way (`stop_fetch`)
        self._searched_title: str | None = None  # the paper `o` last searched for by title
        library.agent = "app"
        library.fold_in_background = True
        # Notes the library has not taken yet (disk full, locked by another process), by
        # paper: the only copy of that text. Retried every few seconds, on leaving the note
        # and on quitting; shown in the note pane when the paper is; never dropped silently.
        self.unsaved_notes: dict[str, str] = {}
        self._note_bases: dict[str, str] = {}  # the stored note each unsaved one started from
        self._note_lock = threading.Lock()  # held while a note is stored (`_save_note`)
        self.unsaved_reason = ""
        self._note_retry: Timer | None = None

    # ------------------------------------------------------------------ panes
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

    def _focus(self, widget: Any) -> None:
        """Focus now, not after the keys already queued: fast typists land in the right box."""
        self.screen.set_focus(widget)

    # ------------------------------------------------------------------ feedback
    def toast(
        self,
        message: str,
        severity: str = "information",
        timeout: float = 4,
        *,
        items: Sequence[str] = (),
        kept: str | None = None,
    ) -> None:
        """A notification that shows ``message`` literally (feed text is never markup).
        Warnings and errors are kept in full in the messages screen (`!`): ``kept`` (default:
        ``message``), with ``items`` under it (e.g. every error of an import, where the
        toast sums them up)."""
        message = clean(message)  # file names and server text included
        if severity != "information":
            text = message if kept is None else clean(kept)
            self._log_message(severity, text, [clean(i) for i in items])
        if len(message) > TOAST_MAX:
            message = message[:TOAST_MAX] + "…"
        self.notify(message, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def _log_message(self, severity: str, text: str, items: list[str]) -> None:
        """Keep a warning or an error for the messages screen (the last `MESSAGES_KEPT`)."""
        from datetime import datetime

        when = datetime.now().strftime("%H:%M:%S")
        self.messages_log.append((when, severity, text, items))
        del self.messages_log[:-MESSAGES_KEPT]

    def action_messages(self) -> None:
        """`!`: this session's errors and warnings in full, the newest first."""
        from ..dialogs.messages import MessagesScreen

        self.push_screen(MessagesScreen(list(reversed(self.messages_log))))

    def toast_cells(self) -> int:
        """The cells of one line of a toast at the screen's width now: Textual's `Toast` is
        60 cells wide, at most half of its rack (the screen less the rack's 2-cell
        scrollbar), less its border (1) and padding (2)."""
        return min(TOAST_WIDTH, (self.size.width - 2) // 2) - 3

    def _error(self, message: str) -> None:
        """An error toast; its file names and arguments shown with their controls escaped."""
        self.toast(printable(message), severity="error", timeout=8)

    # ------------------------------------------------------------------ workers
    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        """No worker fails in silence or keeps what it holds: a worker that raised (a bug, as
        every error it expects becomes a message) is reported, and an import that ended in
        any way lets the next one start."""
        worker = event.worker
        if event.state not in (WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker.group == "import":
            self._import_over()
        if event.state == WorkerState.ERROR and worker.error is not None:
            from ..sources import unexpected

            what = WORKER_TASKS.get(worker.group, "A background task")
            self._error(f"{what} failed: {unexpected(worker.error)}")

    def _import_over(self) -> None:
        """Release what an import holds: the "import running" flag and the progress bar."""
        self._importing = False
        with contextlib.suppress(NoMatches):
            self.query_one("#import-progress").add_class("-hidden")

    def status_info(self) -> StatusInfo:
        counts = self.library.counts()
        return StatusInfo(
            view=VIEWS[self.view].name,
            shown=len(self.paper_list.ids),
            counting=isinstance(self.paper_list.ids, Head),
            cursor=self.paper_list.cursor,
            total=counts["papers"],
            unread=counts["unread"],
            starred=counts["starred"],
            new_since=self.new_since,
            watched_today=self.watched_today,
            sort=self._sort_label(self.sort_for()),
            query=self.search_text,
            selected=len(self.paper_list.selection),
            chinese_first=self.detail.chinese_first,
            read_only=self.library.read_only,
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

    def has_words(self, search: str | None = None) -> bool:
        """Whether the view + search has words to rank by (the "relevance" sort needs them)."""
        try:
            words = parse_query(self.full_query(search)).words
        except QueryError:
            return False
        return any(ch.isalnum() for word in words for ch in word)

    def sort_choices(self, search: str | None = None) -> list[str]:
        """The sorts `S` cycles through: "relevance" only when there are words to rank by."""
        return [k for k in SORT_KEYS if k != "relevance" or self.has_words(search)]

    def sort_for(self, search: str | None = None) -> str:
        """The sort in force: the chosen one, or feed date when it is "relevance" and the
        query has no words (nothing to rank)."""
        return self.sort_key if self.sort_key in self.sort_choices(search) else "feed_date"

    @staticmethod
    def _sort_label(sort: str) -> str:
        return sort_label(sort)

    def _run_query(self, search: str) -> Sequence[str]:
        search = search.strip()  # (the search shown once applied: `_kept` is kept for it)
        sort = self.sort_for(search)
        query = self.full_query(search)
        kept = self._kept if self._kept_for == (query, sort) else ()
        return self.library.query(query, sort=sort, reverse=sort != "title", keep=kept)

    def _shown_key(self) -> tuple[str, str]:
        """The view + search and the sort the list shows (what `_kept` belongs to)."""
        return (self.full_query(), self.sort_for())

    def forget_kept(self) -> None:
        """The papers kept in the list (`_kept`) may go: the reader asked for the view again
        (`r`, a view key)."""
        self._kept, self._kept_for = frozenset(), None

    def _listed(self, pids: set[str]) -> list[str]:
        """Those of ``pids`` that the list holds (as it shows them)."""
        ids = self.paper_list.ids
        if isinstance(ids, (Results, Head)):
            return list(ids.among(pids))
        return [pid for pid in pids if pid in ids]

    def _keep_in_list(self, ids: Sequence[str]) -> None:
        """Keep the papers of ``ids``, just changed, in the list shown (`_kept`)."""
        if self._kept_for != self._shown_key():
            self._kept, self._kept_for = frozenset(), self._shown_key()
        if len(self._kept) + len(ids) <= KEPT_MAX:
            self._kept = self._kept | frozenset(ids)

    def requery(self, keep: str | None = None, *, top: bool = False) -> None:
        """Run the current view + search now and show the result (see `PaperList.set_ids`)."""
        try:
            ids = self._run_query(self.search_text)
        except QueryError as err:
            self._show_search_error(str(err))
            return
        if self.search_box.value.strip() == self.search_text:
            # (an error of the text still in the box, never applied, stays with it: a reload
            # under it, at the end of an import or another process's write, took it away)
            self._show_search_error(None)
        self._show_ids(ids, keep, top=top)

    def _show_ids(
        self,
        ids: Sequence[str],
        keep: str | None = None,
        *,
        top: bool = False,
        found: tuple[str | None, int | None] | None = None,
    ) -> None:
        """Show ``ids`` in the list (see `PaperList.set_ids`) and recount the status."""
        plist = self.paper_list
        plist.empty_text = (
            "No papers match the search. Esc clears it."
            if self.search_text
            else {
                "inbox": "Inbox zero: nothing unread. 3 shows all papers, i imports a feed.",
                "starred": "Nothing starred yet: s stars the highlighted paper.",
            }.get(self.view, "No papers yet: i imports a feed file or the clipboard.")
        )
        if not len(self.library):
            plist.empty_text = (
                f"No papers yet in this library ({printable(str(self.library.root))}). "
                "i imports a feed file, a folder, a URL or the clipboard; R (or "
                "`papertui fetch` in a shell) fetches today's papers from the arXiv "
                "categories and Hugging Face Daily Papers of your config (`papertui config`)."
            )
        plist.this_year = (self.today or date.today()).year
        if self._kept_for != self._shown_key():  # (another view, search or sort)
            self.forget_kept()
        date_key = "paper_date" if self.sort_for(self.search_text) == "paper_date" else "feed_date"
        keep = self._renamed(keep if keep is not None else plist.current)
        plist.set_ids(
            ids,
            keep=keep,
            top=top,
            found=found if found and found[0] else None,
            date_key=date_key,
        )
        self.update_status()
        if bool(plist.ids) is not self._list_had_papers:  # (the footer's "↓ To list":
            self._list_had_papers = bool(plist.ids)  # offered only with papers to go to; a
            self.refresh_bindings()  # footer redrawn for each result was a layout a key)
        if self._first_painted:  # (the first frame is the prepainted one: prepaint.py)
            self.count_watched()  # (in a worker: app.py)

    def _renamed(self, pid: str | None) -> str | None:
        """The id the paper ``pid`` (the cursor's) is held under now, and the selection's
        likewise: a sync may have united it with another paper since, kept under the other's
        id (`Library.renamed`); the cursor and the selection follow it."""
        plist = self.paper_list
        wanted = ([pid] if pid is not None else []) + list(plist.selection)
        if not wanted:
            return pid
        try:
            renamed = self.library.renamed(wanted)
        except sqlite3.Error:  # (the list shows what it can; the cursor falls where it may)
            return pid
        if renamed:
            plist.selection = {renamed.get(p, p) for p in plist.selection}
        return renamed.get(pid, pid) if pid is not None else None

    def _show_search_error(self, message: str | None) -> None:
        try:
            error = self.query_one("#search-error", Static)
        except NoMatches:  # (a result arriving while the app closes: nothing to show it in)
            return
        if message != self._search_error:  # (an update lays the screen out: a new one only)
            self._search_error = message
            error.update(Content(message or ""))
        error.set_class(message is None, "-hidden")
        self.search_box.set_class(message is not None, "-invalid-query")
        if message is not None:
            self.query_one("#search-bar").remove_class("-hidden")

    # ------------------------------------------------------------------ the highlighted paper
    def sync_detail(self, force: bool = False) -> None:
        """Show the highlighted paper in the detail and notes panes (now)."""
        if self._follow_timer is not None:
            self._follow_timer.stop()
            self._follow_timer = None
        self._after_paint = False
        try:
            pid = self.paper_list.current
        except NoMatches:  # the app is closing
            return
        if force or pid != self.detail.paper_id:
            self.detail.show_paper(pid)
        if self.focused is self.notes and self.notes.paper_id is not None:
            return  # typing: the note stays with its paper until the user leaves it
        if force or pid != self.notes.paper_id:
            self._save_pending_note()
            self._load_note(pid)

    def _follow_after_paint(self) -> None:
        """The panes show the highlighted paper once the list is painted (a new result: its
        rows first, the paper right after them)."""
        if not self._after_paint:
            self._after_paint = True
            self.call_after_refresh(self.sync_detail)

    def _refresh_current(self) -> None:
        """Redraw everything that shows state after a change."""
        self.paper_list.invalidate()
        self.detail.invalidate()
        pid = self.paper_list.current
        self.detail.show_paper(pid)
        if not self.notes.dirty and self.focused is not self.notes:
            self._load_note(pid)
        self.update_status()

    # ------------------------------------------------------------------ notes
    def _load_note(self, pid: str | None) -> None:
        """Show the note of ``pid`` in the pane: the unsaved text when there is one."""
        stored = self.library.state(pid).note if pid else ""
        unsaved = self.unsaved_notes.get(pid) if pid else None
        self.notes.load_note(pid, stored, unsaved)
        if pid is not None and unsaved is not None:
            self.notes.mark_unsaved(pid, self.unsaved_reason)

    def _save_note(
        self, pid: str, text: str, base: str | None = None, *, wait: float | None = NOTE_WAIT
    ) -> bool:
        """Store ``text`` (written from the stored note ``base``) as the note of ``pid``;
        True once the library has it. An edit another window made meanwhile is kept too.

        On failure the text is kept (`unsaved_notes`), the pane says it is not saved and why,
        and the save is retried every few seconds until it succeeds."""
        self.unsaved_notes[pid] = text
        if base is not None:
            self._note_bases.setdefault(pid, base)
        base = self._note_bases.get(pid)
        # (the lock: the stop watch stores the note being typed from its own thread when the
        # app is held up after a signal, `store_notes_beside`; a save here at the same moment,
        # from the same base, would be merged with it as a second edit: the text twice)
        with self._note_lock:
            try:
                self.library.set_state([pid], "edit note", note=text, note_base=base, wait=wait)
            except LibraryError as err:
                failed: LibraryError | None = err
            else:
                failed = None
                if self.unsaved_notes.get(pid) == text:
                    del self.unsaved_notes[pid]
                    self._note_bases.pop(pid, None)
                stored = self.library.state(pid).note
                self.notes.mark_saved(pid, text, stored)
                if pid in self.paper_list.ids:  # (a search of the note's words keeps it,
                    self._keep_in_list([pid])  # as a paper retagged is kept)
        if failed is not None:
            reason = save_failure(failed)
            if reason != self.unsaved_reason:
                self._error(
                    f"Note not saved: {reason}. The text is kept in the note pane; papertui "
                    f"retries every {NOTE_RETRY_EVERY:.0f} s and on quitting."
                )
            self.unsaved_reason = reason
            self.notes.mark_unsaved(pid, reason)
            if self._note_retry is None:
                self._note_retry = self.set_interval(NOTE_RETRY_EVERY, self.retry_notes)
            return False
        if stored != text:
            self.toast(
                "This note was also changed meanwhile (another window, a sync): both are kept"
            )
        self.paper_list.invalidate()
        self.detail.invalidate()
        if self.detail.paper_id == pid:
            self.detail.show_paper(pid)
        if not self.unsaved_notes:
            self._notes_all_saved()
        return True

    def rescue_notes(self) -> Path | None:
        """Write the notes the library never took to a file of their own (`tui.recovery`);
        its path (None when there were none, or no folder would take them)."""
        titles = {}
        for pid in self.unsaved_notes:
            with contextlib.suppress(KeyError):
                titles[pid] = self.library.short_title(pid)
        return rescue(self.unsaved_notes, titles, self.library.root)

    def store_notes_beside(self, timeout: float, wait: float) -> dict[str, str]:
        """Store the note being typed and those in `unsaved_notes` from a thread of their own
        while the event loop is held up (the app is being ended after a signal: the process
        ends right after, holding the note lock, so no save of the app's can follow); those
        the library took within ``timeout`` seconds leave `unsaved_notes`, the rest stay for
        `rescue_notes`. ``wait``: seconds each write waits for another process's. Runs on
        any thread but the app's. A save of the app's under way is waited for (then the pane
        holds only what it did not store); one that outlasts ``timeout`` (another process's
        lock) leaves everything to the rescue. A write still under way when the process ends
        is a crash the library survives (the old note or the new one). Returns the notes the
        library took (paper id: text)."""
        locked = self._note_lock.acquire(timeout=timeout)
        self.keep_typed_note()
        if not locked:
            return {}
        notes, bases = dict(self.unsaved_notes), dict(self._note_bases)
        stored: list[str] = []

        def store() -> None:
            for pid, text in notes.items():
                with contextlib.suppress(Exception):  # (it stays for the rescue)
                    self.library.set_state(
                        [pid], "edit note", note=text, note_base=bases.get(pid), wait=wait
                    )
                    stored.append(pid)

        writer = threading.Thread(target=store, name="papertui-notes-on-exit", daemon=True)
        writer.start()
        writer.join(timeout)
        for pid in list(stored):
            if self.unsaved_notes.get(pid) == notes[pid]:
                del self.unsaved_notes[pid]
        return {pid: notes[pid] for pid in list(stored)}

    def rescue_typed_since(self, stored: dict[str, str]) -> tuple[list[str], Path | None]:
        """Rescue to a file the notes the library did not take (`stored`: what it did), the
        note pane's text included as it is now: the app's loop, still running while the
        stop watch writes, may have typed more keys into it since `store_notes_beside` took
        it. Called last before the process ends, by the watch, the pane frozen first
        (`Notes.freeze`: an edit of the loop's waits for the end), so nothing is typed into
        it after this last look; a rescue file holds the whole note. Returns the papers whose
        notes were rescued and the file (None when no folder took it); ([], None) for none."""
        with contextlib.suppress(Exception):
            self.notes.freeze(timeout=1.0)
        rescued: dict[str, str] = {}
        kept: Path | None = None
        for _ in range(10):
            self.keep_typed_note()
            for pid, text in stored.items():
                if self.unsaved_notes.get(pid) == text:
                    del self.unsaved_notes[pid]
            if not self.unsaved_notes or self.unsaved_notes == rescued:
                break
            rescued = dict(self.unsaved_notes)
            kept = self.rescue_notes()
        return list(rescued), kept

    def keep_typed_note(self) -> None:
        """Take the note pane's unsaved text into `unsaved_notes` without writing anything
        (the app is failing: it will be rescued on the way out)."""
        with contextlib.suppress(Exception):
            pending = self.notes.pending()
            if pending:
                pid, text, base = pending
                self.unsaved_notes[pid] = text
                self._note_bases.setdefault(pid, base)

    def _notes_all_saved(self) -> None:
        if self._note_retry is not None:
            self._note_retry.stop()
            self._note_retry = None
        if self.unsaved_reason:
            self.unsaved_reason = ""
            self.toast("Every note is saved now")

    def retry_notes(self, wait: float | None = NOTE_WAIT) -> bool:
        """Try again to store every note the library refused; True when none is left."""
        for pid, text in list(self.unsaved_notes.items()):
            if not self._save_note(pid, text, wait=wait):
                return False
        return not self.unsaved_notes

    def _save_pending_note(self, wait: float | None = NOTE_WAIT) -> bool:
        """Store the pane's unsaved text and retry the notes still unsaved; True if all are."""
        pending = self.notes.pending()
        if pending and not self._save_note(*pending, wait=wait):
            return False
        return self.retry_notes(wait)

    def _leave_note(self) -> None:
        self._save_pending_note()
        self.query_one("#side").remove_class("-notes-open")
        self._focus(self.paper_list)
        self.sync_detail()  # the list may have moved on while the note was typed

    # ------------------------------------------------------------------ changes
    def _targets(self) -> list[str]:
        """The selection (in list order) or else the highlighted paper."""
        plist = self.paper_list
        if plist.selection:
            ids = plist.ids
            return sorted((pid for pid in plist.selection if pid in ids), key=ids.index)
        return [plist.current] if plist.current else []

    def _change(
        self, ids: list[str], label: str, *, raise_error: bool = False, **changes: Any
    ) -> int | None:
        """One undoable library write; errors become a toast (or, with ``raise_error``, the
        LibraryError for the caller to show)."""
        self.sync_detail()
        self._save_pending_note()
        try:
            changed = self.library.set_state(ids, label, **changes)
        except LibraryError as err:
            if raise_error:
                raise
            self._error(str(err))
            return None
        self._keep_in_list(ids)
        # The one rule: an action done on the selection clears it (also a selection of
        # one); a cancelled or refused one (above, or before this call) keeps it.
        selection = self.paper_list.selection
        if selection and selection.issuperset(ids):
            self.paper_list.clear_selection()
        self._refresh_current()
        return changed

    def _no_paper(self) -> None:
        self.toast("No paper here: this view is empty.", severity="warning")
