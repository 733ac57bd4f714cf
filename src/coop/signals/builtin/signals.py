"""Implementations of the local built-in signals (text, regex, variant, similarity, geo, strikes).

Each takes a `SignalCall` and returns a `SignalOutput` or raises; the evaluator turns an
exception into an ERRORED leaf. A leaf's inline values are searched first, then its banks in
order; the first match is reported with the value or bank entry and its span in the text.

A text signal evaluates at most `max_text_chars` characters of its input (the first ones; None:
all), so its cost has a bound per leaf: ALL_TEXT joins every text field of an item, and each
field alone is already limited by the API. The limit is a plain argument (the Django side reads
it from settings), so this module and coop.signals.text need no Django.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from coop.core.items import ItemRef
from coop.signals.builtin.geo import Area, find_area
from coop.signals.builtin.resources import (
    ExternalHash,
    ExternalMatch,
    HashBank,
    inline_areas,
    inline_matcher,
    inline_similarity,
)
from coop.signals.hashing import MIN_QUALITY, Match, PdqHash
from coop.signals.registry import Matched, SignalCall, SignalFunction, SignalOutput
from coop.signals.text import Matcher, Mode, SimilarityBank


class Resources(Protocol):
    """Compiled banks (per bank version) and user state the built-in signals read."""

    def matcher(self, bank_id: str, mode: Mode, substring: bool) -> Matcher: ...

    def similarity(self, bank_id: str) -> SimilarityBank: ...

    def areas(self, bank_id: str) -> tuple[Area, ...]: ...

    def strike_total(self, user: ItemRef) -> int: ...

    def image_hash(self, url: str) -> PdqHash: ...

    def hash_bank(self, bank_id: str) -> HashBank: ...


class NoValues(ValueError):
    """A matching signal called with neither values nor banks (refused on save)."""

    def __init__(self) -> None:
        super().__init__("no values or banks to match against")


def _text(call: SignalCall, limit: int | None = None) -> str:
    """The input string, cut to its first `limit` characters (spans stay valid in it)."""
    if not isinstance(call.value, str):
        raise TypeError(f"expected a string, got {type(call.value).__name__}")
    return call.value if limit is None else call.value[:limit]


def _search(
    call: SignalCall, resources: Resources, mode: Mode, limit: int | None = None
) -> Matched | None:
    if not call.values and not call.banks:
        raise NoValues
    text = _text(call, limit)
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


def contains(
    resources: Resources, mode: Mode, negate: bool, limit: int | None = None
) -> SignalFunction:
    """CONTAINS_TEXT / _REGEX / _VARIANT, or (negate) the NOT_ variants that pass on no match.

    A NOT_ variant that fails still reports what it found, for the execution log.
    """

    def run(call: SignalCall) -> SignalOutput:
        found = _search(call, resources, mode, limit)
        return SignalOutput((found is None) if negate else (found is not None), found)

    return run


def similarity(resources: Resources, limit: int | None = None) -> SignalFunction:
    """TEXT_SIMILARITY_SCORE: the best similarity (0..1) to any value or bank entry."""

    def run(call: SignalCall) -> SignalOutput:
        if not call.values and not call.banks:
            raise NoValues
        text = _text(call, limit)
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


def image_similarity(resources: Resources, negate: bool) -> SignalFunction:
    """IMAGE_SIMILARITY_MATCH, or (negate) _DOES_NOT_MATCH: whether the image's PDQ hash is
    within a bank's distance of any of its hashes. Disabled banks are not matched. The match
    logged is the closest hash of the first bank (in the leaf's order) that has one, with what
    an external matcher (HMA) adds about it."""

    def run(call: SignalCall) -> SignalOutput:
        if not call.banks:
            raise NoValues
        url = call.value
        if not isinstance(url, str):
            raise TypeError(f"expected an image URL, got {type(url).__name__}")
        image = resources.image_hash(url)
        if not image.usable:
            raise ValueError(
                f"the image's PDQ quality is {image.quality}, below {MIN_QUALITY}:"
                " too featureless to match on"
            )
        found: Matched | None = None
        for bank_id in call.banks:
            bank = resources.hash_bank(bank_id)
            if not bank.enabled:
                continue
            nearest = bank.index.nearest(image.hash, bank.distance)
            if nearest is not None:
                found = Matched(_entry(nearest, bank, image), bank_id)
                break
        return SignalOutput((found is None) if negate else (found is not None), found)

    return run


def _entry(nearest: Match | ExternalMatch, bank: HashBank, image: PdqHash) -> dict[str, object]:
    entry: dict[str, object] = {
        "hash": nearest.hash,
        "distance": nearest.distance,
        "maxDistance": bank.distance,
        "imageHash": image.hash,
        "quality": image.quality,
    }
    if isinstance(image, ExternalHash):
        entry["quality"] = f">= {MIN_QUALITY}"
        entry["hashedBy"] = image.hashed_by
    if isinstance(nearest, ExternalMatch):
        entry.update(nearest.details)
    return entry


BUILDERS: dict[str, Callable[[Resources, int | None], SignalFunction]] = {
    "TEXT_MATCHING_CONTAINS_TEXT": lambda r, n: contains(r, Mode.TEXT, False, n),
    "TEXT_MATCHING_NOT_CONTAINS_TEXT": lambda r, n: contains(r, Mode.TEXT, True, n),
    "TEXT_MATCHING_CONTAINS_REGEX": lambda r, n: contains(r, Mode.REGEX, False, n),
    "TEXT_MATCHING_NOT_CONTAINS_REGEX": lambda r, n: contains(r, Mode.REGEX, True, n),
    "TEXT_MATCHING_CONTAINS_VARIANT": lambda r, n: contains(r, Mode.VARIANT, False, n),
    "TEXT_SIMILARITY_SCORE": similarity,
    "GEO_CONTAINED_WITHIN": lambda r, n: geo_contained_within(r),
    "USER_STRIKE_VALUE": lambda r, n: user_strike_value(r),
    "IMAGE_SIMILARITY_MATCH": lambda r, n: image_similarity(r, False),
    "IMAGE_SIMILARITY_DOES_NOT_MATCH": lambda r, n: image_similarity(r, True),
}


def builtin_signals(
    resources: Resources, max_text_chars: int | None = None
) -> dict[str, SignalFunction]:
    """The local built-in signals, bound to where their banks and strike totals come from;
    text signals read at most `max_text_chars` characters of their input (None: all)."""
    return {signal_id: build(resources, max_text_chars) for signal_id, build in BUILDERS.items()}
