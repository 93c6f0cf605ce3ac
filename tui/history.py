"""What an undo did, in words: the app's toast after `u` and `papertui undo` say the same."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len

from .library import Library
from .library.state import Undone
from .tags import hash_tags
from .text import ellipsize, papers

TITLE_MIN = 12  # cells of a title a message keeps however little room it has


def made_where(by: str, in_app: bool = False) -> str:
    """Where a change was made, from its recorded ``by`` ("app", "papertui tag" …), as the
    app (``in_app``) or the command line says it."""
    if by == "app":
        return "in another window or an earlier session" if in_app else "in the papertui app"
    if by.startswith("papertui "):
        return f"by `{by}`"
    return "elsewhere"


def local_time(ts: str, now: datetime | None = None) -> str:
    """An ISO time as local "14:02" today, else "2026-06-19 14:02" ("" if unreadable)."""
    try:
        when = datetime.fromisoformat(ts).astimezone()
    except (ValueError, OverflowError):  # (a clock at 9999-12-31 seen from east of UTC)
        return ""
    now = now or datetime.now().astimezone()
    return when.strftime("%H:%M" if when.date() == now.date() else "%Y-%m-%d %H:%M")


def describe_undo(
    lib: Library,
    done: Undone,
    *,
    here: bool,
    in_app: bool = False,
    redo: bool = False,
    width: int | None = None,
) -> str:
    """``star on “Title…”``, ``tag #x on “Title…”`` or ``mark read on 12 papers``; then where
    and when the change was made, unless ``here`` (the caller made it: the app's own changes;
    ``in_app``: the app is asking); then the papers left as they were because a later change
    changed them again, or, for a redo of an undo that had changed nothing, that nothing was
    redone ("its papers are no longer in the library" only when none of them is).

    ``width``: the terminal cells the text should fit in (one line of a toast): the title is
    cut (ending in "…", inside its quotes) until it does, to `TITLE_MIN` cells at the least
    (the text is then longer, but the quoted title, without a space, wraps whole)."""
    what = done.label
    if done.tags_added or done.tags_removed:  # "tag #x", "tag +#x -#y", "tag -#y"
        plus = "+" if done.tags_removed else ""
        what += " " + " ".join(
            p for p in (hash_tags(done.tags_added, plus), hash_tags(done.tags_removed, "-")) if p
        )
    title = ""
    if len(done.ids) == 1:
        text = f"{what} on “"
        title = lib.short_title(done.ids[0])
        after = "”"
    elif done.ids:
        text, after = f"{what} on {papers(len(done.ids))}", ""
    else:
        text, after = f"{what} (its papers are no longer in the library)", ""
    if not here:
        when = local_time(done.ts)
        made = "undone" if redo else "made"  # (a redo takes back an undo: where that was)
        after += f" ({made} {made_where(done.by, in_app)}" + (f", {when}" if when else "") + ")"
    if done.undo_changed_nothing and done.ids:
        after += "; nothing changed, as the undo had changed nothing"
    elif done.kept:
        word = "redone" if redo else "undone"
        if len(done.ids) == 1:
            after += f"; not {word}: changed again since"
        else:
            after += f"; not {word} on {papers(len(done.kept))}: changed again since"
    if title and width is not None:
        room = width - cell_len(text) - cell_len(after)
        title = ellipsize(title, max(room, TITLE_MIN))
    return text + title + after
