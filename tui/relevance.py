"""The "for you" order: a model of what this reader keeps, trained on their own triage.

Every triage decision is a label, without an extra keypress: a paper starred, tagged or with
a note is a "yes"; a paper marked read without any of those is a "no" (a skip). The config
file's ``[relevance]`` table may add "yes" seeds before the reader has decided much::

    [relevance]
    authors = ["Kaiming He"]        # papers with one of these authors count as "yes"
    arxiv = ["2406.01234"]          # and these papers

Features: tf-idf over one bag of tokens per paper: the words and word pairs of the title
(counted twice) and abstract (and HF keywords), each author as one token (``@kaiming he``),
each category (``#cs.cv``) and the Chinese title and summaries as character bigrams,
hashed to `N_FEATURES` columns once per paper (`features`, kept in the cache's ``feat``
table). A linear classifier (scikit-learn's logistic regression, the classes balanced) scores
every unread paper; its largest contributing terms explain a paper's score. The app runs it
in a process of its own: ``python -m tui.relevance LIBRARY`` (`main`).

With fewer than `MIN_DECISIONS` decisions, or none of them a "yes", there is no model: the
order stays the feed's and `Ranking.reason` says why.

scikit-learn, scipy and numpy are imported only when a model is trained: never by the app
(tests/test_relevance.py checks that ``import tui.app`` leaves them out).
"""

from __future__ import annotations

import itertools
import re
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from operator import add
from typing import TYPE_CHECKING, Any

from .library.cache import CJK_RUN, fold

if TYPE_CHECKING:
    from .library import Library

MIN_DECISIONS = 10  # fewer decisions than this: no model (cold start)
EXPLAINED = 200  # the best-ranked papers whose explanation is stored with their score
EXPLAIN_TERMS = 4  # terms named in an explanation (3–5)
# A skip weighs this much against a keep, before the classes are balanced: a skip says less
# ("not today") than a star says ("this one"). bench/relevance.py measured 1.0 best: see there.
SKIP_WEIGHT = 1.0
C = 1.0  # the logistic regression's inverse regularisation (bench/relevance.py)
# Tokens are hashed to this many columns (`token_id`): no vocabulary to keep, and a paper's
# features, made once, stay valid for every later model.
FEATURE_BITS = 20
N_FEATURES = 1 << FEATURE_BITS
# The stored features' scheme: features stored under another (an earlier papertui's) are
# made again (`Library.feature_rows` reads none of them, `Library.store_features` drops them).
FEATURES_VERSION = 2
_MIX = 0x9E3779B97F4A7C15  # (Fibonacci hashing of a word pair: `_pair_col`)
_SEP = -2  # (the end of a field in `features_of`'s stream of words)

_WORD = re.compile(r"[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*")
_ZH_FIELDS = ("title_zh", "abstract_zh", "contribution_zh", "method_zh", "findings_zh")
_ZH_MORE = ("ai_summary", "topic_hit")
_STOP: frozenset[str] | None = None


def _stop_words() -> frozenset[str]:
    global _STOP
    if _STOP is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _STOP = frozenset(ENGLISH_STOP_WORDS) | {"paper", "propose", "proposed", "method"}
    return _STOP


def _words(text: str, stop: frozenset[str]) -> list[str]:
    """Words (lower case, no stop words) and the pairs of neighbouring ones."""
    words = [w for w in _WORD.findall(text.lower()) if w not in stop and len(w) > 1]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def tokens(doc: Mapping[str, Any]) -> list[str]:
    """The bag of tokens of a paper record (a dict as `Library.record` gives it): words and
    word pairs of the title (twice) and abstract and keywords, ``@author`` (folded),
    ``#category`` (lower case) and the bigrams of each Chinese run (a run of one character
    is itself)."""
    stop = _stop_words()
    get = doc.get
    title = get("title") or ""
    out = _words(title, stop) * 2
    out += _words(get("abstract") or "", stop)
    for kw in get("keywords") or ():
        if isinstance(kw, str):
            out += _words(kw, stop)
    for name in get("authors") or ():
        if isinstance(name, str) and name.strip():
            out.append("@" + " ".join(fold(name).split()))
    for cat in get("categories") or ():
        if isinstance(cat, str) and cat.strip():
            out.append("#" + cat.strip().lower())
    for i, key in enumerate(_ZH_FIELDS + _ZH_MORE):
        text = get(key)
        if not text or not isinstance(text, str) or text.isascii():
            continue
        for run in CJK_RUN.findall(text):
            grams = [run] if len(run) == 1 else [run[j : j + 2] for j in range(len(run) - 1)]
            out += grams * 2 if i == 0 else grams  # (the Chinese title counts twice too)
    return out


@dataclass
class Labels:
    """The training labels of a library: paper id → True ("yes") or False ("no"), and how
    many "yes" came from stars, tags, notes and config seeds (for the reason line)."""

    label: dict[str, bool] = field(default_factory=dict)
    starred: int = 0
    tagged: int = 0
    noted: int = 0
    seeded: int = 0

    @property
    def yes(self) -> int:
        return sum(self.label.values())

    @property
    def no(self) -> int:
        return len(self.label) - self.yes


def _own_tags(
    state: Mapping[str, Any],
    rules: Collection[str],
    pid: str = "",
    given: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """The tags of a state document but those the watch rules give (``rules``, casefolded)
    and those a rule gave this paper (``given``: {tag casefolded: paper ids}, the rules'
    memory, so a rule since removed from the config still counts as the rules' choice)."""
    tags = state.get("tags") or []
    if not rules and not given:
        return list(tags)
    own = []
    for tag in tags:
        folded = str(tag).casefold()
        if folded not in rules and not (given and pid in given.get(folded, ())):
            own.append(tag)
    return own


def is_yes(
    state: Mapping[str, Any],
    rules: Collection[str] = (),
    pid: str = "",
    given: Mapping[str, Collection[str]] | None = None,
) -> bool:
    """Whether a state document (of paper ``pid``) says "yes": starred, tagged or with a
    note. A tag only the watch rules gave (``rules``: their tags, casefolded; ``given``: what
    a rule tagged, by tag) is the rules' choice, not the reader's: it is no "yes"."""
    note = state.get("note")
    return bool(
        state.get("starred")
        or _own_tags(state, rules, pid, given)
        or (isinstance(note, str) and note.strip())
    )


def labels_of(
    states: Mapping[str, Mapping[str, Any]],
    rules: Collection[str] = (),
    given: Mapping[str, Collection[str]] | None = None,
) -> Labels:
    """`Labels` from the state documents by paper id (`Library.states`): "yes" as `is_yes`
    (``rules``: the watch rules' tags, casefolded, `Library.watched_tags`; ``given``: the
    rules' memory, `tui.watch.read_memory`), "no" for a paper read without any of those;
    other papers are not labelled."""
    out = Labels()
    for pid, state in states.items():
        if is_yes(state, rules, pid, given):
            out.label[pid] = True
            out.starred += bool(state.get("starred"))
            out.tagged += bool(_own_tags(state, rules, pid, given))
            note = state.get("note")
            out.noted += bool(isinstance(note, str) and note.strip())
        elif state.get("read"):
            out.label[pid] = False
    return out


def library_labels(lib: Library) -> Labels:
    """`labels_of` a library's states, the tags its watch rules give or gave left out (the
    config's rules and the rules' memory in the library folder)."""
    from .watch import read_memory

    return labels_of(lib.states(), lib.watched_tags(), read_memory(lib.root))


@dataclass
class Seeds:
    """The config's "yes" seeds: author names (folded) and arXiv ids."""

    authors: frozenset[str] = frozenset()
    arxiv: frozenset[str] = frozenset()

    def match(self, doc: Mapping[str, Any]) -> bool:
        """Whether a paper record is a seed: one of its authors or its arXiv id named."""
        if doc.get("arxiv_id") and doc["arxiv_id"] in self.arxiv:
            return True
        if self.authors:
            for name in doc.get("authors") or ():
                if isinstance(name, str) and name_key(name) in self.authors:
                    return True
        return False

    def __bool__(self) -> bool:
        return bool(self.authors or self.arxiv)

    def key(self) -> str:
        """The seeds as one string (stored with the scores: new seeds make them stale)."""
        return "|".join(sorted(self.authors)) + "#" + "|".join(sorted(self.arxiv))


def name_key(name: str) -> str:
    """An author's name as seeds compare it: folded (`fold`), accents gone ("René Vidal" is
    "rene vidal", as the search finds it), spaces single."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", fold(name))
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


NO_SEEDS = Seeds()


class RelevanceConfigError(ValueError):
    """The ``[relevance]`` table cannot be used: ``str()`` says which key and what it expects."""


_SEED_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")


def seeds_from_config(config: Mapping[str, Any]) -> Seeds:
    """The seeds of a config document (`tui.config.read_config`): its ``[relevance]`` table's
    ``authors`` and ``arxiv`` lists of strings (either may be absent). RelevanceConfigError
    when one is not a list of strings."""
    table = config.get("relevance") or {}
    if not isinstance(table, Mapping):
        raise RelevanceConfigError("[relevance]: expected a table")
    unknown = [k for k in table if k not in ("authors", "arxiv")]
    if unknown:
        raise RelevanceConfigError(
            f"[relevance] {unknown[0]!r}: not a setting (expected authors, arxiv)"
        )
    found: dict[str, frozenset[str]] = {}
    for key in ("authors", "arxiv"):
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RelevanceConfigError(f"[relevance] {key}: expected a list of strings")
        if key == "authors":
            found[key] = frozenset(name_key(v) for v in value if v.strip())
        else:
            ids = []
            for v in (re.sub(r"(?i)^arxiv:\s*", "", v.strip()) for v in value if v.strip()):
                if not _SEED_ID.fullmatch(v):  # ("arXiv:2406.01125", as arXiv writes it: fine)
                    raise RelevanceConfigError(
                        f"[relevance] arxiv: {v!r} is not an arXiv id (2406.01125, hep-th/9901001)"
                    )
                ids.append(re.sub(r"v\d+$", "", v))
            found[key] = frozenset(ids)
    return Seeds(found["authors"], found["arxiv"])


class Model:
    """A trained model: the words' weights (idf, by hashed token; 0 for the tokens left out:
    in fewer than 2 papers or more than half), the classifier over the hashed columns, and
    what the "yes" were (for the explanation line)."""

    def __init__(self, idf: Any, classifier: Any, kept: str) -> None:
        self.idf = idf  # numpy float32 array, N_FEATURES long (0: a token left out)
        self.classifier = classifier  # over the N_FEATURES columns
        self.kept = kept  # "stars", "stars and tags" …

    def terms(self, row: Any, doc: Mapping[str, Any], n: int = EXPLAIN_TERMS) -> list[str]:
        """The tokens of ``doc`` contributing most to its score (``row``: its row of the
        classifier's input, `inputs`), largest first, only those that add to it; a word
        is left out when a pair holding it is named."""
        import numpy as np

        coef = self.classifier.coef_[0]
        idx = row.indices
        contrib = row.data * coef[idx]
        top = [k for k in np.argsort(-contrib)[: 3 * n] if contrib[k] > 0]
        if not top:
            return []
        wanted = {int(idx[k]) for k in top}
        names: dict[int, str] = {}
        words, hashes, _ = _memo()
        mask = N_FEATURES - 1
        for t in set(tokens(doc)):  # (`token_id` of each, inlined: 200 papers explained)
            if t[0] in "@#" or not t.isascii():
                col = hashes[t] & mask
            elif " " in t:
                a, b = t.split(" ")
                col = _pair_col(words[a], words[b])
            else:
                col = words[t] & mask
            if col in wanted:
                names.setdefault(col, t)
        # A term says nothing new when its words' stems were all said ("merging" after
        # "merge", "LLMs" after "LLM", "block" inside "token block"); a pair picked after one
        # of its words replaces that word.
        picked: list[str] = []
        said: set[str] = set()
        for k in top:
            name = names.get(int(idx[k]))
            if name is None or len(picked) >= n:
                continue
            stems = {name} if name[0] in "@#" else {_stem(w) for w in name.split(" ")}
            if stems <= said:
                continue
            picked.append(name)
            said |= stems
        in_pairs = {_stem(w) for t in picked if " " in t and t[0] not in "@#" for w in t.split(" ")}
        return [t for t in picked if " " in t or t[0] in "@#" or _stem(t) not in in_pairs]

    def explain(self, doc: Mapping[str, Any], n: int = EXPLAIN_TERMS) -> str:
        """One line saying why ``doc`` scores high ("matches your stars: token merging, DiT,
        author Kaiming He"), the terms written as the paper writes them; "" when no term
        adds to its score."""
        x, _ = inputs([features(doc)], self.idf)
        return describe(self.terms(x[0], doc, n), doc, self.kept)


_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ies", "es", "ed", "s", "e")


def _stem(word: str) -> str:
    """A word's rough English stem, for telling near-duplicates apart in an explanation
    ("merge", "merges", "merged", "merging" → "merg"); other scripts as they are."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _crc(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass"))


def _pair_col(a: int, b: int) -> int:
    """The column of the word pair whose words' CRC-32s are ``a`` and ``b`` (as
    `_pair_cols`, one pair)."""
    return (((a << 32) | b) * _MIX & 0xFFFFFFFFFFFFFFFF) >> (64 - FEATURE_BITS)


def token_id(token: str) -> int:
    """A token's column (0 … `N_FEATURES` - 1, the same in every process, so the stored
    features stay valid): its CRC-32's low bits; a word pair's ("token merging") is mixed
    from its two words' CRC-32s (`_pair_col`), so that a batch makes it in numpy."""
    if " " in token and token[0] not in "@#":
        a, b = token.split(" ")
        return _pair_col(_crc(a), _crc(b))
    return _crc(token) & (N_FEATURES - 1)


class _WordHashes(dict):  # type: ignore[type-arg]
    """word → its CRC-32, made once per word; -1 for a stop word or a one-letter word."""

    def __init__(self, stop: frozenset[str]) -> None:
        super().__init__()
        self.stop = stop

    def __missing__(self, word: str) -> int:
        value = -1 if len(word) < 2 or word in self.stop else _crc(word)
        self[word] = value
        return value


class _Hashes(dict):  # type: ignore[type-arg]
    """token → its CRC-32, made once per token."""

    def __missing__(self, token: str) -> int:
        value = self[token] = _crc(token)
        return value


class _NameHashes(dict):  # type: ignore[type-arg]
    """an author's name as the record writes it → the CRC-32 of its token (``@`` and the
    name folded), made once per name."""

    def __missing__(self, name: str) -> int:
        value = self[name] = _crc("@" + " ".join(fold(name).split()))
        return value


_MEMO: list[Any] = []  # the three memos of this process (the vocabulary repeats)


def _memo() -> tuple[_WordHashes, _Hashes, _NameHashes]:
    if not _MEMO or sum(map(len, _MEMO)) > 2_000_000:
        _MEMO[:] = [_WordHashes(_stop_words()), _Hashes(), _NameHashes()]
    return _MEMO[0], _MEMO[1], _MEMO[2]


def features_of(docs: Iterable[Mapping[str, Any]]) -> list[tuple[bytes, bytes]]:
    """The features of paper records (dicts as `Library.record` gives them), one
    ``(columns, counts)`` each as the cache stores them (``feat`` table): the columns of
    its `tokens` (`token_id`, sorted, unique, little-endian int32) and how often each
    occurs (little-endian uint16, at most 65535). The same as ``[features(d) for d in
    docs]``, made a batch at a time: each distinct word hashed once, the word pairs, the
    counting and sorting in numpy."""
    import numpy as np

    words, hashes, names = _memo()
    get_word, get_hash = words.__getitem__, hashes.__getitem__
    find = _WORD.findall
    stream: list[int] = []  # every field's word hashes (-1: a stop word), SEP after each field
    single: list[int] = []  # the hashes of tokens that make no pairs (authors, categories, Chinese)
    n_stream: list[int] = []
    n_single: list[int] = []
    for doc in docs:
        s0, e0 = len(stream), len(single)
        get = doc.get
        title = list(map(get_word, find((get("title") or "").lower())))
        stream += title
        stream.append(_SEP)
        stream += title  # (the title counts twice)
        stream.append(_SEP)
        stream += map(get_word, find((get("abstract") or "").lower()))
        stream.append(_SEP)
        for kw in get("keywords") or ():
            if isinstance(kw, str):
                stream += map(get_word, find(kw.lower()))
                stream.append(_SEP)
        for name in get("authors") or ():
            if isinstance(name, str) and name.strip():
                single.append(names[name])
        for cat in get("categories") or ():
            if isinstance(cat, str) and cat.strip():
                single.append(get_hash("#" + cat.strip().lower()))
        for i, key in enumerate(_ZH_FIELDS + _ZH_MORE):
            text = get(key)
            if not text or not isinstance(text, str) or text.isascii():
                continue
            for run in CJK_RUN.findall(text):  # (each run's bigrams; a run of one: itself)
                made = list(map(get_hash, map(add, run, run[1:]) if len(run) > 1 else (run,)))
                single += made * 2 if i == 0 else made  # (the Chinese title counts twice too)
        n_stream.append(len(stream) - s0)
        n_single.append(len(single) - e0)
    n = len(n_stream)
    if not n:
        return []
    s = np.array(stream, dtype=np.int64)
    at = np.repeat(np.arange(n, dtype=np.int64), n_stream)
    kept = s != -1  # (the pairs are of neighbours once the stop words are out)
    k, kat = s[kept], at[kept]
    both = (k[:-1] >= 0) & (k[1:] >= 0)
    word = s >= 0
    mask = N_FEATURES - 1
    cols = np.concatenate(
        [
            s[word] & mask,
            _pair_cols(k[:-1][both], k[1:][both]),
            np.array(single, dtype=np.int64) & mask,
        ]
    )
    paper = np.concatenate(
        [at[word], kat[:-1][both], np.repeat(np.arange(n, dtype=np.int64), n_single)]
    )
    keys, counts = np.unique((paper << FEATURE_BITS) | cols, return_counts=True)
    bounds = np.searchsorted(keys >> FEATURE_BITS, np.arange(n + 1)).tolist()
    col_bytes = (keys & mask).astype("<i4")
    count_bytes = np.minimum(counts, 65535).astype("<u2")
    return [
        (col_bytes[a:b].tobytes(), count_bytes[a:b].tobytes())
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]


def _pair_cols(a: Any, b: Any) -> Any:
    """`_pair_col` over numpy arrays of CRC-32s (int64), as int64 columns."""
    import numpy as np

    key = (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)
    return ((key * np.uint64(_MIX)) >> np.uint64(64 - FEATURE_BITS)).astype(np.int64)


def features(doc: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """A paper record's features as the cache stores them (`features_of`)."""
    return features_of([doc])[0]


def inputs(rows: list[tuple[bytes, bytes]], idf: Any = None) -> tuple[Any, Any]:
    """`matrix` of stored features (`features`), one row each."""
    import numpy as np

    lengths = np.fromiter((len(c) // 4 for c, _ in rows), dtype=np.int64, count=len(rows))
    cols = np.frombuffer(b"".join(c for c, _ in rows), dtype="<i4")
    counts = np.frombuffer(b"".join(k for _, k in rows), dtype="<u2")
    return matrix(lengths, cols, counts, idf)


def matrix(lengths: Any, cols: Any, counts: Any, idf: Any = None) -> tuple[Any, Any]:
    """The classifier's input made from the stored features of n papers, concatenated
    (numpy arrays: ``lengths``, n elements a paper has; ``cols``, int32 columns; ``counts``,
    uint16): tf-idf ((1 + log tf) · idf, each row of unit length) as a float32 scipy CSR
    matrix, n × `N_FEATURES`, without the columns whose idf is 0; and the idf (numpy
    float32, `N_FEATURES` long). Without ``idf``, it is made from these papers: smoothed, 0
    for a token in no paper, and, when there are 50 papers or more, for one in fewer than 2
    or in more than half of them."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    n = len(lengths)
    if idf is None:
        df = np.bincount(cols, minlength=N_FEATURES)
        idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        idf[(df < 2) | (df > n // 2) if n >= 50 else df == 0] = 0
    global _LOG_TF
    if _LOG_TF is None:
        _LOG_TF = (np.log(np.maximum(np.arange(65536, dtype=np.float32), 1)) + 1).astype(np.float32)
    index = np.int32 if len(cols) < 2**31 else np.int64
    indptr = np.zeros(n + 1, dtype=index)
    np.cumsum(lengths, out=indptr[1:])
    cols = np.array(cols, dtype=index)  # (a copy of our own: eliminate_zeros writes to it)
    data = idf[cols]
    data *= _LOG_TF[counts]
    x = csr_matrix((data, cols, indptr), shape=(n, N_FEATURES))
    x.eliminate_zeros()  # (the tokens left out, their idf 0)
    return normalize(x, copy=False), idf


_LOG_TF: Any = None  # 1 + log(count) for every count a feature row can hold (float32)


def describe(terms: list[str], doc: Mapping[str, Any], kept: str = "stars") -> str:
    """The explanation line of ``terms`` (tokens as `tokens` makes them) for a paper record:
    authors and categories as the record spells them, words in the case the title or
    abstract writes them."""
    if not terms:
        return ""
    text = "\n".join([doc.get("title") or "", doc.get("abstract") or ""])
    spans: list[tuple[str, int, int]] | None = None
    shown = []
    runs = _chinese_runs([t for t in terms if CJK_RUN.fullmatch(t)], doc)
    for t in terms:
        if t in runs:  # (Chinese: the bigrams of one word as the word, "扩散模型", once)
            if runs[t]:
                shown.append(runs[t])
        elif t.startswith("@"):
            name = next(
                (
                    a
                    for a in doc.get("authors") or ()
                    if isinstance(a, str) and "@" + " ".join(fold(a).split()) == t
                ),
                t[1:],
            )
            shown.append(f"author {name}")
        elif t.startswith("#"):
            cat = next(
                (
                    c
                    for c in doc.get("categories") or ()
                    if isinstance(c, str) and "#" + c.lower() == t
                ),
                t[1:],
            )
            shown.append(f"category {cat}")
        elif "-" in t or "'" in t:  # (a word of several: "re-compute")
            words = [re.escape(w) for w in t.split(" ")]
            m = re.search(r"\b" + r"\W+".join(words) + r"\b", text, re.IGNORECASE)
            shown.append(" ".join(m.group().split()) if m else t)
        else:  # (the same search, over the text's words: no pattern made for each term)
            if spans is None:
                spans = [(m.group().lower(), m.start(), m.end()) for m in _TEXT_WORD.finditer(text)]
            found = _written(t.split(" "), text, spans)
            shown.append(" ".join(found.split()) if found else t)
    return f"matches your {kept}: " + ", ".join(shown)


_TEXT_WORD = re.compile(r"\w+")


def _chinese_runs(bigrams: list[str], doc: Mapping[str, Any]) -> dict[str, str]:
    """The Chinese terms of an explanation (character bigrams, `features`) as the paper's
    Chinese text writes them together: bigrams that overlap where the text has them one
    after the other are one stretch ("扩散", "散模", "模型" → "扩散模型", not three terms of
    which "散模" is half of two words). Each bigram → the stretch it is shown as, for the
    first of the stretch's bigrams in ``bigrams``' order, "" for the others; a bigram the
    text does not write (a one-character run) as it is."""
    if len(bigrams) < 2:
        return {b: b for b in bigrams}
    texts = (doc.get(key) for key in _ZH_FIELDS + _ZH_MORE)
    zh = "\n".join(t for t in texts if isinstance(t, str))  # (as `features` reads it)
    wanted = set(bigrams)
    stretches: list[tuple[int, int]] = []  # [start, end) in zh, in order
    for i in range(len(zh) - 1):
        if zh[i : i + 2] in wanted:
            if stretches and stretches[-1][1] >= i + 1:
                stretches[-1] = (stretches[-1][0], i + 2)
            else:
                stretches.append((i, i + 2))
    shown: dict[str, str] = {}
    for start, end in stretches:
        inside = [b for b in bigrams if b not in shown and b in zh[start:end]]
        if len(inside) > 1:  # (a stretch of one bigram is shown where its own turn is)
            for b in inside:
                shown[b] = ""
            shown[inside[0]] = zh[start:end]
    return {b: shown.get(b, b) for b in bigrams}


def _written(words: list[str], text: str, spans: list[tuple[str, int, int]]) -> str | None:
    """The first place ``text`` writes ``words`` (lower case) one after the other with only
    spaces or punctuation between (``spans``: its words, lower case, with where each starts
    and ends), each word as it writes it, one space between; None when it does not."""
    stop = _stop_words()
    first = words[0]
    for i, (word, _, _) in enumerate(spans):
        if word != first:
            continue
        at, ok = i, True
        for w in words[1:]:  # (a pair is of neighbours once the stop words are out)
            at += 1
            while at < len(spans) and spans[at][0] in stop and spans[at][0] != w:
                at += 1
            if at >= len(spans) or spans[at][0] != w:
                ok = False
                break
        if ok:
            # (each word as written, one space between: "(DiT) architecture" gives "DiT
            # architecture", not half a pair of parentheses; "Model through Unified" for
            # the pair "model unified", as the paper writes it)
            return " ".join(text[s:e] for _, s, e in spans[i : at + 1])
    return None


def _kept(labels: Labels) -> str:
    parts = [
        name
        for name, n in (("stars", labels.starred), ("tags", labels.tagged), ("notes", labels.noted))
        if n
    ]
    if labels.seeded:
        parts.append("seeds")
    if not parts:
        return "picks"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def cold_start(labels: Labels) -> str | None:
    """Why there is no model for ``labels`` (a one-line reason), None when there is one."""
    decided = len(labels.label)
    if labels.yes == 0:
        return f"for you: feed order until you star, tag or note a paper ({decided} decided so far)"
    if decided < MIN_DECISIONS:
        return (
            f"for you: feed order until {MIN_DECISIONS} papers are decided "
            f"({decided} so far: star, tag or note what you keep, mark read what you skip)"
        )
    return None


def fit(
    feats: list[tuple[bytes, bytes]],
    ids: list[str],
    labels: Labels,
    *,
    skip_weight: float = SKIP_WEIGHT,
    c: float = C,
    solver: str = "liblinear",
) -> tuple[Model, Any]:
    """Train on the stored features ``feats`` of the papers ``ids`` (every one informs the
    words' weights); the model and the classifier's input of every paper (`inputs`, row i
    for ``ids[i]``). When none of the labels is a "no", the unlabelled papers stand for the
    "no" (as arxiv-sanity-lite trains). ``solver``: "liblinear" (logistic regression, the
    one used) or "sgd" (faster, worse: bench/RESULTS.md). NothingToLearn (a ValueError)
    when there is no "yes" (or nothing at all to stand for a "no") among ``ids``."""
    x, idf = inputs(feats)
    return fit_matrix(x, idf, ids, labels, skip_weight=skip_weight, c=c, solver=solver), x


def fit_matrix(
    x: Any,
    idf: Any,
    ids: list[str],
    labels: Labels,
    *,
    skip_weight: float = SKIP_WEIGHT,
    c: float = C,
    solver: str = "liblinear",
) -> Model:
    """`fit` on the classifier's input ``x`` already made (`matrix`: row i for ``ids[i]``)
    with its ``idf``: the model."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    # 1: "yes", 0: "no", -1: not decided
    coded = {pid: int(v) for pid, v in labels.label.items()}
    y_all = np.array(list(map(coded.get, ids, itertools.repeat(-1))), dtype=np.int8)
    has_no = bool((y_all == 0).any())
    rows = np.flatnonzero(y_all >= 0) if has_no else np.arange(len(ids))
    y = (y_all[rows] == 1).astype(np.int64)
    if not y.any():
        raise NothingToLearn("for you: feed order: no paper you kept to learn from")
    if y.all():
        raise NothingToLearn(
            "for you: feed order: every paper is one you kept (starred, tagged or noted): "
            "none to tell them from"
        )
    weight = np.where(y == 1, 1.0, skip_weight)
    # The classes balanced by hand, so that the skips' own weight stays relative.
    yes_w, no_w = weight[y == 1].sum(), weight[y == 0].sum()
    weight *= np.where(y == 1, len(y) / (2 * yes_w), len(y) / (2 * no_w))
    if solver == "sgd":
        from sklearn.linear_model import SGDClassifier

        clf = SGDClassifier(loss="log_loss", alpha=1e-5 / c, max_iter=10, tol=None, random_state=0)
        clf.fit(x[rows], y, sample_weight=weight)
        return Model(idf, clf, _kept(labels))
    # (the dual solver: many more columns than papers, 5x faster than the primal one)
    clf = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=500)
    clf.fit(x[rows], y, sample_weight=weight)
    return Model(idf, clf, _kept(labels))


def train(docs: Mapping[str, Mapping[str, Any]], labels: Labels, **options: Any) -> Model:
    """A model trained on the labelled records of ``docs`` (paper id → record), as `fit`."""
    ids = list(docs)
    return fit([features(docs[pid]) for pid in ids], ids, labels, **options)[0]


class NothingToLearn(ValueError):
    """The decisions cannot train a model (no "yes", or nothing to stand for a "no"): its
    message is the reason line shown instead."""


@dataclass
class Ranking:
    """A model's ranking of a library's unread papers: scores (paper id → score, larger
    first), the explanation of the best `EXPLAINED` (paper id → line), the reason line
    ("for you: trained on 12 kept and 40 skipped papers" or the cold-start reason),
    whether a model was trained, and the seconds it took."""

    scores: dict[str, float] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    trained: bool = False
    seconds: float = 0.0


def with_seeds(labels: Labels, seeded: Iterable[str]) -> Labels:
    """``labels`` with the papers ``seeded`` a "yes" where the reader has not decided."""
    out = Labels(dict(labels.label), labels.starred, labels.tagged, labels.noted)
    for pid in seeded:
        if pid not in out.label:
            out.label[pid] = True
            out.seeded += 1
    return out


def rank_features(
    feats: Mapping[str, tuple[bytes, bytes]],
    labels: Labels,
    unread: Iterable[str],
    documents: Callable[[list[str]], Mapping[str, Mapping[str, Any]]],
    explained: int = EXPLAINED,
    **options: Any,
) -> Ranking:
    """Train on ``labels`` over the stored features of papers (paper id → `features`) and
    score the ``unread`` ones among them; the best ``explained`` are explained, their records
    read through ``documents`` (ids → records). Cold start (`cold_start`): no scores, the
    reason says why. ``options``: `fit`'s (skip_weight, c)."""
    import numpy as np

    t0 = time.perf_counter()
    reason = cold_start(labels)
    if reason is not None:
        return Ranking(reason=reason, seconds=time.perf_counter() - t0)
    every = list(feats)
    x, idf = inputs([feats[pid] for pid in every])
    at = {pid: i for i, pid in enumerate(every)}
    scored = np.array([at[pid] for pid in dict.fromkeys(unread) if pid in at], dtype=np.int64)
    ranking = _rank(x, idf, every, labels, scored, documents, explained, **options)
    ranking.seconds = time.perf_counter() - t0
    return ranking


def _rank(
    x: Any,
    idf: Any,
    ids: list[str],
    labels: Labels,
    scored: Any,
    documents: Callable[[list[str]], Mapping[str, Mapping[str, Any]]],
    explained: int = EXPLAINED,
    **options: Any,
) -> Ranking:
    """The ranking of the papers ``ids[i]`` for i in ``scored`` (numpy int array) by the
    model `fit_matrix` trains on ``x`` (`matrix`, row i for ``ids[i]``) and ``labels``:
    every row scored with one sparse matrix-vector product, the best ``explained``
    explained (their records read through ``documents``)."""
    import numpy as np

    try:
        model = fit_matrix(x, idf, ids, labels, **options)
    except NothingToLearn as err:
        return Ranking(reason=str(err))
    clf = model.classifier
    values = (x @ clf.coef_[0].astype(np.float32) + np.float32(clf.intercept_[0]))[scored]
    scored_ids = [ids[i] for i in scored.tolist()]
    scores = dict(zip(scored_ids, values.tolist(), strict=True))
    why: dict[str, str] = {}
    # (explained: the best, and only those the model leans towards: a paper it scores
    # below 0 is more like what was skipped, and "matches your stars" would be untrue)
    best = [i for i in np.argsort(-values, kind="stable")[:explained].tolist() if values[i] > 0]
    docs = documents([scored_ids[i] for i in best]) if best else {}
    for i in best:
        pid = scored_ids[i]
        doc = docs.get(pid)
        if doc is not None:
            line = describe(model.terms(x[int(scored[i])], doc), doc, model.kept)
            if line:
                why[pid] = line
    reason = f"for you: trained on {labels.yes} kept and {labels.no} skipped papers"
    return Ranking(scores, why, reason, True)


def rank(
    docs: Mapping[str, Mapping[str, Any]],
    labels: Labels,
    unread: Iterable[str],
    seeds: Seeds = NO_SEEDS,
    explained: int = EXPLAINED,
    memo: dict[str, tuple[bytes, bytes]] | None = None,
    **options: Any,
) -> Ranking:
    """`rank_features` over paper records (paper id → record): their features made (and
    kept in ``memo`` when given, by id), the records ``seeds`` match a "yes" where the
    reader has not decided."""
    if seeds:
        labels = with_seeds(labels, [pid for pid, doc in docs.items() if seeds.match(doc)])
    if cold_start(labels) is not None:
        return rank_features({}, labels, (), dict)
    memo = {} if memo is None else memo
    new = [pid for pid in docs if pid not in memo]
    memo.update(zip(new, features_of([docs[pid] for pid in new]), strict=True))
    return rank_features(
        {pid: memo[pid] for pid in docs},
        labels,
        unread,
        lambda ids: {p: docs[p] for p in ids},
        explained,
        **options,
    )


BATCH = 5000  # papers whose features are made (and stored) at a time


def rank_library(
    lib: Library, seeds: Seeds = NO_SEEDS, progress: Callable[[int, int], None] | None = None
) -> Ranking:
    """The ranking of a library's unread papers by a model trained on its states (and
    ``seeds``) over every paper (as `rank_features`). The papers' features are read from
    the cache in one statement; those of papers it has none for yet (under this
    `FEATURES_VERSION`) are made from their records, `BATCH` at a time, and stored when the
    library can be written: a library's first training reads every record, the later ones
    only the new papers'. ``progress(done, total)`` is called before the first batch of
    those (done 0) and after each."""
    import numpy as np

    t0 = time.perf_counter()
    labels = library_labels(lib)
    if seeds:
        labels = with_seeds(labels, lib.seeded(seeds.authors, seeds.arxiv, seeds.match))
    reason = cold_start(labels)
    if reason is not None:  # (nothing to read: no model)
        return Ranking(reason=reason, seconds=time.perf_counter() - t0)
    ids, read, cols, counts = lib.feature_rows(FEATURES_VERSION)
    missing = [i for i, c in enumerate(cols) if c is None]
    if missing and progress is not None:
        progress(0, len(missing))
    for start in range(0, len(missing), BATCH):
        part = missing[start : start + BATCH]
        docs = lib.documents([ids[i] for i in part])
        part = [i for i in part if ids[i] in docs]  # (a record that cannot be read: left out)
        made = features_of([docs[ids[i]] for i in part])
        for i, (c, k) in zip(part, made, strict=True):
            cols[i], counts[i] = c, k
        if not lib.read_only:
            lib.store_features(
                {ids[i]: f for i, f in zip(part, made, strict=True)}, FEATURES_VERSION
            )
        if progress is not None:
            progress(min(start + BATCH, len(missing)), len(missing))
    if missing:
        have = [i for i, c in enumerate(cols) if c is not None]
        if len(have) < len(ids):
            ids = [ids[i] for i in have]
            read = [read[i] for i in have]
            cols = [cols[i] for i in have]
            counts = [counts[i] for i in have]
    lengths = np.fromiter(map(len, cols), dtype=np.int64, count=len(cols)) // 4
    x, idf = matrix(
        lengths,
        np.frombuffer(b"".join(cols), dtype="<i4"),
        np.frombuffer(b"".join(counts), dtype="<u2"),
    )
    unread = np.flatnonzero(np.array(read, dtype=np.int8) == 0)
    ranking = _rank(x, idf, ids, labels, unread, lib.documents)
    ranking.seconds = time.perf_counter() - t0
    return ranking


def refresh(
    lib: Library, seeds: Seeds = NO_SEEDS, progress: Callable[[int, int], None] | None = None
) -> Ranking:
    """Train and store (`Library.store_scores`): what the app's worker and `papertui list
    --sort foryou` run (``progress`` as `rank_library`'s). Returns the ranking stored."""
    made_from = fingerprint(lib, seeds)
    ranking = rank_library(lib, seeds, progress)
    lib.store_scores(ranking.scores, ranking.why, ranking.reason, made_from)
    return ranking


def order_note(lib: Library, training: bool = False) -> str:
    """One line saying what the "for you" order shows now: the stored ranking's reason
    line; in a read-only library (no training there: it cannot store), that it shows the
    ranking stored last (said to predate the reader's latest changes when it does: `stale`)
    or, with none stored, the feed order; while a training runs (``training``), that it
    does and what is shown meanwhile."""
    reason = lib.score_info().get("reason") or ""
    if lib.read_only:
        if not reason:
            return "for you: feed order (read-only library: no ranking stored, none trained here)"
        if stale(lib):
            return f"{reason}, before your latest changes (read-only library: not retrained here)"
        return f"{reason} (read-only library: not retrained here)"
    if training:
        meanwhile = "the last ranking" if reason else "feed order"
        return f"for you: the model is training in the background; {meanwhile} until it is done"
    return reason or "for you: the model is trained when you pause"


def fingerprint(lib: Library, seeds: Seeds = NO_SEEDS) -> str:
    """What the stored scores were made from: the reader's triage (`Library.triage_fingerprint`)
    and the config's seeds."""
    return f"{lib.triage_fingerprint()}/{seeds.key()}"


def stale(lib: Library, seeds: Seeds | None = None) -> bool:
    """Whether the stored scores predate the reader's last triage change or the seeds now in
    the config (``seeds``; read from the config file when None), or there are none: the app
    retrains then."""
    if seeds is None:
        seeds = config_seeds()[0]
    return lib.score_info().get("fingerprint") != fingerprint(lib, seeds)


def config_seeds() -> tuple[Seeds, str]:
    """The ``[relevance]`` seeds of the user's config file (`tui.config.config_path`), and
    the one-line problem when it cannot be used ("" when it can; no seeds then)."""
    from .config import ConfigError, config_path, read_config

    path = config_path()
    try:
        return seeds_from_config(read_config(path)), ""
    except FileNotFoundError:
        return NO_SEEDS, ""
    except ConfigError as err:
        return NO_SEEDS, str(err)
    except RelevanceConfigError as err:
        return NO_SEEDS, f"{path}: {err}"


def main(argv: list[str] | None = None) -> int:
    """``python -m tui.relevance LIBRARY``: train and store the "for you" scores of the
    library (`refresh`, the config's seeds) in this process, as the app's worker runs it:
    off the app's process, so no key waits for it. Prints one JSON line: {"reason": …,
    "trained": …, "seconds": …, "problem": the config's problem or ""}. Exit status 1 and
    one line on stderr when the library cannot be used."""
    import json
    import sys

    from .library import Library, LibraryError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tui.relevance LIBRARY", file=sys.stderr)
        return 2
    seeds, problem = config_seeds()
    try:
        lib = Library.open(args[0], create=False)
        lib.agent = "papertui for-you"
        ranking = refresh(lib, seeds)
    except LibraryError as err:
        print(str(err), file=sys.stderr)
        return 1
    out = {
        "reason": ranking.reason,
        "trained": ranking.trained,
        "seconds": round(ranking.seconds, 3),
        "problem": problem,
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
