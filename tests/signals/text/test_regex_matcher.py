"""REGEX banks of any size: RE2 bounds one set's compiled size, so the matcher spreads a bank
over several sets (rules.md: banks hold up to 100,000 entries)."""

from __future__ import annotations

import pytest

from coop.signals.text.matcher import InvalidPattern, RegexMatcher

URLS = [rf"https?://(www\.)?host{n}x\.example\.(com|net)/\S+" for n in range(100_000)]


def test_a_bank_of_100000_url_patterns_compiles_and_finds_every_planted_match():
    matcher = RegexMatcher(URLS)
    for n in (0, 999, 1000, 54_321, 99_999):
        text = f"Look at https://www.host{n}x.example.net/abc before it is gone"
        found = matcher.find_all(text)
        assert [m.term for m in found] == [URLS[n]]
        assert found[0].text == f"https://www.host{n}x.example.net/abc"
    assert matcher.find("no links at all here " * 50) is None


def test_the_first_pattern_of_the_bank_wins_across_sets():
    patterns = [*URLS[:1500], r"example\.com"]
    matcher = RegexMatcher(patterns)
    text = "https://host1200x.example.com/x"
    assert matcher.find(text).term == URLS[1200]
    assert [m.term for m in matcher.find_all(text)] == [URLS[1200], r"example\.com"]


def test_an_invalid_pattern_is_named_with_its_index_in_the_bank():
    with pytest.raises(InvalidPattern) as raised:
        RegexMatcher([*URLS[:2500], "a("])
    assert raised.value.index == 2500
    with pytest.raises(InvalidPattern) as raised:
        RegexMatcher(["ok", r"\pL{200}x"])
    assert (raised.value.index, raised.value.reason) == (1, "too large for RE2 once compiled")
