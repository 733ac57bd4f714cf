"""The matcher works offsets out only for the characters a match reports (Forms.span
untracked); they must be exactly the ones the tracked offset map gives."""

from hypothesis import given, settings
from hypothesis import strategies as st

from coop.signals.text.normalize import _NON_ASCII, _split_runs, forms, variants

ODD = ["\u200b", "\u0336", "\u202e", "ｆ", "ⓕ", "𝓯", "ß", "İ", "ﬁ", "😂", "—", "é", "Ι"]
EVASIVE = st.text(alphabet=st.sampled_from([*"abefilmorsy 013457@$!|+€.,-_", *ODD]), max_size=40)


@settings(max_examples=300)
@given(st.one_of(st.text(), EVASIVE))
def test_untracked_spans_equal_the_tracked_offsets(text):
    lazy, tracked = forms(text), forms(text, track=True)
    assert lazy.plain.text == tracked.plain.text
    assert lazy.edits == tracked.edits
    length = len(lazy.plain.text)
    for i in range(length):
        for j in range(i + 1, min(length, i + 4) + 1):
            assert lazy.span(i, j) == tracked.span(i, j)


@settings(max_examples=300)
@given(st.one_of(st.text(), EVASIVE))
def test_tracked_and_untracked_forms_are_the_same_strings(text):
    assert [v.text for v in variants(text)] == [v.text for v in variants(text, track=True)]


@settings(max_examples=300)
@given(st.one_of(st.text(), EVASIVE))
def test_non_ascii_runs_found_by_encoding_equal_the_regex_split(text):
    assert _split_runs(text) == _NON_ASCII.split(text)
