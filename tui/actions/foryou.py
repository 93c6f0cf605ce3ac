"""The "for you" order in the app: the model (tui/relevance.py) retrained on a worker thread
once the reader has paused, and its explanation in the detail pane.

The model is trained when the app has had no key for `ForYouActions.foryou_idle` seconds and
the reader's triage (or the library) changed since the stored scores were made (at the first
pause after the app opens, too: what the previous session changed). Training reads the
library on the worker's own connection and writes the scores in one transaction; no key
waits for it. Only then are scikit-learn and numpy imported.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from textual import events, work

from .base import PaperAppBase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..relevance import Ranking


class ForYouActions(PaperAppBase):
    """Retrains the "for you" model in a worker; shows its reasons."""

    foryou_idle: float = 5.0
    """Seconds without a key before the model is retrained (0: never)."""
    foryou_tick: float = 2.0
    """Seconds between two looks at whether the model should be retrained."""

    _foryou_busy = False
    _last_key = 0.0
    _foryou_told = ""  # the config problem last shown (shown once)

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
        """Retrain and store the scores when they are stale; then show the new order."""
        from ..library import LibraryError
        from ..relevance import RelevanceConfigError, Seeds, refresh, stale

        ranking: Ranking | None = None
        problem = ""
        try:
            if stale(self.library):
                seeds = Seeds()
                try:
                    seeds = _config_seeds()
                except (RelevanceConfigError, ValueError) as err:
                    problem = str(err)
                ranking = refresh(self.library, seeds)
        except LibraryError as err:
            problem = str(err)
        finally:
            with contextlib.suppress(RuntimeError):  # (the app has left meanwhile)
                self.call_from_thread(self._foryou_done, ranking, problem)

    def _foryou_done(self, ranking: Ranking | None, problem: str) -> None:
        self._foryou_busy = False
        if problem and problem != self._foryou_told:
            self._foryou_told = problem
            self._error(problem)
        if ranking is None or self.sort_for() != "foryou":
            return
        self.detail.invalidate()
        self.requery(keep=self.paper_list.current)

    def action_cycle_sort(self) -> None:
        super().action_cycle_sort()  # type: ignore[misc]
        if self.sort_key == "foryou":
            reason = self.library.score_info().get("reason")
            self.toast(reason or "for you: the model is trained when you pause", timeout=4)

    def _run_query(self, search: str) -> Sequence[str]:
        self.detail.show_why = self.sort_for(search) == "foryou"
        return super()._run_query(search)


def _config_seeds() -> Any:
    """The ``[relevance]`` seeds of the user's config file (none when there is no file).
    ConfigError or RelevanceConfigError (ValueError) when it cannot be used."""
    from ..config import ConfigError, config_path, read_config
    from ..relevance import Seeds, seeds_from_config

    try:
        config = read_config(config_path())
    except FileNotFoundError:
        return Seeds()
    except ConfigError as err:
        raise ValueError(str(err)) from None
    try:
        return seeds_from_config(config)
    except ValueError as err:
        raise ValueError(f"{config_path()}: {err}") from None
