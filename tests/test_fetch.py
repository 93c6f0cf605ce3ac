"""`papertui fetch` end to end: the real CLI (subprocess) against a local HTTP server on
127.0.0.1 serving real feed files (the arXiv RSS sample, an RSS channel with no item, the
saved Hugging Face API answer, the saved arXiv API answer), with 304 Not Modified, 429/503 and
Retry-After, a source that never answers, and a source that fails while the others succeed.
The server's log of requests (headers, times) is the oracle for politeness."""

from __future__ import annotations

import email.utils
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from tui.feeds import parse_bytes
from tui.library import Library

from .conftest import FEEDS
from .test_cli import run, stats

RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
HF = Path(__file__).parent / "feeds" / "hf-api-daily-papers-2026-06-19.json"
ATOM = Path(__file__).parent / "feeds" / "arxiv-api-query-cs-cv.xml"
EMPTY_RSS = (
    b'<?xml version="1.0"?><rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom">'
    b"<channel><title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG"
    b"</link><description>cs.LG updates on the arXiv.org e-print archive.</description>"
    b"</channel></rss>"
)
MODIFIED = email.utils.formatdate(time.time() - 3600, usegmt=True)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


@dataclass
class Server:
    url: str
    log: list[Seen] = field(default_factory=list)
    busy_left: list[int] = field(default_factory=lambda: [1])
    hold: threading.Event = field(default_factory=threading.Event)

    def paths(self, prefix: str) -> list[Seen]:
        return [s for s in self.log if s.path.startswith(prefix)]


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def send(self, code: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            parts = urllib.parse.urlsplit(self.path)
            seen = Seen(
                parts.path, urllib.parse.parse_qs(parts.query), dict(self.headers), time.time()
            )
            state.log.append(seen)
            path = parts.path
            if path == "/rss/cs.CV":
                if self.headers.get("If-None-Match") == '"cv-1"':
                    return self.send(304, ETag='"cv-1"')
                return self.send(200, RSS.read_bytes(), ETag='"cv-1"')
            if path == "/rss/cs.LG":
                return self.send(200, EMPTY_RSS)
            if path == "/rss/cs.RO":  # busy once, then fine
                if state.busy_left[0] > 0:
                    state.busy_left[0] -= 1
                    return self.send(429, b"slow down", Retry_After="1")
                return self.send(200, RSS.read_bytes())
            if path == "/rss/cs.HO":  # answers once the test lets it
                state.hold.wait(20)
                return self.send(200, EMPTY_RSS)
            if path == "/rss/cs.AI":
                return self.send(503, b"maintenance", Retry_After="1000")
            if path == "/rss/cs.NE":  # never answers within the client's timeout
                time.sleep(3)
                return self.send(200, RSS.read_bytes())
            if path == "/api/daily_papers":
                if self.headers.get("If-Modified-Since") == MODIFIED:
                    return self.send(304)
                return self.send(200, HF.read_bytes(), Last_Modified=MODIFIED)
            if path == "/api/query":  # (a query of 2 papers: the sample counts 48,213)
                return self.send(200, ATOM.read_bytes().replace(b">48213<", b">2<"))
            return self.send(404, b"no such feed")

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def write_config(tmp_path: Path, server: Server, body: str, timeout: float = 1) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(
        "[fetch]\n"
        f'arxiv_rss = "{server.url}/rss/"\n'
        f'arxiv_api = "{server.url}/api/query"\n'
        f'huggingface_api = "{server.url}/api/daily_papers"\n'
        "arxiv_pace = 0.5\n"
        f"timeout = {timeout}\n" + body,
        encoding="utf-8",
    )
    return {"PAPERTUI_CONFIG": str(config)}


def papers_in(path: Path) -> int:
    return len(parse_bytes(path.read_bytes(), str(path)).papers)


def test_a_morning_fetch_then_a_second_one_that_downloads_nothing(
    tmp_path: Path, server: Server
) -> None:
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV", "cs.LG"]\nhuggingface = true\n')
    db = tmp_path / "lib"
    first = run("fetch", db=db, env=env)
    assert first.returncode == 0, first.stderr
    today = date.today().isoformat()
    assert first.stdout.splitlines() == [
        f"arXiv cs.CV: {papers_in(RSS)} new, 0 merged, 0 already known",
        "arXiv cs.LG: no new papers (none announced)",
        f"Hugging Face {today}: {papers_in(HF)} new, 0 merged, 0 already known",
    ]
    assert stats(db)["papers"] == papers_in(RSS) + papers_in(HF)
    (hf,) = server.paths("/api/daily_papers")
    assert hf.query["date"] == [today]
    assert all(s.headers["User-Agent"].startswith("papertui/") for s in server.log)

    server.log.clear()
    second = run("fetch", db=db, env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "arXiv cs.CV: unchanged since the last fetch (nothing downloaded)",
        "arXiv cs.LG: no new papers (none announced)",
        f"Hugging Face {today}: unchanged since the last fetch (nothing downloaded)",
    ]
    (cv,) = server.paths("/rss/cs.CV")
    assert cv.headers["If-None-Match"] == '"cv-1"'
    (hf,) = server.paths("/api/daily_papers")
    assert hf.headers["If-Modified-Since"] == MODIFIED
    assert stats(db)["papers"] == papers_in(RSS) + papers_in(HF)


def test_arxiv_is_asked_at_its_pace(tmp_path: Path, server: Server) -> None:
    server.busy_left[0] = 0  # (cs.RO answers at once)
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV", "cs.LG", "cs.RO"]\n')
    assert run("fetch", db=tmp_path / "lib", env=env).returncode == 0
    times = [s.at for s in server.log]
    assert len(times) == 3
    assert all(b - a >= 0.5 for a, b in zip(times, times[1:], strict=False))  # (pace 0.5)


def test_a_category_or_feed_listed_twice_is_fetched_once(tmp_path: Path, server: Server) -> None:
    body = 'arxiv = ["cs.CV", "cs.LG", "cs.CV"]\nfeeds = ["%s/rss/cs.LG", "%s/rss/cs.LG"]\n'
    env = write_config(tmp_path, server, body % (server.url, server.url))
    done = run("fetch", db=tmp_path / "lib", env=env)
    assert done.returncode == 0, done.stderr
    asked = [s.path for s in server.log]
    assert sorted(asked) == ["/rss/cs.CV", "/rss/cs.LG", "/rss/cs.LG"], asked  # (cs.LG: 2 names)


def test_a_failing_source_never_costs_the_others(tmp_path: Path, server: Server) -> None:
    env = write_config(
        tmp_path,
        server,
        'arxiv = ["cs.AI", "cs.NE", "cs.RO"]\nhuggingface = true\n'
        f'feeds = ["{server.url}/missing.rss"]\n',
    )
    db = tmp_path / "lib"
    result = run("fetch", db=db, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert errors == [
        f"papertui: error: arXiv cs.AI: {server.url}/rss/cs.AI: the server answered 503 "
        "Service Unavailable and asked to come back in 1000 s: try later",
        f"papertui: error: arXiv cs.NE: {server.url}/rss/cs.NE: no answer within 1 s",
        f"papertui: error: {server.url}/missing.rss: the server answered 404 Not Found",
    ]
    today = date.today().isoformat()
    assert result.stdout.splitlines() == [
        f"arXiv cs.RO: {papers_in(RSS)} new, 0 merged, 0 already known",
        f"Hugging Face {today}: {papers_in(HF)} new, 0 merged, 0 already known",
    ]
    busy = server.paths("/rss/cs.RO")
    assert len(busy) == 2 and busy[1].at - busy[0].at >= 1.0  # (Retry-After: 1, honoured)
    assert stats(db)["papers"] == papers_in(RSS) + papers_in(HF)


def test_since_catches_up_through_the_arxiv_api_and_each_hf_day(
    tmp_path: Path, server: Server
) -> None:
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV"]\nhuggingface = true\n')
    since = date.today() - timedelta(days=2)
    db = tmp_path / "lib"
    result = run("fetch", "--since", since.isoformat(), db=db, env=env)
    assert result.returncode == 0, result.stderr
    (api,) = server.paths("/api/query")
    query = api.query["search_query"][0]
    assert query.startswith("cat:cs.CV AND submittedDate:[") and f"{since:%Y%m%d}" in query
    days = [s.query["date"][0] for s in server.paths("/api/daily_papers")]
    assert days == [(since + timedelta(days=n)).isoformat() for n in range(3)]
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"arXiv cs.CV since {since}: 2 new, 0 merged, 0 already known; 1 entry left out: "
        "the arXiv API answered an error: incorrect id format for 1234"
    )
    served = {i["paper"]["id"] for i in json.loads(HF.read_bytes())}
    both = served & {p.arxiv_id for p in parse_bytes(ATOM.read_bytes(), "a").papers}
    assert len(both) == 2  # (the API answer's two papers are on that HF day too: merged)
    new = len(served) - len(both)
    assert lines[1] == f"Hugging Face {since}: {new} new, 2 merged, 0 already known"
    assert all("no new papers" in line for line in lines[2:])  # (the same papers again)


def test_no_config_writes_a_commented_example_and_fetches_nothing(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    env = {"PAPERTUI_CONFIG": str(config)}
    db = tmp_path / "lib"
    result = run("fetch", db=db, env=env)
    assert result.returncode == 1
    assert "no config file: wrote an example to" in result.stderr
    assert config.exists() and not db.exists()
    printed = run("config", env=env)
    assert printed.returncode == 0 and printed.stdout == config.read_text(encoding="utf-8")
    assert 'arxiv = ["cs.CV", "cs.LG"]' in printed.stdout
    assert run("config", "--path", env=env).stdout.strip() == str(config)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "arxiv = [cs.CV]\n",
            r"config.toml: Invalid value \(at line 7, column 10\) \(expected TOML\)",
        ),
        ("arxvi = []\n", r"\[fetch\] has no key 'arxvi' \(did you mean 'arxiv'\?\)"),
        ('arxiv = ["cs CV"]\n', r"'cs CV' is not an arXiv category"),
        ('feeds = ["file:///etc/passwd"]\n', r"'file:///etc/passwd' is not an http\(s\) URL"),
        ("huggingface = 1\n", r"huggingface must be true or false"),
    ],
)
def test_a_bad_config_is_one_line_and_nothing_is_fetched(
    tmp_path: Path, server: Server, body: str, expected: str
) -> None:
    env = write_config(tmp_path, server, body)
    db = tmp_path / "lib"
    result = run("fetch", db=db, env=env)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert pytest.importorskip("re").search(expected, result.stderr), result.stderr
    assert not server.log and not db.exists()


def test_since_refuses_a_date_it_cannot_use(tmp_path: Path, server: Server) -> None:
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV"]\n')
    future = (date.today() + timedelta(days=1)).isoformat()
    for since, said in ((future, "after today"), ("2026-13-01", "expected a date like")):
        result = run("fetch", "--since", since, db=tmp_path / "lib", env=env)
        assert result.returncode == 1 and said in result.stderr
    assert not server.log


def test_the_api_answer_json_matches_what_was_served(tmp_path: Path, server: Server) -> None:
    """The papers stored from the HF source are the served JSON's (its ids and upvotes)."""
    env = write_config(tmp_path, server, "huggingface = true\n")
    db = tmp_path / "lib"
    assert run("fetch", db=db, env=env).returncode == 0
    listed = json.loads(run("list", "--json", db=db).stdout)
    served = json.loads(HF.read_bytes())
    assert sorted(p["arxiv_id"] for p in listed) == sorted(i["paper"]["id"] for i in served)
    assert {p["arxiv_id"]: p["upvotes"] for p in listed} == {
        i["paper"]["id"]: i["paper"]["upvotes"] for i in served
    }


async def test_r_in_the_app_fetches_with_progress_and_shows_the_papers(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, empty_library: Library
) -> None:
    """The real app: R downloads in a worker (the progress bar shows), stores each source,
    and the list shows the new papers; a failing source is an error toast, the rest kept."""
    from .test_app import build, settle, toasts

    env = write_config(
        tmp_path, server, 'arxiv = ["cs.HO", "cs.CV", "cs.AI"]\nhuggingface = true\n', 30
    )
    monkeypatch.setenv("PAPERTUI_CONFIG", env["PAPERTUI_CONFIG"])
    app = build(empty_library, tmp_path, today=None)  # (as `papertui` runs it: today's date)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        assert len(app.paper_list.ids) == 0
        await pilot.press("R")
        bar = app.query_one("#import-progress")
        assert not bar.has_class("-hidden") and bar.total == 4, toasts(app)  # (while it waits)
        await pilot.press("j", "s")  # the app answers keys meanwhile
        server.hold.set()
        await settle(pilot)
        await pilot.pause(0.2)
        assert len(app.paper_list.ids) == papers_in(RSS) + papers_in(HF)
        said = "\n".join(toasts(app))
        assert f"arXiv cs.CV: {papers_in(RSS)} new, 0 merged, 0 already known" in said
        assert f"Hugging Face {date.today()}: {papers_in(HF)} new" in said
        assert "arXiv cs.AI:" in said and "asked to come back in 1000 s" in said
        assert "arXiv cs.HO: no new papers (none announced)" in said
        assert app.query_one("#import-progress").has_class("-hidden")
    (hf,) = server.paths("/api/daily_papers")
    assert hf.query["date"] == [date.today().isoformat()]


async def test_r_without_a_config_writes_the_example_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_library: Library
) -> None:
    from .test_app import build, settle, toasts

    config = tmp_path / "none" / "config.toml"
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config))
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert config.exists()
        assert any("No config file: wrote an example to" in t for t in toasts(app))


def test_papers_not_stored_are_downloaded_again_next_time(tmp_path: Path, server: Server) -> None:
    """The library is locked by another process through a whole fetch: nothing is stored,
    so the next fetch must not be told "not modified" by the conditional request: it
    downloads the feed again and stores it."""
    from filelock import FileLock

    env = write_config(tmp_path, server, 'arxiv = ["cs.CV"]\n')
    db = tmp_path / "lib"
    assert run("import", str(HF), db=db).returncode == 0
    with FileLock(str(db / ".lock")):
        locked = run("fetch", db=db, env=env)
    assert locked.returncode == 1 and "not stored" in locked.stderr and "locked" in locked.stderr
    assert stats(db)["papers"] == papers_in(HF)
    again = run("fetch", db=db, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"arXiv cs.CV: {papers_in(RSS)} new, 0 merged, 0 already known"
    assert "If-None-Match" not in server.paths("/rss/cs.CV")[-1].headers
    assert stats(db)["papers"] == papers_in(HF) + papers_in(RSS)


async def test_a_new_empty_library_says_how_to_get_papers(
    tmp_path: Path, empty_library: Library
) -> None:
    """The whole message, wrapped over the list's lines at 80x24 (it was cut to one line)."""
    from .test_app import build, settle

    app = build(empty_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        plist = app.paper_list
        lines = [plist.render_line(y).text.strip() for y in range(1, plist.size.height)]
        said = " ".join(line for line in lines if line)
        assert "i imports a feed file, a folder, a URL or the clipboard" in said
        assert "R (or `papertui fetch` in a shell) fetches today's papers" in said
        assert said.startswith("No papers yet in this library (")


def _last_line(text: str) -> str:
    return ([line for line in text.splitlines() if line.strip()] or ["(no word)"])[-1]


def _fetch_process(db: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "fetch", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        text=True,
    )


def test_a_ctrl_c_while_a_source_is_downloaded_says_what_was_kept(
    tmp_path: Path, server: Server
) -> None:
    """A Ctrl-C while the second of three sources is being downloaded: the first source's
    line is printed (its papers are in the library), then one line says that nothing else
    was imported and how many sources were not fetched; exit 130."""
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV", "cs.HO", "cs.LG"]\n', timeout=20)
    db = tmp_path / "lib"
    child = _fetch_process(db, env)
    try:
        deadline = time.monotonic() + 60
        while not server.paths("/rss/cs.HO") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.paths("/rss/cs.HO"), "the second source was never asked for"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        server.hold.set()
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert out.splitlines() == [f"arXiv cs.CV: {papers_in(RSS)} new, 0 merged, 0 already known"]
    assert _last_line(err) == "papertui: interrupted; 2 sources not fetched", err
    assert "Traceback" not in err
    assert stats(db)["papers"] == papers_in(RSS)
    assert not server.paths("/rss/cs.LG")


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7])
def test_a_ctrl_c_at_any_moment_of_a_fetch_says_exactly_what_the_library_kept(
    tmp_path: Path, server: Server, delay: float
) -> None:
    """A Ctrl-C at moments after the fetch's first request (of three sources, each stored
    as it comes): the papers the printed lines count as new, on stdout and in the last
    line, are the papers the library holds; nothing else was kept."""
    env = write_config(tmp_path, server, 'arxiv = ["cs.CV", "cs.RO"]\nhuggingface = true\n')
    server.busy_left[0] = 0
    db = tmp_path / "lib"
    child = _fetch_process(db, env)
    deadline = time.monotonic() + 60
    while not server.log and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.002)
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert "Traceback" not in err, err
    said = sum(int(n) for n in re.findall(r"(\d[\d,]*) new", out + err.replace(",", "")))
    # Over before the Ctrl-C: exit 0, or ended by the signal without a word (it came as the
    # interpreter shut down, its default action back: seen once at 0.7 s, every line printed)
    if child.returncode == 0 or (child.returncode == -signal.SIGINT and not err):
        assert said == papers_in(RSS) + papers_in(HF)  # (cs.RO serves the same papers)
    else:
        # (130, or -2: ended by the SIGINT itself once it had said so, which a shell also
        # reports as 130; seen once on a loaded machine)
        assert child.returncode in (130, -signal.SIGINT), err
        assert _last_line(err).startswith("papertui: interrupted"), err
        if said == 0:
            assert "nothing was imported" in _last_line(err)
    held = stats(db)["papers"] if (db / ".cache").exists() else 0
    assert held == said, (out, err)


async def test_sources_that_fail_in_the_app_are_one_toast_and_each_is_in_the_messages(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, empty_library: Library
) -> None:
    """Three sources failing in one R: one error toast that counts them and names the first
    (not three toasts stacked over the list); `!` lists each in full."""
    from tui.dialogs.messages import MessagesScreen

    from .test_app import build, settle, toasts

    env = write_config(tmp_path, server, 'arxiv = ["cs.AI", "cs.XX", "cs.CV"]\n', 30)
    env_feeds = f'feeds = ["{server.url}/nothing-here.xml"]\n'
    Path(env["PAPERTUI_CONFIG"]).write_text(
        Path(env["PAPERTUI_CONFIG"]).read_text(encoding="utf-8") + env_feeds, encoding="utf-8"
    )
    monkeypatch.setenv("PAPERTUI_CONFIG", env["PAPERTUI_CONFIG"])
    app = build(empty_library, tmp_path, today=None)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        for _ in range(100):
            await pilot.pause(0.1)
            if not app._fetching:
                break
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1, toasts(app)
        assert errors[0].message.startswith("3 sources could not be fetched: arXiv cs.AI (")
        assert errors[0].message.endswith("and 2 more; ! lists them")
        assert server.url not in errors[0].message  # (the source's name says which)
        assert len(app.paper_list.ids) == papers_in(RSS)  # (the source that worked)
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert isinstance(app.screen, MessagesScreen)
        shown = "\n".join(str(s.render()) for s in app.screen.query(".message-item Static"))
        assert "arXiv cs.AI: " in shown and "arXiv cs.XX: " in shown, shown
        assert f"{server.url}/nothing-here.xml" in shown, shown
