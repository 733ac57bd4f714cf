"""Every free string and list of the report, appeal and action bodies is bounded (quality.md):
one past the documented limit is a 400 pointing at the field, and nothing is stored."""

from __future__ import annotations

import pytest

from api.helpers import error_of
from coop.api.schemas import (
    MAX_ADDITIONAL_ITEMS,
    MAX_REASON_LENGTH,
    MAX_REFERENCES,
    MAX_THREAD_ITEMS,
)
from coop.catalog.models import Action, Policy
from coop.enforcement.models import ActionExecution
from coop.ingest.models import ItemSubmission
from coop.review.models import Appeal, Job, Report


def report(**overrides) -> dict:
    body = {
        "reporter": {"kind": "user", "typeId": "user", "id": "u-9"},
        "reportedAt": "2024-01-15T10:30:00.000Z",
        "reportedItem": {"id": "post-1", "typeId": "post", "data": {"text": "cheap pills"}},
    }
    return {**body, **overrides}


def appeal(**overrides) -> dict:
    body = {
        "appealId": "a-1",
        "appealedBy": {"typeId": "user", "id": "u-1"},
        "appealedAt": "2024-01-15T12:00:00.000Z",
        "actionedItem": {"id": "post-1", "typeId": "post", "data": {"text": "my post"}},
        "actionsTaken": ["delete"],
    }
    return {**body, **overrides}


def thread(n: int) -> list[dict]:
    return [{"id": f"m{i}", "typeId": "message", "data": {}} for i in range(n)]


def posts(n: int) -> list[dict]:
    return [{"id": f"p{i}", "typeId": "post", "data": {"text": "earlier"}} for i in range(n)]


def refs(n: int) -> list[dict]:
    return [{"id": f"m{i}", "typeId": "message"} for i in range(n)]


@pytest.fixture
def catalog(item_types):
    Policy.objects.create(id="spam", name="Spam")
    Action.objects.create(id="delete", name="Delete", item_types=["post"])


CASES = [
    (
        "/api/v1/report",
        report(reportedForReason={"reason": "x" * (MAX_REASON_LENGTH + 1)}),
        "/reportedForReason/reason",
    ),
    (
        "/api/v1/report",
        report(reportedItemThread=thread(MAX_THREAD_ITEMS + 1)),
        "/reportedItemThread",
    ),
    (
        "/api/v1/report",
        report(reportedItemsInThread=refs(MAX_THREAD_ITEMS + 1)),
        "/reportedItemsInThread",
    ),
    (
        "/api/v1/report",
        report(additionalItems=posts(MAX_ADDITIONAL_ITEMS + 1)),
        "/additionalItems",
    ),
    (
        "/api/v1/report/appeal",
        appeal(appealReason="x" * (MAX_REASON_LENGTH + 1)),
        "/appealReason",
    ),
    (
        "/api/v1/report/appeal",
        appeal(actionsTaken=["delete"] * (MAX_REFERENCES + 1)),
        "/actionsTaken",
    ),
    (
        "/api/v1/report/appeal",
        appeal(violatingPolicies=[{"id": "spam"}] * (MAX_REFERENCES + 1)),
        "/violatingPolicies",
    ),
    (
        "/api/v1/report/appeal",
        appeal(additionalItems=posts(MAX_ADDITIONAL_ITEMS + 1)),
        "/additionalItems",
    ),
    (
        "/api/v1/actions/",
        {
            "actionId": "delete",
            "itemId": "post-1",
            "itemTypeId": "post",
            "policyIds": ["spam"] * (MAX_REFERENCES + 1),
        },
        "/policyIds",
    ),
    (
        "/api/v1/actions/",
        {
            "actionId": "delete",
            "itemId": "post-1",
            "itemTypeId": "post",
            "note": "x" * (MAX_REASON_LENGTH + 1),
        },
        "/note",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "body", "pointer"), CASES)
def test_one_past_each_limit_is_400_at_the_field_and_stores_nothing(
    api, catalog, path, body, pointer
):
    response = api.post(path, body)
    assert response.status_code == 400
    assert error_of(response)["pointer"] == pointer
    assert ItemSubmission.objects.count() == 0
    assert Job.objects.count() == Report.objects.count() == Appeal.objects.count() == 0
    assert ActionExecution.objects.count() == 0


@pytest.mark.django_db
def test_at_the_limits_a_report_is_accepted(api, catalog):
    body = report(
        reportedForReason={"policyId": "spam", "reason": "x" * MAX_REASON_LENGTH},
        reportedItemThread=thread(MAX_THREAD_ITEMS),
        additionalItems=posts(MAX_ADDITIONAL_ITEMS),
    )
    assert api.post("/api/v1/report", body).status_code == 201
