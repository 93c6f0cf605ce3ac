"""Format G, the Hugging Face Daily Papers API's JSON answer: read from a saved answer made of
the real page's paper objects (`data/feeds/hf-daily-papers-2026-06-19.html`, whose
``data-props`` holds the same objects the API returns); the expected values are read from the
JSON here with `json`, not by the parser under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.feeds import FeedError, parse_bytes
from tui.library import Library

from .conftest import FEEDS, import_files
from .test_cli import run, stats

ANSWER = Path(__file__).parent / "feeds" / "hf-api-daily-papers-2026-06-19.json"
HF_TEXT = FEEDS / "hf-daily-papers.txt"
HF_PAGE = FEEDS / "hf-daily-papers-2026-06-19.html"


def test_an_api_answer_gives_every_paper_with_its_fields() -> None:
    items = json.loads(ANSWER.read_text(encoding="utf-8"))
    result = parse_bytes(ANSWER.read_bytes(), str(ANSWER))
    assert result.format == "hf-api" and not result.skipped
    assert result.feed_date == "2026-06-19"  # (submittedOnDailyAt of its papers)
    assert [p.arxiv_id for p in result.papers] == [i["paper"]["id"] for i in items]
    for paper, item in zip(result.papers, items, strict=True):
        obj = item["paper"]
        assert paper.title == " ".join(obj["title"].split())
        assert paper.authors == [a["name"] for a in obj["authors"]]
        assert paper.upvotes == obj["upvotes"] and paper.num_comments == item["numComments"]
        assert paper.paper_date == obj["publishedAt"][:10]
        assert paper.abstract == " ".join(obj["summary"].split())
        assert paper.keywords == obj.get("ai_keywords", [])
        assert paper.abs_url == f"https://arxiv.org/abs/{obj['id']}"
        assert paper.code_url == obj.get("githubRepo", "")
    # each entry's line in the file, for messages: where its object opens
    lines = ANSWER.read_text(encoding="utf-8").split("\n")
    assert all(lines[p.line - 1].strip() == "{" for p in result.papers)


def test_the_date_of_the_url_it_came_from_is_the_feeds_date() -> None:
    url = "https://huggingface.co/api/daily_papers?date=2026-06-18"
    assert parse_bytes(ANSWER.read_bytes(), url).feed_date == "2026-06-18"


def test_detected_by_content_whatever_the_name(tmp_path: Path) -> None:
    named = tmp_path / "saved from the browser.txt"
    named.write_bytes(json.dumps(json.loads(ANSWER.read_bytes())).encode())  # one line
    assert parse_bytes(named.read_bytes(), str(named)).format == "hf-api"


def test_the_same_papers_from_the_page_and_the_api_are_one_each(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    first = run("import", str(HF_PAGE), str(ANSWER), db=db)
    assert first.returncode == 0, first.stderr
    assert stats(db)["papers"] == len(json.loads(ANSWER.read_bytes()))
    lib = Library.open(db)
    for pid in lib.query(""):
        assert sorted(lib.get(pid).source_formats) == ["hf-api", "hf-html"]


def test_papers_first_copied_as_text_get_their_arxiv_id_from_the_api(
    empty_library: Library,
) -> None:
    """The copied HF text carries no arXiv ids (its papers cannot be opened on arXiv); the
    API answer carries them: the same papers merge and gain the id."""
    lib = empty_library
    import_files(lib, [HF_TEXT])
    before = len(lib)
    both = {"2507.03745": "StreamDiT", "2406.01125": "Δ-DiT"}  # in both feeds (by title)
    for title in both.values():
        (pid,) = [p for p in lib.query("") if lib.get(p).title.startswith(title + ":")]
        assert lib.get(pid).arxiv_id is None
    import_files(lib, [ANSWER])
    assert len(lib) == before + len(json.loads(ANSWER.read_bytes())) - len(both)
    for arxiv, title in both.items():
        (pid,) = [p for p in lib.query("") if lib.get(p).title.startswith(title + ":")]
        paper = lib.get(pid)
        assert paper.arxiv_id == arxiv and paper.abs_url == f"https://arxiv.org/abs/{arxiv}"
        assert sorted(paper.source_formats) == ["hf-api", "hf-text"]


def test_an_entry_that_is_not_a_paper_is_named_and_the_others_kept() -> None:
    items = json.loads(ANSWER.read_bytes())
    broken = [items[0], 7, {"paper": {"id": "2606.00001"}, "numComments": 0}, *items[1:]]
    text = json.dumps(broken, indent=1).encode()
    result = parse_bytes(text, "answer.json")
    assert len(result.papers) == len(items)
    lines = text.decode().split("\n")
    (number, no_title) = result.skipped
    assert "entry 2 is not a paper object" == number.reason and lines[number.line - 1] == " 7,"
    assert no_title.reason == "paper 2606.00001 has no title"


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.97])
def test_a_cut_off_answer_is_one_line_naming_the_file_and_line(cut: float) -> None:
    data = ANSWER.read_bytes()
    part = data[: int(len(data) * cut)]
    with pytest.raises(FeedError) as err:
        parse_bytes(part, "answer.json")
    message = str(err.value)
    last = part.decode("utf-8", "ignore").rstrip().count("\n") + 1
    assert message == (
        f"answer.json: cut off at line {last}: expected the rest of the Daily Papers list"
    )


def test_damaged_json_names_line_and_column_and_costs_no_other_file(tmp_path: Path) -> None:
    text = ANSWER.read_text(encoding="utf-8")
    at = text.index('"upvotes"')
    bad = tmp_path / "damaged.json"
    bad.write_text(text[:at] + '"upvotes" 57,' + text[at + len('"upvotes"') :], encoding="utf-8")
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at) + len('"upvotes" ')  # (at the 57)
    db = tmp_path / "lib"
    result = run("import", str(bad), str(HF_PAGE), db=db)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"damaged.json: line {line} column {column}: damaged JSON" in result.stderr
    assert stats(db)["papers"] == len(json.loads(ANSWER.read_bytes()))  # the page: all of it


def test_an_empty_answer_says_a_day_without_papers(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"an empty list: a day without papers"):
        parse_bytes(b"[]\n", "2026-06-21.json")


def test_source_hf_finds_papers_from_the_api(empty_library: Library) -> None:
    import_files(empty_library, [ANSWER])
    everything = set(empty_library.query(""))
    assert set(empty_library.query("source:hf")) == everything
    assert set(empty_library.query("source:huggingface")) == everything
    assert not empty_library.query("source:arxiv")


def test_a_folder_of_saved_answers_is_imported(tmp_path: Path) -> None:
    """Its .json files are feeds; a papertui library kept in the same folder (its files are
    JSON too) and hidden folders (.git) are passed over, not reported as bad feeds."""
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / ANSWER.name).write_bytes(ANSWER.read_bytes())
    (folder / ".git").mkdir()
    (folder / ".git" / "config.json").write_text("{}")
    inside = folder / "library"
    assert run("import", str(HF_TEXT), db=inside).returncode == 0  # a library in the folder
    result = run("import", str(folder), db=tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and ANSWER.name in result.stdout
    assert stats(tmp_path / "lib")["papers"] == len(json.loads(ANSWER.read_bytes()))
