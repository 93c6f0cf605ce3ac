"""The "for you" order (tui/relevance.py): trained on the reader's own triage of the sample
feeds. The oracle is the words of the papers (a paper is about caching when its title or
abstract says cache, caching or 缓存), never the model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui import relevance
from tui.library import Library

CACHING = re.compile(r"cach|缓存", re.IGNORECASE)
TEXT = ("title", "title_zh", "abstract", "abstract_zh", "contribution_zh", "method_zh")


def about_caching(doc: dict) -> bool:
    return bool(CACHING.search(" ".join(str(doc.get(k) or "") for k in TEXT)))


def triage(lib: Library) -> tuple[list[str], list[str], list[str]]:
    """Star every other caching paper, mark eight other papers read: (the caching papers
    starred, the caching papers left undecided, the papers marked read)."""
    docs = lib.documents(list(lib))
    caching = [pid for pid, doc in docs.items() if about_caching(doc)]
    others = [pid for pid in docs if pid not in caching]
    starred, left = caching[::2], caching[1::2]
    read = others[:8]
    lib.set_state(starred, "star", starred=True)
    lib.set_state(read, "read", read=True)
    return starred, left, read


def test_a_reader_who_stars_caching_papers_sees_caching_papers_first(
    sample_library: Library,
) -> None:
    lib = sample_library
    starred, left, read = triage(lib)
    assert len(starred) >= 5 and len(left) >= 5  # (the sample feeds hold a dozen)
    ranking = relevance.refresh(lib)
    assert ranking.trained
    assert ranking.reason == (
        f"for you: trained on {len(starred)} kept and {len(read)} skipped papers"
    )
    order = list(lib.query("is:unread", sort="foryou"))
    undecided = [pid for pid in order if pid not in starred]
    assert len(undecided) == len(lib) - len(starred) - len(read)
    # 6 caching papers among ~90 undecided: 3 in the first 5 by chance is ~1 in 4,000.
    top = undecided[:5]
    assert sum(pid in left for pid in top) >= 3, [lib.short_title(p) for p in top]
    # The caching papers left are ranked, as a whole, far above the others.
    mean = sum(undecided.index(pid) for pid in left) / len(left)
    assert mean < len(undecided) / 4
    # The starred unread papers come first: they are the reader's own "yes".
    assert set(order[: len(starred)]) == set(starred)


def test_the_explanation_names_a_caching_term(sample_library: Library) -> None:
    lib = sample_library
    _, left, _ = triage(lib)
    relevance.refresh(lib)
    best = next(pid for pid in lib.query("is:unread", sort="foryou") if pid in left)
    score, why = lib.score_of(best)
    assert why.startswith("matches your stars: ")
    assert 3 <= len(why.split(": ", 1)[1].split(", ")) <= 5
    assert CACHING.search(why), why
    # every term named is in the paper, as the paper writes it
    doc = lib.documents([best])[best]
    text = " ".join(str(doc.get(k) or "") for k in TEXT) + " ".join(doc.get("authors") or [])
    for term in why.split(": ", 1)[1].split(", "):
        term = term.removeprefix("author ").removeprefix("category ")
        assert term in text or term in " ".join(doc.get("categories") or []), term


def _near(a: str, b: str) -> bool:
    """Two terms one of which says the other again: a word inside the other's pair, or
    single words one of which (less a final e/es/s) begins the other ("block", "blocks")."""
    a, b = a.lower(), b.lower()
    if " " in a or " " in b:
        return (" " not in a and a in b.split()) or (" " not in b and b in a.split())
    ra, rb = re.sub(r"(es|e|s)$", "", a), re.sub(r"(es|e|s)$", "", b)
    return min(len(ra), len(rb)) >= 3 and (ra.startswith(rb) or rb.startswith(ra))


def test_an_explanation_never_names_a_word_twice(sample_library: Library) -> None:
    """Seen trying it: "matches your stars: blocks, block, computation", "Merge, Merging",
    "LLM, Large Language, inherent, LLMs"."""
    lib = sample_library
    triage(lib)
    relevance.refresh(lib)
    explained = [got[1] for pid in lib if (got := lib.score_of(pid)) and got[1]]
    assert len(explained) >= 20
    for why in explained:
        terms = why.split(": ", 1)[1].split(", ")
        assert 1 <= len(terms) <= relevance.EXPLAIN_TERMS
        for i, a in enumerate(terms):
            assert not any(_near(a, b) for b in terms[i + 1 :]), why


def test_read_papers_follow_the_scored_ones_in_feed_order(sample_library: Library) -> None:
    lib = sample_library
    _, _, read = triage(lib)
    relevance.refresh(lib)
    order = list(lib.query("", sort="foryou"))
    assert len(order) == len(lib)
    tail = order[-len(read) :]
    assert set(tail) == set(read)
    assert tail == [pid for pid in lib.query("is:read", sort="feed_date") if pid in read]


def test_cold_start_keeps_feed_order_and_says_so(sample_library: Library) -> None:
    lib = sample_library
    ids = list(lib.query("", sort="feed_date"))
    lib.set_state(ids[:2], "star", starred=True)
    lib.set_state(ids[2:6], "read", read=True)
    ranking = relevance.refresh(lib)
    assert not ranking.trained and not ranking.scores
    assert "feed order" in ranking.reason and "6 so far" in ranking.reason
    assert lib.score_info()["reason"] == ranking.reason
    unread = list(lib.query("is:unread", sort="foryou"))
    assert unread == list(lib.query("is:unread", sort="feed_date"))
    # many decisions, none a "yes": still no model
    lib.set_state(ids[:20], "read", read=True, starred=False)
    ranking = relevance.refresh(lib)
    assert not ranking.trained
    assert "until you star, tag or note a paper" in ranking.reason


def test_a_tag_or_a_note_is_a_yes_and_a_read_star_is_not_a_no() -> None:
    labels = relevance.labels_of(
        {
            "a": {"starred": True, "read": True},
            "b": {"tags": ["x"]},
            "c": {"note": "good", "read": True},
            "d": {"read": True},
            "e": {"note": "   ", "read": True},
            "f": {},
        }
    )
    assert labels.label == {"a": True, "b": True, "c": True, "d": False, "e": False}
    assert (labels.starred, labels.tagged, labels.noted) == (1, 1, 1)


def test_new_triage_makes_the_scores_stale(sample_library: Library) -> None:
    lib = sample_library
    triage(lib)
    assert relevance.stale(lib)
    relevance.refresh(lib)
    assert not relevance.stale(lib)
    lib.set_state([next(iter(lib.query("is:unread")))], "read", read=True)
    assert relevance.stale(lib)


def test_config_seeds_start_the_model(sample_library: Library) -> None:
    lib = sample_library
    docs = lib.documents(list(lib))
    caching = sorted(pid for pid, doc in docs.items() if about_caching(doc))
    with_id = [pid for pid in caching if docs[pid].get("arxiv_id")]
    arxiv = [docs[pid]["arxiv_id"] for pid in with_id]
    seeds = relevance.seeds_from_config({"relevance": {"arxiv": [a + "v2" for a in arxiv]}})
    assert seeds.arxiv == frozenset(arxiv) and len(arxiv) >= 2
    read = [pid for pid in docs if pid not in caching][:8]
    lib.set_state(read, "read", read=True)
    # eight skips and no "yes": no model without the seeds, one with them
    assert not relevance.refresh(lib).trained
    ranking = relevance.refresh(lib, seeds)
    assert ranking.trained, ranking.reason
    assert ranking.reason == f"for you: trained on {len(arxiv)} kept and 8 skipped papers"
    top = list(lib.query("is:unread", sort="foryou"))[: len(with_id)]
    assert set(top) == set(with_id)
    assert lib.score_of(top[0])[1].startswith("matches your seeds: ")


def test_author_seeds_match_folded_names() -> None:
    seeds = relevance.seeds_from_config({"relevance": {"authors": ["  Thomas  MÜLLER "]}})
    assert seeds.match({"authors": ["Thomas Müller"]})
    assert not seeds.match({"authors": ["Thomas Mueller"]})
    # (accents are not needed, as `author:muller` finds Müller in a search)
    plain = relevance.seeds_from_config({"relevance": {"authors": ["Rene Vidal"]}})
    assert plain.match({"authors": ["René Vidal"]})
    ids = relevance.seeds_from_config(
        {"relevance": {"arxiv": ["2406.01125v3", "hep-th/9901001", "arXiv:2606.18765"]}}
    )
    assert ids.arxiv == {"2406.01125", "hep-th/9901001", "2606.18765"}


def test_new_seeds_in_the_config_make_the_stored_ranking_stale(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an adversary: seeds added to a library that had scores changed nothing (the
    scores went stale only on triage changes)."""
    from .test_cli import run

    config = tmp_path / "config.toml"
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    lib = sample_library
    triage(lib)
    relevance.refresh(lib, relevance.config_seeds()[0])
    assert not relevance.stale(lib)
    config.write_text('[relevance]\nauthors = ["Guandong Li"]\n', encoding="utf-8")
    assert relevance.stale(lib)
    done = run("list", "--sort", "foryou", "--limit", "1", db=lib.root)
    assert "trained on" in done.stderr and not relevance.stale(lib)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"relevance": {"authors": [1]}}, "[relevance] authors: expected a list of strings"),
        ({"relevance": {"arxiv": {"a": 1}}}, "[relevance] arxiv: expected a list of strings"),
        ({"relevance": 3}, "[relevance]: expected a table"),
        (
            {"relevance": {"autors": ["X"]}},
            "[relevance] 'autors': not a setting (expected authors, arxiv)",
        ),
        (
            {"relevance": {"arxiv": ["not-an-id"]}},
            "[relevance] arxiv: 'not-an-id' is not an arXiv id (2406.01125, hep-th/9901001)",
        ),
    ],
)
def test_a_bad_relevance_table_is_named(table: dict, message: str) -> None:
    with pytest.raises(relevance.RelevanceConfigError) as err:
        relevance.seeds_from_config(table)
    assert str(err.value) == message


def test_chinese_text_is_read_as_bigrams() -> None:
    bag = relevance.tokens(
        {
            "title": "Fast DiT",
            "authors": ["Kaiming He"],
            "title_zh": "特征缓存",
            "categories": ["cs.CV"],
        }
    )
    assert {"fast", "dit", "fast dit", "@kaiming he", "#cs.cv", "特征", "征缓", "缓存"} <= set(bag)


def test_the_app_does_not_import_the_model() -> None:
    code = (
        "import sys, tui.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sklearn', 'scipy', 'numpy') or m == 'tui.relevance'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_terms_are_written_as_the_paper_writes_them() -> None:
    doc = {
        "title": "Token Merging for DiT",
        "abstract": "We study token  merging.",
        "authors": ["Kaiming  He", "Thomas Müller"],
        "categories": ["cs.CV"],
    }
    line = relevance.describe(["@thomas müller", "token merging", "dit", "#cs.cv"], doc, "tags")
    assert line == "matches your tags: author Thomas Müller, Token Merging, DiT, category cs.CV"


def test_chinese_terms_are_the_words_the_paper_writes_not_their_bigrams() -> None:
    """Found as a known defect: the Chinese terms of an explanation were character bigrams
    ("扩散, 散模, 模型": "散模" is half of two words). Bigrams the paper's Chinese text
    writes one after the other are one term, where the first of them was; one alone is
    itself."""
    doc = {
        "title": "Faster Diffusion",
        "abstract": "We speed up sampling.",
        "title_zh": "扩散模型的加速",
        "abstract_zh": "本文提出一种扩散模型采样加速方法。",
    }
    terms = ["扩散", "sampling", "模型", "散模"]
    assert all(t in relevance.tokens(doc) for t in terms)  # (the paper's own features)
    line = relevance.describe([*terms, "加速"], doc)
    assert line == "matches your stars: 扩散模型, sampling, 加速"
    assert relevance.describe(["模型", "加速"], doc) == "matches your stars: 模型, 加速"


async def test_the_app_retrains_when_idle_and_S_shows_the_order_with_reasons(
    sample_library: Library, tmp_path: Path
) -> None:
    from .test_app import SIZE, build

    lib = sample_library
    starred, left, _ = triage(lib)
    app = build(lib, tmp_path)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(400):  # the worker trains once the keys pause (no key is pressed)
            await pilot.pause(0.05)
            if not relevance.stale(lib) and not app._foryou_busy:
                break
        assert lib.score_info()["reason"].startswith("for you: trained on")
        while app.sort_key != "foryou":
            await pilot.press("S")
        await pilot.pause()
        ids = list(app.paper_list.ids)
        assert ids == list(lib.query("is:unread", sort="foryou"))
        assert set(ids[: len(starred)]) == set(starred)
        await pilot.press("g")
        app.sync_detail()
        await pilot.pause()
        assert app.paper_list.current == ids[0]
        why = lib.score_of(ids[0])[1]
        assert why.startswith("matches your stars: ")
        assert why in app.detail.text
        # another order: no explanation
        await pilot.press("S")
        app.sync_detail(force=True)
        await pilot.pause()
        assert "matches your stars" not in app.detail.text


def test_the_worker_process_trains_stores_and_names_a_bad_config(
    sample_library: Library, tmp_path: Path
) -> None:
    import json
    import os

    lib = sample_library
    triage(lib)
    config = tmp_path / "config.toml"
    config.write_text('[relevance]\nauthors = "x"\narxiv = [1]\n', encoding="utf-8")
    env = {**os.environ, "PAPERTUI_CONFIG": str(config)}
    run = [sys.executable, "-m", "tui.relevance", str(lib.root)]
    done = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    out = json.loads(done.stdout)
    assert out["trained"] and out["reason"].startswith("for you: trained on 6 kept")
    assert out["problem"] == f"{config}: [relevance] arxiv: expected a list of strings"
    assert not relevance.stale(lib) and lib.score_info()["reason"] == out["reason"]
    missing = subprocess.run(
        [sys.executable, "-m", "tui.relevance", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1


async def test_the_app_says_why_the_order_is_the_feed_s_at_a_cold_start(
    sample_library: Library, tmp_path: Path
) -> None:
    from .test_app import SIZE, build, toasts

    lib = sample_library
    lib.set_state(list(lib)[:3], "read", read=True)
    app = build(lib, tmp_path)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if not relevance.stale(lib) and not app._foryou_busy:
                break
        while app.sort_key != "foryou":
            await pilot.press("S")
        await pilot.pause()
        said = "for you: feed order until you star, tag or note a paper (3 decided so far)"
        assert toasts(app)[-1] == said
        assert list(app.paper_list.ids) == list(lib.query("is:unread"))
        app.sync_detail(force=True)
        await pilot.pause()
        assert "matches your" not in app.detail.text


def test_an_author_seed_finds_the_author_s_papers_through_the_index(
    sample_library: Library,
) -> None:
    lib = sample_library
    docs = lib.documents(list(lib))
    by = [pid for pid, doc in docs.items() if "Guandong Li" in (doc.get("authors") or [])]
    assert by  # (the sample's Chinese caching paper)
    seeds = relevance.seeds_from_config({"relevance": {"authors": ["guandong  LI"]}})
    assert sorted(lib.seeded(seeds.authors, seeds.arxiv, seeds.match)) == sorted(by)
    # a name that is only the start of one, or two authors' names run together, is none
    other = relevance.seeds_from_config({"relevance": {"authors": ["Guandong"]}})
    assert lib.seeded(other.authors, other.arxiv, other.match) == []


def test_papertui_list_sort_foryou_trains_on_the_triage_first(sample_library: Library) -> None:
    """The command line's "for you" order is as fresh as the triage: it trains when the
    stored scores predate the last change, and says on stderr what it trained on."""
    from .test_cli import run

    lib = sample_library
    starred, left, read = triage(lib)
    done = run("list", "--sort", "foryou", "--unread", "--json", db=lib.root)
    assert done.returncode == 0, done.stderr
    assert f"trained on {len(starred)} kept and {len(read)} skipped papers" in done.stderr
    # (the first training says it reads every paper first)
    assert f"for you: training; reading {len(lib)} papers once first" in done.stderr
    undecided = [r["id"] for r in json.loads(done.stdout) if r["id"] not in starred]
    assert sum(pid in left for pid in undecided[:5]) >= 3
    again = run("list", "--sort", "foryou", "--limit", "3", db=lib.root)
    assert "trained" not in again.stderr  # (nothing changed since: the stored scores)


def test_papertui_list_sort_relevance_without_words_is_the_foryou_order(
    sample_library: Library,
) -> None:
    """`--sort relevance` (the issue's name) with no search words has nothing to rank by
    bm25: it gives the for-you order and says so; with words it stays the bm25 order."""
    from .test_cli import run

    lib = sample_library
    triage(lib)
    foryou = run("list", "--sort", "foryou", "--unread", "--json", db=lib.root)
    plain = run("list", "--sort", "relevance", "--unread", "--json", db=lib.root)
    assert plain.returncode == 0, plain.stderr
    assert "--sort relevance orders for you" in plain.stderr
    ids = [r["id"] for r in json.loads(plain.stdout)]
    assert ids == [r["id"] for r in json.loads(foryou.stdout)]
    assert ids != [
        r["id"] for r in json.loads(run("list", "--unread", "--json", db=lib.root).stdout)
    ]
    worded = run("list", "--sort", "relevance", "-s", "cache", "--json", db=lib.root)
    assert "orders for you" not in worded.stderr
    hits = [r for r in json.loads(worded.stdout)]
    assert hits and all(re.search(r"cach", json.dumps(r), re.I) for r in hits)


async def test_the_app_trains_with_its_own_code_not_a_tui_package_in_the_working_folder(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run papertui from inside a project that has a `tui` package of its own (a common
    name): the idle training (``python -m tui.relevance``) must run papertui's code, not
    the folder's `tui/relevance.py` (which it executed: the model was never trained, and
    the folder's code ran each time the app paused)."""
    from .test_app import SIZE, build

    project = tmp_path / "project"
    (project / "tui").mkdir(parents=True)
    (project / "tui" / "__init__.py").write_text("", encoding="utf-8")
    marker = tmp_path / "ran"
    (project / "tui" / "relevance.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nraise SystemExit(3)\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("PAPERTUI_CONFIG", str(tmp_path / "none.toml"))
    lib = sample_library
    triage(lib)
    app = build(lib, tmp_path)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(400):  # (the worker trains once the keys pause)
            await pilot.pause(0.05)
            if marker.exists() or (not relevance.stale(lib) and not app._foryou_busy):
                break
    assert not marker.exists()
    assert lib.score_info()["reason"].startswith("for you: trained on")


def test_a_batch_of_features_counts_each_token_s_column_as_the_tokens_say(
    sample_library: Library,
) -> None:
    """`features_of` (a batch, in numpy) against the tokens one paper at a time: each
    column holds as many tokens as `tokens` gives with that `token_id`."""
    import numpy as np

    docs = list(sample_library.documents(list(sample_library)).values())
    docs += [{}, {"title": "a b c", "authors": ["  "], "title_zh": "缓"}]
    made = relevance.features_of(docs)
    assert len(made) == len(docs)
    for doc, (cols, counts) in zip(docs, made, strict=True):
        want: dict[int, int] = {}
        for token in relevance.tokens(doc):
            col = relevance.token_id(token)
            want[col] = want.get(col, 0) + 1
        got = np.frombuffer(cols, "<i4").tolist()
        assert got == sorted(want)
        assert dict(zip(got, np.frombuffer(counts, "<u2").tolist(), strict=True)) == want
    assert made[-1][0] == np.array(sorted({relevance.token_id("缓")}), "<i4").tobytes()


def test_features_stored_by_an_earlier_scheme_are_made_again(sample_library: Library) -> None:
    """Features an earlier papertui stored (another `FEATURES_VERSION`: other columns) are
    not read as this one's: they are dropped and made again at the next training."""
    lib = sample_library
    triage(lib)
    first = relevance.refresh(lib)
    ids, _, cols, _ = lib.feature_rows(relevance.FEATURES_VERSION)
    assert None not in cols and len(ids) == len(lib)
    # as an earlier papertui left them: every paper's columns out of this scheme's range
    bogus = (b"\xff\xff\xff\x7f", b"\x01\x00")
    lib.store_features(dict.fromkeys(ids, bogus), relevance.FEATURES_VERSION - 1)
    assert set(lib.feature_rows(relevance.FEATURES_VERSION)[2]) == {None}
    lib.set_state(ids[-1:], "read", read=True)
    again = relevance.refresh(lib)
    assert again.trained
    _, _, cols, counts = lib.feature_rows(relevance.FEATURES_VERSION)
    docs = lib.documents(ids)
    assert list(zip(cols, counts, strict=True)) == relevance.features_of([docs[p] for p in ids])
    assert set(again.scores) == set(first.scores) - {ids[-1]}


# ------------------------------------------------------------ a read-only library
# A library this process cannot write is read through a cache of its own (in the user's
# cache directory, tui/library/cache.py `open_cache`), which holds no ranking: the order is
# the feed's, and nothing is trained (it could not be stored in the library).
RO_FEED = "for you: feed order (read-only library: no ranking stored, none trained here)"


async def test_a_read_only_library_says_the_for_you_order_is_the_feed_s_and_trains_nothing(
    sample_library: Library, tmp_path: Path
) -> None:
    from .test_app import SIZE, build, toasts
    from .test_store_integrity import read_only, snapshot

    lib = sample_library
    triage(lib)  # (enough to train on)
    relevance.refresh(lib)  # (a ranking in the library's own cache, which it cannot use)
    before = snapshot(lib.root)
    with read_only(lib.root):
        ro = Library.open(lib.root)
        assert ro.read_only
        app = build(ro, tmp_path)
        app.foryou_idle, app.foryou_tick = 0.05, 0.05
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)  # (idle: a writable library would be retraining by now)
            while app.sort_key != "foryou":
                await pilot.press("S")
            await pilot.pause()
            assert toasts(app)[-1] == RO_FEED
            assert not any("trained when you pause" in t for t in toasts(app))
            assert list(app.paper_list.ids) == list(ro.query("is:unread"))
            assert not app._foryou_busy and ro.score_info() == {}
    assert snapshot(lib.root) == before


def test_papertui_list_sort_foryou_in_a_read_only_library_says_what_it_shows(
    sample_library: Library,
) -> None:
    """The command line trains nothing where it cannot write: it lists the feed order and
    says so on stderr."""
    from .test_cli import run
    from .test_store_integrity import read_only, snapshot

    lib = sample_library
    triage(lib)
    before = snapshot(lib.root)
    with read_only(lib.root):
        done = run("list", "--sort", "foryou", "--unread", "--json", db=lib.root)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == RO_FEED
    assert [r["id"] for r in json.loads(done.stdout)] == list(lib.query("is:unread"))
    assert snapshot(lib.root) == before


def test_a_read_only_library_with_a_ranking_in_its_cache_says_it_shows_that_one(
    sample_library: Library,
) -> None:
    """A ranking in the cache a read-only library is read through is shown as the last
    stored, said to predate the latest changes when it does."""
    from .test_store_integrity import read_only

    lib = sample_library
    triage(lib)
    with read_only(lib.root):
        ro = Library.open(lib.root)
        ranking = relevance.rank_library(ro)  # (made, not stored in the library)
        ro.store_scores(ranking.scores, ranking.why, ranking.reason, relevance.fingerprint(ro))
        fresh = relevance.order_note(ro, training=True)
        ro.store_scores(ranking.scores, ranking.why, ranking.reason, "before")
        older = relevance.order_note(ro)
    assert fresh == f"{ranking.reason} (read-only library: not retrained here)"
    assert older == (
        f"{ranking.reason}, before your latest changes (read-only library: not retrained here)"
    )


async def test_while_the_model_trains_the_app_answers_keys_and_says_it_is_training(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training process is held until the reader has used the app: keys are answered
    meanwhile, and `S` to "for you" says the model is training and the feed order is shown
    until it is done; then the trained order comes."""
    import threading

    from tui.actions import foryou

    from .test_app import SIZE, build, toasts

    lib = sample_library
    starred, _, _ = triage(lib)
    started, go = threading.Event(), threading.Event()
    real_popen = subprocess.Popen

    def held_popen(*args: object, **kw: object) -> subprocess.Popen[str]:
        started.set()
        go.wait(30)
        return real_popen(*args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(foryou.subprocess, "Popen", held_popen)
    app = build(lib, tmp_path)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if started.is_set():
                break
        assert started.is_set() and app._foryou_training
        while app.sort_key != "foryou":
            await pilot.press("S")
        await pilot.pause()
        said = "for you: the model is training in the background; feed order until it is done"
        assert toasts(app)[-1] == said
        assert list(app.paper_list.ids) == list(lib.query("is:unread"))
        go.set()
        for _ in range(400):
            await pilot.pause(0.05)
            if not app._foryou_busy:
                break
        await pilot.pause()
        assert not relevance.stale(lib)
        assert set(list(app.paper_list.ids)[: len(starred)]) == set(starred)


def test_for_you_when_every_paper_is_a_yes_is_no_traceback(
    sample_library: Library, tmp_path: Path
) -> None:
    """A reader who starred every paper of the inbox (or one watch rule that tags every
    paper: `sources = ["hf"]` on an HF-only library) asks for the "for you" order: the list
    is printed (a model or feed order, said on stderr), never a ValueError traceback."""
    lib = sample_library
    lib.set_state(list(lib), "star", starred=True)
    root = lib.root
    lib.close()
    env = {**os.environ, "PAPERTUI_CONFIG": str(tmp_path / "none.toml"), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(root), "list", "--sort", "foryou"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-400:]
    assert done.returncode == 0
    assert "every paper is one you kept" in done.stderr
    assert len(done.stdout.splitlines()) == len(Library.open(root))  # (feed order: all)


def test_tags_the_watch_rules_gave_are_not_the_readers_decisions(
    sample_library: Library,
) -> None:
    """Found by an adversary: papers a watch rule tagged counted as "kept" ("trained on 15
    kept and 0 skipped" with nothing decided by the reader), so the model learnt the rules."""
    lib = sample_library
    by_rule = sorted(lib)[:12]
    lib.set_state(by_rule, "watch", add_tags=["must-read"])
    states = lib.states()
    assert relevance.labels_of(states).yes == 12  # (without the rules' tags named)
    labels = relevance.labels_of(states, frozenset({"must-read"}))
    assert labels.yes == 0 and relevance.cold_start(labels) is not None
    lib.set_state(by_rule[:1], "tag", add_tags=["mine"])
    labels = relevance.labels_of(lib.states(), frozenset({"must-read"}))
    assert labels.label == {by_rule[0]: True} and labels.tagged == 1


def test_only_papers_the_model_leans_towards_are_explained(sample_library: Library) -> None:
    """Found by an adversary: every paper got a "matches your stars" line, the last-ranked
    too (90 of 107 scored below 0): a line says why a paper ranks high, or nothing."""
    lib = sample_library
    triage(lib)
    ranking = relevance.refresh(lib)
    assert ranking.trained and ranking.why
    below = [pid for pid, score in ranking.scores.items() if score <= 0]
    assert below, "the sample's triage leaves papers the model leans against"
    assert not set(below) & set(ranking.why)
    assert all(ranking.scores[pid] > 0 for pid in ranking.why)


def test_tags_a_removed_watch_rule_gave_are_still_not_the_readers_decisions(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found last session: once its rule was taken out of the config, the tags a rule had
    given counted as the reader's own ("kept"), and the model learnt the old rule."""
    from tui.watch import apply, rules_from_config

    config = tmp_path / "config.toml"
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    config.write_text('[[watch]]\nname = "cv"\ntag = "cv"\ncategories = ["cs.CV"]\n')
    lib = Library.open(sample_library.root)
    apply(lib, rules_from_config({"watch": [{"name": "cv", "tag": "cv", "categories": ["cs.CV"]}]}))
    by_rule = set(lib.query("tag:cv"))
    assert by_rule and relevance.library_labels(lib).yes == 0
    config.write_text("")  # the rule removed; its tags stay on the papers
    lib = Library.open(sample_library.root)
    assert set(lib.query("tag:cv")) == by_rule
    assert relevance.labels_of(lib.states(), lib.watched_tags()).yes == len(by_rule)  # (before)
    assert relevance.library_labels(lib).yes == 0
    mine = next(pid for pid in lib if pid not in by_rule)
    lib.set_state([mine], "tag", add_tags=["cv"])  # the reader's own "cv" tag is a "yes"
    assert relevance.library_labels(Library.open(lib.root)).label == {mine: True}


@pytest.mark.parametrize("trained", [False, True])  # (a cold start's note; a trained model)
async def test_a_paper_marked_read_stays_in_the_list_while_the_model_retrains(
    sample_library: Library, tmp_path: Path, trained: bool
) -> None:
    """Found by a newcomer: `m` on a paper in the Inbox, then 5 s reading its abstract,
    and the paper left the list, the cursor on another one: the pause retrained "for you"
    (or stored its cold-start note) from a worker, a write to the cache that the app's
    reload took for another process's and ran the view again. Marking read keeps a paper
    in the list until the view, the search or the sort changes or `r` (the help says so),
    whatever runs the list again (CI once saw the scores' commit counted as another
    process's write: the list kept now holds the paper whatever the reload's cause)."""
    from .test_app import SIZE, build
    from .test_app_hostile import until

    lib = sample_library
    if trained:
        triage(lib)
    else:  # (two decisions: "for you" stores its note that it needs ten)
        lib.set_state(list(lib.query("is:unread"))[-2:], "read", read=True)
    app = build(lib, tmp_path, refresh_interval=0.05)
    app.foryou_idle, app.foryou_tick = 0.05, 0.05
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.paper_list.ids) > 0)
        shown = list(app.paper_list.ids)
        first = app.paper_list.current
        await pilot.press("m")
        await until(pilot, lambda: lib.state(first).read)
        await until(pilot, lambda: not relevance.stale(lib) and not app._foryou_busy)
        await pilot.pause(0.3)  # (several reload ticks)
        assert list(app.paper_list.ids) == shown
        assert app.paper_list.current == first
        # Another process marks a paper read: the list reloads, that paper leaves it, the
        # one marked read here stays, the cursor on it.
        Library.open(lib.root).set_state([shown[3]], "read", read=True)
        await until(pilot, lambda: shown[3] not in app.paper_list.ids)
        assert list(app.paper_list.ids) == [p for p in shown if p != shown[3]]
        assert app.paper_list.current == first
