"""Golden tests of the three text feed formats (A digest, B arXivDaily, C HF Daily Papers).

Every malformed input is built here from the real samples in ``data/feeds``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tui.feeds import (
    FeedError,
    FeedFormat,
    ParseContext,
    ParseResult,
    Skipped,
    parse_bytes,
    parse_text,
)
from tui.feeds.arxivdaily import FORMAT as ARXIVDAILY
from tui.feeds.digest import FORMAT as DIGEST
from tui.feeds.hf_text import FORMAT as HF_TEXT
from tui.models import Paper

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
TODAY = date(2026, 11, 22)

DIT = FEEDS / "digest-dit-acceleration.txt"
T2I = FEEDS / "digest-text-to-image.txt"
CACHING = FEEDS / "digest-diffusion-caching.txt"
DAILY = FEEDS / "arxivdaily-image-generation.txt"
HF = FEEDS / "hf-daily-papers.txt"

SAMPLES = [
    (DIT, "digest", 5),
    (T2I, "digest", 5),
    (CACHING, "digest", 5),
    (DAILY, "arxivdaily", 4),
    (HF, "hf-text", 82),
]


def parse(path: Path, data: bytes | None = None, origin: str | None = None) -> ParseResult:
    raw = path.read_bytes() if data is None else data
    return parse_bytes(raw, origin or str(path), today=TODAY)


def parse_lines(lines: list[str], origin: str = "edited.txt") -> ParseResult:
    return parse_text("\n".join(lines), origin, today=TODAY)


def sample_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def without(path: Path, *line_numbers: int) -> list[str]:
    """The sample's lines with the given 1-based lines deleted."""
    return [line for no, line in enumerate(sample_lines(path), 1) if no not in line_numbers]


def by_title(papers: list[Paper], prefix: str) -> Paper:
    (match,) = [p for p in papers if p.title.startswith(prefix)]
    return match


# --- every sample ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "fmt", "count"), SAMPLES, ids=lambda v: getattr(v, "stem", v))
def test_sample_counts_and_format(path: Path, fmt: str, count: int) -> None:
    result = parse(path)
    assert result.format == fmt
    assert len(result.papers) == count
    assert result.skipped == []
    lines = [p.line for p in result.papers]
    assert all(isinstance(n, int) and n >= 1 for n in lines)
    assert lines == sorted(set(lines))
    assert all(p.abstract for p in result.papers)


@pytest.mark.parametrize(("path", "fmt", "count"), SAMPLES, ids=lambda v: getattr(v, "stem", v))
def test_detection_ignores_the_file_name(path: Path, fmt: str, count: int) -> None:
    result = parse(path, origin="x.bin")
    assert result.format == fmt
    assert [p.to_dict() for p in result.papers] == [p.to_dict() for p in parse(path).papers]


@pytest.mark.parametrize(("path", "fmt", "count"), SAMPLES, ids=lambda v: getattr(v, "stem", v))
def test_sniffers_claim_only_their_own_text(path: Path, fmt: str, count: int) -> None:
    text = path.read_text(encoding="utf-8")
    for mine in (DIGEST, ARXIVDAILY, HF_TEXT):
        score = mine.sniff(text)
        if mine.name == fmt:
            assert score >= 0.9
        else:
            assert score < 0.3, (mine.name, path.name)


@pytest.mark.parametrize("fmt", [DIGEST, ARXIVDAILY, HF_TEXT], ids=lambda f: f.name)
def test_sniffers_ignore_markup(fmt: FeedFormat) -> None:
    # Markup that even contains each text format's tell-tale lines.
    html = (
        "<!DOCTYPE html>\n<html><body>\nDaily Papers\nbyAK and the research community\n"
        "  • 8 authors\n·\nMay 27 2\n核心贡献: x\n查看原文摘要\n"
        "2606.19162 2026-06-18 cs.CV 新提交 85%\nAI中文摘要\n英文摘要\n</body></html>\n"
    )
    assert fmt.sniff(html) == 0.0
    assert fmt.sniff("\ufeff  \n" + html) == 0.0
    assert fmt.sniff('<?xml version="1.0"?>\n<rss><channel></channel></rss>') == 0.0
    assert fmt.sniff("The quick brown fox jumps over the lazy dog.\n" * 40) == 0.0


@pytest.mark.parametrize(("path", "fmt", "count"), SAMPLES, ids=lambda v: getattr(v, "stem", v))
def test_encodings_and_line_ends_give_identical_papers(path: Path, fmt: str, count: int) -> None:
    text = path.read_text(encoding="utf-8")
    expected = [p.to_dict() for p in parse(path).papers]
    variants = {
        "utf-8-bom": b"\xef\xbb\xbf" + text.encode("utf-8"),
        "crlf": text.replace("\n", "\r\n").encode("utf-8"),
        "gb18030+crlf": text.replace("\n", "\r\n").encode("gb18030"),
        "gb18030": text.encode("gb18030"),
        "utf-16": text.encode("utf-16"),
    }
    if fmt != "hf-text":  # "•" has no GBK code; the Chinese formats must survive plain GBK
        variants["gbk"] = text.encode("gbk")
    for name, data in variants.items():
        result = parse(path, data=data, origin=f"sample.{name}")
        assert result.format == fmt, name
        assert [p.to_dict() for p in result.papers] == expected, name
        assert [p.line for p in result.papers] == [p.line for p in parse(path).papers], name


# --- A: Chinese digest -------------------------------------------------------------------------

# line, title_zh prefix, first and last author, number of names, stated count,
# contribution / method / findings prefixes, abstract start and end
DIGEST_GOLDEN = {
    DIT: [
        (1, "Shiva-DiT:基于残差的可微分Top-k选择", "Jiaji Zhang", "Jiaju Wu", 5, 12,
         "提出了一种名为Shiva-DiT", "该方法利用残差感知", "在包括SD3.5在内",
         "Diffusion Transformers (DiTs) incur prohibitive", "ed tensor overheads."),
        (8, "SSG:用于多尺度视觉自回归生成", "Youngwoo Shin", "Junmo Kim", 3, None,
         "提出了一种无需训练", "从信息论角度分析", "实验表明,SSG",
         "Visual autoregressive (VAR) models", "om/Youngwoo-git/SSG."),
        (15, "稳定速度:从方差视角看流匹配", "Donglin Yang", "Xin Tao", 5, 8,
         "本文通过显式分析", "论文首先从理论上", "在ImageNet",
         "While flow matching is elegant", "DTHU/StableVelocity."),
        (22, "SAIL:基于最少人类反馈", "Xiaoxuan He", "Dacheng Yin", 5, 8,
         "提出SAIL框架", "SAIL采用闭环", "实验表明,SAIL",
         "Aligning diffusion models with human", "ernal reward models."),
        (29, "想象一座城市:用于程序化3D城市生成的CityGenAgent", "Zishan Liu", "Jingyu Hu", 5, 9,
         "提出了CityGenAgent", "该方法将城市生成", "综合评估表明",
         "The automated generation of interactive 3D cities", " 3D city generation."),
    ],
    T2I: [
        (1, "Curriculum-DPO++:", "Florinel-Alin Croitoru", "Mubarak Shah", 5, None,
         "本文提出了Curriculum-DPO++", "方法在原有数据级", "在九个基准测试中",
         "Direct Preference Optimization (DPO)", "Alin/Curriculum-DPO."),
        (8, "PixelRush:通过一步扩散", "Hong-Phuc Lai", "Anh Tran", 3, None,
         "提出了首个免调优", "该方法基于已有的", "PixelRush具有",
         "Pre-trained diffusion models excel", "ved by our approach."),
        (15, "SLA2:具有可学习路由", "Jintao Zhang", "Youhe Jiang", 5, 9,
         "本文提出了SLA2", "SLA2包含三个", "实验表明,在视频",
         "Sparse-Linear Attention (SLA) combines", " generation quality."),
        (22, "ImageRAGTurbo:迈向", "Peijie Qiu", "Amit Kumar K C", 5, 7,
         "提出ImageRAGTurbo", "该方法首先根据文", "实验表明,该方法",
         "Diffusion models have emerged as the leading", "to existing methods."),
        (29, "通过自适应求解器与Wasserstein", "Sangwoo Jo", "Sungjoon Choi", 2, None,
         "提出了一个名为SDM", "首先从分析扩散过", "SDM在多个标准",
         "Diffusion-based generative models", "om/aiimaginglab/sdm."),
    ],
    CACHING: [
        (1, "面向加速扩散变换器的频率感知误差有界缓存方法", "Guandong Li", "Guandong Li", 1, None,
         "本文提出了SpectralCache", "方法基于对去噪过", "在FLUX.1-schnell",
         "Diffusion Transformers (DiTs) have emerged", "g DiT architectures."),
        (8, "Diff-ES:通过进化搜索", "Zongfang Liu", "Zhiqiang Shen", 5, None,
         "提出了Diff-ES框架", "该方法将扩散过程", "在DiT和SDXL",
         "Diffusion models have achieved remarkable", "usion model pruning."),
        (15, "当去噪变为去签名", "Fai Gu", "Finn Carter", 5, None,
         "本文揭示了基于扩", "研究将扩散编辑器", "理论证明,对于广",
         "Robust invisible watermarking systems", "ive transformations."),
        (22, "Pointer-CAD:通过基于指针", "Dacheng Qi", "Zibo Zhao", 5, 9,
         "提出了一种新颖的", "Pointer-CAD将", "实验结果表明,P",
         "Constructing computer-aided design (CAD)", " quantization error."),
        (29, "用于多模态引导三维虚拟人生成的双重扩散模型", "Hong Li", "Xuhui Liu", 5, 6,
         "提出了PromptAvatar", "首先构建了一个包", "实验表明,该方法",
         "Generating high-fidelity 3D avatars", "tational efficiency."),
    ],
}  # fmt: skip


@pytest.mark.parametrize("path", list(DIGEST_GOLDEN), ids=lambda p: p.stem)
def test_digest_every_paper(path: Path) -> None:
    result = parse(path)
    assert result.feed_date is None
    got = result.papers
    assert len(got) == len(DIGEST_GOLDEN[path])
    for paper, row in zip(got, DIGEST_GOLDEN[path], strict=True):
        line, title_zh, first, last, n_names, count, contrib, method, findings, start, end = row
        assert paper.line == line
        assert paper.title == ""  # format A has no English title
        assert paper.title_zh.startswith(title_zh)
        assert paper.display_title == paper.title_zh
        assert (paper.authors[0], paper.authors[-1], len(paper.authors)) == (first, last, n_names)
        assert paper.author_count == count
        assert paper.contribution_zh.startswith(contrib)
        assert paper.method_zh.startswith(method)
        assert paper.findings_zh.startswith(findings)
        assert paper.abstract.startswith(start) and paper.abstract.endswith(end)
        assert "\n" not in paper.abstract
        assert paper.arxiv_id is None and paper.feed_date is None and paper.paper_date is None
        # No label or "et al." text leaks into the values.
        for value in (paper.contribution_zh, paper.method_zh, paper.findings_zh):
            assert not re.match(r"[:：]|(核心贡献|方法|关键发现)\s*[:：]", value)
        assert not any("等" in a or "作者" in a for a in paper.authors)


def test_digest_shiva_dit_keeps_stated_author_count() -> None:
    shiva = parse(DIT).papers[0]
    assert shiva.title_zh == "Shiva-DiT:基于残差的可微分Top-k选择用于高效扩散Transformer"
    assert shiva.authors == [
        "Jiaji Zhang",
        "Hailiang Zhao",
        "Guoxuan Zhu",
        "Ruichao Sun",
        "Jiaju Wu",
    ]
    assert shiva.author_count == 12


def test_digest_full_width_colons_and_inline_abstract() -> None:
    lines = sample_lines(DIT)
    lines[2] = lines[2].replace("核心贡献: ", "核心贡献：")
    lines[3] = lines[3].replace("方法: ", "方法：")
    lines[4] = lines[4].replace("关键发现: ", "关键发现：")
    # The marker and the abstract run together on one line (a lost line break).
    lines[12:14] = [f"查看原文摘要 {lines[13]}"]
    result = parse_lines(lines)
    expected = parse(DIT).papers
    assert [p.to_dict() for p in result.papers] == [p.to_dict() for p in expected]


def test_digest_missing_abstract_mid_file_is_skipped() -> None:
    # Line 21 is the abstract of the third paper (starting at line 15).
    result = parse_lines(without(DIT, 21))
    assert [p.title_zh[:4] for p in result.papers] == ["Shiv", "SSG:", "SAIL", "想象一座"]
    assert len(result.skipped) == 1
    assert result.skipped[0].line == 15
    assert "abstract" in result.skipped[0].reason
    sail = result.papers[2]
    assert sail.line == 21  # one line earlier than in the sample
    assert sail.authors[0] == "Xiaoxuan He" and sail.abstract.startswith("Aligning diffusion")


def test_digest_missing_title_mid_file_is_skipped_not_glued() -> None:
    # Line 8 is the title of the second paper; its author line moves up to line 8.
    result = parse_lines(without(DIT, 8))
    assert result.skipped == [Skipped(8, "no title line")]
    assert [p.line for p in result.papers] == [1, 14, 21, 28]
    assert result.papers[0].abstract.startswith("Diffusion Transformers (DiTs) incur")
    assert result.papers[1].title_zh.startswith("稳定速度")


def test_digest_lost_optional_lines_keep_the_entry() -> None:
    # Line 11 is the second paper's 方法 line, 13 its 查看原文摘要 marker, 16 the third's authors.
    result = parse_lines(without(DIT, 11, 13, 16))
    assert result.skipped == []
    full = parse(DIT).papers
    ssg, stable = result.papers[1], result.papers[2]
    assert ssg.method_zh == ""
    assert ssg.contribution_zh == full[1].contribution_zh
    assert ssg.findings_zh == full[1].findings_zh
    assert ssg.abstract == full[1].abstract
    assert stable.authors == [] and stable.author_count is None
    assert stable.title_zh == full[2].title_zh and stable.abstract == full[2].abstract


def test_digest_cut_off_raises() -> None:
    lines = sample_lines(DIT)
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 34: expected the English"):
        parse_lines(lines[:34], origin="cut.txt")
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 31: expected the 方法"):
        parse_lines(lines[:31], origin="cut.txt")
    # The next entry's title and authors with nothing after them.
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 9: expected 核心贡献"):
        parse_lines(lines[:9], origin="cut.txt")


# --- B: arXivDaily ----------------------------------------------------------------------------


def test_arxivdaily_every_paper() -> None:
    result = parse(DAILY)
    assert result.feed_date == "2026-06-18"
    reward, spectral, pulse, market = result.papers

    assert reward.line == 10
    assert reward.arxiv_id == "2606.19162"
    assert reward.paper_date == reward.feed_date == "2026-06-18"
    assert reward.categories == ["cs.LG", "cs.CV"]
    assert reward.announce_type == "新提交"
    assert reward.relevance == 85
    assert reward.title == (
        "The Reward Was in Your Data All Along: "
        "Correcting Flow Matching with Discriminator-Guided RL"
    )
    assert reward.title_zh == "奖励一直就在你的数据中:用判别器引导的强化学习纠正流匹配"
    assert reward.authors[0] == "Nicolas Beltran-Velez" and reward.authors[-1] == "Michal Drozdzal"
    assert len(reward.authors) == 7 and reward.author_count is None
    assert reward.institutions.startswith("FAIR at Meta Columbia University Mila")
    assert reward.institutions.endswith("Canada CIFAR AI Chair")
    assert reward.topic_hit == "扩散模型: 用RL纠正流匹配模型视觉缺陷,提升生成质量"
    assert reward.ai_summary.startswith("针对流匹配模型因损失函数")
    assert reward.ai_summary.endswith("并改善偏好对齐。")
    assert reward.comments == "84 pages, including appendices"
    assert reward.abstract_zh.startswith("得分匹配和流匹配模型通常依赖")
    assert reward.abstract.startswith("Score- and flow-matching models often rely")
    assert reward.abstract.endswith("excessive brightness.")
    assert reward.abs_url == "https://arxiv.org/abs/2606.19162"
    assert reward.pdf_url == "https://arxiv.org/pdf/2606.19162"

    assert (spectral.line, spectral.arxiv_id, spectral.relevance) == (35, "2606.18765", 85)
    assert spectral.categories == ["cs.CV"]
    assert spectral.title.startswith("SpectralDiT: Timestep-Conditioned")
    assert spectral.title_zh == "SpectralDiT:流匹配DiT的时间步条件谱残差校正"
    assert spectral.authors == ["Jiayu Tian"]
    assert spectral.institutions == "Peking University(北京大学)"
    assert spectral.topic_hit == "扩散模型: 改进流匹配DiT,谱残差校正提升生成质量。"
    assert spectral.comments == ""
    assert spectral.abstract_zh.startswith("我们提出SpectralDiT")
    assert spectral.abstract.endswith("spectral correction patterns.")

    assert (pulse.line, pulse.arxiv_id, pulse.relevance) == (58, "2606.19163", 75)
    assert pulse.categories == ["cs.DC"]
    assert pulse.title_zh == "Pulse: 面向大规模扩散模型的自动流水线并行训练加速"
    assert len(pulse.authors) == 11 and pulse.authors[-1] == "Bo Li"
    assert pulse.institutions == ""  # this entry has no 发表机构 line
    assert pulse.topic_hit == "扩散模型: 针对扩散模型训练加速,优化UNet流水线并行"
    assert pulse.comments == (
        "Accepted by International Conference on Distributed Computing Systems(ICDCS'26)"
    )
    assert pulse.abstract.startswith("Diffusion models are now a dominant approach")

    assert (market.line, market.arxiv_id, market.relevance) == (81, "2606.19151", 70)
    assert market.categories == ["cs.CY", "cs.CV"]
    assert market.title == "The Market in the Model: Latent Diffusion as Neural Economy"
    assert market.authors == ["Eryk Salvaggio"]
    assert market.institutions.endswith("Max Planck Institute(马克斯·普朗克研究所)")
    assert market.abstract.endswith("for centering social exchange.")
    for paper in result.papers:
        assert "英文摘要" not in paper.abstract and "AI中文摘要" not in paper.abstract_zh
        assert "详情" not in paper.abstract_zh


def test_arxivdaily_stated_count_may_disagree() -> None:
    # The header says 4; drop the last entry (lines 80-102) and the count no longer matches.
    result = parse_lines(sample_lines(DAILY)[:79])
    assert [p.arxiv_id for p in result.papers] == ["2606.19162", "2606.18765", "2606.19163"]


def test_arxivdaily_missing_abstract_mid_file_is_skipped() -> None:
    # Line 56 is the second paper's English abstract.
    result = parse_lines(without(DAILY, 56))
    assert [p.arxiv_id for p in result.papers] == ["2606.19162", "2606.19163", "2606.19151"]
    assert len(result.skipped) == 1
    assert result.skipped[0].line == 35
    assert "English abstract" in result.skipped[0].reason


def test_arxivdaily_lost_id_line_is_skipped_not_glued() -> None:
    # Line 58 is the third paper's id line: its titles must not end up in the second's abstract.
    result = parse_lines(without(DAILY, 58))
    full = parse(DAILY).papers
    assert [p.arxiv_id for p in result.papers] == ["2606.19162", "2606.18765", "2606.19151"]
    assert result.papers[1].abstract == full[1].abstract
    assert result.papers[1].abstract_zh == full[1].abstract_zh
    assert len(result.skipped) == 1
    assert result.skipped[0].line == 59  # the third paper's English title, one line up
    assert "arXiv id" in result.skipped[0].reason


def test_arxivdaily_lost_first_id_line_is_reported() -> None:
    result = parse_lines(without(DAILY, 10))
    assert [p.arxiv_id for p in result.papers] == ["2606.18765", "2606.19163", "2606.19151"]
    assert [s.line for s in result.skipped] == [11]


def test_arxivdaily_lost_english_abstract_header_is_recovered() -> None:
    # Line 31 is the first paper's 英文摘要 line: the English paragraph still is the abstract.
    result = parse_lines(without(DAILY, 31))
    full = parse(DAILY).papers
    assert result.skipped == []
    assert result.papers[0].abstract == full[0].abstract
    assert result.papers[0].abstract_zh == full[0].abstract_zh


@pytest.mark.parametrize("path", [DAILY, HF, DIT], ids=lambda p: p.stem)
def test_page_pasted_twice_gives_every_paper_twice(path: Path) -> None:
    text = path.read_text(encoding="utf-8").rstrip("\n")
    result = parse_text(f"{text}\n\n{text}\n", "twice.txt", today=TODAY)
    once = [p.to_dict() for p in parse(path).papers]
    assert result.skipped == []
    assert [p.to_dict() for p in result.papers] == once + once  # no header text in abstracts


def test_arxivdaily_cut_off_raises() -> None:
    lines = sample_lines(DAILY)
    # Ends with the 英文摘要 header of the last paper, or right after its id line.
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 100: expected the English"):
        parse_lines(lines[:100], origin="cut.txt")
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 81: .*2606\.19151"):
        parse_lines(lines[:81], origin="cut.txt")


# --- C: Hugging Face Daily Papers -------------------------------------------------------------


def test_hf_page_and_paper_fields() -> None:
    result = parse(HF)
    papers = result.papers
    assert result.feed_date == "2025-10-29"
    assert all(p.feed_date == "2025-10-29" for p in papers)
    assert all(p.title and p.abstract and p.hf_url == "" and p.upvotes is None for p in papers)
    assert len({p.abstract for p in papers}) == 82

    first, last = papers[0], papers[-1]
    assert first.line == 13
    assert first.title == (
        "Δ-DiT: A Training-Free Acceleration Method Tailored for Diffusion Transformers"
    )
    assert first.abstract.startswith("Diffusion models are widely recognized")
    assert (first.author_count, first.authors, first.paper_date) == (8, [], "2024-06-03")
    assert first.num_comments is None
    assert last.line == 641
    assert last.title.startswith("Don't Think It Twice: Exploit Shift Invariance")
    assert (last.author_count, last.paper_date) == (4, "2024-08-06")

    hidream = by_title(papers, "HiDream-I1:")
    assert (hidream.author_count, hidream.paper_date) == (22, "2025-05-28")  # "May 28"
    stream = by_title(papers, "StreamDiT:")
    assert (stream.paper_date, stream.num_comments) == ("2025-07-04", 5)  # "Jul 4 5"
    uni = by_title(papers, "Uni-Instruct:")
    assert (uni.paper_date, uni.num_comments) == ("2025-05-27", 2)  # "May 27 2"
    stream_diffusion = by_title(papers, "StreamDiffusion:")
    assert (stream_diffusion.paper_date, stream_diffusion.num_comments) == ("2023-12-19", 5)
    program_merge = by_title(papers, "Program Merge Conflict")
    assert program_merge.paper_date == "2021-08-31"

    sana = by_title(papers, "SANA-Video:")
    assert (sana.organization, sana.author_count, sana.paper_date) == (
        "nvidia NVIDIA",
        None,
        "2025-09-29",
    )
    assert sana.num_comments == 2
    lucid = by_title(papers, "LucidFlux:")
    assert (lucid.organization, lucid.paper_date, lucid.num_comments) == (
        "W2GenAI Lab",
        "2025-09-26",
        3,
    )
    assert by_title(papers, "Diffusion Transformers with Representation").organization == (
        "nyu-visionx NYU VisionX"
    )
    assert sum(1 for p in papers if p.organization) == 3

    # Papers without author/date lines: no fields borrowed from their neighbours.
    bare = [p for p in papers if p.paper_date is None]
    assert [p.title.split(":")[0] for p in bare] == [
        "Waver",
        "TimeChat-Online",
        "Joint Modeling of Feature, Correspondence, and a Compressed Memory for Video Object "
        "Segmentation",
        "Step-Video-T2V Technical Report",
        "Reconstruction vs. Generation",
    ]
    for p in bare:
        assert p.author_count is None and p.organization == "" and p.num_comments is None
    waver = bare[0]
    assert waver.line == 53
    assert waver.abstract.startswith("We present Waver, a high-performance foundation model")
    assert "Generating high-fidelity long videos" not in waver.abstract
    assert by_title(papers, "Training-free and Adaptive Sparse").line == 57

    # Every date is resolved and none lies after the page date.
    dated = [p.paper_date for p in papers if p.paper_date]
    assert len(dated) == 77 and max(dated) <= "2025-10-29"


def test_hf_two_uniflow_papers_stay_two() -> None:
    papers = parse(HF).papers
    uniflow = [p for p in papers if p.title.startswith("UniFlow:")]
    assert [p.title for p in uniflow] == [
        "UniFlow: A Unified Pixel Flow Tokenizer for Visual Understanding and Generation",
        "UniFlow: Unifying Speech Front-End Tasks via Continuous Generative Modeling",
    ]
    assert uniflow[0].abstract.startswith("Tokenizer is a crucial component")
    assert uniflow[1].abstract.startswith("Generative modeling has recently achieved")
    assert [(p.line, p.author_count, p.paper_date) for p in uniflow] == [
        (149, 11, "2025-10-12"),
        (165, 9, "2025-08-10"),
    ]


def test_hf_lost_title_is_imported_untitled() -> None:
    # Line 57 is the title "Training-free and Adaptive Sparse Attention …" (after Waver, which
    # has no author/date lines). Its abstract must not become a title nor join Waver.
    result = parse_lines(without(HF, 57))
    full = parse(HF).papers
    assert result.skipped == []
    assert len(result.papers) == 82
    waver = by_title(result.papers, "Waver:")
    assert waver.abstract == by_title(full, "Waver:").abstract
    assert waver.paper_date is None and waver.author_count is None
    (untitled,) = [p for p in result.papers if not p.title]
    assert untitled.display_title == "(untitled)"
    assert untitled.line == 58
    assert untitled.abstract.startswith("Generating high-fidelity long videos")
    assert (untitled.author_count, untitled.paper_date) == (7, "2025-02-28")


def test_hf_lost_title_after_dated_paper_is_imported_untitled() -> None:
    # Line 29 is the title "StreamDiT: …"; the line before is HiDream's date line.
    result = parse_lines(without(HF, 29))
    (untitled,) = [p for p in result.papers if not p.title]
    assert untitled.line == 30 and untitled.abstract.startswith("Recently, great progress")
    assert (untitled.paper_date, untitled.num_comments) == ("2025-07-04", 5)
    assert by_title(result.papers, "HiDream-I1:").paper_date == "2025-05-28"


def test_hf_lost_abstract_mid_file_is_skipped() -> None:
    # Line 31 is StreamDiT's abstract: the title alone is skipped, its neighbours are intact.
    result = parse_lines(without(HF, 31))
    assert len(result.papers) == 81
    assert len(result.skipped) == 1
    assert result.skipped[0].line == 29
    assert "no abstract" in result.skipped[0].reason
    assert not any(p.title.startswith("StreamDiT:") for p in result.papers)
    gen = by_title(result.papers, "GenCompositor:")
    assert (gen.line, gen.author_count, gen.paper_date, gen.num_comments) == (
        36,
        7,
        "2025-09-02",
        4,
    )


def test_hf_lost_dot_keeps_the_organisation() -> None:
    # Line 266 is the "·" after "nvidia NVIDIA".
    result = parse_lines(without(HF, 266))
    assert result.skipped == []
    sana = by_title(result.papers, "SANA-Video:")
    assert (sana.organization, sana.paper_date) == ("nvidia NVIDIA", "2025-09-29")


def test_hf_cut_off_raises() -> None:
    lines = sample_lines(HF)
    assert lines[-2] == "·"
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 646: expected a date"):
        parse_lines(lines[:-1], origin="cut.txt")
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 641: expected the abstract"):
        parse_lines(lines[:641], origin="cut.txt")
    with pytest.raises(FeedError, match=r"^cut\.txt: cut off at line 645: expected ·"):
        parse_lines(lines[:645], origin="cut.txt")


def _hf_page(page_date: str, dates: list[str]) -> str:
    """A page with the sample's header and its first papers, dated as given."""
    lines = sample_lines(HF)
    assert lines[10] == "Oct 29"
    out = lines[:10] + [page_date, ""]
    for i, when in enumerate(dates):
        start = 12 + 8 * i  # each of the first papers takes 8 lines
        entry = lines[start : start + 8]
        assert entry[5] == "·"
        out += entry[:6] + [when, ""]
    return "\n".join(out)


@pytest.mark.parametrize(
    ("today", "page", "dates", "feed_date", "expected"),
    [
        # The sample's rule: one year after the latest explicit year, ≤ today's year.
        (date(2026, 11, 22), "Oct 29", ["Jun 3, 2024", "Dec 19", "Oct 29 3"],
         "2025-10-29", ["2024-06-03", "2024-12-19", "2025-10-29"]),
        # No explicit year: today's year …
        (date(2026, 11, 22), "Oct 29", ["Jan 5", "Oct 30"],
         "2026-10-29", ["2026-01-05", "2025-10-30"]),
        # … unless the page date would then be in the future.
        (date(2026, 3, 1), "Oct 29", ["Jan 5 2", "Nov 30"],
         "2025-10-29", ["2025-01-05", "2024-11-30"]),
        # Explicit years from the current year's past: capped at today's year.
        (date(2026, 1, 10), "Jan 9", ["Dec 31, 2025", "Jan 8"],
         "2026-01-09", ["2025-12-31", "2026-01-08"]),
    ],
)  # fmt: skip
def test_hf_year_resolution(
    today: date, page: str, dates: list[str], feed_date: str, expected: list[str]
) -> None:
    result = parse_text(_hf_page(page, dates), "page.txt", today=today)
    assert result.format == "hf-text"
    assert result.feed_date == feed_date
    assert [p.paper_date for p in result.papers] == expected
    assert all(p.feed_date == feed_date for p in result.papers)


# --- garbage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\r\n\t  ",
        b"It was a bright cold day in April, and the clocks were striking thirteen.\n" * 20,
        bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\xff" * 64,
    ],
    ids=["empty", "blank", "prose", "binary", "png"],
)
def test_garbage_raises_feed_error_naming_the_origin(data: bytes) -> None:
    with pytest.raises(FeedError, match=r"^junk\.dat: "):
        parse_bytes(data, "junk.dat", today=TODAY)


@pytest.mark.parametrize("fmt", [DIGEST, ARXIVDAILY, HF_TEXT], ids=lambda f: f.name)
def test_no_entries_names_origin_and_format(fmt: FeedFormat) -> None:
    ctx = ParseContext(origin="notes.txt", today=TODAY)
    with pytest.raises(FeedError) as err:
        fmt.parse("Just a note.\nNothing to see here.\n", ctx)
    assert str(err.value).startswith("notes.txt: ")
    assert fmt.label in str(err.value)


def test_only_malformed_entries_raise_with_the_first_reason() -> None:
    # Every title of the digest sample lost (lines 1, 8, 15, 22, 29): nothing can be imported.
    with pytest.raises(FeedError, match=r"^bad\.txt: no paper .*line 1: no title line"):
        parse_lines(without(DIT, 1, 8, 15, 22, 29), origin="bad.txt")
