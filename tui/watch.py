"""Watch rules: the config file's ``[[watch]]`` tables, which tag the papers they match.

    [[watch]]
    name = "flow"
    words = ["flow matching"]
    categories = ["cs.CV"]
    tag = "flow"
    color = "magenta"

A rule has a ``name`` and a ``tag`` (both required) and at least one of ``author`` /
``authors`` (names: a paper matches when one of its authors is one of them, accents and case
folded, so "Muller" finds "Müller"), ``words`` (words or phrases, matched as whole words in
the paper's text: titles, abstracts, summaries, the Chinese ones too: "flow matching" finds
"Flow-Matching" but not "overflow matching"; Chinese, Japanese and Korean words anywhere in
the text, as they are written without spaces; a word of one letter or digit and signs, "c++",
as it is written), ``categories`` ("cs.CV", or "cs" for every cs.*) and ``sources`` (as the
search's ``source:`` filter names them: hf, arxiv, arxivdaily, digest or a format name). A
paper matches a rule when it matches every kind the rule names (any of the values of each).

`apply` tags a library's papers (one undoable step) and remembers what the rules tagged, per
tag, so a paper the user untagged is not tagged again by any rule giving that tag. The memory
is each device's own file, ``watch/<device>.json`` in the library folder (written by that
device only, so machines sharing the library through git never change one file on both
sides), and is read as the union of every device's. What the rules were last applied with
(their `fingerprint`) and which papers they have seen are this machine's own, kept in the
library's cache folder (never synced): papers another machine imported, brought by a sync,
are matched here too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .library.cache import CJK_RUN, fold
from .library.query import SOURCE_ALIASES
from .models import BADGES

STATE_FILE = "watch.json"  # (the memory of papertui before 2026-12: read, then folded in)
MEMORY_DIR = "watch"  # watch/<device>.json: {"tagged": {tag casefolded: [paper ids]}}
LOCAL_FILE = "watch-{device}.json"  # in the cache folder: {"fingerprint", "covers"}
CHUNK = 2000  # papers read and matched at a time (a cancelled pass stops between chunks)
COLORS = (
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "white",
    "bright_red",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
    "bright_cyan",
)
_KEYS = ("name", "tag", "color", "author", "authors", "words", "categories", "sources")
_NAME = re.compile(r"^[\w.-]+$")
_WORD = re.compile(r"\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ALNUM = re.compile(r"[^\W_]")
# The text fields a rule's words are looked for in (those the search's words look in, but
# the authors, tags and notes).
TEXT_FIELDS = (
    "title",
    "title_zh",
    "abstract",
    "abstract_zh",
    "ai_summary",
    "contribution_zh",
    "method_zh",
    "findings_zh",
    "topic_hit",
)


class WatchConfigError(ValueError):
    """A ``[[watch]]`` rule cannot be used: ``str()`` names the rule and what it expects."""


@dataclass(frozen=True)
class Rule:
    """One watch rule, normalised: names and phrases folded (`plain`), categories casefolded,
    sources as format names (`tui.models.BADGES`). ``literal``: the words of one letter or
    digit and signs ("c++"), casefolded (`cache.fold`), matched as written."""

    name: str
    tag: str
    color: str = ""
    authors: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    literal: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What `apply` remembers the rule's papers under: its tag, casefolded (a paper a
        rule tagged is not tagged again by any rule giving that tag, whatever its name)."""
        return self.tag.casefold()


def plain(text: str) -> str:
    """``text`` folded as the search folds it (`cache.fold`: NFKC, case) and without
    accents (as the index's tokenizer drops them), its words joined by single spaces:
    ``plain("Jürgen  MÜLLER") == "jurgen muller"``."""
    return " ".join(_tokens(text))


def _tokens(text: str) -> list[str]:
    text = fold(text)
    if not text.isascii():  # (each run of other characters: the same as the whole text)
        text = _NON_ASCII.sub(_unaccented, text)
    return _WORD.findall(text)


def _unaccented(run: re.Match[str]) -> str:
    text = run.group()
    if unicodedata.is_normalized("NFKD", text):  # (Chinese: a quick check)
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _strings(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WatchConfigError(f"{where}: {key} expected a string or a list of strings")
    return [v.strip() for v in value if v.strip()]


def read_rules(config: Mapping[str, Any]) -> tuple[list[Rule], list[str]]:
    """The rules of a config document (`tui.config.read_config`) that can be used, from its
    ``[[watch]]`` array of tables (absent: none), and one line per rule that cannot
    ("[[watch]] #2 'flow': tag expected (a printable string)"): a bad rule leaves the
    others working."""
    tables = config.get("watch", [])
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, list):
        return [], ["watch: expected [[watch]] tables"]
    rules: list[Rule] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, 1):
        try:
            rules.append(_rule(table, n, seen))
        except WatchConfigError as err:
            problems.append(str(err))
    return rules, problems


def rules_from_config(config: Mapping[str, Any]) -> list[Rule]:
    """The rules of a config document (`read_rules`). WatchConfigError, one line naming
    the rule ("[[watch]] #2 'flow'") and what it expects, for the first rule that cannot be
    used."""
    rules, problems = read_rules(config)
    if problems:
        raise WatchConfigError(problems[0])
    return rules


def _rule(table: Any, n: int, seen: set[str]) -> Rule:
    where = f"[[watch]] #{n}"
    if not isinstance(table, Mapping):
        raise WatchConfigError(f"{where}: expected a table")
    name = table.get("name")
    if isinstance(name, str) and name.strip():
        where += f" {name.strip()!r}"
    for key in table:
        if key not in _KEYS:
            known = ", ".join(_KEYS)
            raise WatchConfigError(f"{where}: unknown key {key!r} (expected {known})")
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise WatchConfigError(f"{where}: name expected (letters, digits, '.', '-', '_')")
    name = name.strip()
    if name.casefold() in seen:
        raise WatchConfigError(f"{where}: a second rule named {name!r}")
    seen.add(name.casefold())
    tag = table.get("tag")
    if not isinstance(tag, str) or not tag.strip() or not tag.isprintable():
        raise WatchConfigError(f"{where}: tag expected (a printable string)")
    color = table.get("color", "")
    if not isinstance(color, str) or (color and color not in COLORS):
        raise WatchConfigError(f"{where}: color expected to be one of {', '.join(COLORS)}")
    authors = _strings(table.get("author", []), where, "author")
    authors += _strings(table.get("authors", []), where, "authors")
    words = _strings(table.get("words", []), where, "words")
    cats = _strings(table.get("categories", []), where, "categories")
    sources: list[str] = []
    for value in _strings(table.get("sources", []), where, "sources"):
        v = value.casefold()
        if v in SOURCE_ALIASES:
            sources += SOURCE_ALIASES[v]
        elif v in BADGES:
            sources.append(v)
        else:
            raise WatchConfigError(
                f"{where}: sources expected {', '.join(SOURCE_ALIASES)} or a format name, "
                f"not {value!r}"
            )
    empty = [w for w in words if not _ALNUM.search(w)]
    if empty:
        said = ", ".join(repr(w) for w in empty[:3])
        raise WatchConfigError(
            f"{where}: words expected letters or digits; {said} "
            f"{'has' if len(empty) == 1 else 'have'} none"
        )
    folded_words: list[str] = []
    literal: list[str] = []
    for word in words:
        folded = plain(word)
        if len(folded) < 2 and folded != fold(word):  # "c++": not any lone c
            literal.append(fold(word))
        else:
            folded_words.append(folded)
    folded_authors = tuple(a for a in map(plain, authors) if a)
    if not (folded_authors or folded_words or literal or cats or sources):
        raise WatchConfigError(
            f"{where}: expected at least one of author, words, categories, sources"
        )
    return Rule(
        name=name,
        tag=tag.strip(),
        color=color,
        authors=folded_authors,
        words=tuple(dict.fromkeys(folded_words)),
        categories=tuple(c.casefold() for c in cats),
        sources=tuple(dict.fromkeys(sources)),
        literal=tuple(dict.fromkeys(literal)),
    )


def _formats(record: Mapping[str, Any]) -> set[str]:
    sources = record.get("sources") or ()
    if isinstance(sources, str):  # (a stored repr; never in a real record, but be safe)
        return set(re.findall(r"'format': '([^']+)'", sources))
    return {s.get("format", "") for s in sources if isinstance(s, Mapping)}


class Matcher:
    """Rules made ready to match many papers fast: every rule's words looked up at once in
    a paper's words (a set intersection, then the phrases checked where their first word
    is), Chinese words as substrings, the rare literal words through one regex per rule."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        # first word -> [(the phrase's words, rule index)]
        self.firsts: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        self.cjk: list[tuple[str, int]] = []  # words holding Chinese (…): substrings
        self.literal: list[tuple[re.Pattern[str], int]] = []
        for i, rule in enumerate(rules):
            for word in rule.words:
                if CJK_RUN.search(word):
                    self.cjk.append((word, i))
                else:
                    parts = tuple(word.split())
                    self.firsts.setdefault(parts[0], []).append((parts, i))
            if rule.literal:
                pattern = "|".join(
                    ("(?<!\\w)" if w[0].isalnum() else "")
                    + re.escape(w)
                    + ("(?!\\w)" if w[-1].isalnum() else "")
                    for w in rule.literal
                )
                self.literal.append((re.compile(pattern), i))
        self.first_set = frozenset(self.firsts)
        self.wordy = [bool(r.words or r.literal) for r in rules]

    def worded(self, record: Mapping[str, Any]) -> set[int]:
        """The indices of the rules whose words (any one) the paper's text holds."""
        texts = [record.get(f) for f in TEXT_FIELDS]
        text = "\n".join(t for t in texts if isinstance(t, str) and t)
        hits: set[int] = set()
        if not text:
            return hits
        tokens = _tokens(text)
        present = self.first_set.intersection(tokens)
        for first in present:
            entries = self.firsts[first]
            singles = [i for parts, i in entries if len(parts) == 1]
            hits.update(singles)
            longer = [(parts, i) for parts, i in entries if len(parts) > 1 and i not in hits]
            if not longer:
                continue
            at = [k for k, t in enumerate(tokens) if t == first]
            for parts, i in longer:
                n = len(parts)
                if any(tuple(tokens[k : k + n]) == parts for k in at):
                    hits.add(i)
        if self.cjk:
            joined = " ".join(tokens) if not text.isascii() else ""
            for word, i in self.cjk:
                if i not in hits and word in joined:
                    hits.add(i)
        if self.literal:
            folded = fold(text)
            for pattern, i in self.literal:
                if i not in hits and pattern.search(folded):
                    hits.add(i)
        return hits

    def matching(
        self,
        record: Mapping[str, Any],
        formats: Callable[[int], bool] | None = None,
        only: Iterable[int] | None = None,
    ) -> list[int]:
        """The indices of the rules ``record`` (`Library.documents`, or a whole record)
        matches, of those ``only`` names (default: all). ``formats(i)``: whether the paper
        is in rule i's sources (default: read from the record's ``sources``). The text is
        read for words only when a rule still needs it."""
        worded: set[int] | None = None
        names: set[str] | None = None
        cats: set[str] | None = None
        found = []
        for i in range(len(self.rules)) if only is None else only:
            rule = self.rules[i]
            if rule.authors:
                if names is None:
                    names = {plain(a) for a in record.get("authors") or () if isinstance(a, str)}
                if names.isdisjoint(rule.authors):
                    continue
            if rule.categories:
                if cats is None:
                    cats = {str(c).casefold() for c in record.get("categories") or ()}
                if not any(c == r or c.startswith(r + ".") for c in cats for r in rule.categories):
                    continue
            if rule.sources:
                held = formats(i) if formats is not None else None
                if held is None:
                    held = not _formats(record).isdisjoint(rule.sources)
                if not held:
                    continue
            if self.wordy[i]:
                if worded is None:
                    worded = self.worded(record)
                if i not in worded:
                    continue
            found.append(i)
        return found


def matches(rule: Rule, record: Mapping[str, Any]) -> bool:
    """Whether a paper record (`Library.record`: its text fields, authors, categories,
    sources) matches ``rule``: every kind of condition the rule has holds for it."""
    return bool(Matcher([rule]).matching(record))


def fingerprint(rules: Iterable[Rule]) -> str:
    """A short hash of the rules (what they match and tag, not their colour)."""
    data = [(r.name, r.tag, r.authors, r.words, r.categories, r.sources, r.literal) for r in rules]
    return hashlib.sha256(orjson.dumps(data)).hexdigest()[:16]


def config_rules() -> tuple[list[Rule], list[str]]:
    """The rules of the user's config file (`tui.config.config_path`) that can be used, and
    one line per problem, naming the file (a file that cannot be read: no rules; a bad
    rule: the others are kept)."""
    from .config import ConfigError, config_path, read_config

    path = config_path()
    try:
        config = read_config(path)
    except FileNotFoundError:
        return [], []
    except ConfigError as err:
        return [], [str(err)]
    rules, problems = read_rules(config)
    return rules, [f"{path}: {p}" for p in problems]


# ------------------------------------------------------------------ the memory
def _load(path: Path) -> Any:
    if path.is_symlink():  # (never read through: a link to /dev/zero would never end)
        return None
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def damaged_memory(root: Path) -> list[Path]:
    """The watch memory files of the library at ``root`` that exist but cannot be read as
    papertui writes them (cut short, not JSON, misshapen): the rules would tag again what
    they remember, and a write would replace them; `apply` refuses, doctor sets them aside."""
    paths = [Path(root) / STATE_FILE, *_memory_files(root)]
    return [p for p in paths if not p.is_symlink() and p.exists() and not _is_memory(_load(p))]


def _memory_files(root: Path) -> list[Path]:
    """Every device's ``watch/<device>.json`` of the library at ``root``, by name."""
    with contextlib.suppress(OSError):
        entries = sorted(os.scandir(Path(root) / MEMORY_DIR), key=lambda e: e.name)
        return [Path(e.path) for e in entries if e.name.endswith(".json") and e.name[0] != "."]
    return []


def _is_memory(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("tagged"), dict)


def _tagged(data: Any, legacy: bool = False) -> dict[str, set[str]]:
    if not _is_memory(data):
        return {}
    out: dict[str, set[str]] = {}
    for key, ids in data["tagged"].items():
        if not isinstance(key, str) or not isinstance(ids, list):
            continue
        tag = key.rsplit("\t", 1)[-1] if legacy else key  # (old keys: "name\ttag")
        out.setdefault(tag.casefold(), set()).update(p for p in ids if isinstance(p, str))
    return out


def _merge(into: dict[str, set[str]], more: dict[str, set[str]]) -> None:
    for tag, ids in more.items():
        into.setdefault(tag, set()).update(ids)


def read_memory(root: Path, device: str | None = None) -> dict[str, set[str]]:
    """What the watch rules ever tagged in the library at ``root``: {tag casefolded: paper
    ids}, the union of every device's ``watch/<device>.json`` and of the old ``watch.json``
    (only ``device``'s own file when given, with the old file). Files that cannot be read
    count as empty."""
    root = Path(root)
    memory = _tagged(_load(root / STATE_FILE), legacy=True)
    folder = root / MEMORY_DIR
    if device is not None:
        _merge(memory, _tagged(_load(folder / f"{device}.json")))
        return memory
    for path in _memory_files(root):
        _merge(memory, _tagged(_load(path)))
    return memory


def read_state(root: Path) -> dict[str, Any]:
    """The watch memory in the shape of the old ``watch.json``: {"tagged": {tag: [paper
    ids]}} (`read_memory`, sorted)."""
    return {"tagged": {t: sorted(ids) for t, ids in read_memory(root).items()}}


def _local_path(lib: Any) -> Path:
    from .library.cache import CACHE_DIR

    return Path(lib.root) / CACHE_DIR / LOCAL_FILE.format(device=lib.device)


def _read_local(lib: Any) -> tuple[str, dict[str, int]]:
    data = _load(_local_path(lib))
    if not isinstance(data, dict):
        return "", {}
    fp = data.get("fingerprint")
    covers = data.get("covers")
    if not isinstance(fp, str) or not isinstance(covers, dict):
        return "", {}
    return fp, {k: v for k, v in covers.items() if isinstance(k, str) and isinstance(v, int)}


def _seg(seg: str) -> tuple[str, int] | None:
    from .library import truth

    name = truth.parse_key(seg.rstrip("+"))
    return (name.device, name.seq) if name is not None else None


def _since(lib: Any, covers: dict[str, int]) -> tuple[list[str], dict[str, int]]:
    """The papers whose stored version is in a segment past ``covers`` ({device: last seq
    seen}), and the covers of every segment now."""
    now: dict[str, int] = {}
    fresh: list[str] = []
    for pid, seg in lib.paper_segments():
        name = _seg(seg)
        if name is None:
            fresh.append(pid)
            continue
        device, seq = name
        if seq > now.get(device, -1):
            now[device] = seq
        if seq > covers.get(device, -1):
            fresh.append(pid)
    return fresh, now


def _in_sources(lib: Any, rules: list[Rule]) -> dict[int, frozenset[str]]:
    """For each rule with sources: the ids of the papers in one of them (the search's
    ``source:`` filter, from the index: `Library.documents` holds no sources)."""
    found: dict[int, frozenset[str]] = {}
    for i, rule in enumerate(rules):
        if rule.sources:
            ids: set[str] = set()
            for fmt in rule.sources:
                with contextlib.suppress(Exception):
                    ids.update(lib.query(f"source:{fmt}"))
            found[i] = frozenset(ids)
    return found


def _preselect(
    lib: Any, rules: list[Rule], sourced: dict[int, frozenset[str]]
) -> dict[int, set[str] | None]:
    """For each rule, the papers that may match it, found through the search index (a
    superset: the search finds the beginnings of words, in more fields; each is confirmed on
    its text by `Matcher`), or None when the index cannot say (a rule on authors or literal
    words alone: every paper): the papers holding one of its words (`_holding`), in one
    of its categories, in one of its sources."""
    everyone: set[str] | None = None
    chosen: dict[int, set[str] | None] = {}
    for i, rule in enumerate(rules):
        sets: list[set[str]] = []
        if rule.words and not rule.literal:
            words = _holding(lib, rule.words)
            if words is not None:
                sets.append(words)
        if rule.categories:
            try:
                outside = set(lib.query(" ".join(f"-cat:{c}" for c in rule.categories)))
            except Exception:  # (a query the index cannot take: look at every paper)
                outside = None
            if outside is not None:
                if everyone is None:
                    everyone = set(lib)
                sets.append(everyone - outside)
        if rule.sources:
            sets.append(set(sourced[i]))
        chosen[i] = set.intersection(*sets) if sets else None
    return chosen


def _holding(lib: Any, words: tuple[str, ...]) -> set[str] | None:
    """The papers whose indexed text holds one of ``words`` (`plain` phrases): the ASCII
    ones in one index lookup (`Library.holding_any`), the others (Chinese, …) by the search,
    one query each; None when the index cannot say (then every paper is looked at)."""
    ascii_words = [w for w in words if w.isascii()]
    others = [w for w in words if not w.isascii()]
    if len(others) > 50:
        return None
    try:
        found = lib.holding_any(ascii_words) if ascii_words else set()
        for word in others:
            found.update(lib.query(f'"{word}"'))
    except Exception:  # (a word the index cannot take)
        return None
    return found


class Cancelled(Exception):
    """`apply` was told to stop (the app quits): nothing was tagged nor recorded."""


def apply(
    lib: Any,
    rules: list[Rule],
    ids: Iterable[str] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Tag the papers the rules match: the papers ``ids`` (just imported, or known papers an
    import changed: a new source, a fuller text), those that arrived since the rules last
    looked (another machine's imports, brought by a sync), and the whole library when the
    rules changed since they were last applied here (`fingerprint`). A paper tagged once by
    a rule giving tag T is never tagged T again by any rule (the user may have removed the
    tag). All of it is one undoable step ("watch rules"); the tagging and the memory of it
    are written under the library's write lock. Returns {rule name: papers newly tagged}.
    ``cancelled()`` is asked between batches of papers: when true, Cancelled is raised and
    nothing is written (the next call does it all). LibraryError when the library cannot
    be written."""
    from .library.storage import atomic_write

    if not rules or lib.read_only:
        return {}
    damaged = damaged_memory(lib.root)
    if damaged:
        from .library.storage import LibraryError

        raise LibraryError(
            f"{damaged[0]}: damaged (not a watch memory as papertui writes one); the rules "
            "tag nothing until `papertui doctor --repair` sets it aside"
        )
    fp = fingerprint(rules)
    saved_fp, covers = _read_local(lib)
    whole = saved_fp != fp
    fresh, covers_now = _since(lib, {} if whole else covers)
    pool = list(dict.fromkeys([*(ids or ()), *fresh]))
    memory = read_memory(lib.root)
    matcher = Matcher(rules)
    sourced = _in_sources(lib, rules)

    # The matching, outside the lock (a whole library takes a while); then, under it, the
    # memory read again (another process may have applied the rules meanwhile).
    found: dict[int, list[str]] = {i: [] for i in range(len(rules))}
    every = range(len(rules))
    chosen = _preselect(lib, rules, sourced) if len(pool) > CHUNK else {}
    if chosen and all(c is not None for c in chosen.values()):
        wanted = set().union(*(c for c in chosen.values() if c is not None))
        pool = [p for p in pool if p in wanted]
    for start in range(0, len(pool), CHUNK):
        if cancelled():
            raise Cancelled
        docs = lib.documents(pool[start : start + CHUNK])
        for pid, doc in docs.items():
            only = [i for i in every if chosen.get(i) is None or pid in chosen[i]]  # type: ignore[operator]
            for i in matcher.matching(doc, lambda i, pid=pid: pid in sourced[i], only):
                if pid not in memory.get(rules[i].key, ()):
                    found[i].append(pid)
    if cancelled():
        raise Cancelled
    counts: dict[str, int] = {}
    root = Path(lib.root)
    with lib.holding():
        memory = read_memory(root)
        own = read_memory(root, lib.device)
        legacy = (root / STATE_FILE).exists()
        add: dict[str, list[str]] = {}
        for i, rule in enumerate(rules):
            done = memory.setdefault(rule.key, set())
            new = [p for p in found[i] if p not in done and p in lib]
            done.update(new)
            own.setdefault(rule.key, set()).update(new)
            for pid in new:
                add.setdefault(pid, []).append(rule.tag)
            counts[rule.name] = counts.get(rule.name, 0) + len(new)
        if add:
            lib.add_tags_each(add, "watch rules")
        if add or legacy:
            mine = root / MEMORY_DIR / f"{lib.device}.json"
            mine.parent.mkdir(exist_ok=True)
            data = {"tagged": {t: sorted(ids) for t, ids in sorted(own.items()) if ids}}
            atomic_write(mine, orjson.dumps(data))
            if legacy:  # (folded into this device's file)
                with contextlib.suppress(FileNotFoundError):
                    (root / STATE_FILE).unlink()
        if whole or covers_now != covers:
            local = _local_path(lib)
            local.parent.mkdir(exist_ok=True)
            atomic_write(local, orjson.dumps({"fingerprint": fp, "covers": covers_now}))
    return counts
