"""GET /api/v1/report/{id} returns the job's decision once a reviewer has decided."""

from __future__ import annotations

import pytest

from coop.catalog.models import Action, Policy
from coop.review.decisions import ActionChoice, DecisionInput, decide
from coop.review.models import Job, Report
from factories import queue, user

pytestmark = pytest.mark.django_db


def report_body(reporter: str = "u-9") -> dict:
    return {
        "reporter": {"kind": "user", "typeId": "user", "id": reporter},
        "reportedAt": "2024-01-15T10:30:00.000Z",
        "reportedForReason": {"policyId": "spam", "reason": "buy now"},
        "reportedItem": {"id": "post-1", "typeId": "post", "data": {"text": "cheap pills"}},
    }


@pytest.fixture
def reported(api, item_types):
    Policy.objects.create(id="spam", name="Spam")
    Action.objects.create(id="delete", name="Delete", item_types=["post"])
    response = api.post("/api/v1/report", report_body())
    assert response.status_code == 201, response.content
    return response.json()["reportId"]


def test_pending_report_has_no_decision(api, reported):
    body = api.get(f"/api/v1/report/{reported}").json()
    assert body["status"] == "PENDING"
    assert "decision" not in body


def test_decided_report_returns_the_decision(api, reported):
    manager = user("manager@example.com", "Moderator Manager")
    job = Job.objects.get()
    decision = decide(
        job.pk, manager, DecisionInput([ActionChoice("delete", ["spam"])], reason="spam")
    )
    body = api.get(f"/api/v1/report/{reported}").json()
    assert body["status"] == "DECIDED"
    assert body["decision"]["components"] == [
        {"type": "ACTION", "actionIds": ["delete"], "policyIds": ["spam"]}
    ]
    assert body["decision"]["decidedAt"].startswith(decision.created_at.strftime("%Y-%m-%dT%H:%M"))


def test_moved_report_shows_the_move_and_stays_pending(api, reported):
    manager = user("manager@example.com", "Moderator Manager")
    queue("other")
    decide(Job.objects.get().pk, manager, DecisionInput(move_to_queue="other"))
    body = api.get(f"/api/v1/report/{reported}").json()
    assert (body["status"], body["queueId"]) == ("PENDING", "other")
    assert body["decision"]["components"] == [{"type": "MOVE"}]


def test_ignored_and_invalidated_reports(api, reported):
    manager = user("manager@example.com", "Moderator Manager")
    decide(Job.objects.get().pk, manager, DecisionInput(ignore=True))
    body = api.get(f"/api/v1/report/{reported}").json()
    assert body["decision"]["components"] == [{"type": "IGNORE"}]
    Report.objects.update(invalidated_at="2024-01-16T00:00:00Z")
    body = api.get(f"/api/v1/report/{reported}").json()
    assert body["status"] == "INVALIDATED"
    assert "decision" not in body
