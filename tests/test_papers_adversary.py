"""Papers lost or merged wrongly, found by an adversary after the first identity fixes (each
failed on 05cdecf). Each test states the expected result from README "Feeds it reads",
identity.py's docstring or the cases README; the input is generated here (tests/feedgen.py),
so the oracle is the generated data, not papertui's output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui.library import Library

from .feedgen import digest, hf_html, hf_text, listing, rss

CASES = Path(__file__).parent / "cases"

T = "Learned Token Merging for Video Diffusion Transformers"
S = (
    "Video diffusion transformers spend most of their compute on redundant tokens. We learn a "
    "token merging policy that fuses similar spatio-temporal tokens before each attention block "
    "and splits them afterwards, cutting latency by 41 percent on a 14B model while keeping "
    "VBench scores within 0.2 points of the baseline."
)
S2 = (
    "Revised: video diffusion transformers waste compute on redundant tokens; our learned token "
    "merging policy fuses similar spatio-temporal tokens before attention and splits them after, "
    "cutting latency by 45 percent on a 14B model with VBench within 0.1 points."
)
AUTH = ["Ann Lee", "Bo Wu", "Cy Tan"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )


def put(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def imports(db: Path, *groups: list[str]) -> list[dict]:
    """Import each group of files with one command; the library's whole records."""
    for group in groups:
        result = cli("import", "--db", str(db), "--create", *group)
        assert "Traceback" not in result.stderr, result.stderr
    lib = Library.open(db, create=False)
    return [lib.record(pid) for pid in lib]


# ----------------------------------------------------------------- versions
@pytest.mark.parametrize("order", ["v1,v2", "v2,v1"])
def test_newer_version_that_shortens_title_comments_abstract_wins_in_either_order(
    tmp_path: Path, order: str
) -> None:
    """v2 drops ' and Beyond' from the title, ', under review' from the comments and the last
    sentence of the abstract: a newer version's title/abstract/comments win whatever the order
    (README), and a title counts as cut only when it ends in an ellipsis (identity.py)."""
    v1 = dict(
        id="2606.22222",
        v=1,
        vlink=1,
        title=T + " and Beyond",
        abstract=S + " Code is at https://github.com/example/ltm.",
        authors=AUTH,
        acomments="10 pages, under review",
    )
    v2 = dict(
        id="2606.22222", v=2, vlink=1, title=T, abstract=S, authors=AUTH, acomments="10 pages"
    )
    f1 = put(tmp_path / "v1.html", listing([("new", [v1])], "2026-06-19"))
    f2 = put(tmp_path / "v2.html", listing([("replace", [v2])], "2026-06-26"))
    files = [f1, f2] if order == "v1,v2" else [f2, f1]
    (rec,) = imports(tmp_path / "lib", [files[0]], [files[1]])
    assert rec["arxiv_version"] == 2
    assert (rec["title"], rec["comments"], rec["abstract"]) == (T, "10 pages", S)


def test_later_versionless_replace_beats_an_earlier_explicit_version(tmp_path: Path) -> None:
    """RSS v3 (2026-07-03), then the listing of 2026-07-10 announcing a replacement (a
    withdrawal; listings give no vN): 'a later replace' is newer, 'so a withdrawal is kept'."""
    withdrawn = (
        "This paper has been withdrawn by the authors due to a critical error in the "
        "evaluation protocol of Section 4."
    )
    v3 = put(
        tmp_path / "v3.rss",
        rss(
            [dict(id="2606.95555", v=3, title=T, abstract=S2, authors=AUTH, announce="replace")],
            "2026-07-03",
        ),
    )
    v4 = put(
        tmp_path / "v4.html",
        listing(
            [("replace", [dict(id="2606.95555", title=T, abstract=withdrawn, authors=AUTH)])],
            "2026-07-10",
        ),
    )
    for name, order in (("a", [v3, v4]), ("b", [v4, v3])):
        (rec,) = imports(tmp_path / name, [order[0]], [order[1]])
        assert rec["abstract"] == withdrawn, name
        dates = [e["date"] for e in rec["versions"]]
        assert dates == sorted(dates), (name, rec["versions"])  # oldest first


# ----------------------------------------------------------------- counts
def test_reimporting_the_same_digest_adds_nothing(tmp_path: Path) -> None:
    """The same file imported three times: the second and third are 'already known'."""
    dg = put(
        tmp_path / "digest.txt",
        digest(
            [
                dict(
                    title_zh="短摘要论文",
                    abstract="We propose a simple method for fast image generation.",
                    authors=["Ann Lee"],
                ),
                dict(
                    title_zh="截断摘要论文",
                    abstract="Video diffusion models are costly; we prune attention "
                    "heads that matter little and retrain briefly to recover quality, which…",
                    authors=["Bo Wu"],
                ),
            ]
        ),
    )
    assert len(imports(tmp_path / "lib", [dg], [dg], [dg])) == 2


def test_reimporting_an_hf_entry_whose_title_line_was_lost_adds_nothing(tmp_path: Path) -> None:
    cut = (
        "Diffusion transformers are slow at inference because every denoising step runs the "
        "whole network; we cache the outputs of attention blocks across steps and reuse them "
        "whenever the change between consecutive steps is small, which…"
    )
    hf = put(tmp_path / "hf.txt", hf_text([dict(title=None, abstract=cut, count=4)]))
    assert len(imports(tmp_path / "lib", [hf], [hf])) == 1


def test_a_title_only_copy_is_not_attached_to_one_of_two_same_titled_papers(
    tmp_path: Path,
) -> None:
    """identity-same-title.txt holds two different papers titled 'Large Language Models: A
    Survey'. An abstract-less /recent listing entry with that title (and other authors) cannot
    tell which one it is: it must not give its arXiv id and authors to the first stored."""
    page = (CASES / "listing-recent-multiday.html").read_text()
    page = page.replace(
        "Sparse Token Routing for Video Diffusion", "Large Language Models: A Survey"
    )
    lst = put(tmp_path / "recent.html", page)
    recs = imports(tmp_path / "lib", [str(CASES / "identity-same-title.txt")], [lst])
    surveys = [r for r in recs if r.get("title") == "Large Language Models: A Survey"]
    assert not any(r.get("arxiv_id") and r.get("abstract") for r in surveys), surveys


# ----------------------------------------------------------------- merged values
def test_jr_suffix_is_not_an_author(tmp_path: Path) -> None:
    """RSS 'John Smith, Jr., Jane Doe, Wei Zhang' is 3 people (FORMATS: suffixes such as Jr);
    the HF page's full list of 3 must not lose to a 4-name list holding 'Jr.'."""
    abstract = (
        "We present a careful study of scaling laws for sparse mixture of experts "
        "diffusion models across six orders of magnitude of compute."
    )
    title = "Scaling Laws for Sparse Mixture of Experts Diffusion Models"
    r1 = put(
        tmp_path / "a.rss",
        rss(
            [
                dict(
                    id="2606.90001",
                    title=title,
                    abstract=abstract,
                    authors=["John Smith", "Jr.", "Jane Doe", "Wei Zhang"],
                )
            ]
        ),
    )
    h1 = put(
        tmp_path / "a.html",
        hf_html(
            [
                dict(
                    id="2606.90001",
                    title=title,
                    abstract=abstract,
                    authors=["John Smith Jr.", "Jane Doe", "Wei Zhang"],
                )
            ]
        ),
    )
    (rec,) = imports(tmp_path / "lib", [h1], [r1])
    assert "Jr." not in rec["authors"] and len(rec["authors"]) == 3, rec["authors"]


# ----------------------------------------------------------------- one bad input
def test_one_entry_with_a_huge_number_costs_only_itself(tmp_path: Path) -> None:
    """An HF page entry with upvotes 2**64: the other entry of the page is stored."""
    page = hf_html(
        [
            dict(
                id="2606.99001",
                title="Huge upvotes paper about caching transformers",
                abstract="x " * 60,
                upvotes=2**64,
            ),
            dict(
                id="2606.99002",
                title="Normal paper about caching transformers here",
                abstract="y " * 60,
                upvotes=3,
            ),
        ]
    )
    recs = imports(tmp_path / "lib", [put(tmp_path / "hf.html", page)])
    assert "2606.99002" in {r.get("arxiv_id") for r in recs}


def test_a_named_pipe_among_sources_does_not_block_the_others(tmp_path: Path) -> None:
    """`papertui import fifo good.rss`: the FIFO (no writer) is refused like export refuses one;
    good.rss is imported; the command ends."""
    fifo = tmp_path / "feed.rss"
    os.mkfifo(fifo)
    good = put(
        tmp_path / "good.rss", rss([dict(id="2606.12345", title=T, abstract=S, authors=AUTH)])
    )
    try:
        result = cli(
            "import", "--db", str(tmp_path / "lib"), "--create", str(fifo), good, timeout=30
        )
    except subprocess.TimeoutExpired:
        # unblock the reader so nothing is left hanging, then fail
        threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True).start()
        pytest.fail("papertui import hung on a named pipe; good.rss was never imported")
    assert "2606.12345" in result.stdout + result.stderr or result.returncode in (0, 1)
