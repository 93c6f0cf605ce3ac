"""Watch rules (tui/watch.py): parsing the config's [[watch]] tables and matching records."""

from __future__ import annotations

import pytest

from tui.watch import Rule, WatchConfigError, matches, plain, rules_from_config


def _rule(**table: object) -> Rule:
    return rules_from_config({"watch": [{"name": "r", "tag": "t", **table}]})[0]


PAPER = {
    "title": "SpectralDiT: Residual Correction for Flow-Matching DiTs",
    "abstract": "We study overflow matching and tokens.",
    "authors": ["Jürgen Müller", "Kaiming He"],
    "categories": ["cs.CV", "cs.LG"],
    "sources": [{"format": "arxiv-rss", "origin": "x.rss"}],
}


def test_the_readme_example_is_read() -> None:
    rules = rules_from_config(
        {
            "watch": [
                {"name": "kaiming", "author": "Kaiming He", "tag": "must-read"},
                {
                    "name": "flow",
                    "words": ["flow matching"],
                    "categories": ["cs.CV"],
                    "tag": "flow",
                    "color": "magenta",
                },
            ]
        }
    )
    assert [(r.name, r.tag, r.color) for r in rules] == [
        ("kaiming", "must-read", ""),
        ("flow", "flow", "magenta"),
    ]
    assert rules[0].authors == ("kaiming he",)
    assert rules[1].words == ("flow matching",) and rules[1].categories == ("cs.cv",)
    assert rules_from_config({}) == []


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"tag": "t", "words": ["x"]}, "[[watch]] #1: name expected"),
        ({"name": "a", "words": ["x"]}, "[[watch]] #1 'a': tag expected"),
        ({"name": "a", "tag": "t"}, "[[watch]] #1 'a': expected at least one of"),
        ({"name": "a", "tag": "t", "words": 3}, "[[watch]] #1 'a': words expected a string"),
        ({"name": "a", "tag": "t", "word": ["x"]}, "[[watch]] #1 'a': unknown key 'word'"),
        ({"name": "a", "tag": "t", "sources": ["rss"]}, "[[watch]] #1 'a': sources expected"),
        ({"name": "a", "tag": "t", "author": "x", "color": "pink"}, "'a': color expected"),
    ],
)
def test_a_bad_rule_is_one_line_naming_it(table: dict, expected: str) -> None:
    with pytest.raises(WatchConfigError) as err:
        rules_from_config({"watch": [table]})
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_two_rules_of_one_name_are_refused() -> None:
    rule = {"name": "a", "tag": "t", "author": "x"}
    with pytest.raises(WatchConfigError, match=r"#2 'a': a second rule named"):
        rules_from_config({"watch": [rule, rule]})


def test_folding_drops_case_accents_and_punctuation() -> None:
    assert plain("Jürgen  MÜLLER") == "jurgen muller"
    assert plain("Flow-Matching") == "flow matching"
    assert plain("ﬁne") == "fine"  # (the ligature, as the search folds it)


def test_authors_match_folded_whole_names() -> None:
    assert matches(_rule(author="Muller"), PAPER) is False  # a whole name, not a part
    assert matches(_rule(author="Jurgen Muller"), PAPER)
    assert matches(_rule(authors=["nobody", "KAIMING HE"]), PAPER)
    assert not matches(_rule(author="Kaiming"), PAPER)


def test_words_match_as_whole_word_phrases() -> None:
    assert matches(_rule(words=["flow matching"]), PAPER)  # "Flow-Matching" in the title
    assert matches(_rule(words=["token", "spectraldit"]), PAPER)
    assert not matches(_rule(words=["matching flow"]), PAPER)  # a phrase keeps its order
    assert not matches(_rule(words=["low matching"]), PAPER)  # not part of a word
    assert not matches(_rule(words=["overflow tokens"]), PAPER)  # the words must be adjacent


def test_categories_sources_and_all_kinds_together() -> None:
    assert matches(_rule(categories=["cs.cv"]), PAPER)
    assert matches(_rule(categories=["cs"]), PAPER)  # every cs.*
    assert not matches(_rule(categories=["cs.C"]), PAPER)
    assert matches(_rule(sources=["arxiv"]), PAPER)
    assert matches(_rule(sources=["arxiv-rss"]), PAPER)
    assert not matches(_rule(sources=["hf"]), PAPER)
    both = _rule(words=["flow matching"], categories=["cs.RO"])
    assert not matches(both, PAPER)  # every kind the rule names must hold
    assert matches(_rule(words=["flow matching"], categories=["cs.LG"]), PAPER)
