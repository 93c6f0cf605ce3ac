"""The "for you" order in the app: the model (tui/relevance.py) retrained on a worker thread
once the reader has paused, and its explanation in the detail pane.

The model is trained when the app has had no key for `ForYouActions.foryou_idle` seconds and
the reader's triage (or the library) changed since the stored scores were made (at the first
pause after the app opens, too: what the previous session changed). Training runs in a
process of its own (``python -m tui.relevance LIBRARY``), which reads the library and writes
the scores in one transaction: no key waits for it, and scikit-learn, numpy and the papers'
features never enter the app's process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from subprocess import SubprocessError
from typing import TYPE_CHECKING

from textual import events, work

from .base import PaperAppBase

if TYPE_CHECKING:
    from collections.abc import Sequence

OWN_CODE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN_TIMEOUT = 600  # seconds a training may take (a first one at a million papers: minutes)


class ForYouActions(PaperAppBase):
    """Retrains the "for you" model in a worker; shows its reasons."""

    foryou_idle: float = 5.0
    """Seconds without a key before the model is retrained (0: never)."""
    foryou_tick: float = 2.0
    """Seconds between two looks at whether the model should be retrained."""

    _foryou_busy = False
    _foryou_training = False  # the training process runs
    _last_key = 0.0
    _foryou_told = ""  # the config problem last shown (shown once)
    _foryou_failed = ""  # the triage fingerprint of the last training that failed
    _foryou_process: subprocess.Popen[str] | None = None  # the training process running
    _foryou_stopped = False  # the app quits: no training is started or waited for

    def start_foryou(self) -> None:
        """Look every `foryou_tick` seconds whether to retrain (not in a read-only library)."""
        self._last_key = time.monotonic()
        if self.foryou_idle > 0 and not self.library.read_only:
            self.set_interval(self.foryou_tick, self._foryou_tick)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
        await super().on_event(event)

    def _foryou_tick(self) -> None:
        if self._foryou_busy or time.monotonic() - self._last_key < self.foryou_idle:
            return
        self._foryou_busy = True
        self.retrain_foryou()

    @work(thread=True, group="foryou", exit_on_error=False)
    def retrain_foryou(self) -> None:
        """When the stored scores are stale, retrain and store them in another process
        (``python -m tui.relevance LIBRARY``: the training's own Python work and memory stay
        out of the app's), then show the new order."""
        from ..library import LibraryError
        from ..relevance import cold_start, config_seeds, fingerprint, library_labels, stale

        reason: str | None = None
        problem = ""
        lib = self.library
        try:
            # (a training that failed is tried again only once the triage has changed: not
            # at every pause, each a process of seconds of CPU failing the same way)
            seeds, problem = config_seeds()
            if not stale(lib, seeds) or lib.triage_fingerprint() == self._foryou_failed:
                seeds = None  # (nothing to train; a config problem is still said, once)
            if seeds is None:
                pass
            elif not seeds and (cold := cold_start(library_labels(lib))):
                # (no model to train: said here, without starting a process)
                lib.store_scores({}, {}, cold, fingerprint(lib, seeds))
                reason = cold
            else:
                tried = lib.triage_fingerprint()
                self._foryou_training = True
                done = self._train(os.path.abspath(lib.root))
                if done.returncode == 0:
                    found = json.loads(done.stdout.strip().splitlines()[-1])
                    reason, problem = found["reason"], found.get("problem", "")
                else:
                    self._foryou_failed = tried
                    code = done.returncode
                    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
                    lines = done.stderr.strip().splitlines() or [how]
                    problem = f"for you: the model could not be trained: {lines[-1]}"
        except (LibraryError, OSError, ValueError, KeyError, sqlite3.Error, SubprocessError) as err:
            problem = f"for you: the model could not be trained: {err}"
        finally:
            self._foryou_training = False
            with contextlib.suppress(RuntimeError):  # (the app has left meanwhile)
                self.call_from_thread(self._foryou_done, reason, problem)

    def _train(self, root: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m tui.relevance ROOT`` to its end (or `TRAIN_TIMEOUT`: then
        `subprocess.TimeoutExpired`); ended at once by `stop_foryou`."""
        with subprocess.Popen(
            [sys.executable, "-m", "tui.relevance", root],
            # (run from the folder that holds papertui's own `tui`: from the user's folder,
            # `-m` would find a `tui` package of theirs first and run it)
            cwd=OWN_CODE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        ) as process:
            self._foryou_process = process
            try:
                if self._foryou_stopped:  # (the app quit while it started)
                    process.kill()
                out, err = process.communicate(timeout=TRAIN_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise
            finally:
                self._foryou_process = None
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def stop_foryou(self) -> None:
        """The app quits: end the training under way (killed: its scores are written in one
        transaction, so none are stored; the next session trains again). The app's process
        waits for its workers before it exits: a training of minutes (a big library, a
        loaded machine) kept the shell from coming back after `q`, the terminal restored."""
        self._foryou_stopped = True
        process = self._foryou_process
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()

    def _foryou_done(self, reason: str | None, problem: str) -> None:
        self._foryou_busy = False
        if reason is not None:
            # (the scores it wrote are no change of the papers: the reload they caused ran
            # the view again, the papers marked read left it, the cursor moved to another)
            self.library.take_own_cache_writes()
        if problem and problem != self._foryou_told:
            self._foryou_told = problem
            self._error(problem)
        if reason is None or self.sort_for() != "foryou":
            return
        self.detail.invalidate()
        self.requery(keep=self.paper_list.current)

    def action_cycle_sort(self) -> None:
        super().action_cycle_sort()  # type: ignore[misc]
        if self.sort_key == "foryou":
            from ..relevance import cold_start, library_labels, order_note  # (not the model's)

            lib = self.library
            said = order_note(lib, self._foryou_training)
            if not lib.score_info().get("reason") and not lib.read_only:
                # (nothing stored yet: a cold start says so now, not "when you pause")
                said = cold_start(library_labels(lib)) or said
            self.toast(said, timeout=4)

    def _run_query(self, search: str) -> Sequence[str]:
        self.detail.show_why = self.sort_for(search) == "foryou"
        return super()._run_query(search)
