"""Every manual action is audited (review.md, Recent decisions): POST /api/v1/actions/ is
recorded in Recent Decisions with source API, in the transaction that executes it; the page
and the CSV show and filter by source; the child-safety rule still applies."""

from __future__ import annotations

import csv
import io

import pytest

from coop.config.services import save_object
from coop.core.enums import DecisionSource
from coop.enforcement.models import ActionExecution
from coop.review.audit import DECISIONS_HEADER, DecisionFilters, decisions_csv, recent_decisions
from coop.review.decisions import DecisionInput, decide
from coop.review.models import Decision
from factories import post, queue, rule_job

pytestmark = pytest.mark.django_db


def run_action(api, **body):
    payload = {"actionId": "delete", "itemId": "p-1", "itemTypeId": "post", **body}
    return api.post("/api/v1/actions/", payload)


def csv_rows(lines) -> list[dict[str, str]]:
    out = list(csv.reader(io.StringIO("".join(lines))))
    assert out[0] == DECISIONS_HEADER
    return [dict(zip(DECISIONS_HEADER, r, strict=True)) for r in out[1:]]


def test_an_api_action_is_recorded_with_its_source(catalog, people, api):
    post("p-1")
    response = run_action(
        api, policyIds=["spam"], actorId=str(people["manager"].pk), note="from the admin tool"
    )
    assert response.status_code == 202
    execution = ActionExecution.objects.get()
    record = Decision.objects.get()
    assert record.source == DecisionSource.API
    assert record.job_id is None
    assert record.queue_id == ""
    assert (record.item_type_id, record.item_id) == ("post", "p-1")
    assert record.reviewer == people["manager"]
    assert record.reviewer_email == "manager@example.com"
    assert record.types == ["ACTION"]
    assert record.action_ids == ["delete"]
    assert record.policy_ids == ["spam"]
    assert record.note == "from the admin tool"
    (component,) = record.components
    assert component["executionIds"] == [str(execution.pk)]
    assert component["itemRef"] == {"id": "p-1", "typeId": "post"}


def test_review_decisions_keep_the_review_source(catalog, people):
    record = decide(
        rule_job(post("p-1"), queue()).pk, people["manager"], DecisionInput(ignore=True)
    )
    assert Decision.objects.get(pk=record.pk).source == DecisionSource.REVIEW


def test_a_refused_api_action_records_nothing(catalog, api):
    response = run_action(api, policyIds=["no-such-policy"])
    assert response.status_code == 400
    assert not ActionExecution.objects.exists()
    assert not Decision.objects.exists()


def test_the_record_and_the_execution_commit_together(catalog, api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("coop.api.handlers.record_manual_actions", broken)
    response = run_action(api)
    assert response.status_code == 500
    assert not ActionExecution.objects.exists()  # no unaudited action


def test_recent_decisions_and_the_csv_show_and_filter_by_source(client, catalog, people, api):
    post("p-1")
    assert run_action(api).status_code == 202  # no actor: shown without a reviewer
    decide(rule_job(post("p-2"), queue()).pk, people["manager"], DecisionInput(ignore=True))

    by_source = {r["Item ID"]: r for r in csv_rows(decisions_csv())}
    assert by_source["p-1"]["Source"] == "API"
    assert by_source["p-1"]["Reviewer"] == ""  # not "Automatic": a platform call
    assert by_source["p-1"]["Link"] == ""
    assert by_source["p-2"]["Source"] == "REVIEW"
    api_only = DecisionFilters(sources=[DecisionSource.API])
    assert [d.item_id for d in recent_decisions(api_only)] == ["p-1"]

    client.force_login(people["manager"])
    page = client.get("/decisions", {"source": "API"}).content.decode()
    assert "post/p-1" in page
    assert "post/p-2" not in page
    assert ">API<" in page
    body = b"".join(client.get("/decisions.csv", {"source": "REVIEW"}).streaming_content)
    assert [r["Item ID"] for r in csv_rows([body.decode()])] == ["p-2"]


def test_an_api_ncmec_action_is_child_safety(client, catalog, people, api):
    queue("ncmec")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    post("p-1", author="u-1")
    response = api.post(
        "/api/v1/actions/", {"actionId": "coop.ncmec", "itemId": "p-1", "itemTypeId": "post"}
    )
    assert response.status_code == 202
    record = Decision.objects.get()
    assert record.source == DecisionSource.API
    assert list(recent_decisions(DecisionFilters(viewer=people["mod"]))) == []
    assert list(recent_decisions(DecisionFilters(viewer=people["cs"]))) == [record]
    client.force_login(people["mod"])
    assert "post/p-1" not in client.get("/decisions").content.decode()
    body = b"".join(client.get("/decisions.csv").streaming_content).decode()
    assert "p-1" not in body
