"""The database-backed signal provider against real Bank rows."""

from __future__ import annotations

from datetime import timedelta

import pygeohash
import pytest
from django.utils import timezone

from coop.catalog.models import Bank, BankEntry
from coop.core.items import ItemRef
from coop.enforcement.models import StrikeRecord
from coop.rules.banks import DatabaseBankLoader, DatabaseSignalProvider
from coop.rules.conditions import parse_condition
from coop.rules.evaluator import EvaluationContext, Item, Outcome, evaluate, item_schema
from coop.signals.builtin import BankUnavailable
from coop.signals.registry import build_registry

pytestmark = pytest.mark.django_db

SCHEMA = item_schema([{"name": "text", "type": "STRING"}, {"name": "where", "type": "GEOHASH"}])
AUTHOR = ItemRef("u1", "user")


@pytest.fixture
def provider():
    return DatabaseSignalProvider(build_registry(discover=list), version_max_age=0)


def make_bank(bank_id, kind, values=(), locations=()):
    bank = Bank.objects.create(id=bank_id, name=bank_id, kind=kind)
    BankEntry.objects.bulk_create(
        [BankEntry(bank=bank, position=i, value=v) for i, v in enumerate(values)]
        + [BankEntry(bank=bank, position=i, location=loc) for i, loc in enumerate(locations)]
    )
    return bank


def replace_entries(bank, values):
    bank.entries.all().delete()
    BankEntry.objects.bulk_create(
        [BankEntry(bank=bank, position=i, value=v) for i, v in enumerate(values)]
    )
    bank.version += 1
    bank.updated_at = timezone.now()
    bank.save()


def run(provider, condition, text="", where=None):
    data = {"text": text} | ({"where": where} if where else {})
    item = Item("i1", "post", "CONTENT", SCHEMA, data, AUTHOR)
    tree, errors = parse_condition(condition)
    assert not errors
    return evaluate(tree, EvaluationContext(item, provider))


def contains(bank_id, signal="TEXT_MATCHING_CONTAINS_TEXT"):
    return {"input": {"field": "text"}, "signal": signal, "banks": [bank_id]}


def test_text_bank_and_version_bump(provider):
    bank = make_bank("db-words", "TEXT", ["scam", "free money"])
    assert run(provider, contains("db-words"), "a SCAM").passed
    assert not run(provider, contains("db-words"), "a fraud").passed
    replace_entries(bank, ["fraud"])
    result = run(provider, contains("db-words"), "a fraud")
    assert result.passed
    assert result.root.matched.matched.bank == "db-words"
    assert not run(provider, contains("db-words"), "a SCAM").passed


def test_version_reads_are_rate_limited():
    bank = make_bank("db-slow", "TEXT", ["one"])
    loader = DatabaseBankLoader(version_max_age=3600)
    kind, first = loader.version("db-slow")
    assert kind == "TEXT"
    replace_entries(bank, ["two"])
    assert loader.version("db-slow") == (kind, first)  # not re-read yet
    assert loader.load("db-slow").entries == ("two",)  # a load is always current


def test_regex_and_location_banks(provider):
    make_bank("db-rx", "REGEX", [r"\d{3}-\d{4}"])
    make_bank(
        "db-geo",
        "LOCATION",
        locations=[{"name": "Paris", "lat": 48.8566, "lng": 2.3522, "radiusMiles": 10}],
    )
    assert run(provider, contains("db-rx", "TEXT_MATCHING_CONTAINS_REGEX"), "call 555-1234").passed
    geo = {"input": {"field": "where"}, "signal": "GEO_CONTAINED_WITHIN", "banks": ["db-geo"]}
    result = run(provider, geo, where=pygeohash.encode(48.86, 2.35, precision=8))
    assert result.passed
    assert result.root.matched.matched.entry["name"] == "Paris"
    assert not run(provider, geo, where="9q8yyk").passed


def test_deleted_bank_is_errored(provider):
    bank = make_bank("db-gone", "TEXT", ["scam"])
    assert run(provider, contains("db-gone"), "scam").passed
    bank.delete()
    result = run(provider, contains("db-gone"), "scam")
    assert result.outcome is Outcome.ERRORED
    assert result.root.error == "bank 'db-gone' does not exist (it may have been deleted)"
    with pytest.raises(BankUnavailable):
        DatabaseBankLoader().load("db-gone")


def test_invalid_pattern_and_empty_bank(provider):
    make_bank("db-bad", "REGEX", ["(unclosed"])
    result = run(provider, contains("db-bad", "TEXT_MATCHING_CONTAINS_REGEX"), "x")
    assert result.outcome is Outcome.ERRORED
    assert "invalid regular expression #1" in result.root.error
    make_bank("db-empty", "TEXT")
    assert run(provider, contains("db-empty", "TEXT_MATCHING_NOT_CONTAINS_TEXT"), "x").passed


def test_user_strike_value(provider):
    StrikeRecord.objects.create(
        user_id="u1",
        user_type_id="user",
        weight=2,
        policy_id="spam",
        expires_at=timezone.now() + timedelta(days=1),
    )
    StrikeRecord.objects.create(
        user_id="u1",
        user_type_id="user",
        weight=5,
        policy_id="spam",
        expires_at=timezone.now() - timedelta(days=1),
    )
    condition = {
        "input": "AUTHOR",
        "signal": "USER_STRIKE_VALUE",
        "comparator": "EQUALS",
        "threshold": 2,
    }
    result = run(provider, condition)
    assert result.passed
    assert result.root.score == 2


def test_default_provider_has_every_local_builtin():
    provider = DatabaseSignalProvider()
    for signal_id in (
        "TEXT_MATCHING_CONTAINS_TEXT",
        "TEXT_MATCHING_NOT_CONTAINS_TEXT",
        "TEXT_MATCHING_CONTAINS_REGEX",
        "TEXT_MATCHING_NOT_CONTAINS_REGEX",
        "TEXT_MATCHING_CONTAINS_VARIANT",
        "TEXT_SIMILARITY_SCORE",
        "GEO_CONTAINED_WITHIN",
        "USER_STRIKE_VALUE",
    ):
        assert provider.get(signal_id) is not None
        assert provider.implementation(signal_id) is not None
