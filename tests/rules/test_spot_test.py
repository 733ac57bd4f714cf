"""The spot test (rules.md): a rule, saved or as edited, on one item given by id (its latest
submission) or as pasted JSON; every leaf's outcome, score and matched value; nothing logged,
executed or written. Remote signals run as at evaluation time (a local fake model)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from coop.catalog.models import ConfigChange
from coop.config import apply_document, parse_text
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution
from coop.enforcement.strikes import user_strike_total
from coop.ingest.models import ItemSubmission
from coop.integrations import calls
from coop.rules.models import RuleExecution
from coop.rules.spot_test import SpotTestError, latest_item, pasted_item, spot_test
from factories import post
from integrations.fakes import FakeHttpSignal

pytestmark = pytest.mark.django_db

CATALOG = """
itemTypes:
  - id: user
    name: User
    kind: USER
    fields: [{name: name, type: STRING}]
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {name: text, type: STRING, required: true}
      - {name: tags, type: ARRAY, items: STRING}
      - {name: score, type: NUMBER}
      - {name: author, type: RELATED_ITEM}
    roles: {creatorId: author}
banks:
  - {id: scam-words, name: Scam words, kind: TEXT, values: ["free money", "crypto giveaway"]}
"""

CONDITION = {
    "any": [
        {
            "input": {"field": "text"},
            "signal": "TEXT_MATCHING_CONTAINS_TEXT",
            "banks": ["scam-words"],
        },
        {
            "all": [
                {
                    "input": {"field": "tags"},
                    "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                    "values": ["promo"],
                },
                {"input": {"field": "score"}, "comparator": "GREATER_THAN", "threshold": 0.5},
            ]
        },
    ]
}


def configure(extra: str = "") -> None:
    document, errors = parse_text(CATALOG + extra)
    assert not errors, errors
    plan = apply_document(document)
    assert not plan.errors, [str(e) for e in plan.errors]


def written() -> tuple[int, ...]:
    """Everything a spot test must leave as it was."""
    return (
        RuleExecution.objects.count(),
        ActionExecution.objects.count(),
        ItemSubmission.objects.count(),
        ConfigChange.objects.count(),
    )


def test_pasted_json_passes_on_any_value_of_an_array_with_the_matched_value():
    configure()
    before = written()
    item = pasted_item(
        "post", json.dumps({"text": "hi", "tags": ["news", "PROMO"], "score": "0.9"})
    )
    result = spot_test(CONDITION, ["post"], item, automated=False)
    assert result.outcome == "PASSED"
    bank_leaf, group = result.tree["children"]
    assert bank_leaf["outcome"] == "FAILED"
    tags_leaf, score_leaf = group["children"]
    # The second value passed (the reference decides on the first one: not copied).
    assert tags_leaf["outcome"] == "PASSED"
    assert tags_leaf["matchedValue"]["value"] == "PROMO"
    assert tags_leaf["matchedValue"]["index"] == 1
    assert score_leaf["outcome"] == "PASSED"  # "0.9" was coerced to a number, as on ingest
    assert score_leaf["score"] == 0.9
    assert written() == before


def test_an_item_by_id_is_its_latest_submission():
    configure()
    old = post("p-1", text="nothing here", submitted_at=timezone.now() - timedelta(hours=1))
    new = post("p-1", text="get free money now")
    item = latest_item("post", "p-1")
    assert item.submission_id == new.pk != old.pk
    before = written()
    result = spot_test(CONDITION, ["post"], item, automated=False)
    assert result.outcome == "PASSED"
    leaf = result.tree["children"][0]
    assert leaf["matchedValue"]["entry"] == "free money"
    assert leaf["matchedValue"]["bank"] == "scam-words"
    assert result.tree["children"][1] == {"op": "all", "skipped": True}  # decided already
    assert written() == before


def test_an_unknown_item_a_missing_id_and_an_unknown_type_are_errors_of_their_field():
    configure()
    with pytest.raises(SpotTestError) as unknown:
        latest_item("post", "never-seen")
    assert unknown.value.field == "item_id"
    assert "no submission of item 'never-seen'" in unknown.value.message
    with pytest.raises(SpotTestError) as missing:
        latest_item("post", "  ")
    assert missing.value.field == "item_id"
    with pytest.raises(SpotTestError) as no_type:
        latest_item("nope", "p-1")
    assert no_type.value.field == "item_type"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "/data: must be an object"),
        ('{"tags": ["a"]}', "/data/text: `text` is required"),
        ('{"text": "x", "score": "high"}', "/data/score: `score`"),
        ('{"text": "x", "tags": ["a", {"b": 1}]}', "/data/tags/1"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"text": "' + "x" * 300_000 + '"}', "at most 256 KB"),
    ],
)
def test_pasted_json_that_does_not_fit_the_item_type_says_where(text, message):
    configure()
    with pytest.raises(SpotTestError) as error:
        pasted_item("post", text)
    assert error.value.field == "item_json"
    assert message in error.value.message


def test_an_item_of_a_type_the_rule_does_not_cover_is_refused():
    configure()
    item = pasted_item("user", '{"name": "sam"}')
    with pytest.raises(SpotTestError) as error:
        spot_test(CONDITION, ["post"], item, automated=False)
    assert error.value.field == "item_type"


def test_a_condition_that_cannot_run_gives_the_validators_problems_and_runs_nothing():
    configure()
    condition = {
        "any": [
            {"input": {"field": "text"}, "signal": "TEXT_MATCHING_CONTAINS_TEXT", "banks": ["gone"]}
        ]
    }
    result = spot_test(condition, ["post"], pasted_item("post", '{"text": "x"}'), automated=False)
    assert result.tree is None
    assert [(p.path, p.message) for p in result.problems] == [
        ("condition.any[0].banks[0]", "unknown bank 'gone'")
    ]


def test_the_authors_strike_total_is_read_not_changed():
    configure()
    condition = {
        "all": [
            {
                "input": "AUTHOR",
                "signal": "USER_STRIKE_VALUE",
                "comparator": "GREATER_THAN_OR_EQUALS",
                "threshold": 0,
            }
        ]
    }
    item = pasted_item("post", '{"text": "x", "author": {"id": "u-9", "typeId": "user"}}')
    result = spot_test(condition, ["post"], item, automated=False)
    assert result.tree["children"][0]["outcome"] == "PASSED"
    assert result.tree["children"][0]["score"] == 0
    assert user_strike_total(ItemRef("u-9", "user")) == 0


@pytest.fixture
def model(monkeypatch):
    from coop.accounts.services import active_signing_key

    calls.reset()
    monkeypatch.setenv("SECRET_MODEL_TOKEN", "Bearer model-token")
    fake = FakeHttpSignal(active_signing_key().public_pem, {"Authorization": "Bearer model-token"})
    with fake:
        yield fake
    fake.check()
    calls.reset()


def test_a_remote_signal_is_called_as_at_evaluation_time_and_nothing_is_logged(model):
    configure(f"""
integrations:
  httpSignals:
    - id: toxicity
      name: Toxicity model
      url: "{model.url}/score"
      headers: {{Authorization: !secret SECRET_MODEL_TOKEN}}
""")
    model.score = lambda body: 0.93 if "awful" in body["input"] else 0.1
    condition = {
        "all": [
            {
                "input": {"field": "text"},
                "signal": "HTTP_SIGNAL",
                "subcategory": "toxicity",
                "comparator": "GREATER_THAN",
                "threshold": 0.8,
            }
        ]
    }
    before = written()
    item = pasted_item("post", '{"text": "awful words"}', "p-77")
    result = spot_test(condition, ["post"], item, automated=False)
    assert result.outcome == "PASSED"
    assert result.tree["children"][0]["score"] == 0.93
    (seen,) = model.requests
    assert seen.json() == {
        "item": {"id": "p-77", "typeId": "post", "data": {"text": "awful words"}},
        "input": "awful words",
    }
    assert written() == before
