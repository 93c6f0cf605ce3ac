"""`papertui fetch` attacked: real servers on 127.0.0.1 (http.server threads, raw sockets for
servers that lie), the real CLI in a subprocess with its config named by ``PAPERTUI_CONFIG``,
and `fetch.fetch` in process where a test must make a parser fail. The oracles are the
files served, the server's log of requests and what the library holds afterwards."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tui import fetch
from tui.feeds import FeedError, parse_bytes
from tui.library import Library
from tui.sources import download

from .conftest import FEEDS
from .test_cli import run

RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
HF = Path(__file__).parent / "feeds" / "hf-api-daily-papers-2026-06-19.json"
EMPTY_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>cs.LG updates on arXiv.org'
    b"</title><link>http://rss.arxiv.org/rss/cs.LG</link><description>cs.LG updates on the "
    b"arXiv.org e-print archive.</description></channel></rss>"
)

Reply = tuple[int, bytes, dict[str, str]]


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Server:
    """Answers each path with ``routes[path](request headers, query)``; logs every request."""

    url: str = ""
    routes: dict[str, Callable[[dict[str, str], dict[str, list[str]]], Reply]] = field(
        default_factory=dict
    )
    log: list[Seen] = field(default_factory=list)

    def paths(self, path: str) -> list[Seen]:
        return [s for s in self.log if s.path == path]


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            state.log.append(Seen(parts.path, query, dict(self.headers)))
            route = state.routes.get(parts.path)
            code, body, headers = route(dict(self.headers), query) if route else (404, b"", {})
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server that speaks raw bytes: ``answer(connection)`` once the request is read."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    got = conn.recv(65536)
                    if not got:
                        break
                    data += got
                try:
                    answer(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        listener.close()


def config(tmp_path: Path, server: Server, body: str, timeout: float = 5) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(
        "[fetch]\n"
        f'arxiv_rss = "{server.url}/rss/"\n'
        f'arxiv_api = "{server.url}/api/query"\n'
        f'huggingface_api = "{server.url}/api/daily_papers"\n'
        f"arxiv_pace = 0\ntimeout = {timeout}\n" + body,
        encoding="utf-8",
    )
    return {"PAPERTUI_CONFIG": str(path)}


def papers_in(path: Path) -> int:
    return len(parse_bytes(path.read_bytes(), str(path)).papers)


def rss(etag: str = '"cv-1"') -> Callable[[dict[str, str], Any], Reply]:
    """The arXiv RSS sample, with an ETag, and 304 to a request that names it."""

    def answer(headers: dict[str, str], query: Any) -> Reply:
        if headers.get("If-None-Match") == etag:
            return 304, b"", {"ETag": etag}
        return 200, RSS.read_bytes(), {"ETag": etag}

    return answer


# ------------------------------------------------------------------ one source never costs all
def test_a_parser_bug_in_one_source_costs_no_other(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that raises what it should not (a bug) fails its own source, in one line;
    the sources before and after it are stored and their validators kept (the whole fetch
    raised, and `papertui fetch` printed a traceback)."""
    from tui.feeds import hf_api

    def broken(text: str, ctx: Any) -> Any:
        raise RuntimeError("a bug in a reader")

    monkeypatch.setattr(hf_api.FORMAT, "parse", broken)
    server.routes["/rss/cs.CV"] = rss()
    server.routes["/api/daily_papers"] = lambda h, q: (200, HF.read_bytes(), {})
    server.routes["/other.rss"] = lambda h, q: (200, RSS.read_bytes(), {})
    conf = fetch.FetchConfig(
        arxiv=["cs.CV"],
        huggingface=True,
        feeds=[f"{server.url}/other.rss"],
        arxiv_rss=f"{server.url}/rss/",
        huggingface_api=f"{server.url}/api/daily_papers",
    )
    lib = Library.open(tmp_path / "lib")
    outcomes = fetch.fetch(lib, fetch.plan(conf, date.today()), pace=0, timeout=5)
    assert [o.status for o in outcomes] == ["stored", "error", "stored"]
    assert "papertui failed (RuntimeError: a bug in a reader)" in outcomes[1].line
    assert len(lib) == papers_in(RSS)
    cache = json.loads((tmp_path / "lib" / ".cache" / "fetch.json").read_bytes())
    assert cache[f"{server.url}/rss/cs.CV"]["etag"] == '"cv-1"'


# ------------------------------------------------------------------ the validators' cache
def test_a_cache_folder_where_the_validators_file_should_be_costs_nothing(
    tmp_path: Path, server: Server
) -> None:
    """``.cache/fetch.json`` is a directory (made by hand, by a sync tool): the papers are
    stored and each source says so (fetch raised after storing them: one error line, and
    none of the sources' lines)."""
    server.routes["/rss/cs.CV"] = rss()
    env = config(tmp_path, server, 'arxiv = ["cs.CV"]\n')
    db = tmp_path / "lib"
    (db / ".cache" / "fetch.json").mkdir(parents=True)
    result = run("fetch", db=db, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"arXiv cs.CV: {papers_in(RSS)} new, 0 merged, 0 already known"
    ]
    assert len(Library.open(db)) == papers_in(RSS)


@pytest.mark.parametrize("etag", ["€uro", "a\nb", 'W/"x"\r\nX-Injected: 1'])
def test_a_validator_no_request_can_carry_is_not_sent(
    tmp_path: Path, server: Server, etag: str
) -> None:
    """A cache file from another version or edited by hand holds an ETag that is no header
    value (not Latin-1, a line break): the source is fetched without it (it failed every
    day with "not a valid URL", its cache never replaced)."""
    server.routes["/rss/cs.CV"] = rss()
    conf = fetch.FetchConfig(arxiv=["cs.CV"], arxiv_rss=f"{server.url}/rss/")
    lib = Library.open(tmp_path / "lib")
    (lib.root / ".cache").mkdir(exist_ok=True)
    cached = {f"{server.url}/rss/cs.CV": {"etag": etag, "modified": "\x00"}}
    (lib.root / ".cache" / "fetch.json").write_text(json.dumps(cached), encoding="utf-8")
    (outcome,) = fetch.fetch(lib, fetch.plan(conf, date.today()), pace=0, timeout=5)
    assert outcome.status == "stored" and len(lib) == papers_in(RSS)
    (seen,) = server.paths("/rss/cs.CV")
    assert "If-None-Match" not in seen.headers and "X-Injected" not in seen.headers
    (again,) = fetch.fetch(lib, fetch.plan(conf, date.today()), pace=0, timeout=5)
    assert again.status == "unchanged"  # (the good ETag replaced the bad one)


# ------------------------------------------------------------------ servers that lie
def test_a_304_to_a_request_that_named_no_version_is_an_error(
    tmp_path: Path, server: Server
) -> None:
    """A first fetch (no ETag, no date sent) answered 304 Not Modified: there is no earlier
    answer it can mean, so it is an error, not "unchanged since the last fetch"."""
    server.routes["/rss/cs.CV"] = lambda h, q: (304, b"", {"ETag": '"x"'})
    env = config(tmp_path, server, 'arxiv = ["cs.CV"]\n')
    result = run("fetch", db=tmp_path / "lib", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"papertui: error: arXiv cs.CV: {server.url}/rss/cs.CV: the server answered 304 Not "
        "Modified to a request that named no earlier version"
    ]


def test_a_day_without_announcements_is_not_downloaded_twice(
    tmp_path: Path, server: Server
) -> None:
    """The holiday feed (a channel with no item) has an ETag like any other: the second
    fetch that day sends it and downloads nothing (it downloaded the feed every time)."""
    server.routes["/rss/cs.LG"] = lambda h, q: (
        (304, b"", {}) if h.get("If-None-Match") == '"lg"' else (200, EMPTY_RSS, {"ETag": '"lg"'})
    )
    env = config(tmp_path, server, 'arxiv = ["cs.LG"]\n')
    db = tmp_path / "lib"
    first = run("fetch", db=db, env=env)
    assert first.stdout.strip() == "arXiv cs.LG: no new papers (none announced)"
    second = run("fetch", db=db, env=env)
    assert second.returncode == 0, second.stderr
    assert (
        second.stdout.strip() == "arXiv cs.LG: unchanged since the last fetch (nothing downloaded)"
    )
    assert server.paths("/rss/cs.LG")[-1].headers.get("If-None-Match") == '"lg"'


def test_headers_dripped_one_byte_at_a_time_meet_the_whole_download_cap() -> None:
    """A server that sends its headers a byte at a time, each within the per-read timeout,
    is hung up on by the cap on the whole download (the cap was only checked while the body
    arrived: headers dripped for hours were waited for). The server's oracle: the client
    left before the headers were done."""
    finished = threading.Event()

    def drip(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400:
            conn.sendall(bytes([byte]))
            time.sleep(0.02)  # (8 s in all, far past the cap of 0.5 s)
        conn.sendall(b"\r\nContent-Length: 2\r\n\r\nok")
        finished.set()

    with raw_server(drip) as url:
        with pytest.raises(FeedError) as caught:
            download(f"{url}/feed.rss", timeout=2, max_seconds=0.5)
        assert str(caught.value) == f"{url}/feed.rss: download took longer than 0.5 s"
        assert not finished.is_set()


# ------------------------------------------------------------------ odd configs
@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("timeout = inf", "[fetch] timeout must be a number of seconds"),
        ("timeout = nan", "[fetch] timeout must be a number of seconds"),
        ("arxiv_pace = inf", "[fetch] arxiv_pace must be a number of seconds"),
        ("arxiv_pace = nan", "[fetch] arxiv_pace must be a number of seconds"),
    ],
)
def test_a_number_of_seconds_that_is_no_number_is_one_line(
    tmp_path: Path, server: Server, line: str, said: str
) -> None:
    """TOML has inf and nan: a timeout of inf was a traceback (OverflowError), nan an error
    about the URL, a pace of inf a sleep that raised."""
    server.routes["/rss/cs.CV"] = rss()
    env = config(tmp_path, server, f'arxiv = ["cs.CV", "cs.LG"]\n{line}\n')
    (tmp_path / "config.toml").write_text(
        (tmp_path / "config.toml").read_text().replace("arxiv_pace = 0\ntimeout = 5\n", ""),
        encoding="utf-8",
    )
    result = run("fetch", db=tmp_path / "lib", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"papertui: error: {tmp_path / 'config.toml'}: {said}"]
    assert not server.log


# ------------------------------------------------------------------ --since: the API's pages
def atom_page(ids: list[str], total: int, start: int) -> bytes:
    """An arXiv API answer (format H) of the papers ``ids``, saying the query has ``total``."""
    entries = "".join(
        f"<entry><id>{'http://arxiv.org/abs/' + i + 'v1' if i[0].isdigit() else i}</id>"
        "<published>2026-06-17T00:00:00Z</published><updated>2026-06-17T00:00:00Z</updated>"
        f"<title>Paper {i}</title><summary>What paper {i} found, at length.</summary>"
        "<author><name>Ana Lima</name></author>"
        '<arxiv:primary_category term="cs.CV"/></entry>'
        for i in ids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom"><id>http://arxiv.org/api/q</id>'
        "<title>ArXiv Query</title><updated>2026-06-19T00:00:00-04:00</updated>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{len(ids)}</opensearch:itemsPerPage>{entries}</feed>"
    ).encode()


def api(ids: list[str], total: int | None = None) -> Callable[[Any, dict], Reply]:
    """The arXiv API over ``ids``: each request's ``start`` and ``max_results`` honoured."""

    def answer(headers: Any, query: dict[str, list[str]]) -> Reply:
        start, size = int(query.get("start", ["0"])[0]), int(query["max_results"][0])
        said = len(ids) if total is None else total
        return 200, atom_page(ids[start : start + size], said, start), {}

    return answer


def since_fetch(tmp_path: Path, server: Server) -> list[fetch.Outcome]:
    conf = fetch.FetchConfig(arxiv=["cs.CV"], arxiv_api=f"{server.url}/api/query")
    targets = fetch.plan(conf, date.today(), date.today() - timedelta(days=2))
    return fetch.fetch(Library.open(tmp_path / "lib"), targets, pace=0, timeout=5)


def test_since_reads_every_page_though_one_entry_is_malformed(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """13 papers in pages of 5, one entry of the second page without an arXiv id: every
    page is asked for (the second page's 4 papers ended the paging as if it were the last:
    the third page lost without a word), and the line says which entry was left out."""
    monkeypatch.setattr(fetch, "API_PAGE", 5)
    ids = [f"2606.{n:05d}" for n in range(1, 14)]
    ids[7] = "https://example.org/not-arxiv"
    server.routes["/api/query"] = api(ids)
    (outcome,) = since_fetch(tmp_path, server)
    starts = [s.query.get("start", ["0"])[0] for s in server.paths("/api/query")]
    assert starts == ["0", "5", "10"]
    assert outcome.line.endswith(
        ": 12 new, 0 merged, 0 already known; 1 entry left out: entry 3 has no arXiv id "
        "(expected <id> with arxiv.org/abs/…)"
    )
    assert len(Library.open(tmp_path / "lib")) == 12


def test_since_says_when_the_api_gave_fewer_papers_than_it_counted(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API counts 12 papers but its second page is empty (it does that under load): the
    5 it gave are stored and the line says the rest are missing (it said nothing)."""
    monkeypatch.setattr(fetch, "API_PAGE", 5)
    ids = [f"2606.{n:05d}" for n in range(1, 13)]
    server.routes["/api/query"] = lambda h, q: (
        (200, atom_page(ids[:5], 12, 0), {})
        if q.get("start", ["0"]) == ["0"]
        else (200, atom_page([], 12, 5), {})
    )
    (outcome,) = since_fetch(tmp_path, server)
    assert outcome.status == "stored"
    assert outcome.line.endswith(
        "5 new, 0 merged, 0 already known; the arXiv API gave 5 of the 12 papers it "
        "counted: fetch --since again later for the rest"
    )


def test_since_stops_when_a_page_brings_nothing_new(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that answers every page with the same papers and counts a million (a
    broken mirror): the second page, all seen already, ends the paging (it went on until
    the million was reached: 200,000 requests at arXiv's pace, a week)."""
    monkeypatch.setattr(fetch, "API_PAGE", 5)
    ids = [f"2606.{n:05d}" for n in range(1, 6)]
    server.routes["/api/query"] = lambda h, q: (200, atom_page(ids, 10**6, 0), {})
    (outcome,) = since_fetch(tmp_path, server)
    assert len(server.paths("/api/query")) == 2
    assert outcome.status == "stored" and "5 new" in outcome.line
    assert "gave 5 of the 1,000,000 papers it counted" in outcome.line


def test_since_asks_for_at_most_the_pages_arxiv_serves(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query counting more than the API serves (arXiv stops at 30,000 results): the pages
    stop at `MAX_API_PAGES`, each paper new, and the line says how many were left."""
    monkeypatch.setattr(fetch, "API_PAGE", 2)
    monkeypatch.setattr(fetch, "MAX_API_PAGES", 3)
    ids = [f"2606.{n:05d}" for n in range(1, 101)]
    server.routes["/api/query"] = api(ids)
    (outcome,) = since_fetch(tmp_path, server)
    assert len(server.paths("/api/query")) == 3
    assert "6 new" in outcome.line and "gave 6 of the 100 papers it counted" in outcome.line


def test_the_same_paper_on_two_pages_is_counted_once(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers submitted while the pages are read shift them: the last paper of one page is
    the first of the next. It is one paper, counted once ("1 already known" it said)."""
    monkeypatch.setattr(fetch, "API_PAGE", 3)
    pages = {"0": ["2606.00001", "2606.00002", "2606.00003"], "3": ["2606.00003", "2606.00004"]}
    server.routes["/api/query"] = lambda h, q: (
        200,
        atom_page(pages[q.get("start", ["0"])[0]], 5, int(q.get("start", ["0"])[0])),
        {},
    )
    (outcome,) = since_fetch(tmp_path, server)
    assert ": 4 new, 0 merged, 0 already known" in outcome.line, outcome.line


# ------------------------------------------------------------------ the app's R
@pytest.mark.parametrize("first", ["cs.RO", "cs.HO"], ids=["retry-after wait", "held answer"])
async def test_quitting_during_a_fetch_stops_it(
    tmp_path: Path,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    empty_library: Library,
    first: str,
) -> None:
    """q while R waits out a Retry-After of 100 s, or while a server holds its answer: the
    fetch stops with the app, and no other request is made (the screen went blank and the
    process went on for the whole wait, then fetched the other sources for nobody). The
    oracle is the fetch's own end (`fetch.fetch` returning) and the server's log."""
    from .test_app import build, settle

    release, ended = threading.Event(), threading.Event()
    server.routes["/rss/cs.RO"] = lambda h, q: (429, b"", {"Retry-After": "100"})
    server.routes["/rss/cs.HO"] = lambda h, q: (release.wait(60) and 200, EMPTY_RSS, {})
    server.routes["/rss/cs.CV"] = rss()
    env = config(tmp_path, server, f'arxiv = ["{first}", "cs.CV"]\nhuggingface = true\n', 60)
    monkeypatch.setenv("PAPERTUI_CONFIG", env["PAPERTUI_CONFIG"])
    real_fetch = fetch.fetch

    def fetch_then_say_so(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_fetch(*args, **kwargs)
        finally:
            ended.set()

    monkeypatch.setattr(fetch, "fetch", fetch_then_say_so)
    app = build(empty_library, tmp_path, today=None)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("R")
            for _ in range(600):  # (until the server has the first request)
                if server.log:
                    break
                await pilot.pause(0.05)
            await pilot.press("q")
        assert ended.wait(10), "the fetch went on after the app quit"
        assert not release.is_set()
        assert [s.path for s in server.log] == [f"/rss/{first}"]
    finally:
        release.set()
    assert len(Library.open(tmp_path / "lib")) == 0


async def test_a_star_tag_and_note_made_while_r_runs_survive_its_merge(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, empty_library: Library
) -> None:
    """R brings version 2 of a paper the user stars, tags and writes a note on while the
    download is held: the merge takes the new title and every change the user made stays,
    in the app and on disk."""
    from .conftest import import_files
    from .test_app import build, goto, settle, toasts

    lib = empty_library
    import_files(lib, [RSS])
    (pid,) = lib.query("2606.18765")
    release = threading.Event()
    newer = (
        RSS.read_bytes()
        .replace(b"2606.18765v1", b"2606.18765v2")
        .replace(b"<title>SpectralDiT:", b"<title>SpectralDiT 2:")
    )
    server.routes["/rss/cs.CV"] = lambda h, q: (release.wait(30) and 200, newer, {})
    env = config(tmp_path, server, 'arxiv = ["cs.CV"]\n', 60)
    monkeypatch.setenv("PAPERTUI_CONFIG", env["PAPERTUI_CONFIG"])
    app = build(lib, tmp_path, today=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await goto(pilot, pid)
        await pilot.press("R")
        for _ in range(600):
            if server.log:
                break
            await pilot.pause(0.05)
        await pilot.press("s", "t", *"keep", "enter")
        await pilot.press("e", *"mine, written during the fetch", "escape")
        release.set()
        for _ in range(100):
            await settle(pilot, 0.05)
            if not app._fetching:
                break
        assert "arXiv cs.CV: 0 new, 7 merged" in "\n".join(toasts(app)), toasts(app)
        assert app.paper_list.current == pid
        assert "SpectralDiT 2:" in app.detail.text and "★ starred" in app.detail.text
        assert app.notes.text == "mine, written during the fetch"
    reopened = Library.open(lib.root)
    state = reopened.state(pid)
    assert state.starred and state.tags == ["keep"]
    assert state.note == "mine, written during the fetch"
    assert reopened.get(pid).title.startswith("SpectralDiT 2:")


# ------------------------------------------------------------------ lines and URLs
def test_an_unknown_key_is_told_every_key_the_readme_documents(tmp_path: Path) -> None:
    """The hint listed "arxiv, feeds, timeout": ``huggingface`` and ``arxiv_pace`` (in the
    README's config) were left out with the endpoint keys."""
    path = tmp_path / "config.toml"
    path.write_text('[fetch]\narxiv = ["cs.CV"]\n[fetch.extra]\na = 1\n', encoding="utf-8")
    with pytest.raises(fetch.ConfigError) as caught:
        fetch.load_config(path)
    assert str(caught.value).endswith(
        "[fetch] has no key 'extra'; it knows arxiv, huggingface, feeds, arxiv_pace, timeout"
    )


def test_an_endpoint_with_a_query_of_its_own_keeps_it(tmp_path: Path, server: Server) -> None:
    """A mirror whose address carries a query (``…/daily_papers?token=…``): the day is
    added to it (``?token=…?date=…`` sent the date inside the token)."""
    server.routes["/api/daily_papers"] = lambda h, q: (200, HF.read_bytes(), {})
    server.routes["/api/query"] = lambda h, q: (200, atom_page(["2606.00001"], 1, 0), {})
    conf = fetch.FetchConfig(
        arxiv=["cs.CV"],
        huggingface=True,
        arxiv_api=f"{server.url}/api/query?mirror=eu",
        huggingface_api=f"{server.url}/api/daily_papers?token=abc",
    )
    since = date.today() - timedelta(days=1)
    outcomes = fetch.fetch(
        Library.open(tmp_path / "lib"), fetch.plan(conf, date.today(), since), pace=0
    )
    assert all(o.status == "stored" or "no new papers" in o.line for o in outcomes), outcomes
    hf = server.paths("/api/daily_papers")
    assert [s.query for s in hf] == [
        {"token": ["abc"], "date": [(since + timedelta(days=n)).isoformat()]} for n in range(2)
    ]
    (api,) = server.paths("/api/query")
    assert api.query["mirror"] == ["eu"] and api.query["search_query"][0].startswith("cat:cs.CV")


def test_a_feeds_error_names_its_url_once(tmp_path: Path, server: Server) -> None:
    """A feed URL is the source's name and begins its error: the line said it twice."""
    conf = fetch.FetchConfig(feeds=[f"{server.url}/missing.rss"])
    (outcome,) = fetch.fetch(Library.open(tmp_path / "lib"), fetch.plan(conf, date.today()))
    assert outcome.line == f"{server.url}/missing.rss: the server answered 404 Not Found"


async def test_r_when_the_example_config_cannot_be_written_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_library: Library
) -> None:
    """No config file, and none can be written (the disk full, a read-only folder such as
    /proc): R says so in a toast and the app goes on (the LibraryError of the write ended
    the app with a traceback)."""
    from tui.library import LibraryError, storage

    from .test_app import build, settle, toasts

    def full(path: Path, data: bytes) -> int:
        raise LibraryError(f"{path}: could not save (the disk is full); nothing was written")

    monkeypatch.setattr(storage, "atomic_write", full)
    config_file = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("PAPERTUI_CONFIG", str(config_file))
    app = build(empty_library, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert app.is_running
        assert f"{config_file}: could not save (the disk is full)" in "\n".join(toasts(app))
        await pilot.press("R")  # (and R can be pressed again)
        await settle(pilot)
        assert app.is_running


def test_an_empty_answer_is_an_error_not_a_quiet_day(tmp_path: Path, server: Server) -> None:
    """A 200 with no body at all (a proxy's failure, a cut connection) is no feed: it said
    "no new papers (none announced)", and its ETag would have made the next fetch skip the
    real feed as unchanged. A real quiet day is a feed with no item."""
    server.routes["/rss/cs.CV"] = lambda h, q: (200, b" \n", {"ETag": '"empty"'})
    conf = fetch.FetchConfig(arxiv=["cs.CV"], arxiv_rss=f"{server.url}/rss/")
    lib = Library.open(tmp_path / "lib")
    for _ in range(2):
        (outcome,) = fetch.fetch(lib, fetch.plan(conf, date.today()), pace=0, timeout=5)
        assert outcome.status == "error"
        assert outcome.line == (
            f"arXiv cs.CV: {server.url}/rss/cs.CV: an empty answer (expected a feed)"
        )
    assert all("If-None-Match" not in s.headers for s in server.log)


def test_a_recent_listing_fetched_says_it_held_only_part_of_its_days(
    tmp_path: Path, server: Server
) -> None:
    """A feed URL that is an arXiv ``/recent`` page (several days, each "showing first N of
    M"): `papertui import` said the page was partial, the fetch's line did not."""
    page = Path(__file__).parent / "cases" / "listing-recent-multiday.html"
    server.routes["/list/cs.CV/recent"] = lambda h, q: (200, page.read_bytes(), {})
    conf = fetch.FetchConfig(feeds=[f"{server.url}/list/cs.CV/recent"])
    (outcome,) = fetch.fetch(Library.open(tmp_path / "lib"), fetch.plan(conf, date.today()))
    partial = parse_bytes(page.read_bytes(), str(page)).partial
    assert partial.startswith("the page shows 5 of its 388 entries")
    assert outcome.line == (
        f"{server.url}/list/cs.CV/recent: 5 new, 0 merged, 0 already known; {partial}"
    )


@pytest.mark.parametrize("after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_retry_after_of_no_time_still_keeps_arxivs_pace(
    tmp_path: Path, server: Server, after: str
) -> None:
    """arXiv answers 503 with a Retry-After of 0 s (or a date already past): the retry waits
    the pace all the same (it was sent at once: two requests to arXiv in a few ms). The
    server's clock is the oracle: a lower bound, which sleeping guarantees."""
    seen_at: list[float] = []

    def answer(headers: Any, query: Any) -> Reply:
        seen_at.append(time.monotonic())
        if len(seen_at) == 1:
            return 503, b"", {"Retry-After": after}
        return 200, RSS.read_bytes(), {}

    server.routes["/rss/cs.CV"] = answer
    conf = fetch.FetchConfig(arxiv=["cs.CV"], arxiv_rss=f"{server.url}/rss/")
    (outcome,) = fetch.fetch(
        Library.open(tmp_path / "lib"), fetch.plan(conf, date.today()), pace=0.5, timeout=5
    )
    assert outcome.status == "stored", outcome.line
    assert len(seen_at) == 2 and seen_at[1] - seen_at[0] >= 0.5


@pytest.mark.parametrize(
    ("route", "body", "said"),
    [
        (
            "/rss/cs.CV",
            b"<!DOCTYPE html><html><head><title>arXiv \x1b[31mmaintenance</title></head>"
            b"<body><h1>Back soon</h1></body></html>",
            "arXiv cs.CV: {url}/rss/cs.CV: expected arXiv's RSS feed, got an HTML page "
            '("arXiv maintenance")',
        ),
        (
            "/api/daily_papers",
            b'{"error": "Invalid date"}',
            "Hugging Face {today}: {url}/api/daily_papers?date={today}: expected Hugging "
            'Face\'s JSON list of Daily Papers, got a JSON object ("error": "Invalid date")',
        ),
    ],
)
def test_a_known_source_answering_something_else_says_what_was_expected(
    tmp_path: Path, server: Server, route: str, body: bytes, said: str
) -> None:
    """arXiv's maintenance page served as 200, Hugging Face's error object: the line said
    "not a recognised feed (tried …)" and listed eight formats; it says what the source
    should have sent and what came instead (the server's words cleaned)."""
    server.routes[route] = lambda h, q: (200, body, {})
    conf = fetch.FetchConfig(
        arxiv=["cs.CV"] if route.startswith("/rss") else [],
        huggingface=route.startswith("/api"),
        arxiv_rss=f"{server.url}/rss/",
        huggingface_api=f"{server.url}/api/daily_papers",
    )
    (outcome,) = fetch.fetch(Library.open(tmp_path / "lib"), fetch.plan(conf, date.today()))
    assert outcome.line == said.format(url=server.url, today=date.today().isoformat())
