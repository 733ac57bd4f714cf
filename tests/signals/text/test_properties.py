from hypothesis import example, given, settings
from hypothesis import strategies as st

from coop.signals.text import Mode, TextBank
from coop.signals.text.normalize import normalize

TERMS = ["free money", "crypto giveaway", "kill yourself", "gift card", "send nudes", "xanax"]
MATCHER = TextBank.compile(TERMS, Mode.VARIANT)
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u202e"])
CLEAN_WORDS = st.sampled_from(
    "the a cat sat on mat today we went to market and bought bread 2024 $5 class grape".split()
)


@settings(max_examples=300)
@given(st.text())
@example("0:0;0:++")  # a joined pair followed by "+" was joined again on the second pass
def test_normalisation_is_idempotent(text):
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=300)
@given(st.text())
def test_offset_map_is_monotonic_and_in_bounds(text):
    result = normalize(text)
    assert len(result.starts) == len(result.ends) == len(result.text)
    for i, (start, end) in enumerate(zip(result.starts, result.ends, strict=True)):
        assert 0 <= start < end <= len(text)
        if i:
            assert result.starts[i - 1] <= start
            assert result.ends[i - 1] <= end


@given(st.sampled_from(TERMS), st.lists(CLEAN_WORDS, max_size=8), st.lists(CLEAN_WORDS, max_size=8))
def test_every_term_matches_itself_among_clean_words(term, before, after):
    text = " ".join([*before, term, *after])
    found = MATCHER.find_all(text)
    assert term in [m.term for m in found]
    assert next(m.text for m in found if m.term == term) == term


@given(st.sampled_from(TERMS), st.data())
def test_zero_width_characters_inside_a_term_never_prevent_a_match(term, data):
    positions = data.draw(st.lists(st.integers(1, len(term) - 1), min_size=1, max_size=6))
    chars = list(term)
    for position in sorted(positions, reverse=True):
        chars.insert(position, data.draw(INVISIBLE))
    evasive = "".join(chars)
    found = MATCHER.find(f"look: {evasive} ok")
    assert found is not None
    assert found.term == term
    assert found.text in evasive
