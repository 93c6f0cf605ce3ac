"""The "for you" order measured: a simulated reader triages 30 days of generated feeds.

``python bench/relevance.py [--seeds 5] [--days 30] [--per-day 150] [--size 100000]``

The feeds: papers on 12 topics, each topic a handful of subtopics with their own vocabulary
("feature caching", "token merging", "KV cache" …), titles and ~1,000-character abstracts
written from templates as bench/gen.py writes them, 3–6 authors from a pool in which each
author mostly writes on one subtopic, arXiv categories by topic, and a Chinese title and
summary (the topic's and subtopic's Chinese names among stock phrases) on 45% of the papers.

The reader has hidden preferences: three liked subtopics (starred with probability 0.8),
three liked authors (0.7), one topic of mild interest (0.15), anything else 0.02 (noise).
Each day they look at a random 70% of the day's papers, star as above (a fifth of the
stars also tagged), mark the others read, and leave the 30% they did not look at unread.
After each day's triage, each method ranks the next day's papers; the gain of a paper is its
hidden star probability, and it is relevant when that is at least 0.5:

- feed order: the order the feed gives (independent of the reader);
- stars only: arxiv-sanity-lite's method as its code does it (compute.py, serve.py): tf-idf
  over title + abstract + authors (word 1–2-grams, English stop words, min_df 5, max_df 0.5,
  10,000 features, sublinear tf) over every paper, a LinearSVC (C=0.1, balanced) trained on
  every paper with the starred ones positive and all others (the next day's included)
  negative;
- papertui: tui/relevance.py as the app runs it (stars, tags, notes "yes"; read-only "no";
  papers not looked at left out; cold start below 10 decisions → feed order).

precision@10 and nDCG@20 are averaged over the 30 days and the seeds. ``--size`` times
tui/relevance.py's `rank` (tokens, tf-idf, training, scoring every unread paper, the best
500 explained) on that many generated papers, 30% of them decided.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui import relevance  # noqa: E402

# topic: (category, Chinese name, {subtopic: (phrases, Chinese name)})
TOPICS: dict[str, tuple[str, str, dict[str, tuple[list[str], str]]]] = {
    "diffusion models": (
        "cs.CV",
        "扩散模型",
        {
            "caching": (
                ["feature caching", "cache reuse", "DiT acceleration", "step skipping"],
                "特征缓存",
            ),
            "token merging": (
                ["token merging", "token pruning", "ToMe", "redundant tokens"],
                "令牌合并",
            ),
            "distillation": (
                [
                    "consistency distillation",
                    "few-step sampling",
                    "teacher model",
                    "score distillation",
                ],
                "蒸馏",
            ),
            "guidance": (
                [
                    "classifier-free guidance",
                    "guidance scale",
                    "conditional sampling",
                    "reward guidance",
                ],
                "引导",
            ),
            "flow matching": (
                ["flow matching", "rectified flow", "velocity field", "optimal transport"],
                "流匹配",
            ),
        },
    ),
    "language models": (
        "cs.CL",
        "语言模型",
        {
            "kv cache": (
                ["KV cache", "cache compression", "long-context decoding", "attention sinks"],
                "键值缓存",
            ),
            "reasoning": (
                ["chain-of-thought", "reasoning traces", "test-time compute", "self-consistency"],
                "推理",
            ),
            "alignment": (["preference optimization", "RLHF", "reward model", "DPO"], "对齐"),
            "quantization": (
                ["weight quantization", "4-bit inference", "outlier channels", "GPTQ"],
                "量化",
            ),
            "agents": (["tool use", "web agents", "planning loop", "function calling"], "智能体"),
        },
    ),
    "video generation": (
        "cs.CV",
        "视频生成",
        {
            "long video": (
                ["long video", "temporal consistency", "autoregressive frames", "minute-long"],
                "长视频",
            ),
            "camera control": (
                ["camera control", "camera trajectory", "viewpoint conditioning", "motion control"],
                "相机控制",
            ),
            "sparse attention": (
                ["sparse attention", "attention sparsity", "block-sparse kernels", "video tokens"],
                "稀疏注意力",
            ),
        },
    ),
    "3D reconstruction": (
        "cs.CV",
        "三维重建",
        {
            "gaussian splatting": (
                ["Gaussian splatting", "3DGS", "splat densification", "rasterization"],
                "高斯溅射",
            ),
            "nerf": (
                ["neural radiance fields", "NeRF", "volume rendering", "ray marching"],
                "神经辐射场",
            ),
            "slam": (
                ["visual SLAM", "pose estimation", "loop closure", "dense mapping"],
                "同步定位与建图",
            ),
        },
    ),
    "reinforcement learning": (
        "cs.LG",
        "强化学习",
        {
            "offline rl": (
                ["offline RL", "conservative Q-learning", "behaviour cloning", "dataset shift"],
                "离线强化学习",
            ),
            "exploration": (
                [
                    "intrinsic motivation",
                    "curiosity bonus",
                    "exploration strategy",
                    "sparse rewards",
                ],
                "探索",
            ),
            "world models": (
                ["world model", "latent dynamics", "model-based planning", "imagined rollouts"],
                "世界模型",
            ),
        },
    ),
    "robot manipulation": (
        "cs.RO",
        "机器人操作",
        {
            "vla": (
                ["vision-language-action", "VLA policy", "robot foundation model", "action tokens"],
                "视觉语言动作",
            ),
            "dexterous": (
                ["dexterous hand", "in-hand manipulation", "tactile sensing", "grasp synthesis"],
                "灵巧操作",
            ),
            "imitation": (
                ["imitation learning", "teleoperation data", "diffusion policy", "demonstrations"],
                "模仿学习",
            ),
        },
    ),
    "retrieval": (
        "cs.IR",
        "检索",
        {
            "rag": (
                ["retrieval-augmented generation", "RAG", "retrieved passages", "grounded answers"],
                "检索增强生成",
            ),
            "dense retrieval": (
                ["dense retrieval", "bi-encoder", "hard negatives", "embedding index"],
                "稠密检索",
            ),
            "reranking": (
                [
                    "cross-encoder reranking",
                    "listwise reranking",
                    "relevance labels",
                    "LLM reranker",
                ],
                "重排序",
            ),
        },
    ),
    "graph neural networks": (
        "cs.LG",
        "图神经网络",
        {
            "oversmoothing": (
                ["oversmoothing", "deep GNNs", "residual message passing", "over-squashing"],
                "过平滑",
            ),
            "molecules": (
                [
                    "molecular graphs",
                    "property prediction",
                    "equivariant networks",
                    "drug discovery",
                ],
                "分子图",
            ),
        },
    ),
    "speech recognition": (
        "eess.AS",
        "语音识别",
        {
            "asr": (
                ["end-to-end ASR", "CTC decoding", "word error rate", "streaming recognition"],
                "端到端识别",
            ),
            "tts": (
                ["text-to-speech", "speech synthesis", "neural codec", "voice cloning"],
                "语音合成",
            ),
        },
    ),
    "federated learning": (
        "cs.LG",
        "联邦学习",
        {
            "privacy": (
                [
                    "differential privacy",
                    "secure aggregation",
                    "privacy budget",
                    "gradient leakage",
                ],
                "隐私",
            ),
            "heterogeneity": (
                [
                    "client heterogeneity",
                    "non-IID data",
                    "personalized federated learning",
                    "client drift",
                ],
                "异构",
            ),
        },
    ),
    "image segmentation": (
        "cs.CV",
        "图像分割",
        {
            "sam": (
                ["segment anything", "SAM", "promptable segmentation", "mask decoder"],
                "分割一切",
            ),
            "medical": (
                ["medical image segmentation", "CT scans", "organ masks", "U-Net"],
                "医学图像分割",
            ),
        },
    ),
    "efficient inference": (
        "cs.LG",
        "高效推理",
        {
            "speculative": (
                ["speculative decoding", "draft model", "acceptance rate", "parallel decoding"],
                "推测解码",
            ),
            "serving": (
                ["LLM serving", "batch scheduling", "prefill disaggregation", "throughput"],
                "推理服务",
            ),
            "pruning": (
                ["structured pruning", "sparsity", "layer dropping", "mixture of experts"],
                "剪枝",
            ),
        },
    ),
}
TOPIC_WEIGHTS = [14, 16, 7, 7, 8, 6, 6, 5, 4, 3, 6, 8]
ADJS = (
    "efficient scalable robust unified lightweight hierarchical adaptive multimodal "
    "self-supervised zero-shot training-free generalizable compositional temporal latent"
).split()
NOUNS = (
    "framework method approach benchmark encoder decoder objective architecture pipeline "
    "module baseline estimator scheduler backbone adapter planner prior"
).split()
VERBS = "improves reduces outperforms enables accelerates stabilizes simplifies extends".split()
METRICS = "accuracy latency FID PSNR throughput recall BLEU success-rate memory cost".split()
SENTENCES = [
    "Existing {n}s for {T} struggle with {s} because they rely on {a} {n}s that do not scale.",
    "To address this, we propose a {a} {n} built on {s} that {v} {T} without extra supervision.",
    "Our {n} {v} the state of the art on {k} benchmarks while using {k}x less compute.",
    "We further introduce {s} and a {a} {n} that together improve {m} by {k} points.",
    "Extensive experiments on {T} show that {s} {v} strong {a} baselines.",
    "A theoretical analysis shows that the {a} {n} converges under mild assumptions.",
    "We release code and a {a} {n} to facilitate research on {o}.",
    "Ablations confirm that {s} {v} {m}, especially in {a} settings.",
    "Unlike prior work on {o}, our {n} is {a} and {a}, and it {v} {T} in real time.",
]
ZH_STOCK = [
    "本文提出了一种新的框架",
    "显著提升了生成质量与推理效率",
    "在多个公开基准上的实验表明",
    "该方法无需额外训练且即插即用",
    "相比现有基线实现了明显的加速",
    "有效降低了计算与存储开销",
    "进一步的消融实验验证了各组件的有效性",
]
FIRST = (
    "Wei Jing Yu Hao Xin Lei Yang Min Alice John Maria Ahmed Priya Lukas Sofia Kenji Omar "
    "Elena David Sara Tom Anna Ravi Chen Kaiming Yann Ilya Fei"
).split()
LAST = (
    "Zhang Wang Li Liu Chen Yang Huang Zhao Wu Zhou Smith Johnson Garcia Kumar Müller Rossi "
    "Tanaka Kim Nguyen Ivanov Silva Cohen Novak Dubois He Xie Lin Sun"
).split()
SYL = "ka ro mi ne su ta vo li da xe po qu zen fa gi lo ru be".split()

SUBS = [(t, s) for t, (_, _, subs) in TOPICS.items() for s in subs]


class World:
    """The generator of one seed: authors with home subtopics, papers day by day."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        names = list(dict.fromkeys(f"{f} {la}" for f in FIRST for la in LAST))
        rng.shuffle(names)
        self.authors = names[:700]
        self.home = {a: rng.choice(SUBS) for a in self.authors}
        self.by_sub: dict[tuple[str, str], list[str]] = {}
        for a, sub in self.home.items():
            self.by_sub.setdefault(sub, []).append(a)
        self.n = 0

    def paper(self, day: int) -> dict[str, Any]:
        rng = self.rng
        topic = rng.choices(list(TOPICS), TOPIC_WEIGHTS)[0]
        cat, zh_topic, subs = TOPICS[topic]
        sub = rng.choice(list(subs))
        phrases, zh_sub = subs[sub]
        other_t = rng.choices(list(TOPICS), TOPIC_WEIGHTS)[0]
        other_sub = rng.choice(list(TOPICS[other_t][2]))
        other = rng.choice(TOPICS[other_t][2][other_sub][0])
        self.n += 1
        name = "".join(rng.choice(SYL) for _ in range(3)).capitalize()
        # (a fifth of the papers are mostly about the topic, their subtopic named once)
        vague = rng.random() < 0.2
        fill = {
            "n": lambda: rng.choice(NOUNS),
            "a": lambda: rng.choice(ADJS),
            "v": lambda: rng.choice(VERBS),
            "T": lambda: topic,
            "s": lambda: topic if vague else rng.choice(phrases),
            "o": lambda: other if rng.random() < 0.5 else topic,
            "k": lambda: str(rng.randint(2, 12)),
            "m": lambda: rng.choice(METRICS),
        }
        first = rng.choice(phrases)
        title = rng.choice(
            [
                f"{name}: {rng.choice(ADJS).capitalize()} {first} for {topic}",
                f"{name}: {first.capitalize() if first.islower() else first} with "
                f"{rng.choice(ADJS)} {rng.choice(NOUNS)}s",
                f"Towards {rng.choice(ADJS)} {topic}: {first} at scale",
                f"{name}: {rng.choice(ADJS).capitalize()} {rng.choice(NOUNS)}s for {topic}",
            ]
        )
        sents = [f"We present {name}, a {rng.choice(ADJS)} {rng.choice(NOUNS)} for {topic}."]
        while sum(len(s) for s in sents) < rng.randint(800, 1200):
            tpl = rng.choice(SENTENCES)
            sents.append(
                "".join(
                    fill[part[1]]() + part[3:] if part.startswith("{") else part
                    for part in _split(tpl)
                )
            )
        k = rng.randint(3, 6)
        pool = self.by_sub.get((topic, sub)) or self.authors
        authors = [
            rng.choice(pool) if rng.random() < 0.6 else rng.choice(self.authors) for _ in range(k)
        ]
        doc: dict[str, Any] = {
            "id": f"d{day:02d}-{self.n:06d}",
            "title": title,
            "abstract": " ".join(sents),
            "authors": list(dict.fromkeys(authors)),
            "categories": [cat] + ([rng.choice(["cs.LG", "cs.AI"])] if rng.random() < 0.5 else []),
            "_topic": topic,
            "_sub": (topic, sub),
        }
        if rng.random() < 0.45:
            doc["title_zh"] = f"面向{zh_topic}的{zh_sub}方法：{name}"
            doc["contribution_zh"] = "，".join(
                [f"针对{zh_topic}中的{zh_sub}问题", *rng.sample(ZH_STOCK, 3)]
            )
        return doc


def _split(tpl: str) -> list[str]:
    """A template cut into text and slots ("{x}" followed by the text up to the next slot)."""
    parts = tpl.split("{")
    return [parts[0]] + ["{" + p for p in parts[1:]]


class Reader:
    """Hidden preferences: liked subtopics, liked authors, a topic of mild interest."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.subs = set(rng.sample(SUBS, 3))
        self.authors = set(rng.sample(world.authors, 3))
        self.topic = rng.choice(list(TOPICS))

    def p_star(self, doc: dict[str, Any]) -> float:
        p = 0.02
        if doc["_topic"] == self.topic:
            p = 0.15
        if self.authors & set(doc["authors"]):
            p = max(p, 0.7)
        if doc["_sub"] in self.subs:
            p = max(p, 0.8)
        return p


def precision_at(order: list[str], gain: dict[str, float], k: int) -> float:
    return sum(gain[p] >= 0.5 for p in order[:k]) / k


def ndcg_at(order: list[str], gain: dict[str, float], k: int) -> float:
    def dcg(gains: list[float]) -> float:
        return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(gain.values(), reverse=True))
    return dcg([gain[p] for p in order]) / ideal if ideal else 0.0


def sanity_rank(docs: dict[str, dict[str, Any]], starred: set[str], inbox: list[str]) -> list[str]:
    """arxiv-sanity-lite's ranking (compute.py + serve.py svm_rank), of ``inbox``."""
    import numpy as np
    from sklearn import svm
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not starred:
        return inbox
    ids = list(docs)
    v = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=10000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.5,
        min_df=5,
    )
    corpus = [
        " ".join([docs[p]["title"], docs[p]["abstract"], " ".join(docs[p]["authors"])]) for p in ids
    ]
    x = v.fit_transform(corpus).astype(np.float32)
    y = np.array([1.0 if p in starred else 0.0 for p in ids], dtype=np.float32)
    clf = svm.LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.1)
    clf.fit(x, y)
    s = dict(zip(ids, clf.decision_function(x), strict=True))
    return sorted(inbox, key=lambda p: -s[p])


def papertui_rank(
    docs: dict[str, dict[str, Any]],
    labels: relevance.Labels,
    inbox: list[str],
    unread: list[str],
    memo: dict[str, Any],
    **options: Any,
) -> list[str]:
    ranking = relevance.rank(docs, labels, unread, explained=0, memo=memo, **options)
    if not ranking.trained:
        return inbox
    return sorted(inbox, key=lambda p: -ranking.scores[p])


def run_seed(
    seed: int, days: int, per_day: int, variants: dict[str, dict[str, Any]]
) -> dict[str, list[tuple[float, float]]]:
    rng = random.Random(seed)
    world = World(rng)
    reader = Reader(rng, world)
    feeds = [[world.paper(d) for _ in range(per_day)] for d in range(days + 1)]
    docs: dict[str, dict[str, Any]] = {}
    labels = relevance.Labels()
    unread: list[str] = []
    starred: set[str] = set()
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    memo: dict[str, Any] = {}  # (each paper's features, made once as the cache keeps them)
    for day in range(days):
        for doc in feeds[day]:
            docs[doc["id"]] = doc
            if rng.random() >= 0.7:  # not looked at
                unread.append(doc["id"])
                continue
            if rng.random() < reader.p_star(doc):
                starred.add(doc["id"])
                labels.label[doc["id"]] = True
                labels.starred += 1
                if rng.random() < 0.2:
                    labels.tagged += 1
            else:
                labels.label[doc["id"]] = False
        nxt = feeds[day + 1]
        inbox = [d["id"] for d in nxt]
        gain = {d["id"]: reader.p_star(d) for d in nxt}
        every = {**docs, **{d["id"]: d for d in nxt}}
        for name, spec in variants.items():
            kind = spec["kind"]
            if kind == "feed":
                order = inbox
            elif kind == "sanity":
                order = sanity_rank(every, starred, inbox)
            else:
                opts = {k: v for k, v in spec.items() if k != "kind"}
                used = labels
                if kind == "papertui-stars":  # (the same model, the skips not told)
                    used = relevance.Labels({p: True for p, v in labels.label.items() if v})
                    used.starred = len(used.label)
                order = papertui_rank(every, used, inbox, unread + inbox, memo, **opts)
            out[name].append((precision_at(order, gain, 10), ndcg_at(order, gain, 20)))
    return out


def timing(size: int, seed: int = 1) -> tuple[float, int, int]:
    """Seconds of `relevance.rank` over ``size`` generated papers (30% decided, the rest
    unread and scored, the best 500 explained); and how many were decided and scored."""
    rng = random.Random(seed)
    world = World(rng)
    reader = Reader(rng, world)
    docs = {}
    labels = relevance.Labels()
    unread = []
    for _ in range(size):
        doc = world.paper(0)
        doc = {k: v for k, v in doc.items() if not k.startswith("_") or k in ("_topic", "_sub")}
        docs[doc["id"]] = doc
        if rng.random() < 0.3:
            labels.label[doc["id"]] = rng.random() < reader.p_star(doc)
        else:
            unread.append(doc["id"])
    relevance.rank(dict(list(docs.items())[:200]), labels, unread[:50])  # (imports)
    t0 = time.perf_counter()
    ranking = relevance.rank(docs, labels, unread)
    return time.perf_counter() - t0, len(labels.label), len(ranking.scores)


def timing_library(db: Path, repeat: int = 3) -> dict[str, float]:
    """The app's worker end to end on a synthetic cache database (``python bench/synth.py N
    DB``: records in the cache, no truth files): its read and starred papers given state
    documents as the app writes them, then `relevance.refresh` as the worker runs it (the
    states, every unread and decided record read in bulk, training, scoring, the scores
    written in one transaction), timed in parts: wall and CPU seconds (`time.process_time`,
    the figure to quote on a loaded machine), the later training ``repeat`` times. A copy of
    ``db`` is used."""
    import shutil
    import tempfile

    import orjson

    from tui.library import Library
    from tui.library.cache import Cache

    tmp = Path(tempfile.mkdtemp(prefix="papertui-relevance-"))
    copy = tmp / "library.sqlite"
    shutil.copy(db, copy)
    cache = Cache(copy)
    with cache.transaction() as c:
        Cache.ensure_score(c)
        rows = c.execute("SELECT id, read, starred FROM paper WHERE read=1 OR starred=1")
        c.executemany(
            "INSERT OR REPLACE INTO state(id, doc) VALUES(?, ?)",
            [(pid, orjson.dumps({"read": bool(r), "starred": bool(s)})) for pid, r, s in rows],
        )
    lib = Library(tmp)
    lib.cache = cache
    import numpy  # noqa: F401  (the imports, as the app's first training pays them)
    import scipy.sparse  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    relevance._stop_words()
    out: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    first = relevance.refresh(lib)
    name = "first training (every paper's features made and stored)"
    out[name + ", wall"] = time.perf_counter() - t0
    out[name + ", CPU"] = time.process_time() - c0
    unread = lib.unread_ids()
    with cache.transaction() as c:  # (a session's triage, in the cache as a change puts it)
        c.executemany(
            "INSERT OR REPLACE INTO state(id, doc) VALUES(?, ?)",
            [(pid, orjson.dumps({"read": True})) for pid in unread[:20]]
            + [(pid, orjson.dumps({"starred": True})) for pid in unread[20:22]],
        )
    assert relevance.stale(lib)
    name = "next training (features read from the cache)"
    for run in range(1, repeat + 1):
        if run > 1:  # (one more decision each time: stale again)
            with cache.transaction() as c:
                c.execute(
                    "INSERT OR REPLACE INTO state(id, doc) VALUES(?, ?)",
                    (unread[22 + run], orjson.dumps({"read": True})),
                )
        t1, c1 = time.perf_counter(), time.process_time()
        ranking = relevance.refresh(lib)
        out[f"{name} #{run}, wall"] = time.perf_counter() - t1
        out[f"{name} #{run}, CPU"] = time.process_time() - c1
    assert ranking.trained and first.trained
    t4 = time.perf_counter()
    page = lib.query("is:unread", sort="foryou")[:50]
    out["first page in the for-you order"] = time.perf_counter() - t4
    out["load average (1 min) at the end"] = os.getloadavg()[0]
    out["papers"] = len(lib)
    out["decided"] = len(relevance.labels_of(lib.states()).label)
    out["scored"] = len(ranking.scores)
    assert len(page) == 50
    cache.close()
    shutil.rmtree(tmp)
    return out


VARIANTS: dict[str, dict[str, Any]] = {
    "feed order": {"kind": "feed"},
    "stars only (arxiv-sanity-lite)": {"kind": "sanity"},
    "papertui (stars + skips)": {"kind": "papertui"},
    "papertui's model, stars only (ablation)": {"kind": "papertui-stars"},
}
SOLVERS = {"papertui, SGD (log loss, 10 epochs)": {"kind": "papertui", "solver": "sgd"}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--per-day", type=int, default=150)
    ap.add_argument("--size", type=int, default=100_000, help="papers for the timing (0: none)")
    ap.add_argument("--library", type=Path, help="time the worker on this bench/synth.py cache")
    ap.add_argument("--repeat", type=int, default=3, help="later trainings timed (--library)")
    ap.add_argument("--skip-weight", type=float, nargs="*", default=[], help="extra variants")
    ap.add_argument("--c", type=float, nargs="*", default=[], help="extra variants")
    ap.add_argument("--sgd", action="store_true", help="also the SGD solver")
    args = ap.parse_args(argv)
    variants = dict(VARIANTS)
    for w in args.skip_weight:
        variants[f"papertui, skip weight {w}"] = {"kind": "papertui", "skip_weight": w}
    for c in args.c:
        variants[f"papertui, C={c}"] = {"kind": "papertui", "c": c}
    if args.sgd:
        variants.update(SOLVERS)
    if args.library:
        for name, value in timing_library(args.library, args.repeat).items():
            print(f"{name}: {value:,.3f}" if isinstance(value, float) else f"{name}: {value:,}")
        return 0
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    t0 = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        for name, rows in run_seed(seed, args.days, args.per_day, variants).items():
            results[name] += rows
        print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(
        f"{args.seeds} seeds × {args.days} days, {args.per_day} papers a day "
        f"(mean ± standard error over the {args.seeds * args.days} day-rankings)\n"
    )
    print("| order | precision@10 | nDCG@20 |")
    print("|---|---|---|")
    for name, rows in results.items():
        cells = []
        for i in (0, 1):
            values = [r[i] for r in rows]
            se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0
            cells.append(f"{statistics.mean(values):.3f} ± {se:.3f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    base, ours = "stars only (arxiv-sanity-lite)", "papertui (stars + skips)"
    print(f"\nPaired, {ours} − {base}, over the same day-rankings:")
    for i, metric in ((0, "precision@10"), (1, "nDCG@20")):
        diffs = [a[i] - b[i] for a, b in zip(results[ours], results[base], strict=True)]
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0
        wins = sum(d > 0 for d in diffs)
        losses = sum(d < 0 for d in diffs)
        print(
            f"- {metric}: {statistics.mean(diffs):+.3f} ± {se:.3f} "
            f"(better on {wins}, worse on {losses} of {len(diffs)} days)"
        )
    if args.size:
        seconds, decided, scored = timing(args.size)
        print(
            f"\nTraining + ranking {args.size:,} papers ({decided:,} decided, {scored:,} unread "
            f"scored, the best {relevance.EXPLAINED} explained): {seconds:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
