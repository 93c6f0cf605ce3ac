"""The real `papertui` command line, driven through subprocesses."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from .conftest import FEEDS

DIGEST = FEEDS / "digest-dit-acceleration.txt"
ARXIVDAILY = FEEDS / "arxivdaily-image-generation.txt"
HF_TEXT = FEEDS / "hf-daily-papers.txt"


def run(
    *args: str, db: Path | None = None, stdin: bytes | None = None, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("DISPLAY", None)
    full_env.pop("WAYLAND_DISPLAY", None)
    cmd = [sys.executable, "-m", "tui", *args]
    if db is not None:
        cmd += ["--db", str(db)]
    proc = subprocess.run(
        cmd, input=stdin, capture_output=True, env=full_env, timeout=120, check=False
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    )


def stats(db: Path) -> dict:
    result = run("stats", "--json", db=db)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_help_on_every_command() -> None:
    top = run("--help")
    assert top.returncode == 0 and "--demo" in top.stdout
    for command in ("import", "list", "export", "star", "read", "tag", "undo", "stats"):
        result = run(command, "--help")
        assert result.returncode == 0, command
        assert "--db" in result.stdout and "Traceback" not in result.stderr


def test_import_directory_reports_per_source_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    first = run("import", str(FEEDS), db=db)
    assert first.returncode == 0, first.stderr
    assert "hf-daily-papers.txt  hf-text: 82 found," in first.stdout
    assert "arxivdaily: 4 found, 0 new, 4 merged" in first.stdout  # seen in the arXiv feeds
    assert "digest-text-to-image.txt  digest: 5 found, 5 new" in first.stdout
    total = stats(db)["papers"]
    second = run("import", str(FEEDS), db=db)
    assert second.returncode == 0
    assert " 0 new" in second.stdout and " new," not in second.stdout.replace(" 0 new,", "")
    assert stats(db)["papers"] == total


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b"Dear diary, today I read nothing at all.\nThe end.\n", "not a recognised feed"),
    ],
)
def test_bad_input_is_one_error_line_and_stores_nothing(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = run("import", str(bad), db=tmp_path / "lib")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "lib").exists()  # nothing read: no library made either


def test_cut_off_feed_is_rejected_whole(tmp_path: Path) -> None:
    text = DIGEST.read_text(encoding="utf-8").split("\n")
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(text[:-5]), encoding="utf-8")
    result = run("import", str(cut), db=tmp_path / "lib")
    assert result.returncode == 1 and "cut off" in result.stderr and str(cut) in result.stderr
    assert not (tmp_path / "lib").exists()


def test_good_and_bad_sources_together(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02")
    result = run("import", str(DIGEST), str(bad), db=tmp_path / "lib")
    assert result.returncode == 1
    assert "5 new" in result.stdout and str(bad) in result.stderr
    assert stats(tmp_path / "lib")["papers"] == 5


def test_import_from_stdin_and_env_db(tmp_path: Path) -> None:
    db = tmp_path / "envlib"
    result = run("import", "-", stdin=ARXIVDAILY.read_bytes(), env={"PAPERTUI_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert "<stdin>  arxivdaily: 4 found, 4 new" in result.stdout
    assert (db / "papertui.json").exists()


def test_clipboard_without_display_says_what_to_do(tmp_path: Path) -> None:
    result = run("import", "--clipboard", db=tmp_path / "lib")
    assert result.returncode == 1
    assert "clipboard" in result.stderr and "papertui import" in result.stderr
    assert "Traceback" not in result.stderr


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "daily.txt").write_bytes(ARXIVDAILY.read_bytes())
    handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_import_from_url(tmp_path: Path, server: str) -> None:
    result = run("import", f"{server}/daily.txt", db=tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    assert "arxivdaily: 4 found, 4 new" in result.stdout
    missing = run("import", f"{server}/nope.txt", db=tmp_path / "lib")
    assert missing.returncode == 1 and "404" in missing.stderr
    ftp = run("import", "ftp://127.0.0.1/x", db=tmp_path / "lib")
    assert ftp.returncode == 1 and "only http and https" in ftp.stderr


def test_list_filters_and_json(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    run("import", str(FEEDS), db=db)
    assert run("star", "2606.18765", "2606.19162", db=db).returncode == 0
    assert run("tag", "2606.18765", "--add", "spectral", db=db).returncode == 0
    assert run("read", "2606.19162", db=db).returncode == 0
    starred = json.loads(run("list", "--starred", "--json", db=db).stdout)
    assert {p["arxiv_id"] for p in starred} == {"2606.18765", "2606.19162"}
    unread_starred = json.loads(run("list", "--starred", "--unread", "--json", db=db).stdout)
    assert [p["arxiv_id"] for p in unread_starred] == ["2606.18765"]
    tagged = json.loads(run("list", "--tag", "spectral", "--json", db=db).stdout)
    assert [p["state"]["tags"] for p in tagged] == [["spectral"]]
    search = json.loads(run("list", "--search", "UniFlow", "--json", db=db).stdout)
    assert len(search) == 2
    by_source = json.loads(run("list", "--source", "digest", "--json", db=db).stdout)
    assert len(by_source) == 15
    since = json.loads(run("list", "--since", "2026-06-18", "--json", db=db).stdout)
    assert all(p["feed_date"] >= "2026-06-18" for p in since) and since
    text = run("list", "--starred", db=db)
    assert "SpectralDiT" in text.stdout and "2 shown" in text.stderr
    bad = run("list", "--since", "last week", db=db)
    assert bad.returncode == 1 and "since" in bad.stderr and "Traceback" not in bad.stderr


def test_list_prints_one_aligned_line_per_paper_with_whole_titles(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    run("import", str(HF_TEXT), db=db)
    records = json.loads(run("list", "--sort", "title", "--json", db=db).stdout)
    run("star", records[0]["id"], db=db)
    run("tag", records[1]["id"], "--add", "video", db=db)
    result = run("list", "--sort", "title", db=db)
    rows = result.stdout.splitlines()  # one line a paper: `papertui list | wc -l` counts them
    assert len(rows) == len(records)
    assert result.stderr.startswith(f"{len(records)} shown")  # the counts: on stderr
    columns = {line.index(record["title"]) for line, record in zip(rows, records, strict=True)}
    assert len(columns) == 1  # every title starts in one column
    title_at = columns.pop()
    for line, record in zip(rows, records, strict=True):
        assert line[title_at:].startswith(record["title"])  # whole, in its column
        assert line[3:title_at].split()[0] == record["id"]
    assert rows[0].startswith("★●") and rows[1].endswith("#video")


def test_state_commands_and_undo(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    run("import", str(ARXIVDAILY), db=db)
    assert run("star", "2606.19151", db=db).returncode == 0
    assert stats(db)["starred"] == 1
    assert "undone: star" in run("undo", db=db).stdout
    assert stats(db)["starred"] == 0
    assert "nothing to undo" in run("undo", db=db).stdout
    missing = run("star", "9999.99999", db=db)
    assert missing.returncode == 1 and "no such paper" in missing.stderr


def test_export_markdown_escapes_feed_text(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    hostile = ARXIVDAILY.read_text(encoding="utf-8").replace(
        "SpectralDiT: Timestep-Conditioned", "*bold* | <script>alert(1)</script> [x](javascript:y)"
    )
    feed = tmp_path / "hostile.txt"
    feed.write_text(hostile, encoding="utf-8")
    run("import", str(feed), db=db)
    run("star", "2606.18765", "2606.19162", db=db)
    run("tag", "2606.18765", "-a", "spectral", db=db)
    out = tmp_path / "out.md"
    result = run("export", "-o", str(out), db=db)
    assert result.returncode == 0 and "2 papers exported" in result.stderr
    markdown = out.read_text(encoding="utf-8")
    html = MarkdownIt("commonmark").render(markdown)
    assert "<script>" not in html and 'href="javascript' not in html
    assert "*bold* | &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:y)" in html
    assert "<h2>spectral</h2>" in html and "<h2>Untagged</h2>" in html
    assert 'href="https://arxiv.org/abs/2606.18765"' in html
    assert markdown.index("## spectral") < markdown.index("## Untagged")
    stdout = run("export", db=db)
    assert stdout.stdout == markdown


def test_export_with_a_filter_exports_what_it_names_starred_or_not(tmp_path: Path) -> None:
    """Found by a newcomer: `export --tag A` printed "0 papers" (only starred ones were
    looked at) though 40 papers had the tag."""
    db = tmp_path / "lib"
    run("import", str(ARXIVDAILY), db=db)
    run("tag", "2606.18765", "2606.19162", "-a", "group", db=db)
    run("star", "2606.19162", db=db)
    tagged = run("export", "--tag", "group", "--format", "csl-json", db=db)
    assert tagged.returncode == 0, tagged.stderr
    assert sorted(item["number"] for item in json.loads(tagged.stdout)) == [
        "2606.18765",
        "2606.19162",
    ]
    both = run("export", "--tag", "group", "--starred", "--format", "csl-json", db=db)
    assert [item["number"] for item in json.loads(both.stdout)] == ["2606.19162"]
    default = run("export", "--format", "csl-json", db=db)
    assert [item["number"] for item in json.loads(default.stdout)] == ["2606.19162"]


def test_demo_uses_a_throwaway_library(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path), "PAPERTUI_DB": ""}
    result = run("--demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "UniFlow" in result.stdout and "papers" in result.stderr
    assert "its throwaway library is gone" in result.stderr
    assert not (tmp_path / "data").exists()


def test_stats_lists_tags_most_used_first(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    run("import", str(ARXIVDAILY), db=db)
    run("tag", "2606.18765", "-a", "zeta", db=db)
    run("tag", "2606.18765", "2606.19162", "-a", "alpha", db=db)
    run("tag", "2606.18765", "-a", "Beta", db=db)
    (line,) = [x for x in run("stats", db=db).stdout.splitlines() if x.startswith("tags")]
    assert line.split(None, 1)[1] == "alpha 2, Beta 1, zeta 1"


def test_stats_writes_a_tag_with_a_space_or_comma_as_the_tag_editor_does(tmp_path: Path) -> None:
    """Found last session: "tags  to read 2, my, weird tag 1" read as four tags."""
    db = tmp_path / "lib"
    run("import", str(ARXIVDAILY), db=db)
    run("tag", "2606.18765", "2606.19162", "-a", '"to read"', db=db)
    run("tag", "2606.18765", "-a", '"my, weird tag" plain', db=db)
    (line,) = [x for x in run("stats", db=db).stdout.splitlines() if x.startswith("tags")]
    assert line.split(None, 1)[1] == '"to read" 2, "my, weird tag" 1, plain 1'


def test_list_sorted_by_paper_date_shows_the_paper_date(tmp_path: Path) -> None:
    """Found by a second newcomer: the date column was the feed's whatever the sort."""
    db = tmp_path / "lib"
    run("import", str(ARXIVDAILY), str(FEEDS / "digest-text-to-image.txt"), db=db)
    lines = run("list", "--sort", "paper_date", db=db).stdout.splitlines()
    dates = [line.split()[2] for line in lines]
    dated = [d for d in dates if d != "no"]
    assert dated == sorted(dated, reverse=True) and len(dated) < len(dates)
    assert dates[-1] == "no"  # ("no date": the papers without one, last)
