"""Triage keys: read, star, tags, note, selection, mark all read, undo, next unread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..history import describe_undo
from ..keys import VIEWS
from ..library import LibraryError, QueryError
from ..tags import hash_tags
from ..text import papers
from .base import PaperAppBase

if TYPE_CHECKING:
    from ..tags import TagEdit

# The dialogs are imported when a key first opens one (the first screen needs none).


def _bulk_done(verb: str, changed: int, chosen: int, state: str) -> str:
    """What a key did to a selection: "Starred 2 papers; 1 already starred" (the count the
    undo names, not the papers chosen)."""
    already = chosen - changed
    done = f"{verb} {papers(changed)}" + (f" {state}" if verb == "Marked" else "")
    return done + (f"; {already} already {state}" if already > 0 else "")


class TriageActions(PaperAppBase):
    """What `space m s t e v A u n p` do to the highlighted paper or the selection."""

    def action_read_next(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        bulk = len(ids) > 1
        changed = self._change(ids, "mark read", read=True)
        if changed is None:
            return
        if bulk:
            self.toast(_bulk_done("Marked", changed, len(ids), "read"))
        self._go_unread(1, quiet=False, wrap=True)

    def action_toggle_read(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        read = not all(self.library.raw_state(pid).get("read") for pid in ids)
        label = "mark read" if read else "mark unread"
        changed = self._change(ids, label, read=read)
        if changed is not None and len(ids) > 1:
            self.toast(_bulk_done("Marked", changed, len(ids), "read" if read else "unread"))

    def action_toggle_star(self) -> None:
        ids = self._targets()
        if not ids:
            return self._no_paper()
        star = not all(self.library.raw_state(pid).get("starred") for pid in ids)
        label = "star" if star else "unstar"
        changed = self._change(ids, label, starred=star)
        if changed is not None and len(ids) > 1:
            state = "starred" if star else "unstarred"
            self.toast(_bulk_done(state.capitalize(), changed, len(ids), state))

    def action_toggle_select(self) -> None:
        pid = self.paper_list.current
        if pid is None:
            return self._no_paper()
        self.paper_list.toggle_selected(pid)
        self.paper_list.action_cursor_down()
        self.update_status()

    def action_edit_tags(self) -> None:
        from ..dialogs.tags import TagDialog

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
        dialog = TagDialog(subject, common, known)

        def done(change: TagEdit | None) -> None:
            nonlocal dialog
            if change is None:
                self.toast("Tags unchanged")
                return
            if not change:
                self.toast("Tags unchanged" + (f" on {papers(len(ids))}" if len(ids) > 1 else ""))
                return
            # Additions and removals on the state as it is now, not the list the dialog
            # opened with: a tag another process added meanwhile stays.
            try:
                self._change(
                    ids, "tag", add_tags=change.add, remove_tags=change.remove, raise_error=True
                )
            except LibraryError as err:
                # Nothing was saved: the dialog comes back with what was typed, and why.
                dialog = TagDialog(
                    subject, common, known, text=dialog.value, error=f"Not saved: {err}"
                )
                self.push_screen(dialog, done)
                return
            parts = [hash_tags(change.add, "+"), hash_tags(change.remove, "-")]
            shown = " ".join(p for p in parts if p)
            if len(ids) == 1:
                now = self.library.raw_state(ids[0]).get("tags", [])
                self.toast("Tags: " + (hash_tags(now) or "no tags"))
            else:
                self.toast(f"Tags {shown} on {papers(len(ids))}")

        self.push_screen(dialog, done)

    def action_open_note(self) -> None:
        if self.paper_list.current is None:
            return self._no_paper()
        self.sync_detail()
        self.query_one("#side").add_class("-notes-open")
        self.notes.border_subtitle = ""
        if self.notes.cursor_location == (0, 0):  # a note just shown: go on writing at its end
            self.notes.move_cursor(self.notes.document.end)
        self._focus(self.notes)

    def action_mark_all_read(self) -> None:
        from ..dialogs.confirm import ConfirmDialog

        try:  # (the view's unread papers in one query, not a lookup per paper)
            unread = list(self.library.query(self.full_query() + " is:unread"))
        except QueryError:
            unread = []
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
                self.toast(f"Marked {papers(len(unread))} read (u undoes)")

        self.push_screen(
            ConfirmDialog(
                (
                    "Mark the unread paper in this view read?"
                    if len(unread) == 1
                    else f"Mark all {len(unread):,} unread papers in this view read?"
                ),
                f"View: {view}. One undo step (u) restores them.",
                yes="Mark read",
            ),
            done,
        )

    def action_undo(self) -> None:
        """Undo this window's last change (else the library's last one, saying where it was
        made), name what it touched and put the cursor on it."""
        self._take_back(redo=False)

    def action_redo(self) -> None:
        """Take back this window's last undo (`Library.redo_change`), as `action_undo`."""
        self._take_back(redo=True)

    def _take_back(self, redo: bool) -> None:
        self._save_pending_note()
        try:
            if redo:
                done = self.library.redo_change(own_first=True)
            else:
                done = self.library.undo_change(own_first=True)
        except LibraryError as err:
            self._error(str(err))
            return
        if done is None:
            self.toast("Nothing to redo" if redo else "Nothing to undo")
            return
        self._refresh_current()
        plist = self.paper_list
        touched = set(done.ids)
        # (their state changed here, as by `m` or `s`: those the list shows stay in it)
        self._keep_in_list(self._listed(touched))
        if touched and plist.current not in touched:
            # (the view again: a paper read and gone from the Inbox is back in it, and the
            # rows shown are the rows the index below counts)
            self.requery(keep=plist.current)
            index = self._first_of(touched)
            if index is not None:
                plist.move_to(index)
                self.sync_detail()
        lead = "Redone: " if redo else "Undone: "
        room = self.toast_cells() - len(lead)  # (one line of a toast: the title is cut to fit)
        said = describe_undo(self.library, done, here=done.own, in_app=True, redo=redo, width=room)
        self.toast(lead + said)

    def _first_of(self, touched: set[str]) -> int | None:
        """The list's first row holding one of the papers ``touched`` (None: none listed)."""
        ids = self.paper_list.ids
        if len(touched) <= 64:  # (each lookup is one indexed count)
            return min((ids.index(pid) for pid in touched if pid in ids), default=None)
        return next((i for i, pid in enumerate(ids) if pid in touched), None)

    def _go_unread(self, step: int, quiet: bool = False, wrap: bool = False) -> None:
        """To the next unread paper below (``step`` 1) or above (-1); with ``wrap``, past
        the last one to the first unread from the top (said in a toast)."""
        plist = self.paper_list
        index = plist.find_unread(step)
        if index is None and wrap and step > 0:
            index = plist.find_unread(step, start=0)
            if index is not None and index < plist.cursor:
                plist.move_to(index)
                self.toast("No unread papers below: back to the first unread above")
                return
            index = None
        if index is None:
            if not quiet:
                where = "below" if step > 0 else "above"
                self.toast(f"No more unread papers {where}")
            return
        plist.move_to(index)

    def action_next_unread(self) -> None:
        self._go_unread(1)

    def action_prev_unread(self) -> None:
        self._go_unread(-1)
