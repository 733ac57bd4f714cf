"""Compiled text banks: contains-text, contains-variant and regex matching.

A matcher is built once per bank (callers cache it per bank version) and is then shared by
every evaluation; matching cost does not grow with the bank (one Aho-Corasick pass, or one
RE2 set scan, per text).
"""

from __future__ import annotations

import enum
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import ahocorasick
import re2

from coop.signals.text.normalize import AMBIGUOUS, NON_ASCII_LEET, forms, positions, variants

# A phrase of up to this many words matches with any mix of separators and no separator
# between its words; longer phrases match fully spaced or fully joined.
_MAX_FREE_JOINS = 5
# Readings of a word with ambiguous "1"s tried at most (four "1"s read as "i" or "l"), the
# ones a word keeps that can be in a key, and the readings of a window of words matched.
_MAX_READINGS = 16
_MAX_WORD_READINGS = 3
_MAX_WINDOWS = 8
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
        expanded = len(folded) != len(text)  # casefolding expanded a character ("ß" -> "ss")
        starts: list[int] | None = None
        for last, term in self._automaton.iter(folded):
            key_length = len(term.casefold())
            first = last - key_length + 1
            if not self.substring and not self._whole_word(folded, first, last + 1, term):
                continue
            if not expanded:
                yield Match(term, first, last + 1, text[first : last + 1])
                continue
            if starts is None:  # built on the first match only: most texts match nothing
                starts = [i for i, c in enumerate(text) for _ in c.casefold()]
            start, end = starts[first], starts[last] + 1
            yield Match(term, start, end, text[start:end])

    @staticmethod
    def _whole_word(folded: str, first: int, end: int, term: str) -> bool:
        if _is_word(term[0]) and first > 0 and _is_word(folded[first - 1]):
            return False
        return not (_is_word(term[-1]) and end < len(folded) and _is_word(folded[end]))


# An automaton value: (length, term, collapsed). `term` is the term whose key the string is
# (None if the string only stands for run-collapsed keys) and `collapsed` the (term, runs)
# of the keys that collapse to it, runs being the length of each run of the key (None: all
# 1). `collapsed` None is the common case, a key with no repeated letter and so its own
# collapsed form, which then needs no tuple of its own.
_Runs = tuple[int, ...] | None
_Entry = tuple[int, str | None, tuple[tuple[str, _Runs], ...] | None]
# The value of "xxx" for each character of the bank: it marks a stretched run in a text.
_STRETCHED_RUN: _Entry = (3, None, ())


def _runs(key: str) -> tuple[int, ...]:
    return tuple(len(list(group)) for _, group in itertools.groupby(key))


def _runs_match(text_run: int, term_run: int) -> bool:
    """A stretched run (3+) stands for any shorter run; 1 and 2 must be exact ("good" != "god")."""
    return text_run == term_run or (text_run >= 3 and text_run >= term_run)


class VariantMatcher:
    """TEXT_MATCHING_CONTAINS_VARIANT: the evasion pipeline on both the text and the bank.

    The text is turned into a haystack of its words separated by single spaces and padded
    with a space at each end; each term is a key " word word " in every way of separating
    or joining its words, so the whole-word test is part of the Aho-Corasick match.

    Rarer cases are looked at only in a window of words around where they occur: the edged
    form (leet at word edges) around its edits; a run of three or more equal characters
    (the automaton also holds "xxx" for every character of the bank, so the one pass finds
    them), matched on run-collapsed forms with the run lengths checked for each hit; and a
    "1" in a word with letters, which may be an "i" or an "l", tried both ways instead of
    giving every term all its spellings. Offsets into the original text are worked out only
    for a match.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        self._keys: ahocorasick.Automaton | None = ahocorasick.Automaton()
        self._words: set[str] = set()  # every word of a key, run-collapsed
        self._doubled: set[str] = set()  # the words of keys with a repeated letter
        self._reach = 1  # the most words one key spans
        self._worth: dict[str, bool] = {}  # edited tokens -> whether to match the edged form
        for term in terms:
            for key in _term_keys(term):
                short = _collapsed(key)
                if self._add(key, term) and short != key:
                    self._add_collapsed(short, term, _runs(key))
                self._words.update(short.split())
                if short != key:
                    self._doubled.update(w for w in key.split() if _RUN.search(w))
                self._reach = max(self._reach, key.count(" ") - 1)
        alphabet = set("".join(self._words))
        self._choices = ("i", "l", AMBIGUOUS) if AMBIGUOUS in alphabet else ("i", "l")
        for char in alphabet:
            self._keys.add_word(char * 3, _STRETCHED_RUN)
        if not self._words:
            self._keys = None
        else:
            self._keys.make_automaton()
        # Up to reach words next to an edit: the window the edged form is matched in (reach
        # - 1 for a key, and one more for a word split in two, "mon.ey").
        self._around = re.compile(rf"(?:[\W_]*[^\W_]+){{0,{self._reach}}}")

    def _add(self, key: str, term: str) -> bool:
        """Add a term's key; False if an earlier term has it (the first term is reported)."""
        entry: _Entry | None = self._keys.get(key, None)
        if entry is None:
            plain = _RUN.search(key) is None
            self._keys.add_word(key, (len(key), term, None if plain else ()))
        elif entry[1] is None:  # so far only the collapsed form of other keys
            self._keys.add_word(key, (len(key), term, (*(entry[2] or ()), (term, None))))
        else:
            return False
        return True

    def _add_collapsed(self, short: str, term: str, runs: tuple[int, ...]) -> None:
        entry: _Entry | None = self._keys.get(short, None)
        if entry is None:
            self._keys.add_word(short, (len(short), None, ((term, runs),)))
            return
        group = ((entry[1], None),) if entry[2] is None else entry[2]
        if all(r != runs for _, r in group):
            self._keys.add_word(short, (len(short), entry[1], (*group, (term, runs))))

    def find(self, text: str) -> Match | None:
        return next(self._matches(text), None)

    def find_all(self, text: str) -> list[Match]:
        return _sorted(self._matches(text))

    def _matches(self, text: str) -> Iterable[Match]:
        if self._keys is None:
            return
        found = forms(text)
        plain = found.plain.text
        haystack = _haystack(plain)
        hits = itertools.chain(
            ((plain, hit) for hit in self._hits(haystack)),
            ((plain, hit) for hit in self._split_hits(plain, haystack)),
        )
        # Only edits whose token can be in a key need the edged form (built only then).
        edits = [edit for edit in found.edits if self._worth_editing(edit[2])]
        if edits:
            edged = found.edged.text
            hits = itertools.chain(hits, ((edged, hit) for hit in self._edged_hits(edged, edits)))
        located: dict[str, _WordSpans] = {}
        for form, (term, first, last) in hits:
            spans = located.setdefault(form, _WordSpans(form))
            start, end = found.span(spans[first][0], spans[last][1])
            yield Match(term, start, end, text[start:end])

    def _split_hits(self, form: str, haystack: str) -> Iterable[tuple[str, int, int]]:
        """Hits where one word was split in two by a single ".", "_" or "-" ("mon.ey",
        "sc_am"): each such pair of words is read joined, but only where the joined word
        can be in a key, and only hits covering it count (the rest were found already)."""
        points = _split_points(form)
        if not points:
            return
        words: list[str] | None = None
        index, counted = -1, 0  # index: the words starting before form[counted], less one
        for at in points:
            start = at
            while start > 0 and form[start - 1].isalnum():
                start -= 1
            end = at + 1
            while end < len(form) and form[end].isalnum():
                end += 1
            joined = form[start:at] + form[at + 1 : end]
            if AMBIGUOUS in joined:
                found = [r for r in self._readings(joined) if self._in_keys(r)]
            else:
                found = [joined] if self._in_keys(joined) else []
            if not found:
                continue
            index += len(_WORD_START.findall(form, counted, at))
            counted = at
            if words is None:
                words = haystack.split()
            # Words index and index + 1 read as one word, in a window of the words that a
            # key holding it can reach; "" stands for the pair, as no reading equals it.
            lo = max(0, index - self._reach + 1)
            hi = min(len(words), index + 1 + self._reach)
            local = [*words[lo:index], "", *words[index + 2 : hi]]
            centre = index - lo
            readings = {centre: found[:_MAX_WORD_READINGS]}
            for k in _ambiguous_words(f" {' '.join(local)} "):
                if k != centre:
                    readings[k] = [r for r in self._readings(local[k]) if self._in_keys(r)][
                        :_MAX_WORD_READINGS
                    ] or [local[k]]
            for term, first, last in self._region_hits(local, 0, len(local), readings):
                if first <= centre <= last:
                    yield term, lo + first + (first > centre), lo + last + (last >= centre)

    def _edged_hits(
        self, edged: str, edits: list[tuple[int, int, str]]
    ) -> Iterable[tuple[str, int, int]]:
        """Hits in the edged form, looked for only in the words around its edits (elsewhere
        it is the plain form)."""
        windows: list[tuple[int, int]] = []
        for start, end, _ in edits:
            lo = start - self._behind(edged, start)
            hi = self._around.match(edged, end).end()
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], hi)
            else:
                windows.append((lo, hi))
        offset = counted = 0  # the words of edged[:counted]
        for lo, hi in windows:
            haystack = _haystack(edged[lo:hi])
            hits = itertools.chain(self._hits(haystack), self._split_hits(edged[lo:hi], haystack))
            for term, first, last in hits:
                if counted < lo:
                    offset += len(_WORD_START.findall(edged, counted, lo))
                    counted = lo
                yield term, first + offset, last + offset

    def _worth_editing(self, token: str) -> bool:
        """Whether a word of an edited token, read some way, can be in a key (remembered per
        token, a bounded number of them: "erd" for "3rd" comes again and again)."""
        worth = self._worth.get(token)
        if worth is None:
            words = _WORD.findall(token)
            worth = any(self._in_keys(r) for word in words for r in self._readings(word))
            if len(token) <= 32:
                if len(self._worth) >= 50_000:
                    self._worth.clear()
                self._worth[token] = worth
        return worth

    def _behind(self, text: str, start: int) -> int:
        """How far before `start` the window of up to reach words reaches: matched on
        a reversed piece of the text just before it, grown only while the match may go on
        (so the cost is the window's length, not the text's)."""
        size = 64
        while True:
            lo = max(0, start - size)
            piece = text[lo:start][::-1]
            reach = self._around.match(piece).end()
            # Done if the text starts here, or a word follows the match in the piece: the
            # match did not stop for lack of text.
            if lo == 0 or _WORD.search(piece, reach) is not None:
                return reach
            size *= 4

    def _hits(self, haystack: str) -> Iterable[tuple[str, int, int]]:
        """(term, first word, last word) for each key found in the haystack."""
        stretched: set[int] = set()
        word = _WordIndex(haystack)
        for end, entry in self._keys.iter(haystack):
            length, term, _ = entry
            if term is not None:
                yield term, word(end - length + 2), word(end - 1)
            elif entry is _STRETCHED_RUN:
                stretched.add(word(end))
        ambiguous = _ambiguous_words(haystack)
        if not stretched and not ambiguous:
            return
        words = haystack.split()
        useful: dict[str, list[str]] = {}  # a word's readings that can be in a key
        readings: dict[int, list[str]] = {}  # the words worth a window, as they may be read
        for k in sorted(stretched | ambiguous):
            if words[k] not in useful:
                found = [r for r in self._readings(words[k]) if self._in_keys(r)]
                useful[words[k]] = found[:_MAX_WORD_READINGS]
            if useful[words[k]]:
                readings[k] = useful[words[k]]
        for lo, hi in self._regions(list(readings), len(words)):
            yield from self._region_hits(words, lo, hi, readings)

    def _in_keys(self, word: str) -> bool:
        """Whether a text word (read one way) can be a word of some key: as it is or, with
        a stretched run, run-collapsed. Only such words need a window of their own."""
        if word in self._words:  # a collapsed key word: it has no run
            return True
        if _STRETCHED.search(word) is not None:
            return _collapsed(word) in self._words
        return word in (self._doubled if _RUN.search(word) else self._words)

    def _readings(self, word: str) -> list[str]:
        """The word as it is and, if it has letters, with its "1"s read as "i" or "l" (and
        as "1" when the bank has keys with one): _MAX_READINGS at most."""
        if AMBIGUOUS not in word or word.isdigit():
            return [word]
        ones = positions(word, AMBIGUOUS)
        found = [word]
        choices = itertools.product(self._choices, repeat=len(ones))
        for choice in itertools.islice(choices, _MAX_READINGS):
            chars = list(word)
            for at, char in zip(ones, choice, strict=True):
                chars[at] = char
            reading = "".join(chars)
            if reading != word:
                found.append(reading)
        return found

    def _regions(self, centres: list[int], count: int) -> list[tuple[int, int]]:
        """Word ranges holding every key that could cover one of the centre words, merged
        while they stay short (each is read in up to _MAX_WINDOWS ways)."""
        regions: list[tuple[int, int]] = []
        for centre in centres:
            lo, hi = max(0, centre - self._reach + 1), min(count, centre + self._reach)
            if regions and lo <= regions[-1][1] and hi - regions[-1][0] <= 4 * self._reach:
                regions[-1] = (regions[-1][0], hi)
            else:
                regions.append((lo, hi))
        return regions

    def _region_hits(
        self, words: list[str], lo: int, hi: int, readings: dict[int, list[str]]
    ) -> Iterable[tuple[str, int, int]]:
        """Keys in words[lo:hi] with each word read in every way that can be in a key (at
        most _MAX_WINDOWS windows), matched run-collapsed where a run is stretched."""
        options = [readings.get(k, [words[k]]) for k in range(lo, hi)]
        for chosen in itertools.islice(itertools.product(*options), _MAX_WINDOWS):
            window = f" {' '.join(chosen)} "
            if chosen != tuple(words[lo:hi]):  # else the automaton has seen it with the rest
                word = _WordIndex(window)
                for end, (length, term, _) in self._keys.iter(window):
                    if term is not None:
                        first = lo + word(end - length + 2)
                        yield term, first, lo + word(end - 1)
            if _STRETCHED.search(window) is not None:
                yield from self._collapsed_hits(window, lo)

    def _collapsed_hits(self, window: str, lo: int) -> Iterable[tuple[str, int, int]]:
        """Keys found in the run-collapsed window whose runs the window's runs stand for."""
        runs: dict[int, int] = {}  # collapsed index -> run length, for runs of 2 or more
        short = _RUN.sub(_recording(runs), window)
        word = _WordIndex(short)
        for end, (length, term, collapsed) in self._keys.iter(short):
            first = end - length + 1
            for key_term, key_runs in ((term, None),) if collapsed is None else collapsed:
                if key_runs is None:
                    found = all(runs.get(at) != 2 for at in range(first, end + 1))
                else:
                    found = all(
                        _runs_match(runs.get(first + k, 1), run) for k, run in enumerate(key_runs)
                    )
                if found:
                    yield key_term, lo + word(first + 1), lo + word(end - 1)


_ASCII_BLANKS = bytes(c if chr(c).isalnum() or c >= 128 else ord(" ") for c in range(256))
_WORD = re.compile(r"[^\W_]+")
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")


# What a single-separator split can be: a word character ("a"; "?" stands for any non-ASCII
# character, checked again), a separator that may split a word ("."), anything else (" ").
_SPLIT_SHAPES = (
    bytes(
        ord("a") if chr(c).isalnum() or c == ord("?") else ord(".") if chr(c) in "._-" else ord(" ")
        for c in range(128)
    )
    + b" " * 128
)


def _split_points(form: str) -> list[int]:
    """Where a single ".", "_" or "-" stands between two word characters ("mon.ey")."""
    shape = form.encode("ascii", "replace").translate(_SPLIT_SHAPES)
    points = []
    at = shape.find(b"a.a")
    while at != -1:
        if form[at].isalnum() and form[at + 2].isalnum():
            points.append(at + 1)
        at = shape.find(b"a.a", at + 2)
    return points


def _haystack(text: str) -> str:
    """The words of a normalised text separated by single spaces, with a space at both ends.

    Separators are blanked by one bytes.translate of the UTF-8 text: folding turned every
    non-ASCII one into an ASCII stand-in, except the leet symbols replaced here.
    """
    if not text.isascii():  # folding left no other non-ASCII separators (normalize._FoldTable)
        for symbol in NON_ASCII_LEET:
            if symbol in text:
                text = text.replace(symbol, " ")
    return f" {b' '.join(text.encode().translate(_ASCII_BLANKS).split()).decode()} "


def _collapsed(text: str) -> str:
    """`text` with each run of a repeated character cut to one character."""
    if _RUN.search(text) is None:
        return text
    return "".join(map(operator.itemgetter(0), itertools.groupby(text)))


class _WordIndex:
    """The index of the word holding haystack[at] (the haystack starts with a space), counted
    from the position asked about before: hits come in (nearly) increasing order, so all the
    counting for one haystack is linear in its length."""

    __slots__ = ("_at", "_haystack", "_spaces")

    def __init__(self, haystack: str) -> None:
        self._haystack = haystack
        self._at = 0
        self._spaces = 0  # haystack.count(" ", 0, self._at)

    def __call__(self, at: int) -> int:
        if at >= self._at:
            self._spaces += self._haystack.count(" ", self._at, at)
        else:
            self._spaces -= self._haystack.count(" ", at, self._at)
        self._at = at
        return self._spaces - 1


def _ambiguous_words(haystack: str) -> set[int]:
    """The words holding a "1" and a letter: "k1ll", not "2014"."""
    found: set[int] = set()
    word = _WordIndex(haystack)
    at = haystack.find(AMBIGUOUS)
    while at != -1:
        end = haystack.find(" ", at)
        if not haystack[haystack.rfind(" ", 0, at) + 1 : end].isdigit():
            found.add(word(at))
        at = haystack.find(AMBIGUOUS, end)
    return found


class _WordSpans:
    """Where each haystack word is in the form it came from, found only as far as asked."""

    def __init__(self, form: str) -> None:
        self._spans: list[tuple[int, int]] = []
        self._words = _WORD.finditer(form)

    def __getitem__(self, index: int) -> tuple[int, int]:
        while len(self._spans) <= index:
            self._spans.append(next(self._words).span())
        return self._spans[index]


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


def _term_keys(term: str) -> set[str]:
    keys: set[str] = set()
    for form in variants(term):
        words = _haystack(form.text).split()
        if not words:
            continue
        if len(words) <= _MAX_FREE_JOINS + 1:
            joins = itertools.product((" ", ""), repeat=len(words) - 1)
        else:
            joins = iter([(" ",) * (len(words) - 1), ("",) * (len(words) - 1)])
        for separators in joins:
            body = words[0] + "".join(s + w for s, w in zip(separators, words[1:], strict=True))
            keys.add(f" {body} ")
    return keys


class RegexMatcher:
    """TEXT_MATCHING_CONTAINS_REGEX: RE2 sets, case-insensitive and searched (unanchored).

    RE2 bounds a set's compiled size, so a large bank (100,000 patterns) is spread over as
    many sets as it needs: patterns go in chunks of SET_SIZE, and a chunk RE2 refuses is
    halved until it fits (a single valid pattern always does). A search costs one linear
    pass over the text per set. The sets say which patterns matched; only a pattern being
    reported is compiled on its own, to find its span.
    """

    SET_SIZE = 1000

    def __init__(self, patterns: Sequence[str]) -> None:
        self._options = re2.Options()
        self._options.case_sensitive = False
        self._options.log_errors = False
        self._patterns = list(patterns)
        self._compiled: dict[int, re2._Regexp] = {}
        self._sets: list[tuple[int, re2.Set]] = []  # (index of its first pattern, set)
        for start in range(0, len(self._patterns), self.SET_SIZE):
            self._add_sets(start, self._patterns[start : start + self.SET_SIZE])

    def _add_sets(self, start: int, chunk: list[str]) -> None:
        pattern_set = re2.Set.SearchSet(self._options)
        for offset, pattern in enumerate(chunk):
            try:
                pattern_set.Add(pattern)
            except re2.error:
                raise InvalidPattern(start + offset, pattern, self._reason(pattern)) from None
        try:
            pattern_set.Compile()
        except re2.error:
            if len(chunk) == 1:
                raise InvalidPattern(start, chunk[0], "too large for RE2 once compiled") from None
            half = len(chunk) // 2
            self._add_sets(start, chunk[:half])
            self._add_sets(start + half, chunk[half:])
            return
        self._sets.append((start, pattern_set))

    def _matching(self, text: str) -> list[int]:
        found: list[int] = []
        for start, pattern_set in self._sets:
            found.extend(start + i for i in pattern_set.Match(text) or ())
        return found

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
        indices = self._matching(text)
        return self._match(text, min(indices)) if indices else None

    def find_all(self, text: str) -> list[Match]:
        return _sorted(self._match(text, index) for index in sorted(self._matching(text)))

    def _match(self, text: str, index: int) -> Match:
        found = self._regexp(index).search(text)
        start, end = found.span() if found is not None else (0, 0)
        return Match(self._patterns[index], start, end, text[start:end])
