"""The keys as one table: every action of the app, its default keys, what it does, its help
section and where it applies (`ACTIONS`). The app's and the list's bindings, the `?` screen
and the command palette are all built from it, so they never disagree, and a user's keymap
(the ``[keys]`` table of the config file, `load_keymap`) remaps any action by its id with
Textual's `App.set_keymap`; the help screen and the palette then show the remapped keys.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding, BindingType
from textual.keys import Keys, _character_to_key, format_key

from .frame import SORT_NAMES, VIEWS, View  # noqa: F401 - (they lived here)


@dataclass(frozen=True)
class Action:
    """One thing the user can do.

    ``id``: the binding id, the name a keymap uses (``toggle_star = "f"``). ``action``: the
    Textual action run. ``keys``: the default keys, Textual key names joined by commas ("" for
    an action reached from the palette only). ``footer``: the footer's short label, "" to keep
    it out of the footer. ``where``: "app" (anywhere but a text box or a dialog: the app takes
    the key first), "list" (moving the list's cursor, when the list has focus), "textual"
    (bound by Textual itself, listed in the help only). ``paper``: refused while typing.
    ``palette``: offered in the command palette."""

    id: str
    action: str
    keys: str
    description: str
    section: str
    footer: str = ""
    where: str = "app"
    paper: bool = True
    palette: bool = True


SECTIONS = ("Move", "Triage", "Find", "Out", "App")

ACTIONS: tuple[Action, ...] = (
    # Move
    Action("list.down", "cursor_down", "j,down", "next paper", "Move", where="list"),
    Action("list.up", "cursor_up", "k,up", "previous paper", "Move", where="list"),
    Action("list.first", "first", "g,home", "first paper", "Move", where="list"),
    Action("list.last", "last", "G,end", "last paper", "Move", where="list"),
    Action("list.page_down", "page_down", "pagedown", "page down", "Move", where="list"),
    Action("list.page_up", "page_up", "pageup", "page up", "Move", where="list"),
    Action("next_unread", "next_unread", "n", "next unread paper", "Move"),
    Action("prev_unread", "prev_unread", "p", "previous unread paper", "Move"),
    Action(
        "pane_next",
        "cycle_pane(1)",
        "tab",
        "next pane: list, detail, note (the search box: /)",
        "Move",
        paper=False,
    ),
    Action(
        "pane_previous",
        "cycle_pane(-1)",
        "shift+tab",
        "previous pane",
        "Move",
        paper=False,
    ),
    # Triage
    Action(
        "read_next",
        "read_next",
        "space",
        "mark read and go to the next unread",
        "Triage",
        footer="Read",
    ),
    Action("toggle_read", "toggle_read", "m", "toggle read / unread", "Triage"),
    Action("toggle_star", "toggle_star", "s", "toggle star", "Triage", footer="Star"),
    Action("edit_tags", "edit_tags", "t", "edit tags (suggests existing tags)", "Triage", "Tags"),
    Action(
        "open_note",
        "open_note",
        "e",
        "open the note (Esc goes back; it saves itself)",
        "Triage",
        footer="Note",
    ),
    Action(
        "enter",
        "enter",
        "enter",
        "open the note; in the search box, search",
        "Triage",
        paper=False,
        palette=False,
    ),
    Action(
        "toggle_select",
        "toggle_select",
        "v",
        "select / unselect and move down, as mutt's t (m s t space then act on the selection)",
        "Triage",
    ),
    Action(
        "mark_all_read",
        "mark_all_read",
        "A",
        "mark everything in this view read (asks first)",
        "Triage",
    ),
    Action(
        "undo", "undo", "u", "undo the last change (bulk changes are one step)", "Triage", "Undo"
    ),
    Action("redo", "redo", "ctrl+r", "redo: take back the last undo", "Triage"),
    Action(
        "escape",
        "escape",
        "escape",
        "clear the selection, then the search; leave the note",
        "Triage",
        paper=False,
        palette=False,
    ),
    # Find
    Action("search", "search", "slash", "search (filters below)", "Find", footer="Search"),
    Action(
        "clear_search", "clear_search", "", "clear the search (Esc in the box)", "Find", paper=False
    ),
    Action("view_inbox", "view('inbox')", "1", "Inbox (unread)", "Find"),
    Action("view_starred", "view('starred')", "2", "Starred", "Find"),
    Action("view_all", "view('all')", "3", "All papers", "Find"),
    Action(
        "view_today",
        "view('today')",
        "4",
        "Today's feed: papers seen in the newest feed date",
        "Find",
    ),
    Action(
        "cycle_sort",
        "cycle_sort",
        "S",
        "cycle the sort (for you: by your stars and skips; relevance while searching)",
        "Find",
    ),
    Action(
        "toggle_language",
        "toggle_language",
        "L",
        "toggle which language comes first in the detail",
        "Find",
    ),
    # Out
    Action("open_page", "open_page", "o", "open the paper's page in the browser", "Out"),
    Action("open_pdf", "open_pdf", "O", "open the PDF", "Out"),
    Action("copy_line", "copy_line", "y", "copy the paper as a Markdown line", "Out"),
    Action("copy_abstract", "copy_abstract", "Y", "copy the abstract", "Out"),
    Action(
        "export", "export", "x", "export the starred papers (Markdown, BibTeX or CSL-JSON)", "Out"
    ),
    Action(
        "fetch",
        "fetch",
        "R",
        "fetch today's papers from your sources (`papertui fetch`)",
        "Out",
    ),
    Action("import", "import", "i", "import a feed file, folder, URL or the clipboard", "Out"),
    Action("reload", "reload", "r", "reload what other papertui processes wrote", "Out"),
    Action("sync", "sync", "P", "sync with your other machines (git: `papertui sync`)", "Out"),
    # App
    Action("help", "help", "question_mark", "this help", "App", footer="Help"),
    Action(
        "stats",
        "stats",
        "number_sign",
        "reading statistics: papers per day by source, read and starred, tags, inbox age",
        "App",
    ),
    Action(
        "messages",
        "messages",
        "exclamation_mark",
        "messages: this session's errors and warnings in full (e.g. every file an import "
        "could not read)",
        "App",
    ),
    Action(
        "command_palette",
        "command_palette",
        "ctrl+p",
        "command palette: every action by name",
        "App",
        where="textual",
        palette=False,
    ),
    Action("quit", "quit_key", "q", "quit (the note is saved)", "App", footer="Quit"),
)

# What the search box takes, for the help screen (the README's "Search language").
SEARCH_FILTERS: tuple[tuple[str, str], ...] = (
    ("words", "titles, authors, abstracts, summaries, tags, notes; `diffus` finds diffusion"),
    ('"a phrase"', "the words in this order"),
    ("-word", "papers without it (also -tag:x …)"),
    ("tag:x", "tagged x"),
    ("is:…", "starred unstarred read unread noted tagged"),
    ("author:x", "an author's name (accents folded: muller finds Müller)"),
    ("source:…", "hf arxiv arxivdaily digest"),
    ("cat:cs.CV", "an arXiv category"),
    ("since: until:", "paper dates, e.g. since:2026-06-01"),
    ("feed:DATE", "seen in the feed of that day"),
)

HELP_NOTES = [
    "A selection (v) is cleared once an action has changed its papers (space m s t); an "
    "action cancelled or refused keeps it; Esc clears it. x exports the starred papers, "
    "selected or not.",
    "Marking papers read (or unstarring, retagging) keeps them in the list until you "
    "switch view, search or sort, or press r; also when the list reloads by itself because "
    "another papertui (e.g. a cron import) wrote.",
    'Remap any key in the config file (`papertui config --path`): [keys] toggle_star = "f".',
]

PAPER_ACTIONS = frozenset(
    a.action.split("(")[0] for a in ACTIONS if a.paper and a.where == "app" and a.keys
)
"""Actions that act on papers: hidden from the footer (and refused) while typing in a text
box or while a dialog is open."""

FIXED = ("enter", "escape")  # Enter and Esc keep their keys: the way out of every box
REMAPPABLE = tuple(a.id for a in ACTIONS if a.where != "textual" and a.keys and a.id not in FIXED)


def _binding(a: Action, action: str) -> Binding:
    return Binding(
        a.keys, action, a.footer or a.description, show=bool(a.footer), id=a.id, priority=True
    )


# Priority: the app takes each key the moment it arrives, so a burst such as "/diffusion" or
# "e" + a sentence lands in the box "/" or "e" just focused. `check_action` hands the key on to
# the focused widget whenever a text box or a dialog should have it instead.
APP_BINDINGS: list[BindingType] = [
    _binding(a, a.action) for a in ACTIONS if a.where == "app" and a.keys
]
"""The app's keys (the triage, find and out actions)."""

LIST_BINDINGS: list[BindingType] = [
    _binding(a, f"list('{a.action}')") for a in ACTIONS if a.where == "list"
]
"""The list's movement keys, taken by the app so they keep their order among the others;
the same ids as the list's own bindings (`list_bindings`), so one keymap entry moves both."""


def list_bindings() -> list[BindingType]:
    """The list widget's own movement bindings (used when the list runs on its own)."""
    return [
        Binding(a.keys, a.action, a.description, show=False, id=a.id)
        for a in ACTIONS
        if a.where == "list"
    ]


# --------------------------------------------------------------------------- shown keys
_SHOWN = {
    "question_mark": "?",
    "slash": "/",
    "down": "↓",
    "up": "↑",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "home": "Home",
    "end": "End",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "shift+tab": "shift+Tab",
    "space": "space",
    "exclamation_mark": "!",
}


def shown_key(key: str) -> str:
    """One Textual key name as the help shows it ("question_mark" → "?", "pagedown" → "PgDn")."""
    return _SHOWN.get(key) or format_key(key)


def keys_of(a: Action, keymap: Mapping[str, str] | None = None) -> str:
    """The keys of ``a`` as shown ("j / ↓"), after ``keymap``; "" for none."""
    keys = (keymap or {}).get(a.id, a.keys)
    return " / ".join(shown_key(k.strip()) for k in keys.split(",") if k.strip())


def action_keys(action_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The keys of the action ``action_id`` as shown ("!"), after ``keymap``; "" for none.
    KeyError for an id that is no action."""
    for a in ACTIONS:
        if a.id == action_id:
            return keys_of(a, keymap)
    raise KeyError(action_id)


HelpRow = tuple[str, str, str]  # section, keys, description


def help_rows(keymap: Mapping[str, str] | None = None) -> list[HelpRow]:
    """(section, keys, description) for the help screen, in `SECTIONS` order, with the keys
    of ``keymap`` where it remaps them, then the search filters."""
    rows = [
        (section, keys_of(a, keymap), a.description)
        for section in SECTIONS
        for a in ACTIONS
        if a.section == section and a.keys  # (an action without a key: the palette's)
    ]
    rows += [("Search filters (/)", example, text) for example, text in SEARCH_FILTERS]
    return rows


@dataclass(frozen=True)
class PaletteEntry:
    """One command of the palette."""

    title: str
    help: str
    action: str


def palette_entries(keymap: Mapping[str, str] | None = None) -> list[PaletteEntry]:
    """Every action for the command palette, with the keys that do it (after ``keymap``)."""
    entries = []
    for a in ACTIONS:
        if not a.palette:
            continue
        keys = keys_of(a, keymap)
        title = a.description[0].upper() + a.description[1:]
        action = f"list:{a.action}" if a.where == "list" else a.action
        entries.append(PaletteEntry(title, f"key: {keys}" if keys else "no key", action))
    return entries


# --------------------------------------------------------------------------- the user's keymap
class KeymapError(ValueError):
    """A ``[keys]`` entry that cannot be used: ``str()`` is one line naming it."""


def key_name(key: str) -> str:
    """The Textual name of one key as a user writes it: "f", "?" (→ "question_mark"),
    "ctrl+s", "pagedown", "F5". KeymapError when it names no key."""
    text = key.strip()
    if not text:
        raise KeymapError("an empty key")
    *mods, base = text.split("+") if len(text) > 1 else [text]
    mods = [m.lower() for m in mods]
    for mod in mods:
        if mod not in ("ctrl", "shift", "alt", "meta", "super", "hyper"):
            raise KeymapError(f"{text!r}: {mod!r} is not a modifier (ctrl, shift, alt)")
    if len(base) == 1:
        if not base.isprintable() or base.isspace():
            raise KeymapError(f"{text!r} is not a key")
        name = base if base.isalnum() else _character_to_key(base)
    else:
        name = base.lower()
        known = {k.value for k in Keys} | set(_SHOWN) | {"space"}
        if name not in known:
            try:
                unicodedata.lookup(name.replace("_", " "))
            except KeyError:
                raise KeymapError(
                    f"{text!r} is not a key name (e.g. f, ?, ctrl+s, pagedown, f5)"
                ) from None
    return "+".join([*mods, name])


def parse_keymap(table: object) -> tuple[dict[str, str], list[str]]:
    """The ``[keys]`` table of the config (action id → a key or a list of keys) as a Textual
    keymap (id → "k1,k2"), and one line per entry that was left out (unknown action, not a
    key, a key that another action keeps). A bad entry costs only itself."""
    if not isinstance(table, dict):
        return {}, ['[keys] must be a table of action = "key" (e.g. toggle_star = "f")']
    keymap: dict[str, str] = {}
    errors: list[str] = []
    for action_id, value in table.items():
        if action_id not in REMAPPABLE:
            near = difflib.get_close_matches(str(action_id), REMAPPABLE, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            errors.append(f"[keys] {action_id!r} is not an action{hint}; `?` in the app lists them")
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            errors.append(f'[keys] {action_id}: expected a key or a list of keys, e.g. "f"')
            continue
        try:
            names = [key_name(v) for v in values]
        except KeymapError as err:
            errors.append(f"[keys] {action_id}: {err}")
            continue
        typed = next((k for k in names if action_id in WHILE_TYPING and typing_key(k)), None)
        if typed is not None:
            errors.append(
                f"[keys] {action_id}: {shown_key(typed)} is a key of the note and the search "
                "box (typing, editing, ^s Save), where this action works too; choose another"
            )
            continue
        keymap[action_id] = ",".join(dict.fromkeys(names))
    return _without_clashes(keymap, errors), errors


WHILE_TYPING = frozenset(a.id for a in ACTIONS if a.where == "app" and not a.paper)
"""Actions the app takes even in the note or the search box (the other app keys wait:
`PAPER_ACTIONS`), so a key they are given must not be one those boxes use."""


def typing_key(name: str) -> bool:
    """Whether the key ``name`` (Textual's) types or edits in the note or the search box: a
    character, or a key of Textual's TextArea and Input, or the note's own (^s Save)."""
    from textual.widgets import Input, TextArea

    from .widgets.notes import Notes

    if (
        len(name) == 1
        or name in ("space", "shift+space")
        or name.startswith("shift+")
        and (len(name) == len("shift+") + 1)
    ):
        return True
    boxes = (*TextArea.BINDINGS, *Input.BINDINGS, *Notes.BINDINGS)
    return any(
        name in (k.strip() for k in b.key.split(",")) for b in boxes if isinstance(b, Binding)
    )


def _without_clashes(keymap: dict[str, str], errors: list[str]) -> dict[str, str]:
    """``keymap`` less the entries whose keys another app-wide action holds after the remap
    (the default's owner keeps the key; each one left out is named in ``errors``)."""
    taken: dict[str, str] = {}
    for a in ACTIONS:
        if a.id in keymap:
            continue
        for k in a.keys.split(","):
            if k:
                taken[k] = a.id
    kept: dict[str, str] = {}
    for action_id, keys in keymap.items():
        clash = next((k for k in keys.split(",") if k in taken), None)
        if clash is not None:
            errors.append(
                f"[keys] {action_id}: {shown_key(clash)} is {taken[clash]}'s key "
                f"(remap {taken[clash]} too, or choose another key)"
            )
            continue
        for k in keys.split(","):
            taken[k] = action_id
        kept[action_id] = keys
    return kept


def load_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    """The user's keymap from the ``[keys]`` table of the config file at ``path`` (see
    `parse_keymap`), and the lines to show for what was left out. No file, or no table: an
    empty keymap and no error; a file that cannot be read: its one-line error."""
    from .config import ConfigError, read_config

    try:
        data = read_config(path)
    except FileNotFoundError:
        return {}, []
    except ConfigError as err:
        return {}, [f"{err} (keys not remapped)"]
    if "keys" not in data:
        return {}, []
    keymap, errors = parse_keymap(data["keys"])
    return keymap, [f"{path}: {e}" for e in errors]
