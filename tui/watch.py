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
the title or abstract: "flow matching" finds "Flow-Matching" but not "overflow matching"),
``categories`` ("cs.CV", or "cs" for every cs.*) and ``sources`` (as the search's
``source:`` filter names them: hf, arxiv, arxivdaily, digest or a format name). A paper
matches a rule when it matches every kind the rule names (any of the values of each).

Pure functions here; `apply` tags a library's papers (one undoable step) and remembers, in
``watch.json`` in the library folder, what each rule tagged, so a paper the user untagged is
not tagged again by the same rule.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .library.cache import fold
from .library.query import SOURCE_ALIASES
from .models import BADGES

STATE_FILE = "watch.json"
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


class WatchConfigError(ValueError):
    """A ``[[watch]]`` rule cannot be used: ``str()`` names the rule and what it expects."""


@dataclass(frozen=True)
class Rule:
    """One watch rule, normalised: names and phrases folded (`plain`), categories casefolded,
    sources as format names (`tui.models.BADGES`)."""

    name: str
    tag: str
    color: str = ""
    authors: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What `apply` remembers the rule's papers under: its name and tag (a rule given
        another tag tags its papers again, with the new one)."""
        return f"{self.name}\t{self.tag}"


def plain(text: str) -> str:
    """``text`` folded as the search folds it (`cache.fold`: NFKC, case) and without
    accents (as the index's tokenizer drops them), its words joined by single spaces:
    ``plain("Jürgen  MÜLLER") == "jurgen muller"``."""
    text = unicodedata.normalize("NFKD", fold(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_WORD.findall(text))


def _strings(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WatchConfigError(f"{where}: {key} expected a string or a list of strings")
    return [v.strip() for v in value if v.strip()]


def rules_from_config(config: Mapping[str, Any]) -> list[Rule]:
    """The rules of a config document (`tui.config.read_config`): its ``[[watch]]`` array
    of tables (absent: no rules). WatchConfigError, one line naming the rule ("[[watch]] #2
    'flow'") and what it expects, for the first rule that cannot be used."""
    tables = config.get("watch", [])
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, list):
        raise WatchConfigError("watch: expected [[watch]] tables")
    rules: list[Rule] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, 1):
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
        folded_authors = tuple(a for a in map(plain, authors) if a)
        folded_words = tuple(w for w in map(plain, words) if w)
        if not (folded_authors or folded_words or cats or sources):
            raise WatchConfigError(
                f"{where}: expected at least one of author, words, categories, sources"
            )
        rules.append(
            Rule(
                name=name,
                tag=tag.strip(),
                color=color,
                authors=folded_authors,
                words=folded_words,
                categories=tuple(c.casefold() for c in cats),
                sources=tuple(dict.fromkeys(sources)),
            )
        )
    return rules


def _formats(record: Mapping[str, Any]) -> set[str]:
    sources = record.get("sources") or ()
    if isinstance(sources, str):  # (a stored repr; never in a real record, but be safe)
        return set(re.findall(r"'format': '([^']+)'", sources))
    return {s.get("format", "") for s in sources if isinstance(s, Mapping)}


def matches(rule: Rule, record: Mapping[str, Any]) -> bool:
    """Whether a paper record (`Library.record`: title, abstract, authors, categories,
    sources) matches ``rule``: every kind of condition the rule has holds for it."""
    if rule.authors:
        names = {plain(a) for a in record.get("authors") or () if isinstance(a, str)}
        if not names.intersection(rule.authors):
            return False
    if rule.words:
        text = " " + plain(f"{record.get('title', '')}\n{record.get('abstract', '')}") + " "
        if not any(f" {w} " in text for w in rule.words):
            return False
    if rule.categories:
        cats = {str(c).casefold() for c in record.get("categories") or ()}
        if not any(c == r or c.startswith(r + ".") for c in cats for r in rule.categories):
            return False
    if rule.sources:
        if not _formats(record).intersection(rule.sources):
            return False
    return True


def fingerprint(rules: Iterable[Rule]) -> str:
    """A short hash of the rules (what they match and tag, not their colour)."""
    data = [(r.name, r.tag, r.authors, r.words, r.categories, r.sources) for r in rules]
    return hashlib.sha256(orjson.dumps(data)).hexdigest()[:16]


def config_rules() -> tuple[list[Rule], str]:
    """The rules of the user's config file (`tui.config.config_path`), and the one-line
    problem when it cannot be used ("" when it can; no rules then)."""
    from .config import ConfigError, config_path, read_config

    path = config_path()
    try:
        return rules_from_config(read_config(path)), ""
    except FileNotFoundError:
        return [], ""
    except ConfigError as err:
        return [], str(err)
    except WatchConfigError as err:
        return [], f"{path}: {err}"


def _candidates(lib: Any, rule: Rule) -> Iterable[str]:
    """Papers that may match ``rule``, found through the search index (a superset: each is
    confirmed on its record by `matches`)."""
    terms: list[str] = []
    if rule.categories and len(rule.categories) == 1:
        terms.append(f"cat:{rule.categories[0]}")
    if rule.sources and len(rule.sources) == 1:
        terms.append(f"source:{rule.sources[0]}")
    if rule.words and len(rule.words) == 1:
        terms += rule.words[0].split()
    if rule.authors and len(rule.authors) == 1:
        terms += [f"author:{w}" for w in rule.authors[0].split()]
    if not terms:
        return list(lib)
    try:
        return list(lib.query(" ".join(terms)))
    except Exception:  # (a query the engine cannot take: look at every paper)
        return list(lib)


def read_state(root: Path) -> dict[str, Any]:
    """The library's ``watch.json``: {"fingerprint": the rules last applied to the whole
    library, "tagged": {rule key: [paper ids it tagged]}}; empty when absent or unreadable."""
    try:
        data = orjson.loads((Path(root) / STATE_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {"fingerprint": "", "tagged": {}}
    if not isinstance(data, dict) or not isinstance(data.get("tagged"), dict):
        return {"fingerprint": "", "tagged": {}}
    return data


def apply(lib: Any, rules: list[Rule], ids: Iterable[str] | None = None) -> dict[str, int]:
    """Tag the papers the rules match: the papers ``ids`` (just imported, or known papers an
    import changed: a new source, a fuller text), and the whole library when the rules
    changed since they were last applied to it (`fingerprint`). A paper a rule tagged once
    is never tagged by it again (the user may have removed the tag). All of it is one
    undoable step ("watch rules"); the tagging and the memory of it are written under the
    library's write lock. Returns {rule name: papers newly tagged}. LibraryError when the
    library cannot be written."""
    from .library.storage import atomic_write

    if not rules or lib.read_only:
        return {}
    saved = read_state(lib.root)
    whole = saved.get("fingerprint") != fingerprint(rules)
    given = list(dict.fromkeys(ids or ()))
    records: dict[str, Mapping[str, Any]] = {}

    def record(pid: str) -> Mapping[str, Any]:
        if pid not in records:
            try:
                records[pid] = lib.record(pid)
            except Exception:  # (gone, or its text unreadable: not matched)
                records[pid] = {}
        return records[pid]

    # The matching, outside the lock (a whole library takes a while); then, under it, what
    # the rules tagged read again (another process may have applied them meanwhile).
    found: dict[str, list[str]] = {}
    for rule in rules:
        done = set(saved["tagged"].get(rule.key, ()))
        pool = list(dict.fromkeys([*given, *_candidates(lib, rule)])) if whole else given
        found[rule.key] = [p for p in pool if p not in done and matches(rule, record(p))]
    counts: dict[str, int] = {}
    with lib.holding():
        tagged: dict[str, list[str]] = read_state(lib.root)["tagged"]
        add: dict[str, list[str]] = {}
        for rule in rules:
            done = set(tagged.get(rule.key, ()))
            new = [p for p in found[rule.key] if p not in done and p in lib]
            for pid in new:
                add.setdefault(pid, []).append(rule.tag)
            if new:
                tagged[rule.key] = [*tagged.get(rule.key, ()), *new]
            counts[rule.name] = len(new)
        if add:
            lib.add_tags_each(add, "watch rules")
        if add or whole:
            data = {"fingerprint": fingerprint(rules), "tagged": tagged}
            atomic_write(Path(lib.root) / STATE_FILE, orjson.dumps(data))
    return counts
