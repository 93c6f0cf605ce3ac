"""arXiv `/recent` listings (tests/cases/listing-recent-multiday.html): several day
sections, each "showing first N of M entries". Each paper is dated by its own section and
the import report says how much of the listing the page held (values written here)."""

from __future__ import annotations

import json
from pathlib import Path

from tui.feeds import parse_bytes

from .test_cli import run

RECENT = Path(__file__).parent / "cases" / "listing-recent-multiday.html"
NEW_LISTING = Path(__file__).parents[1] / "data" / "feeds" / "arxiv-cs-cv-new-2026-06-19.html"


def test_each_paper_is_dated_by_its_own_day_section() -> None:
    result = parse_bytes(RECENT.read_bytes(), str(RECENT))
    assert [(p.arxiv_id, p.feed_date) for p in result.papers] == [
        ("2606.07001", "2026-06-09"),
        ("2606.06512", "2026-06-09"),
        ("2606.05010", "2026-06-08"),
        ("2605.22222", "2026-06-08"),
        ("2606.03003", "2026-06-05"),
    ]
    assert result.feed_date == "2026-06-09"  # (the newest day: the page's own date)


def test_the_import_report_says_the_page_held_5_of_388(tmp_path: Path) -> None:
    result = run("import", str(RECENT), db=tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    assert (
        "partial: the page shows 5 of its 388 entries (2 of 140 on 2026-06-09, 2 of 122 on "
        "2026-06-08, 1 of 126 on 2026-06-05): the rest are not in it"
    ) in result.stdout
    listed = json.loads(run("import", str(RECENT), "--json", db=tmp_path / "lib2").stdout)
    assert "5 of its 388 entries" in listed["reports"][0]["partial"]
    papers = json.loads(run("list", "--json", db=tmp_path / "lib").stdout)
    assert sorted(p["feed_date"] for p in papers) == [
        "2026-06-05",
        "2026-06-08",
        "2026-06-08",
        "2026-06-09",
        "2026-06-09",
    ]


def test_a_whole_listing_says_nothing_about_parts(tmp_path: Path) -> None:
    result = run("import", str(NEW_LISTING), db=tmp_path / "lib")
    assert result.returncode == 0 and "partial" not in result.stdout
    assert {p.feed_date for p in parse_bytes(NEW_LISTING.read_bytes(), "x").papers} == {
        "2026-06-19"
    }


def test_a_day_heading_with_no_such_day_is_not_taken_for_the_day_before() -> None:
    """ "Mon, 31 Feb 2026": its papers are not said to be of the section above (8 June)."""
    text = RECENT.read_bytes().replace(b"Fri, 5 Jun 2026", b"Fri, 31 Feb 2026")
    result = parse_bytes(text, str(RECENT))
    dated = {p.arxiv_id: p.feed_date for p in result.papers}
    assert dated["2606.05010"] == "2026-06-08"  # (its own section, as before)
    assert dated["2606.03003"] != "2026-06-08"
    assert "1 of 126 on an undated day" in result.partial


def test_each_paper_is_found_by_feed_of_its_own_day(tmp_path: Path) -> None:
    """`feed:DATE` (and the stats) read the feeds a paper was seen in: a paper of the 8 June
    section was in the feed of 8 June, not of the page's newest day (it was found under
    feed:2026-06-09 and not at all under its own day), also after the cache is rebuilt and
    after the page is imported again."""
    lib = tmp_path / "lib"
    assert run("import", str(RECENT), db=lib).returncode == 0

    def found(day: str) -> list[str]:
        listed = run("list", "--json", "--search", f"feed:{day}", db=lib)
        return sorted(p["arxiv_id"] for p in json.loads(listed.stdout))

    def check() -> None:
        assert found("2026-06-09") == ["2606.06512", "2606.07001"]
        assert found("2026-06-08") == ["2605.22222", "2606.05010"]
        assert found("2026-06-05") == ["2606.03003"]

    check()
    shown = json.loads(run("show", "2605.22222", "--json", db=lib).stdout)
    assert [s["feed_date"] for s in shown["sources"]] == ["2026-06-08"]
    again = run("import", str(RECENT), db=lib)
    assert "5 already known" in again.stdout, again.stdout
    assert run("doctor", "--rebuild", db=lib).returncode == 0
    check()
