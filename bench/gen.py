"""Synthetic papertui libraries and format-C feeds for the benchmark.

A library is built the way a user builds one, through the library's own API, so its files are
exactly what the current code writes, whatever the on-disk format is today: one
`Library.import_feeds` per day of a two-year history (several feed formats a day; a fifth of the
papers are seen again by another feed a few days later, which merges them into a new version in
a later segment), then the user's state through `Library.set_state` (5% starred, 30% read, 4%
tagged, 1% with a note), ending with single changes until a checkpoint has folded the bulk and a
few dozen change files are left after it. Records carry a ~1,200-character English abstract,
6 authors, 2 categories and 1–3 sources; the papers seen in a digest or arxivdaily feed (about
45%, as in the real feeds, where only those formats carry Chinese) also a Chinese title and
~300 characters of Chinese summaries, which name the topic in Chinese (扩散模型 for diffusion).

`previous_library` makes a library with the previous engine's own generator (for the
migration figure and the same-run comparison). Everything comes from a fixed random seed.
Libraries are cached under ``bench/.cache/``, keyed by size and by a hash of tui/library/*.py
(new library code may write a new format).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tui.models import Paper, Source

GEN_VERSION = 2  # bump when the generated data changes: invalidates the cache
# Bump when the library writes the same data laid out differently in a new cache file (2: the
# cache gives back its free pages, auto_vacuum=INCREMENTAL): invalidates the cache.
LAYOUT = 2
SEED = 20260620
TODAY = date(2026, 6, 20)
LIBRARY_DAYS = 730  # a heavy user's library is about two years of daily imports
MIN_PER_DAY = 140  # papers a day: a few arXiv categories plus Hugging Face
REWRITTEN = 0.20  # papers seen again by a feed on a later day (a second, merged record)
CHANGE_FILES = 40  # state changes since the last checkpoint (CHECKPOINT_EVERY is 256)
HISTORY = 100  # undoable changes kept in the checkpoint (HISTORY_LIMIT)
FEED_PAPERS = 20_000
FEED_PER_PAGE = 100

CACHE = Path(__file__).resolve().parent / ".cache"
REPO = Path(__file__).resolve().parent.parent
# The last commit of the engine before engine 2 (issue 10): its own bench/gen.py makes the
# libraries the migration is measured on, exactly as a user of that version has them.
PREVIOUS_ENGINE = "d91bd39"

# ----------------------------------------------------------------------------- vocabulary
_TOPICS = [
    "diffusion",
    "transformer",
    "reinforcement learning",
    "language model",
    "3D reconstruction",
    "video generation",
    "retrieval",
    "graph neural network",
    "speech recognition",
    "robot manipulation",
    "federated learning",
    "image segmentation",
]
_TOPIC_WEIGHTS = [8, 12, 8, 16, 6, 6, 6, 5, 4, 5, 3, 6]  # "diffusion" in ~10% of abstracts
_NOUNS = (
    "model framework method approach benchmark dataset encoder decoder attention policy "
    "representation objective loss architecture pipeline module baseline estimator sampler "
    "scheduler tokenizer backbone adapter network agent planner optimizer prior embedding"
).split()
_ADJS = (
    "efficient scalable robust novel unified lightweight hierarchical sparse adaptive "
    "multimodal self-supervised zero-shot training-free generalizable interpretable "
    "compositional temporal spatial contrastive latent"
).split()
_VERBS = (
    "improves reduces outperforms achieves enables accelerates generalizes stabilizes "
    "captures leverages combines extends simplifies"
).split()
_METRICS = "accuracy latency FID PSNR throughput recall BLEU success-rate memory cost".split()
_SENTENCES = [
    "Existing {n}s struggle with {t} because they rely on {a} {n}s that do not scale.",
    "To address this, we propose a {a} {n} that {v} {t} without additional supervision.",
    "Our {n} {v} the state of the art on {k} standard benchmarks while using {k}x less compute.",
    "We further introduce a {a} {n} and a {a} {n} that together improve {m} by {k} points.",
    "Extensive experiments on {t} show that the proposed {n} {v} strong {a} baselines.",
    "A theoretical analysis shows that the {a} {n} converges under mild assumptions.",
    "We release code, models and a {a} {n} to facilitate future research on {t}.",
    "Ablations confirm that each {a} component {v} {m}, especially in {a} settings.",
    "Unlike prior work, our {n} is {a} and {a}, and it {v} {t} in real time.",
]
_ZH = [
    "本文提出了一种新的框架",
    "通过引入自适应的注意力机制",
    "显著提升了生成质量与推理效率",
    "方法基于对去噪过程的三个观察",
    "在多个公开基准上的实验表明",
    "该方法无需额外训练且即插即用",
    "相比现有基线实现了明显的加速",
    "同时保持了可比的图像质量",
    "我们设计了分层的特征缓存策略",
    "并结合轻量级的路由模块",
    "有效降低了计算与存储开销",
    "进一步的消融实验验证了各组件的有效性",
    "为后续研究提供了新的思路",
    "解决了长序列建模中的效率问题",
    "在视频生成与三维重建任务上均取得领先结果",
]
# The Chinese name of each topic, written into the Chinese title and summaries of the papers
# that have them (so that "扩散" finds the Chinese side of the diffusion papers).
_ZH_TOPIC = {
    "diffusion": "扩散模型",
    "transformer": "变换器",
    "reinforcement learning": "强化学习",
    "language model": "语言模型",
    "3D reconstruction": "三维重建",
    "video generation": "视频生成",
    "retrieval": "检索",
    "graph neural network": "图神经网络",
    "speech recognition": "语音识别",
    "robot manipulation": "机器人操作",
    "federated learning": "联邦学习",
    "image segmentation": "图像分割",
}
# Formats whose entries carry Chinese text (a digest's summaries, arxivdaily's title and
# abstract): the papers seen in one of them have Chinese fields, the others none.
_ZH_FORMATS = ("digest", "arxivdaily")
_FIRST = (
    "Wei Jing Yu Hao Xin Lei Yang Min Alice John Maria Ahmed Priya Lukas Sofia Kenji Omar "
    "Elena David Sara Tom Anna Ravi Chen"
).split()
_LAST = (
    "Zhang Wang Li Liu Chen Yang Huang Zhao Wu Zhou Smith Johnson Garcia Kumar Müller Rossi "
    "Tanaka Kim Nguyen Ivanov Silva Cohen Novak Dubois"
).split()
_LAST_WEIGHTS = [10, 9, 9, 7, 7, 5, 4, 4, 4, 3] + [2] * 14
_CATS = "cs.CV cs.LG cs.CL cs.AI cs.RO eess.IV stat.ML cs.GR cs.SD cs.MM".split()
_CAT_WEIGHTS = [30, 25, 15, 10, 5, 4, 4, 3, 2, 2]
_TAGS = "video 3d survey to-cite efficient llm benchmark reading-group rl theory".split()
_ORGS = ["nvidia NVIDIA", "W2GenAI Lab", "Alibaba-NLP", "Qwen", "ByteDance Seed", "AI at Meta"]
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_SLOT = re.compile(r"\{(\w)\}")
_SYLLABLES = "ka ro mi ne su ta vo li da xe po qu zen fa gi lo ru be".split()


def _name(i: int) -> str:
    """A unique model name for paper ``i`` (keeps titles and abstracts distinct)."""
    parts = []
    n = i + 7
    while True:
        n, r = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
        if n == 0:
            break
    return "".join(parts).capitalize() + f"-{i % 97}"


def _abstract(rng: random.Random, name: str, topic: str, length: int = 1200) -> str:
    fill = {
        "n": lambda: rng.choice(_NOUNS),
        "a": lambda: rng.choice(_ADJS),
        "v": lambda: rng.choice(_VERBS),
        "t": lambda: topic if rng.random() < 0.7 else rng.choices(_TOPICS, _TOPIC_WEIGHTS)[0],
        "k": lambda: str(rng.randint(2, 12)),
        "m": lambda: rng.choice(_METRICS),
    }
    out = [f"We present {name}, a method for {topic} that addresses a core limitation of {topic}."]
    size = len(out[0])
    while size < length:
        s = _SLOT.sub(lambda m: fill[m.group(1)](), rng.choice(_SENTENCES))
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


def _zh(rng: random.Random, length: int, topic: str = "") -> str:
    out, size = [f"针对{_ZH_TOPIC[topic]}"] if topic else [], 0
    while size < length:
        frag = rng.choice(_ZH)
        out.append(frag)
        size += len(frag) + 1
    return "，".join(out) + "。"


def _title(rng: random.Random, name: str, topic: str) -> str:
    return (
        f"{name}: {rng.choice(_ADJS).capitalize()} {rng.choice(_ADJS)} "
        f"{rng.choice(_NOUNS)}s for {topic}"
    )


def _authors(rng: random.Random) -> list[str]:
    lasts = rng.choices(_LAST, _LAST_WEIGHTS, k=6)
    return [f"{rng.choice(_FIRST)} {last}" for last in lasts]


def paper_text(rng: random.Random, i: int) -> tuple[str, str, str]:
    """(title, authors, abstract) of synthetic paper ``i``, as another reader would store it."""
    c = _content(rng, i)
    return c["title"], ", ".join(c["authors"]), c["abstract"]


def _content(rng: random.Random, i: int) -> dict[str, Any]:
    """Title, abstract and the other text of synthetic paper ``i``."""
    name = _name(i)
    topic = rng.choices(_TOPICS, _TOPIC_WEIGHTS)[0]
    return {
        "name": name,
        "topic": topic,
        "title": _title(rng, name, topic),
        "abstract": _abstract(rng, name, topic, rng.randint(1050, 1350)),
        "authors": _authors(rng),
    }


# ----------------------------------------------------------------------------- library
def _paper(rng: random.Random, i: int, day: date, arxiv_seq: int) -> tuple[Paper, list[str]]:
    """Synthetic paper ``i`` first seen on ``day``, and the feed formats that carry it."""
    c = _content(rng, i)
    cats = list(dict.fromkeys(rng.choices(_CATS, _CAT_WEIGHTS, k=2)))
    has_arxiv = rng.random() < 0.9
    arxiv_id = f"{day:%y%m}.{arxiv_seq:05d}" if has_arxiv else None
    n_sources = rng.choices((1, 2, 3), (45, 35, 20))[0]
    if has_arxiv:
        formats = [rng.choice(("arxiv-rss", "arxiv-html"))]
        formats += rng.sample(("hf-html", "arxivdaily", "digest"), n_sources - 1)
    else:
        formats = rng.sample(("digest", "hf-text", "arxivdaily"), n_sources)
    hf = any(f.startswith("hf-") for f in formats)
    zh = any(f in _ZH_FORMATS for f in formats)
    topic = c["topic"]
    paper = Paper(
        arxiv_id=arxiv_id,
        title=c["title"],
        title_zh=(_zh(rng, 24, topic).rstrip("。") + "：" + c["name"]) if zh else "",
        authors=c["authors"],
        author_count=6,
        abstract=c["abstract"],
        contribution_zh=_zh(rng, 100, topic) if zh else "",
        method_zh=_zh(rng, 110) if zh else "",
        findings_zh=_zh(rng, 100) if zh else "",
        announce_type="new" if has_arxiv else "",
        categories=cats,
        keywords=rng.sample(_NOUNS, 3) if hf else [],
        paper_date=(day - timedelta(days=rng.randint(1, 4))).isoformat(),
        upvotes=rng.randint(1, 120) if hf else None,
        num_comments=rng.randint(0, 6) if hf else None,
        abs_url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else "",
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}" if arxiv_id else "",
        hf_url=f"https://huggingface.co/papers/{arxiv_id}" if hf and arxiv_id else "",
    )
    return paper, formats


def _stamp(day: date, minute: int = 0) -> str:
    return f"{day.isoformat()}T08:{minute:02d}:00+00:00"


@functools.cache
def library_fingerprint() -> str:
    """Changes whenever the library's on-disk formats change: the truth files' schema
    (storage.SCHEMA_VERSION) or the cache's (cache.CACHE_VERSION, bumped with any change to
    what the cache holds), or the generated data (GEN_VERSION). Not with every change to the
    library's code: a 1,000,000-paper library takes half an hour to generate."""
    from tui.library.cache import CACHE_VERSION
    from tui.library.storage import SCHEMA_VERSION

    text = f"gen {GEN_VERSION} truth {SCHEMA_VERSION} cache {CACHE_VERSION} layout {LAYOUT}"
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def library_path(size: int) -> Path:
    return CACHE / f"library-{size}-{library_fingerprint()}"


def feed_path() -> Path:
    return CACHE / f"feed-hf-text-{FEED_PAPERS}-v{GEN_VERSION}"


@contextlib.contextmanager
def _generating(clock: list[str]) -> Iterator[None]:
    """Stamp records with the simulated day (not today), and skip fsync: the cache is
    disposable, and the library itself always syncs."""
    import tui.library.core as core

    saved = core.now_iso, os.fsync
    core.now_iso = lambda: clock[0]  # type: ignore[assignment]
    os.fsync = lambda fd: None  # type: ignore[assignment]
    try:
        yield
    finally:
        core.now_iso, os.fsync = saved  # type: ignore[assignment]


def generate_library(size: int, log: Any = print) -> Path:
    """The cached synthetic library of ``size`` papers (generated on first use).

    It is built the way a user builds one, through the library's own API, so it is exactly
    what the current code writes: one `Library.import_feeds` a day (the day's feeds, several
    formats), then the user's state through `Library.set_state`.
    """
    from tui.feeds import ParseResult
    from tui.library import Library

    target = library_path(size)
    if (target / ".complete").exists():
        return target
    for old in CACHE.glob(f"library-{size}-*"):  # an older format: not needed any more
        shutil.rmtree(old, ignore_errors=True)
    log(f"generating a {size:,}-paper library in {target} (cached for later runs)…")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{SEED}-{size}")
    per_day = max(MIN_PER_DAY, -(-size // LIBRARY_DAYS))
    days = -(-size // per_day)
    start = TODAY - timedelta(days=days + 6)
    clock = [_stamp(start)]
    with _generating(clock):
        lib = Library.open(tmp)
        pending: dict[int, list[tuple[str, Paper]]] = {}  # day → papers seen again that day
        arxiv_seq: dict[str, int] = {}
        i = 0
        for d in range(days + 6):
            day = start + timedelta(days=d)
            todays = pending.pop(d, [])
            while i < size and i < (d + 1) * per_day:
                month = f"{day:%y%m}"
                arxiv_seq[month] = arxiv_seq.get(month, 0) + 1
                paper, formats = _paper(rng, i, day, arxiv_seq[month])
                later = rng.random() < REWRITTEN
                todays.append((formats[0], paper))
                for fmt in formats[1:]:
                    when = d + rng.randint(1, 5) if later else d
                    (todays if when == d else pending.setdefault(when, [])).append((fmt, paper))
                i += 1
            if not todays:
                continue
            clock[0] = _stamp(day)
            by_format: dict[str, list[Paper]] = {}
            for fmt, paper in todays:
                by_format.setdefault(fmt, []).append(paper)
            feeds = []
            for fmt, papers in by_format.items():
                ext = {"hf-html": "html", "arxiv-html": "html", "arxiv-rss": "rss"}.get(fmt, "txt")
                origin = f"/home/researcher/feeds/{day.isoformat()}/{fmt}.{ext}"
                source = Source(
                    format=fmt,
                    origin=origin,
                    feed_date=day.isoformat(),
                    digest=hashlib.sha1(origin.encode()).hexdigest()[:16],
                    imported_at=clock[0],
                )
                feeds.append(
                    (ParseResult(format=fmt, papers=papers, feed_date=day.isoformat()), source)
                )
            lib.import_feeds(feeds)
        _user_state(lib, tmp, rng, clock)
        lib.close()
    (tmp / ".complete").write_text(f"{size}\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def _user_state(lib: Any, root: Path, rng: random.Random, clock: list[str]) -> None:
    """5% starred, 30% read, 4% tagged, 1% with a note; then single changes until a
    checkpoint has folded everything, and CHANGE_FILES more after it."""
    ids = list(lib)
    n = len(ids)
    starred = rng.sample(ids, n * 5 // 100)
    starred_set = set(starred)
    read = [pid for pid in starred if rng.random() < 0.8]
    others = [pid for pid in ids if pid not in starred_set]
    read += rng.sample(others, max(n * 30 // 100 - len(read), 0))
    rng.shuffle(read)
    singles = read[: CHANGE_FILES + 400]
    clock[0] = _stamp(TODAY - timedelta(days=30))
    lib.set_state(starred, "star", starred=True)
    lib.set_state(read[len(singles) :], "mark read", read=True)
    for tag in _TAGS:
        lib.set_state(rng.sample(ids, max(n * 4 // 100 // len(_TAGS), 1)), "tag", add_tags=[tag])
    for k in range(20):
        note = f"Compare with {' '.join(rng.choices(_NOUNS, k=14))} ({k})."
        lib.set_state(rng.sample(ids, max(n // 100 // 20, 1)), "edit note", note=note)
    checkpoints = root / "state"  # the folded journal (a file per checkpoint)

    def stamp() -> frozenset[str]:
        return frozenset(os.listdir(checkpoints)) if checkpoints.is_dir() else frozenset()

    first, since, m = stamp(), None, -1
    for m, pid in enumerate(singles):
        clock[0] = _stamp(TODAY - timedelta(days=2), m % 60)
        lib.set_state([pid], "mark read", read=True)
        if since is None and stamp() != first:
            since = 0  # a checkpoint was just written
        elif since is not None:
            since += 1
            if since >= CHANGE_FILES:
                break
    unused = singles[m + 1 :]
    if unused:  # the rest of the 30%, in one more "mark read"
        lib.set_state(unused, "mark read", read=True)


def previous_source() -> Path:
    """The previous engine's code (`PREVIOUS_ENGINE`: tui/ and bench/), from `git archive`
    into bench/.cache/. RuntimeError when the commit cannot be read."""
    src = CACHE / f"engine1-src-{PREVIOUS_ENGINE}"
    if not (src / ".complete").exists():
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", PREVIOUS_ENGINE, "tui", "bench"],
            capture_output=True,
            check=False,
        )
        if archive.returncode:
            raise RuntimeError(f"git archive {PREVIOUS_ENGINE}: {archive.stderr.decode()}")
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        (src / ".complete").write_text(PREVIOUS_ENGINE + "\n")
    return src


def previous_library(size: int, log: Any = print) -> Path:
    """A ``size``-paper library written by the previous engine (`PREVIOUS_ENGINE`), made by
    that commit's own bench/gen.py in a subprocess (`previous_source`; cached in
    bench/.cache/). RuntimeError when that commit or its generator cannot be run."""
    src = previous_source()
    target = CACHE / f"previous-library-{size}-{PREVIOUS_ENGINE}"
    if (target / ".complete").exists():
        return target
    log(f"generating a {size:,}-paper library with the previous engine ({PREVIOUS_ENGINE})…")
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/bench']; import gen; "
        "print(gen.generate_library(int(sys.argv[2]), log=lambda *a: None))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(src), str(size)],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"the previous engine's generator failed: {proc.stderr[-2000:]}")
    made = Path(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(target, ignore_errors=True)
    os.replace(made, target)
    return target


# ----------------------------------------------------------------------------- feed text
def _hf_date(d: date, comments: int | None = None) -> str:
    text = f"{_MONTHS[d.month - 1]} {d.day}"
    return f"{text} {comments}" if comments else text


def generate_feed(log: Any = print) -> Path:
    """FEED_PAPERS new papers as Hugging Face Daily Papers pages copied as text (format C).

    One page a day of FEED_PER_PAGE papers, ending the day before TODAY; the papers are distinct
    from every generated library's (a different range of model names), so all of them are new.
    """
    target = feed_path()
    if (target / ".complete").exists():
        return target
    log(f"generating {FEED_PAPERS:,} papers of format-C feed text in {target}…")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rng = random.Random(f"{SEED}-feed")
    pages = -(-FEED_PAPERS // FEED_PER_PAGE)
    base = 50_000_000  # model names no library paper uses
    for p in range(pages):
        page_day = TODAY - timedelta(days=pages - p)
        lines = [
            "new",
            "",
            "Get trending papers in your email inbox!",
            "",
            "Subscribe",
            "",
            "Daily Papers",
            "",
            "byAK and the research community",
            "",
            _hf_date(page_day),
            "",
        ]
        for k in range(FEED_PER_PAGE):
            c = _content(rng, base + p * FEED_PER_PAGE + k)
            lines += [c["title"], "", c["abstract"], ""]
            roll = rng.random()
            if roll < 0.85:
                lines.append("  • 6 authors")
            elif roll < 0.95:
                lines.append(rng.choice(_ORGS))
            else:
                lines.append("")
                continue  # no author/date lines at all (happens on real pages)
            lines.append("·")
            paper_day = page_day - timedelta(days=rng.randint(0, 3))
            lines.append(_hf_date(paper_day, rng.choice((None, 1, 2, 5))))
            lines.append("")
        name = f"hf-daily-{page_day.isoformat()}.txt"
        (tmp / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp / ".complete").write_text(f"{FEED_PAPERS}\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def disk_size(root: Path, hidden: bool = False) -> int:
    """Bytes of the files under ``root``, but those in hidden folders or named with a dot
    (the cache, lock and ignore files) unless ``hidden``."""
    total = 0
    for dirpath, dirs, files in os.walk(root):
        if not hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if hidden or not f.startswith("."):
                total += os.path.getsize(os.path.join(dirpath, f))
    return total


def disk_sizes(root: Path) -> dict[str, int]:
    """Bytes on disk of a library: ``truth`` (every file but the cache and the hidden ones:
    what the user cannot get back) and ``cache`` (the derived ``.cache/`` folder)."""
    return {"truth": disk_size(root), "cache": disk_size(root / ".cache", hidden=True)}
