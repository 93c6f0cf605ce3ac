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
from .test_cli import run, stats

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


def config(tmp_path: Path, server: Server, body: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(
        "[fetch]\n"
        f'arxiv_rss = "{server.url}/rss/"\n'
        f'arxiv_api = "{server.url}/api/query"\n'
        f'huggingface_api = "{server.url}/api/daily_papers"\n'
        "arxiv_pace = 0\ntimeout = 5\n" + body,
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
