"""An escape character in feed text is removed alone: the text after it stays.

Found by an adversary: `&#x1b;Sigma` in a title was stored as "igma" (the ESC and the letter
after it removed as if they were a two-character escape sequence, ESC S), in the HTML, JSON and
text readers; the XML readers (RSS, Atom) read the ESC as a space. Now every reader gives the
ESC to the same clean-up, which removes it alone, or whole with the parameters of a CSI
(`ESC [31m`, terminal colours) or of a terminated OSC/DCS string; no ESC reaches the terminal.
Oracle: the titles expected, written by hand; the real CLI imports, lists and shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "data" / "feeds"
TEST_FEEDS = ROOT / "tests" / "feeds"

SPECTRAL = "SpectralDiT: Timestep-Conditioned Spectral Residual Correction for Flow-Matching DiTs"
MERGE = "Merge & Flow: Training-Free Token Merging for Video Diffusion Transformers"
REWARD = "The Reward Was in Your Data All Along: Correcting Flow Matching with Discriminator"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env
    )


def _replace(source: Path, old: str, new: str) -> str:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


# (file name, its text, the arXiv id of the paper changed, the title it must have)
CASES = [
    (
        "feed.rss",
        _replace(
            FEEDS / "arxiv-cs-cv-2026-06-19.rss",
            f"<title>{SPECTRAL}",
            "<title>Spec&#x1b;Sigma &#x1b;[31mRed&#x1b;[0m &#27;Delta Raw\x1bSigma "
            "&#x1b;]0;owned&#7;ok &#x1b;Paper " + SPECTRAL,
        ),
        "2606.18765",
        "SpecSigma Red Delta RawSigma ok Paper " + SPECTRAL,
    ),
    (
        "query.xml",
        _replace(
            TEST_FEEDS / "arxiv-api-query-cs-cv.xml",
            "Merge &amp; Flow",
            "Merge &#x1b;Sigma &#x1b;[1mand&#x1b;[0m Raw\x1bSigma &amp; Flow",
        ),
        "2606.17211",
        MERGE.replace("Merge &", "Merge Sigma and RawSigma &"),
    ),
    (
        "listing.html",
        _replace(
            FEEDS / "arxiv-cs-cv-new-2026-06-19.html",
            f"\n          {SPECTRAL}\n",
            f"\n          Spec&#x1b;Sigma &#27;[31mRed&#x1b;[0m {SPECTRAL}\n",
        ),
        "2606.18765",
        "SpecSigma Red " + SPECTRAL,
    ),
    (
        "hf.html",
        _replace(
            FEEDS / "hf-daily-papers-2026-06-19.html",
            "&quot;title&quot;:&quot;Merge ",
            "&quot;title&quot;:&quot;Hf\\u001bSigma \\u001b[31mRed\\u001b[0m Merge ",
        ),
        "2606.17211",
        "HfSigma Red " + MERGE,
    ),
    (
        "api.json",
        _replace(
            TEST_FEEDS / "hf-api-daily-papers-2026-06-19.json",
            '"title": "Merge ',
            '"title": "Api\\u001bSigma \\u001b[31mRed\\u001b[0m Merge ',
        ),
        "2606.17211",
        "ApiSigma Red " + MERGE,
    ),
    (
        "daily.txt",
        _replace(
            FEEDS / "arxivdaily-image-generation.txt",
            f"\n{REWARD}",
            f"\nDaily\x1bSigma \x1b[31mRed\x1b[0m {REWARD}",
        ),
        "2606.19162",
        "DailySigma Red " + REWARD + "-Guided RL",
    ),
]


@pytest.mark.parametrize(("name", "text", "arxiv_id", "title"), CASES, ids=[c[0] for c in CASES])
def test_an_escape_character_costs_no_letter_after_it(
    tmp_path: Path, name: str, text: str, arxiv_id: str, title: str
) -> None:
    feed = tmp_path / name
    feed.write_text(text, encoding="utf-8")
    db = str(tmp_path / "lib")
    imported = cli("import", str(feed), "--create", "--db", db)
    assert imported.returncode == 0, imported.stderr
    shown = cli("show", arxiv_id, "--json", "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == title
    listed = cli("list", "--db", db)
    assert title in listed.stdout
    assert "\x1b" not in listed.stdout + listed.stderr and "\x07" not in listed.stdout


def test_a_note_keeps_the_letter_after_an_escape_character(tmp_path: Path) -> None:
    """The same clean-up for what is shown: a note given with an ESC in it."""
    feed = tmp_path / "daily.txt"
    feed.write_text(CASES[-1][1], encoding="utf-8")
    db = str(tmp_path / "lib")
    assert cli("import", str(feed), "--create", "--db", db).returncode == 0
    noted = cli("note", "2606.19162", "-m", "see \x1bSigma, \x1b[1mbold\x1b[0m", "--db", db)
    assert noted.returncode == 0, noted.stderr
    shown = cli("show", "2606.19162", "--db", db)
    assert "see Sigma, bold" in shown.stdout
    assert "\x1b" not in shown.stdout
