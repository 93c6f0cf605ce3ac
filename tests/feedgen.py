"""Feeds generated in each format papertui reads (FORMATS.md), for identity tests whose oracle
is what was generated. Written by an adversary (advpaper). A paper is a dict:
id (arXiv id or None), v (version), title, abstract, authors (list), announce, cats, date,
title_zh, count (stated author count), upvotes, comments (HF numComments), acomments (arXiv).
"""

from __future__ import annotations

import html
import json
from xml.sax.saxutils import escape


def rss(papers, date="2026-06-19"):
    from datetime import date as D

    d = D.fromisoformat(date)
    stamp = d.strftime("%a, %d %b %Y 00:00:00 -0400")
    items = []
    for p in papers:
        aid = p["id"]
        v = p.get("v", 1)
        ann = p.get("announce", "new")
        cats = "".join(f"<category>{c}</category>" for c in p.get("cats", ["cs.CV"]))
        items.append(
            f"""    <item>
      <title>{escape(p["title"])}</title>
      <link>https://arxiv.org/abs/{aid}</link>
      <description>{escape(f"arXiv:{aid}v{v} Announce Type: {ann} " + chr(10) + "Abstract: " + p["abstract"])}</description>
      <guid isPermaLink="false">oai:arXiv.org:{aid}v{v}</guid>
      {cats}
      <pubDate>{stamp}</pubDate>
      <arxiv:announce_type>{ann}</arxiv:announce_type>
      <dc:creator>{escape(", ".join(p.get("authors", [])))}</dc:creator>
    </item>"""
        )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.CV updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.CV</link>
    <description>cs.CV updates on the arXiv.org e-print archive.</description>
    <pubDate>{stamp}</pubDate>
{chr(10).join(items)}
  </channel>
</rss>
"""


def listing(sections, date="2026-06-19"):
    """sections: list of (kind, papers) with kind in new/cross/replace."""
    from datetime import date as D

    d = D.fromisoformat(date)
    heading = d.strftime("%A, %d %B %Y")
    out = [
        "<!DOCTYPE html>\n<html><head><title>Computer Vision new submissions</title></head><body>",
        f"<h3>Showing new listings for {heading}</h3>",
    ]
    names = {
        "new": "New submissions",
        "cross": "Cross submissions",
        "replace": "Replacement submissions",
    }
    n = 0
    for kind, papers in sections:
        out.append("<dl id='articles'>")
        out.append(f"<h3>{names[kind]} (showing {len(papers)} of {len(papers)} entries)</h3>")
        for p in papers:
            n += 1
            aid = p["id"]
            v = p.get("v")
            href = f"/abs/{aid}" + (f"v{v}" if v and p.get("vlink") else "")
            marker = {"cross": "(cross-list from cs.LG)", "replace": "(replaced)"}.get(kind, "")
            authors = ", ".join(
                f'<a href="https://arxiv.org/a/x_{i}" rel="nofollow">{html.escape(a)}</a>'
                for i, a in enumerate(p.get("authors", []))
            )
            if p.get("more"):
                authors += f" et al. ({p['more']} additional authors not shown)"
            comm = (
                f"<div class='list-comments mathjax'><span class='descriptor'>Comments:</span>\n{html.escape(p['acomments'])}\n</div>"
                if p.get("acomments")
                else ""
            )
            out.append(
                f"""<dt>
  <a name='item{n}'>[{n}]</a>
  <a href ="{href}" title="Abstract" id="{aid}">arXiv:{aid}</a>
  {marker}
</dt>
<dd>
  <div class='meta'>
    <div class='list-title mathjax'><span class='descriptor'>Title:</span>
      {html.escape(p["title"])}
    </div>
    <div class='list-authors'>{authors}</div>
    {comm}
    <div class='list-subjects'><span class='descriptor'>Subjects:</span>
      <span class="primary-subject">Subject ({p.get("cats", ["cs.CV"])[0]})</span>{"".join(f"; Other ({c})" for c in p.get("cats", ["cs.CV"])[1:])}
    </div>
    <p class='mathjax'>
      {html.escape(p["abstract"])}
    </p>
  </div>
</dd>"""
            )
        out.append("</dl>")
    out.append("</body></html>\n")
    return "\n".join(out)


def hf_html(papers, date="2026-06-19"):
    items = []
    for p in papers:
        paper = {
            "id": p.get("id") or "",
            "authors": [{"name": a, "hidden": False} for a in p.get("authors", [])],
            "publishedAt": (p.get("date") or date) + "T00:00:00.000Z",
            "title": p["title"],
            "summary": p["abstract"],
            "upvotes": p.get("upvotes", 0),
        }
        items.append({"paper": paper, "numComments": p.get("comments", 0)})
    props = html.escape(json.dumps({"dailyPapers": items, "date": date}), quote=True)
    cards = "".join(
        f'<article><a href="/papers/{p.get("id")}">{html.escape(p["title"])}</a></article>\n'
        for p in papers
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8" /><title>Daily Papers - Hugging Face</title>
<link rel="canonical" href="https://huggingface.co/papers/date/{date}"></head><body>
<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{props}">
{cards}</div></body></html>
"""


def hf_text(papers, page="Jun 19"):
    out = [
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
        page,
        "",
    ]
    for p in papers:
        if p.get("title") is not None:
            out += [p["title"], ""]
        out += [p["abstract"], ""]
        if p.get("org"):
            out += [p["org"]]
        elif p.get("count"):
            out += [f"  • {p['count']} authors"]
        if p.get("hfdate", True):
            out += [
                "·",
                p.get("hfdate_s", "Jun 18") + (f" {p['comments']}" if p.get("comments") else ""),
                "",
            ]
    return "\n".join(out) + "\n"


def digest(papers):
    out = []
    for p in papers:
        out.append(p.get("title_zh") or "中文标题" + p["title"][:10])
        names = ", ".join(p.get("authors", []))
        if p.get("count"):
            names += f" 等 ({p['count']} 位作者)"
        out.append(names)
        out.append("核心贡献: 本文提出了一种新方法。")
        out.append("方法: 该方法使用扩散模型。")
        out.append("关键发现: 实验表明效果很好。")
        out.append("查看原文摘要")
        out.append(p["abstract"])
    return "\n".join(out) + "\n"


def arxivdaily(papers, date="2026-06-18"):
    out = [
        "arXivDaily arXiv每日学术速递 周一至周五更新",
        "",
        "视觉与机器人",
        "",
        "图像生成",
        "",
        "图像生成、文生图、图像编辑、扩散模型和可控生成。",
        "",
        f"今日/当前日期收录 {len(papers)} 信号源:cs.CV, cs.GR",
    ]
    for p in papers:
        status = {"new": "新提交", "cross": "交叉提交", "replace": "替换"}.get(
            p.get("announce", "new"), "新提交"
        )
        out += [
            f"{p['id']} {p.get('date', date)} {' '.join(p.get('cats', ['cs.CV']))} {status} 85%",
            "",
            p["title"],
            "",
            p.get("title_zh", "中文标题"),
            "",
            ", ".join(p.get("authors", [])),
            "",
            "详情",
            "AI中文摘要",
            "",
            "这是中文摘要。",
            "",
            "英文摘要",
            "",
            p["abstract"],
            "",
        ]
    return "\n".join(out) + "\n"
