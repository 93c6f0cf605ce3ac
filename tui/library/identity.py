"""When two records are the same paper, and how their fields are merged.

Identity (`same_paper`; FORMATS.md, "Identity"). Texts are compared normalised (case,
whitespace, punctuation, LaTeX and accents -- TeX or Unicode -- folded: `tui.text.normalise`).

1. Records whose arXiv ids agree (version ignored) are the same paper; records whose ids
   differ never are, whatever else they share.
2. Otherwise (an id on one side at most), they are the same paper when their *whole* English
   abstracts agree (at least ``MIN_ABSTRACT`` characters, neither visibly cut), unless
   their titles differ and their authors have no name in common (`other_paper`: a site's
   placeholder "abstract not available …" written for every paper).
3. A prefix counts only when one abstract is visibly cut -- shorter and a prefix of the other,
   or ending in an ellipsis (``...``, ``…``) with what precedes it a prefix of the other --
   *and* the full English titles agree.
4. A title match counts only when nothing contradicts it: with both abstracts present and
   different (rule 3 aside) they are two papers. A title shorter than ``MIN_TITLE`` characters
   never decides, nor does a shared short name before a colon (whole titles are compared).

Lookups stay indexed: `paper_keys` gives the keys a paper is filed under (``arxiv:ID``,
``text:`` a digest of the whole abstract, ``title:`` a digest of the title), and an incoming
paper is checked by rules 1-4 only against the papers filed under its own keys -- and of
those, when it has an id, only the ones without; when many papers share a title, only the
ones whose abstracts could fit (`Crowd`). Libraries written before these rules hold ``abs:``
keys (a digest of the abstract's first 300 characters) and title keys from before accents
were folded; `lookup_keys` adds those to an incoming paper's keys so such papers are still
found, and rules 1-4 decide: old libraries open and match without being rewritten.

Merging (`merge_into`), field by field. Where one value is better it wins whatever the
import order; between equally good values the one held first stays.

- ``authors``: the longer list (a full list beats a listing's or a digest's "et al." list);
  between lists of the same length, a newer arXiv version's, else one in Unicode over one
  with TeX escapes (``M\\"uller``).
- ``author_count`` (a total a feed states, e.g. 3 shown + 2,912 "not shown" = 2,915): the
  largest stated; never derived from a list's length.
- ``title``, ``abstract``, ``comments``, ``announce_type``: a newer arXiv version's value
  replaces the held one (so a withdrawal notice is stored), unless it is a visibly cut copy
  of the held text (it ends in an ellipsis); a shorter text is no cut copy of a newer
  version. A replacement (``vN`` of 2 or more, or a ``replace`` whose feed names no number)
  is newer than a ``new`` or ``cross`` (v1) or a feed that says nothing (Hugging Face,
  digests), which never replaces text; between replacements the later announcement wins
  (then the higher number), so a withdrawal announced after v3 stays.
- every text field (titles, abstracts, comments, summaries and institutions, in either
  language): otherwise the more complete text -- the longer one when the held one is a
  visibly cut copy of it (a truncated download) -- else the one held. A title counts as cut
  only when it ends in an ellipsis ("Feature Caching" is not a cut "Feature Caching II");
  so does any text when the copy is of a known older version (a lower vN, or a ``new`` after
  a ``replace``), which thus never undoes a newer version's text.
- ``versions``: every (announce type, version number, feed date) seen, oldest version first:
  the paper's announcement history. ``arxiv_version``: the highest seen.
- ``upvotes``, ``num_comments``, ``relevance``: the largest.
- ``categories``, ``keywords``: the union, in first-seen order.
- ``feed_date``, ``paper_date``: the earliest (when a feed first carried the paper; when it
  was first announced or submitted).
- any other field (the arXiv id, URLs): the first non-empty one.
- ``sources``: each feed once.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import re
import unicodedata
from collections.abc import Container, Iterable, Iterator
from typing import Any

from ..text import normalise

MIN_ABSTRACT = 80  # normalised characters: shorter abstracts ("TBA") never decide alone
MIN_TITLE = 12
LEGACY_PREFIX = 300  # what the pre-rules ``abs:`` keys hashed
ELLIPSES = ("...", "…", "…]", "...]", "…)", "...)")

_MAX_FIELDS = ("upvotes", "num_comments", "author_count", "relevance", "arxiv_version")
_UNION_FIELDS = ("categories", "keywords")
# Text a newer arXiv version replaces.
_VERSIONED = ("title", "abstract", "comments", "announce_type")
# Text where a complete copy beats a cut one.
_TEXT_FIELDS = frozenset(
    (
        "title title_zh abstract abstract_zh contribution_zh method_zh findings_zh ai_summary "
        "topic_hit institutions comments organization"
    ).split()
)
# What an entry without an id, a usable abstract or title is recognised by when seen again.
_ENTRY_FIELDS = ("title", "title_zh", "abstract", "abstract_zh", "authors", "organization")
_NON_WORD = re.compile(r"[\W_]+")  # (for _normalise_v1)
_NAME_SPLIT = re.compile(r"[\s,.\-]+")
_ID_BASES = ("arxiv:", "abs:", "title:", "text:", "entry:")
_TITLES = ("title", "title_zh")  # "X" is a title of its own, not a cut "X II"
_UPDATED = ("替换", "更新")  # a replacement, in a Chinese feed's status
_NOT_MERGED = frozenset(("id", "keys", "sources", "added_at", "line", "versions"))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def is_cut(text: str) -> bool:
    """True when ``text`` visibly stops short: it ends in an ellipsis (``...`` or ``…``,
    possibly in brackets)."""
    return text.rstrip().endswith(ELLIPSES)


def paper_keys(paper: dict[str, Any]) -> list[str]:
    """The keys a paper record is filed under, strongest first.

    ``arxiv:<id>``; ``text:<digest>`` of the whole normalised abstract (only when it is at
    least ``MIN_ABSTRACT`` characters and not visibly cut); ``title:<digest>`` of the
    normalised title (at least ``MIN_TITLE`` characters); for an entry with none of these
    (a Chinese title and a short abstract), ``entry:<digest>`` of all its texts, so the same
    entry imported again is known."""
    return _keys(paper, legacy=False)[0]


def lookup_keys(paper: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(the keys to file an incoming paper under, the keys to look it up by): `paper_keys`,
    and those followed by the keys papertui filed papers under before these rules, to find
    such papers (never stored again): ``abs:``, a digest of the abstract's first 300
    normalised characters, and the title's key as it was before accents were folded, where
    that differs."""
    keys, legacy = _keys(paper, legacy=True)
    return keys, keys + legacy


# The prefix of the lookup keys of abstracts' openings (`lookup_keys`): papers were filed
# under them before the identity rules; the ids of papers with one are still made from it.
OLD_ABSTRACT = "abs:"


def _keys(paper: dict[str, Any], legacy: bool) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    if paper.get("arxiv_id"):
        keys.append("arxiv:" + paper["arxiv_id"])
    raw = paper.get("abstract") or ""
    abstract = normalise(raw)
    if len(abstract) >= MIN_ABSTRACT and not is_cut(raw):
        keys.append("text:" + _digest(abstract))
    raw_title = paper.get("title") or ""
    title = normalise(raw_title)
    if len(title) >= MIN_TITLE:
        keys.append("title:" + _digest(title))
    if not keys:  # nothing identifies it: only the same entry again is the same paper
        content = "\n".join(normalise(str(paper.get(f) or "")) for f in _ENTRY_FIELDS)
        if content.strip():
            keys.append("entry:" + _digest(content))
    old_keys: list[str] = []
    if legacy:
        if not raw[:1000].isascii():  # (ASCII normalises as it always did)
            abstract = _normalise_v1(raw[:1000])
        if len(abstract) >= MIN_ABSTRACT:
            old_keys.append(OLD_ABSTRACT + _digest(abstract[:LEGACY_PREFIX]))
        if not raw_title.isascii():
            old = _normalise_v1(raw_title)
            if old != title and len(old) >= MIN_TITLE:
                old_keys.append("title:" + _digest(old))
    return keys, old_keys


def _normalise_v1(text: str) -> str:
    """`normalise` as papertui had it before accents were folded: its keys are stored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return normalise(folded) if folded.isascii() else _NON_WORD.sub("", folded)


def new_id(
    paper: dict[str, Any], keys: list[str], taken: Container[str], digest: str | None = None
) -> str:
    """A short stable id: the arXiv id when there is one, else ``p`` + a hash of its strongest
    key in the order papertui has always used (arXiv id, abstract opening, title; pass the
    lookup keys from `lookup_keys`), so ids do not depend on the version. ``taken``: the ids
    in use (``in``); ``digest``: `id_digest` of the paper when known. `id_choices` gives the
    ids it tries first."""
    if paper.get("arxiv_id") and paper["arxiv_id"] not in taken:
        return paper["arxiv_id"]
    digest = digest or id_digest(paper, keys)
    for length in range(8, 41):
        candidate = "p" + digest[:length]
        if candidate not in taken:
            return candidate
    # More than 33 different papers filed under one strongest key (abstracts that agree for
    # their first 300 characters, an old library's ``abs:`` key): "could not allocate a
    # paper id" cost the whole feed. Then the digest of the key and a count.
    for n in itertools.count(1):
        candidate = "p" + hashlib.sha1(f"{digest}/{n}".encode()).hexdigest()[:8]
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def id_choices(paper: dict[str, Any], digest: str) -> list[str]:
    """The ids `new_id` tries first for ``paper`` of `id_digest` ``digest`` (its arXiv id,
    then the digest's first 8 hex digits): asking which of them are taken for a whole import
    is one database query."""
    first = "p" + digest[:8]
    return [paper["arxiv_id"], first] if paper.get("arxiv_id") else [first]


def id_digest(paper: dict[str, Any], keys: list[str]) -> str:
    """The hash (hex) `new_id` makes a paper's id of: of its strongest key (``keys``: its
    lookup keys), else of the whole record."""
    for prefix in _ID_BASES:
        for key in keys:
            if key.startswith(prefix):
                return hashlib.sha1(key.encode("utf-8")).hexdigest()
    return hashlib.sha1(repr(sorted(paper.items())).encode("utf-8")).hexdigest()


def compatible(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """False when both records carry arXiv ids and they differ (rule 1): never one paper."""
    a, b = existing.get("arxiv_id"), incoming.get("arxiv_id")
    return not (a and b and a != b)


def _cut_copy(short: str, long: str) -> bool:
    """True when ``short`` is a visibly cut copy of ``long`` (raw texts): normalised, it is a
    prefix of ``long``, and it is shorter or ends in an ellipsis where ``long`` does not."""
    ns, nl = normalise(short), normalise(long)
    if not ns or not nl.startswith(ns):
        return False
    return len(ns) < len(nl) or (is_cut(short) and not is_cut(long))


def same_paper(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether two whole records (heads and bodies) are one paper, by rules 1-4 above."""
    a, b = existing.get("arxiv_id"), incoming.get("arxiv_id")
    if a and b:
        return bool(a == b)
    title_a = normalise(existing.get("title") or "")
    titles_agree = len(title_a) >= MIN_TITLE and title_a == normalise(incoming.get("title") or "")
    raw_a, raw_b = existing.get("abstract") or "", incoming.get("abstract") or ""
    abs_a, abs_b = normalise(raw_a), normalise(raw_b)
    if abs_a and abs_b:
        if abs_a == abs_b and len(abs_a) >= MIN_ABSTRACT and not (is_cut(raw_a) or is_cut(raw_b)):
            return not other_paper(existing, incoming)  # rule 2
        # Rule 3; rule 4 (different abstracts contradict the title) otherwise.
        return titles_agree and (
            _cut_copy(raw_a, raw_b) or _cut_copy(raw_b, raw_a) or abs_a == abs_b
        )
    return titles_agree  # rule 4: nothing to contradict the title


def other_paper(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two records that share their whole abstract still say they are two papers:
    their titles differ (in English, or in Chinese where neither has an English one) and
    their authors have no name in common. A digest writes the same placeholder for every
    paper it has no English abstract of ("The English abstract of this paper is not
    available …"); two translations of one title by two sites differ, but name the same
    authors."""
    differ = False
    for field in _TITLES:
        x, y = normalise(a.get(field) or ""), normalise(b.get(field) or "")
        if x and y:
            if x == y:
                return False
            differ = True
    if not differ:
        return False
    names_a, names_b = _name_words(a.get("authors")), _name_words(b.get("authors"))
    return bool(names_a and names_b and not names_a & names_b)


def _name_words(authors: Any) -> set[str]:
    """The words of the authors' names, normalised (``Müller`` is ``muller``)."""
    words: set[str] = set()
    for name in authors or ():
        for word in _NAME_SPLIT.split(str(name)):
            folded = normalise(word)
            if len(folded) >= 2:
                words.add(folded)
    return words


# ----------------------------------------------------------------------------- crowded titles
class _Abstracts:
    """Papers by their normalised abstracts, kept in sorted order: the abstracts that have a
    given text as a prefix are next to each other, and those that are a prefix of it are
    found by a few bisections."""

    def __init__(self) -> None:
        # Ordered sets (dicts without values): every paper, in the order they were filed;
        # those without an abstract; those with each abstract (the texts sorted, each once).
        self.order: dict[str, None] = {}
        self.bare: dict[str, None] = {}
        self.texts: list[str] = []
        self.pids: dict[str, dict[str, None]] = {}

    def add(self, pid: str, abstract: str) -> None:
        self.order[pid] = None
        if not abstract:
            self.bare[pid] = None
            return
        pids = self.pids.get(abstract)
        if pids is None:
            bisect.insort(self.texts, abstract)
            pids = self.pids[abstract] = {}
        pids[pid] = None

    def candidates(self, abstract: str) -> Iterator[str]:
        if not abstract:  # nothing to contradict the title: any paper
            yield from self.order
            return
        texts = self.texts
        # Abstracts that start with this one (equal ones included): one contiguous run.
        i = bisect.bisect_left(texts, abstract)
        while i < len(texts) and texts[i].startswith(abstract):
            yield from self.pids[texts[i]]
            i += 1
        # Abstracts that this one starts with. The largest text <= probe is either a prefix
        # of it or shares c characters with it, and then every shorter prefix is one of probe[:c].
        probe = abstract
        while probe:
            j = bisect.bisect_right(texts, probe) - 1
            if j < 0:
                break
            text = texts[j]
            if probe.startswith(text):
                if text != abstract:
                    yield from self.pids[text]
                probe = text[:-1]
            else:
                probe = probe[: len(os.path.commonprefix((text, probe)))]
        yield from self.bare


class Crowd:
    """The papers filed under one title when many share it ("Editorial", a placeholder).

    By rules 1, 3 and 4 a paper with that title can only be one whose abstract is missing,
    a prefix of its own or has its own as a prefix; and an incoming paper with an arXiv id
    can only be one without. The papers are filed so that an incoming paper meets only those
    (in a few bisections), instead of all of them: importing N papers with one title took N²
    comparisons. A paper whose abstract changes is filed again, so a candidate may no longer
    fit (it is checked and refused), but none is ever missed."""

    def __init__(self) -> None:
        self._everyone = _Abstracts()
        self._without_id = _Abstracts()

    def add(self, pid: str, record: dict[str, Any]) -> None:
        """File (or file again) a paper: ``record`` is its whole record (head and body)."""
        abstract = normalise(record.get("abstract") or "")
        self._everyone.add(pid, abstract)
        if not record.get("arxiv_id"):
            self._without_id.add(pid, abstract)

    def candidates(self, incoming: dict[str, Any]) -> Iterator[str]:
        """The papers that could be ``incoming``, a few at a time (`same_paper` decides)."""
        papers = self._without_id if incoming.get("arxiv_id") else self._everyone
        return papers.candidates(normalise(incoming.get("abstract") or ""))


# ----------------------------------------------------------------------------- versions
def _version_rank(entry: dict[str, Any]) -> tuple[int, str, int]:
    """How new the text of an announcement is: (tier, date, version). A replacement (an
    explicit ``vN`` of 2 or more, or a ``replace`` that names none, as listings do) is tier 2,
    ordered by its announcement date, then its number: a later announcement is a later
    version, whether or not its feed names the number. ``new``/``cross`` and any other
    announcement are v1 (tier 1); no announcement at all (Hugging Face, digests) is 0."""
    version = int(entry.get("version") or 0)
    announce = (entry.get("announce") or "").lower()
    date = entry.get("date") or ""
    replaced = (
        announce.startswith(("replace", "updated")) or "替换" in announce or "更新" in announce
    )
    if version >= 2 or (replaced and version != 1):
        return 2, date, version
    return (1, "", 1) if announce or version else (0, "", 0)


def version_entry(paper: dict[str, Any]) -> dict[str, Any] | None:
    """The announcement a record carries, as a ``versions`` entry ({"announce", "version",
    "date"}, empty ones left out), or None when its feed says nothing about it."""
    entry = {
        "announce": paper.get("announce_type") or "",
        "version": paper.get("arxiv_version"),
        "date": paper.get("feed_date") or paper.get("paper_date"),
    }
    if not (entry["announce"] or entry["version"]):
        return None
    return {k: v for k, v in entry.items() if v}


def note_version(paper: dict[str, Any]) -> None:
    """Start an incoming record's ``versions`` history with its own announcement."""
    entry = version_entry(paper)
    paper["versions"] = [entry] if entry else []


def _rank(record: dict[str, Any]) -> tuple[int, str, int]:
    entries = record.get("versions") or []
    if not entries:  # a record stored before histories were kept
        entry = version_entry(record)
        entries = [entry] if entry else []
    return max((_version_rank(e) for e in entries), default=(0, "", 0))


def _tex(names: list[str]) -> bool:
    return any("\\" in name for name in names)


def _add_history(
    held: list[dict[str, Any]], seen: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``held`` with the announcements in ``seen`` it lacks, oldest version first. One
    announcement seen in two feeds, one of which names its version, is kept once, with it."""
    new = [e for e in seen if e not in held]
    if not new:
        return held
    history = list(held)
    for entry in new:
        if entry in history:
            continue
        same = [
            n
            for n, e in enumerate(history)
            if (e.get("announce"), e.get("date")) == (entry.get("announce"), entry.get("date"))
            and not (e.get("version") and entry.get("version"))
        ]
        if same:
            if entry.get("version"):
                history[same[0]] = entry
            continue
        history.append(entry)
    return sorted(history, key=lambda e: (_version_rank(e), e.get("date", "")))


def merge_into(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Fold ``incoming``'s fields and sources into ``existing`` (both whole records, changed in
    place: ``existing`` only) by the per-field rules above; True if anything changed."""
    changed = False
    rank, held_rank = _rank(incoming), _rank(existing)
    newer = rank[0] >= 2 and rank > held_rank
    # A known older version (v1 after a v2) completes only a text cut with an ellipsis; a
    # copy that states no version (rank 0) may complete any visibly cut text.
    older = (0, "", 0) < rank < held_rank
    held = existing.get("versions") or []
    if not held:  # stored before histories were kept: its own announcement starts one
        entry = version_entry(existing)
        held = [entry] if entry else []
    history = _add_history(held, incoming.get("versions") or ())
    if history != held:
        existing["versions"] = history
        changed = True
    for name, value in incoming.items():
        if name in _NOT_MERGED or value in (None, "", []):
            continue
        current = existing.get(name)
        empty = current in (None, "", [])
        if name == "authors":
            same_length = len(value) == len(current or ()) and value != current
            take = len(value) > len(current or ()) or (
                same_length and (newer or (_tex(current) and not _tex(value)))
            )
        elif name in _MAX_FIELDS:
            take = current is None or value > current
        elif name in _UNION_FIELDS:
            merged = list(current or []) + [v for v in value if v not in (current or [])]
            take, value = merged != (current or []), merged
        elif name in ("feed_date", "paper_date"):
            take = not current or value < current
        elif empty:
            take = True
        elif name in _VERSIONED and newer:
            # The newer version's text, even shorter (v2 dropped a sentence), unless it is
            # visibly cut (ends in an ellipsis) from the held one.
            cut = name in _TEXT_FIELDS and is_cut(value) and _cut_copy(value, current)
            take = value != current and not cut
        elif name in _TEXT_FIELDS:
            plainly_cut = is_cut(current) or not (older or name in _TITLES)
            take = value != current and plainly_cut and _cut_copy(current, value)
        else:
            take = False
        if take:
            existing[name] = value
            changed = True
    # When the paper was first added, and each feed it was seen in with the first time
    # that feed was imported: the earliest, whichever copy arrives first (two machines
    # importing the same feed, then syncing, end with the same record).
    added = incoming.get("added_at")
    if added and (not existing.get("added_at") or added < existing["added_at"]):
        existing["added_at"] = added
        changed = True
    have = {(s["format"], s["digest"]): i for i, s in enumerate(existing.get("sources", []))}
    grew = False
    for source in incoming.get("sources", []):
        key = (source["format"], source["digest"])
        at = have.get(key)
        if at is None:
            existing.setdefault("sources", []).append(source)
            have[key] = len(existing["sources"]) - 1
            changed = grew = True
        elif _seen_earlier(source, existing["sources"][at]):
            existing["sources"][at] = source
            changed = grew = True
    if grew:  # (in the order they were first seen, however they arrived)
        existing["sources"].sort(key=lambda s: str(s.get("imported_at") or ""))
    return changed


def _seen_earlier(source: dict[str, Any], held: dict[str, Any]) -> bool:
    """Whether ``source`` is an earlier import of the feed ``held`` records (same format and
    digest): strictly earlier (a copy of the feed read in the same import, or imported on
    two machines in the same second, leaves the one held)."""
    return str(source.get("imported_at") or "") < str(held.get("imported_at") or "")
