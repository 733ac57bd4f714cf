"""Compiled text banks: contains-text, contains-variant and regex matching.

A matcher is built once per bank (callers cache it per bank version) and is then shared by
every evaluation; matching cost does not grow with the bank (one Aho-Corasick pass, or one
RE2 set scan, per text).
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import ahocorasick
import re2

from coop.signals.text.normalize import AMBIGUOUS, Normalized, rewrite, variants

# A phrase of up to this many words matches with any mix of separators and no separator
# between its words; longer phrases match fully spaced or fully joined.
_MAX_FREE_JOINS = 5
# "i"/"l" positions per word that get a spelling with "1", and spellings kept per term form.
_MAX_AMBIGUOUS = 5
_MAX_SPELLINGS = 256
_SEPARATORS = re.compile(r"[\W_]+")
_RUN = re.compile(r"([^ ])\1+")
_STRETCHED = re.compile(r"([^ ])\1\1")


class Mode(enum.StrEnum):
    TEXT = "TEXT"
    VARIANT = "VARIANT"
    REGEX = "REGEX"


@dataclass(frozen=True, slots=True)
class Match:
    """A bank entry found in a text, with the span of the original text that matched it."""

    term: str
    start: int
    end: int
    text: str


class Matcher(Protocol):
    def find(self, text: str) -> Match | None: ...

    def find_all(self, text: str) -> list[Match]: ...


class InvalidPattern(ValueError):
    """A REGEX bank entry RE2 does not accept."""

    def __init__(self, index: int, pattern: str, reason: str) -> None:
        super().__init__(f"invalid regular expression #{index + 1} {pattern!r}: {reason}")
        self.index = index
        self.pattern = pattern
        self.reason = reason


class TextBank:
    @staticmethod
    def compile(
        terms: Iterable[str], mode: Mode = Mode.TEXT, *, substring: bool = False
    ) -> Matcher:
        """Build the matcher for a bank's entries; `substring` applies to Mode.TEXT only."""
        terms = list(terms)
        if mode is Mode.VARIANT:
            return VariantMatcher(terms)
        if mode is Mode.REGEX:
            return RegexMatcher(terms)
        return ContainsMatcher(terms, substring=substring)


def _automaton(entries: Iterable[tuple[str, object]]) -> ahocorasick.Automaton | None:
    automaton = ahocorasick.Automaton()
    for key, value in entries:
        if key not in automaton:
            automaton.add_word(key, value)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _sorted(matches: Iterable[Match]) -> list[Match]:
    return sorted(set(matches), key=lambda m: (m.start, -m.end, m.term))


class ContainsMatcher:
    """TEXT_MATCHING_CONTAINS_TEXT: case-insensitive, whole words unless `substring`."""

    def __init__(self, terms: Sequence[str], substring: bool = False) -> None:
        self.substring = substring
        self._automaton = _automaton((t.casefold(), t) for t in terms if t)

    def find(self, text: str) -> Match | None:
        return next(self._matches(text), None)

    def find_all(self, text: str) -> list[Match]:
        return _sorted(self._matches(text))

    def _matches(self, text: str) -> Iterable[Match]:
        if self._automaton is None:
            return
        folded = text.casefold()
        starts: list[int] | None = None
        if len(folded) != len(text):  # casefolding expanded a character ("ß" -> "ss")
            starts = [i for i, c in enumerate(text) for _ in c.casefold()]
            starts.append(len(text))
        for last, term in self._automaton.iter(folded):
            key_length = len(term.casefold())
            first = last - key_length + 1
            if not self.substring and not self._whole_word(folded, first, last + 1, term):
                continue
            start, end = (first, last + 1) if starts is None else (starts[first], starts[last] + 1)
            yield Match(term, start, end, text[start:end])

    @staticmethod
    def _whole_word(folded: str, first: int, end: int, term: str) -> bool:
        if _is_word(term[0]) and first > 0 and _is_word(folded[first - 1]):
            return False
        return not (_is_word(term[-1]) and end < len(folded) and _is_word(folded[end]))


@dataclass(frozen=True, slots=True)
class _Key:
    term: str
    runs: tuple[int, ...]  # run length of each character of the collapsed key


def _collapse(key: str) -> tuple[str, tuple[int, ...]]:
    chars: list[str] = []
    runs: list[int] = []
    for char, group in itertools.groupby(key):
        chars.append(char)
        runs.append(len(list(group)))
    return "".join(chars), tuple(runs)


def _runs_match(text_run: int, term_run: int) -> bool:
    """A stretched run (3+) stands for any shorter run; 1 and 2 must be exact ("good" != "god")."""
    return text_run == term_run or (text_run >= 3 and text_run >= term_run)


class VariantMatcher:
    """TEXT_MATCHING_CONTAINS_VARIANT: the evasion pipeline on both the text and the bank.

    The text is turned into a haystack of its words separated by single spaces and padded
    with a space at each end; each term is a key " word word " in every way of separating
    or joining its words, so the whole-word test is part of the Aho-Corasick match. Texts
    with a run of three or more equal characters are matched on run-collapsed forms and the
    run lengths are checked for each hit.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        exact: list[tuple[str, tuple[str, int]]] = []
        collapsed: dict[str, list[_Key]] = {}
        for term in terms:
            for key in _term_keys(term):
                exact.append((key, (term, len(key))))
                short, runs = _collapse(key)
                keys = collapsed.setdefault(short, [])
                if all(k.runs != runs for k in keys):
                    keys.append(_Key(term, runs))
        self._exact = _automaton(exact)
        self._collapsed = _automaton(collapsed.items())

    def find(self, text: str) -> Match | None:
        return next(self._matches(text), None)

    def find_all(self, text: str) -> list[Match]:
        return _sorted(self._matches(text))

    def _matches(self, text: str) -> Iterable[Match]:
        if self._exact is None or self._collapsed is None:
            return
        located: dict[int, Normalized] = {}
        for index, form in enumerate(variants(text)):
            haystack = _haystack(form).text
            if _STRETCHED.search(haystack) is None:
                for last, (term, length) in self._exact.iter(haystack):
                    if index not in located:
                        located[index] = _haystack(variants(text, track=True)[index])
                    yield _match(text, located[index], term, last - length + 1, last)
                continue
            runs: dict[int, int] = {}
            short = _RUN.sub(_recording(runs), haystack)
            for last, keys in self._collapsed.iter(short):
                for key in keys:
                    first = last - len(key.runs) + 1
                    if not all(
                        _runs_match(runs.get(first + k, 1), run) for k, run in enumerate(key.runs)
                    ):
                        continue
                    if index not in located:
                        tracked = _haystack(variants(text, track=True)[index])
                        located[index] = rewrite(tracked, _RUN, _first, _whole)
                    yield _match(text, located[index], key.term, first, last)


def _first(match: re.Match[str]) -> str:
    return match.group(1)


def _whole(match: re.Match[str], replacement: str) -> list[tuple[int, int]]:
    return [(0, match.end() - match.start())]


def _match(text: str, haystack: Normalized, term: str, first: int, last: int) -> Match:
    """first..last is the key in the haystack, its two boundary spaces included."""
    start, end = haystack.span(first + 1, last)
    return Match(term, start, end, text[start:end])


def _recording(runs: dict[int, int]) -> Callable[[re.Match[str]], str]:
    """A run-collapsing replacement that records each run's length at its collapsed index."""
    removed = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal removed
        length = match.end() - match.start()
        runs[match.start() - removed] = length
        removed += length - 1
        return match.group(1)

    return replace


def _haystack(form: Normalized) -> Normalized:
    """Words separated by one space, with a space at both ends."""
    spaced = rewrite(form, _SEPARATORS, " ", _whole)
    text = f" {spaced.text} "
    if spaced.starts is None or spaced.ends is None:
        return Normalized(text)
    return Normalized(text, [0, *spaced.starts, 0], [0, *spaced.ends, 0])


def _term_keys(term: str) -> set[str]:
    keys: set[str] = set()
    for form in variants(term):
        words = [w for w in _SEPARATORS.split(form.text) if w]
        if not words:
            continue
        spellings = [_one_spellings(word) for word in words]
        for spelled in itertools.islice(itertools.product(*spellings), _MAX_SPELLINGS):
            if len(spelled) <= _MAX_FREE_JOINS + 1:
                joins = itertools.product((" ", ""), repeat=len(spelled) - 1)
            else:
                joins = iter([(" ",) * (len(spelled) - 1), ("",) * (len(spelled) - 1)])
            for separators in joins:
                body = spelled[0] + "".join(
                    s + w for s, w in zip(separators, spelled[1:], strict=True)
                )
                keys.add(f" {body} ")
    return keys


def _one_spellings(word: str) -> list[str]:
    """The word with any of its "i"/"l" written as the ambiguous "1" (as leet texts do).

    A spelling left with no letter is dropped: "111" in a text is a number, not "ill".
    """
    positions = [k for k, char in enumerate(word) if char in "il"][:_MAX_AMBIGUOUS]
    spellings = []
    for chosen in itertools.product((False, True), repeat=len(positions)):
        chars = list(word)
        for position, ambiguous in zip(positions, chosen, strict=True):
            if ambiguous:
                chars[position] = AMBIGUOUS
        spelled = "".join(chars)
        if not any(chosen) or not spelled.isdigit():
            spellings.append(spelled)
    return spellings


class RegexMatcher:
    """TEXT_MATCHING_CONTAINS_REGEX: one RE2 set, case-insensitive and searched (unanchored).

    The set says which patterns matched; only a pattern being reported is compiled on its
    own, to find its span.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self._options = re2.Options()
        self._options.case_sensitive = False
        self._options.log_errors = False
        self._patterns = list(patterns)
        self._compiled: dict[int, re2._Regexp] = {}
        self._set: re2.Set | None = None
        if not self._patterns:
            return
        pattern_set = re2.Set.SearchSet(self._options)
        for index, pattern in enumerate(self._patterns):
            try:
                pattern_set.Add(pattern)
            except re2.error:
                raise InvalidPattern(index, pattern, self._reason(pattern)) from None
        pattern_set.Compile()
        self._set = pattern_set

    def _reason(self, pattern: str) -> str:
        try:
            re2.compile(pattern, self._options)
        except re2.error as error:
            detail = error.args[0] if error.args else error
            return detail.decode() if isinstance(detail, bytes) else str(detail)
        return "not accepted by RE2"

    def _regexp(self, index: int) -> re2._Regexp:
        if index not in self._compiled:
            self._compiled[index] = re2.compile(self._patterns[index], self._options)
        return self._compiled[index]

    def find(self, text: str) -> Match | None:
        indices = self._set.Match(text) if self._set is not None else None
        return self._match(text, min(indices)) if indices else None

    def find_all(self, text: str) -> list[Match]:
        indices = self._set.Match(text) if self._set is not None else None
        return _sorted(self._match(text, index) for index in sorted(indices or ()))

    def _match(self, text: str, index: int) -> Match:
        found = self._regexp(index).search(text)
        start, end = found.span() if found is not None else (0, 0)
        return Match(self._patterns[index], start, end, text[start:end])
