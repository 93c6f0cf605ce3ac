"""The "for you" order: a model of what this reader keeps, trained on their own triage.

Every triage decision is a label, without an extra keypress: a paper starred, tagged or with
a note is a "yes"; a paper marked read without any of those is a "no" (a skip). The config
file's ``[relevance]`` table may add "yes" seeds before the reader has decided much::

    [relevance]
    authors = ["Kaiming He"]        # papers with one of these authors count as "yes"
    arxiv = ["2406.01234"]          # and these papers

Features: tf-idf over one bag of tokens per paper: the words and word pairs of the title
(counted twice) and abstract (and HF keywords), each author as one token (``@kaiming he``),
each category (``#cs.cv``) and the Chinese title and summaries as character bigrams. A
linear classifier (scikit-learn's logistic regression, the classes balanced) scores every
unread paper; its largest contributing terms explain a paper's score.

With fewer than `MIN_DECISIONS` decisions, or none of them a "yes", there is no model: the
order stays the feed's and `Ranking.reason` says why.

scikit-learn and numpy are imported by `train` only: never by the app's start
(tests/test_relevance.py checks that ``import tui.app`` leaves them out).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .library.cache import CJK_RUN, fold

if TYPE_CHECKING:
    from .library import Library

MIN_DECISIONS = 10  # fewer decisions than this: no model (cold start)
EXPLAINED = 500  # the best-ranked papers whose explanation is stored with their score
EXPLAIN_TERMS = 4  # terms named in an explanation (3–5)
# A skip weighs this much against a keep, before the classes are balanced: a skip says less
# ("not today") than a star says ("this one"). bench/relevance.py measured 1.0 best: see there.
SKIP_WEIGHT = 1.0
C = 1.0  # the logistic regression's inverse regularisation (bench/relevance.py)

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


def _identity(value: list[str]) -> list[str]:
    return value


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


def is_yes(state: Mapping[str, Any]) -> bool:
    """Whether a state document says "yes": starred, tagged or with a note."""
    note = state.get("note")
    return bool(
        state.get("starred") or state.get("tags") or (isinstance(note, str) and note.strip())
    )


def labels_of(states: Mapping[str, Mapping[str, Any]]) -> Labels:
    """`Labels` from the state documents by paper id (`Library.states`): "yes" as `is_yes`,
    "no" for a paper read without any of those; other papers are not labelled."""
    out = Labels()
    for pid, state in states.items():
        if is_yes(state):
            out.label[pid] = True
            out.starred += bool(state.get("starred"))
            out.tagged += bool(state.get("tags"))
            note = state.get("note")
            out.noted += bool(isinstance(note, str) and note.strip())
        elif state.get("read"):
            out.label[pid] = False
    return out


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
                if isinstance(name, str) and " ".join(fold(name).split()) in self.authors:
                    return True
        return False

    def __bool__(self) -> bool:
        return bool(self.authors or self.arxiv)


NO_SEEDS = Seeds()


class RelevanceConfigError(ValueError):
    """The ``[relevance]`` table cannot be used: ``str()`` says which key and what it expects."""


def seeds_from_config(config: Mapping[str, Any]) -> Seeds:
    """The seeds of a config document (`tui.config.read_config`): its ``[relevance]`` table's
    ``authors`` and ``arxiv`` lists of strings (either may be absent). RelevanceConfigError
    when one is not a list of strings."""
    table = config.get("relevance") or {}
    if not isinstance(table, Mapping):
        raise RelevanceConfigError("[relevance]: expected a table")
    found: dict[str, frozenset[str]] = {}
    for key in ("authors", "arxiv"):
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RelevanceConfigError(f"[relevance] {key}: expected a list of strings")
        if key == "authors":
            found[key] = frozenset(" ".join(fold(v).split()) for v in value if v.strip())
        else:
            found[key] = frozenset(re.sub(r"v\d+$", "", v.strip()) for v in value if v.strip())
    return Seeds(found["authors"], found["arxiv"])


class Model:
    """A trained model: the tf-idf vectorizer and the classifier. `score` and `explain` take
    paper records (dicts with title, abstract, authors …)."""

    def __init__(self, vectorizer: Any, classifier: Any, kept: str) -> None:
        self.vectorizer = vectorizer
        self.classifier = classifier
        self.kept = kept  # "stars", "stars and tags" …: what the "yes" were
        self._names: Any = None

    def matrix(self, docs: Iterable[Mapping[str, Any]]) -> Any:
        """The tf-idf rows (a scipy CSR matrix) of ``docs``."""
        return self.vectorizer.transform([tokens(d) for d in docs])

    def score(self, docs: Iterable[Mapping[str, Any]]) -> list[float]:
        """The classifier's score of each record (larger: more likely a "yes"; unbounded)."""
        return [float(s) for s in self.classifier.decision_function(self.matrix(docs))]

    def terms(self, row: Any, n: int = EXPLAIN_TERMS) -> list[str]:
        """The tokens contributing most to the score of one tf-idf row (a 1×V CSR matrix),
        largest first, only those that add to it; a word is left out when a pair holding it
        is named."""
        import numpy as np

        if self._names is None:
            self._names = self.vectorizer.get_feature_names_out()
        coef = self.classifier.coef_[0]
        idx = row.indices
        contrib = row.data * coef[idx]
        order = np.argsort(-contrib)
        picked: list[str] = []
        covered: set[str] = set()
        for k in order:
            if contrib[k] <= 0 or len(picked) >= n:
                break
            name = str(self._names[idx[k]])
            if name in covered:
                continue
            picked.append(name)
            if " " in name and not name.startswith("@"):
                covered.update(name.split(" "))
        # (a pair picked after one of its words: the word goes)
        pairs = {w for t in picked if " " in t and not t.startswith("@") for w in t.split(" ")}
        return [t for t in picked if t not in pairs or " " in t]

    def explain(self, doc: Mapping[str, Any], n: int = EXPLAIN_TERMS) -> str:
        """One line saying why ``doc`` scores high ("matches your stars: token merging, DiT,
        author Kaiming He"), the terms written as the paper writes them; "" when no term
        adds to its score."""
        return describe(self.terms(self.matrix([doc])[0], n), doc, self.kept)


def describe(terms: list[str], doc: Mapping[str, Any], kept: str = "stars") -> str:
    """The explanation line of ``terms`` (tokens as `tokens` makes them) for a paper record:
    authors and categories as the record spells them, words in the case the title or
    abstract writes them."""
    if not terms:
        return ""
    text = "\n".join([doc.get("title") or "", doc.get("abstract") or ""])
    shown = []
    for t in terms:
        if t.startswith("@"):
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
        else:
            words = [re.escape(w) for w in t.split(" ")]
            m = re.search(r"\b" + r"\W+".join(words) + r"\b", text, re.IGNORECASE)
            shown.append(" ".join(m.group().split()) if m else t)
    return f"matches your {kept}: " + ", ".join(shown)


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


def train(
    docs: Mapping[str, Mapping[str, Any]],
    labels: Labels,
    *,
    skip_weight: float = SKIP_WEIGHT,
    c: float = C,
) -> Model:
    """A model trained on the labelled records of ``docs`` (paper id → record; every record
    of ``docs`` also informs the tf-idf's word weights). When none of the labels is a "no",
    the unlabelled records of ``docs`` stand for the "no" (as arxiv-sanity-lite trains).
    ValueError when there is no "yes" (or nothing at all to stand for a "no") in ``docs``."""
    ids = list(docs)
    return fit(ids, [tokens(docs[pid]) for pid in ids], labels, skip_weight=skip_weight, c=c)[0]


def fit(
    ids: list[str],
    bags: list[list[str]],
    labels: Labels,
    *,
    skip_weight: float = SKIP_WEIGHT,
    c: float = C,
) -> tuple[Model, Any]:
    """`train` on token bags (`tokens`) of the papers ``ids``: the model and the tf-idf rows
    of every bag (a scipy CSR matrix, row i for ``ids[i]``), so that the papers to rank are
    tokenized once."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=_identity, sublinear_tf=True, min_df=2, max_df=0.5, dtype=_float32()
    )
    if len(ids) < 50:  # (a tiny library: every term counts)
        vectorizer.set_params(min_df=1, max_df=1.0)
    x = vectorizer.fit_transform(bags)
    rows, y, weight = [], [], []
    has_no = any(labels.label.get(pid) is False for pid in ids)
    for i, pid in enumerate(ids):
        v = labels.label.get(pid)
        if v is None and has_no:
            continue
        rows.append(i)
        y.append(1 if v else 0)
        weight.append(1.0 if v else skip_weight)
    if 1 not in y:
        raise ValueError("no paper to learn from is a yes")
    if 0 not in y:
        raise ValueError("no paper to learn from is a no")
    # The classes balanced by hand, so that the skips' own weight stays relative.
    yes_w = sum(w for w, t in zip(weight, y, strict=True) if t)
    no_w = sum(w for w, t in zip(weight, y, strict=True) if not t)
    scale = (len(y) / (2 * no_w), len(y) / (2 * yes_w))
    weight = [w * scale[t] for w, t in zip(weight, y, strict=True)]
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=200)
    clf.fit(x[rows], y, sample_weight=weight)
    return Model(vectorizer, clf, _kept(labels)), x


def _float32() -> Any:
    import numpy as np

    return np.float32


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


def rank(
    docs: Mapping[str, Mapping[str, Any]],
    labels: Labels,
    unread: Iterable[str],
    seeds: Seeds = NO_SEEDS,
    explained: int = EXPLAINED,
    **options: float,
) -> Ranking:
    """Train on ``labels`` (and the records of ``docs`` that ``seeds`` match, as "yes" where
    the reader has not decided) and score the ``unread`` papers of ``docs``. Cold start
    (`cold_start`): no scores, the reason says why. ``options``: `fit`'s (skip_weight, c).
    Explanations are made for the best ``explained`` papers."""
    t0 = time.perf_counter()
    if seeds:
        labels = Labels(dict(labels.label), labels.starred, labels.tagged, labels.noted)
        for pid, doc in docs.items():
            if pid not in labels.label and seeds.match(doc):
                labels.label[pid] = True
                labels.seeded += 1
    reason = cold_start(labels)
    if reason is not None:
        return Ranking(reason=reason, seconds=time.perf_counter() - t0)
    every = list(docs)
    model, x_all = fit(every, [tokens(docs[pid]) for pid in every], labels, **options)
    at = {pid: i for i, pid in enumerate(every)}
    ids = [pid for pid in dict.fromkeys(unread) if pid in at]
    x = x_all[[at[pid] for pid in ids]]
    values = model.classifier.decision_function(x) if ids else []
    scores = {pid: float(v) for pid, v in zip(ids, values, strict=True)}
    why: dict[str, str] = {}
    best = sorted(range(len(ids)), key=lambda i: -values[i])[:explained]
    for i in best:
        line = describe(model.terms(x[i]), docs[ids[i]], model.kept)
        if line:
            why[ids[i]] = line
    reason = f"for you: trained on {labels.yes} kept and {labels.no} skipped papers"
    return Ranking(scores, why, reason, True, time.perf_counter() - t0)


def rank_library(lib: Library, seeds: Seeds = NO_SEEDS) -> Ranking:
    """`rank` over a library: trained on its states, scoring its unread papers (records read
    in bulk from the cache)."""
    t0 = time.perf_counter()
    labels = labels_of(lib.states())
    if not seeds:
        reason = cold_start(labels)
        if reason is not None:  # (nothing to read: no model)
            return Ranking(reason=reason, seconds=time.perf_counter() - t0)
    unread = lib.unread_ids()
    wanted = list(dict.fromkeys([*labels.label, *unread]))
    if seeds:  # (seed papers may be anywhere in the library)
        wanted = list(lib)
    docs = lib.documents(wanted)
    return rank(docs, labels, unread, seeds)


def refresh(lib: Library, seeds: Seeds = NO_SEEDS) -> Ranking:
    """Train and store (`Library.store_scores`): what the app's worker and `papertui list
    --sort foryou` run. Returns the ranking stored."""
    fingerprint = lib.triage_fingerprint()
    ranking = rank_library(lib, seeds)
    lib.store_scores(ranking.scores, ranking.why, ranking.reason, fingerprint)
    return ranking


def stale(lib: Library) -> bool:
    """Whether the stored scores predate the reader's last triage change (or there are
    none): the app retrains then."""
    return lib.score_info().get("fingerprint") != lib.triage_fingerprint()
