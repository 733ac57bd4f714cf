"""execute_actions: executions, the exact callback body, built-ins, idempotency, errors."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from coop.accounts.models import Role, User
from coop.childsafety.models import NcmecCase
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, Delivery, DeliveryStatus, ExecutionSource
from coop.enforcement.services import (
    ActionError,
    ActionRequest,
    RuleRef,
    execute_actions,
    rule_idempotency_key,
)
from coop.enforcement.tasks import deliver
from coop.review.models import Job, Queue
from enforcement.conftest import POST, USER, submit


def deferred_deliveries() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT jsonb_array_elements_text(args->'delivery_ids') FROM procrastinate_jobs "
            "WHERE task_name = 'coop.deliver' ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


def run(*requests: ActionRequest) -> list[ActionExecution]:
    with transaction.atomic():
        return execute_actions(list(requests))


def test_rule_action_body_is_exact_and_signed(catalog):
    submission = submit("p-1", author="u-1")
    (execution,) = run(
        ActionRequest(
            "delete",
            POST,
            ExecutionSource.RULE,
            policy_ids=["scams", "spam"],
            rules=[RuleRef("scam-rule", 4, "Scam detector")],
            parameters={"notify": True},
            submission_id=submission.pk,
        )
    )
    delivery = Delivery.objects.get(execution=execution)
    assert deferred_deliveries() == [str(delivery.id)]
    expected = (
        b'{"action":{"id":"delete"},"creator":{"id":"u-1","typeId":"user"},'
        b'"custom":{"days":7,"notify":true,"origin":"coop"},'
        b'"item":{"id":"p-1","typeId":"post","typeName":"Post"},'
        b'"policies":[{"id":"scams","name":"Scams","penalty":"NONE"},'
        b'{"id":"spam","name":"Spam","penalty":"MEDIUM"}],'
        b'"rules":[{"id":"scam-rule","name":"Scam detector"}],"userStrikeCount":3}'
    )
    assert bytes(delivery.body) == expected
    assert execution.rules == [{"id": "scam-rule", "version": 4, "name": "Scam detector"}]
    assert execution.submission_id == submission.pk

    deliver([str(delivery.id)])
    (request,) = catalog.requests
    assert request.body == expected
    assert request.signature_valid
    assert request.path == "/delete"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["coop-delivery-id"] == str(delivery.id)
    assert request.headers["coop-event"] == "action"
    assert request.headers["authorization"] == "s3cret-token"
    assert request.headers["x-static"] == "yes"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.headers["Authorization"] == {"secret": "SECRET_TEST_WEBHOOK_TOKEN"}
    assert b"s3cret" not in bytes(delivery.body)


def test_human_action_has_actor_fields_and_custom_extra(catalog):
    submit("p-1", author="u-1")
    moderator = User.objects.create_user(
        email="mod@example.com", role=Role.objects.get(name="Admin")
    )
    (execution,) = run(
        ActionRequest(
            "delete",
            POST,
            ExecutionSource.REVIEW,
            actor=moderator,
            note="clear spam — ok",
            decision_reason="Obvious",
            parameters={"days": 30, "label": "é"},
            custom_extra={"reason": "Obvious", "reportHistory": []},
        )
    )
    body = json.loads(bytes(execution.delivery.body))
    assert body["actorEmail"] == "mod@example.com"
    assert body["actorNote"] == "clear spam — ok"
    assert body["decisionReason"] == "Obvious"
    assert body["custom"] == {
        "days": 30,
        "label": "é",
        "origin": "coop",
        "reason": "Obvious",
        "reportHistory": [],
    }
    assert body["policies"] == []
    assert body["rules"] == []
    assert body["userStrikeCount"] == 0  # no policy, no strike
    assert "é".encode() in bytes(execution.delivery.body)  # UTF-8, not \u escapes
    assert execution.actor_email == "mod@example.com"


def test_optional_fields_are_omitted_when_unknown(catalog):
    (execution,) = run(ActionRequest("delete", ItemRef("p-9", "post"), ExecutionSource.API))
    body = bytes(execution.delivery.body)
    assert body == (
        b'{"action":{"id":"delete"},"custom":{"days":7,"origin":"coop"},'
        b'"item":{"id":"p-9","typeId":"post","typeName":"Post"},"policies":[],"rules":[]}'
    )


def test_user_item_is_its_own_creator(catalog):
    (execution,) = run(ActionRequest("ban", USER, ExecutionSource.API, parameters={"days": 3}))
    body = json.loads(bytes(execution.delivery.body))
    assert body["creator"] == {"id": "u-1", "typeId": "user"}
    assert body["custom"] == {"days": 3}
    assert body["userStrikeCount"] == 0


def test_same_idempotency_key_executes_and_delivers_once(catalog):
    submission = submit("p-1")
    rules = [RuleRef("r", 2, "R")]
    key = rule_idempotency_key(submission.pk, rules, "delete")
    request = ActionRequest(
        "delete",
        POST,
        ExecutionSource.RULE,
        policy_ids=["spam"],
        rules=rules,
        submission_id=submission.pk,
        idempotency_key=key,
    )
    (first,) = run(request)
    (second,) = run(request)
    assert first.pk == second.pk
    assert ActionExecution.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert len(deferred_deliveries()) == 1
    assert key == f"rule:{submission.pk}:r@2:delete"


def keyed(submission, key: str = "k") -> ActionRequest:
    return ActionRequest(
        "delete", POST, ExecutionSource.RULE, policy_ids=["spam"],
        submission_id=submission.pk, idempotency_key=key,
    )  # fmt: skip


def test_one_key_twice_in_one_batch_is_one_execution(catalog):
    submission = submit("p-1")
    first, second = run(keyed(submission), keyed(submission))
    assert first.pk == second.pk
    assert ActionExecution.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_key_is_unique_across_the_months_of_the_partitioned_table(catalog):
    """Executions are partitioned by month: a re-run whose execution would land in another
    month's partition than the first still finds it."""
    submission = submit("p-1")
    (first,) = run(keyed(submission))
    for days in (-75, 75):  # moved into another partition (an UPDATE of the partition key)
        ActionExecution.objects.filter(pk=first.pk).update(
            created_at=timezone.now() + timedelta(days=days)
        )
        (again,) = run(keyed(submission))
        assert again.pk == first.pk
    assert ActionExecution.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_run_with_the_same_key_waits_and_executes_nothing(catalog):
    submission = submit("p-1")
    first_written, release = threading.Event(), threading.Event()
    results: dict[str, ActionExecution] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                (results["first"],) = execute_actions([keyed(submission)])
                first_written.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            (results["second"],) = run(keyed(submission))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    assert first_written.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)
    assert two.is_alive()  # waiting on the key the first transaction holds
    release.set()
    one.join(10)
    two.join(10)
    assert errors == []
    assert results["second"].pk == results["first"].pk
    assert ActionExecution.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    ("request_kwargs", "pointer", "title"),
    [
        ({"action_id": "nope"}, "/actionId", "Unknown action"),
        ({"item": ItemRef("x", "nope")}, "/itemTypeId", "Unknown item type"),
        ({"item": USER}, "/actionId", "Action not allowed for this item type"),
        ({"policy_ids": ["spam", "nope"]}, "/policyIds/1", "Unknown policy"),
        ({"parameters": {"days": "7"}}, "/parameters/days", "Invalid parameter"),
        ({"parameters": {"notify": 1}}, "/parameters/notify", "Invalid parameter"),
        ({"parameters": {"days": True}}, "/parameters/days", "Invalid parameter"),
        ({"parameters": {"a/b": 1}}, "/parameters/a~1b", "Unknown parameter"),
    ],
)
def test_invalid_requests_raise_with_a_pointer(catalog, request_kwargs, pointer, title):
    fields = {"action_id": "delete", "item": POST, "source": ExecutionSource.API}
    with pytest.raises(ActionError) as caught:
        run(ActionRequest(**{**fields, **request_kwargs}))
    assert caught.value.pointer == pointer
    assert caught.value.title == title
    assert ActionExecution.objects.count() == 0


def test_required_parameter_is_enforced(catalog):
    with pytest.raises(ActionError) as caught:
        run(ActionRequest("ban", USER, ExecutionSource.API))
    assert (caught.value.title, caught.value.pointer) == ("Missing parameter", "/parameters/days")


def test_manual_review_creates_a_job_on_the_latest_submission(catalog):
    submission = submit("p-1")
    run(ActionRequest("coop.manual-review", POST, ExecutionSource.RULE, policy_ids=["spam"]))
    job = Job.objects.get()
    assert (job.item_id, job.item_type_id, job.submission_id) == ("p-1", "post", submission.pk)
    assert job.source == "RULE"
    assert job.policy_ids == ["spam"]
    assert Delivery.objects.count() == 0


def test_manual_review_author_creates_a_user_job(catalog):
    submit("p-1", author="u-7")
    run(ActionRequest("coop.manual-review-author", POST, ExecutionSource.API))
    job = Job.objects.get()
    assert (job.item_id, job.item_type_id, job.source) == ("u-7", "user", "API")


def test_author_actions_without_author_are_refused_clearly(catalog):
    submit("p-1", author=None)
    with pytest.raises(ActionError) as caught:
        run(ActionRequest("coop.manual-review-author", POST, ExecutionSource.API))
    assert caught.value.title == "Item has no author"
    # From a rule nobody waits for an answer: the refusal is recorded on the execution.
    (execution,) = run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))
    assert "has no known author" in execution.refused_reason
    assert not Job.objects.filter(kind="NCMEC").exists()


def test_ncmec_action_creates_one_pending_job_per_user(catalog):
    Queue.objects.create(id="ncmec", name="NCMEC")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    submit("p-1", author="u-1")
    submit("p-2", author="u-1")
    run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))
    run(ActionRequest("coop.ncmec", ItemRef("p-2", "post"), ExecutionSource.API))
    job = Job.objects.get(kind="NCMEC")
    assert (job.item_id, job.item_type_id, job.queue_id) == ("u-1", "user", "ncmec")
    assert (job.status, job.source) == ("PENDING", "RULE")
    case = NcmecCase.objects.get(job=job)
    assert [(e["id"], e["source"]) for e in case.entries] == [("p-1", "RULE"), ("p-2", "API")]


def test_ncmec_action_refusals_reach_the_caller(catalog):
    """No NCMEC queue set: the API caller gets the reason, a rule's execution records it."""
    submit("p-1", author="u-1")
    with pytest.raises(ActionError) as caught:
        run(ActionRequest("coop.ncmec", POST, ExecutionSource.API))
    assert caught.value.title == "Cannot create NCMEC job"
    assert "No NCMEC queue is set" in caught.value.detail
    (execution,) = run(ActionRequest("coop.ncmec", POST, ExecutionSource.RULE))
    assert "No NCMEC queue is set" in execution.refused_reason
    assert not Job.objects.exists()
