"""The keys as data: bindings, the help screen's table and the palette's entries.

One source for the footer, the `?` screen and the command palette, so they never disagree.
Binding ids make every key remappable with `App.set_keymap`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from .frame import SORT_NAMES, VIEWS, View  # noqa: F401 - (they lived here)
from .widgets.paper_list import PaperList

# Actions that act on papers: hidden from the footer (and refused) while typing in a text box.
PAPER_ACTIONS = {
    "read_next",
    "toggle_read",
    "toggle_star",
    "edit_tags",
    "open_note",
    "toggle_select",
    "mark_all_read",
    "undo",
    "next_unread",
    "prev_unread",
    "open_page",
    "open_pdf",
    "copy_line",
    "copy_abstract",
    "export",
    "import",
    "reload",
    "sync",
    "fetch",
    "search",
    "view",
    "cycle_sort",
    "toggle_language",
    "help",
    "quit_key",
}

APP_BINDINGS: list[BindingType] = [
    Binding("space", "read_next", "Read", id="read_next", tooltip="Mark read, next unread"),
    Binding("m", "toggle_read", "Read/unread", show=False, id="toggle_read"),
    Binding("s", "toggle_star", "Star", id="toggle_star"),
    Binding("t", "edit_tags", "Tags", id="edit_tags"),
    Binding("e", "open_note", "Note", id="open_note"),
    Binding("enter", "enter", "Open note", show=False, id="enter"),
    Binding("v", "toggle_select", "Select", show=False, id="toggle_select"),
    Binding("A", "mark_all_read", "All read", show=False, id="mark_all_read"),
    Binding("u", "undo", "Undo", id="undo"),
    Binding("n", "next_unread", "Next unread", show=False, id="next_unread"),
    Binding("p", "prev_unread", "Prev unread", show=False, id="prev_unread"),
    Binding("slash", "search", "Search", id="search"),
    Binding("1", "view('inbox')", "Inbox", show=False, id="view_inbox"),
    Binding("2", "view('starred')", "Starred", show=False, id="view_starred"),
    Binding("3", "view('all')", "All", show=False, id="view_all"),
    Binding("4", "view('today')", "Today", show=False, id="view_today"),
    Binding("S", "cycle_sort", "Sort", show=False, id="cycle_sort"),
    Binding("L", "toggle_language", "Language", show=False, id="toggle_language"),
    Binding("o", "open_page", "Open", show=False, id="open_page"),
    Binding("O", "open_pdf", "PDF", show=False, id="open_pdf"),
    Binding("y", "copy_line", "Copy", show=False, id="copy_line"),
    Binding("Y", "copy_abstract", "Copy abstract", show=False, id="copy_abstract"),
    Binding("x", "export", "Export", show=False, id="export"),
    Binding("i", "import", "Import", show=False, id="import"),
    Binding("r", "reload", "Reload", show=False, id="reload"),
    Binding("P", "sync", "Sync", show=False, id="sync"),
    Binding("R", "fetch", "Fetch", show=False, id="fetch"),
    Binding("escape", "escape", "Clear", show=False, id="escape"),
    Binding("question_mark", "help", "Help", id="help"),
    Binding("q", "quit_key", "Quit", id="quit"),
]

# Priority: the app takes each key the moment it arrives, so a burst such as "/diffusion" or
# "e" + a sentence lands in the box "/" or "e" just focused. `check_action` hands the key on to
# the focused widget whenever a text box or a dialog should have it instead.
APP_BINDINGS = [
    Binding(b.key, b.action, b.description, show=b.show, id=b.id, tooltip=b.tooltip, priority=True)
    for b in APP_BINDINGS  # type: ignore[union-attr]
]
"""Global keys as data: ids make them remappable with `App.set_keymap`."""

LIST_BINDINGS: list[BindingType] = [
    Binding(
        b.key, f"list('{b.action}')", b.description, show=False, id=f"app.{b.id}", priority=True
    )
    for b in PaperList.BINDINGS  # type: ignore[union-attr]
]
"""The list's movement keys, taken by the app so they keep their order among the others."""

# Help screen and palette: (section, binding id or literal keys, description, action or None).
HELP: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    (
        "Move",
        [
            ("j / ↓   k / ↑", "next / previous paper", "list:cursor_down"),
            ("g / Home   G / End", "first / last paper", "list:first"),
            ("PgDn / PgUp", "page down / up", "list:page_down"),
            ("n / p", "next / previous unread paper", "next_unread"),
            ("Tab / shift+Tab", "move between list, detail and note", None),
        ],
    ),
    (
        "Triage",
        [
            ("space", "mark read and go to the next unread", "read_next"),
            ("m", "toggle read / unread", "toggle_read"),
            ("s", "toggle star", "toggle_star"),
            ("t", "edit tags (suggests existing tags)", "edit_tags"),
            ("e / Enter", "open the note (Esc goes back; it saves itself)", "open_note"),
            ("v", "select / unselect (m s t space then act on the selection)", "toggle_select"),
            ("A", "mark everything in this view read (asks first)", "mark_all_read"),
            ("u", "undo the last change (bulk changes are one step)", "undo"),
            ("Esc", "clear the selection, then the search", "escape"),
        ],
    ),
    (
        "Find",
        [
            ("/", "search: words and tag:x is:starred is:unread author:x", "search"),
            ("", "source:hf cat:cs.CV since:2026-06-01  -word excludes", None),
            ("1", "Inbox (unread)", "view('inbox')"),
            ("2", "Starred", "view('starred')"),
            ("3", "All papers", "view('all')"),
            ("4", "Today's feed: papers seen in the newest feed date", "view('today')"),
            ("S", "cycle the sort; relevance too while searching", "cycle_sort"),
            ("L", "toggle which language comes first in the detail", "toggle_language"),
        ],
    ),
    (
        "Out",
        [
            ("o", "open the paper's page in the browser", "open_page"),
            ("O", "open the PDF", "open_pdf"),
            ("y", "copy the paper as a Markdown line", "copy_line"),
            ("Y", "copy the abstract", "copy_abstract"),
            ("x", "export the starred papers to a Markdown file", "export"),
            ("R", "fetch today's papers from your sources (`papertui fetch`)", "fetch"),
            ("i", "import a feed file, folder or the clipboard", "import"),
            ("r", "reload what other papertui processes wrote", "reload"),
            ("P", "sync with your other machines (git: `papertui sync`)", "sync"),
        ],
    ),
    (
        "App",
        [
            ("?", "this help", "help"),
            ("ctrl+p", "command palette: every action by name", None),
            ("q", "quit (the note is saved)", "quit_key"),
        ],
    ),
]

HELP_NOTES = [
    "Marking papers read keeps them in the list until you switch view or press r.",
    "The list reloads by itself when another papertui (e.g. a cron import) writes.",
]


@dataclass(frozen=True)
class PaletteEntry:
    """One command of the palette."""

    title: str
    help: str
    action: str


def help_rows() -> list[tuple[str, str, str]]:
    """(section, keys, description) for the help screen."""
    return [(section, keys, text) for section, rows in HELP for keys, text, _ in rows]


def palette_entries() -> list[PaletteEntry]:
    """Every action for the command palette, with the key that does it."""
    entries: list[PaletteEntry] = []
    for _section, rows in HELP:
        for keys, text, action in rows:
            if action:
                title = text[0].upper() + text[1:]
                entries.append(PaletteEntry(title, f"key: {keys}", action))
    entries += [
        PaletteEntry("Previous paper", "key: k / ↑", "list:cursor_up"),
        PaletteEntry("Last paper", "key: G / End", "list:last"),
        PaletteEntry("Page up", "key: PgUp", "list:page_up"),
        PaletteEntry("Previous unread paper", "key: p", "prev_unread"),
        PaletteEntry("Clear the search", "key: Esc in the search box", "clear_search"),
    ]
    return entries
