"""The installed `papertui` script (the console entry of this venv) on a temp --db: help,
version, unknown commands, `show`, `note`, `list --json` and the checks on what is given.

Oracles are the feed files' own text (read here with the standard library), the package's
metadata and the library read back in this process; never the CLI's own output alone.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tui.library import Library

from .conftest import FEEDS

PAPERTUI = Path(sys.executable).parent / "papertui"
RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"
DIGEST = FEEDS / "digest-text-to-image.txt"
COMMANDS = (
    "import fetch config list show note export star read tag undo redo stats doctor sync help"
).split()


def papertui(
    *args: str, db: Path | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    command = [str(PAPERTUI), *args, *(["--db", str(db)] if db else [])]
    return subprocess.run(
        command, capture_output=True, text=True, env=full, cwd=cwd, timeout=120, check=False
    )


def rss_item(arxiv_id: str) -> dict[str, object]:
    """The RSS item of ``arxiv_id`` as the file says it (title, authors, abstract …)."""
    for item in ET.parse(RSS).getroot().iter("item"):
        if item.findtext("link", "").endswith(arxiv_id):
            description = item.findtext("description", "")
            creator = item.findtext("{http://purl.org/dc/elements/1.1/}creator", "")
            return {
                "title": item.findtext("title", ""),
                "link": item.findtext("link", ""),
                "abstract": description.split("Abstract: ", 1)[1],
                "authors": [a.strip() for a in creator.split(",")],
                "categories": [c.text for c in item.findall("category")],
            }
    raise AssertionError(arxiv_id)


@pytest.fixture
def rss_db(tmp_path: Path) -> Path:
    db = tmp_path / "lib"
    done = papertui("import", str(RSS), "--create", db=db)
    assert done.returncode == 0, done.stderr
    return db


# ------------------------------------------------------------------- help, version, typos
def test_help_lists_every_command_on_one_line_and_each_has_its_own_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = papertui("--help")
    assert done.returncode == 0 and done.stderr == ""
    section = done.stdout.split("Commands:\n", 1)[1].splitlines()
    listed = [line.split()[0] for line in section if line.startswith("  ") and line[2] != " "]
    assert sorted(listed) == sorted(COMMANDS)
    assert len([line for line in section if line.strip()]) == len(COMMANDS)  # one line each
    assert papertui("help").stdout == done.stdout
    from tui.cli import main  # (each command's own help, in this process: 15 starts saved)

    for name in COMMANDS:
        assert main([name, "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"Usage: papertui {name} "), name


def test_version_is_the_installed_packages() -> None:
    done = papertui("--version")
    assert done.returncode == 0
    assert done.stdout == f"papertui {importlib.metadata.version('papertui')}\n"


def test_a_misspelt_command_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "lib"
    for word, line in [
        ("lsit", "papertui: error: unknown command 'lsit' (did you mean 'list'?)\n"),
        ("stat", "papertui: error: unknown command 'stat' (did you mean 'stats'?)\n"),
    ]:
        done = papertui(word, db=db, cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", line)
    assert "unknown command 'lsit'" in papertui("help", "lsit").stderr
    assert sorted(tmp_path.iterdir()) == []  # no library made


def test_files_open_the_app_a_misspelt_command_never_opens_a_file(tmp_path: Path) -> None:
    """`papertui FILE` imports FILE and opens the app (here: --list prints the list); a file
    that is not there is "no such file". A word close to a command is the unknown command
    even where a file has that name (the issue: never taken as a file); ./lsit opens it."""
    shutil.copy(DIGEST, tmp_path / "lsit")
    db = tmp_path / "lib"
    missing = papertui("missing.txt", db=db, cwd=tmp_path)
    assert missing.returncode == 1 and "missing.txt: no such file" in missing.stderr
    assert not db.exists()  # (a failed import never makes a library)
    typo = papertui("lsit", "--list", "--create", db=db, cwd=tmp_path)
    assert typo.returncode == 2 and "unknown command 'lsit'" in typo.stderr
    assert "./lsit" in typo.stderr and not db.exists()
    done = papertui("./lsit", "--list", "--create", db=db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first_title = DIGEST.read_text(encoding="utf-8").splitlines()[0]
    assert first_title in done.stdout


# ------------------------------------------------------------------- show
def test_show_prints_every_field_state_and_note(rss_db: Path) -> None:
    item = rss_item("2606.18802")
    assert papertui("tag", "2606.18802", "-a", "dense, matching", db=rss_db).returncode == 0
    assert papertui("star", "2606.18802", db=rss_db).returncode == 0
    assert papertui("note", "2606.18802", "-m", "read §3 first\nthen the table", db=rss_db)
    done = papertui("show", "2606.18802", db=rss_db)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for part in [item["title"], item["link"], *item["authors"], *item["categories"]]:
        assert str(part) in text, part
    abstract = str(item["abstract"]).replace("&amp;", "&")  # (ET decoded it already)
    # The text around the inline TeX as written; the TeX readable, as the app shows it.
    for piece in re.split(r"\$[^$]*\$", abstract):
        assert piece in text
    assert "$" in abstract and "$" not in text and "𝒪(HW)" in text
    assert "starred" in text and "#dense #matching" in text
    assert "read §3 first\nthen the table" in text
    assert str(RSS) in text and "2026-06-19" in text  # the feed it was seen in

    data = json.loads(papertui("show", "2606.18802", "--json", db=rss_db).stdout)
    assert data["title"] == item["title"] and data["authors"] == item["authors"]
    assert data["abstract"] == item["abstract"] and data["abs_url"] == item["link"]
    assert data["state"]["starred"] and data["state"]["tags"] == ["dense", "matching"]
    assert data["state"]["note"] == "read §3 first\nthen the table" and data["noted"]
    assert [s["origin"] for s in data["sources"]] == [str(RSS)]


def test_show_resolves_ids_as_star_does(rss_db: Path) -> None:
    ambiguous = papertui("show", "2606", db=rss_db)
    starred = papertui("star", "2606", db=rss_db)
    assert ambiguous.returncode == starred.returncode == 1
    assert "ambiguous" in ambiguous.stderr and ambiguous.stderr == starred.stderr
    url = papertui("show", "https://arxiv.org/abs/2606.18802v1", "--json", db=rss_db)
    assert json.loads(url.stdout)["id"] == "2606.18802"


# ------------------------------------------------------------------- note
def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """$EDITOR running a Python script (whose path holds a space: run via shlex)."""
    script = tmp_path / "my editor.py"
    script.write_text("import sys\npath = sys.argv[1]\n" + body, encoding="utf-8")
    temp = tmp_path / "tmp"  # (the note's temporary file here: tests run side by side)
    temp.mkdir(exist_ok=True)
    return {
        "EDITOR": f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}",
        "VISUAL": "",
        "TMPDIR": str(temp),
    }


def note_of(db: Path, pid: str) -> str:
    lib = Library.open(db)
    try:
        return lib.state(pid).note
    finally:
        lib.close()


def test_note_is_edited_in_the_users_editor(rss_db: Path, tmp_path: Path) -> None:
    pid = "2606.18802"
    assert papertui("note", pid, "-m", "first line", db=rss_db).returncode == 0
    appends = "open(path, 'a', encoding='utf-8').write('added by the editor\\n')\n"
    done = papertui("note", pid, db=rss_db, env=editor(tmp_path, appends))
    assert done.returncode == 0, done.stderr
    assert note_of(rss_db, pid) == "first line\nadded by the editor"
    printed = papertui("note", pid, "--print", db=rss_db)
    assert printed.stdout == "first line\nadded by the editor\n"
    assert list((tmp_path / "tmp").glob(f"papertui-note-{pid}-*")) == []  # (cleaned up)


def test_a_note_from_the_editor_keeps_no_escapes_and_csl_json_carries_none(
    rss_db: Path, tmp_path: Path
) -> None:
    """Found by a second newcomer: an editor's file with a colour escape was stored as is and
    the CSL-JSON export wrote it out ("\\u001b[31m"), for pandoc or Zotero to pass on."""
    pid = "2606.18802"
    writes = "open(path, 'w').write('second [bold]line[/bold] \\x1b[31mred\\x07\\nnext\\n')\n"
    assert papertui("note", pid, db=rss_db, env=editor(tmp_path, writes)).returncode == 0
    assert note_of(rss_db, pid) == "second [bold]line[/bold] red\nnext"
    assert papertui("note", pid, "-m", "by -m \x1b]52;c;aGk=\x07ok", db=rss_db).returncode == 0
    assert note_of(rss_db, pid) == "by -m ok"
    lib = Library.open(rss_db)
    lib.set_state([pid], "edit note", note="set elsewhere \x1b[2J\x1bc", tags=["t\x1b[1m"])
    lib.close()
    csl = papertui("export", "--all", "--format", "csl-json", db=rss_db).stdout
    assert "\\u001b" not in csl and "\x1b" not in csl
    (item,) = [r for r in json.loads(csl) if r["number"] == pid]
    assert item["note"].startswith("set elsewhere")


def test_an_editor_that_saves_other_than_utf8_changes_nothing_and_keeps_the_text(
    rss_db: Path, tmp_path: Path
) -> None:
    """Found by an adversary: Latin-1 or UTF-16 from the editor was saved with U+FFFD in
    place of the user's characters, and the temporary file deleted."""
    pid = "2606.18802"
    assert papertui("note", pid, "-m", "kept", db=rss_db).returncode == 0
    for encoding in ("latin-1", "utf-16"):
        writes = f"open(path, 'wb').write('café'.encode({encoding!r}))\n"
        done = papertui("note", pid, db=rss_db, env=editor(tmp_path, writes))
        assert done.returncode == 1 and "not UTF-8 text" in done.stderr, done.stderr
        kept = Path(done.stderr.split("papertui: error: ", 1)[1].split(": not UTF-8")[0])
        assert kept.read_bytes() == "café".encode(encoding)  # (the user's bytes, kept)
        kept.unlink()
        assert note_of(rss_db, pid) == "kept"
    bom = "open(path, 'wb').write('\\ufeffcafé'.encode('utf-8'))\n"  # (a UTF-8 BOM: fine)
    assert papertui("note", pid, db=rss_db, env=editor(tmp_path, bom)).returncode == 0
    assert note_of(rss_db, pid) == "café"


def test_a_blank_visual_falls_through_to_editor(rss_db: Path, tmp_path: Path) -> None:
    pid = "2606.18802"
    env = editor(tmp_path, "open(path, 'w').write('from EDITOR')\n")
    env["VISUAL"] = "  "
    done = papertui("note", pid, db=rss_db, env=env)
    assert done.returncode == 0, done.stderr
    assert note_of(rss_db, pid) == "from EDITOR"


def test_a_failed_or_idle_editor_changes_nothing_and_says_so(rss_db: Path, tmp_path: Path) -> None:
    pid = "2606.18802"
    assert papertui("note", pid, "-m", "kept", db=rss_db).returncode == 0
    idle = papertui("note", pid, db=rss_db, env=editor(tmp_path, "pass\n"))
    assert idle.returncode == 0 and "unchanged" in idle.stdout
    fails = "open(path, 'w').write('half-typed')\nsys.exit(3)\n"
    failed = papertui("note", pid, db=rss_db, env=editor(tmp_path, fails))
    assert failed.returncode == 1 and "status 3" in failed.stderr
    assert "unchanged" in failed.stderr and len(failed.stderr.splitlines()) == 1
    kept = Path(failed.stderr.split("kept in ")[1].strip())
    assert kept.read_text() == "half-typed"  # (what was typed is not lost)
    kept.unlink()
    missing = papertui("note", pid, db=rss_db, env={"EDITOR": "/nonexistent/ed", "VISUAL": ""})
    assert missing.returncode == 1 and "cannot run the editor" in missing.stderr
    assert note_of(rss_db, pid) == "kept"


def fake_editors(folder: Path, names: list[str]) -> Path:
    """A $PATH folder holding only the editors ``names``: each (a shell script) writes
    "written by NAME" into the file it is given, so the note says which one ran."""
    folder.mkdir(exist_ok=True)
    for name in names:
        script = folder / name
        script.write_text(f'#!/bin/sh\nprintf "written by {name}" > "$1"\n', encoding="utf-8")
        script.chmod(0o755)
    return folder


def note_without_editor_variables(
    db: Path, pid: str, path: Path, tmp_path: Path, *, terminal: bool, term: str = "xterm"
) -> subprocess.CompletedProcess[str]:
    """`papertui note PID` with no $VISUAL nor $EDITOR, $PATH only ``path``; its standard
    input a pseudo-terminal (``terminal``) or /dev/null, as from cron or a pipe."""
    import pty

    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VISUAL", "EDITOR")}
    env.update(PATH=str(path), TERM=term, TMPDIR=str(tmp_path / "tmp"), NO_COLOR="1")
    leader, follower = pty.openpty() if terminal else (-1, os.open(os.devnull, os.O_RDONLY))
    try:
        return subprocess.run(
            [str(PAPERTUI), "note", pid, "--db", str(db)],
            stdin=follower,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        if leader >= 0:
            os.close(leader)


def test_without_editor_variables_an_editor_on_path_runs_only_in_a_terminal(
    rss_db: Path, tmp_path: Path
) -> None:
    """Found as a known defect: with no $EDITOR and no terminal, `papertui note` ran `vi`
    anyway (stuck, or failing, with nothing to say why). Now: no editor starts, one line
    says how to give the note (-m), exit 1, the note as it was (so too in a dumb terminal,
    as git does). In a terminal, the first of editor, nano, vi found on $PATH runs (git's
    order); none found: one line, exit 1."""
    pid = "2606.18802"
    assert papertui("note", pid, "-m", "kept", db=rss_db).returncode == 0
    path = fake_editors(tmp_path / "bin", ["nano", "vi"])
    piped = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=False)
    assert piped.returncode == 1 and piped.stdout == ""
    assert piped.stderr.count("\n") == 1 and f"papertui note {pid} -m TEXT" in piped.stderr
    assert "no terminal" in piped.stderr
    assert note_of(rss_db, pid) == "kept"  # (no editor wrote it)
    assert list((tmp_path / "tmp").iterdir()) == []  # (no temporary file left either)
    dumb = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=True, term="dumb")
    assert dumb.returncode == 1 and "no terminal" in dumb.stderr  # (as git: no vi there)
    assert note_of(rss_db, pid) == "kept"

    ran = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=True)
    assert ran.returncode == 0, ran.stderr
    assert note_of(rss_db, pid) == "written by nano"  # (before vi; no `editor` there)
    fake_editors(path, ["editor"])
    ran = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=True)
    assert ran.returncode == 0, ran.stderr
    assert note_of(rss_db, pid) == "written by editor"
    for name in ("editor", "nano"):
        (path / name).unlink()
    ran = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=True)
    assert ran.returncode == 0, ran.stderr
    assert note_of(rss_db, pid) == "written by vi"

    (path / "vi").unlink()
    none = note_without_editor_variables(rss_db, pid, path, tmp_path, terminal=True)
    assert none.returncode == 1 and none.stderr.count("\n") == 1
    assert "editor, nano, vi" in none.stderr and f"papertui note {pid} -m TEXT" in none.stderr
    assert note_of(rss_db, pid) == "written by vi"


# ------------------------------------------------------------------- list --json
def test_list_json_gives_whole_records(rss_db: Path) -> None:
    assert papertui("note", "2606.18802", "-m", "n", db=rss_db).returncode == 0
    records = json.loads(papertui("list", "--json", db=rss_db).stdout)
    in_feed = {i.findtext("link", "").rsplit("/", 1)[1] for i in ET.parse(RSS).iter("item")}
    assert {r["id"] for r in records} == in_feed
    for r in records:
        item = rss_item(r["id"])
        assert r["title"] == item["title"] and r["abstract"] == item["abstract"]
        assert r["abs_url"] == item["link"] and r["sources"][0]["origin"] == str(RSS)
        assert set(r["state"]) >= {"read", "starred", "tags", "note"}
        assert r["noted"] == (r["id"] == "2606.18802")
    assert "full records" in papertui("list", "--help").stdout


# ------------------------------------------------------------------- what is given
def test_limit_must_be_one_or_more(rss_db: Path) -> None:
    for bad in ("0", "-1", "x"):
        done = papertui("list", "--limit", bad, db=rss_db)
        assert done.returncode == 2 and done.stdout == "", bad
        assert "is not a whole number of 1 or more" in done.stderr
    assert len(papertui("list", "--limit", "1", db=rss_db).stdout.splitlines()) == 1


def test_an_unknown_source_is_an_error_naming_the_sources(rss_db: Path) -> None:
    for args in (["--source", "bogus"], ["-s", "source:bogus"]):
        done = papertui("list", *args, db=rss_db)
        assert done.returncode == 1 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert "'bogus'" in line and all(s in line for s in ("hf", "arxiv", "digest"))
    assert len(papertui("list", "--source", "arxiv", db=rss_db).stdout.splitlines()) > 0


def test_a_search_starting_with_a_dash_excludes(rss_db: Path) -> None:
    def titles(*args: str) -> list[str]:
        done = papertui("list", "--json", *args, db=rss_db)
        assert done.returncode == 0, done.stderr
        return [r["title"] for r in json.loads(done.stdout)]

    every, without, having = titles(), titles("-s", "-diffusion"), titles("-s", "diffusion")
    assert without and having and len(without) + len(having) == len(every)
    assert not any("diffusion" in t.lower() for t in without)


def test_a_short_prefix_is_ambiguous_and_counts_read_in_the_singular(
    sample_library: Library,
) -> None:
    db = sample_library.root
    done = papertui("star", "p", db=db)
    assert done.returncode == 1 and "ambiguous" in done.stderr
    ids = sorted(i for i in sample_library if i.startswith("p"))[:2]
    assert papertui("star", ids[0], db=db).stdout == "star: 1 of 1 paper changed\n"
    assert papertui("read", *ids, db=db).stdout == "mark read: 2 of 2 papers changed\n"
    twice = papertui("read", "--off", ids[0], ids[0].upper(), db=db)  # (one paper, named twice)
    assert twice.stdout == "mark unread: 1 of 1 paper changed\n"


def test_doctor_where_there_is_no_library_says_only_that(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for where in (empty, tmp_path / "nothing"):
        done = papertui("doctor", db=where)
        assert done.returncode == 1 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"papertui: error: {where}: ")
    assert list(empty.iterdir()) == [] and not (tmp_path / "nothing").exists()


def test_stats_lines_end_at_their_text(sample_library: Library) -> None:
    done = papertui("stats", db=sample_library.root)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["papers", f"{len(sample_library):,}"]
    assert all(line == line.rstrip() for line in lines)


def test_config_edit_without_an_editor_writes_nothing(tmp_path: Path) -> None:
    """Found as a known defect: `papertui config --edit` with no editor to run wrote the
    example config file first, then said there was no editor. Now: one line, exit 1, and no
    file; with an editor the example is written and opened in it."""
    config = tmp_path / "conf" / "config.toml"
    # (blank variables are unset ones; no editor on $PATH either)
    env = {"VISUAL": "", "EDITOR": "", "PATH": str(tmp_path / "empty-bin")}
    env["PAPERTUI_CONFIG"] = str(config)
    done = papertui("config", "--edit", env=env)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "edit" in done.stderr and str(config) in done.stderr
    assert not config.exists() and not config.parent.exists()
    env["EDITOR"] = f"{shlex.quote(sys.executable)} -c pass"
    done = papertui("config", "--edit", env=env)
    assert done.returncode == 0, done.stderr
    assert "[fetch]" in config.read_text(encoding="utf-8")
