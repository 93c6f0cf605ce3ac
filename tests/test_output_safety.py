"""Exports and output never harm the user's files or terminal (issue 9, section 6).

Files: `papertui export -o` and the app's `x` write through a symlink to its target, keep an
existing file's mode, owner and group, give a new file the user's umask, refuse anything that
is not a regular file (FIFO, device, directory, socket) and leave the old file whole when the
write fails. Checked on real files, with `stat` as the oracle.

Terminal: tags, notes, file names and arguments are untrusted. Every CLI command is run as a
real process and its stdout and stderr bytes are checked for terminal controls (ESC, C0 but
newline and tab, DEL, C1, bidi controls); the app's toasts are checked the same way; the
Markdown export is rendered with markdown-it to see that tags and notes come out literally.
"""

from __future__ import annotations

import html
import json
import os
import re
import resource
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from textual.widgets import Input

from tui.export import export_markdown
from tui.files import OutputError, write_user_file
from tui.library import Library
from tui.models import Paper, PaperState, Source
from tui.text import clean, clean_line, json_safe, printable

from .conftest import FEEDS, TODAY, import_files
from .hostile import HOSTILE, HOSTILE_NAMES
from .test_app import build, settle, toasts

ARXIVDAILY = FEEDS / "arxivdaily-image-generation.txt"
HF_TEXT = FEEDS / "hf-daily-papers.txt"
SIZE = (120, 40)

# What a terminal acts on: C0 controls but newline and tab, DEL, C1 controls, bidi controls,
# the Unicode line and paragraph separators.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A note that looks like Markdown, HTML and terminal escapes at once.
NOTE_LINES = [
    "# not a heading",
    "- not a list",
    "1. not a list either",
    "<b>not bold</b> <script>alert(1)</script>",
    "[not a link](https://evil.example) ![no image](x.png)",
    "```",
    "> not a quote",
    "",
    "    not code",
    "ends with a backslash \\",
    "---",
    "\x1bcreset \x1b]52;c;ZXZpbA==\x07clip \x9b31mred \u202eevil\u202c",
]


def unsafe_in(data: bytes | str) -> list[str]:
    """The terminal controls in ``data`` (bytes must be UTF-8)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return UNSAFE.findall(text)


def cli(
    *args: str,
    db: Path | None = None,
    preexec: Callable[[], None] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """The real `papertui` in a subprocess, stdout and stderr as bytes (pipes, not a tty).

    The environment asks for colour (TERM set, no NO_COLOR): Rich must still write no styles,
    because its output is not a terminal.
    """
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "DISPLAY"):
        env.pop(name, None)
    env.pop("WAYLAND_DISPLAY", None)
    command = [sys.executable, "-m", "tui", *args]
    if db is not None:
        command += ["--db", str(db)]
    return subprocess.run(
        command,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
        preexec_fn=preexec,
        cwd=cwd,
    )


def hostile_library(root: Path) -> tuple[Library, list[str]]:
    """The arXivDaily sample, every paper starred; the first paper tagged with every hostile
    string and noted with them all, one per line; the second with the Markdown-like note."""
    lib = Library.open(root, parents=True)
    import_files(lib, [ARXIVDAILY])
    pids = lib.query("", sort="title")
    lib.set_state(pids, "star", starred=True)
    lib.set_state(pids[:1], "tag", add_tags=HOSTILE)
    lib.set_state(pids[:1], "edit note", note="\n".join(HOSTILE))
    lib.set_state(pids[1:2], "tag", add_tags=["\x1bc", "ok"])
    lib.set_state(pids[1:2], "edit note", note="\n".join(NOTE_LINES))
    return lib, pids


def names_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


# ============================================================================ text helpers
def test_clean_removes_escapes_and_8_bit_sequences_but_not_the_text_after_them() -> None:
    # ESC and a character were removed as a two-character sequence (ESC c, ESC 7): so was
    # the first letter of the feed's text after a stray ESC ("&#x1b;Sigma" read "igma").
    # Without its ESC no terminal takes that character as a command: it stays, as text.
    assert clean("\x1bcreset") == "creset"
    assert clean("\x1b(0qqq\x1b(B \x1b7save\x1b8 \x1b#8") == "(0qqq(B 7save8 #8"
    assert clean("Spec\x1bSigma \x1bPaper \x1b]0;unterminated") == "SpecSigma Paper ]0;unterminated"
    # A CSI's parameters and a terminated OSC/DCS string are no text: removed whole.
    assert clean("\x9d52;c;ZXZpbA==\x9cc1osc \x9b?1049h") == "c1osc "
    assert clean("\x1bP1$r\x1b\\after") == "after"
    assert clean("\x1b]52;c;ZXZpbA==\x07clip \x1b[31mred\x1b[0m") == "clip red"
    for raw in HOSTILE:
        assert not unsafe_in(clean(raw)), repr(raw[:40])


def test_printable_shows_every_control_as_a_visible_escape() -> None:
    assert printable("evil\x1bc.txt") == "evil\\x1bc.txt"
    assert printable("new\nline\ttab\rcr") == "new\\nline\\ttab\\rcr"
    assert printable("\x9b31m \u202eevil \x7f \u2028") == "\\x9b31m \\u202eevil \\x7f \\u2028"
    assert printable("日本語 [b]x[/b] ok") == "日本語 [b]x[/b] ok"  # the rest stays as it is
    for raw in HOSTILE + HOSTILE_NAMES:
        shown = printable(raw)
        assert "\n" not in shown and "\t" not in shown and not unsafe_in(shown)
        assert shown.count("\\") >= raw.count("\\") + len(UNSAFE.findall(raw))


def test_json_safe_is_lossless_and_escapes_what_json_leaves_raw() -> None:
    data = {"tags": HOSTILE, "names": HOSTILE_NAMES}
    document = json.dumps(data, ensure_ascii=False, indent=2)
    assert unsafe_in(document)  # U+009B, U+202E, DEL: valid raw inside JSON strings
    safe = json_safe(document)
    assert not unsafe_in(safe)
    assert json.loads(safe) == data


# ============================================================================ export -o: files
@pytest.fixture
def starred_db(tmp_path: Path) -> Path:
    """A library with four starred papers."""
    lib = Library.open(tmp_path / "lib")
    import_files(lib, [ARXIVDAILY])
    lib.set_state(lib.query(""), "star", starred=True)
    return lib.root


def exported(db: Path) -> bytes:
    """What `export` prints to stdout: the oracle for what a file must hold."""
    result = cli("export", db=db)
    assert result.returncode == 0, result.stderr
    assert b"# Reading list" in result.stdout
    return result.stdout


def test_export_through_a_symlink_writes_the_target_and_keeps_the_link(
    tmp_path: Path, starred_db: Path
) -> None:
    real = tmp_path / "shared" / "reading.md"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o644)
    link = tmp_path / "reading.md"
    link.symlink_to(real)
    result = cli("export", "-o", str(link), db=starred_db)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)  # was replaced by a file
    assert real.read_bytes() == exported(starred_db)
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert b"4 papers exported to" in result.stderr and str(real).encode() in result.stderr
    assert names_in(real.parent) == {"reading.md"}  # no temp file left


def test_export_through_a_dangling_symlink_creates_its_target(
    tmp_path: Path, starred_db: Path
) -> None:
    link = tmp_path / "later.md"
    link.symlink_to(tmp_path / "target.md")
    assert cli("export", "-o", str(link), db=starred_db).returncode == 0
    assert link.is_symlink() and (tmp_path / "target.md").read_bytes() == exported(starred_db)


def test_export_over_a_file_keeps_its_mode_owner_and_group(
    tmp_path: Path, starred_db: Path
) -> None:
    target = tmp_path / "group.md"
    target.write_text("old\n")
    target.chmod(0o664)
    owner = (os.getuid(), os.getgid())
    if os.geteuid() == 0:  # root can hand the file to another user and group: keep those
        owner = (12345, 23456)
        os.chown(target, *owner)
    result = cli("export", "-o", str(target), db=starred_db)
    assert result.returncode == 0, result.stderr
    st = target.stat()
    assert stat.S_IMODE(st.st_mode) == 0o664  # was 0600: the group could no longer read it
    assert (st.st_uid, st.st_gid) == owner
    assert target.read_bytes() == exported(starred_db)


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_a_new_export_gets_the_users_umask(tmp_path: Path, starred_db: Path, umask: int) -> None:
    target = tmp_path / "new.md"
    result = cli("export", "-o", str(target), db=starred_db, preexec=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def _fifo(directory: Path) -> Path:
    path = directory / "pipe.md"
    os.mkfifo(path)
    return path


def _socket(directory: Path) -> Path:
    path = directory / "sock.md"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


def _device(directory: Path) -> Path:
    """A character device to refuse. As root, a private copy of /dev/null made with mknod:
    run against code with the fault, the test then replaces that copy, not the machine's
    /dev/null. Anyone else gets /dev/null itself, which they cannot replace."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    path = directory / "null.md"
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


def _link_to_fifo(directory: Path) -> Path:
    link = directory / "link.md"
    link.symlink_to(_fifo(directory))
    return link


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_fifo, "a named pipe (FIFO)"),
        (_socket, "a socket"),
        (_link_to_fifo, "a named pipe (FIFO)"),
        (lambda d: d, "a directory"),
        (_device, "a character device"),
    ],
    ids=["fifo", "socket", "link-to-fifo", "directory", "device"],
)
def test_export_refuses_what_is_not_a_regular_file(
    tmp_path: Path, starred_db: Path, make: Callable[[Path], Path], kind: str
) -> None:
    """As root, the old code replaced a device node (/dev/null) with a regular file: now
    nothing is touched (the refusal comes before any file is created or opened)."""
    folder = tmp_path / "out"
    folder.mkdir()
    target = make(folder)
    before = os.stat(target)
    parent = target.parent if target != folder else folder
    listing = names_in(parent)
    result = cli("export", "-o", str(target), db=starred_db)  # a FIFO would block a writer
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"papertui: error: {target}: is {kind}")
    assert "not a regular file" in lines[0] and "Traceback" not in lines[0]
    after = os.stat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )
    if parent == Path("/dev"):  # other processes come and go there: no temp file of ours
        assert not [n for n in names_in(parent) if n.startswith((".papertui-", ".tmp-"))]
    else:
        assert names_in(parent) == listing
    if target.is_symlink():
        assert stat.S_ISFIFO(os.stat(target).st_mode)


def test_export_dash_means_stdout(tmp_path: Path, starred_db: Path) -> None:
    result = cli("export", "-o", "-", db=starred_db, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == exported(starred_db)
    assert not (tmp_path / "-").exists()


def test_export_to_stdout_through_a_link_on_a_pipe_is_refused_and_empty_is_an_error(
    tmp_path: Path, starred_db: Path
) -> None:
    """A link to /proc/self/fd/1 (what /dev/stdout is) with stdout a pipe names the pipe;
    the old code replaced the link itself (as root, /dev/stdout: so the test uses its own
    link). `-o ""` is an error (it used to print the export as if no -o had been given)."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    result = cli("export", "-o", str(stdout), db=starred_db)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"papertui: error: {stdout}: is a named pipe (FIFO), not a regular file; "
        "left alone (give a file, or - for standard output)"
    ]
    assert stdout.is_symlink() and os.readlink(stdout) == "/proc/self/fd/1"
    result = cli("export", "-o", "", db=starred_db)
    assert result.returncode == 1 and result.stdout == b""
    assert b"--output needs a file name" in result.stderr


def test_export_into_a_missing_folder_is_one_line(tmp_path: Path, starred_db: Path) -> None:
    result = cli("export", "-o", str(tmp_path / "no" / "such" / "x.md"), db=starred_db)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"papertui: error: {tmp_path / 'no/such/x.md'}: the folder {tmp_path / 'no/such'} "
        "does not exist; nothing was written"
    ]
    assert not (tmp_path / "no").exists()


def test_a_failed_export_keeps_the_old_file_whole(tmp_path: Path, starred_db: Path) -> None:
    """RLIMIT_FSIZE stops the write part-way, as a full disk would."""
    target = tmp_path / "keep.md"
    target.write_text("the old export\n")
    target.chmod(0o640)
    limit = 200  # bytes: the export is several kilobytes

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = cli("export", "-o", str(target), db=starred_db, preexec=small_files)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "the previous version is intact" in lines[0], lines
    assert target.read_text() == "the old export\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names_in(tmp_path) == {"keep.md", "lib"}  # the temp file was removed


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder anyone may enter (tmp_path's parents are private to the user running pytest),
    for a child process that drops root."""
    folder = Path(tempfile.mkdtemp(prefix="papertui-test-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def _write_as_nobody(target: Path, data: bytes) -> str:
    """`write_user_file` in a forked child that is not root (root may write anything);
    returns the OutputError's message, or "" when it wrote."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, just the call
        status = 0
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                write_user_file(target, data)
            except OutputError as err:
                os.write(write_end, str(err).encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return message


def test_write_user_file_refuses_a_read_only_file(open_folder: Path) -> None:
    """A 0444 file is not replaced behind the user's back (the shell's `>` refuses it too),
    though the folder would allow a rename over it."""
    target = open_folder / "frozen.md"
    target.write_text("frozen\n")
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    target.chmod(0o444)
    message = _write_as_nobody(target, b"new")
    assert message == f"{target}: is read-only (permission denied); nothing was written"
    assert target.read_text() == "frozen\n" and names_in(open_folder) == {"frozen.md"}
    target.chmod(0o644)  # the control: the same call writes a writable file
    assert _write_as_nobody(target, b"new") == ""
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_write_user_file_returns_the_file_written_and_names_the_path_escaped(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.md"
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert write_user_file(link, b"x") == real and real.read_bytes() == b"x"
    os.mkfifo(tmp_path / "evil\x1bc\n.md")
    with pytest.raises(OutputError) as err:
        write_user_file(tmp_path / "evil\x1bc\n.md", b"x")
    assert "evil\\x1bc\\n.md: is a named pipe" in str(err.value)
    assert not unsafe_in(str(err.value)) and "\n" not in str(err.value)


# ============================================================================ the Markdown
def _md_inline(markdown: str) -> list[tuple[str, str]]:
    """(enclosing block tag, rendered inline HTML) for every inline run of the document."""
    md = MarkdownIt("commonmark")
    tokens = md.parse(markdown)
    out = []
    stack: list[str] = []
    for tok in tokens:
        if tok.nesting == 1:
            stack.append(tok.tag)
        elif tok.nesting == -1:
            stack.pop()
        elif tok.type == "inline":
            out.append(("/".join(stack), md.renderer.render(tok.children or [], md.options, {})))
    return out


def test_markdown_export_shows_tags_and_notes_literally() -> None:
    paper = Paper(
        id="p1",
        arxiv_id="2606.00001",
        title="A plain title",
        authors=["A. Author"],
        sources=[Source("arxivdaily", "x.txt", "2026-06-19")],
    )
    state = PaperState(starred=True, tags=list(HOSTILE), note="\n".join(NOTE_LINES))
    title = "My list \x1bc [b]x[/b] *y*"
    markdown = export_markdown([(paper, state)], title=title, today=TODAY)
    assert not unsafe_in(markdown)  # ESC c, OSC 52 and bidi overrides reached the file
    blocks = _md_inline(markdown)
    h1 = [text for tag, text in blocks if tag == "h1"]
    assert h1 == [html.escape(f"{clean_line(title)} — {TODAY.isoformat()}", quote=False)]
    group = [text for tag, text in blocks if tag == "h2"]
    assert group == [html.escape(clean_line(HOSTILE[0]), quote=False)]
    # Listed once, under its first tag; the others on its "Also in" line.
    tags_line = next(text for tag, text in blocks if text.startswith("<strong>Also in:</strong>"))

    # (as papertui shows a tag everywhere, README "Tags and notes": in quotes, a quote doubled,
    # when it holds a space, a comma or a quote, or what is shown is not what is stored)
    def hashed(tag: str) -> str:
        text = clean_line(tag)
        if text != tag or re.search(r'[\s,"]', text) or text.startswith("#"):
            return '#"' + text.replace('"', '""') + '"'
        return "#" + text

    shown = html.escape(", ".join(hashed(t) for t in HOSTILE[1:]), quote=False)
    shown = shown.replace('"', "&quot;")  # (as markdown-it writes a quote)
    assert tags_line == f"<strong>Also in:</strong> {shown}"
    quoted = [text for tag, text in blocks if tag.startswith("blockquote")]
    paragraphs = "\n".join(NOTE_LINES).split("\n\n")
    expected = [
        "<br />\n".join(html.escape(clean_line(line), quote=False) for line in para.split("\n"))
        for para in paragraphs
    ]
    assert quoted == expected  # line by line, nothing became a heading, list, code or link
    rendered = MarkdownIt("commonmark").render(markdown)
    assert "<script>" not in rendered and "<img" not in rendered and "<code>" not in rendered
    assert "evil.example" not in re.findall(r'href="([^"]*)"', rendered)


# A note's Markdown: its inline Markdown rendered, nothing of it a block, link or HTML.
NOTE_MARKDOWN = [
    "Read **§3** first: *the cache* is `a[0] <b>` and ~~old~~, $O(n^2)$ \\*literal\\*",
    "# not a heading",
    "- not a list",
    "* not a list either",
    "2) not numbered",
    "> not a quote",
    "[a link](https://evil.example) ![img](https://evil.example/x.png) <https://evil.example>",
    "<b>not bold</b> <script>alert(1)</script> &amp;",
    "[ref]: https://evil.example",
    "| a | b |",
    "|---|---|",
    "***",
    "~~~",
    "```",
    "setext?",
    "===",
]
# What the renderer's tokens must never be inside a note (CommonMark, with GFM's tables and
# strike-through): a block of the document's, a link, an image or raw HTML.
NOT_IN_A_NOTE = {
    "heading_open",
    "bullet_list_open",
    "ordered_list_open",
    "table_open",
    "fence",
    "code_block",
    "hr",
    "html_block",
    "html_inline",
    "link_open",
    "image",
}


def _note_tokens(markdown: str) -> tuple[list[Any], list[Any]]:
    """(block tokens inside the document's block quotes, every inline child of them)."""
    md = MarkdownIt("commonmark").enable(["strikethrough", "table"])
    inside, children, depth = [], [], 0
    for tok in md.parse(markdown):
        depth += tok.type == "blockquote_open"
        if depth:
            inside.append(tok)
            children += tok.children or []
        depth -= tok.type == "blockquote_close"
    return inside, children


def test_a_notes_markdown_is_rendered_and_cannot_leave_its_quote(tmp_path: Path) -> None:
    """Found as a known defect: the README says a note is Markdown, but the export escaped
    it, so a note's own *emphasis* showed as asterisks. A note is the user's text: its
    emphasis, strong, code, strike-through and math render; it is also untrusted text, so
    nothing of it becomes a heading, list, quote, table, fence or rule of the document, a
    link, an image or HTML. Through the real CLI; the oracle is markdown-it's reading."""
    db = tmp_path / "lib"
    assert cli("import", str(ARXIVDAILY), "--create", db=db).returncode == 0
    pid = json.loads(cli("list", "--json", db=db).stdout)[0]["id"]
    note = "\n".join(NOTE_MARKDOWN)
    assert cli("note", pid, "-m", note, db=db).returncode == 0
    out = tmp_path / "list.md"
    done = cli("export", "--all", "-o", str(out), db=db)
    assert done.returncode == 0, done.stderr
    markdown = out.read_text(encoding="utf-8")
    inside, children = _note_tokens(markdown)
    assert [t.type for t in inside].count("blockquote_open") == 1  # (one quote: the note)
    assert not NOT_IN_A_NOTE & {t.type for t in inside + children}
    shown = [t.type for t in children]
    for kind in ("em_open", "strong_open", "s_open", "code_inline"):
        assert kind in shown, kind
    (code,) = [t.content for t in children if t.type == "code_inline"]
    assert code == "a[0] <b>"  # (a code span's text as typed: no backslash added)
    texts = "".join(t.content for t in children if t.type == "text")
    assert "$O(n^2)$" in texts and "*literal*" in texts
    # Every line but the first shows as typed (its Markdown is a block's or a link's).
    lines = "".join(
        "\n" if t.type in ("hardbreak", "softbreak") else t.content
        for t in children
        if t.type in ("text", "hardbreak", "softbreak")
    ).split("\n")
    assert lines[1:] == NOTE_MARKDOWN[1:]
    rendered = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(markdown)
    assert "evil.example" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', rendered))


# Lines made of the pieces Markdown's constructs are made of (a character at a time, a link
# or a list item would rarely come up).
_PIECES = (
    "* ",
    "- ",
    "+ ",
    "# ",
    "> ",
    "1. ",
    "2) ",
    "[",
    "]",
    "](",
    ")",
    "![",
    "]: ",
    "<",
    ">",
    "https://x.example",
    "`",
    "``",
    "```",
    "~~~",
    "~~",
    "***",
    "_ _ _",
    "|",
    "|-|",
    "---",
    "===",
    "*",
    "**",
    "_",
    "\\",
    "$",
    "$x$",
    "a",
    "b c",
    " ",
    "&amp;",
    "<b>",
    "</b>",
    "<!--",
    "[^1]",
    ":",
    "    ",
)
_MARKDOWNISH = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_MARKDOWNISH, min_size=1, max_size=6))
def test_no_note_makes_a_block_link_or_html_of_the_document(lines: list[str]) -> None:
    """Any note built of Markdown's characters: its tokens stay in its one block quote, none
    is a block, link, image or HTML; the document around it is the one without the note."""
    paper = Paper(
        id="p1",
        arxiv_id="2606.00001",
        title="A plain title",
        authors=["A. Author"],
        sources=[Source("arxivdaily", "x.txt", "2026-06-19")],
    )
    note = "\n".join(lines)
    markdown = export_markdown([(paper, PaperState(note=note))], today=TODAY)
    inside, children = _note_tokens(markdown)
    assert [t.type for t in inside].count("blockquote_open") == (1 if note.strip() else 0)
    assert not NOT_IN_A_NOTE & {t.type for t in inside + children}, markdown
    bare = export_markdown([(paper, PaperState())], today=TODAY)
    md = MarkdownIt("commonmark").enable(["strikethrough", "table"])
    outside = [t.type for t in md.parse(markdown) if t.level == 0]
    outside = [t for t in outside if not t.startswith("blockquote")]
    assert outside == [t.type for t in md.parse(bare) if t.level == 0]


# ============================================================================ the CLI's output
CLI_RUNS: dict[str, list[str]] = {
    "list": ["list"],
    "list-title": ["list", "--sort", "title", "--starred"],
    "list-json": ["list", "--json"],
    "stats": ["stats"],
    "stats-json": ["stats", "--json"],
    "export": ["export"],
    "export-title": ["export", "--all", "--title", "\x1bc\x1b]52;c;ZXZpbA==\x07 \u202etitle"],
    "export-file": ["export", "-o", "{tmp}/out.md"],
    "tag": ["tag", "{pid}", "--add", "fine"],
    "undo": ["undo"],
    "doctor": ["doctor"],
    "app-fallback": ["--list"],
    "show": ["show", "{pid}"],
    "show-json": ["show", "{pid}", "--json"],
    "note-print": ["note", "{pid}", "--print"],
}


@pytest.mark.parametrize("run", list(CLI_RUNS), ids=list(CLI_RUNS))
def test_cli_output_carries_no_terminal_controls(tmp_path: Path, run: str) -> None:
    """Hostile tags and notes (and a library folder with ESC c in its name) through every
    command that prints: stdout and stderr hold no ESC, C1, bidi or other controls, and
    Rich's styling is off (stdout is a pipe, not a terminal)."""
    db = tmp_path / "lib \x1bc\x1b]8;;https://evil.example\x07\u202e"
    _, pids = hostile_library(db)
    args = [a.format(tmp=tmp_path, pid=pids[0]) for a in CLI_RUNS[run]]
    result = cli(*args, db=db)
    assert result.returncode == 0, result.stderr
    assert not unsafe_in(result.stdout), unsafe_in(result.stdout)[:5]
    assert not unsafe_in(result.stderr), unsafe_in(result.stderr)[:5]
    assert b"\x1b" not in result.stdout + result.stderr  # no Rich colours either
    if run == "export-file":
        assert not unsafe_in((tmp_path / "out.md").read_bytes())
    if run.endswith("json"):  # JSON stays lossless: the exact tags come back
        data = json.loads(result.stdout)
        if run == "list-json":
            first = next(r for r in data if r["id"] == pids[0])
            assert first["state"]["tags"] == HOSTILE
            assert first["state"]["note"] == "\n".join(HOSTILE)
        elif run == "show-json":
            assert data["state"]["tags"] == HOSTILE
            assert data["state"]["note"] == "\n".join(HOSTILE)
        else:
            assert set(HOSTILE) <= set(data["tags"]) and data["library"] == str(db)
    if run in ("show", "note-print"):  # the note, its lines kept, its controls gone
        assert [clean(line) for line in HOSTILE if clean(line).strip()][-1].encode() in (
            result.stdout
        )
    if run in ("stats", "doctor"):  # the library's folder, named escaped
        assert printable(str(db)).encode() in result.stdout


def _hostile_folder(directory: Path) -> Path:
    """A folder of feeds named with every hostile name: valid feeds, and empty ones that fail."""
    folder = directory / "feeds"
    folder.mkdir()
    feed = ARXIVDAILY.read_bytes()
    for n, name in enumerate(HOSTILE_NAMES):
        (folder / name).write_bytes(feed if n % 2 == 0 else b"")
    return folder


def test_file_names_in_a_folder_import_are_shown_escaped(tmp_path: Path) -> None:
    folder = _hostile_folder(tmp_path)
    db = tmp_path / "lib"
    for json_flag in ([], ["--json"]):
        result = cli("import", str(folder), *json_flag, db=db)
        assert result.returncode == 1  # the empty files are errors
        assert not unsafe_in(result.stdout) and not unsafe_in(result.stderr)
        assert b"\x1b" not in result.stdout + result.stderr
        errors = result.stderr.decode().splitlines()
        assert len(errors) == len(HOSTILE_NAMES) // 2
        for n, name in enumerate(HOSTILE_NAMES):
            shown = printable(str(folder / name))
            if n % 2:  # an error line each, naming the file escaped
                assert f"papertui: error: {shown}: empty, not a feed" in errors
            elif not json_flag:  # a report line each
                assert shown in result.stdout.decode()
        if json_flag:
            origins = {r["origin"] for r in json.loads(result.stdout)["reports"]}
            assert origins == {str(folder / n) for n in HOSTILE_NAMES[::2]}  # lossless


@pytest.mark.parametrize(
    "args",
    [
        ["import", "/nonexistent/evil\x1bc\n\u202e.txt"],
        ["star", "\x1bc\x1b]52;c;ZXZpbA==\x07"],
        ["list", "--since", "\x1bc"],
        ["list", "\x1bc-unrecognized"],
        ["list", "--sort", "\x1bc"],
        ["export", "-o", "/nonexistent/\x1bc/x.md"],
    ],
    ids=["import-missing", "star-unknown", "bad-query", "argparse-extra", "argparse-choice", "out"],
)
def test_error_messages_show_the_users_arguments_escaped(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "lib"
    hostile_library(db)
    result = cli(*args, db=db)
    assert result.returncode in (1, 2)
    assert not unsafe_in(result.stderr), result.stderr
    assert b"Traceback" not in result.stderr
    assert b"\\x1b" in result.stderr or b"x1b" in result.stderr  # shown, not dropped


# ============================================================================ the app
@pytest.mark.parametrize("kind", ["file", "symlink", "fifo"])
async def test_app_export_never_replaces_what_is_there(tmp_path: Path, kind: str) -> None:
    """`x` writes a new file: the day's name taken (a file of the user's, a link, a FIFO)
    means the next free name, and what was there is left exactly as it was."""
    lib, _ = hostile_library(tmp_path / "lib")
    exports = tmp_path / "exports"
    exports.mkdir()
    taken = exports / f"papertui-starred-{TODAY.isoformat()}.md"
    real = tmp_path / "real.md"
    real.write_text("MY IMPORTANT NOTES\n")
    real.chmod(0o664)
    if kind == "file":
        taken.write_text("MY IMPORTANT NOTES\n")
    elif kind == "symlink":
        taken.symlink_to(real)
    else:
        os.mkfifo(taken)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2):
            await pilot.press("x")
            await pilot.pause()
            await pilot.press("enter")  # the proposed name: the next free one
            await pilot.pause()
        messages = toasts(app)
        assert app.is_running
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(taken).st_mode)
    else:
        assert taken.read_text() == "MY IMPORTANT NOTES\n"
    assert real.read_text() == "MY IMPORTANT NOTES\n" and stat.S_IMODE(real.stat().st_mode) == 0o664
    made = [exports / f"papertui-starred-{TODAY.isoformat()}-{n}.md" for n in (2, 3)]
    for path in made:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# Reading list") and not unsafe_in(text)
        assert any(str(path) in m for m in messages), messages


async def test_app_import_names_hostile_files_escaped_in_its_toasts(tmp_path: Path) -> None:
    folder = _hostile_folder(tmp_path)
    lib = Library.open(tmp_path / "lib")
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        app.screen.query_one(Input).value = str(folder)
        await pilot.press("enter")
        await settle(pilot, 0.1)
        messages = toasts(app)
        await pilot.press("exclamation_mark")  # every error in full, on the messages screen
        await pilot.pause()
        listed = [str(s.render()) for s in app.screen.query(".message-item Static")]
    assert len(lib) == 4
    for message in messages + listed:
        assert not unsafe_in(message) and "\n" not in message, message[:80]
    error = next(m for m in messages if "empty, not a feed" in m)
    first = min(str(folder / name) for name in HOSTILE_NAMES[1::2])  # errors come sorted
    # (the toast names the first file short, without its folder; the screen in full)
    assert f"could not be imported: {printable(Path(first).name)} (empty, not a feed)" in error
    assert f"{printable(first)}: empty, not a feed" in listed
