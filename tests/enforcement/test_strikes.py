"""User strikes (rules.md): weights, one record per call, TTL, thresholds, concurrency."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from coop.catalog.models import Policy
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, ExecutionSource, StrikeRecord
from coop.enforcement.services import ActionRequest, execute_actions
from coop.enforcement.strikes import policy_weights, user_strike_total, user_strike_totals
from enforcement.conftest import POST, USER, set_strikes, submit


def strike(*policy_ids: str, item: ItemRef = POST, action: str = "delete", **kwargs):
    with transaction.atomic():
        return execute_actions(
            [
                ActionRequest(
                    action, item, ExecutionSource.REVIEW, policy_ids=list(policy_ids), **kwargs
                )
            ]
        )


def test_weights_inherit_from_the_nearest_ancestor(catalog):
    weights = policy_weights(Policy.objects.all())
    assert weights == {"spam": 1, "scams": 3, "phishing": 3, "ads": 1, "satire": 0}


def test_one_record_per_call_weighted_by_the_heaviest_policy(catalog):
    submit("p-1", author="u-1")
    submit("p-2", author="u-1")
    with transaction.atomic():
        execute_actions(
            [
                ActionRequest("delete", POST, ExecutionSource.RULE, policy_ids=["spam"]),
                ActionRequest(
                    "delete", ItemRef("p-2", "post"), ExecutionSource.RULE, policy_ids=["phishing"]
                ),
            ]
        )
    record = StrikeRecord.objects.get()
    assert (record.user_id, record.user_type_id, record.weight) == ("u-1", "user", 3)
    assert record.policy_id == "phishing"
    assert user_strike_total(USER) == 3
    bodies = [json.loads(bytes(e.delivery.body)) for e in ActionExecution.objects.all()]
    assert [b["userStrikeCount"] for b in bodies] == [3, 3]


def test_no_strike_without_policy_weight_or_strike_action(catalog):
    submit("p-1", author="u-1")
    strike("satire")
    strike()
    strike("spam", item=USER, action="ban", parameters={"days": 1})  # ban applies no strikes
    assert StrikeRecord.objects.count() == 0
    assert user_strike_total(USER) == 0


def test_strikes_expire_after_the_window(catalog):
    set_strikes(ttl_days=30)
    submit("p-1", author="u-1")
    strike("spam")
    record = StrikeRecord.objects.get()
    assert record.expires_at - record.created_at == timedelta(days=30)
    assert user_strike_total(USER) == 1
    StrikeRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert user_strike_total(USER) == 0


def test_the_highest_crossed_threshold_runs_on_the_user(catalog):
    set_strikes(
        thresholds=[
            {"score": 2, "actions": [{"id": "ban", "parameters": {"days": 1}}]},
            {"score": 3, "actions": [{"id": "ban", "parameters": {"days": 30}}]},
            {"score": 5, "actions": [{"id": "ban", "parameters": {"days": 365}}]},
        ]
    )
    submit("p-1", author="u-1")
    strike("spam")  # 0 -> 1: nothing crossed
    assert not ActionExecution.objects.filter(source=ExecutionSource.STRIKE).exists()
    executions = strike("scams")  # 1 -> 4 crosses 2 and 3: only 3 fires
    threshold = [e for e in executions if e.source == ExecutionSource.STRIKE]
    assert len(threshold) == 1
    (execution,) = threshold
    assert (execution.action_id, execution.item_id, execution.item_type_id) == (
        "ban",
        "u-1",
        "user",
    )
    assert execution.parameters == {"days": 30}
    assert execution.policy_ids == []
    assert execution.rules == []
    body = json.loads(bytes(execution.delivery.body))
    assert body["policies"] == []
    assert body["rules"] == []
    assert "actorEmail" not in body
    assert body["userStrikeCount"] == 4
    assert user_strike_total(USER) == 4  # threshold actions never add strikes


@pytest.mark.django_db(transaction=True)
def test_concurrent_strikes_fire_a_threshold_exactly_once(catalog):
    set_strikes(thresholds=[{"score": 2, "actions": [{"id": "ban", "parameters": {"days": 7}}]}])
    submit("p-1", author="u-1")
    submit("p-2", author="u-1")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def act(item_id: str) -> None:
        try:
            barrier.wait(10)
            strike("spam", item=ItemRef(item_id, "post"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(i,)) for i in ("p-1", "p-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert user_strike_total(USER) == 2
    assert StrikeRecord.objects.count() == 2
    assert ActionExecution.objects.filter(source=ExecutionSource.STRIKE).count() == 1


@pytest.mark.django_db
def test_strike_totals_of_many_users_in_one_query(django_assert_num_queries):
    now = timezone.now()
    for user_id, weight, days in (("a", 2, 1), ("a", 3, 1), ("b", 1, -1), ("c", 4, 1)):
        StrikeRecord.objects.create(
            user_id=user_id, user_type_id="user", weight=weight, policy_id="spam",
            expires_at=now + timedelta(days=days),
        )  # fmt: skip
    users = [ItemRef(u, "user") for u in ("a", "b", "c", "nobody")]
    with django_assert_num_queries(1):
        totals = user_strike_totals(users)
    assert totals == {ItemRef("a", "user"): 5, ItemRef("b", "user"): 0,
                      ItemRef("c", "user"): 4, ItemRef("nobody", "user"): 0}  # fmt: skip
    assert all(totals[u] == user_strike_total(u) for u in users)
