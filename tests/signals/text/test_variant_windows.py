"""Variant matching cases handled in a window of words around where they occur: the edged
form, stretched runs and the ambiguous "1" (read as "i" or "l" on the text side)."""

import pytest

from coop.signals.text import Mode, TextBank

BANK = [
    "kill",
    "bill",
    "tail",
    "ill eagle",
    "be your own boss",
    "i know where you live",
    "scam alert",
    "mp3 player",
    "free money",
]


@pytest.fixture(scope="module")
def variant():
    return TextBank.compile(BANK, Mode.VARIANT)


def found(matcher, text: str) -> list[tuple[str, str]]:
    return [(m.term, m.text) for m in matcher.find_all(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k1ll", [("kill", "k1ll")]),
        ("b1ll me", [("bill", "b1ll")]),
        ("K1LL", [("kill", "K1LL")]),
        ("k1lllll", [("kill", "k1lllll")]),  # read as "kill" with a stretched "l"
        ("1ll eag1e", [("ill eagle", "1ll eag1e")]),
        ("sk1ll", []),  # still whole words only
        ("2011", []),  # a number, not "ill"
        ("tall", []),  # "i" and "l" are not one letter: "1" is the only ambiguous one
    ],
)
def test_ambiguous_one_is_read_as_i_or_l(variant, text, expected):
    assert found(variant, text) == expected


def test_a_term_written_with_a_one_keeps_it():
    matcher = TextBank.compile(["k1ll"], Mode.VARIANT)
    assert [m.text for m in matcher.find_all("k1ll it")] == ["k1ll"]
    assert matcher.find("kill it") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$cam alert!", [("scam alert", "$cam alert")]),
        ("so be your own b0$$ today", [("be your own boss", "be your own b0$$")]),
        ("mp3 player", [("mp3 player", "mp3 player")]),
        ("mp3player", [("mp3 player", "mp3player")]),
        ("fr33 m0n3y", [("free money", "fr33 m0n3y")]),
    ],
)
def test_edge_leet_inside_phrases(variant, text, expected):
    assert found(variant, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("freeeee money", [("free money", "freeeee money")]),
        ("i know where you liiiiive", [("i know where you live", "i know where you liiiiive")]),
        ("iiii know where you live", [("i know where you live", "iiii know where you live")]),
        ("freee  money", [("free money", "freee  money")]),
    ],
)
def test_stretched_words_inside_phrases(variant, text, expected):
    assert found(variant, text) == expected


def test_spans_point_into_the_original_text(variant):
    text = "ok ｆ\u200bｒ̷ｅｅ m.o.n.e.y and k1ll, 😂 then $cam alert"
    matches = variant.find_all(text)
    assert [(m.term, m.text) for m in matches] == [
        ("free money", "ｆ\u200bｒ̷ｅｅ m.o.n.e.y"),
        ("kill", "k1ll"),
        ("scam alert", "$cam alert"),
    ]
    for match in matches:
        assert text[match.start : match.end] == match.text


def test_a_bank_with_no_words_matches_nothing():
    matcher = TextBank.compile(["", "   ", "!!!"], Mode.VARIANT)
    assert matcher.find("!!! anything") is None
