"""Implementations of the local built-in signals (text, regex, variant, similarity, geo, strikes).

Each takes a `SignalCall` and returns a `SignalOutput` or raises; the evaluator turns an
exception into an ERRORED leaf. A leaf's inline values are searched first, then its banks in
order; the first match is reported with the value or bank entry and its span in the text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from coop.core.items import ItemRef
from coop.signals.builtin.geo import Area, find_area
from coop.signals.builtin.resources import inline_areas, inline_matcher, inline_similarity
from coop.signals.registry import Matched, SignalCall, SignalFunction, SignalOutput
from coop.signals.text import Matcher, Mode, SimilarityBank


class Resources(Protocol):
    """Compiled banks (per bank version) and user state the built-in signals read."""

    def matcher(self, bank_id: str, mode: Mode, substring: bool) -> Matcher: ...

    def similarity(self, bank_id: str) -> SimilarityBank: ...

    def areas(self, bank_id: str) -> tuple[Area, ...]: ...

    def strike_total(self, user: ItemRef) -> int: ...


class NoValues(ValueError):
    """A matching signal called with neither values nor banks (refused on save)."""

    def __init__(self) -> None:
        super().__init__("no values or banks to match against")


def _text(call: SignalCall) -> str:
    if not isinstance(call.value, str):
        raise TypeError(f"expected a string, got {type(call.value).__name__}")
    return call.value


def _search(call: SignalCall, resources: Resources, mode: Mode) -> Matched | None:
    if not call.values and not call.banks:
        raise NoValues
    text = _text(call)
    sources: list[tuple[str | None, Matcher]] = []
    if call.values:
        sources.append((None, inline_matcher(call.values, mode, call.substring)))  # type: ignore[arg-type]
    for bank in call.banks:
        sources.append((bank, resources.matcher(bank, mode, call.substring)))
    for bank, matcher in sources:
        found = matcher.find(text)
        if found is not None:
            return Matched(found.term, bank, (found.start, found.end), found.text)
    return None


def contains(resources: Resources, mode: Mode, negate: bool) -> SignalFunction:
    """CONTAINS_TEXT / _REGEX / _VARIANT, or (negate) the NOT_ variants that pass on no match.

    A NOT_ variant that fails still reports what it found, for the execution log.
    """

    def run(call: SignalCall) -> SignalOutput:
        found = _search(call, resources, mode)
        return SignalOutput((found is None) if negate else (found is not None), found)

    return run


def similarity(resources: Resources) -> SignalFunction:
    """TEXT_SIMILARITY_SCORE: the best similarity (0..1) to any value or bank entry."""

    def run(call: SignalCall) -> SignalOutput:
        if not call.values and not call.banks:
            raise NoValues
        text = _text(call)
        banks: list[tuple[str | None, SimilarityBank]] = []
        if call.values:
            banks.append((None, inline_similarity(call.values)))  # type: ignore[arg-type]
        banks += [(bank, resources.similarity(bank)) for bank in call.banks]
        best: SignalOutput = SignalOutput(0.0)
        for bank, values in banks:
            found = values.best(text)
            if found is not None and (best.matched is None or found.score > best.score):
                best = SignalOutput(found.score, Matched(found.value, bank))
        return best

    return run


def geo_contained_within(resources: Resources) -> SignalFunction:
    def run(call: SignalCall) -> SignalOutput:
        if not call.values and not call.banks:
            raise NoValues
        geohash = _text(call)
        sources: list[tuple[str | None, tuple[Area, ...]]] = []
        if call.values:
            sources.append((None, inline_areas(call.values, call.values_key)))
        sources += [(bank, resources.areas(bank)) for bank in call.banks]
        for bank, areas in sources:
            area = find_area(areas, geohash)
            if area is not None:
                return SignalOutput(True, Matched(area.location, bank))
        return SignalOutput(False)

    return run


def user_strike_value(resources: Resources) -> SignalFunction:
    def run(call: SignalCall) -> SignalOutput:
        user = call.value
        if isinstance(user, dict):
            user = ItemRef(user["id"], user["typeId"])
        if not isinstance(user, ItemRef):
            raise TypeError(f"expected a user, got {type(user).__name__}")
        return SignalOutput(resources.strike_total(user))

    return run


BUILDERS: dict[str, Callable[[Resources], SignalFunction]] = {
    "TEXT_MATCHING_CONTAINS_TEXT": lambda r: contains(r, Mode.TEXT, negate=False),
    "TEXT_MATCHING_NOT_CONTAINS_TEXT": lambda r: contains(r, Mode.TEXT, negate=True),
    "TEXT_MATCHING_CONTAINS_REGEX": lambda r: contains(r, Mode.REGEX, negate=False),
    "TEXT_MATCHING_NOT_CONTAINS_REGEX": lambda r: contains(r, Mode.REGEX, negate=True),
    "TEXT_MATCHING_CONTAINS_VARIANT": lambda r: contains(r, Mode.VARIANT, negate=False),
    "TEXT_SIMILARITY_SCORE": similarity,
    "GEO_CONTAINED_WITHIN": geo_contained_within,
    "USER_STRIKE_VALUE": user_strike_value,
}


def builtin_signals(resources: Resources) -> dict[str, SignalFunction]:
    """The local built-in signals, bound to where their banks and strike totals come from."""
    return {signal_id: build(resources) for signal_id, build in BUILDERS.items()}
