"""Input and export side, found by an adversary (advI): the XML readers' refusal of entity
declarations, BOM-marked text, tags in exports. Through the real CLI; the oracles are
hand-written expectations, json.loads and bibtexparser."""

from __future__ import annotations

from pathlib import Path

from .conftest import FEEDS
from .test_bad_input import DIGEST, papers, run

RSS = FEEDS / "arxiv-cs-cv-2026-06-19.rss"  # 7 items
ATOM = Path(__file__).resolve().parent / "feeds" / "arxiv-api-query-cs-cv.xml"  # 2 papers


def _with_prolog(source: Path, prolog: str, old: str = "", new: str = "") -> str:
    """``source`` with ``prolog`` after its XML declaration (``old`` replaced by ``new``)."""
    first, rest = source.read_text(encoding="utf-8").split("\n", 1)
    assert old in rest
    return f"{first}\n{prolog}{rest.replace(old, new, 1)}"


def test_entity_declarations_are_found_as_xml_reads_them_not_in_comments(
    tmp_path: Path,
) -> None:
    """A comment or processing instruction that mentions ``<!ENTITY`` is text: such a feed
    was refused ("declares XML entities"). And a comment holding ``<![CDATA[`` hid a real
    declaration after it (the scan took it for the opening of a CDATA section up to a later
    ``]]>``): the RSS feed was "not an RSS feed: expected <rss><channel>" and the Atom one
    imported with ``&a;`` in a title, what the refusal was made to end. Now the refused ones
    name their declaration's line, the others import, nothing else of the import is lost."""
    mention = tmp_path / "mention.rss"
    mention.write_text(
        _with_prolog(RSS, "<!-- this feed declares no <!ENTITY at all -->\n<?note <!ENTITY ?>\n"),
        "utf-8",
    )
    hidden = '<!DOCTYPE x [\n<!-- <![CDATA[ -->\n<!ENTITY a "declared">\n<!-- ]]> -->\n]>\n'
    rss = tmp_path / "hidden.rss"
    rss.write_text(_with_prolog(RSS, hidden, "SpectralDiT: ", "&a; "), "utf-8")
    atom = tmp_path / "hidden.xml"
    atom.write_text(_with_prolog(ATOM, hidden, "Merge &amp; ", "&a; "), "utf-8")
    db = tmp_path / "lib"
    result = run("import", "--create", str(mention), str(rss), str(atom), str(DIGEST), db=db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"papertui: error: {path}: line 4: declares XML entities (<!ENTITY …>), which "
        "papertui does not expand: expected a feed without entity declarations"
        for path in (rss, atom)
    ]
    listed = papers(db)
    assert len(listed) == 7 + 5  # the feed that only mentions it, and the digest
    assert not any("&a;" in str(p) or "declared" in str(p) for p in listed)
