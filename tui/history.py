"""What an undo did, in words: the app's toast after `u` and `papertui undo` say the same."""

from __future__ import annotations

from datetime import datetime

from .library import Library
from .library.state import Undone
from .tags import hash_tags
from .text import papers


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
    lib: Library, done: Undone, *, here: bool, in_app: bool = False, redo: bool = False
) -> str:
    """``star on “Title…”``, ``tag #x on “Title…”`` or ``mark read on 12 papers``; then where
    and when the change was made, unless ``here`` (the caller made it: the app's own changes;
    ``in_app``: the app is asking); then the papers left as they were because a later change
    changed them again."""
    what = done.label
    if done.tags_added or done.tags_removed:  # "tag #x", "tag +#x -#y", "tag -#y"
        plus = "+" if done.tags_removed else ""
        what += " " + " ".join(
            p for p in (hash_tags(done.tags_added, plus), hash_tags(done.tags_removed, "-")) if p
        )
    if len(done.ids) == 1:
        text = f"{what} on “{lib.short_title(done.ids[0])}”"
    elif done.ids:
        text = f"{what} on {papers(len(done.ids))}"
    else:
        text = f"{what} (its papers are no longer in the library)"
    if not here:
        when = local_time(done.ts)
        made = "undone" if redo else "made"  # (a redo takes back an undo: where that was)
        text += f" ({made} {made_where(done.by, in_app)}" + (f", {when}" if when else "") + ")"
    if done.kept:
        if len(done.ids) == 1:
            text += "; not undone: changed again since"
        else:
            text += f"; not undone on {papers(len(done.kept))}: changed again since"
    return text
