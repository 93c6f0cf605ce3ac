"""Watch rules as the adversary of issue 14 found them failing (e7-adv14), fixed: the memory
of what the rules tagged is per tag and per device, papers a sync brings in are matched, a
bad rule leaves the others working, Chinese words match, words without letters are refused,
and the app's status recounts the watched papers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tui.library import Library
from tui.watch import (
    MEMORY_DIR,
    STATE_FILE,
    Cancelled,
    WatchConfigError,
    apply,
    matches,
    rules_from_config,
)

from .conftest import shared_pair
from .test_sync import cli, feed, ok, take_in

FLOW = {"words": ["flow matching"], "tag": "flow"}


def _rules(*tables: dict) -> list:
    return rules_from_config({"watch": list(tables)})


def _flow_and_untag(lib: Library) -> str:
    """Apply the rule flow, then take its tag off one paper (the user's decision)."""
    apply(lib, _rules({"name": "flow", **FLOW}))
    tagged = sorted(lib.query("tag:flow"))
    assert tagged  # (the sample feeds hold flow-matching papers)
    assert lib.set_state([tagged[0]], "untag", remove_tags=["flow"]) == 1
    return tagged[0]


# ------------------------------------------------------------ 1. the memory is per tag


def test_renaming_a_rule_does_not_tag_again_a_paper_the_user_untagged(
    sample_library: Library,
) -> None:
    """README: "Take the tag off a paper and that rule does not tag it again". Giving the
    same rule (same words, same tag) a clearer name must not undo the user's untagging."""
    lib = sample_library
    gone = _flow_and_untag(lib)
    apply(lib, _rules({"name": "flow-matching", **FLOW}))
    assert gone not in set(lib.query("tag:flow"))


def test_a_second_rule_giving_the_same_tag_does_not_tag_it_again(
    sample_library: Library,
) -> None:
    lib = sample_library
    gone = _flow_and_untag(lib)
    both = _rules(
        {"name": "flow", **FLOW},
        {"name": "flow2", "words": ["matching", "flow"], "tag": "FLOW"},  # (tags: no case)
    )
    apply(lib, both)
    assert gone not in set(lib.query("tag:flow"))


def test_the_old_watch_json_is_read_and_folded_into_this_devices_file(
    sample_library: Library,
) -> None:
    """A library whose watch.json (the old format: per "name<TAB>tag") remembers the user's
    untagging keeps that decision; the file is folded into watch/<device>.json."""
    lib = sample_library
    apply(lib, _rules({"name": "flow", **FLOW}))
    gone = sorted(lib.query("tag:flow"))[0]
    lib.set_state([gone], "untag", remove_tags=["flow"])
    # the memory as papertui wrote it before, and no memory of the new kind
    root = Path(lib.root)
    for path in (root / MEMORY_DIR).iterdir():
        path.unlink()
    old = {"fingerprint": "0" * 16, "tagged": {"flow\tflow": [gone]}}
    (root / STATE_FILE).write_bytes(orjson.dumps(old))
    apply(lib, _rules({"name": "renamed", **FLOW}, {"name": "x", "author": "X Y", "tag": "x"}))
    assert gone not in set(lib.query("tag:flow"))
    assert not (root / STATE_FILE).exists()
    mine = orjson.loads((root / MEMORY_DIR / f"{lib.device}.json").read_bytes())
    assert gone in mine["tagged"]["flow"]


# ------------------------------------------------------------ 2. several machines


def test_two_machines_with_watch_rules_still_sync(tmp_path: Path, monkeypatch) -> None:
    """Both machines apply the same rules to what they hold; the README promises that a
    pull never conflicts on papertui's own files. Each machine's memory is its own file,
    and a paper either machine's rules tagged (then untagged by the user) stays untagged."""
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "none.toml"))
    remote, lap, desk = shared_pair(tmp_path)
    rules = _rules({"name": "all", "categories": ["cs"], "tag": "cs"})
    take_in(desk, "desk", feed(tmp_path, "more", range(5, 7)))
    for db, device in ((lap, "laptop"), (desk, "desk")):
        lib = Library.open(db)
        lib.device = device
        try:
            assert apply(lib, rules)["all"]
        finally:
            lib.close()
    ok(lap, "laptop", "sync")
    done = cli(desk, "desk", "sync")
    assert done.returncode == 0, done.stderr
    ok(lap, "laptop", "sync")
    ok(desk, "desk", "sync")  # (and again: nothing left to conflict on)
    assert sorted(p.name for p in (lap / MEMORY_DIR).iterdir()) == ["desk.json", "laptop.json"]
    # The desk's rules tagged 2606.20005; the laptop (which never tagged it) takes the
    # tag off: its rules do not put it back.
    lib = Library.open(lap)
    lib.device = "laptop"
    try:
        assert lib.set_state(["2606.20005"], "untag", remove_tags=["cs"]) == 1
        apply(lib, _rules({"name": "renamed", "categories": ["cs"], "tag": "cs"}))
        assert "2606.20005" not in set(lib.query("tag:cs"))
    finally:
        lib.close()


# ------------------------------------------------------------ 3. papers brought by a sync


def test_papers_a_sync_brings_in_are_matched_by_the_rules(tmp_path: Path, monkeypatch) -> None:
    """The laptop applied its rules (to its whole library); the desk, with no rules, imports
    papers 5 and 6; the laptop's `papertui sync` brings them in, and its rules tag them."""
    remote, lap, desk = shared_pair(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "tm"\nwords = ["token merging"]\ntag = "tm"\n')
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "none.toml"))
    take_in(desk, "desk", feed(tmp_path, "more", range(5, 7)))
    ok(desk, "desk", "sync")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    ok(lap, "laptop", "list")  # (nothing tagged by a read)
    lib = Library.open(lap)
    lib.device = "laptop"
    try:
        apply(lib, _rules({"name": "tm", "words": ["token merging"], "tag": "tm"}))
        before = set(lib.query("tag:tm"))
    finally:
        lib.close()
    assert before == {f"2606.{20000 + n}" for n in range(3)}  # (test_sync.paper's titles)
    ok(lap, "laptop", "sync")
    lib = Library.open(lap)
    try:
        assert set(lib.query("tag:tm")) == before | {"2606.20005", "2606.20006"}
    finally:
        lib.close()
    # what the rules were last applied with is this machine's own: not committed
    tracked = subprocess.run(
        ["git", "-C", str(lap), "ls-files"], capture_output=True, text=True, check=True
    ).stdout
    assert "watch/laptop.json" in tracked and ".cache" not in tracked


# ------------------------------------------------------------ 4. a pass that is stopped


def test_a_cancelled_pass_writes_nothing_and_the_next_one_does_it_all(
    sample_library: Library, monkeypatch
) -> None:
    import tui.watch

    monkeypatch.setattr(tui.watch, "CHUNK", 5)
    lib = sample_library
    rules = _rules({"name": "all", "categories": ["cs"], "tag": "cs"})
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2  # (after two batches: the app quits)

    with pytest.raises(Cancelled):
        apply(lib, rules, cancelled=cancelled)
    assert not list(lib.query("tag:cs"))
    assert apply(lib, rules)["all"] > 5
    docs = lib.documents(list(lib))
    cs = {p for p, d in docs.items() if any(c.startswith("cs.") for c in d.get("categories", ()))}
    assert set(lib.query("tag:cs")) == cs


# ------------------------------------------------------------ 5. one bad rule


def test_a_bad_rule_leaves_the_others_working(tmp_path: Path) -> None:
    from .test_watch import RSS, _cli, _ids, _items

    (tmp_path / "config.toml").write_text(
        '[[watch]]\nname = "bad"\ntag = "t"\n\n'
        '[[watch]]\nname = "durand"\nauthor = "Melanie Durand"\ntag = "must-read"\n\n'
        '[[watch]]\nname = "worse"\nwords = ["x"]\ntag = 3\n',
        encoding="utf-8",
    )
    done = _cli(tmp_path, "--create", "import", str(RSS))
    durand = {pid for pid, item in _items(RSS) if "Mélanie Durand" in item}
    assert durand and _ids(tmp_path, "tag:must-read") == durand
    where = str(tmp_path / "config.toml")
    lines = [ln for ln in done.stderr.splitlines() if where in ln]
    assert len([ln for ln in lines if "#1 'bad': expected at least one of" in ln]) == 1
    assert len([ln for ln in lines if "#3 'worse': tag expected" in ln]) == 1
    assert _ids(tmp_path, "watch:durand") == durand  # (the search knows the good rule)


# ------------------------------------------------------------ 6. Chinese words


@pytest.mark.parametrize("chunk", [2000, 5])  # (5: the index picks the papers to read)
def test_a_chinese_word_rule_tags_the_papers_whose_text_holds_it(
    sample_library: Library, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`words = ["扩散"]` (diffusion): the digest papers whose Chinese title or summaries
    hold 扩散 get the rule's tag, as `papertui list --search 扩散` finds them."""
    import tui.watch

    monkeypatch.setattr(tui.watch, "CHUNK", chunk)
    lib = sample_library
    docs = lib.documents(list(lib))
    fields = ("title_zh", "abstract_zh", "ai_summary", "topic_hit")
    fields += ("contribution_zh", "method_zh", "findings_zh")
    holding = {pid for pid, d in docs.items() if any("扩散" in (d.get(f) or "") for f in fields)}
    titled = {pid for pid in holding if "扩散" in (docs[pid].get("title_zh") or "")}
    assert titled and holding - titled  # (the sample digests hold both kinds)
    apply(lib, _rules({"name": "zh", "words": ["扩散"], "tag": "kuosan"}))
    assert set(lib.query("tag:kuosan")) == holding
    assert holding == set(lib.query("扩散"))  # (what the search finds)


def test_a_whole_library_pass_through_the_index_finds_what_the_text_holds(
    sample_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a library larger than a batch, the index picks the papers to read: the rule
    still tags every paper whose text holds a phrase as whole words, and only those."""
    import re

    import tui.watch

    monkeypatch.setattr(tui.watch, "CHUNK", 5)
    lib = sample_library
    docs = lib.documents(list(lib))
    fields = ("title", "abstract", "ai_summary")
    flow = re.compile(r"(?<![^\W_])flow[\W_]+matching(?![^\W_])", re.I)
    token = re.compile(r"(?<![^\W_])tokens?(?![^\W_])", re.I)
    expected = {
        pid
        for pid, d in docs.items()
        if any(flow.search(d.get(f) or "") or token.search(d.get(f) or "") for f in fields)
    }
    assert 5 < len(expected) < len(docs)
    apply(lib, _rules({"name": "r", "words": ["flow matching", "token", "tokens"], "tag": "r"}))
    assert set(lib.query("tag:r")) == expected


# ------------------------------------------------------------ 8. words without letters


def test_words_without_letters_or_digits_are_refused_as_such() -> None:
    with pytest.raises(WatchConfigError) as err:
        _rules({"name": "sym", "words": [".*", "+++"], "tag": "t"})
    said = str(err.value)
    assert "[[watch]] #1 'sym': words expected letters or digits" in said
    assert "'.*', '+++' have none" in said and "at least one of" not in said


def test_a_word_of_one_letter_and_signs_matches_as_written() -> None:
    (rule,) = _rules({"name": "cpp", "words": ["c++"], "tag": "t"})
    assert matches(rule, {"title": "Fast C++ kernels", "abstract": ""})
    assert not matches(rule, {"title": "Part c of the plan", "abstract": ""})
    assert not matches(rule, {"title": "Objective-C code", "abstract": "in c"})
    (rule,) = _rules({"name": "cs", "words": ["c#"], "tag": "t"})
    assert matches(rule, {"title": "", "abstract": "written in C#."})
    assert not matches(rule, {"title": "", "abstract": "written in C."})


# ------------------------------------------------------------ 7. the status bar's count


async def _status_saying(app, pilot, text: str) -> str:  # noqa: ANN001
    """The status bar once it says ``text`` (the workers that count are awaited), or as it
    is after a while."""
    status = ""
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause(0.02)
        status = str(app.query_one("#status").render())
        if text in status:
            break
    return status


async def test_the_status_recounts_the_watched_papers_after_another_process_untags(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_app import TODAY, build
    from .test_watch import CONFIG

    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    app = build(sample_library, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 35)) as pilot:
        status = await _status_saying(app, pilot, "watched papers new today")
        watched = sorted(sample_library.query("is:watched"))
        assert len(watched) > 1
        assert f"{len(watched)} watched papers new today" in status
        other = Library.open(sample_library.root)  # (another process: a second window)
        try:
            other.set_state([watched[0]], "untag", remove_tags=["flow", "must-read"])
        finally:
            other.close()
        app.auto_refresh()
        status = await _status_saying(app, pilot, f"{len(watched) - 1} watched papers")
    assert f"{len(watched) - 1} watched papers new today" in status


def test_cli_sync_reports_a_bad_rule_and_still_syncs(tmp_path: Path, monkeypatch) -> None:
    remote, lap, desk = shared_pair(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "x"\ntag = "t"\n', encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    done = cli(lap, "laptop", "sync")
    assert done.returncode == 0
    assert f"{config}: [[watch]] #1 'x': expected at least one of" in done.stderr


def test_doctor_knows_the_watch_files(sample_library: Library, tmp_path: Path) -> None:
    apply(sample_library, _rules({"name": "flow", **FLOW}))
    root = sample_library.root
    sample_library.close()
    env = {**os.environ, "PAPERTUI_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(root), "doctor"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (Path(root) / MEMORY_DIR).is_dir()
    assert done.returncode == 0 and "not a papertui file" not in done.stdout, done.stdout


async def test_a_read_only_library_shows_its_watched_papers_in_the_status(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules were applied where the library can be written; opened read-only (another
    user's, a mounted copy), the status still says how many watched papers are new."""
    from .test_app import TODAY, build
    from .test_store_integrity import read_only
    from .test_watch import CONFIG

    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    from tui.watch import config_rules

    apply(sample_library, config_rules()[0])
    watched = len(list(sample_library.query("is:watched")))
    assert watched
    root = sample_library.root
    sample_library.close()
    with read_only(root):
        lib = Library.open(root)
        assert lib.read_only
        app = build(lib, tmp_path, today=TODAY)
        async with app.run_test(size=(120, 35)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.query_one("#status").render())
    assert "read-only" in status
    assert f"◆ {watched} today" in status  # (the short form: "read-only" takes the room)


async def test_p_in_the_app_matches_the_papers_the_sync_brings_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_app import TODAY, build

    remote, lap, desk = shared_pair(tmp_path)
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "none.toml"))
    take_in(desk, "desk", feed(tmp_path, "more", range(5, 7)))
    ok(desk, "desk", "sync")
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "tm"\nwords = ["token merging"]\ntag = "tm"\n')
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    monkeypatch.setenv("PAPERTUI_DEVICE", "laptop")
    lib = Library.open(lap)
    app = build(lib, tmp_path, today=TODAY)
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(200):  # (the rules applied after the first paint)
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)
            if (lap / MEMORY_DIR).is_dir():
                break
        assert set(lib.query("tag:tm")) == {f"2606.{20000 + n}" for n in range(3)}
        await pilot.press("P")
        for _ in range(500):  # (git, then the rules: each in a worker)
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)
            if "2606.20006" in set(lib.query("tag:tm")):
                break
    assert set(lib.query("tag:tm")) == {f"2606.{20000 + n}" for n in (0, 1, 2, 5, 6)}
