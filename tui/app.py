"""The papertui app: composes the panes, owns the library handle and the global keys.

The actions live in `tui.actions` (one module per group of keys, on a shared base that
performs every library write); the keys themselves are data in `tui.keys`. This module lays
out the screen, routes the keys and builds the app (`make_app`).

The start imports and draws only what the first screen shows: the dialogs, the exporter, the
importers and the feed parsers are imported when a key first needs them (tests/test_app.py
checks), and the panes beside the list are filled once the list is painted. Those panes follow
the cursor once it rests (`FOLLOW_DELAY`), so a held key moves the list at key-repeat speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from .actions.find import FindActions
from .actions.foryou import ForYouActions
from .actions.out import OutActions
from .actions.triage import TriageActions
from .commands import PaperCommands
from .keys import (
    APP_BINDINGS,
    HELP_NOTES,
    LIST_BINDINGS,
    PAPER_ACTIONS,
    VIEWS,
    HelpRow,
    PaletteEntry,
    help_rows,
    palette_entries,
)
from .library import Library, LibraryError
from .library.cache import damage_line
from .library.core import now_iso
from .recovery import recovered_files
from .screens.main_screen import MainScreen
from .terminal import give_back_at_once, install_terminal_fixes
from .text import clean, printable
from .widgets.notes import Notes
from .widgets.paper_detail import PaperDetail
from .widgets.paper_list import PaperList
from .widgets.search_box import SearchBox
from .widgets.status import StatusBar

__all__ = ["APP_BINDINGS", "VIEWS", "PaperTUI", "make_app"]

NARROW_WIDTH = 100  # below this the panes stack and the notes open on demand
# Signals that end the app: the note being typed is saved and the terminal restored first.
STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
SIGNAL_WAIT = 1.0  # seconds a note saved on a signal waits for another process's write
EXIT_GRACE = 5.0  # seconds the app has to leave after a stop signal before it is ended
LEAVE_SAVE = 3.0  # seconds the notes then have to be stored before they are rescued to a file
# Seconds the cursor rests before the detail and note panes show its paper: a held j (key
# repeat, 25-40 keys a second) repaints the rows it passes, not the panes for every paper.
FOLLOW_DELAY = 0.1


class PaperTUI(ForYouActions, TriageActions, FindActions, OutActions):
    """A keyboard-first reading list for researchers triaging daily paper feeds."""

    CSS_PATH = "app.tcss"
    TITLE = "papertui"
    COMMANDS = App.COMMANDS | {PaperCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *APP_BINDINGS,
        *LIST_BINDINGS,
        # The search box's Down, taken by the app as the key arrives (as Esc and Enter are):
        # run by the box itself, after the app had sent on the keys that came with it, the
        # list got focus only after those keys had gone into the box (`/diff`, Down and 2
        # in one read searched "diff2"). After the list's Down, which refuses it there.
        Binding("down", "focus_list", "To list", priority=True, id="search.down"),
    ]

    stopped_by: str | None = None
    cache_damage: str | None = None  # the line for people when a damaged cache ended the app
    """The name of the signal that ended the app (SIGTERM …), None when the user quit."""
    _left: threading.Event | None = None  # set when `run` has returned (see `left`)

    def on_load(self) -> None:
        # No garbage collection until the first screen is painted: starting allocates a lot
        # and frees little, and the collector passes over every object at each generation-2
        # collection (55-80 ms of a 100k library's open); it resumes right after the paint.
        gc.disable()

    def get_driver_class(self) -> Any:
        install_terminal_fixes()  # pastes whole, lenient input, a writer that outlives the terminal
        base = super().get_driver_class()

        class Driver(base):  # type: ignore[misc, valid-type]
            def start_application_mode(self) -> None:
                # The stop signals are caught from the moment Textual takes the terminal
                # (not at mount: a SIGTERM while the panes were composed, about a second,
                # killed the process with the terminal left on the alternate screen).
                self._app._catch_stop_signals()
                super().start_application_mode()

        return Driver

    # ------------------------------------------------------------------ layout
    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

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
        yield Footer()

    def on_mount(self) -> None:
        self.search_box.cursor_blink = self.cursor_blink
        self.paper_list.border_title = "Papers"
        self.detail.border_title = "Paper"
        self.notes.border_title = "Note"
        self.detail.chinese_first = self.chinese_first_at_start
        if self.library.read_only:
            self.toast(
                f"{self.library.root}: read-only — you can read and search, "
                "but nothing you change can be saved",
                severity="warning",
                timeout=10,
            )
        self._layout_for(self.size.width)
        self.requery()
        self.call_after_refresh(self._first_paint_done)  # (the panes wait for it)
        self._focus(self.paper_list)  # now: a key typed while the app started is the list's
        self._tell_notices()
        if self.refresh_interval > 0:
            self.set_interval(self.refresh_interval, self.auto_refresh)
        self.call_after_refresh(self.warm_library)
        self.start_foryou()  # the "for you" model, retrained when the reader pauses

    def _tell_notices(self) -> None:
        """The errors met before the app started (the feeds `papertui FILE...` could not
        import, bad `[keys]` entries): one alone as it is; several in one short toast (the
        first, short, and how many more), each in full on the messages screen (`!`)."""
        if len(self.notices) <= 1:
            for message in self.notices:
                self._error(message)
            return
        from .importing import short_error
        from .keys import action_keys

        lines = [printable(m) for m in self.notices]
        said = f"{len(lines)} problems at the start: {short_error(lines[0])} and "
        said += f"{len(lines) - 1} more"
        key = action_keys("messages", self.keymap)
        self.toast(
            said + (f"; {key} lists them" if key else ""),
            "error",
            timeout=10,
            items=lines,
            kept=said,
        )

    def _first_paint_done(self) -> None:
        """The list is on screen: fill the panes beside it (they wait for this, so the list
        of a big library paints first), let the collector run, announce rescued notes, note
        the session."""
        self.sync_detail()
        gc.enable()
        self._first_painted = True
        self._announce_rescued()
        if not self.library.read_only:
            self.begin_session()
            self.apply_watch_rules()  # (then the watched papers are counted)
        else:
            self.count_watched()

    def _announce_rescued(self) -> None:
        """Say where notes an earlier session could not save were kept (after the first
        paint: looking reads the temp folder, which may hold thousands of files)."""
        rescued = recovered_files(self.library.root)
        if rescued:
            some = "a file" if len(rescued) == 1 else f"{len(rescued)} files"
            self.toast(
                f"Notes papertui could not save earlier are kept in {some} in "
                f"{rescued[0].parent}: copy them back into their papers, then delete "
                f"{'it' if len(rescued) == 1 else 'them'}",
                severity="warning",
                timeout=15,
            )

    @work(thread=True, group="session", exit_on_error=False)
    def begin_session(self) -> None:
        """Record that this session started (a write, fsynced, under the library's lock: off
        the first paint) and count the papers new since the previous one for the status."""
        try:
            previous = self.library.begin_session()
            new = self.library.new_since(previous)
        except LibraryError as err:
            self.call_from_thread(self._error, str(err))
            return
        self.call_from_thread(self._session_begun, new)

    @work(thread=True, group="watch", exit_on_error=False)
    def apply_watch_rules(self) -> None:
        """Tag the library's papers by the config's watch rules: those that arrived since
        the rules last looked, and all of them when the rules changed since they were last
        applied (`tui.watch.apply`); each bad rule is shown as an error line, the others
        applied. Stops when the app quits (the pass is done again next time)."""
        from textual.worker import get_current_worker

        from .text import clean_line
        from .watch import Cancelled, apply, config_rules

        worker = get_current_worker()
        rules, problems = config_rules()
        try:
            tagged = apply(self.library, rules, cancelled=lambda: worker.is_cancelled)
        except Cancelled:
            return
        except Exception as err:
            problems.append(
                f"watch rules not applied: {clean_line(str(err)) or type(err).__name__}"
            )
            tagged = {}
        if worker.is_cancelled:
            return
        if problems:
            self.call_from_thread(self._error, "\n".join(problems))
        self.call_from_thread(self._watch_applied, any(tagged.values()))

    def _watch_applied(self, changed: bool) -> None:
        if changed:
            self.requery(keep=self.paper_list.current)
        else:
            self.count_watched()

    def count_watched(self) -> None:
        """Count the watched papers added today for the status bar (`Library.watched_since`),
        off the UI thread: done whenever the list is shown again (a tag, an untag, an
        import here or by another process, a sync). The latest count asked for wins."""
        self._watch_counts += 1
        self._count_watched(self._watch_counts)

    @work(thread=True, group="watchcount", exit_on_error=False)
    def _count_watched(self, asked: int) -> None:
        try:
            n = self.library.watched_since(self.today or date.today())
        except Exception:  # (a count for the status bar: never worth an error)
            n = 0
        self.call_from_thread(self._watched_counted, asked, n)

    def _watched_counted(self, asked: int, n: int) -> None:
        if asked == self._watch_counts and n != self.watched_today:
            self.watched_today = n
            self.update_status()

    def _session_begun(self, new: int) -> None:
        self.new_since = new
        self.update_status()

    def _catch_stop_signals(self) -> None:
        """SIGHUP, SIGTERM and SIGINT end the app (`_stop_on_signal`), and the process at the
        latest `EXIT_GRACE` seconds later, whatever the event loop is doing.

        Not asyncio's `add_signal_handler`: it hears of a signal through a byte written to
        the loop's wake-up socket, and that byte is dropped when the socket is full, as it is
        once the loop has been held up while the input thread queued thousands of keys (a
        closed terminal then left the app running, its note unsaved). A Python handler is
        run by the interpreter itself; it hands the stop to the loop as a callback (kept
        even when the wake-up byte is not) and wakes the thread that ends the process if
        leaving hangs (started now: a handler that starts a thread could deadlock). Called
        when Textual's driver takes the terminal (again after a suspend: done once)."""
        if self._left is not None:
            return
        loop = asyncio.get_running_loop()
        stopping = threading.Event()
        self._left = threading.Event()
        signals: list[int] = []

        def on_signal(signum: int, _frame: Any) -> None:
            if signals or self._left.is_set() or loop.is_closed():
                # (a second signal: leaving is under way, the watch ends it; or the app has
                # left and is rescuing and printing the notes it could not save: a handler
                # that raised here, "Event loop is closed", cut that short)
                return
            signals.append(signum)
            stopping.set()
            # Queued the way the input thread queues keys: after the keys already read.
            stop = events.Callback(callback=functools.partial(self._stop_after_keys, signum))
            asyncio.run_coroutine_threadsafe(self._post_message(stop), loop)

        def watch() -> None:
            stopping.wait()
            if not self._left.wait(EXIT_GRACE):
                self._leave_now(signals[0])

        threading.Thread(target=watch, name="papertui-stop-watch", daemon=True).start()
        for signum in STOP_SIGNALS:
            signal.signal(signum, on_signal)

    def _stop_after_keys(self, signum: int) -> None:
        """The keys read before the signal have reached the focused widget (the note box):
        stop once that widget has taken them, so that a note typed just before the terminal
        closed is saved whole."""
        focused = self.focused
        if focused is None:
            self._stop_on_signal(signum)
        else:
            focused.call_later(self._stop_on_signal, signum)

    def _stop_on_signal(self, signum: int) -> None:
        """SIGHUP (the terminal closed), SIGTERM, SIGINT: save the notes, then leave the way
        `q` does (the terminal restored) with the status a shell gives a killed command."""
        self.stopped_by = signal.Signals(signum).name
        with contextlib.suppress(NoMatches):
            # A short wait: what the library cannot take now is rescued to a file on the
            # way out (`rescue_notes`), before whatever sent the signal loses patience.
            self._save_pending_note(wait=SIGNAL_WAIT)
        self.exit(return_code=128 + signum)

    def left(self) -> None:
        """The app has left (`run` returned): the signal's watch need not end the process."""
        if self._left is not None:
            self._left.set()

    def _leave_now(self, signum: int) -> None:
        """End the process at once (the app did not finish leaving after a signal: e.g. its
        loop held up by a closed terminal, or by thousands of keys on a loaded machine), the
        note being typed and those not saved stored in the library first (from this thread,
        for at most `LEAVE_SAVE` seconds), what it did not take rescued to a file
        (`rescue_notes`). The terminal is then given back and told why the app stopped and
        where a rescued note is, as when the app leaves (`launch._after_app`): the process
        ended with the alternate screen, mouse tracking and a hidden cursor left on, and said
        nothing of the rescue file."""
        stored: dict[str, str] = {}
        rescued: list[str] = []
        kept = None
        with contextlib.suppress(Exception):
            stored = self.store_notes_beside(timeout=LEAVE_SAVE, wait=SIGNAL_WAIT)
            # (the loop went on typing into the note while the library wrote it: the keys
            # it took since are rescued, the whole note in a file)
            rescued, kept = self.rescue_typed_since(stored)
        with contextlib.suppress(Exception):
            lines = []
            if rescued:
                count = "1 note" if len(rescued) == 1 else f"{len(rescued)} notes"
                if any(pid in stored for pid in rescued):  # (the library took a part)
                    count += " (its last keys)" if len(rescued) == 1 else " (their last keys)"
                where = f"kept in {printable(str(kept))}" if kept else "no folder would take it"
                reason = self.unsaved_reason or "the app did not leave in time"
                lines.append(f"papertui: error: {count} NOT saved ({reason}); {where}")
            saved = "; the note was not saved" if rescued else ""
            lines.append(f"papertui: stopped by {signal.Signals(signum).name}{saved}")
            give_back_at_once(lines, getattr(self._driver, "attrs_before", None))
        os._exit(128 + signum)

    def _handle_exception(self, error: Exception) -> None:
        # A crash (a bug): keep the note being typed for the rescue on the way out.
        self.keep_typed_note()
        damage = damage_line(error)
        if damage is not None:  # (not a bug: the disk garbled the cache; it is derived)
            self.cache_damage = damage
            self.exit(return_code=1)
            return
        super()._handle_exception(error)

    @work(thread=True, group="warm", exit_on_error=False)
    def warm_library(self) -> None:
        """After the first paint: read the database pages a first search needs (on the
        worker's own connection), so the first search is as fast as the next."""
        if not get_current_worker().is_cancelled:
            self.library.warm()

    def on_resize(self, event: Any) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        # (every screen of the stack: the main one laid out again under a dialog or the
        # statistics screen, not stacked at 120 columns once that closes)
        for screen in self.screen_stack:
            screen.set_class(width < NARROW_WIDTH, "-narrow")
        with contextlib.suppress(NoMatches):
            self.query_one(Footer).compact = width < NARROW_WIDTH

    # ------------------------------------------------------------------ list and note events
    @on(PaperList.Highlighted)
    def _highlighted(self, event: PaperList.Highlighted) -> None:
        # The cursor moved other than by a movement key (a click, the next unread paper, a
        # new result): the panes follow now, unless they wait for the cursor to rest (after
        # a movement key) or for the list to be painted (a new result, the first screen).
        if not self.query("#papers"):
            return  # (the app is closing: a message queued before has outlived its panes)
        self._update_position()
        if self._follow_timer is None and not self._after_paint:
            self.sync_detail()

    def _follow_cursor(self) -> None:
        """Show the highlighted paper in the detail and note panes once the cursor has
        rested for FOLLOW_DELAY (each movement key restarts the wait; anything that acts on
        the paper shows it at once through `sync_detail`)."""
        if self._follow_timer is not None:
            self._follow_timer.stop()
        self._follow_timer = self.set_timer(FOLLOW_DELAY, self.sync_detail)

    @on(Notes.Save)
    def _notes_save(self, event: Notes.Save) -> None:
        # What the pane holds now, not the message's copy: a message that arrives after
        # more typing, or after the paper changed (its note was saved then), is stale and
        # would put older text back.
        try:
            notes = self.notes
        except NoMatches:  # the app is closing (unmounting saved or rescued the note)
            return
        if event.paper_id != notes.paper_id:
            return
        pending = notes.pending()
        if pending:
            self._save_note(*pending)

    @on(Notes.Changed)
    def _notes_changed(self, event: Notes.Changed) -> None:
        notes = event.text_area  # (the pane itself: it may be gone from the screen already)
        if not isinstance(notes, Notes):
            return
        if notes.dirty:
            notes.border_subtitle = "editing…"
        elif notes.paper_id in self.unsaved_notes:
            # Typed back to the stored note (an unsaved draft deleted): nothing to retry.
            self.unsaved_notes.pop(notes.paper_id)
            self._note_bases.pop(notes.paper_id, None)
            notes.mark_saved(notes.paper_id, notes.text)
            if not self.unsaved_notes:
                self._notes_all_saved()
        elif notes.border_subtitle == "editing…":
            notes.border_subtitle = ""  # typed back to the stored note: nothing to save

    @on(Notes.Leave)
    def _notes_leave(self) -> None:
        self._leave_note()

    # ------------------------------------------------------------------ key routing
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Paste) and not event.is_forwarded:
            # A terminal paste goes to whichever box has focus (ours or Textual's palette),
            # which would insert and draw escape sequences and controls as they are.
            event.text = clean(event.text)
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_list":  # (Down in the search box; not offered with no results)
            return (
                self.focused is self.search_box
                and not isinstance(self.screen, ModalScreen)
                and len(self.paper_list.ids) > 0
            )
        if action == "cycle_pane":  # (a dialog's own Tab moves between its fields)
            return not isinstance(self.screen, ModalScreen)
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
        self._follow_cursor()

    async def action_quit_key(self) -> None:
        await self.action_quit()

    def action_enter(self) -> None:
        if self.focused is self.search_box:
            self._submit_search(self.search_box.value)
        else:
            self.action_open_note()

    def action_cycle_pane(self, step: int) -> None:
        """Tab / shift+Tab: the next or previous of the panes shown (list, detail, note).
        The search box is not one of them: `/` reaches it, so a letter meant for the list
        never lands in a kept search."""
        panes = [w for w in (self.paper_list, self.detail, self.notes) if w.display]
        if not panes:
            return
        here = panes.index(self.focused) if self.focused in panes else -1
        self._focus(panes[(here + step) % len(panes)])

    def action_escape(self) -> None:
        if self.focused is self.detail:
            self._focus(self.paper_list)  # Esc in the detail goes back to the list
        elif self.focused is self.notes:
            self._leave_note()
        elif self.focused is self.search_box:
            self.action_clear_search()
        elif self.paper_list.selection:
            self.paper_list.clear_selection()
            self.update_status()
            self.toast("Selection cleared")
        elif self.search_text or self.search_box.value or self._search_error:
            self.action_clear_search()  # (a search kept with its error: never applied)

    # ------------------------------------------------------------------ help, palette, quit
    def help_rows(self) -> list[HelpRow]:
        return help_rows(self.keymap)

    def action_help(self) -> None:
        from .dialogs.help import HelpScreen

        self.push_screen(HelpScreen(self.help_rows(), HELP_NOTES))

    def action_stats(self) -> None:
        """The stats screen (`#`): plots of the reading (plotext loads with it)."""
        from .screens.stats_screen import StatsScreen

        self.push_screen(StatsScreen(self.library, self.today or date.today()))

    def palette_entries(self) -> list[PaletteEntry]:
        return palette_entries(self.keymap)

    async def run_palette_entry(self, entry: PaletteEntry) -> None:
        if entry.action.startswith("list:"):
            await self.paper_list.run_action(entry.action[5:])
        else:
            await self.run_action(entry.action)

    async def action_quit(self) -> None:
        from .dialogs.confirm import ConfirmDialog

        self.sync_detail()
        # A short wait: when the library is busy the dialog below says so at once instead
        # of the screen freezing for the whole lock timeout.
        if self._save_pending_note(wait=SIGNAL_WAIT):
            with contextlib.suppress(LibraryError):  # (then the session's start stands)
                self.library.end_session(wait=SIGNAL_WAIT)
            self.exit()
            return
        count = len(self.unsaved_notes)
        noun = "note" if count == 1 else f"{count} notes"

        def done(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit(return_code=1)
            else:
                self.toast("Still retrying every few seconds; q again to quit")

        self.push_screen(
            ConfirmDialog(
                f"The {noun} could not be saved: {self.unsaved_reason}.",
                "Cancel (n) stays here and keeps retrying: free some space or let the other "
                "process finish. Quit (y) writes the unsaved text to a file of its own (in "
                "the library's recovered/ folder when it can) and says where.",
                yes="Quit, keep the text in a file",
            ),
            done,
        )

    def on_unmount(self) -> None:
        gc.enable()  # (the app ended before its first paint)
        self.stop_fetch()  # (its thread would keep the process alive for its whole wait)
        self.stop_foryou()  # (as would a training under way, for minutes)
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
    ``clipboard_paste``, ``today``, ``refresh_interval``, ``cursor_blink``, ``theme``,
    ``notices`` (error lines shown when the app starts), ``chinese_first`` (the detail and
    the Markdown export start Chinese first, as after `L`). A feed that cannot be imported
    costs only itself: its error is shown when the app starts.
    """
    if library is None:
        from .paths import default_db

        library = Library.open(db_path or default_db())
    if feeds:
        from .importing import read_sources, store_feeds

        loaded, errors = read_sources(feeds, None, now_iso())
        _reports, failed = store_feeds(library, loaded)
        options["notices"] = [*options.get("notices", []), *errors, *failed]
    return PaperTUI(library, **options)
