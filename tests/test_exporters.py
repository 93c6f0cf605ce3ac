"""Export formats behind one interface: Markdown, BibTeX, CSL-JSON.

Oracles: bibtexparser's parser reading what was written and pylatexenc's LaTeX-to-text
decoding it back (the text must come back as the feed gave it); BibTeX's own rule that every
brace of a value counts (checked by counting, not by our code); the JSON parser and the
CSL-JSON schema's field names; the real CLI writing files.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares.names import split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text

from tui.exporters import EXPORTERS, bibtex, csl_json, exporter_for, split_name
from tui.library import Library
from tui.models import Paper, PaperState
from tui.text import clean, clean_line

from .conftest import FEEDS
from .test_cli import run

HOSTILE = [
    "Closing } brace and { opening, \\input{/etc/passwd} and \\end{document}",
    "50% of #1 & $x_1$ ~ ^ _ \\\\ \\",
    "Müller, Schrödinger and Ångström: ﬁne 扩散模型 \x1b[31mred\x1b[0m",
    "@misc{evil, title={x}} % comment",
]


def paper(i: int, title: str, **kw: object) -> Paper:
    fields: dict = dict(
        id=f"p{i}",
        arxiv_id=f"2606.{i:05d}",
        title=title,
        authors=["Jörg Müller", "Ana Lima Jr.", "ATLAS Collaboration"],
        categories=["cs.CV"],
        paper_date="2026-06-13",
        abstract=title,
    )
    fields.update(kw)
    return Paper(**fields)


def latex_to_text(value: str) -> str:
    """pylatexenc's LaTeX-to-text, knowing LaTeX's \\textbraceleft and \\textbraceright."""
    from pylatexenc.latex2text import MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    context.add_context_category(
        "braces",
        prepend=True,
        macros=[MacroTextSpec("textbraceleft", "{"), MacroTextSpec("textbraceright", "}")],
    )
    text = LatexNodes2Text(math_mode="verbatim", latex_context=context).latex_to_text(value)
    return text.replace("\u02c6", "^")  # (its text for \\textasciicircum is the modifier ˆ)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def braces_balance(value: str) -> bool:
    """BibTeX's rule: every { and } of a field value counts, escaped or not."""
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_bibtex_keeps_hostile_text_as_text() -> None:
    items = [(paper(i, t), PaperState(tags=[t[:12]], note=t)) for i, t in enumerate(HOSTILE)]
    text = bibtex(items)
    assert "\x1b" not in text
    parsed = bibtexparser.parse_string(text)
    assert not parsed.failed_blocks
    assert len(parsed.entries) == len(HOSTILE)
    decode = latex_to_text
    for entry, (p, state) in zip(parsed.entries, items, strict=True):
        assert entry.entry_type == "misc"
        fields = entry.fields_dict
        for name in ("title", "abstract", "note", "keywords"):
            assert braces_balance(fields[name].value), (name, fields[name].value)
        # (NFKC: a ligature such as ﬁ is written as the letters fi)
        assert nfkc(decode(fields["title"].value)) == nfkc(clean_line(p.title))
        assert nfkc(decode(fields["note"].value)) == nfkc(clean_line(state.note))
        assert fields["eprint"].value == p.arxiv_id
        assert fields["archivePrefix"].value == "arXiv"
        assert fields["primaryClass"].value == "cs.CV"
        assert fields["year"].value == "2026"
    assert len({e.key for e in parsed.entries}) == len(HOSTILE)


def test_bibtex_key_of_a_chinese_title_with_math_is_not_a_year_and_a_letter() -> None:
    """Found by an adversary: "面向$\\mathcal{O}(N)$的扩散缓存" by 张三 got the key "2026o"."""
    keys = [
        e.key
        for e in bibtexparser.parse_string(
            bibtex(
                [
                    (paper(7, "面向$\\mathcal{O}(N)$的扩散缓存", authors=["张三"]), PaperState()),
                    (paper(8, "$O(n)$ Attention for All", authors=["张三"]), PaperState()),
                    (paper(9, "$O(n)$ Attention", authors=["Ana Lima"]), PaperState()),
                ]
            )
        ).entries
    ]
    assert keys == ["paper260600007", "2026attention", "lima2026attention"]


def test_bibtex_names_and_math() -> None:
    p = paper(
        1,
        "Scaling $O(n^2)$ attention with $\\mathcal{O}(n)$ memory $\\input{x}$",
        authors=["Ludwig van Beethoven", "Ana Lima Jr.", "张三", "A and B", "ATLAS Collaboration"],
    )
    entry = bibtexparser.parse_string(bibtex([(p, PaperState())])).entries[0]
    title = entry.fields_dict["title"].value
    assert "$O(n^2)$" in title and "$\\mathcal{O}(n)$" in title  # plain math kept as math
    assert "\\input{" not in title  # a macro that reads a file is text
    authors = entry.fields_dict["author"].value
    # BibTeX's own splitting (braces protect an "and"), as bibtexparser implements it.
    assert split_multiple_persons_names(authors) == [
        "van Beethoven, Ludwig",
        "Lima, Jr., Ana",
        "{张三}",
        "{A and B}",
        "{ATLAS Collaboration}",
    ]
    assert entry.key == "beethoven2026scaling"


def test_csl_json_is_the_papers_as_given() -> None:
    items = [(paper(i, t), PaperState(tags=["x"], note=t)) for i, t in enumerate(HOSTILE)]
    records = json.loads(csl_json(items))
    assert len(records) == len(HOSTILE)
    for record, (p, state) in zip(records, items, strict=True):
        assert record["type"] == "article"
        assert record["title"] == clean_line(p.title)
        assert record["number"] == p.arxiv_id and record["archive"] == "arXiv"
        assert record["DOI"] == f"10.48550/arXiv.{p.arxiv_id}"
        assert record["issued"] == {"date-parts": [[2026, 6, 13]]}
        assert record["author"] == [
            {"family": "Müller", "given": "Jörg"},
            {"family": "Lima", "given": "Ana", "suffix": "Jr."},
            {"literal": "ATLAS Collaboration"},
        ]
        assert record["note"] == clean(state.note)  # (no escapes reach pandoc or Zotero)
    assert records[0]["id"] == bibtexparser.parse_string(bibtex(items[:1])).entries[0].key


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Kaiming He", ("Kaiming", "", "He", "")),
        ("Ludwig van Beethoven", ("Ludwig", "van", "Beethoven", "")),
        ("Martin Luther King Jr.", ("Martin Luther", "", "King", "Jr.")),
        ("J. R. R. Tolkien", ("J. R. R.", "", "Tolkien", "")),
    ],
)
def test_names_split_by_bibtex_rules(name: str, expected: tuple[str, ...]) -> None:
    n = split_name(name)
    assert (n.given, n.particle, n.family, n.suffix) == expected
    assert not n.literal


def test_one_interface() -> None:
    assert {e.suffix for e in EXPORTERS.values()} == {".md", ".bib", ".json"}
    assert exporter_for(None, Path("x.bib")).name == "bibtex"
    assert exporter_for(None, Path("x.JSON")).name == "csl-json"
    assert exporter_for(None, Path("x.txt")).name == "markdown"
    assert exporter_for("BibTeX").name == "bibtex"
    with pytest.raises(ValueError, match="no export format 'ris'"):
        exporter_for("ris")


def test_the_cli_exports_each_format(sample_library: Library, tmp_path: Path) -> None:
    ids = sample_library.query("")[:3]
    sample_library.set_state(ids, "starred", starred=True)
    db = sample_library.root
    bib = tmp_path / "starred.bib"
    result = run("export", "-o", str(bib), db=db)
    assert result.returncode == 0, result.stderr
    assert "3 papers exported to" in result.stderr and "(bibtex)" in result.stderr
    entries = bibtexparser.parse_string(bib.read_text(encoding="utf-8")).entries
    titles = {clean_line(sample_library.get(pid).display_title) for pid in ids}
    decode = latex_to_text
    assert {decode(e.fields_dict["title"].value) for e in entries} == titles
    csl = tmp_path / "starred.json"
    assert run("export", "-o", str(csl), db=db).returncode == 0
    assert {r["title"] for r in json.loads(csl.read_text(encoding="utf-8"))} == titles
    out = run("export", "--format", "csl-json", db=db)
    assert {r["title"] for r in json.loads(out.stdout)} == titles
    bad = run("export", "--format", "ris", "-o", str(tmp_path / "x.ris"), db=db)
    assert bad.returncode == 2 and "invalid choice: 'ris'" in bad.stderr
    assert not (tmp_path / "x.ris").exists()


# ---------------------------------------------------------------------------- the app's x
async def test_x_asks_the_format_and_the_file(sample_library: Library, tmp_path: Path) -> None:
    from textual.widgets import Input, RadioSet

    from tui.dialogs.export_dialog import ExportDialog

    from .test_app import SIZE, build, toasts

    lib = sample_library
    lib.set_state(lib.query("")[:2], "starred", starred=True)
    app = build(lib, tmp_path)
    out = tmp_path / "exports"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        box = dialog.query_one("#export-path", Input)
        assert box.value == str(out / f"papertui-starred-{app.today}.md")
        await pilot.press("tab", "down", "space")  # the format: BibTeX
        await pilot.pause()
        assert dialog.query_one(RadioSet).pressed_index == 1
        assert box.value == str(out / f"papertui-starred-{app.today}.bib")
        assert app.focused is box
        # a folder, then a folder that does not exist: said in the dialog, which stays
        for value, said in (
            (str(out), "is a folder"),
            (str(out / "nope" / "x.bib"), "no such folder"),
        ):
            box.value = value
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is dialog
            assert said in str(dialog.query_one("#export-error").render())
        box.value = str(out / "list.json")  # the suffix chooses the format as well
        await pilot.pause()
        assert dialog.query_one(RadioSet).pressed_index == 2
        mine = out / "mine.bib"
        mine.write_text("MY BIBLIOGRAPHY\n")
        box.value = str(mine)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and "exists: Enter again replaces it" in str(
            dialog.query_one("#export-error").render()
        )
        assert mine.read_text() == "MY BIBLIOGRAPHY\n"
        await pilot.press("enter")  # the second Enter on the same name: replace
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        messages = toasts(app)
    entries = bibtexparser.parse_string(mine.read_text(encoding="utf-8")).entries
    assert len(entries) == 2
    assert any(str(mine) in m and "(bibtex)" in m for m in messages), messages


async def test_x_cancelled_writes_nothing(sample_library: Library, tmp_path: Path) -> None:
    from .test_app import SIZE, build, toasts

    lib = sample_library
    lib.set_state(lib.query("")[:1], "starred", starred=True)
    app = build(lib, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert "Export cancelled" in toasts(app)
    assert not any((tmp_path / "exports").iterdir())


async def test_x_exports_with_one_enter_wherever_the_focus_is(
    sample_library: Library, tmp_path: Path
) -> None:
    """One Enter exports: in the file box, and on a format picked with the arrows (which
    a RadioSet took as Space, so a second Enter was needed); Esc still cancels there."""
    from tui.dialogs.export_dialog import ExportDialog

    from .test_app import SIZE, build

    lib = sample_library
    lib.set_state(lib.query("")[:2], "starred", starred=True)
    app = build(lib, tmp_path)
    out = tmp_path / "exports"
    stem = f"papertui-starred-{app.today}"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # the proposed file, as it is
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        assert (out / f"{stem}.md").read_text(encoding="utf-8").startswith("# ")
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("tab", "down", "enter")  # BibTeX, by the arrows: one Enter
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        bib = out / f"{stem}.bib"  # (a free name: the .md taken is no reason for -2)
        assert len(bibtexparser.parse_string(bib.read_text(encoding="utf-8")).entries) == 2
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("tab", "down", "down", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
    assert sorted(p.name for p in out.iterdir()) == [bib.name, f"{stem}.md"]


# ---------------------------------------------------------------- authors the feed cut short
def _digest_authors(path: Path) -> dict[str, tuple[list[str], int | None]]:
    """{title: (names shown, stated author count or None)} as the digest file writes them:
    the title, the author line ("A, B 等 (12 位作者)" when cut short), then 核心贡献."""
    import re

    lines = path.read_text(encoding="utf-8").splitlines()
    out = {}
    for n, line in enumerate(lines):
        if line.startswith("核心贡献"):
            cut = re.fullmatch(r"(.*) 等 \((\d+) 位作者\)", lines[n - 1])
            names = (cut.group(1) if cut else lines[n - 1]).split(", ")
            out[lines[n - 2]] = (names, int(cut.group(2)) if cut else None)
    return out


def test_every_export_says_when_the_feed_named_only_some_authors(tmp_path: Path) -> None:
    """Found as a known defect: CSL-JSON gave the names a feed showed as the whole author
    list ("等 (12 位作者)", "et al. (2912 additional authors not shown)"), so a citation
    printed 5 people as all of 12. It now ends in {"literal": "others"}, what pandoc writes
    for BibTeX's "and others" and renders as "et al."; BibTeX says "and others", Markdown
    "+N more". A list the feed gave whole gains nothing. Oracle: the feeds' own text."""
    digest = FEEDS / "digest-dit-acceleration.txt"
    listing = Path(__file__).parent / "cases" / "listing-et-al.html"
    db = tmp_path / "lib"
    assert run("import", str(digest), str(listing), "--create", db=db).returncode == 0
    expected = _digest_authors(digest)
    listing_text = listing.read_text(encoding="utf-8")
    assert "et al. (2912 additional authors not shown)" in listing_text
    expected["Search for Long-Lived Neutral Particles"] = (
        ["XYZ Collaboration", "A. Aalto", "B. Abbas", "C. Abe"],
        3 + 2912,
    )
    assert sum(count is None for _, count in expected.values()) >= 1  # (some lists whole)
    outputs = {}
    for fmt in ("csl-json", "bibtex", "markdown"):
        done = run("export", "--all", "--format", fmt, "-o", str(tmp_path / fmt), db=db)
        assert done.returncode == 0, done.stderr
        outputs[fmt] = (tmp_path / fmt).read_text(encoding="utf-8")
    records = json.loads(outputs["csl-json"])
    entries = bibtexparser.parse_string(outputs["bibtex"]).entries
    assert len(records) == len(entries) == len(expected)
    for title, (names, count) in expected.items():
        (record,) = [r for r in records if r["title"].startswith(title)]
        authors = record["author"]
        assert len(authors) == len(names) + (count is not None), title
        assert (authors[-1] == {"literal": "others"}) == (count is not None), title
        assert {"literal": "others"} not in authors[:-1]
        (entry,) = [e for e in entries if e.fields_dict["title"].value.startswith(title)]
        assert entry.fields_dict["author"].value.endswith(" and others") == (count is not None)
        if count is not None:  # ("+N more": the people not named; the group is not one)
            people = sum(not name.endswith("Collaboration") for name in names)
            assert f"+{count - people} more" in outputs["markdown"], title


def test_a_citation_is_dated_by_the_paper_not_by_a_replacement_announcement(
    tmp_path: Path,
) -> None:
    """Found by a newcomer: arXiv's RSS and listings carry only the day of the announcement,
    and for a replacement (`replace`, `replace-cross`) that is not when the paper came out:
    2511.09876 announced again on 9 June 2026 was cited `year = {2026}, month = jun`
    (`2026learning`), 2605.22222 replaced on 8 June `month = jun`. Oracle: the arXiv id's
    YYMM, the month the paper was submitted (arXiv's identifier scheme), as arXiv's own
    BibTeX gives; a new paper keeps its announcement's day."""
    cases = Path(__file__).parent / "cases"
    db = tmp_path / "lib"
    feeds = [cases / "surrogate-rss.rss", cases / "listing-recent-multiday.html"]
    assert run("import", *map(str, feeds), "--create", db=db).returncode == 0
    rss = (cases / "surrogate-rss.rss").read_text(encoding="utf-8")
    assert "oai:arXiv.org:2511.09876v2" in rss and "<pubDate>Tue, 09 Jun 2026" in rss
    done = run("export", "--all", "--format", "bibtex", "-o", "-", db=db)
    assert done.returncode == 0, done.stderr
    entries = {
        e.fields_dict["eprint"].value: e for e in bibtexparser.parse_string(done.stdout).entries
    }
    dated = {k: (e["year"], e.fields_dict["month"].value) for k, e in entries.items()}
    assert dated["2511.09876"] == ("2025", "nov")
    assert dated["2512.01234"] == ("2025", "dec")
    assert dated["2605.22222"] == ("2026", "may")
    assert dated["2606.07001"] == ("2026", "jun")  # (new: announced the month of its id)
    assert entries["2511.09876"].key == "2025learning"
    done = run("export", "--all", "--format", "csl-json", "-o", "-", db=db)
    issued = {r["number"]: r["issued"]["date-parts"][0] for r in json.loads(done.stdout)}
    assert issued["2511.09876"] == [2025, 11]
    assert issued["2605.22222"] == [2026, 5]
    assert issued["2606.07001"] == [2026, 6, 9]


def test_a_suffix_after_a_comma_stays_with_its_name(tmp_path: Path) -> None:
    """Found by a newcomer: arXiv writes "Dmitri Orlov, Eve Adams, Jr." (the feed keeps
    "Eve Adams, Jr." as one author), and the export gave it as one literal name: BibTeX
    `{Eve Adams, Jr.}`, CSL-JSON `{"literal": …}`, so a style printed it uninverted among
    inverted names. Oracle: BibTeX's own "von Last, Jr, First" form, read back by
    bibtexparser's name splitter. "Lee, V" (a family name and an initial) and a suffix with
    no given name before it stay as they were."""
    rss = Path(__file__).parent / "cases" / "surrogate-rss.rss"
    assert "<dc:creator>Dmitri Orlov, Eve Adams, Jr.</dc:creator>" in rss.read_text("utf-8")
    db = tmp_path / "lib"
    assert run("import", str(rss), "--create", db=db).returncode == 0
    done = run("export", "--all", "--format", "bibtex", "-o", "-", db=db)
    (entry,) = [
        e
        for e in bibtexparser.parse_string(done.stdout).entries
        if e.fields_dict["eprint"].value == "2512.01234"
    ]
    persons = split_multiple_persons_names(entry.fields_dict["author"].value)
    assert persons == ["Orlov, Dmitri", "Adams, Jr., Eve"]
    done = run("export", "--all", "--format", "csl-json", "-o", "-", db=db)
    (record,) = [r for r in json.loads(done.stdout) if r["number"] == "2512.01234"]
    assert record["author"][1] == {"family": "Adams", "given": "Eve", "suffix": "Jr."}
    for name in ("Lee, V", "Adams, Jr.", "Smith, John"):
        assert split_name(name).literal == name


def _separated_list(value: str) -> list[str]:
    """A BibTeX separated list (``keywords``) split as biber splits it (btparse's
    ``split_list``): at the commas outside braces; an item that is one brace group loses
    the group's braces (they protect, they print nothing)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(value):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    out = []
    for item in (i.strip() for i in items):
        if item.startswith("{") and item.endswith("}") and braces_balance(item[1:-1]):
            item = item[1:-1]
        out.append(item)
    return out


def test_a_tag_holding_a_comma_is_one_bibtex_keyword(tmp_path: Path) -> None:
    """Found by an adversary: the tag `ml, theory` (one tag, given quoted) was exported as
    `keywords = {ml, theory, caching}`: two keywords, `ml` and `theory`, to biblatex, JabRef
    and every tool that splits keywords at commas. A tag with a comma is now one brace group
    (`{ml, theory}, caching`). Oracle: bibtexparser reads the file, the keywords are split at
    the commas outside braces as biber does (by hand, above), pylatexenc decodes each."""
    db = tmp_path / "lib"
    feed = FEEDS / "hf-daily-papers.txt"
    assert run("import", str(feed), "--create", db=db).returncode == 0
    listed = json.loads(run("list", "--json", db=db).stdout)
    pid = listed[0]["id"]
    tags = '"ml, theory", caching, "to read", "a{b,c}d", "50%, ok"'
    tagged = run("tag", pid, "--add", tags, db=db)
    assert tagged.returncode == 0, tagged.stderr
    assert run("star", pid, db=db).returncode == 0
    bib = tmp_path / "starred.bib"
    done = run("export", "-o", str(bib), db=db)
    assert done.returncode == 0, done.stderr
    parsed = bibtexparser.parse_string(bib.read_text(encoding="utf-8"))
    assert not parsed.failed_blocks
    (entry,) = parsed.entries
    value = entry.fields_dict["keywords"].value
    assert braces_balance(value), value
    keywords = [latex_to_text(k) for k in _separated_list(value)]
    assert keywords == ["ml, theory", "caching", "to read", "a{b,c}d", "50%, ok"]
