import pytest

from coop.signals.text.normalize import fold, normalize, variants


def forms(text: str) -> list[str]:
    return [form.text for form in variants(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ｆｒｅｅ", "free"),  # fullwidth
        ("𝐟𝐫𝐞𝐞 𝕞𝕠𝕟𝕖𝕪", "free money"),  # mathematical
        ("ⓕⓡⓔⓔ", "free"),  # circled
        ("🅵🆁🅴🅴", "free"),  # negative squared
        ("🇫🇷🇪🇪", "free"),  # regional indicators
        ("⒡⒭⒠⒠", "free"),  # parenthesised
        ("z̷̢a̴l̸g̵o", "zalgo"),  # combining marks
        ("café naïve", "cafe naive"),
        ("fr\u200be\u200de\u2060\u00ad", "free"),  # zero-width, word joiner, soft hyphen
        ("\ufefffr\u202ee\u202ce\u2066\u2069", "free"),  # BOM and bidi controls
        ("frее mоnеy", "free money"),  # Cyrillic е and о
        ("ΑΒΕΚΜΟΡΤΧ", "abekmoptx"),  # Greek capitals
        ("ᏚᏟᎪᎷ", "scam"),  # Cherokee
        ("ꜰʀᴇᴇ", "free"),  # small capitals
        ("FREE Money", "free money"),
        ("Straße", "strasse"),
    ],
)
def test_fold_evasion_classes(text, expected):
    assert normalize(text).text == expected


def test_vertical_strokes_fold_to_the_ambiguous_class():
    assert normalize("Ιnfo").text == "1nfo"  # Greek capital iota reads as I or l
    assert fold("I", track=False).text == "i"  # ASCII keeps its case meaning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h3ll0", "hello"),
        ("l337", "leet"),
        ("fr33 m0ney", "free money"),
        ("$cam", "scam"),
        ("a$$hole", "asshole"),
        ("sh!t", "shit"),
        ("7h3", "the"),
        ("w€!9ht", "weight"),
        ("k1ll", "k1ll"),  # "1" stays the i/l class
    ],
)
def test_leet_next_to_letters(text, expected):
    assert normalize(text).text == expected


@pytest.mark.parametrize("text", ["2024", "$5", "100%", "+1 555 0100", "3:30"])
def test_leet_leaves_numbers_alone(text):
    assert normalize(text).text == text


def test_edge_leet_is_tried_both_ways():
    assert forms("mp3 fr33") == ["mp3 fr33", "mpe free"]
    assert forms("money!") == ["money!"]  # "!" after a word is punctuation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f.r.e.e", "free"),
        ("f r e e", "free"),
        ("f_r_e_e", "free"),
        ("f . r . e . e", "free"),
        ("f💦r💦e💦e", "free"),
        ("w|o|r|k", "work"),
        ("f.r.e.e m.o.n.e.y", "free money"),
        ("a f.r.e.e gift", "a free gift"),
        ("fake i d", "fake id"),
        ("$ c @ m", "scam"),
    ],
)
def test_spelled_out_words_are_joined(text, expected):
    assert normalize(text).text == expected


def test_offsets_point_into_the_original():
    text = "say ｆ\u200bｒ̷ｅｅ now"
    result = normalize(text)
    assert result.text == "say free now"
    start, end = result.span(4, 8)
    assert text[start:end] == "ｆ\u200bｒ̷ｅｅ"


def test_offsets_of_a_joined_word_cover_its_separators():
    text = "get f.r.e.e stuff"
    result = normalize(text)
    start, end = result.span(4, 8)
    assert text[start:end] == "f.r.e.e"
