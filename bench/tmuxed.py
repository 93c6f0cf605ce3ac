"""Terminal programs timed in tmux: newsboat on a cache of N items, and papertui the same way.

Each program runs in a detached tmux pane of APP_SIZE, started by a shell that waits for one
line on its input and then `exec`s the program (so the pane's process is the program, and
starting tmux is not part of the time). The clock starts when that line is sent; the screen
is read with `tmux capture-pane` every few milliseconds until an expected text shows, which
is when a user would see it (a capture costs ~2 ms: that is the resolution). Peak memory is
the program's VmHWM from /proc.

newsboat's cache is built directly with sqlite3, in the schema newsboat itself writes
(`NEWSBOAT_SCHEMA`, taken from a cache newsboat 2.21 made from a one-item feed; its
`metadata` row says schema 2.11): FEEDS feeds (arXiv categories and Hugging Face, weighted
as a heavy user's subscriptions are), one item per paper with a ~1,200-character abstract as
content, 70% read, as a user's cache looks after a year of daily reading.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

APP_SIZE = (120, 40)
POLL = 0.003
FEEDS = [  # (name, weight): the largest first, so Enter on the first line opens it
    ("cs.CV", 30),
    ("cs.LG", 25),
    ("cs.CL", 15),
    ("cs.AI", 10),
    ("hf-daily", 8),
    ("cs.RO", 4),
    ("eess.IV", 3),
    ("stat.ML", 2),
    ("cs.GR", 2),
    ("cs.SD", 1),
]
NEWSBOAT_SCHEMA = """
CREATE TABLE rss_feed (  rssurl VARCHAR(1024) PRIMARY KEY NOT NULL,  url VARCHAR(1024) NOT NULL,
  title VARCHAR(1024) NOT NULL , lastmodified INTEGER(11) NOT NULL DEFAULT 0,
  is_rtl INTEGER(1) NOT NULL DEFAULT 0, etag VARCHAR(128) NOT NULL DEFAULT "");
CREATE TABLE rss_item (  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  guid VARCHAR(64) NOT NULL,  title VARCHAR(1024) NOT NULL,  author VARCHAR(1024) NOT NULL,
  url VARCHAR(1024) NOT NULL,  feedurl VARCHAR(1024) NOT NULL,  pubDate INTEGER NOT NULL,
  content VARCHAR(65535) NOT NULL, unread INTEGER(1) NOT NULL , enclosure_url VARCHAR(1024),
  enclosure_type VARCHAR(1024), enqueued INTEGER(1) NOT NULL DEFAULT 0, flags VARCHAR(52),
  deleted INTEGER(1) NOT NULL DEFAULT 0, base VARCHAR(128) NOT NULL DEFAULT "");
CREATE TABLE google_replay (  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  guid VARCHAR(64) NOT NULL,  state INTEGER NOT NULL,  ts INTEGER NOT NULL );
CREATE INDEX idx_rssurl ON rss_feed(rssurl);
CREATE INDEX idx_guid ON rss_item(guid);
CREATE INDEX idx_feedurl ON rss_item(feedurl);
CREATE INDEX idx_lastmodified ON rss_feed(lastmodified);
CREATE INDEX idx_deleted ON rss_item(deleted);
CREATE TABLE metadata (  db_schema_version_major INTEGER NOT NULL,
  db_schema_version_minor INTEGER NOT NULL );
INSERT INTO metadata VALUES(2, 11);
"""


def available() -> str | None:
    """Why newsboat cannot be measured here, or None when it can."""
    for tool in ("newsboat", "tmux"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {tool})"
    return None


def newsboat_version() -> str:
    out = subprocess.run(["newsboat", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("\n")[0].strip()


def build_newsboat(size: int, where: Path, text: Any) -> Path:
    """A newsboat folder (urls, config, cache.db) of ``size`` items; ``text(rng, i)`` gives
    (title, authors, content) of item i. Cached: built once per size."""
    done = where / ".complete"
    if done.exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    urls = [f"https://rss.arxiv.org/rss/{name}" for name, _w in FEEDS]
    (where / "urls").write_text("\n".join(urls) + "\n")
    # No reload at start, no confirmation on quit: open, show, nothing else.
    (where / "config").write_text(
        "auto-reload no\nconfirm-exit no\nshow-read-feeds yes\nshow-read-articles yes\n"
    )
    db = sqlite3.connect(where / "cache.db")
    db.executescript(NEWSBOAT_SCHEMA)
    db.executemany(
        "INSERT INTO rss_feed(rssurl, url, title, lastmodified) VALUES(?, ?, ?, ?)",
        [
            (u, u.replace("rss.", ""), f"{n} updates on arXiv.org", 0)
            for u, (n, _) in zip(urls, FEEDS, strict=True)
        ],
    )
    rng = random.Random(20260620)
    weights = [w for _n, w in FEEDS]
    start = 1_782_000_000 - size * 600  # one item every 10 minutes, ending mid-2026
    rows = []
    for i in range(size):
        feed = rng.choices(urls, weights)[0]
        title, authors, content = text(rng, i)
        rows.append(
            (
                f"oai:arXiv.org:{i:07d}v1",
                title,
                authors,
                f"https://arxiv.org/abs/{i:07d}",
                feed,
                start + i * 600,
                f"<p>{content}</p>",
                1 if rng.random() < 0.3 else 0,
            )
        )
        if len(rows) >= 20_000:
            _insert(db, rows)
    _insert(db, rows)
    db.execute("ANALYZE")
    db.commit()
    db.close()
    done.write_text(f"{size}\n")
    return where


def _insert(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO rss_item(guid, title, author, url, feedurl, pubDate, content, unread, "
        "enclosure_url, enclosure_type, base) VALUES(?, ?, ?, ?, ?, ?, ?, ?, '', '', '')",
        rows,
    )
    rows.clear()


def newest_title(folder: Path) -> str:
    """The title newsboat lists first in the largest feed (newest first)."""
    db = sqlite3.connect(folder / "cache.db")
    url = db.execute("SELECT rssurl FROM rss_feed ORDER BY rowid LIMIT 1").fetchone()[0]
    row = db.execute(
        "SELECT title FROM rss_item WHERE feedurl=? ORDER BY pubDate DESC LIMIT 1", (url,)
    ).fetchone()
    db.close()
    return str(row[0])


class Pane:
    """A program in a detached tmux pane, started on `start`."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        quoted = " ".join(_quote(a) for a in argv)
        cmd = f"read _ && exec {quoted}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(APP_SIZE[0]),
                "-y",
                str(APP_SIZE[1]),
                "-c",
                str(cwd),
                "-e",
                "TERM=xterm-256color",
                *[x for k, v in env.items() for x in ("-e", f"{k}={v}")],
                "sh",
                "-c",
                cmd,
            ],
            check=True,
        )
        self.pid = int(
            subprocess.run(
                ["tmux", "display", "-p", "-t", name, "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )

    def start(self) -> float:
        """Let the program start; the moment it was told to (monotonic)."""
        t = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)
        return t

    def keys(self, *keys: str) -> float:
        t = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)
        return t

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def wait_for(self, text: str, timeout: float = 300) -> float:
        """When ``text`` first shows on the screen (monotonic); RuntimeError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen():
                return time.monotonic()
            time.sleep(POLL)
        raise RuntimeError(f"{self.name}: {text!r} never showed; screen:\n{self.screen()}")

    def hwm_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self) -> float:
        """CPU time (user + system) the program has used so far (10 ms resolution)."""
        with open(f"/proc/{self.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def run_newsboat(folder: Path) -> dict[str, Any]:
    """newsboat opened on the cache: start → feed list shown, then Enter → the largest feed's
    article list shown; its peak RSS then."""
    first_feed = f"{FEEDS[0][0]} updates on arXiv.org"
    title = newest_title(folder)[:40]
    pane = Pane(
        f"nb-{os.getpid()}",
        ["newsboat", "-u", "urls", "-c", "cache.db", "-C", "config"],
        folder,
        {"HOME": str(folder)},
    )
    try:
        t0 = pane.start()
        t1 = pane.wait_for(first_feed)
        hwm_feeds = pane.hwm_kb()
        cpu_feeds = pane.cpu_s()
        t2 = pane.keys("Enter")
        t3 = pane.wait_for(title)
        cpu = pane.cpu_s()
        time.sleep(0.3)
        return {
            "feedlist_cpu_s": cpu_feeds,
            "total_cpu_s": cpu,
            "feedlist_s": t1 - t0,
            "articles_s": t3 - t2,
            "total_s": t3 - t0,
            "hwm_feeds_kb": hwm_feeds,
            "hwm_kb": pane.hwm_kb(),
        }
    finally:
        pane.kill()
        lock = folder / "cache.db.lock"
        if lock.exists():
            lock.unlink()


def run_papertui(library: Path, python: str, first_title: str) -> dict[str, Any]:
    """papertui opened on the library in tmux: start → the first paper's title shown; its
    peak RSS then (VmHWM, after the background warm-up has had a second)."""
    pane = Pane(
        f"pt-{os.getpid()}",
        [python, "-m", "tui", "--db", str(library)],
        Path(__file__).resolve().parent.parent,
        {},
    )
    try:
        t0 = pane.start()
        t1 = pane.wait_for(first_title[:40])
        hwm_paint = pane.hwm_kb()
        cpu = pane.cpu_s()
        time.sleep(1.0)
        return {
            "open_s": t1 - t0,
            "open_cpu_s": cpu,
            "hwm_paint_kb": hwm_paint,
            "hwm_kb": pane.hwm_kb(),
        }
    finally:
        pane.kill()
