"""The `papertui` command: opens the app, or runs one scripting command on the library.

Opening the app imports only what it needs: the importers (urllib, the feed parsers), the
clipboard, the exporter, the doctor and Rich's tables and progress bars are imported by the
commands that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
from platformdirs import user_state_dir
from rich.console import Console
from rich.text import Text

from .feeds import FeedError
from .history import describe_undo
from .library import SORT_KEYS, ImportReport, Library, LibraryError, QueryError
from .library.core import now_iso
from .models import badge
from .paths import default_db, user_library
from .tags import TagError, parse_tags
from .text import clean, clean_line, json_safe, papers, printable, valid_unicode

if TYPE_CHECKING:
    from .prepaint import Prepaint
    from .sources import Loaded
    from .start import Early

COMMANDS = (
    "import",
    "fetch",
    "config",
    "list",
    "export",
    "star",
    "read",
    "tag",
    "undo",
    "stats",
    "doctor",
    "sync",
)
CREATING = ("import", "fetch")  # the commands that make a library where there is none
PRINT_NOTES_UP_TO = 200  # lines: unsaved notes up to this long are printed as well as kept
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """A failure reported as one line on stderr with a non-zero exit status."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the user's arguments shown escaped in its messages.

    argparse quotes arguments raw in some errors (``unrecognized arguments: ...``); an
    argument holding ``ESC c`` would reset the terminal that prints the error.
    """

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))


def error_line(message: object) -> Text:
    """``papertui: error: MESSAGE`` as one line, control characters shown escaped."""
    return Text(f"papertui: error: {printable(str(message))}")


def write_json(document: bytes) -> None:
    """Print a JSON document to stdout with the characters a terminal acts on escaped."""
    sys.stdout.write(json_safe(document.decode("utf-8")) + "\n")


def demo_feeds() -> Path:
    """The bundled sample feeds: the repo's data/feeds, or the installed copy."""
    candidates = [
        Path(__file__).resolve().parent.parent / "data" / "feeds",
        Path(sys.prefix) / "share" / "papertui" / "feeds",
    ]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    raise CLIError("the bundled sample feeds are missing (reinstall papertui)")


# --------------------------------------------------------------------------- parsers
def _count(value: str) -> int:
    """A whole number ≥ 0, for argparse (whose error names the option)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 0 or more")
    return number


def _db_parent() -> argparse.ArgumentParser:
    parent = ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="library directory (default: $PAPERTUI_DB or the user data dir)",
    )
    parent.add_argument(
        "--create",
        action="store_true",
        default=argparse.SUPPRESS,
        help="make the library (and missing parent folders) if there is none",
    )
    return parent


def _filters(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("filters (combined with AND)")
    g.add_argument("--unread", action="store_true", help="only unread papers")
    g.add_argument("--starred", action="store_true", help="only starred papers")
    g.add_argument("--tag", action="append", default=[], metavar="TAG", help="has this tag")
    g.add_argument(
        "--search",
        "-s",
        default="",
        metavar="QUERY",
        help='words and filters, e.g. "diffusion author:li cat:cs.CV is:unread"',
    )
    g.add_argument("--source", metavar="SRC", help="seen in: hf, arxiv, arxivdaily, digest")
    g.add_argument("--since", metavar="DATE", help="feed date on or after YYYY-MM-DD")
    parser.add_argument("--sort", choices=SORT_KEYS, default="feed_date", help="sort order")


def build_parser() -> argparse.ArgumentParser:
    db = _db_parent()
    parser = ArgumentParser(
        prog="papertui",
        description="A keyboard-first reading list for daily paper feeds. "
        "Without a command, opens the app (importing any FILEs first).",
        parents=[db],
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="feeds to import before opening")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the bundled sample feeds in a throwaway library (never your own)",
    )
    parser.add_argument(
        "--list", action="store_true", help=argparse.SUPPRESS
    )  # print instead of opening the app (used where no terminal app can run)
    return parser


def build_command_parser() -> argparse.ArgumentParser:
    db = _db_parent()
    parser = ArgumentParser(prog="papertui", parents=[db])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "import",
        parents=[db],
        help="import feeds (files, directories, -, --clipboard, URLs)",
        description="Import feeds into the library. A SOURCE is a file, a directory "
        "(searched recursively), - for stdin, or an http(s) URL.",
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    p.add_argument("--clipboard", action="store_true", help="import the clipboard's text")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")

    p = sub.add_parser(
        "fetch",
        parents=[db],
        help="fetch today's papers from the sources in the config file",
        description="Fetch every source the config file names (arXiv categories, Hugging "
        "Face Daily Papers, feed URLs) and import what they give: one line per source. A "
        "second fetch the same day downloads nothing that has not changed. `papertui "
        "config` shows the file.",
    )
    p.add_argument(
        "--since",
        metavar="DATE",
        help="catch up from YYYY-MM-DD (arXiv through its API, Hugging Face day by day; "
        "at most 31 days back)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="the config file (default: `papertui config --path`)"
    )

    p = sub.add_parser(
        "config",
        help="print the config file (writing a commented example when there is none)",
        description="Print the config file, writing a commented example first when there is "
        "none. --path prints where it is; --edit opens it in $EDITOR.",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--path", action="store_true", help="print the file's path only")
    g.add_argument("--edit", action="store_true", help="open it in $VISUAL / $EDITOR")

    p = sub.add_parser("list", parents=[db], help="list papers", description="List papers.")
    _filters(p)
    p.add_argument("--limit", type=_count, default=0, metavar="N", help="show at most N (0: all)")
    p.add_argument("--json", action="store_true", help="print full records as JSON")

    p = sub.add_parser(
        "export",
        parents=[db],
        help="export starred papers (Markdown, BibTeX, CSL-JSON)",
        description="Export papers: the starred ones unless --all or filters say otherwise. "
        "Markdown is grouped by tag with notes; BibTeX has arXiv @misc entries; CSL-JSON is "
        "what Zotero and pandoc read. The format is --format, else the --output file's "
        "suffix (.md, .bib, .json), else Markdown.",
    )
    _filters(p)
    p.add_argument(
        "--format",
        "-f",
        choices=("markdown", "bibtex", "csl-json"),
        help="markdown, bibtex or csl-json",
    )
    p.add_argument("--all", action="store_true", help="every paper, not only starred ones")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE ('-' for stdout)")
    p.add_argument("--clipboard", action="store_true", help="copy to the clipboard")
    p.add_argument("--title", default="Reading list", help="heading of the document")

    for name, what in (("star", "star"), ("read", "mark read")):
        p = sub.add_parser(
            name, parents=[db], help=f"{what} papers", description=f"{what.capitalize()} papers."
        )
        p.add_argument("ids", nargs="+", metavar="ID", help="paper id, arXiv id or id prefix")
        p.add_argument(
            "--off",
            action="store_true",
            help="unstar" if name == "star" else "mark unread",
        )

    p = sub.add_parser(
        "tag",
        parents=[db],
        help="add or remove tags",
        description="Add or remove tags. TAGS is written as in the app's tag editor: tags "
        'separated by commas or spaces, "double quotes" around a tag that holds a space, a '
        "comma or a quote or starts with #; a leading # is dropped (#x is the tag x). Tags "
        "cannot be empty or hold control characters. --remove also takes a stored tag as it is.",
    )
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--add", "-a", action="append", default=[], metavar="TAGS")
    p.add_argument("--remove", "-r", action="append", default=[], metavar="TAGS")

    sub.add_parser(
        "undo", parents=[db], help="undo the last change", description="Undo the last change."
    )
    p = sub.add_parser(
        "stats", parents=[db], help="library statistics", description="Library statistics."
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "doctor",
        parents=[db],
        help="check the library's files; --repair restores the last good version",
        description="Check every file of the library. With --repair, damaged files are moved "
        "to quarantine/ (never deleted) and the cache is rebuilt from the rest. With "
        "--rebuild, the cache (a database derived from the library's files) is rebuilt.",
    )
    p.add_argument("--repair", action="store_true", help="fix what was found")
    p.add_argument(
        "--rebuild", action="store_true", help="rebuild the cache from the library's files"
    )
    p = sub.add_parser(
        "sync",
        parents=[db],
        help="share the library between machines through git",
        description="`papertui sync init [REMOTE]` makes the library a git repository (or "
        "clones the library at REMOTE into a new --db folder) and joins it with REMOTE; "
        "`papertui sync` commits this machine's changes, pulls and takes in the other "
        "machines', and pushes.",
    )
    p.add_argument("action", nargs="?", choices=["init"], help="init: start sharing")
    p.add_argument("remote", nargs="?", help="a git remote (URL or path), for init")
    return parser


# --------------------------------------------------------------------------- helpers
def _query(args: argparse.Namespace, starred_default: bool = False) -> str:
    parts = [args.search] if args.search else []
    if args.unread:
        parts.append("is:unread")
    if args.starred or starred_default:
        parts.append("is:starred")
    # One tag each, as stored (quotes, spaces and all); `#x` is the tag x, as in the editor.
    parts += [shlex.quote("tag:" + (t[1:] if t.startswith("#") and t[1:] else t)) for t in args.tag]
    if args.source:
        parts.append(f"source:{args.source}")
    if args.since:
        parts.append(f"since:{args.since}")
    return " ".join(parts)


def import_sources(
    lib: Library | Callable[[], Library], sources: list[str], console: Console, err: Console
) -> tuple[list[ImportReport], list[str]]:
    """Read and parse every source (outside the lock), then store them, in one write when
    none fails: the reports of the sources stored, and one line per source that was not.
    Each source succeeds or fails on its own. ``lib`` may be a function that opens the
    library: it is called only when some source was read (so a failed import never makes a
    library)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .importing import store_feeds
    from .sources import expand, load_source

    expanded = list(expand(sources))
    loaded: list[Loaded] = []
    errors: list[str] = []
    stamp = now_iso()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=len(expanded) < 3 or not err.is_terminal,
    ) as progress:
        task = progress.add_task("Reading feeds", total=len(expanded))
        for src in expanded:
            try:
                loaded.append(load_source(src, imported_at=stamp))
            except FeedError as e:
                errors.append(str(e))
            progress.advance(task)
    if not loaded:
        return [], errors
    if not isinstance(lib, Library):
        lib = lib()
    reports, failed = store_feeds(lib, [(item.result, item.source) for item in loaded])
    return reports, errors + failed


def print_reports(reports: list[ImportReport], errors: list[str], console: Console) -> None:
    for r in reports:
        line = Text()
        line.append(printable(r.origin), style="bold")  # a file name: anything but "/"
        line.append(f"  {r.format}: {r.found} found, ")
        line.append(f"{r.new} new", style="green" if r.new else "")
        line.append(f", {r.merged} merged, {r.unchanged} already known")
        if r.skipped:
            line.append(f", {len(r.skipped)} skipped", style="yellow")
        console.print(line, soft_wrap=True, highlight=False)
        if r.partial:
            console.print(
                Text(f"  partial: {printable(r.partial)}", style="yellow"), highlight=False
            )
        for s in r.skipped:
            console.print(
                Text(f"  skipped line {s.line}: {printable(s.reason)}", style="yellow"),
                highlight=False,
            )


def _row(lib: Library, pid: str) -> tuple[str, str, str, str, str]:
    """(marks, id, feed date, sources, title and tags) of one paper, as plain text."""
    p, s = lib.raw(pid), lib.raw_state(pid)
    marks = ("★" if s.get("starred") else " ") + (" " if s.get("read") else "●")
    badges: list[str] = []
    for src in p.get("sources", []):
        b = badge(src["format"])
        if b not in badges:
            badges.append(b)
    title = clean_line(p.get("title") or p.get("title_zh") or "(untitled)")
    tags = " ".join("#" + clean_line(t) for t in s.get("tags", []))
    return (
        marks,
        pid,
        p.get("feed_date") or "",
        ",".join(badges),
        title + (f"  {tags}" if tags else ""),
    )


# Arguments that are text, not file names: (attribute, how the user wrote it).
_TEXT_ARGS = (
    ("ids", "ID"),
    ("add", "--add"),
    ("remove", "--remove"),
    ("tag", "--tag"),
    ("search", "--search"),
    ("source", "--source"),
    ("since", "--since"),
    ("title", "--title"),
)


def check_text_args(args: argparse.Namespace) -> None:
    """Raise CLIError when a text argument holds a byte that is not UTF-8.

    Python keeps such a byte of the command line as a lone surrogate (``surrogateescape``),
    which neither the store nor a terminal can write; file names may hold one and are not
    checked here."""
    for attr, flag in _TEXT_ARGS:
        value = getattr(args, attr, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and valid_unicode(item) != item:
                shown = valid_unicode(item)
                raise CLIError(
                    f"{flag} {shown!r}: not UTF-8 text (a byte that is not a character, "
                    "shown as \ufffd; is the terminal set to UTF-8?)"
                )


def _ids(lib: Library, refs: Sequence[str]) -> list[str]:
    return [lib.resolve(r) for r in refs]


# --------------------------------------------------------------------------- commands
def cmd_import(
    lib: Library | Callable[[], Library], args: argparse.Namespace, out: Console, err: Console
) -> int:
    sources = list(args.sources) + (["--clipboard"] if args.clipboard else [])
    if not sources:
        raise CLIError("nothing to import: give a file, a directory, -, a URL or --clipboard")
    reports, errors = import_sources(lib, sources, out, err)
    if args.json:
        write_json(
            orjson.dumps(
                {
                    "reports": [
                        {
                            "origin": r.origin,
                            "format": r.format,
                            "found": r.found,
                            "new": r.new,
                            "merged": r.merged,
                            "unchanged": r.unchanged,
                            "skipped": [s.__dict__ for s in r.skipped],
                            "partial": r.partial,
                        }
                        for r in reports
                    ],
                    "errors": errors,
                },
                option=orjson.OPT_INDENT_2,
            )
        )
    else:
        print_reports(reports, [], out)
    for e in errors:
        err.print(error_line(e), highlight=False, soft_wrap=True)
    return EXIT_ERROR if errors else EXIT_OK


def cmd_list(lib: Library, args: argparse.Namespace, out: Console, err: Console) -> int:
    ids = lib.query(_query(args), sort=args.sort)
    if args.limit:
        ids = ids[: args.limit]
    if args.json:
        records = [{**lib.record(pid), "state": lib.state(pid).to_dict()} for pid in ids]
        for record in records:
            record.pop("keys", None)
        write_json(orjson.dumps(records, option=orjson.OPT_INDENT_2))
        return EXIT_OK
    # One line per paper in fixed columns, the title last: a Rich table measures every cell
    # of every row first (5 s for 8,000 rows); this prints 100,000 rows in about a second.
    rows = [_row(lib, pid) for pid in ids]
    id_w = max([len("id")] + [len(r[1]) for r in rows])
    src_w = max([len("source")] + [len(r[3]) for r in rows])
    header = f"   {'id':<{id_w}} {'feed':<10} {'source':<{src_w}} title"
    if not out.is_terminal:  # piped: one line a paper, whole titles, no styles, no header
        lines = [f"{m} {i:<{id_w}} {d:<10} {b:<{src_w}} {t}\n" for m, i, d, b, t in rows]
        out.file.write("".join(lines))
    else:
        texts = [Text(header, style="bold")]
        for marks, pid, date, badges, title in rows:
            texts.append(
                Text.assemble(
                    (marks, "yellow"),
                    " ",
                    (pid.ljust(id_w), "cyan"),
                    f" {date:<10} ",
                    (badges.ljust(src_w), "magenta"),
                    " ",
                    title,
                )
            )
        out.print(Text("\n").join(texts), no_wrap=True, overflow="ellipsis", crop=True)
    counts = lib.counts()  # (on stderr: `papertui list | wc -l` counts papers)
    err.print(
        Text(
            f"{len(ids):,} shown · {papers(counts['papers'])}, {counts['unread']:,} unread, "
            f"{counts['starred']:,} starred",
            style="dim",
        )
    )
    return EXIT_OK


def cmd_export(lib: Library, args: argparse.Namespace, out: Console, err: Console) -> int:
    from .clipboard import ClipboardError, copy
    from .exporters import exporter_for, render
    from .files import OutputError, write_user_file

    output = Path(args.output) if args.output and args.output != "-" else None
    exporter = exporter_for(args.format, output)
    ids = lib.query(_query(args, starred_default=not args.all), sort=args.sort)
    text = render(exporter, ((lib.get(pid), lib.state(pid)) for pid in ids), args.title)
    if args.clipboard:
        try:
            how = copy(text)
        except ClipboardError as e:
            raise CLIError(str(e)) from None
        err.print(Text(f"{papers(len(ids))}: {printable(how)}"))
    if args.output == "":
        raise CLIError("export: --output needs a file name (or - for standard output)")
    if args.output and args.output != "-":
        try:
            written = write_user_file(Path(args.output), text.encode("utf-8"))
        except OutputError as e:
            raise CLIError(str(e)) from None
        where = printable(args.output)
        if Path(args.output).is_symlink():
            where += f" (a link to {printable(str(written))})"
        err.print(Text(f"{papers(len(ids))} exported to {where} ({exporter.name})"))
    elif not args.clipboard or args.output == "-":
        sys.stdout.write(text)
    return EXIT_OK


def cmd_state(lib: Library, args: argparse.Namespace, out: Console, err: Console) -> int:
    ids = _ids(lib, args.ids)
    if args.command == "star":
        label = "unstar" if args.off else "star"
        changed = lib.set_state(ids, label, starred=not args.off)
    elif args.command == "read":
        label = "mark unread" if args.off else "mark read"
        changed = lib.set_state(ids, label, read=not args.off)
    else:
        if not args.add and not args.remove:
            raise CLIError("tag: give --add TAGS or --remove TAGS")
        add, remove = _tag_edit(lib, ids, args.add, args.remove)
        label = "tag"
        changed = lib.set_state(ids, label, add_tags=add, remove_tags=remove)
    out.print(Text(f"{label}: {changed} of {len(ids)} papers changed"))
    return EXIT_OK


def _tag_edit(
    lib: Library, ids: list[str], add: list[str], remove: list[str]
) -> tuple[list[str], list[str]]:
    """The tags ``--add`` and ``--remove`` name, read with the editor's syntax (`tui.tags`);
    a ``--remove`` value that is a stored tag as it is (one an older version let in, such as
    ``"to read"`` or ``""``) removes that tag. CLIError for anything that is not a tag."""
    stored = {t for pid in ids for t in lib.raw_state(pid).get("tags", ())}
    try:
        adds = [t for value in add for t in parse_tags(value)]
        removes = []
        for value in remove:
            removes += [value] if value in stored else parse_tags(value)
    except TagError as err:
        raise CLIError(str(err)) from None
    if not adds and not removes:
        raise CLIError("tag: no tag given (an empty --add or --remove)")
    return adds, removes


def cmd_undo(lib: Library, args: argparse.Namespace, out: Console, err: Console) -> int:
    done = lib.undo_change()
    text = f"undone: {describe_undo(lib, done, here=False)}" if done else "nothing to undo"
    out.print(Text(text), soft_wrap=True)
    return EXIT_OK


def cmd_stats(lib: Library, args: argparse.Namespace, out: Console, err: Console) -> int:
    stats = lib.stats()
    if args.json:
        write_json(orjson.dumps(stats, option=orjson.OPT_INDENT_2))
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key in ("library", "papers", "unread", "read", "starred", "tagged", "noted", "undo_steps"):
        value = stats[key]
        shown = printable(value) if isinstance(value, str) else str(value)  # the library's path
        table.add_row(key.replace("_", " "), Text(shown))
    table.add_row(
        "sources", Text(", ".join(f"{badge(k)} ({k}): {v}" for k, v in stats["by_format"].items()))
    )
    tags = ", ".join(f"{clean_line(k)} {v}" for k, v in stats["tags"].items())
    table.add_row("tags", Text(tags or "-"))
    dates = list(stats["by_feed_date"].items())[:7]
    table.add_row("feeds", Text(", ".join(f"{clean_line(k) or 'undated'}: {v}" for k, v in dates)))
    out.print(table)
    return EXIT_OK


def cmd_doctor(db: Path, args: argparse.Namespace, out: Console, err: Console) -> int:
    from .library import doctor

    if args.rebuild:
        out.print(Text(f"{printable(str(db))}: {doctor.rebuild(db)}"))
    findings = doctor.check(db)
    if not findings:
        out.print(Text(f"{printable(str(db))}: healthy"))
        _print_merged(db, out)
        return EXIT_OK
    for f in findings:
        out.print(Text(printable(f"{f.path}: {f.problem}")), soft_wrap=True)
        label = "repair: " if f.repairable else "" if f.path == db else "left alone: "
        out.print(Text(f"  {label}{printable(f.remedy)}", style="dim"), soft_wrap=True)
    if not args.repair:
        if any(f.repairable for f in findings):
            out.print(Text("run `papertui doctor --repair` to fix these"))
        return EXIT_ERROR
    actions = doctor.repair(db)  # LibraryError, changing nothing, if it must refuse
    for action in actions:
        out.print(Text(printable(action)), soft_wrap=True)
    lib = Library.open(db, create=False)
    left = sum(not f.repairable for f in findings)
    note = f"; {left} left alone (listed above)" if left else ""
    starred = lib.counts()["starred"]
    out.print(Text(f"{printable(str(db))}: repaired; {len(lib)} papers, {starred} starred{note}"))
    return EXIT_OK


def _print_merged(db: Path, out: Console) -> None:
    """The papers two machines stored under two ids that a sync made one (not a problem:
    the other id still names the paper in every command)."""
    lib = Library.open(db, create=False)
    try:
        merged = lib.merged_ids()
    finally:
        lib.close()
    if not merged:
        return
    some = ", ".join(f"{other} → {kept}" for other, kept in sorted(merged.items())[:5])
    more = ", …" if len(merged) > 5 else ""
    out.print(
        Text(
            printable(
                f"{_count_of(len(merged), 'paper')} that two machines stored under two ids "
                f"merged into one by sync (either id names it): {some}{more}"
            )
        ),
        soft_wrap=True,
    )


def _count_of(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def cmd_sync(db: Path, args: argparse.Namespace, out: Console, err: Console) -> int:
    from .library import sync

    if args.action is None and args.remote is not None:
        raise CLIError(f"unknown sync action {args.remote!r} (use `papertui sync init REMOTE`)")

    def progress(step: str) -> None:
        err.print(Text(f"sync: {printable(step)}…"), style="dim", soft_wrap=True)

    if args.action == "init":
        lines = sync.init(db, args.remote, progress)
    else:
        lines = sync.sync(db, progress).lines()
    for line in lines:
        out.print(Text(printable(line)), soft_wrap=True)
    return EXIT_OK


def cmd_fetch(
    open_library: Callable[[], Library], args: argparse.Namespace, out: Console, err: Console
) -> int:
    """Fetch the config file's sources into the library, opened (made, if new) only once the
    config is read and names some source."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from . import fetch

    path = Path(args.config) if args.config else fetch.config_path()
    try:
        if not args.config and fetch.write_example(path):
            raise CLIError(
                f"no config file: wrote an example to {path}; edit it to choose your sources "
                "(`papertui config --edit`), then run `papertui fetch` again"
            )
    except OSError as e:
        raise CLIError(f"{path}: cannot be written ({e.strerror})") from None
    try:
        config = fetch.load_config(path)
        since = fetch.parse_since(args.since) if args.since else None
        targets = fetch.plan(config, date.today(), since)
    except (fetch.ConfigError, ValueError) as e:
        raise CLIError(str(e)) from None
    if not targets:
        raise CLIError(f"{path}: [fetch] names no source (arxiv, huggingface or feeds)")
    lib = open_library()
    lib.agent = "papertui fetch"
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("Fetching", total=len(targets))

        def step(number: int, target: fetch.Target) -> None:
            progress.update(task, completed=number, description=printable(target.name))

        outcomes = fetch.fetch(
            lib, targets, pace=config.arxiv_pace, timeout=config.timeout, progress=step
        )
    for outcome in outcomes:
        line = Text(printable(outcome.line))
        if outcome.status == "error":
            err.print(error_line(outcome.line), highlight=False, soft_wrap=True)
        else:
            out.print(line, highlight=False, soft_wrap=True)
    return EXIT_ERROR if any(o.status == "error" for o in outcomes) else EXIT_OK


def cmd_config(args: argparse.Namespace, out: Console, err: Console) -> int:
    from . import fetch

    path = fetch.config_path()
    if args.path:
        out.print(Text(printable(str(path))), soft_wrap=True)
        return EXIT_OK
    try:
        if fetch.write_example(path):
            err.print(Text(f"wrote an example config to {printable(str(path))}"), style="yellow")
    except OSError as e:
        raise CLIError(f"{path}: cannot be written ({e.strerror})") from None
    if args.edit:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        import subprocess

        return subprocess.call([*shlex.split(editor), str(path)])
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise CLIError(f"{path}: cannot be read ({e.strerror})") from None
    sys.stdout.write(clean(text))
    return EXIT_OK


HANDLERS: dict[str, Any] = {
    "import": cmd_import,
    "list": cmd_list,
    "export": cmd_export,
    "star": cmd_state,
    "read": cmd_state,
    "tag": cmd_state,
    "undo": cmd_undo,
    "stats": cmd_stats,
}


def _first_positional(argv: Sequence[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--db":
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None


def _db_path(args: argparse.Namespace) -> Path:
    """The library directory the command names (--db, else $PAPERTUI_DB, else the default)."""
    given = getattr(args, "db", None)
    if given is None:
        return default_db()
    if not given.strip():
        raise LibraryError("--db is blank: give a library directory")
    return Path(given).expanduser()


def _open_library(db: Path, args: argparse.Namespace, *, writes: bool) -> Library:
    """Open ``db``. Only a command that adds papers makes a new library, and only in an
    existing folder (the user data dir's are ours to make) unless --create says so."""
    create = getattr(args, "create", False)
    parents = create or db == user_library()
    return Library.open(db, create=writes or create, parents=parents)


def open_app(
    lib: Library,
    args: argparse.Namespace,
    out: Console,
    err: Console,
    prepainted: Prepaint | None = None,
) -> int:
    """Open the Textual app on ``lib`` (or print the list where no app can run), after
    importing ``args.files``: each is imported or fails on its own; when some fail, the app
    still opens on what was imported, shows the errors, and the exit status is 1. When every
    one fails, the app does not open. ``prepainted``: the frame `tui.start` already drew."""
    errors: list[str] = []
    if args.files:
        reports, errors = import_sources(lib, args.files, out, err)
        print_reports(reports, [], err)
        for e in errors:
            err.print(error_line(e), highlight=False, soft_wrap=True)
        if errors and not reports:
            return EXIT_ERROR
    status = EXIT_ERROR if errors else EXIT_OK
    if not args.list and sys.stdout.isatty():
        from .prepaint import Prepaint

        # The list on screen before Textual is imported (~0.4 s of the start); every way
        # out of here puts the terminal back as it was (`Prepaint.restore`).
        prepaint = prepainted or Prepaint()
        try:
            if prepainted is None:
                prepaint.start(lib)
            return _run_app(lib, errors, out, err, status, prepaint)
        finally:
            prepaint.restore()
    return _print_list(lib, out, err, status)


def _run_app(
    lib: Library, errors: list[str], out: Console, err: Console, status: int, prepaint: Prepaint
) -> int:
    """Run the Textual app on ``lib`` (or print the list when Textual cannot be imported);
    the exit status. The terminal is restored from ``prepaint`` once the app has left."""
    # No garbage collection while the app starts: it allocates a lot and frees little
    # (the app turns the collector back on once its first screen is painted).
    gc.disable()
    try:
        from .app import make_app
    except ImportError:
        gc.enable()
        prepaint.restore()
        return _print_list(lib, out, err, status)
    from .config import config_path
    from .keys import load_keymap

    keymap, keymap_errors = load_keymap(config_path())  # the user's [keys], if any
    app = make_app(library=lib, notices=[*errors, *keymap_errors], keymap=keymap)
    prepaint.hand_over(app)
    app.run()
    prepaint.restore()
    app.left()
    return _after_app(app, err, status)


def _print_list(lib: Library, out: Console, err: Console, status: int) -> int:
    """The view's papers printed, where no terminal app can run; the exit ``status``."""
    ns = argparse.Namespace(
        unread=False,
        starred=False,
        tag=[],
        search="",
        source=None,
        since=None,
        sort="feed_date",
        limit=0,
        json=False,
    )
    cmd_list(lib, ns, out, err)
    return status


def _after_app(app: Any, err: Console, status: int = EXIT_OK) -> int:
    """Once the terminal is restored: rescue any note the library never took to a file of
    its own (`tui.recovery`) and say where (printing short ones too), and say why the app
    stopped; the exit status (``status`` when the app itself ended well)."""
    unsaved = dict(app.unsaved_notes)
    kept = app.rescue_notes() if unsaved else None
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        if unsaved:
            count = "1 note" if len(unsaved) == 1 else f"{len(unsaved)} notes"
            where = f"kept in {printable(str(kept))}" if kept else "no folder would take it"
            err.print(
                Text(f"papertui: error: {count} NOT saved ({app.unsaved_reason}); {where}"),
                soft_wrap=True,
            )
            lines = sum(text.count("\n") + 1 for text in unsaved.values())
            if kept is None or lines <= PRINT_NOTES_UP_TO:
                err.print(Text("the text follows, copy it to keep it"))
                for pid, text in unsaved.items():
                    title = app.library.short_title(pid)
                    err.print(Text(f"--- note of {pid} ({title})"), soft_wrap=True)
                    err.print(Text(clean(text)), soft_wrap=True)
                err.print(Text("--- end of unsaved notes"))
        if app.stopped_by:
            saved = "; the note was not saved" if unsaved else ""
            err.print(Text(f"papertui: stopped by {app.stopped_by}{saved}"))
    if app.return_code:
        return int(app.return_code)
    return EXIT_ERROR if unsaved else status


def warn_unreadable_arrivals(lib: Library, err: Console) -> None:
    """One line on stderr for each other machine's file the library could not read yet
    (left out until it is whole: `Library.unreadable_arrivals`)."""
    for path in lib.unreadable_arrivals():
        err.print(
            Text(
                f"papertui: warning: {printable(path)}: another machine's file, not readable "
                "(cut short while it was being copied?); left out until it is whole; if it "
                "stays so, `papertui doctor --repair`"
            ),
            soft_wrap=True,
        )


def main(argv: Sequence[str] | None = None, early: Early | None = None) -> int:
    """Run the command line ``argv`` (default: the process's); the exit status. ``early``:
    the library `tui.start` opened for this command line (which only opens the app), with
    its first frame drawn."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    command = _first_positional(argv)
    is_command = command in COMMANDS
    parser = build_command_parser() if is_command else build_parser()
    args = parser.parse_args(argv)
    demo_dir: str | None = None
    try:
        check_text_args(args)
        if not is_command and args.demo:
            demo_dir = tempfile.mkdtemp(prefix="papertui-demo-")
            # A throwaway library needs no device id kept in the user data directory.
            os.environ.setdefault("PAPERTUI_DEVICE", "demo")
            args.files = [str(demo_feeds()), *args.files]
            db = Path(demo_dir) / "library"
            err.print(Text(f"demo: a throwaway library in {printable(str(db))}"), style="dim")
        else:
            db = _db_path(args)
        if is_command and args.command == "doctor":
            return cmd_doctor(db, args, out, err)
        if is_command and args.command == "sync":
            return cmd_sync(db, args, out, err)
        if is_command and args.command == "config":
            return cmd_config(args, out, err)
        if is_command and args.command == "fetch":
            fetched: list[Library] = []

            def open_for_fetch() -> Library:
                fetched.append(_open_library(db, args, writes=True))
                return fetched[0]

            status = cmd_fetch(open_for_fetch, args, out, err)
            for lib in fetched:
                warn_unreadable_arrivals(lib, err)
            return status
        if is_command and args.command == "import":
            # The library is opened (and made, if new) only once a source was read.
            def open_for_import() -> Library:
                lib = _open_library(db, args, writes=True)
                lib.agent = "papertui import"
                return lib

            return cmd_import(open_for_import, args, out, err)
        if early is not None and not is_command and not args.files and not args.demo:
            return open_app(early.library, args, out, err, early.prepaint)
        lib = _open_library(db, args, writes=not is_command or args.command in CREATING)
        if is_command:
            lib.agent = f"papertui {args.command}"
            status = HANDLERS[args.command](lib, args, out, err)
            warn_unreadable_arrivals(lib, err)
            return status
        return open_app(lib, args, out, err)
    except (CLIError, LibraryError, QueryError, FeedError) as e:
        err.print(error_line(e), highlight=False, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    finally:
        if demo_dir:
            _keep_rescued_notes(Path(demo_dir) / "library", err)
            shutil.rmtree(demo_dir, ignore_errors=True)


def _keep_rescued_notes(library: Path, err: Console) -> None:
    """Before a throwaway (demo) library goes: move the notes rescued into it to the user
    state folder, and say where."""
    folder = Path(user_state_dir("papertui", appauthor=False)) / "recovered"
    for path in (library / "recovered").glob("*.md"):
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / f"papertui-demo-{path.name}"
            shutil.move(str(path), kept)
            err.print(Text(f"papertui: the unsaved note is kept in {printable(str(kept))}"))


if __name__ == "__main__":
    sys.exit(main())
