"""Reading feeds pauses the cyclic garbage collector (tui.importing.read_sources, issue 10)
and always gives it back as it was: after a read, after a failing one, and never turning on
a collector the caller had off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui import importing
from tui.importing import read_sources

from .conftest import FEEDS, TODAY

STAMP = "2026-11-22T08:00:00+00:00"


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_rests_during_the_read_and_runs_after(collector: None) -> None:
    gc.enable()
    seen: list[bool] = []
    files = sorted(str(p) for p in FEEDS.iterdir() if p.is_file())
    loaded, errors = read_sources(
        files, TODAY, STAMP, progress=lambda d, t: seen.append(gc.isenabled())
    )
    assert len(loaded) == len(files) and not errors
    assert seen == [False] * len(files)
    assert gc.isenabled()


def test_a_failing_read_gives_the_collector_back(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.enable()

    def bug(*_args: object, **_kwargs: object) -> object:
        raise KeyboardInterrupt  # (Ctrl-C during a read)

    monkeypatch.setattr(importing, "load_source", bug)
    with pytest.raises(KeyboardInterrupt):
        read_sources([str(FEEDS)], TODAY, STAMP)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector: None, tmp_path: Path) -> None:
    gc.disable()
    read_sources([str(tmp_path / "missing.txt")], TODAY, STAMP)
    assert not gc.isenabled()
