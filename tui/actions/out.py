"""Out keys: open in the browser, copy, export, import, reload and sync."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.worker import get_current_worker

from ..feeds import FeedError
from ..library import ImportReport, LibraryError
from ..library.core import now_iso
from ..messages import FetchFinished, FetchProgress, ImportFinished, ImportProgress, SyncFinished
from ..text import papers, printable
from .base import PaperAppBase

if TYPE_CHECKING:
    from ..importing import Feed

# The dialogs, the exporter and the importers (urllib, the feed parsers) are imported when
# their key is first pressed: the first screen needs none of them (see `tui.app`).


class OutActions(PaperAppBase):
    """`o O y Y x i r`: the paper's pages, the clipboard, Markdown export, imports, reload."""

    # ------------------------------------------------------------------ open, copy, export
    def _current_paper(self) -> Any:
        pid = self.paper_list.current
        if not pid:
            return None
        try:
            return self.library.get(pid)
        except LibraryError:  # (its text cannot be read: what the list shows is enough here)
            return self.library.head_paper(pid)

    def _open(self, kind: str) -> None:
        from ..export import links_of, md_url

        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        links = dict(links_of(paper))
        if kind == "PDF":
            url = links.get("PDF")
        else:
            url = links.get("arXiv") or links.get("Hugging Face") or links.get("Code")
        if not url and kind == "PDF":
            self.toast(
                "This paper has no PDF (its feeds gave no arXiv id): o searches for its title",
                "warning",
            )
            return
        if not url:
            site, url = self._title_search(paper)
            if url is None:
                self.toast("This paper has no link and no title to search for", "warning")
                return
            kind = f"search for its title on {site} (no arXiv id yet; o again: the other site)"
        web = md_url(url)  # http(s) only, percent-encoded
        if web is None:
            self.toast(f"Not opened: not a web link (http or https): {url}", "warning")
            return
        self._open_url(web, kind)

    def _title_search(self, paper: Any) -> tuple[str, str | None]:
        """A search for the paper's title: on Hugging Face papers when a Hugging Face feed
        brought it, else on arXiv; the other one when `o` is pressed again on it."""
        import urllib.parse

        title = " ".join((paper.title or paper.title_zh or "").split())
        if not title:
            return "", None
        hf_first = any(fmt.startswith("hf-") for fmt in paper.source_formats)
        again = self._searched_title == paper.id
        self._searched_title = None if again else paper.id
        if hf_first != again:
            query = urllib.parse.urlencode({"q": title})
            return "Hugging Face", f"https://huggingface.co/papers?{query}"
        query = urllib.parse.urlencode({"query": title, "searchtype": "title"})
        return "arXiv", f"https://arxiv.org/search/?{query}"

    @work(thread=True, group="open", exit_on_error=False)
    def _open_url(self, url: str, kind: str) -> None:
        try:
            opened = self.opener(url)
        except Exception as err:  # a browser launcher can fail in many ways
            self.call_from_thread(self._error, f"could not open {url}: {err}")
            return
        if opened is False:
            self.call_from_thread(self._copy, url, f"the link to the {kind}", "No browser here. ")
        else:
            self.call_from_thread(self.toast, f"Opened the {kind}: {url}")

    def action_open_page(self) -> None:
        self._open("page")

    def action_open_pdf(self) -> None:
        self._open("PDF")

    def _copy(self, text: str, what: str, before: str = "") -> None:
        """Copy ``text`` and say so: "Copied {what}", or where it went instead."""
        try:
            self.clipboard_copy(text)
            said = f"Copied {what}"
        except Exception:  # pyperclip raises several kinds where there is no clipboard
            self.copy_to_clipboard(text)
            said = f"No system clipboard: sent {what} to the terminal's clipboard (OSC 52)"
        self.toast(before + said)

    def action_copy_line(self) -> None:
        from ..export import paper_line

        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        self._copy(paper_line(paper), "the Markdown line")

    def action_copy_abstract(self) -> None:
        paper = self._current_paper()
        if paper is None:
            return self._no_paper()
        text = paper.abstract or paper.abstract_zh
        if not text:
            self.toast("This paper has no abstract", "warning")
            return
        self._copy(text, "the abstract")

    def export_path(self, suffix: str = ".md") -> Path:
        """The file `x` proposes: ``papertui-starred-DATE.md`` in the current folder (or the
        export folder the app was given), or ``…-2.md``, ``…-3.md`` when it is taken."""
        folder = self.export_dir or Path.cwd()
        stem = f"papertui-starred-{(self.today or date.today()).isoformat()}"
        path, n = folder / f"{stem}{suffix}", 1
        while path.exists() or path.is_symlink():
            n += 1
            path = folder / f"{stem}-{n}{suffix}"
        return path

    def action_export(self) -> None:
        """`x`: the starred papers, in the format and to the file the export dialog asks
        for (`tui.dialogs.export_dialog`: an existing file is replaced only when confirmed)."""
        from ..dialogs.export_dialog import ExportDialog

        self._save_pending_note()
        sort = self.sort_for("")  # the starred papers, with no words to rank by
        ids = self.library.query("is:starred", sort=sort, reverse=sort != "title")
        if not ids:
            self.toast("Nothing starred to export: s stars a paper", "warning")
            return

        if self.export_dir is not None:  # (the folder the app was given is made)
            try:
                self.export_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                self._error(f"export failed: {self.export_dir}: {err.strerror or err}")
                return

        def done(choice: tuple[str, Path] | None) -> None:
            if choice is None:
                self.toast("Export cancelled")
            else:
                self._export(ids, *choice)

        self.push_screen(ExportDialog(len(ids), self.export_path(), self.export_path), done)

    def _export(self, ids: list[str], format_name: str, target: Path) -> None:
        from ..exporters import exporter_for, render
        from ..files import OutputError, write_user_file

        lib = self.library
        exporter = exporter_for(format_name)
        try:
            items = [(lib.get(pid), lib.state(pid)) for pid in ids]
            text = render(
                exporter,
                items,
                "Reading list",
                self.today,
                chinese_first=self.detail.chinese_first,
            )
        except LibraryError as err:
            self._error(f"export failed: {err}")
            return
        try:
            written = write_user_file(target, text.encode("utf-8"))
        except OutputError as err:
            self._error(f"export failed: {err}")
            return
        where = printable(str(target))
        if target.is_symlink():
            where += f" (a link to {printable(str(written))})"
        self.toast(f"{papers(len(ids))} exported to {where} ({exporter.name})", timeout=8)

    # ------------------------------------------------------------------ import
    def action_import(self) -> None:
        from ..dialogs.import_dialog import ImportDialog

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
        bar = self._progress_bar()
        bar.update(total=None, progress=0)
        bar.remove_class("-hidden")
        self.toast(
            "Importing the clipboard…" if kind == "clipboard" else f"Importing {printable(value)}…"
        )
        self.import_worker(kind, value)

    def _progress_bar(self) -> Any:
        """The import's progress bar above the footer, made by the first import (the first
        screen does without it)."""
        from textual.widgets import Footer, ProgressBar

        try:
            return self.query_one("#import-progress", ProgressBar)
        except NoMatches:
            bar = ProgressBar(id="import-progress", show_eta=False)
            self.mount(bar, before=self.query_one(Footer))
            return bar

    @work(group="import", exit_on_error=False)
    async def import_worker(self, kind: str, value: str) -> None:
        """Read and parse feeds off the UI thread (`_read_for_import`, in a thread the
        process does not wait for: `q` during the parse of a big file or a stalled download
        ends the process at once, as nothing is stored before the parse ends), then store
        them on the UI thread (each on its own). Always ends with ImportFinished, whatever
        fails, so the next `i` can start."""
        from ..importing import store_feeds
        from ..sources import unexpected

        worker = get_current_worker()
        reports: list[ImportReport] = []
        errors: list[str] = []
        before = dict(self.library.watch_tagged)  # (the rules' counts, kept by the library)
        try:
            loaded, errors = await in_daemon_thread(
                self._read_for_import, kind, value, now_iso(), lambda: worker.is_cancelled
            )
            if loaded and not worker.is_cancelled:
                reports, failed = store_feeds(self.library, loaded)
                errors += failed
        except Exception as err:  # a bug: say so, and let the next import start
            errors.append(f"{value or 'the clipboard'}: import stopped: {unexpected(err)}")
        finally:
            tagged = {
                name: n - before.get(name, 0)
                for name, n in self.library.watch_tagged.items()
                if n != before.get(name, 0)
            }
            origin = value if kind == "file" else ""
            self.post_message(ImportFinished(reports, errors, tagged, origin))

    def _read_for_import(
        self, kind: str, value: str, stamp: str, cancelled: Callable[[], bool]
    ) -> tuple[list[Feed], list[str]]:
        """The feeds of an import ("clipboard", "url" or a path ``value``) read and parsed,
        and the errors met (one line each)."""
        from ..importing import read_clipboard, read_paths, read_sources

        if kind == "clipboard":
            try:
                return [read_clipboard(self.clipboard_paste, self.today, stamp)], []
            except FeedError as err:
                return [], [str(err)]
        if kind == "url":  # downloaded here, with `papertui import URL`'s caps
            return read_sources([value], self.today, stamp)
        return read_paths(
            value,
            self.today,
            stamp,
            cancelled=cancelled,
            progress=lambda done, total: self.post_message(ImportProgress(done, total)),
        )

    @on(ImportProgress)
    def _import_progress(self, event: ImportProgress) -> None:
        self._progress_bar().update(total=event.total, progress=event.done)

    @on(ImportFinished)
    def _import_finished(self, event: ImportFinished) -> None:
        from ..importing import errors_summary, watch_line
        from ..keys import action_keys

        self._import_over()
        new = sum(r.new for r in event.reports)
        merged = sum(r.merged for r in event.reports)
        known = sum(r.unchanged for r in event.reports)
        said = ""
        if event.reports:
            self.new_since += new
            self.requery(keep=self.paper_list.current)
            self.apply_watch_rules()  # (done at the import: this counts them for the status)
            feeds = f"{len(event.reports):,} feed" + ("" if len(event.reports) == 1 else "s")
            said = f"Imported {feeds}: {new:,} new, {merged:,} merged, {known:,} already known"
            if line := watch_line(event.tagged):  # ("watch rules: flow tagged 2 papers")
                said += "; " + line
            for report in event.reports:
                if report.partial:
                    self.toast(f"{report.origin}: {report.partial}", "warning", timeout=10)
        if not event.errors:
            if said:
                self.toast(said)
            return
        # One short toast (the first error, short, and how many more; every error in full
        # in the messages screen, `!`), not every error joined into one long toast.
        errors = [printable(e) for e in event.errors]
        key = action_keys("messages", self.keymap)
        origin = printable(event.origin)  # (as the errors name it)
        short = errors_summary(errors, origin, key)
        listed = errors_summary(errors, origin)  # (in the list: no "! lists them")
        self.toast(
            f"{said}; {short}" if said else short,
            "warning" if said else "error",
            timeout=10,
            items=errors if len(errors) > 1 else (),
            kept=f"{said}; {listed}" if said else listed,
        )

    # ------------------------------------------------------------------ sync
    def action_sync(self) -> None:
        """`papertui sync` in a worker (git: commit, pull, push), then the list reloads."""
        if self._syncing:
            self.toast("A sync is already running", "warning")
            return
        self._save_pending_note()
        self._syncing = True
        bar = self._progress_bar()
        bar.update(total=None, progress=0)
        bar.remove_class("-hidden")
        self.toast("Syncing with the other machines…")
        self.sync_worker()

    @work(thread=True, group="sync", exit_on_error=False)
    def sync_worker(self) -> None:
        """Run the sync off the UI thread; always ends with SyncFinished."""
        from ..library import sync
        from ..sources import unexpected

        lines: list[str] = []
        error = None
        try:
            lines = sync.sync(self.library.root).lines()
        except LibraryError as err:
            error = str(err)
        except Exception as err:  # a bug: say so, and let the next sync start
            error = f"the sync stopped: {unexpected(err)}"
        finally:
            self.post_message(SyncFinished(lines, error))

    @on(SyncFinished)
    def _sync_finished(self, event: SyncFinished) -> None:
        self._syncing = False
        if not self._importing:
            with contextlib.suppress(NoMatches):
                self.query_one("#import-progress").add_class("-hidden")
        try:
            self.library.refresh()
        except LibraryError as err:
            self._error(str(err))
        self.requery(keep=self.paper_list.current)
        self._refresh_current()
        self._tell_unreadable_arrivals()
        if not self.library.read_only:
            self.apply_watch_rules()  # (the papers the sync brought in)
        if event.error is not None:
            self._error(event.error)
        else:
            self.toast("Synced:\n" + "\n".join(event.lines), timeout=8)

    # ------------------------------------------------------------------ fetch
    def action_fetch(self) -> None:
        """`papertui fetch` in a worker: the config file's sources downloaded off the UI
        thread, each stored as it arrives, a progress bar over the sources."""
        from .. import fetch

        if self._fetching:
            self.toast("A fetch is already running", "warning")
            return
        path = fetch.config_path()
        try:
            if fetch.write_example(path):
                self._error(
                    f"No config file: wrote an example to {path}. Edit it to choose your "
                    "sources (`papertui config --edit`), then press R again."
                )
                return
            config = fetch.load_config(path)
            targets = fetch.plan(config, self.today or date.today())
        except (fetch.ConfigError, OSError, LibraryError, ValueError) as err:
            self._error(str(err))
            return
        if not targets:
            self._error(f"{path}: [fetch] names no source (arxiv, huggingface or feeds)")
            return
        self._save_pending_note()
        self._fetching = True
        bar = self._progress_bar()
        bar.update(total=len(targets), progress=0)
        bar.remove_class("-hidden")
        self.toast(f"Fetching {len(targets)} source{'s' * (len(targets) != 1)}…")
        self._fetch_stop = threading.Event()
        self.fetch_worker(targets, config.arxiv_pace, config.timeout, self._fetch_stop)

    def stop_fetch(self) -> None:
        """Stop the fetch under way (the app quits): its download is hung up, its waits end,
        no other request is made; what it stored stays."""
        self._fetch_stop.set()

    @work(thread=True, group="fetch", exit_on_error=False)
    def fetch_worker(
        self, targets: list[Any], pace: float, timeout: float, stop: threading.Event
    ) -> None:
        """Download off the UI thread; store each source on it. Always ends with
        FetchFinished, whatever fails, so the next R can start. Ends early once ``stop`` is
        set (`stop_fetch`)."""
        from .. import fetch
        from ..importing import store_feeds
        from ..sources import unexpected

        lines: list[str] = []
        errors: list[str] = []
        new = 0
        try:
            outcomes = fetch.fetch(
                self.library,
                targets,
                pace=pace,
                timeout=timeout,
                progress=lambda n, t: self.post_message(FetchProgress(n, len(targets), t.name)),
                store=lambda feeds: self.call_from_thread(store_feeds, self.library, feeds),
                stop=stop,
            )
            for outcome in outcomes:
                (errors if outcome.status == "error" else lines).append(outcome.line)
                new += sum(r.new for r in outcome.reports)
        except Exception as err:  # a bug: say so, and let the next fetch start
            errors.append(f"the fetch stopped: {unexpected(err)}")
        finally:
            self.post_message(FetchFinished(lines, errors, new))

    @on(FetchProgress)
    def _fetch_progress(self, event: FetchProgress) -> None:
        self._progress_bar().update(total=event.total, progress=event.done)

    @on(FetchFinished)
    def _fetch_finished(self, event: FetchFinished) -> None:
        from ..importing import errors_summary
        from ..keys import action_keys

        self._fetching = False
        if not self._importing and not self._syncing:
            with contextlib.suppress(NoMatches):
                self.query_one("#import-progress").add_class("-hidden")
        self.new_since += event.new
        self.requery(keep=self.paper_list.current)
        self.apply_watch_rules()  # (done at the import: this counts them for the status)
        self._refresh_current()
        if event.lines:
            self.toast("Fetched:\n" + "\n".join(event.lines), timeout=8)
        if event.errors:  # (one toast, as an import's: every error in full in `!`)
            errors = [printable(e) for e in event.errors]
            what = "sources could not be fetched"
            key = action_keys("messages", self.keymap)
            self.toast(
                errors_summary(errors, more_key=key, what=what),
                "error",
                timeout=10,
                items=errors if len(errors) > 1 else (),
                kept=errors_summary(errors, what=what),
            )

    # ------------------------------------------------------------------ reload
    def action_reload(self) -> None:
        self._save_pending_note()
        try:
            changed = self.library.refresh()
        except LibraryError as err:
            self._error(str(err))
            return
        self.forget_kept()
        self.requery(keep=self.paper_list.current)
        self._refresh_current()
        self.toast(
            f"Reloaded: {papers(len(self.library))}" + ("" if changed else " (no changes on disk)")
        )
        self._tell_unreadable_arrivals()

    def _tell_unreadable_arrivals(self) -> None:
        for path in self.library.unreadable_arrivals():
            self._error(
                f"{path}: another machine's file, not readable (cut short while it was "
                "being copied?); its papers come in once it is whole; if it stays so, "
                "`papertui doctor --repair`"
            )

    def auto_refresh(self) -> None:
        """Pick up what another process (a cron import, a second window) wrote; not while a
        note is being typed (the list would move under it), but when the user leaves it."""
        if not self.is_running:
            # (the app is closing: its screens and their widgets are removed before its own
            # timers stop, and a tick in between found no notes pane and raised NoMatches)
            return
        if self._importing or isinstance(self.screen, ModalScreen) or self.focused is self.notes:
            return
        if self._foryou_busy and self.library.truth_unchanged():
            return  # ("for you" is training: its scores are no change of the papers)
        try:
            changed = self.library.refresh()
        except LibraryError:
            return
        self._tell_unreadable_arrivals()
        # (a note saved while typing takes in what others wrote, unshown until now)
        if changed or self.library.arrivals != self._arrivals_shown:
            self._arrivals_shown = self.library.arrivals
            self.requery(keep=self.paper_list.current)
            self._refresh_current()


async def in_daemon_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` run in a daemon thread of its own, awaited: its result, or what
    it raised. Unlike a thread worker (the event loop's executor, which the process waits
    for at exit), the thread is abandoned when the awaiting worker is cancelled (the app
    quits): use it only for work that writes nothing, such as reading and parsing feeds."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # (cancelled meanwhile)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = function(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting worker
            error = err
        with contextlib.suppress(RuntimeError):  # (the loop has closed: the app has left)
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="papertui-read", daemon=True).start()
    return await future
