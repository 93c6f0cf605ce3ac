"""The `papertui` command line (click): opens the app, or runs one command on the library.

``papertui [FILE|DIR|URL…]`` opens the app (importing those first); ``papertui COMMAND …``
runs a command (`papertui --help` lists them). A first word that is neither a command nor
an existing path, nor a URL, and is close to a command's name is an unknown command, never
a file. Errors are one line on stderr, ``papertui: error: …``, the user's text shown
escaped (`tui.text.printable`); exit status 1 for a failure, 2 for a command line that
cannot be read, 130 for Ctrl-C.

Opening the app imports only what it needs: `tui.start` runs the app through `tui.launch`
without importing this module (nor click); the importers (urllib, the feed parsers), the
clipboard, the exporter, the doctor and Rich's tables and progress bars are imported by the
commands that use them.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import shlex
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.text import Text

from .feeds import FeedError
from .history import describe_undo
from .launch import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    error_line,
    import_sources,
    open_app,
    print_reports,
    say_interrupted,
    warn_unreadable_arrivals,
)
from .library import SORT_KEYS, ImportReport, Library, LibraryError, QueryError, parse_query
from .library.cache import damage_line
from .models import badge
from .paths import default_db, user_library
from .start import INTERRUPTION_TOLD, say_nothing_imported
from .tags import TagError, hash_tags, parse_tags
from .text import (
    clean,
    clean_line,
    json_safe,
    papers,
    printable,
    readable_tex,
    valid_unicode,
)

if TYPE_CHECKING:
    from .start import Early

__all__ = ["CLIError", "cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])
CREATING = ("import", "fetch")  # the commands that make a library where there is none
MAX_CONTENT_WIDTH = 100


# --------------------------------------------------------------------------- output
def write_json(document: bytes) -> None:
    """Print a JSON document to stdout with the characters a terminal acts on escaped."""
    sys.stdout.write(json_safe(document.decode("utf-8")) + "\n")


@dataclass
class Env:
    """What every command shares: the two consoles and where the library is (``--db`` and
    ``--create``, given before or after the command's name; the later one counts)."""

    out: Console
    err: Console
    db: str | None = None
    create: bool = False
    demo: bool = False
    print_only: bool = False

    def path(self) -> Path:
        """The library directory (--db, else $PAPERTUI_DB, else the default). LibraryError
        for a blank --db."""
        if self.db is None:
            return default_db()
        if not self.db.strip():
            raise LibraryError("--db is blank: give a library directory")
        return Path(self.db).expanduser()

    def open(self, agent: str, *, writes: bool = False) -> Library:
        """Open the library for the command ``agent`` ("papertui star"). Only a command that
        adds papers (``writes``) makes a new library, and only in an existing folder (the user
        data dir's are ours to make) unless --create says so. LibraryError when there is
        none (or it cannot be read)."""
        db = self.path()
        parents = self.create or db == user_library()
        lib = Library.open(db, create=writes or self.create, parents=parents)
        lib.agent = agent
        return lib


pass_env = click.make_pass_decorator(Env)


def _text(flag: str, value: str | None) -> str:
    """``value`` (a text argument) or CLIError when it holds a byte that is not UTF-8.

    Python keeps such a byte of the command line as a lone surrogate (``surrogateescape``),
    which neither the store nor a terminal can write; file names may hold one and are not
    checked."""
    if value is None:
        return ""
    if valid_unicode(value) != value:
        raise CLIError(
            f"{flag} {valid_unicode(value)!r}: not UTF-8 text (a byte that is not a character, "
            "shown as \ufffd; is the terminal set to UTF-8?)"
        )
    return value


# --------------------------------------------------------------------------- types
class Count(click.ParamType):
    """A whole number of 1 or more (``--limit``)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a whole number of 1 or more", param, ctx)
        return number


class OneOf(click.Choice):
    """A choice whose error names what was given and every value it may be."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.choices:
            return value
        self.fail(
            f"invalid choice: {value!r} (choose from {', '.join(map(str, self.choices))})",
            param,
            ctx,
        )


# --------------------------------------------------------------------------- options
def _set(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            setattr(ctx.ensure_object(Env), attr, value)

    return callback


def library_options(f: F) -> F:
    """--db and --create, for the group and every command that opens the library."""
    f = click.option(
        "--create",
        is_flag=True,
        expose_value=False,
        callback=_set("create"),
        help="Make the library (and missing parent folders) if there is none.",
    )(f)
    return click.option(
        "--db",
        metavar="PATH",
        expose_value=False,
        callback=_set("db"),
        help="Library directory (default: $PAPERTUI_DB or the user data dir).",
    )(f)


def app_options(f: F) -> F:
    """--demo (and the hidden --list), for `papertui [FILE…]`."""
    f = click.option(
        "--list",
        "print_only",
        is_flag=True,
        hidden=True,  # print instead of opening the app (used where no terminal app can run)
        expose_value=False,
        callback=_set("print_only"),
    )(f)
    return click.option(
        "--demo",
        is_flag=True,
        expose_value=False,
        callback=_set("demo"),
        help="Open the bundled sample feeds in a throwaway library (never your own).",
    )(f)


def filter_options(f: F) -> F:
    """The filters of `list` and `export` (combined with AND) and --sort."""
    options = [
        click.option("--unread", is_flag=True, help="Only unread papers."),
        click.option("--starred", is_flag=True, help="Only starred papers."),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="TAG",
            help="Has this tag (give it again for more).",
        ),
        click.option(
            "--search",
            "-s",
            default="",
            metavar="QUERY",
            help='Words and filters, e.g. "diffusion author:li cat:cs.CV is:unread".',
        ),
        click.option("--source", metavar="SRC", help="Seen in: hf, arxiv, arxivdaily, digest."),
        click.option("--since", metavar="DATE", help="Feed date on or after YYYY-MM-DD."),
        click.option(
            "--sort",
            type=OneOf(SORT_KEYS),
            metavar="KEY",
            default="feed_date",
            show_default=True,
            help=f"Sort order: {', '.join(SORT_KEYS)}.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _query(
    search: str,
    unread: bool,
    starred: bool,
    tags: Sequence[str],
    source: str | None,
    since: str | None,
) -> str:
    """The query the filter options say (`tui.library.query` syntax)."""
    parts = [_text("--search", search)] if search else []
    if unread:
        parts.append("is:unread")
    if starred:
        parts.append("is:starred")
    # One tag each, as stored (quotes, spaces and all); `#x` is the tag x, as in the editor.
    for t in tags:
        t = _text("--tag", t)
        parts.append(shlex.quote("tag:" + (t[1:] if t.startswith("#") and t[1:] else t)))
    if source is not None:
        parts.append(shlex.quote("source:" + _text("--source", source)))
    if since is not None:
        parts.append(shlex.quote("since:" + _text("--since", since)))
    return " ".join(parts)


def _ranked_sort(query: str, sort: str, env: Env) -> str:
    """``relevance`` ranks by the search words (bm25); with none to rank by, it is the
    for-you order (the model of the reader's triage), said on stderr."""
    if sort != "relevance":
        return sort
    try:
        words = parse_query(query).words
    except QueryError:
        return sort  # (the query's own error is reported where it is run)
    if not words:
        env.err.print(
            Text("papertui: no search words to rank by: --sort relevance orders for you"),
            soft_wrap=True,
        )
        return "foryou"
    return sort


# --------------------------------------------------------------------------- the group
class Papertui(click.Group):
    """The group: a first word that is not a command is a FILE to open the app on, unless
    it is not a path and is close to a command's name (then: unknown command)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if name in self.commands:
            return super().resolve_command(ctx, args)
        if name.startswith("-") and name != "-":
            return super().resolve_command(ctx, args)  # (an option: click's own error)
        shown = [n for n, c in self.commands.items() if not c.hidden]
        close = difflib.get_close_matches(name.lower(), shown, n=1, cutoff=0.6)
        pathlike = "/" in name or os.sep in name or "." in name
        if close and not pathlike:  # (a mistyped command, even where a file has that name)
            also = f"; a file of that name: ./{name}" if os.path.lexists(name) else ""
            raise click.UsageError(f"unknown command {name!r} (did you mean {close[0]!r}?{also})")
        if _is_source(name) or pathlike:  # a file name: the import says "no such file"
            return "open", self.commands["open"], args
        hint = f"did you mean {close[0]!r}?" if close else "`papertui --help` lists them"
        raise click.UsageError(f"unknown command {name!r} ({hint})")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, cmd.get_short_help_str(200))
            for name, cmd in sorted(self.commands.items(), key=lambda item: item[0] == "help")
            if not cmd.hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _is_source(arg: str) -> bool:
    """Whether ``arg`` names something to import: an existing path, stdin (-) or a URL."""
    return arg == "-" or os.path.lexists(arg) or arg.startswith(("http://", "https://"))


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": MAX_CONTENT_WIDTH}


@click.group(
    cls=Papertui,
    invoke_without_command=True,
    context_settings=CONTEXT,
    subcommand_metavar="[FILE]... | COMMAND [ARGS]...",
)
@library_options
@app_options
@click.version_option(package_name="papertui", prog_name="papertui", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> int:
    """A keyboard-first reading list for daily paper feeds.

    Without a command, opens the app, importing any FILEs first (files, folders, - for
    stdin, http(s) URLs). `papertui COMMAND --help` explains each command.
    """
    env = ctx.ensure_object(Env)
    if ctx.invoked_subcommand is None:
        return _open(env, ())
    if (env.demo or env.print_only) and ctx.invoked_subcommand != "open":
        flag = "--demo" if env.demo else "--list"
        raise click.UsageError(f"{flag} opens the app: it takes no command")
    return EXIT_OK


@cli.command("open", hidden=True, context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@library_options
@app_options
@pass_env
def open_command(env: Env, files: tuple[str, ...]) -> int:
    """Open the app, importing FILEs first."""
    return _open(env, files)


def _open(env: Env, files: Sequence[str]) -> int:
    """Open the app (or the demo) on ``files``; the exit status."""
    import shutil

    from .launch import demo_feeds, keep_rescued_notes

    sources = list(files)
    demo_dir: str | None = None
    try:
        if env.demo:
            demo_dir = tempfile.mkdtemp(prefix="papertui-demo-")
            # A throwaway library needs no device id kept in the user data directory.
            os.environ.setdefault("PAPERTUI_DEVICE", "demo")
            # Nor a config file written in the user config folder: `R` without one writes
            # an example and says to edit it; the demo's is its own, gone with it.
            from .config import config_path

            if not config_path().exists():
                os.environ["PAPERTUI_CONFIG"] = str(Path(demo_dir) / "config.toml")
            sources = [str(demo_feeds()), *sources]
            env.db, env.create = str(Path(demo_dir) / "library"), False
            shown = printable(env.db)
            env.err.print(Text(f"demo: a throwaway library in {shown}"), style="dim")
        env.path()  # (a blank --db: said before any file is read)
        return open_app(
            lambda: env.open("papertui", writes=True),
            sources,
            env.out,
            env.err,
            print_only=env.print_only,
        )
    finally:
        if demo_dir:
            keep_rescued_notes(Path(demo_dir) / "library", env.err)
            shutil.rmtree(demo_dir, ignore_errors=True)
            env.err.print(
                Text(
                    "demo: its throwaway library is gone, with what you did in it; "
                    "your own: `papertui import FILE` or `papertui fetch`, then `papertui`"
                ),
                style="dim",
                soft_wrap=True,
            )


@cli.command("help", context_settings=CONTEXT, short_help="Show the help of papertui or a command.")
@click.argument("command", required=False)
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> int:
    """Show the help of papertui, or of COMMAND (as `papertui COMMAND --help`)."""
    group = ctx.parent
    assert group is not None
    if command is None:
        click.echo(group.get_help())
        return EXIT_OK
    found = cli.commands.get(command)
    if found is None or found.hidden:
        close = difflib.get_close_matches(command, list(cli.commands), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise click.UsageError(f"unknown command {command!r}{hint}")
    click.echo(found.get_help(click.Context(found, info_name=command, parent=group)))
    return EXIT_OK


# --------------------------------------------------------------------------- import, fetch
@cli.command(
    "import",
    context_settings=CONTEXT,
    short_help="Import feeds (files, folders, -, URLs, --clipboard).",
)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--clipboard", is_flag=True, help="Import the clipboard's text.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@library_options
@pass_env
def import_command(env: Env, sources: tuple[str, ...], clipboard: bool, as_json: bool) -> int:
    """Import feeds into the library. A SOURCE is a file, a directory (searched
    recursively), - for stdin, or an http(s) URL. The library is made (in an existing
    folder) when there is none and some source was read."""
    wanted = list(sources) + (["--clipboard"] if clipboard else [])
    if not wanted:
        raise CLIError("nothing to import: give a file, a directory, -, a URL or --clipboard")
    # The library is opened (and made, if new) only once a source was read.
    opened: list[Library] = []

    def library() -> Library:
        opened.append(env.open("papertui import", writes=True))
        return opened[0]

    reports, errors = import_sources(library, wanted, env.out, env.err)
    try:
        _report_import(env, reports, errors, opened, as_json)
    except KeyboardInterrupt:  # (the import is stored: the report was cut short)
        say_interrupted(reports, len(reports), env.err)
        raise
    return EXIT_ERROR if errors else EXIT_OK


def _report_import(
    env: Env,
    reports: list[ImportReport],
    errors: list[str],
    opened: list[Library],
    as_json: bool,
) -> None:
    """What `papertui import` prints once the feeds are stored: the reports (or JSON), the
    watch rules' line, the errors and other machines' unreadable files."""
    if as_json:
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
                    "watch_tagged": {k: v for lib in opened for k, v in lib.watch_tagged.items()},
                },
                option=orjson.OPT_INDENT_2,
            )
        )
    else:
        print_reports(reports, env.out)
        _print_watch_line(opened, env.out)
    for e in errors:
        env.err.print(error_line(e), highlight=False, soft_wrap=True)
    for lib in opened:
        warn_unreadable_arrivals(lib, env.err)


@cli.command(
    "fetch",
    context_settings=CONTEXT,
    short_help="Fetch today's papers from the sources in the config file.",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Catch up from YYYY-MM-DD (arXiv through its API, Hugging Face day by day; at most "
    "31 days back).",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="The config file (default: `papertui config --path`).",
)
@library_options
@pass_env
def fetch_command(env: Env, since: str | None, config_file: str | None) -> int:
    """Fetch every source the config file names (arXiv categories, Hugging Face Daily Papers,
    feed URLs) and import what they give: one line per source. A second fetch the same day
    downloads nothing that has not changed. `papertui config` shows the file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from . import fetch
    from .importing import store_feeds

    path = Path(config_file) if config_file else fetch.config_path()
    try:
        if not config_file and fetch.write_example(path):
            raise CLIError(
                f"no config file: wrote an example to {path}; edit it to choose your sources "
                "(`papertui config --edit`), then run `papertui fetch` again"
            )
    except OSError as e:
        raise CLIError(f"{path}: cannot be written ({e.strerror})") from None
    try:
        config = fetch.load_config(path)
        start = fetch.parse_since(_text("--since", since)) if since is not None else None
        targets = fetch.plan(config, date.today(), start)
    except (fetch.ConfigError, ValueError) as e:
        raise CLIError(str(e)) from None
    if not targets:
        raise CLIError(f"{path}: [fetch] names no source (arxiv, huggingface or feeds)")
    lib = env.open("papertui fetch", writes=True)
    finished: list[fetch.Outcome] = []
    under_way: list[fetch.Target] = []  # (the source being fetched, once its store began)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=env.err,
            transient=True,
            disable=not env.err.is_terminal,
        ) as progress:
            task = progress.add_task("Fetching", total=len(targets))

            def step(number: int, target: fetch.Target) -> None:
                progress.update(task, completed=number, description=printable(target.name))
                under_way[:] = []

            def store(feeds: list[Any]) -> tuple[list[ImportReport], list[str]]:
                under_way[:] = targets[len(finished) : len(finished) + 1]
                return store_feeds(lib, feeds)

            outcomes = fetch.fetch(
                lib,
                targets,
                pace=config.arxiv_pace,
                timeout=config.timeout,
                progress=step,
                store=store,
                done=finished.append,
            )
    except KeyboardInterrupt:
        _print_outcomes(env, finished)
        _say_fetch_interrupted(env, lib, finished, under_way, len(targets))
        raise
    _print_outcomes(env, outcomes)
    _print_watch_line([lib], env.out)
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_ERROR if any(o.status == "error" for o in outcomes) else EXIT_OK


def _print_outcomes(env: Env, outcomes: list[Any]) -> None:
    """One line per source fetched (`fetch.Outcome.line`): errors on stderr."""
    for outcome in outcomes:
        if outcome.status == "error":
            env.err.print(error_line(outcome.line), highlight=False, soft_wrap=True)
        else:
            env.out.print(Text(printable(outcome.line)), highlight=False, soft_wrap=True)


def _say_fetch_interrupted(
    env: Env, lib: Library, finished: list[Any], under_way: list[Any], total: int
) -> None:
    """The line a Ctrl-C during `papertui fetch` ends with, on stderr, after the lines of the
    sources ``finished`` before it: whether the source it came during was kept
    (``under_way``: it when its papers were being stored; the library's cache says whether
    they were), and how many of the ``total`` sources were not fetched."""
    parts = ["papertui: interrupted"]
    if under_way and any(o.target == under_way[0] for o in finished):
        under_way = []  # (it had finished, its line printed: seen as "-1 sources not fetched")
    kept_any = any(o.status == "stored" for o in finished)
    left = total - len(finished)
    if under_way:
        name = under_way[0].name
        try:
            kept = lib.kept_imports()
        except LibraryError as e:
            parts.append(f"whether {name} was kept is unknown ({e})")
        else:
            if kept:
                new, merged = sum(r.new for r in kept), sum(r.merged for r in kept)
                parts.append(f"{name} was kept: {new:,} new, {merged:,} merged")
                kept_any, left = True, left - 1
            elif kept_any:
                parts.append(f"{name} was not imported")
    if not kept_any:
        parts.append("nothing was imported (the library is as it was)")
    if left:
        parts.append(f"{left} source{'s' if left != 1 else ''} not fetched")
    if env.err.is_terminal:  # (on a line of its own, not after the ^C the terminal echoed)
        env.err.print()
    env.err.print(Text(printable("; ".join(parts))), soft_wrap=True, highlight=False)
    INTERRUPTION_TOLD[0] = True


def _print_watch_line(libraries: list[Library], console: Console) -> None:
    """The line saying which watch rules tagged how many papers (`watch_line`), if any."""
    from .importing import watch_line

    for lib in libraries:
        if line := watch_line(lib.watch_tagged):
            console.print(Text(printable(line)), highlight=False, soft_wrap=True)


@cli.command(
    "config",
    context_settings=CONTEXT,
    short_help="Print the config file (an example when there is none).",
)
@click.option("--path", "path_only", is_flag=True, help="Print the file's path only.")
@click.option("--edit", is_flag=True, help="Open it in $VISUAL / $EDITOR.")
@pass_env
def config_command(env: Env, path_only: bool, edit: bool) -> int:
    """Print the config file, writing a commented example first when there is none. --path
    prints where it is; --edit opens it in $VISUAL / $EDITOR."""
    from . import fetch

    if path_only and edit:
        raise click.UsageError("--path and --edit cannot be used together")
    path = fetch.config_path()
    if path_only:
        env.out.print(Text(printable(str(path))), soft_wrap=True)
        return EXIT_OK
    # (no editor to run: said before anything is written)
    instead = f"set $EDITOR, or edit {path} yourself"
    if edit and not path.exists():
        instead = f"set $EDITOR, or run `papertui config` (it writes an example to {path})"
    editor = _editor(instead) if edit else []
    try:
        if fetch.write_example(path):
            shown = printable(str(path))
            env.err.print(Text(f"wrote an example config to {shown}"), style="yellow")
    except OSError as e:
        raise CLIError(f"{path}: cannot be written ({e.strerror})") from None
    if edit:
        return _run_editor(editor, path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise CLIError(f"{path}: cannot be read ({e.strerror})") from None
    sys.stdout.write(clean(text))
    return EXIT_OK


# The editors tried, in this order, when neither $VISUAL nor $EDITOR names one (as git does:
# Debian's `editor` alternative first, then the two found nearly everywhere).
FALLBACK_EDITORS = ("editor", "nano", "vi")


def _editor(instead: str) -> list[str]:
    """The user's editor as a command line: $VISUAL, else $EDITOR, else the first of
    `FALLBACK_EDITORS` on $PATH, this last only with a terminal to run it in (standard input
    a tty, $TERM not "dumb"). CLIError, ending in ``instead`` (what the user can do
    without an editor), when the variable is not a command line or no editor can run."""
    # (a blank variable is an unset one: VISUAL=" " falls through to $EDITOR)
    editor = os.environ.get("VISUAL", "").strip() or os.environ.get("EDITOR", "").strip()
    if editor:
        try:
            words = shlex.split(editor)
        except ValueError as e:
            raise CLIError(f"$VISUAL/$EDITOR {editor!r} is not a command line ({e})") from None
        if words:
            return words
    if not sys.stdin.isatty() or os.environ.get("TERM") == "dumb":
        raise CLIError(f"no $VISUAL or $EDITOR set, and no terminal to run an editor in; {instead}")
    import shutil

    for name in FALLBACK_EDITORS:
        if found := shutil.which(name):
            return [found]
    raise CLIError(
        f"no $VISUAL or $EDITOR set, and no {', '.join(FALLBACK_EDITORS)} on $PATH; {instead}"
    )


def _run_editor(command: list[str], path: Path) -> int:
    """Run the editor ``command`` (`_editor`'s) on ``path``; its exit status. CLIError when
    it cannot start."""
    import subprocess

    try:
        return subprocess.call([*command, str(path)])
    except OSError as e:
        raise CLIError(f"cannot run the editor {command[0]!r} ({e.strerror or e})") from None


# --------------------------------------------------------------------------- list, show
def _row(lib: Library, pid: str, date_key: str = "feed_date") -> tuple[str, str, str, str, str]:
    """(marks, id, date, sources, title and tags) of one paper, as plain text; the date is
    the feed's, or the paper's own (``date_key`` "paper_date": "no date" when it has none)."""
    p, s = lib.raw(pid), lib.raw_state(pid)
    marks = ("★" if s.get("starred") else " ") + (" " if s.get("read") else "●")
    badges: list[str] = []
    for src in p.get("sources", []):
        b = badge(src["format"])
        if b not in badges:
            badges.append(b)
    title = clean_line(readable_tex(p.get("title") or p.get("title_zh") or "(untitled)"))
    tags = clean_line(hash_tags(s.get("tags", [])))
    return (
        marks,
        pid,
        p.get(date_key) or ("no date" if date_key == "paper_date" else ""),
        ",".join(badges),
        title + (f"  {tags}" if tags else ""),
    )


def print_list(
    lib: Library, ids: list[str], out: Console, err: Console, sort: str = "feed_date"
) -> None:
    """One line per paper of ``ids`` in fixed columns (marks, id, date, sources, title),
    then the library's counts on stderr (so `papertui list | wc -l` counts papers). The date
    is the sort's: the paper's own when ``sort`` is "paper_date", else the feed's."""
    # One line per paper in fixed columns, the title last: a Rich table measures every cell
    # of every row first (5 s for 8,000 rows); this prints 100,000 rows in about a second.
    date_key = "paper_date" if sort == "paper_date" else "feed_date"
    rows = [_row(lib, pid, date_key) for pid in ids]
    id_w = max([len("id")] + [len(r[1]) for r in rows])
    src_w = max([len("source")] + [len(r[3]) for r in rows])
    column = "paper" if date_key == "paper_date" else "feed"
    header = f"   {'id':<{id_w}} {column:<10} {'source':<{src_w}} title"
    if not out.is_terminal:  # piped: one line a paper, whole titles, no styles, no header
        lines = [f"{m} {i:<{id_w}} {d:<10} {b:<{src_w}} {t}\n" for m, i, d, b, t in rows]
        out.file.write("".join(lines))
    else:
        texts = [Text(header, style="bold")]
        for marks, pid, day, badges, title in rows:
            texts.append(
                Text.assemble(
                    (marks, "yellow"),
                    " ",
                    (pid.ljust(id_w), "cyan"),
                    f" {day:<10} ",
                    (badges.ljust(src_w), "magenta"),
                    " ",
                    title,
                )
            )
        out.print(Text("\n").join(texts), no_wrap=True, overflow="ellipsis", crop=True)
    counts = lib.counts()
    err.print(
        Text(
            f"{len(ids):,} shown · {papers(counts['papers'])}, {counts['unread']:,} unread, "
            f"{counts['starred']:,} starred",
            style="dim",
        )
    )


def full_record(lib: Library, pid: str) -> dict[str, Any]:
    """Everything the library knows of one paper, as `list --json` and `show --json` give
    it: the stored record (titles, authors, dates, categories, links, abstracts, summaries,
    ``sources``: the feeds it was seen in) with ``id``, ``state`` (read, starred, tags, note,
    updated_at) and ``noted`` (whether it has a note)."""
    record = {"id": pid, **lib.record(pid)}
    record.pop("keys", None)
    state = lib.state(pid)
    record["state"] = state.to_dict()
    record["noted"] = bool(state.note)
    return record


def _training_note(env: Env) -> Callable[[int, int], None]:
    """The "for you" training's progress callback (`relevance.rank_library`): says on
    stderr, before the papers' features are first made, that it reads them (once)."""

    def note(done: int, total: int) -> None:
        if done == 0:
            env.err.print(
                Text(
                    f"for you: training; reading {total:,} papers once first "
                    "(later trainings reuse what it makes)"
                ),
                soft_wrap=True,
            )

    return note


@cli.command("list", context_settings=CONTEXT, short_help="List papers (filters, --json).")
@filter_options
@click.option("--limit", type=Count(), metavar="N", help="Show at most N (N ≥ 1; default: all).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print full records as JSON: every field (abstracts, summaries, links), the feeds "
    "each paper was seen in, its state (read, starred, tags, note) and whether it has a note.",
)
@library_options
@pass_env
def list_command(
    env: Env,
    unread: bool,
    starred: bool,
    tags: tuple[str, ...],
    search: str,
    source: str | None,
    since: str | None,
    sort: str,
    limit: int | None,
    as_json: bool,
) -> int:
    """List papers: the filters are combined with AND. On a terminal, one row a paper with
    a header; piped, one plain line a paper (the counts go to stderr)."""
    query = _query(search, unread, starred, tags, source, since)
    sort = _ranked_sort(query, sort, env)
    lib = env.open("papertui list")
    if sort == "foryou" and lib.read_only:  # (no training: it could not be stored)
        from . import relevance

        env.err.print(Text(relevance.order_note(lib)), soft_wrap=True)
    elif sort == "foryou":
        from . import relevance  # (scikit-learn: loaded only for this order)

        seeds, problem = relevance.config_seeds()
        if problem:  # (said whether or not a training is needed: the seeds are not used)
            env.err.print(Text(f"papertui: warning: {problem}"), soft_wrap=True)
        if relevance.stale(lib, seeds):  # (trained again on the triage since the last one)
            ranking = relevance.refresh(lib, seeds, _training_note(env))
            if ranking.reason:
                env.err.print(Text(ranking.reason), soft_wrap=True)
    ids = lib.query(query, sort=sort)
    if limit is not None:
        ids = ids[:limit]
    if as_json:
        write_json(orjson.dumps([full_record(lib, pid) for pid in ids], option=orjson.OPT_INDENT_2))
    else:
        print_list(lib, ids, env.out, env.err, sort=sort)
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_OK


# (label, field) of the one-line fields `show` prints, in order
SHOW_LINES = (
    ("title", "title"),
    ("title (zh)", "title_zh"),
    ("organization", "organization"),
    ("institutions", "institutions"),
    ("categories", "categories"),
    ("keywords", "keywords"),
    ("comments", "comments"),
    ("announced", "announce_type"),
    ("topic", "topic_hit"),
    ("relevance", "relevance"),
    ("upvotes", "upvotes"),
    ("discussion", "num_comments"),
)
SHOW_LINKS = (("abs", "abs_url"), ("pdf", "pdf_url"), ("hf", "hf_url"), ("code", "code_url"))
SHOW_TEXTS = (
    ("abstract", "abstract"),
    ("abstract (zh)", "abstract_zh"),
    ("AI summary", "ai_summary"),
    ("contribution (zh)", "contribution_zh"),
    ("method (zh)", "method_zh"),
    ("findings (zh)", "findings_zh"),
)


def show_text(record: dict[str, Any]) -> str:
    """A `full_record` as text: one ``label: value`` line per field it has, the long texts
    (abstracts, summaries, the note) as paragraphs under their label. Everything from the
    feeds goes through `clean` / `clean_line` (no control characters)."""
    lines: list[str] = []

    def line(label: str, value: object) -> None:
        if value in (None, "", []):
            return
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{label + ':':<14}{clean_line(str(value))}")

    line("id", record["id"])
    if record.get("arxiv_id"):
        version = record.get("arxiv_version")
        line("arXiv", record["arxiv_id"] + (f"v{version}" if version else ""))
    for label, key in SHOW_LINES[:2]:
        line(label, readable_tex(record.get(key) or ""))
    authors = record.get("authors") or []
    count = record.get("author_count")
    more = f" ({count} authors)" if count and count > len(authors) else ""
    if authors:
        line("authors", ", ".join(authors) + more)
    for label, key in SHOW_LINES[2:]:
        line(label, record.get(key))
    dates = [
        f"{what} {record[key]}"
        for what, key in (("paper", "paper_date"), ("feed", "feed_date"), ("added", "added_at"))
        if record.get(key)
    ]
    line("dates", " · ".join(dates))
    for label, key in SHOW_LINKS:
        line(label, record.get(key))
    state = record["state"]
    marks = [
        "starred" if state.get("starred") else "not starred",
        "read" if state.get("read") else "unread",
    ]
    line("state", ", ".join(marks))
    line("tags", hash_tags(state.get("tags", [])) or "-")
    sources = record.get("sources") or []
    if sources:
        lines.append("seen in:")
        for src in sources:
            when = src.get("feed_date") or "undated"
            lines.append("  " + clean_line(f"{badge(src['format'])} ({src['format']}) {when}"))
            lines[-1] += "  " + printable(str(src["origin"]))  # (a file name: shown escaped)
    for label, key in (*SHOW_TEXTS, ("note", None)):
        text = state.get("note") if key is None else readable_tex(record.get(key) or "")
        if text:
            lines += ["", f"{label}:", clean(str(text)).rstrip("\n")]
    return "\n".join(lines) + "\n"


@cli.command(
    "show", context_settings=CONTEXT, short_help="Print one paper in full (--json: as JSON)."
)
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print it as one JSON object.")
@library_options
@pass_env
def show_command(env: Env, ref: str, as_json: bool) -> int:
    """Print one paper in full: every field (titles, authors, dates, categories, comments,
    links, abstract, summaries), the feeds it was seen in, its state (read, starred, tags)
    and its note. ID is a paper id, an arXiv id or URL, or the start of an id."""
    lib = env.open("papertui show")
    pid = lib.resolve(_text("ID", ref))
    record = full_record(lib, pid)
    if as_json:
        write_json(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    else:
        sys.stdout.write(show_text(record))
    return EXIT_OK


# --------------------------------------------------------------------------- note
@cli.command(
    "note",
    context_settings=CONTEXT,
    short_help="Edit a paper's note in $EDITOR (--print, -m TEXT).",
)
@click.argument("ref", metavar="ID")
@click.option("--print", "print_it", is_flag=True, help="Print the note.")
@click.option(
    "--message", "-m", metavar="TEXT", help='Set the note to TEXT without an editor ("" clears it).'
)
@library_options
@pass_env
def note_command(env: Env, ref: str, print_it: bool, message: str | None) -> int:
    """Edit the note of paper ID in $VISUAL (else $EDITOR, else editor, nano or vi, whichever
    is found first, when there is a terminal), on a temporary file; the note is saved when
    the editor exits with status 0 and the text changed. --print prints the note; -m TEXT
    sets it without an editor."""
    if print_it and message is not None:
        raise click.UsageError("--print and -m cannot be used together")
    lib = env.open("papertui note")
    pid = lib.resolve(_text("ID", ref))
    old = lib.state(pid).note
    if print_it:
        if old:
            sys.stdout.write(clean(old).rstrip("\n") + "\n")
        else:
            env.err.print(Text(f"{pid} has no note"))
        return EXIT_OK
    if message is not None:
        return _save_note(lib, pid, old, clean(_text("-m", message)), env)
    editor = _editor(f"give the note with `papertui note {pid} -m TEXT`; nothing was changed")
    fd, name = tempfile.mkstemp(prefix=f"papertui-note-{pid}-", suffix=".md")
    path = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(old + ("\n" if old and not old.endswith("\n") else ""))
    try:
        status = _run_editor(editor, path)
        raw = path.read_bytes()
    except (CLIError, OSError) as e:
        path.unlink(missing_ok=True)
        why = e if isinstance(e, CLIError) else f"{path}: cannot be read ({e.strerror})"
        raise CLIError(f"{why}; the note is unchanged") from None
    try:
        new = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # (kept where it is: its characters are the user's)
        raise CLIError(
            f"{path}: not UTF-8 text (byte {e.start}); the note is unchanged; "
            "your text is kept there: save it as UTF-8 and use `papertui note ID -m`"
        ) from None
    # (an editor's file may hold escapes or control characters: kept out as a paste's are)
    new = clean(valid_unicode(new)).rstrip("\n")
    if new == old.rstrip("\n"):
        path.unlink(missing_ok=True)
        if status != 0:
            raise CLIError(f"{_ended(status)}; the note is unchanged")
        env.out.print(Text(f"note of {pid}: unchanged"))
        return EXIT_OK
    if status != 0:  # (the text stays where the user can take it from)
        raise CLIError(f"{_ended(status)}; the note is unchanged; your text is kept in {path}")
    try:
        _save_note(lib, pid, old, new, env)
    except LibraryError as e:
        raise CLIError(f"{e}; your text is kept in {path}") from None
    path.unlink(missing_ok=True)
    return EXIT_OK


def _ended(status: int) -> str:
    """How the editor ended, for a status that is not 0 (negative: killed by a signal)."""
    if status < 0:
        return f"the editor was killed by signal {-status}"
    return f"the editor exited with status {status}"


def _save_note(lib: Library, pid: str, old: str, new: str, env: Env) -> int:
    if new == old:
        env.out.print(Text(f"note of {pid}: unchanged"))
        return EXIT_OK
    lib.set_state([pid], "edit note", note=new, note_base=old)
    what = "cleared" if not new else "saved"
    env.out.print(Text(f"note of {pid}: {what} ({lib.short_title(pid)})"), soft_wrap=True)
    return EXIT_OK


# --------------------------------------------------------------------------- export
@cli.command(
    "export",
    context_settings=CONTEXT,
    short_help="Export starred papers (Markdown, BibTeX, CSL-JSON).",
)
@filter_options
@click.option(
    "--format",
    "-f",
    "fmt",
    type=OneOf(("markdown", "bibtex", "csl-json")),
    metavar="FORMAT",
    help="markdown, bibtex or csl-json.",
)
@click.option("--all", "every", is_flag=True, help="Every paper, not only starred ones.")
@click.option("--output", "-o", metavar="FILE", help="Write to FILE ('-' for stdout).")
@click.option("--clipboard", is_flag=True, help="Copy to the clipboard.")
@click.option("--title", default="Reading list", show_default=True, help="Heading of the document.")
@library_options
@pass_env
def export_command(
    env: Env,
    unread: bool,
    starred: bool,
    tags: tuple[str, ...],
    search: str,
    source: str | None,
    since: str | None,
    sort: str,
    fmt: str | None,
    every: bool,
    output: str | None,
    clipboard: bool,
    title: str,
) -> int:
    """Export papers: the starred ones, unless --all or a filter (--tag, --search, …) says
    which (add --starred to keep only the starred ones among them). Markdown is
    grouped by tag with notes; BibTeX has arXiv @misc entries; CSL-JSON is what Zotero and
    pandoc read. The format is --format, else the --output file's suffix (.md, .bib, .json;
    .txt or none: Markdown; another is refused). When no paper matches, nothing is written
    (no file, nothing on standard output or the clipboard) and the exit status is 1."""
    from .clipboard import ClipboardError, copy
    from .exporters import exporter_for, render
    from .files import OutputError, write_user_file

    if output == "":
        raise CLIError("export: --output needs a file name (or - for standard output)")
    # The starred papers by default; a filter (or --all) says which papers instead.
    filtered = bool(search or unread or tags or source or since)
    query = _query(search, unread, starred or not (every or filtered), tags, source, since)
    title = _text("--title", title)
    target = Path(output) if output and output != "-" else None
    exporter = exporter_for(fmt, target)
    if fmt is None and target is not None and exporter.name == "markdown":
        suffix = target.suffix.lower()
        if suffix not in MARKDOWN_SUFFIXES:  # (refs.csv: a table was meant, not Markdown)
            raise CLIError(
                f"{printable(str(output))}: {printable(suffix)} is not a format papertui "
                "exports (Markdown .md, BibTeX .bib, CSL-JSON .json); --format markdown "
                "writes Markdown there all the same"
            )
    lib = env.open("papertui export")
    ids = lib.query(query, sort=sort)
    if not ids and target is not None:  # (a mistyped filter must not empty the user's file)
        kept = " (it is as it was)" if target.exists() else ""
        raise CLIError(f"{printable(str(output))}: no papers to export; nothing written{kept}")
    if not ids:  # (`export --tag typo > refs.bib`: the script is told, as with -o)
        which = f" match {printable(query)}" if query else " in the library"
        raise CLIError(f"no papers{which}: nothing exported")
    text = render(exporter, ((lib.get(pid), lib.state(pid)) for pid in ids), title)
    if clipboard:
        try:
            how = copy(text)
        except ClipboardError as e:
            raise CLIError(str(e)) from None
        env.err.print(Text(f"{papers(len(ids))}: {printable(how)}"))
    if target is not None:
        try:
            written = write_user_file(target, text.encode("utf-8"))
        except OutputError as e:
            raise CLIError(str(e)) from None
        where = printable(str(output))
        if target.is_symlink():
            where += f" (a link to {printable(str(written))})"
        env.err.print(Text(f"{papers(len(ids))} exported to {where} ({exporter.name})"))
    elif not clipboard or output == "-":
        sys.stdout.write(text)
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_OK


# --------------------------------------------------------------------------- star, read, tag
def _ids(lib: Library, refs: Sequence[str]) -> list[str]:
    """The paper ids ``refs`` name, each once (in the order given). LibraryError for a ref
    that names no paper or several."""
    return list(dict.fromkeys(lib.resolve(_text("ID", r)) for r in refs))


def _changed(env: Env, lib: Library, label: str, changed: int, ids: list[str]) -> int:
    env.out.print(Text(f"{label}: {changed} of {papers(len(ids))} changed"))
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_OK


ID_HELP = "Each ID is a paper id, an arXiv id or URL, or the start of an id."


@cli.command("star", context_settings=CONTEXT, short_help="Star papers (--off: unstar).")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option("--off", is_flag=True, help="Unstar.")
@library_options
@pass_env
def star_command(env: Env, refs: tuple[str, ...], off: bool) -> int:
    """Star papers. Each ID is a paper id, an arXiv id or URL, or the start of an id."""
    lib = env.open("papertui star")
    ids = _ids(lib, refs)
    label = "unstar" if off else "star"
    return _changed(env, lib, label, lib.set_state(ids, label, starred=not off), ids)


@cli.command("read", context_settings=CONTEXT, short_help="Mark papers read (--off: unread).")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option("--off", is_flag=True, help="Mark unread.")
@library_options
@pass_env
def read_command(env: Env, refs: tuple[str, ...], off: bool) -> int:
    """Mark papers read. Each ID is a paper id, an arXiv id or URL, or the start of an id."""
    lib = env.open("papertui read")
    ids = _ids(lib, refs)
    label = "mark unread" if off else "mark read"
    return _changed(env, lib, label, lib.set_state(ids, label, read=not off), ids)


@cli.command("tag", context_settings=CONTEXT, short_help="Add or remove tags.")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option("--add", "-a", multiple=True, metavar="TAGS", help="Add these tags.")
@click.option("--remove", "-r", multiple=True, metavar="TAGS", help="Remove these tags.")
@library_options
@pass_env
def tag_command(
    env: Env, refs: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...]
) -> int:
    """Add or remove tags. TAGS is written as in the app's tag editor: tags separated by
    commas or spaces, "double quotes" around a tag that holds a space, a comma or a quote or
    starts with #; a leading # is dropped (#x is the tag x). Tags cannot be empty or hold
    control characters. --remove also takes a stored tag as it is."""
    if not add and not remove:
        raise CLIError("tag: give --add TAGS or --remove TAGS")
    adds = [_text("--add", t) for t in add]
    removes = [_text("--remove", t) for t in remove]
    lib = env.open("papertui tag")
    ids = _ids(lib, refs)
    plus, minus = _tag_edit(lib, ids, adds, removes)
    changed = lib.set_state(ids, "tag", add_tags=plus, remove_tags=minus)
    return _changed(env, lib, "tag", changed, ids)


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


# --------------------------------------------------------------------------- undo, stats
@cli.command("undo", context_settings=CONTEXT, short_help="Undo the last change.")
@library_options
@pass_env
def undo_command(env: Env) -> int:
    """Undo the last change (of this machine first)."""
    return _take_back(env, redo=False)


@cli.command("redo", context_settings=CONTEXT, short_help="Take back the last undo.")
@library_options
@pass_env
def redo_command(env: Env) -> int:
    """Take back the last undo of this machine (a note an undo emptied gets its text back);
    a change made since the undo ends what can be redone."""
    return _take_back(env, redo=True)


def _take_back(env: Env, redo: bool) -> int:
    """`papertui undo` / `papertui redo`: one step taken back, said as the app says it."""
    verb = "redo" if redo else "undo"
    lib = env.open(f"papertui {verb}")
    done = lib.redo_change() if redo else lib.undo_change()
    if done is None:
        text = f"nothing to {verb}"
    else:
        done_word = "redone" if redo else "undone"
        text = f"{done_word}: " + describe_undo(lib, done, here=False, redo=redo)
    env.out.print(Text(text), soft_wrap=True)
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_OK


STATS_TAGS = 20  # tags `papertui stats` names, the most used first


@cli.command("stats", context_settings=CONTEXT, short_help="Library statistics (--json, --plot).")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.option(
    "--plot",
    is_flag=True,
    help="Draw the reading as plots, as the app's # screen does (papers per day by source, "
    "read and starred per day, top tags, the inbox's age).",
)
@library_options
@pass_env
def stats_command(env: Env, as_json: bool, plot: bool) -> int:
    """Library statistics: counts, sources, tags and the latest feed dates; --plot draws
    the reading over the last 90 days in the terminal."""
    if plot and as_json:
        raise click.UsageError("stats: --json prints the figures, --plot draws them: give one")
    lib = env.open("papertui stats")
    if plot:
        import shutil

        from .stats import render_plot  # (plotext is loaded only here)

        size = shutil.get_terminal_size((120, 40))  # (bounded: COLUMNS=100000 took minutes)
        size = os.terminal_size((min(size.columns, 400), min(size.lines, 200)))
        color = env.out.is_terminal and "NO_COLOR" not in os.environ
        text = render_plot(lib, size.columns, max(size.lines - 1, 24), color=color)
        sys.stdout.write(text)
        warn_unreadable_arrivals(lib, env.err)
        return EXIT_OK
    stats = lib.stats()
    if as_json:
        write_json(orjson.dumps(stats, option=orjson.OPT_INDENT_2))
        return EXIT_OK
    from .tags import format_tag

    rows: list[tuple[str, str]] = []
    for key in ("library", "papers", "unread", "read", "starred", "tagged", "noted", "undo_steps"):
        value = stats[key]
        shown = printable(value) if isinstance(value, str) else f"{value:,}"  # (the path)
        rows.append((key.replace("_", " "), shown))
    by_format = ", ".join(f"{badge(k)} ({k}): {v:,}" for k, v in stats["by_format"].items())
    rows.append(("sources", by_format or "-"))
    by_count = sorted(stats["tags"].items(), key=lambda kv: (-kv[1], kv[0].casefold()))
    # (each tag as the tag editor writes it: "to read" 2, not to read 2; "a, b" 1, not a, b 1)
    tags = ", ".join(f"{format_tag(k)} {v:,}" for k, v in by_count[:STATS_TAGS])
    if len(by_count) > STATS_TAGS:  # (a line, not a page: --json has them all)
        tags += f" … and {len(by_count) - STATS_TAGS:,} more (--json lists them all)"
    rows.append(("tags", tags or "-"))
    dates = list(stats["by_feed_date"].items())[:7]
    feeds = ", ".join(f"{clean_line(k) or 'undated'}: {v:,}" for k, v in dates)
    rows.append(("feeds", feeds or "-"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:  # (no padding after the value: `stats | cat -A` ends at it)
        env.out.print(Text.assemble((key.ljust(width), "bold"), "  ", value), soft_wrap=True)
    warn_unreadable_arrivals(lib, env.err)
    return EXIT_OK


# --------------------------------------------------------------------------- doctor, sync
@cli.command(
    "doctor",
    context_settings=CONTEXT,
    short_help="Check the library's files (--repair fixes them).",
)
@click.option("--repair", is_flag=True, help="Fix what was found.")
@click.option("--rebuild", is_flag=True, help="Rebuild the cache from the library's files.")
@library_options
@pass_env
def doctor_command(env: Env, repair: bool, rebuild: bool) -> int:
    """Check every file of the library. With --repair, damaged files are moved to
    quarantine/ (never deleted) and the cache is rebuilt from the rest. With --rebuild, the
    cache (a database derived from the library's files) is rebuilt."""
    from .library import doctor

    db, out = env.path(), env.out
    if rebuild:
        out.print(Text(f"{printable(str(db))}: {doctor.rebuild(db)}"))
    findings = doctor.check(db)
    if len(findings) == 1 and findings[0].path == db and findings[0].remedy == "nothing to do":
        raise CLIError(f"{db}: {findings[0].problem}")  # (no library there: nothing to check)
    if not findings:
        out.print(Text(f"{printable(str(db))}: healthy"))
        _print_merged(db, out)
        return EXIT_OK
    for f in findings:
        out.print(Text(printable(f"{f.path}: {f.problem}")), soft_wrap=True)
        remedy = f.remedy.removeprefix("none: ")  # (nothing papertui can do: what you can)
        label = "repair: " if f.repairable else "" if f.path == db else "left alone; "
        out.print(Text(f"  {label}{printable(remedy)}", style="dim"), soft_wrap=True)
    if not repair:
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
    out.print(Text(f"{printable(str(db))}: repaired; {papers(len(lib))}, {starred} starred{note}"))
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
                f"{papers(len(merged))} that two machines stored under two ids "
                f"merged into one by sync (either id names it): {some}{more}"
            )
        ),
        soft_wrap=True,
    )


@cli.command(
    "sync",
    context_settings=CONTEXT,
    short_help="Share the library between machines through git.",
)
@click.argument("action", required=False, type=OneOf(("init",)), metavar="[init]")
@click.argument("remote", required=False, metavar="[REMOTE]")
@library_options
@pass_env
def sync_command(env: Env, action: str | None, remote: str | None) -> int:
    """`papertui sync init [REMOTE]` makes the library a git repository (or clones the
    library at REMOTE into a new --db folder) and joins it with REMOTE; `papertui sync`
    commits this machine's changes, pulls and takes in the other machines', and pushes."""
    from .library import sync

    db, out, err = env.path(), env.out, env.err

    def progress(step: str) -> None:
        err.print(Text(f"sync: {printable(step)}…"), style="dim", soft_wrap=True)

    if action == "init":
        lines = sync.init(db, remote, progress)
    else:
        lines = sync.sync(db, progress).lines()
    for line in lines:
        out.print(Text(printable(line)), soft_wrap=True)
    problems = _watch_synced(db, out)
    for line in problems:
        err.print(error_line(line), highlight=False, soft_wrap=True)
    return EXIT_OK


def _watch_synced(db: Path, out: Console) -> list[str]:
    """Apply the watch rules to the papers a sync brought in (`tui.importing.watch_new`),
    as an import does, and say what they tagged: the one-line problems met."""
    from .importing import watch_new

    try:
        lib = Library.open(db, create=False)
    except LibraryError as error:
        return [f"watch rules not applied: {error}"]
    try:
        problems = watch_new(lib, [])
        _print_watch_line([lib], out)
        return problems
    finally:
        lib.close()


# --------------------------------------------------------------------------- main
def _usage_message(error: click.ClickException) -> str:
    """A click usage error as one line (click's may hold a newline)."""
    return " ".join(error.format_message().split())


# The --output suffixes Markdown is written to without --format (a .csv is refused: a table was
# meant, and Markdown in it would be a surprise).
MARKDOWN_SUFFIXES = frozenset({"", ".md", ".markdown", ".txt", ".text"})


# Failed writes that say the output's disk cannot take it (not a bug to show as a traceback).
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def main(argv: Sequence[str] | None = None, early: Early | None = None) -> int:
    """Run the command line ``argv`` (default: the process's); the exit status. ``early``:
    the library `tui.start` opened for this command line (which only opens the app), with
    its first frame drawn."""
    if early is not None:
        from .launch import run_early

        return run_early(early)
    args = list(sys.argv[1:] if argv is None else argv)
    env = Env(Console(highlight=False), Console(stderr=True, highlight=False))
    try:
        status = cli.main(args, prog_name="papertui", standalone_mode=False, obj=env)
        sys.stdout.flush()  # (here, where a full disk under it is reported, not at exit)
    except OSError as e:
        if e.filename is not None or e.errno not in _OUTPUT_ERRNOS:
            raise
        # A write to standard output failed (a full disk or quota under `> file`): one line;
        # what is still buffered goes nowhere, so the interpreter's exit does not retry it.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        env.err.print(error_line(f"standard output: cannot write it ({e.strerror})"))
        return EXIT_ERROR
    except click.UsageError as e:
        env.err.print(error_line(_usage_message(e)), highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except click.ClickException as e:
        env.err.print(error_line(_usage_message(e)), highlight=False, soft_wrap=True)
        return e.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        say_nothing_imported(args)  # (unless the command said what it kept)
        return EXIT_INTERRUPTED
    except (CLIError, LibraryError, QueryError, FeedError) as e:
        env.err.print(error_line(e), highlight=False, soft_wrap=True)
        return EXIT_ERROR
    except sqlite3.DatabaseError as e:
        # The cache's database failed under a query: a page of it damaged on the disk (its
        # header was fine, so opening it did not see it), or its disk failing. It is derived:
        # one line (it was a traceback), and what rebuilds it.
        message = damage_line(e) or f"the library's cache cannot be used ({e})"
        env.err.print(error_line(message), highlight=False, soft_wrap=True)
        return EXIT_ERROR
    return status if isinstance(status, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
