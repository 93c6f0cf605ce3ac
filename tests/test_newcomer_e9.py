"""A newcomer's defects (session e9-new), each through the real command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest

from . import feedgen
from .test_cli import run


def _bib_authors(db: Path, tmp_path: Path) -> dict[str, str]:
    """Export every paper of ``db`` as BibTeX through the CLI; {title: author field}."""
    out = tmp_path / "all.bib"
    done = run("export", "--all", "-o", str(out), db=db)
    assert done.returncode == 0, done.stderr
    entries = bibtexparser.parse_string(out.read_text(encoding="utf-8")).entries
    return {e.fields_dict["title"].value: e.fields_dict["author"].value for e in entries}


def test_bibtex_says_and_others_when_the_feed_named_only_some_authors(tmp_path: Path) -> None:
    """A digest entry names 3 of its 12 authors ("等 (12 位作者)"): the BibTeX entry must not
    claim those 3 are all of them; BibTeX's own way to say so is a last name "others"."""
    shown = ["Ana Lima", "Bo Chen", "Dara Kim"]
    feed = tmp_path / "digest.txt"
    feed.write_text(
        feedgen.digest(
            [
                {
                    "title": "x",
                    "title_zh": "十二人论文",
                    "abstract": "Twelve people wrote this "
                    "paper about sparse caching, and the digest named only three of them.",
                    "authors": shown,
                    "count": 12,
                },
                {
                    "title": "y",
                    "title_zh": "三人论文",
                    "abstract": "Exactly three people wrote "
                    "this other paper about dense routing, and every one is named.",
                    "authors": shown,
                },
            ]
        ),
        encoding="utf-8",
    )
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    authors = _bib_authors(db, tmp_path)
    assert authors["十二人论文"] == "Lima, Ana and Chen, Bo and Kim, Dara and others"
    assert authors["三人论文"] == "Lima, Ana and Chen, Bo and Kim, Dara"


def test_bibtex_of_a_collaboration_paper_with_thousands_not_shown_ends_with_others(
    tmp_path: Path,
) -> None:
    """The arXiv listing's "et al. (2912 additional authors not shown)" case."""
    db = tmp_path / "lib"
    case = Path(__file__).parent / "cases" / "listing-et-al.html"
    assert run("import", str(case), db=db).returncode == 0
    (field,) = _bib_authors(db, tmp_path).values()
    assert field.endswith(" and others"), field


def test_bibtex_month_is_the_month_macro_not_a_braced_word(tmp_path: Path) -> None:
    """``month = {jun}`` prints "jun" in BibTeX styles and biber rejects it ("not an
    integer"); BibTeX's month is its macro, unbraced: ``month = jun`` (→ "June")."""
    feed = tmp_path / "cs.rss"
    paper = {"id": "2606.01234", "title": "A June Paper", "abstract": "It came out in June."}
    feed.write_text(feedgen.rss([paper], date="2026-06-19"), encoding="utf-8")
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    out = tmp_path / "x.bib"
    assert run("export", "--all", "-o", str(out), db=db).returncode == 0
    months = re.findall(r"^\s*month\s*=\s*(.*?),?$", out.read_text(encoding="utf-8"), re.M)
    assert months == ["jun"]


def test_an_export_that_matches_nothing_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """`export --tag typo -o refs.bib` emptied the user's refs.bib (exit 0, "0 papers
    exported"): a mistyped filter must not cost the file; one line naming it, exit 1."""
    feed = tmp_path / "cs.rss"
    paper = {"id": "2606.01234", "title": "A Kept Paper", "abstract": "Worth citing."}
    feed.write_text(feedgen.rss([paper]), encoding="utf-8")
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    assert run("star", "2606.01234", db=db).returncode == 0
    refs = tmp_path / "refs.bib"
    assert run("export", "-o", str(refs), db=db).returncode == 0
    before = refs.read_bytes()
    assert b"2606.01234" in before
    done = run("export", "--tag", "typo", "-o", str(refs), db=db)
    assert done.returncode == 1
    assert refs.read_bytes() == before
    (line,) = done.stderr.strip().splitlines()
    assert str(refs) in line and "no papers" in line
    fresh = tmp_path / "new.md"
    assert run("export", "--search", "nothing-matches-this", "-o", str(fresh), db=db).returncode
    assert not fresh.exists()
    # To standard output too (found by a newcomer: an empty document, exit 0, so that
    # `export --tag typo > refs.bib` told the script it worked): nothing printed, exit 1.
    for fmt in ("markdown", "bibtex", "csl-json"):
        out = run("export", "--tag", "typo", "--format", fmt, db=db)
        assert (out.returncode, out.stdout) == (1, ""), (fmt, out)
        (line,) = out.stderr.strip().splitlines()
        assert "no papers match" in line and "tag:typo" in line, line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [["list"], ["export", "--all", "-o", "-"], ["show", "2606.01234"]])
def test_a_full_disk_under_standard_output_is_one_line_not_a_traceback(
    tmp_path: Path, args: list[str]
) -> None:
    """`papertui export -o - > refs.bib` on a full disk printed a 30-line traceback
    (OSError ENOSPC from sys.stdout.write); /dev/full is that disk."""
    feed = tmp_path / "cs.rss"
    paper = {"id": "2606.01234", "title": "A Paper", "abstract": "Its abstract."}
    feed.write_text(feedgen.rss([paper]), encoding="utf-8")
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "tui", *args, "--db", str(db)],
            stdout=full,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    lines = [line for line in err.splitlines() if "shown ·" not in line]
    assert len(lines) == 1, err
    assert "standard output" in lines[0] and "No space left" in lines[0], err


def test_an_export_to_a_file_of_another_format_is_refused_unless_format_says_markdown(
    tmp_path: Path,
) -> None:
    """`export -o refs.csv` wrote Markdown into refs.csv without a word (an unknown suffix
    meant Markdown): a table was meant. Now one line naming the file and the formats, exit
    1, nothing written; `--format markdown` writes it there all the same; .txt and a name
    without a suffix still take Markdown."""
    feed = tmp_path / "cs.rss"
    paper = {"id": "2606.01234", "title": "A Kept Paper", "abstract": "Worth citing."}
    feed.write_text(feedgen.rss([paper]), encoding="utf-8")
    db = tmp_path / "lib"
    assert run("import", str(feed), db=db).returncode == 0
    table = tmp_path / "refs.csv"
    done = run("export", "--all", "-o", str(table), db=db)
    assert done.returncode == 1 and not table.exists()
    (line,) = done.stderr.strip().splitlines()
    assert str(table) in line and ".csv" in line and ".bib" in line and "--format" in line
    assert run("export", "--all", "--format", "markdown", "-o", str(table), db=db).returncode == 0
    assert table.read_text(encoding="utf-8").startswith("# ")
    for name in ("refs.txt", "refs"):
        assert run("export", "--all", "-o", str(tmp_path / name), db=db).returncode == 0
        assert "A Kept Paper" in (tmp_path / name).read_text(encoding="utf-8")
