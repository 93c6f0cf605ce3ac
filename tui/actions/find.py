"""Find keys: the `/` search box, the saved views, the sort and the detail's language."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from textual import on, work
from textual.css.query import NoMatches
from textual.widgets import Input
from textual.worker import get_current_worker

from ..keys import SORT_NAMES, VIEWS
from ..library import LibraryError, QueryError
from ..library.sqlquery import Head, Results
from ..messages import SearchCounted, SearchPosition, SearchResults
from ..text import papers
from .base import PaperAppBase

SEARCH_DELAY = 0.1  # seconds of quiet typing before the search runs
NEAR_TOP = 200  # rows of a result looked through for the highlighted paper (no query)


def near_top(ids: Sequence[str], pid: str) -> int | None:
    """Where ``pid`` is among the first rows of ``ids`` (read with the first page), if it is."""
    for index in range(min(len(ids), NEAR_TOP)):
        if ids[index] == pid:
            return index
    return None


class FindActions(PaperAppBase):
    """Search as you type (in a worker), views `1`–`4`, `S` sort, `L` language."""

    def action_search(self) -> None:
        self.query_one("#search-bar").remove_class("-hidden")
        self._focus(self.search_box)

    def action_focus_list(self) -> None:
        self._focus(self.paper_list)

    def action_clear_search(self) -> None:
        """Esc: the search cleared, the view's papers back, the highlighted paper kept when
        it is among them. The first page is read here (a few milliseconds at a million
        papers); counting the view (``is:unread``: most of the library) is left to a worker,
        as a search's count is (`_search`)."""
        self.workers.cancel_group(self, "search")
        self.search_text = ""
        with self.search_box.prevent(Input.Changed):
            self.search_box.value = ""
        self.query_one("#search-bar").add_class("-hidden")
        self._show_search_error(None)
        self._show_view()
        self._focus(self.paper_list)

    def _show_view(self) -> None:
        """The view without a search, the highlighted paper kept (see `action_clear_search`)."""
        keep = self._search_anchor()
        try:
            ids = self._run_query("")
        except QueryError as err:
            self._show_search_error(str(err))
            return
        first = ids.head() if isinstance(ids, Results) else None
        if first is None or not isinstance(ids, Results) or ids.counted:
            self._show_ids(ids, top=True)
            return
        head = Head(ids, first)
        found = near_top(first, keep) if keep is not None else None
        self._show_ids(head, top=True, found=(keep, found))
        self._count(head, keep if found is None else None)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        """A key typed: the query starts at once, on a worker, and its result is shown once
        the typing has paused for `SEARCH_DELAY` (the next key drops it): the pause and the
        query overlap, so the result is ready when the pause ends."""
        self._search(
            event.value, self._search_anchor(), time.monotonic() + SEARCH_DELAY, self.setting
        )

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._submit_search(event.value)

    def _submit_search(self, value: str) -> None:
        """Enter in the search box: search now and go back to the list."""
        self._search(value, self._search_anchor(), setting=self.setting)
        self._focus(self.paper_list)
        if not value.strip():
            self.query_one("#search-bar").add_class("-hidden")

    def _search_anchor(self) -> str | None:
        """The paper the next search keeps highlighted: the one the reader had when the
        result shown was asked for, while its place there is still being looked for (the
        result counted, then `SearchPosition`: half a second at a million papers) and the
        cursor has not left the first row; else the highlighted paper. (A key typed in that
        time kept the first row's paper, and the reader's was lost.)"""
        plist = self.paper_list
        awaited = self._awaited_position
        if awaited is not None and plist.cursor == 0:
            keep, shown = awaited
            if plist.ids is shown or getattr(shown, "results", None) is plist.ids:
                return keep
        return plist.current

    @property
    def setting(self) -> tuple[str, str]:
        """The view and the sort chosen: a search's result is shown only under those it was
        started under (`_show_results`)."""
        return (self.view, self.sort_key)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(
        self,
        text: str,
        keep: str | None = None,
        show_at: float = 0.0,
        setting: tuple[str, str] | None = None,
    ) -> None:
        """Run the query off the UI thread so typing never waits for it: the worker reads
        the result's first page and looks for the highlighted paper ``keep`` in it (on its
        own database connection), so showing it costs the UI thread nothing; it is shown
        at ``show_at`` (`time.monotonic`) at the earliest, unless a newer search (the next
        key) cancels it first. When counting the result costs more than its first page (a
        word among the unread papers, at a million papers), the page is shown first (a
        `Head`: the status bar says the count is coming), then the worker counts (`_count`).
        """
        worker = get_current_worker()

        def pause() -> None:  # (until ``show_at``, or this search is cancelled)
            while (wait := show_at - time.monotonic()) > 0 and not worker.is_cancelled:
                time.sleep(min(wait, 0.005))

        ids: Sequence[str] | None
        try:
            ids = self._run_query(text)
            if isinstance(ids, Results) and ids.merges_prefix():
                pause()  # (a costly query that cannot be stopped: not before the pause)
                if worker.is_cancelled:
                    return
            first = ids.head() if isinstance(ids, Results) else ids[:NEAR_TOP]
            error = None
        except QueryError as err:
            ids, first, error = None, [], str(err)
        # While the typing pause lasts, the rows the list will draw first are read here
        # (kept by the library), not on the UI thread as it paints them.
        for pid in first[: self.paper_list.size.height]:
            if time.monotonic() >= show_at or worker.is_cancelled:
                break
            with contextlib.suppress(KeyError, LibraryError):
                self.library.raw(pid)
                self.library.raw_state(pid)
        pause()
        if worker.is_cancelled:
            return
        found = near_top(first, keep) if ids is not None and keep is not None else None
        if isinstance(ids, Results) and not ids.counted:
            head = Head(ids, first)
            self.post_message(SearchResults(text, head, error, keep, found, setting))
            self._counted(head, keep if found is None else None)
            return
        self.post_message(SearchResults(text, ids, error, keep, found, setting))
        if ids is None or keep is None or found is not None or len(ids) <= NEAR_TOP:
            return
        with contextlib.suppress(ValueError):
            below = ids.index(keep)
            if not worker.is_cancelled:
                self.post_message(SearchPosition(ids, keep, below))

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _count(self, head: Head, keep: str | None) -> None:
        """Count the result whose first page ``head`` shows, on a worker (`_counted`)."""
        self._counted(head, keep)

    def _counted(self, head: Head, keep: str | None) -> None:
        """Count ``head``'s result (given up when a newer search cancels this worker), then
        have the list show all of it (`SearchCounted`) and, for a paper ``keep`` not among
        its first rows, where it is (`SearchPosition`)."""
        worker = get_current_worker()
        results = head.results
        if results.count(lambda: worker.is_cancelled) is None or worker.is_cancelled:
            return
        self.post_message(SearchCounted(head))
        if keep is None or len(results) <= NEAR_TOP:
            return
        with contextlib.suppress(ValueError):
            below = results.index(keep)
            if not worker.is_cancelled:
                self.post_message(SearchPosition(results, keep, below))

    @on(SearchResults)
    def _search_results(self, event: SearchResults) -> None:
        with contextlib.suppress(NoMatches):  # (a result arriving as the app closes)
            self._show_results(event)

    def _show_results(self, event: SearchResults) -> None:
        if event.text != self.search_box.value:
            return  # typing went on (a newer search is coming), or the box was cleared
        if event.setting is not None and event.setting != self.setting:
            # (a view or sort key pressed while it ran: it may have read the old one; the
            # list shows the new one, and the search is run again under it)
            self._search(event.text, event.keep, setting=self.setting)
            return
        if event.error is not None or event.ids is None:
            self._show_search_error(event.error)
            return
        self.search_text = event.text.strip()
        self._show_search_error(None)
        self._follow_after_paint()  # the list is drawn first, the panes right after it
        self._show_ids(event.ids, top=True, found=(event.keep, event.position))
        waiting = event.keep is not None and event.position is None
        self._awaited_position = (event.keep, event.ids) if waiting else None

    @on(SearchCounted)
    def _search_counted(self, event: SearchCounted) -> None:
        """The whole result in place of its first page (its first rows): the cursor and the
        rows on screen stay where they are."""
        try:
            plist = self.paper_list
        except NoMatches:  # (the app is closing)
            return
        if plist.ids is not event.head or not isinstance(event.head, Head):
            return  # (another result is shown meanwhile)
        plist.extend_ids(event.head.results)
        self.update_status()

    @on(SearchPosition)
    def _search_position(self, event: SearchPosition) -> None:
        try:
            plist = self.paper_list
        except NoMatches:  # (the app is closing)
            return
        if plist.ids is event.ids and plist.cursor == 0:  # (the result shown, not moved)
            plist.move_to(event.position)

    def _drop_unapplied_search(self) -> None:
        """A search kept with its error was never applied: not carried into another view or
        sort, where it looked like a filter in force."""
        if self._search_error and self.search_box.value.strip() != self.search_text:
            with self.search_box.prevent(Input.Changed):
                self.search_box.value = self.search_text
            self._show_search_error(None)
            if not self.search_text:
                self.query_one("#search-bar").add_class("-hidden")

    def action_view(self, name: str) -> None:
        self.view = name
        self.forget_kept()
        self._drop_unapplied_search()
        self.paper_list.clear_selection()
        self.requery(top=True)
        query = self.view_query()
        self.toast(
            f"{VIEWS[name].name}: {papers(len(self.paper_list.ids))}"
            + (f" ({query})" if query else ""),
            timeout=2,
        )

    def action_cycle_sort(self) -> None:
        self._drop_unapplied_search()
        keys = self.sort_choices()
        self.sort_key = keys[(keys.index(self.sort_for()) + 1) % len(keys)]
        self.requery(keep=self.paper_list.current)
        name = SORT_NAMES[self.sort_key]
        self.toast(
            "Sorted for you" if self.sort_key == "foryou" else f"Sorted by {name}", timeout=2
        )

    def action_toggle_language(self) -> None:
        self.detail.chinese_first = not self.detail.chinese_first
        self.update_status()
        self.toast("Chinese first" if self.detail.chinese_first else "English first", timeout=2)
