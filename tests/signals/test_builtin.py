"""Local built-in signals through the evaluator, with banks kept in memory."""

from __future__ import annotations

import pygeohash
import pytest

from coop.core.items import ItemRef
from coop.rules.conditions import parse_condition
from coop.rules.evaluator import EvaluationContext, Item, Outcome, evaluate, item_schema
from coop.signals.builtin import (
    BankData,
    BankUnavailable,
    CompiledBanks,
    LocalSignalProvider,
)
from coop.signals.builtin.geo import haversine_miles
from coop.signals.builtin.resources import LRU
from coop.signals.registry import build_registry


class MemoryLoader:
    def __init__(self, banks):
        self.banks = dict(banks)  # id -> BankData
        self.loads = 0

    def version(self, bank_id):
        data = self.banks.get(bank_id)
        if data is None:
            raise BankUnavailable(f"bank {bank_id!r} does not exist")
        return data.kind, data.version

    def load(self, bank_id):
        self.version(bank_id)
        self.loads += 1
        return self.banks[bank_id]


USER1 = ItemRef("u1", "user")
STRIKES = {USER1: 3}


@pytest.fixture
def loader():
    return MemoryLoader(
        {
            "words": BankData("TEXT", 1, ("free money", "scam")),
            "rx": BankData("REGEX", 1, (r"\bv[i1]agra\b", r"\d{3}-\d{4}")),
            "bad-rx": BankData("REGEX", 1, ("ok", "(unclosed")),
            "places": BankData(
                "LOCATION",
                1,
                ({"name": "Paris", "lat": 48.8566, "lng": 2.3522, "radiusMiles": 10},),
            ),
        }
    )


@pytest.fixture
def provider(loader):
    banks = CompiledBanks(loader, lambda user: STRIKES.get(user, 0), cache=LRU(64))
    return LocalSignalProvider(build_registry(discover=list), banks)


SCHEMA = item_schema(
    [
        {"name": "text", "type": "STRING"},
        {"name": "where", "type": "ARRAY", "items": "GEOHASH"},
        {"name": "author", "type": "RELATED_ITEM"},
    ]
)


def run(provider, condition, text="", where=(), kind="CONTENT", creator=USER1):
    data = {"text": text, "where": list(where)}
    item = Item("i1", "post", kind, SCHEMA, data, creator)
    tree, errors = parse_condition(condition)
    assert not errors
    return evaluate(tree, EvaluationContext(item, provider))


def text_leaf(signal, **kwargs):
    return {"input": {"field": "text"}, "signal": f"TEXT_MATCHING_{signal}", **kwargs}


# Contains text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "substring", "expected"),
    [
        ("this is a SCAM!", False, True),
        ("scammer here", False, False),
        ("scammer here", True, True),
        ("get FREE MONEY now", False, True),
        ("nothing", True, False),
    ],
)
def test_contains_text_whole_word_by_default(provider, text, substring, expected):
    condition = text_leaf("CONTAINS_TEXT", values=["scam"], banks=["words"], substring=substring)
    assert run(provider, condition, text).passed is expected
    negated = text_leaf("NOT_CONTAINS_TEXT", values=["scam"], banks=["words"], substring=substring)
    assert run(provider, negated, text).passed is not expected


def test_contains_text_reports_entry_bank_and_span(provider):
    result = run(provider, text_leaf("CONTAINS_TEXT", banks=["words"]), "Get Free  money")
    assert result.outcome is Outcome.FAILED  # two spaces: not the phrase
    result = run(provider, text_leaf("CONTAINS_TEXT", banks=["words"]), "Get Free money!")
    assert result.to_dict()["matchedValue"] == {
        "value": "Get Free money!",
        "index": 0,
        "entry": "free money",
        "bank": "words",
        "span": [4, 14],
        "text": "Free money",
    }
    inline = run(provider, text_leaf("CONTAINS_TEXT", values=["get"], banks=["words"]), "get scam")
    assert inline.root.matched.matched.entry == "get"  # inline values first
    assert inline.root.matched.matched.bank is None


# Regex -----------------------------------------------------------------------------------------


def test_regex_values_and_banks(provider):
    condition = text_leaf("CONTAINS_REGEX", banks=["rx"])
    result = run(provider, condition, "buy V1AGRA today")
    assert result.passed
    assert result.root.matched.matched.text == "V1AGRA"
    assert run(provider, condition, "call 555-1234").passed
    assert not run(provider, condition, "viagraa").passed
    assert run(provider, text_leaf("NOT_CONTAINS_REGEX", banks=["rx"]), "hello").passed
    assert run(provider, text_leaf("CONTAINS_REGEX", values=["^hel+o$"]), "HELLO").passed


def test_invalid_pattern_is_errored_with_reason(provider, loader):
    for _ in range(2):
        result = run(provider, text_leaf("CONTAINS_REGEX", banks=["bad-rx"]), "ok")
        assert result.outcome is Outcome.ERRORED
        assert "invalid regular expression #2 '(unclosed'" in result.root.error
        assert "bad-rx" in result.root.error
    assert loader.loads == 1  # the failure is cached with the bank version


# Variant and similarity ------------------------------------------------------------------------


def test_contains_variant(provider):
    condition = text_leaf("CONTAINS_VARIANT", values=["free money"], banks=["words"])
    for text in ("f.r.e.e m0ney", "ＦＲＥＥ money", "frеe mоney", "$c4m"):
        assert run(provider, condition, text).passed, text
    assert not run(provider, condition, "freedom is money-ish").passed


def test_similarity_score(provider):
    condition = {
        "input": {"field": "text"},
        "signal": "TEXT_SIMILARITY_SCORE",
        "banks": ["words"],
        "comparator": "GREATER_THAN",
        "threshold": 0.8,
    }
    result = run(provider, condition, "fre money")
    assert result.passed
    assert 0.8 < result.root.score <= 1
    assert result.root.matched.matched.entry == "free money"
    low = run(provider, condition, "completely unrelated sentence")
    assert low.outcome is Outcome.FAILED
    assert 0 <= low.root.score < 0.8


# Geo -------------------------------------------------------------------------------------------


def geo_leaf(**kwargs):
    return {"input": {"field": "where"}, "signal": "GEO_CONTAINED_WITHIN", **kwargs}


def test_circle_edge(provider):
    geohash = pygeohash.encode(48.95, 2.40, precision=9)
    centre = pygeohash.decode_exactly(geohash)
    distance = haversine_miles(48.8566, 2.3522, centre.latitude, centre.longitude)
    inside = {"lat": 48.8566, "lng": 2.3522, "radiusMiles": distance * 1.0001}
    outside = {**inside, "radiusMiles": distance * 0.9999}
    assert run(provider, geo_leaf(values=[inside]), where=[geohash]).passed
    assert not run(provider, geo_leaf(values=[outside]), where=[geohash]).passed


def test_rectangle_across_the_antimeridian(provider):
    fiji = {
        "bounds": {"northeast": {"lat": -10, "lng": -170}, "southwest": {"lat": -25, "lng": 170}}
    }
    east_side = pygeohash.encode(-17.7, 178.0, precision=7)
    west_side = pygeohash.encode(-17.7, -179.0, precision=7)
    outside = pygeohash.encode(-17.7, 160.0, precision=7)
    too_south = pygeohash.encode(-30.0, 178.0, precision=7)
    assert run(provider, geo_leaf(values=[fiji]), where=[east_side]).passed
    assert run(provider, geo_leaf(values=[fiji]), where=[west_side]).passed
    assert not run(provider, geo_leaf(values=[fiji]), where=[outside]).passed
    assert not run(provider, geo_leaf(values=[fiji]), where=[too_south]).passed
    plain = {"bounds": {"northeast": {"lat": 10, "lng": 20}, "southwest": {"lat": 0, "lng": 10}}}
    assert run(provider, geo_leaf(values=[plain]), where=[pygeohash.encode(5, 15)]).passed
    assert not run(provider, geo_leaf(values=[plain]), where=[pygeohash.encode(5, 25)]).passed


def test_geohash_prefix_and_any_value(provider):
    cell = {"name": "SF", "geohash": "9Q8Y"}
    result = run(provider, geo_leaf(values=[cell]), where=["u4pruy", "9q8yyk"])
    assert result.passed
    assert result.to_dict()["matchedValue"] == {"value": "9q8yyk", "index": 1, "entry": cell}
    assert not run(provider, geo_leaf(values=[cell]), where=["9q8"]).passed  # coarser cell


def test_location_bank(provider):
    paris = pygeohash.encode(48.86, 2.35, precision=8)
    result = run(provider, geo_leaf(banks=["places"]), where=[paris])
    assert result.passed
    assert result.root.matched.matched.bank == "places"
    assert result.root.matched.matched.entry["name"] == "Paris"
    assert not run(provider, geo_leaf(banks=["places"]), where=["9q8yyk"]).passed


# Strikes ---------------------------------------------------------------------------------------


def test_user_strike_value(provider):
    condition = {
        "input": "AUTHOR",
        "signal": "USER_STRIKE_VALUE",
        "comparator": "GREATER_THAN_OR_EQUALS",
        "threshold": 3,
    }
    assert run(provider, condition).passed
    assert not run(provider, condition, creator=ItemRef("u2", "user")).passed
    own = {**condition, "input": "ITEM", "comparator": "EQUALS", "threshold": 0}
    assert run(provider, own, kind="USER").passed


# Banks -----------------------------------------------------------------------------------------


def test_bank_version_change_is_picked_up(provider, loader):
    condition = text_leaf("CONTAINS_TEXT", banks=["words"])
    assert not run(provider, condition, "a new phrase").passed
    loader.banks["words"] = BankData("TEXT", 2, ("new phrase",))
    assert run(provider, condition, "a new phrase").passed
    assert loader.loads == 2
    run(provider, condition, "again")
    assert loader.loads == 2


def test_missing_and_wrong_kind_banks_are_errored(provider, loader):
    del loader.banks["words"]
    result = run(provider, text_leaf("CONTAINS_TEXT", banks=["words"]), "scam")
    assert result.outcome is Outcome.ERRORED
    assert "bank 'words' does not exist" in result.root.error
    result = run(provider, text_leaf("CONTAINS_TEXT", banks=["rx"]), "scam")
    assert result.root.error == "bank 'rx' is a REGEX bank, not a TEXT bank"


def test_matching_signal_without_values_is_errored(provider):
    result = run(provider, text_leaf("CONTAINS_TEXT"), "x")
    assert result.root.error == "no values or banks to match against"


def test_lru_is_bounded():
    cache = LRU(2)
    for key in "abc":
        cache.get(key, lambda key=key: key.upper())
    assert len(cache) == 2
    assert cache.peek("a") is None
    assert cache.get("c", lambda: "new") == "C"
