"""Every built-in signal's work grows linearly with its input (no wall clock involved).

Work is counted, not timed: every Python bytecode run (sys.settrace opcode events) plus the
characters read by each C-level scan that can repeat per text: each regular-expression call
of the text core (what it scans), each Aho-Corasick pass and RE2 set scan (the string fed),
the word-index cursor (the characters it counts over) and rapidfuzz's comparisons (query
length times choice length). An adversarial input is doubled and its work must at most
double, with a little slack for fixed costs: a quadratic step would about quadruple it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import pytest

from coop.core.items import ItemRef
from coop.signals.builtin import builtin_signals
from coop.signals.builtin.geo import compile_areas
from coop.signals.registry import SignalCall
from coop.signals.text import Mode, SimilarityBank, TextBank, matcher, normalize, similarity

# Allowed growth of the work for twice the input (2.0 is linear, ~4 quadratic).
RATIO = 2.3
N = 6_000  # characters of the smaller input


@dataclass
class Work:
    opcodes: int = 0
    chars: int = 0
    by_site: dict[str, int] = field(default_factory=dict)

    def add(self, site: str, n: int) -> None:
        self.chars += n
        self.by_site[site] = self.by_site.get(site, 0) + n

    @property
    def total(self) -> int:
        return self.opcodes + self.chars


class CountingPattern:
    """A compiled pattern that counts the characters each call scans."""

    def __init__(self, pattern: re.Pattern, site: str, work: Work) -> None:
        self._pattern, self._site, self._work = pattern, site, work

    def _span(self, string, pos=0, endpos=None):
        end = len(string) if endpos is None else min(endpos, len(string))
        return pos, end

    def match(self, string, pos=0, endpos=sys.maxsize):
        found = self._pattern.match(string, pos, endpos)
        self._work.add(self._site, (found.end() - pos if found else 0) + 1)
        return found

    def search(self, string, pos=0, endpos=sys.maxsize):
        found = self._pattern.search(string, pos, endpos)
        end = found.end() if found else self._span(string, pos, endpos)[1]
        self._work.add(self._site, end - pos + 1)
        return found

    def finditer(self, string, pos=0, endpos=sys.maxsize):
        lo, hi = self._span(string, pos, endpos)
        self._work.add(self._site, hi - lo + 1)
        return self._pattern.finditer(string, pos, endpos)

    def findall(self, string, pos=0, endpos=sys.maxsize):
        lo, hi = self._span(string, pos, endpos)
        self._work.add(self._site, hi - lo + 1)
        return self._pattern.findall(string, pos, endpos)

    def sub(self, repl, string, count=0):
        self._work.add(self._site, len(string) + 1)
        return self._pattern.sub(repl, string, count)

    def split(self, string, maxsplit=0):
        self._work.add(self._site, len(string) + 1)
        return self._pattern.split(string, maxsplit)


class CountingAutomaton:
    def __init__(self, automaton, work: Work) -> None:
        self._automaton, self._work = automaton, work

    def iter(self, string):
        self._work.add("automaton", len(string) + 1)
        return self._automaton.iter(string)

    def get(self, *args):
        return self._automaton.get(*args)


class CountingSet:
    def __init__(self, pattern_set, work: Work) -> None:
        self._set, self._work = pattern_set, work

    def Match(self, text):  # RE2 spells it so
        self._work.add("re2", len(text) + 1)
        return self._set.Match(text)


def counting_word_index(work: Work):
    class CountingWordIndex(matcher._WordIndex):
        __slots__ = ()

        def __call__(self, at: int) -> int:
            work.add("word index", abs(at - self._at) + 1)
            return super().__call__(at)

    return CountingWordIndex


@pytest.fixture
def work(monkeypatch):
    """A fresh counter, with every regular expression of the text core counting into it."""
    counter = Work()
    for module in (matcher, normalize, similarity):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(module, name, CountingPattern(value, name, counter))
    monkeypatch.setattr(matcher, "_WordIndex", counting_word_index(counter))
    for name in ("partial_ratio", "ratio"):
        scorer = getattr(similarity.fuzz, name)

        def counted(a, b, *args, _scorer=scorer, _name=name, **kwargs):
            counter.add(_name, len(a) * len(b) // 64 + 1)  # bit-parallel: 64 cells a step
            return _scorer(a, b, *args, **kwargs)

        monkeypatch.setattr(similarity.fuzz, name, counted)
    return counter


def measure(work: Work, run, value) -> int:
    work.opcodes = work.chars = 0
    work.by_site.clear()

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            work.opcodes += 1
        return trace

    sys.settrace(trace)
    try:
        run(value)
    finally:
        sys.settrace(None)
    return work.total


BANK = [
    "free money",
    "kill yourself",
    "hello",
    "send nudes",
    "weed delivery",
    "money",
    "scam",
    "wire transfer",
    "you deserve to die",
]
REGEXES = [r"fr[e3]{2}\s+m[o0]ney", r"\bk[i1]ll\b", r"(a|b)*c", r"\d{3}-\d{4}"]
PLACES = (
    {"lat": 48.8566, "lng": 2.3522, "radiusMiles": 10},
    {"bounds": {"northeast": {"lat": 52, "lng": 5}, "southwest": {"lat": 50, "lng": 3}}},
    {"geohash": "u09"},
)

# Inputs built to hit each costly path: edge leet, stretched letters, ambiguous "1"s,
# spelled-out runs, one long token full of leet or "|", single-separator splits, and
# non-ASCII text needing the fold tables.
ADVERSARIAL = {
    "edge leet": "fr33 m0ney! ",
    "stretched": "heeeeelllllooooo ",
    "ambiguous ones": "k1ll y0u h1 ",
    "spelled out": "a b c d e ",
    "long leet token": "a1",
    "long | token": "a|",
    "one separator": "mon.ey sc_am ",
    "no words": ". - _ ",
    "non-ascii": "ｆｒｅｅ ｍ０ｎｅｙ шeed ",
}


class Resources:
    def __init__(self, work: Work) -> None:
        self.compiled = {}
        for mode in Mode:
            found = TextBank.compile(REGEXES if mode is Mode.REGEX else BANK, mode)
            if mode is Mode.VARIANT:
                found._keys = CountingAutomaton(found._keys, work)
            elif mode is Mode.TEXT:
                found._automaton = CountingAutomaton(found._automaton, work)
            else:  # every RE2 set of the bank (one here; several for a large bank)
                found._sets = [(start, CountingSet(each, work)) for start, each in found._sets]
            self.compiled[mode] = found
        self._similarity = SimilarityBank(BANK)
        self._areas = compile_areas(PLACES)
        self.strikes = 0

    def matcher(self, bank_id, mode, substring):
        return self.compiled[mode]

    def similarity(self, bank_id):
        return self._similarity

    def areas(self, bank_id):
        return self._areas

    def strike_total(self, user):
        self.strikes += 1
        return 2


TEXT_SIGNALS = [
    "TEXT_MATCHING_CONTAINS_TEXT",
    "TEXT_MATCHING_NOT_CONTAINS_TEXT",
    "TEXT_MATCHING_CONTAINS_REGEX",
    "TEXT_MATCHING_NOT_CONTAINS_REGEX",
    "TEXT_MATCHING_CONTAINS_VARIANT",
    "TEXT_SIMILARITY_SCORE",
]


def repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def assert_linear(work: Work, run, small, large) -> None:
    run(small)  # warm caches (fold tables, compiled patterns) outside the count
    run(large)
    at_n = measure(work, run, small)
    sites_n = dict(work.by_site)
    at_2n = measure(work, run, large)
    assert at_2n <= RATIO * at_n, (at_n, at_2n, sites_n, work.by_site)


@pytest.mark.parametrize("signal_id", TEXT_SIGNALS)
@pytest.mark.parametrize("kind", list(ADVERSARIAL))
def test_text_signal_work_is_linear(work, signal_id, kind):
    signal = builtin_signals(Resources(work))[signal_id]

    def run(text):
        return signal(SignalCall(value=text, input_type="STRING", banks=("bank",)))

    unit = ADVERSARIAL[kind]
    assert_linear(work, run, repeat(unit, N), repeat(unit, 2 * N))


def test_geo_signal_work_is_linear(work):
    """A geohash has at most 12 characters; a longer one is refused, in linear work too."""
    signal = builtin_signals(Resources(work))["GEO_CONTAINED_WITHIN"]

    def run(geohash):
        try:
            return signal(SignalCall(value=geohash, input_type="GEOHASH", banks=("places",)))
        except ValueError:
            return None

    assert run("u09tunqu").score is True
    assert_linear(work, run, "u09tun", "u09tunqu0k1m")
    assert_linear(work, run, repeat("u09tunq", N), repeat("u09tunq", 2 * N))


def test_strike_signal_work_does_not_grow_with_the_user_id(work):
    resources = Resources(work)
    signal = builtin_signals(resources)["USER_STRIKE_VALUE"]

    def run(user_id):
        return signal(SignalCall(value=ItemRef(user_id, "user"), input_type="USER"))

    assert_linear(work, run, "u" * N, "u" * 2 * N)
    assert resources.strikes == 4  # one strike total read per call


def test_the_counter_sees_a_quadratic_step(work, monkeypatch):
    """The measure itself: a word index that counts from the start each time is caught."""

    class FromTheStart(matcher._WordIndex):
        __slots__ = ()

        def __call__(self, at: int) -> int:
            work.add("word index", at + 1)
            return self._haystack.count(" ", 0, at) - 1

    monkeypatch.setattr(matcher, "_WordIndex", FromTheStart)
    signal = builtin_signals(Resources(work))["TEXT_MATCHING_CONTAINS_VARIANT"]

    def run(text):
        return signal(SignalCall(value=text, input_type="STRING", banks=("bank",)))

    unit = ADVERSARIAL["stretched"]
    with pytest.raises(AssertionError):
        assert_linear(work, run, repeat(unit, N), repeat(unit, 2 * N))


@pytest.mark.parametrize("signal_id", TEXT_SIGNALS)
def test_text_signals_read_at_most_the_limit(work, signal_id):
    """ALL_TEXT is cut to max_text_chars: past it, more text costs nothing more."""
    signal = builtin_signals(Resources(work), max_text_chars=N)[signal_id]

    def run(text):
        return signal(SignalCall(value=text, input_type="STRING", banks=("bank",)))

    unit = ADVERSARIAL["edge leet"]
    run(repeat(unit, 2 * N))
    at_limit = measure(work, run, repeat(unit, N))
    beyond = measure(work, run, repeat(unit, 4 * N))
    assert beyond <= at_limit * 1.01 + 100


def test_the_worker_provider_takes_the_limit_from_settings(settings):
    from coop.rules.banks import DatabaseSignalProvider

    call = SignalCall(value="hello there, free money", input_type="STRING", values=("free money",))
    settings.COOP_MAX_ALL_TEXT_CHARS = 12
    cut = DatabaseSignalProvider().implementation("TEXT_MATCHING_CONTAINS_TEXT")
    assert cut(call).score is False
    settings.COOP_MAX_ALL_TEXT_CHARS = 100_000
    whole = DatabaseSignalProvider().implementation("TEXT_MATCHING_CONTAINS_TEXT")
    assert whole(call).score is True
