"""Input and export side, found by an adversary (advI): the XML readers' refusal of entity
declarations, BOM-marked text, tags in exports. Through the real CLI; the oracles are
hand-written expectations, json.loads and bibtexparser."""

from __future__ import annotations

import re
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


def test_utf16_beginning_with_a_nul_is_not_read_as_utf32(tmp_path: Path) -> None:
    """UTF-16-LE's BOM (FF FE) and a first character U+0000 (a stray NUL) begin with UTF-32-LE's
    BOM (FF FE 00 00): such a file was read as UTF-32, "not a recognised feed" or "cut off in
    the middle of a UTF-32-LE character", for anyone whose UTF-16 file has a NUL first (a stray
    NUL is otherwise dropped). Now it is read as UTF-16-LE; a real UTF-32 file damaged in one
    character is still UTF-32 (that character U+FFFD), one cut off still one error line."""
    text = (FEEDS / "digest-diffusion-caching.txt").read_text(encoding="utf-8")
    even = tmp_path / "nul-16le.txt"
    even.write_bytes(b"\xff\xfe" + ("\x00" + text).encode("utf-16-le"))
    odd = tmp_path / "nul-16le-odd.txt"  # (2 bytes past a multiple of 4)
    odd.write_bytes(b"\xff\xfe" + ("\x00" + text + "\n").encode("utf-16-le"))
    assert len(even.read_bytes()) % 4 != len(odd.read_bytes()) % 4
    utf32 = b"\xff\xfe\x00\x00" + text.encode("utf-32-le")
    damaged = tmp_path / "damaged-32le.txt"
    damaged.write_bytes(utf32[:4000] + b"\xff\xff\xff\xff" + utf32[4004:])
    cut = tmp_path / "cut-32le.txt"
    cut.write_bytes(utf32[:4002])
    db = tmp_path / "lib"
    result = run("import", "--create", str(even), str(odd), str(damaged), str(cut), db=db)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"papertui: error: {cut}: cut off in the middle of a UTF-32-LE character at byte 4000"
    ]
    assert result.stdout.count("digest: 5 found") == 3, result.stdout
    got = {p.get("title_zh") for p in papers(db)}
    assert "面向加速扩散变换器的频率感知误差有界缓存方法" in got
    assert len(got) == 5


_API_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>ArXiv Query</title>
  <id>http://arxiv.org/api/x</id>
  <updated>2026-06-19T00:00:00-04:00</updated>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>
    <title>Error</title>
    <summary>bad &#x1b;]52;c;SGk=&#x7;id &#x1b;Sigma &#x1b;[1mbold&#x1b;[0m end</summary>
    <updated>2026-06-19T00:00:00-04:00</updated>
  </entry>
</feed>
"""


def test_an_api_error_with_controls_is_one_clean_error_line(tmp_path: Path) -> None:
    """The Atom reader holds the controls XML forbids as noncharacters (U+FDD0 + code) while
    parsing; a feed whose only entry is the arXiv API's error answer raised its reason with
    them still held: the error line showed U+FDDB (a box) for each ESC and the OSC 52 and
    CSI parameters as text. It is now the reason as a skipped entry's is shown (cleaned)."""
    feed = tmp_path / "api-error.xml"
    feed.write_text(_API_ERROR, encoding="utf-8")
    db = tmp_path / "lib"
    result = run("import", "--create", str(feed), str(DIGEST), db=db)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"papertui: error: {feed}: line 6: the arXiv API answered an error: bad id Sigma bold end"
    ]
    assert not re.search("[\x1b\x80-\x9f\ufdd0-\ufdef]", result.stderr + result.stdout)
    assert len(papers(db)) == 5
