"""Two evasion classes: one word split by a single separator, and TR39-only Cyrillic letters."""

import pytest

from coop.signals.text import Mode, TextBank
from coop.signals.text.normalize import AMBIGUOUS, fold_char

BANK = ["money", "scam", "free money", "kill yourself", "weed delivery", "sex", "ass", "kys"]


@pytest.fixture(scope="module")
def variant():
    return TextBank.compile(BANK, Mode.VARIANT)


@pytest.mark.parametrize(
    ("text", "term", "span"),
    [
        ("mon.ey", "money", "mon.ey"),
        ("it is a sc_am!", "scam", "sc_am"),
        ("send mon-ey now", "money", "mon-ey"),
        ("free mo.ney for all", "free money", "free mo.ney"),
        ("fr33 m0n.3y", "free money", "fr33 m0n.3y"),
        ("k1ll your_self", "kill yourself", "k1ll your_self"),
        ("m0n.eeeey", "money", "m0n.eeeey"),
        ("k.ys", "kys", "k.ys"),
    ],
)
def test_a_word_split_by_one_separator_matches(variant, text, term, span):
    found = {m.term: m.text for m in variant.find_all(text)}
    assert found.get(term) == span


@pytest.mark.parametrize(
    "text",
    [
        "e.g. the first, i.e. the best",
        "report_final.pdf",
        "v1.2.3 and 2.0.1-rc.4",
        "a well-known way to co-operate",
        "snake_case user_id",
        "docs.python.org",
        "mon..ey",  # two separators: not one word split once
        "mon. ey",
        "se-xy",  # joined it is "sexy", not "sex"
        "mon.eys",  # "moneys"
    ],
)
def test_single_separators_that_are_not_evasion_do_not_match(variant, text):
    assert variant.find(text) is None


@pytest.mark.parametrize(
    ("char", "folded"),
    [("ш", "w"), ("Ш", "w"), ("ӏ", AMBIGUOUS)],
)
def test_cyrillic_letters_fold_by_the_full_tr39_data(char, folded):
    assert fold_char(char) == folded


@pytest.mark.parametrize(
    ("text", "term"),
    [("шeed deӏivery", "weed delivery"), ("kiӏӏ yourself", "kill yourself")],
)
def test_tr39_cyrillic_evasions_match(variant, text, term):
    assert term in {m.term for m in variant.find_all(text)}
