"""Notes as edits: the span an edit changed, placing it on a note, undoing it, and merging
two edits of one note so neither is lost. Pure functions over strings; no storage here."""

from __future__ import annotations

import hashlib
import re
from typing import Any


def note_digest(text: str) -> str:
    """A short digest of a note (16 hex digits), to check an edit applies to the right text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _common_prefix(a: str, b: str, limit: int) -> int:
    """Length of the longest common prefix of a and b, at most ``limit`` (C-speed slices)."""
    step, n = 4096, 0
    while n < limit:
        end = min(n + step, limit)
        if a[n:end] == b[n:end]:
            n = end
            continue
        while a[n] == b[n]:
            n += 1
        return n
    return limit


NOTE_CONTEXT = 32  # characters kept on each side of a note edit, to place it without its base
LOST_BASE_MARK = "\n\n--- typed where earlier text is now missing (papertui kept it here): ---\n"


def note_edit(old: str, new: str) -> dict[str, Any]:
    """The edit that turns note ``old`` into ``new``: the one span that changed.

    ``{"at": offset, "cut": text removed there, "put": text inserted, "before": up to
    `NOTE_CONTEXT` characters of ``old`` before it, "after": as many after it, "from": digest
    of old, "to": digest of new}`` (offsets in characters, digests from `note_digest`). Its
    size is that of the edit: typing in a 1 MB note gives an edit of a few dozen characters.
    The context lets `apply_note_edit` place the edit when its base was lost."""
    limit = min(len(old), len(new))
    head = _common_prefix(old, new, limit)
    tail = _common_prefix(old[head:][::-1], new[head:][::-1], limit - head)
    end = len(old) - tail
    return {
        "at": head,
        "cut": old[head:end],
        "put": new[head : len(new) - tail],
        "before": old[max(0, head - NOTE_CONTEXT) : head],
        "after": old[end : end + NOTE_CONTEXT],
        "from": note_digest(old),
        "to": note_digest(new),
    }


def _only(text: str, needle: str) -> int:
    """The offset of ``needle`` in ``text`` when it occurs exactly once, else -1 (twice is
    ambiguous: an edit is never guessed onto one of two look-alike places)."""
    found = text.find(needle)
    if found >= 0 and text.find(needle, found + 1) >= 0:
        return -1
    return found


def apply_note_edit(text: str, edit: dict[str, Any], lost_mark: str = LOST_BASE_MARK) -> str | None:
    """``text`` with the edit applied.

    Exactly, when ``text`` is the note the edit was made on. Otherwise (a change before it was
    lost: a damaged file moved aside by `doctor --repair`) the edit is placed by its context,
    so what was typed is never dropped: where its surrounding text still stands; at the end or
    the start when it was made there; else its text is appended after ``lost_mark``
    (`LOST_BASE_MARK`; a sync conflict's `conflict_mark`). None only for an edit written
    without context (by an earlier version) that does not fit."""
    at, cut, put = edit["at"], edit["cut"], edit["put"]
    if note_digest(text) == edit["from"]:
        return text[:at] + put + text[at + len(cut) :]
    if "before" not in edit:
        return None
    before, after = edit["before"], edit["after"]
    # The edit's place is where its context (one side at least, with what it cut) stands
    # once and only once; the cut text alone is no context ("cat" would match "category").
    for left, right in ((before, after), (before, ""), ("", after)):
        if not (left or right):
            continue
        found = _only(text, left + cut + right)
        if found >= 0:
            start = found + len(left)
            return text[:start] + put + text[start + len(cut) :]
    if not put:
        return text  # a deletion of text that is no longer there
    if not after:
        return text + put  # typed at the end of the note
    if not before:
        return put + text  # typed at its start
    return text + lost_mark + put


def invert_note_edit(edit: dict[str, Any]) -> dict[str, Any]:
    """The edit that undoes ``edit``."""
    inverse = {
        "at": edit["at"],
        "cut": edit["put"],
        "put": edit["cut"],
        "from": edit["to"],
        "to": edit["from"],
    }
    if "before" in edit:  # the text around the edit is the same on both sides of it
        inverse["before"], inverse["after"] = edit["before"], edit["after"]
    return inverse


MERGE_MARK = "\n\n--- also written meanwhile elsewhere (another papertui window), kept: ---\n"


def merge_note(base: str, ours: str, theirs: str) -> str:
    """One note holding both edits of ``base``: ``ours`` and ``theirs`` (another process's).

    Edits of separate parts of the note are both applied; text both typed at the same place
    (both added to the end) is kept theirs first; when the edits overlap, the lines of the
    note they both changed are given as ours, `MERGE_MARK`, theirs, the other lines once:
    nothing either side wrote is lost, and only those lines are doubled."""
    if theirs in (base, ours):
        return ours
    if ours == base:
        return theirs
    a, b = note_edit(base, ours), note_edit(base, theirs)
    a_end, b_end = a["at"] + len(a["cut"]), b["at"] + len(b["cut"])
    # Separate when at least one character neither touched lies between them (as diff3).
    if a_end < b["at"]:
        return base[: a["at"]] + a["put"] + base[a_end : b["at"]] + b["put"] + base[b_end:]
    if b_end < a["at"]:
        return base[: b["at"]] + b["put"] + base[b_end : a["at"]] + a["put"] + base[a_end:]
    if a["at"] == b["at"] and not (a["cut"] or b["cut"]):  # both typed at one place (the end)
        return base[: a["at"]] + b["put"] + a["put"] + base[a["at"] :]
    # Overlapping: the lines around them once, and both versions of the lines they share.
    start, end = min(a["at"], b["at"]), max(a_end, b_end)
    start = base.rfind("\n", 0, start) + 1
    end = len(base) if (stop := base.find("\n", end)) < 0 else stop
    rest = len(base) - end
    ours_part, theirs_part = ours[start : len(ours) - rest], theirs[start : len(theirs) - rest]
    return base[:start] + ours_part + MERGE_MARK + theirs_part + base[end:]


# A note edited on two devices before either saw the other's edit (a sync): both texts are
# kept, the lines both changed given twice around this line, which names both sides.
CONFLICT_HEAD = "--- papertui sync: note conflict."
CONFLICT_MARK = (
    "\n\n" + CONFLICT_HEAD + " Above: as written on {above}. Below: as written on {below}."
    " Both kept: keep what you want and delete this line. ---\n"
)


def conflict_mark(above: str, below: str) -> str:
    """The line put between two devices' versions of the same lines of a note: ``above`` and
    ``below`` say where each was written ("desk at 2026-11-30 08:10 UTC"), as plain text."""
    return CONFLICT_MARK.format(above=above, below=below)


_MARK_LINE = re.compile(
    "(" + re.escape(CONFLICT_MARK.split("{above}")[0]) + "[^\n]*" + re.escape(" ---\n") + ")"
)


def continue_section(note: str, base: str, new: str) -> str | None:
    """``note`` (holding conflict marks) with ``new`` in place of ``base`` when ``base``, the
    text an edit was written from, is exactly one of the texts between its marks: the
    machine that wrote that text went on editing it (the app saves a note while it is being
    typed, so one session of typing is several changes) after another machine's version
    met it. None when ``base`` is not exactly one whole section (then the edit is merged as
    any other, `merge_concurrent`)."""
    parts = _MARK_LINE.split(note)
    if len(parts) < 3 or not base:
        return None
    found = [i for i in range(0, len(parts), 2) if parts[i] == base]
    if len(found) != 1:
        return None
    parts[found[0]] = new
    return "".join(parts)


def merge_concurrent(base: str, ours: str, theirs: str, mark: str) -> tuple[str, bool]:
    """(one note holding both edits of ``base``, whether they met): ``theirs`` is the note as
    it stands, written meanwhile on another device, ``ours`` the edit being applied.

    Edits of separate parts of the note (at least one character neither touched between
    them) are both applied, unmarked. Otherwise the span both changed, widened to whole
    lines (or, when both only inserted at one place, just the two insertions), is given as
    theirs, ``mark`` (`conflict_mark`), ours, and the rest of the note once: nothing either
    side wrote is lost. Deterministic: the same three texts give the same note anywhere."""
    if theirs in (base, ours):
        return ours, False
    if ours == base:
        return theirs, False
    a, b = note_edit(base, ours), note_edit(base, theirs)
    a_end, b_end = a["at"] + len(a["cut"]), b["at"] + len(b["cut"])
    if a_end < b["at"]:
        return base[: a["at"]] + a["put"] + base[a_end : b["at"]] + b["put"] + base[b_end:], False
    if b_end < a["at"]:
        return base[: b["at"]] + b["put"] + base[b_end : a["at"]] + a["put"] + base[a_end:], False
    if a["at"] == b["at"] and not (a["cut"] or b["cut"]):  # both only typed at one place
        at = a["at"]
        return base[:at] + b["put"] + mark + a["put"] + base[at:], True
    start, end = min(a["at"], b["at"]), max(a_end, b_end)
    start = base.rfind("\n", 0, start) + 1
    end = len(base) if (stop := base.find("\n", end)) < 0 else stop
    rest = len(base) - end
    ours_part, theirs_part = ours[start : len(ours) - rest], theirs[start : len(theirs) - rest]
    return base[:start] + theirs_part + mark + ours_part + base[end:], True
