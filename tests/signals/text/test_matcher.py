import pytest

from coop.signals.text import InvalidPattern, Mode, SimilarityBank, TextBank

BANK = [
    "free money",
    "kill yourself",
    "ass",
    "sex",
    "rape",
    "cock",
    "rapist",
    "hello",
    "god",
    "kys",
]


@pytest.fixture(scope="module")
def variant():
    return TextBank.compile(BANK, Mode.VARIANT)


def terms(matcher, text: str) -> list[str]:
    return [m.term for m in matcher.find_all(text)]


@pytest.mark.parametrize(
    "text",
    [
        "class",
        "assassin",
        "Scunthorpe",
        "cocktail",
        "therapist",
        "Essex",
        "grape",
        "assess the glass",
        "good morning",
        "helo there",
        "passion",
        "Middlesex",
    ],
)
def test_scunthorpe_words_do_not_match(variant, text):
    assert variant.find(text) is None


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("free money", "free money"),
        ("f.r.e.e m.o.n.e.y", "free money"),
        ("free-money", "free money"),
        ("freemoney", "free money"),
        ("#FreeMoney", "free money"),
        ("FRЕЕ МОNЕY", "free money"),  # Cyrillic capitals
        ("ｆｒｅｅ ｍｏｎｅｙ", "free money"),
        ("𝓯𝓻𝓮𝓮 𝓶𝓸𝓷𝓮𝔂", "free money"),
        ("ⓕⓡⓔⓔ ⓜⓞⓝⓔⓨ", "free money"),
        ("f̷r̴e̸e̵ m̶o̷n̸e̵y̶", "free money"),
        ("fr\u200bee mo\u2060ney", "free money"),
        ("fr33 m0n3y!", "free money"),
        ("frreeeeee moooney", None),  # "rr" is a real double letter, not a stretch
        ("frrreeeee moooney", "free money"),
        ("k1ll y0urs31f", "kill yourself"),  # "1" as i and as l in one phrase
        ("k.y.s", "kys"),
        ("heeelllooo", "hello"),
        ("helllo", "hello"),
    ],
)
def test_evasions_match(variant, text, term):
    found = variant.find(text)
    assert (found.term if found else None) == term


def test_repeated_letters_need_a_long_enough_run(variant):
    assert variant.find("helo") is None
    assert variant.find("good") is None
    assert terms(variant, "goood") == ["god"]  # a stretched run stands for any shorter one


def test_span_covers_exactly_the_evasive_text(variant):
    text = "ok so f.r.e.e  m̷o̷n̷e̷y̷!! now"
    found = variant.find(text)
    assert found is not None
    assert found.text == "f.r.e.e  m̷o̷n̷e̷y̷"
    assert text[found.start : found.end] == found.text


def test_span_of_a_stretched_word(variant):
    found = variant.find("well heeeelllllooooo there")
    assert found is not None
    assert found.text == "heeeelllllooooo"


def test_find_all_reports_each_term(variant):
    found = variant.find_all("kys, and free money for the ass")
    assert [(m.term, m.text) for m in found] == [
        ("kys", "kys"),
        ("free money", "free money"),
        ("ass", "ass"),
    ]


def test_empty_bank_matches_nothing():
    for mode in Mode:
        assert TextBank.compile([], mode).find("anything") is None


def test_contains_text_is_whole_word_and_case_insensitive():
    matcher = TextBank.compile(["ass", "Gift Card", "c++"])
    assert matcher.find("first class") is None
    assert [(m.term, m.text) for m in matcher.find_all("A GIFT CARD, c++ and ass")] == [
        ("Gift Card", "GIFT CARD"),
        ("c++", "c++"),
        ("ass", "ass"),
    ]


def test_contains_text_substring_option():
    matcher = TextBank.compile(["ass"], substring=True)
    found = matcher.find("first class")
    assert found is not None
    assert (found.start, found.end) == (8, 11)


def test_contains_text_span_after_expanding_casefold():
    matcher = TextBank.compile(["strasse"])
    text = "the STRAẞE and Straße"
    assert [m.text for m in matcher.find_all(text)] == ["STRAẞE", "Straße"]


def test_regex_set_reports_the_pattern_and_span():
    matcher = TextBank.compile([r"fr[e3]{2}\s+m[o0]ney", r"\bgift\s*cards?\b"], Mode.REGEX)
    found = matcher.find("get FR33 M0NEY and giftcards")
    assert found is not None
    assert (found.term, found.text) == (r"fr[e3]{2}\s+m[o0]ney", "FR33 M0NEY")
    assert [m.text for m in matcher.find_all("get FR33 M0NEY and giftcards")] == [
        "FR33 M0NEY",
        "giftcards",
    ]
    assert matcher.find("nothing here") is None


def test_invalid_regex_is_refused_at_compile():
    with pytest.raises(InvalidPattern) as error:
        TextBank.compile(["ok", "(unclosed"], Mode.REGEX)
    assert error.value.index == 1
    assert "missing )" in str(error.value)


def test_similarity_returns_the_best_value():
    bank = SimilarityBank(["crypto giveaway", "free money", "wire transfer"])
    best = bank.best("claim your fr33 m0ney now")
    assert best is not None
    assert best.value == "free money"
    assert best.score == pytest.approx(1.0)
    weak = bank.best("the weather is nice")
    assert weak is not None
    assert weak.score < 0.6
    assert SimilarityBank([]).best("x") is None
