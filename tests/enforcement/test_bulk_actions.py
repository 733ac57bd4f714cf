"""Bulk actions (review.md, Bulk actions; issue 11 "Bad input and failure"): ids counted before
anything runs, the refusal of more than 10,000, the chunked run with per-item results, every
action in Recent Decisions with source BULK, idempotency, and a real worker killed mid-job."""

from __future__ import annotations

import csv
import io
import json
import signal
from collections import Counter

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from coop.catalog import builtins
from coop.core.enums import DecisionSource, ExecutionSource
from coop.enforcement import bulk
from coop.enforcement.models import (
    ActionExecution,
    BulkActionItem,
    BulkActionJob,
    BulkItemResult,
    BulkJobStatus,
    Delivery,
    DeliveryStatus,
    StrikeRecord,
)
from coop.enforcement.services import ActionError
from coop.enforcement.strikes import _lock_key
from coop.enforcement.tasks import deliver
from coop.review import bulk_actions
from coop.review.models import Decision
from enforcement.conftest import submit
from factories import user
from processes import FAST_RECOVERY, database_url_for_tests, start_worker, stop, wait_until

DELETE = [{"actionId": "delete", "policyIds": ["spam"], "parameters": {"days": 3}}]


def run_all(job: BulkActionJob) -> None:
    """What the worker does: the chunk task, again, until the run is done."""
    for _ in range(100):
        bulk_actions.run_bulk_action(job_id=str(job.pk))
        job.refresh_from_db()
        if job.status == BulkJobStatus.DONE:
            return
    raise AssertionError("the bulk action did not finish")


def nothing_ran() -> bool:
    return (
        ActionExecution.objects.count() == 0
        and Delivery.objects.count() == 0
        and Decision.objects.count() == 0
    )


# --- parsing -------------------------------------------------------------------------------


def test_ids_by_lines_or_commas_blank_ignored_duplicates_counted():
    parsed = bulk.parse_ids("a\nb, c\r\n\n a ,,b\nd")
    assert parsed.ids == ["a", "b", "c", "d"]
    assert (parsed.given, parsed.duplicates, parsed.over_limit) == (6, 2, 0)


def test_an_id_too_long_is_refused_with_its_position():
    with pytest.raises(bulk.BulkInputError) as refused:
        bulk.parse_ids("a\n" + "x" * 256)
    assert refused.value.field == "ids"
    assert "Id number 2" in refused.value.message


# --- the draft: counted, nothing run ---------------------------------------------------------


@pytest.mark.django_db
def test_draft_counts_duplicates_unknown_and_other_type_and_runs_nothing(catalog):
    moderator = user("mod@example.com")
    for i in range(3):
        submit(f"p-{i}")
    submit("u-9", author=None, type_id="user")  # an id stored as another type
    job = bulk_actions.prepare(
        "post", "p-0\np-1,p-2\np-1\nnope\nu-9", DELETE, "spam wave", moderator
    )
    assert job.status == BulkJobStatus.DRAFT
    assert (job.given_count, job.duplicate_count, job.total) == (6, 1, 5)
    assert (job.unknown_count, job.other_type_count) == (2, 1)
    assert job.requests == [
        {"actionId": "delete", "policyIds": ["spam"], "parameters": {"days": 3}}
    ]
    assert nothing_ran()
    catalog.expect_no_calls()


@pytest.mark.django_db
def test_more_than_ten_thousand_ids_are_refused_whole(catalog):
    moderator = user("mod@example.com")
    text = "\n".join(f"id-{i}" for i in range(10_001)) + "\nid-0"
    with pytest.raises(bulk.BulkInputError) as refused:
        bulk_actions.prepare("post", text, DELETE, "", moderator)
    assert refused.value.parsed.over_limit == 1
    assert refused.value.parsed.duplicates == 1
    assert "Nothing was run" in refused.value.message
    assert BulkActionJob.objects.count() == 0
    assert BulkActionItem.objects.count() == 0
    assert nothing_ran()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("requests", "pointer"),
    [
        ([{"actionId": "ban", "policyIds": [], "parameters": {"days": 1}}], "/actionId"),
        ([{"actionId": "delete", "policyIds": ["nope"], "parameters": {}}], "/policyIds/0"),
        (
            [{"actionId": "delete", "policyIds": [], "parameters": {"days": "x"}}],
            "/parameters/days",
        ),
        ([], "/actions"),
    ],
)
def test_actions_that_cannot_run_are_refused_before_anything_is_stored(catalog, requests, pointer):
    submit("p-1")
    with pytest.raises(ActionError) as refused:
        bulk_actions.prepare("post", "p-1", requests, "", user("mod@example.com"))
    assert refused.value.pointer == pointer
    assert BulkActionJob.objects.count() == 0
    assert nothing_ran()


@pytest.mark.django_db
def test_enqueue_to_ncmec_is_not_offered_without_child_safety_permission(catalog):
    submit("p-1")
    ncmec = [{"actionId": builtins.NCMEC, "policyIds": [], "parameters": {}}]
    with pytest.raises(ActionError, match="not offered"):
        bulk_actions.prepare("post", "p-1", ncmec, "", user("mod@example.com"))
    assert BulkActionJob.objects.count() == 0


# --- the run ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_executes_each_known_item_once_and_logs_it_in_recent_decisions(catalog, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 4)  # several chunks
    moderator = user("mod@example.com")
    for i in range(9):
        submit(f"p-{i}", author=f"u-{i % 3}")
    ids = "\n".join([f"p-{i}" for i in range(9)] + ["ghost"])
    job = bulk_actions.prepare("post", ids, DELETE, "spam wave", moderator)
    assert bulk_actions.start(job)
    assert not bulk_actions.start(job)
    run_all(job)

    assert (job.processed, job.total) == (10, 10)
    executions = ActionExecution.objects.filter(source=ExecutionSource.BULK)
    assert sorted(executions.values_list("item_id", flat=True)) == [f"p-{i}" for i in range(9)]
    assert {e.actor_id for e in executions} == {moderator.pk}
    assert {e.decision_reason for e in executions} == {"spam wave"}
    assert Delivery.objects.count() == 9
    # One strike event per item: each author has 3 items, so 3 strikes.
    assert Counter(StrikeRecord.objects.values_list("user_id", flat=True)) == {
        "u-0": 3,
        "u-1": 3,
        "u-2": 3,
    }
    decisions = Decision.objects.filter(source=DecisionSource.BULK)
    assert sorted(decisions.values_list("item_id", flat=True)) == [f"p-{i}" for i in range(9)]
    assert {d.reason for d in decisions} == {"spam wave"}
    assert {d.reviewer_id for d in decisions} == {moderator.pk}

    results = {r.item_id: r for r in bulk.result_rows(job)}
    assert results["ghost"].result == "UNKNOWN"
    assert results["p-0"].result == "EXECUTED"
    assert results["p-0"].deliveries == "pending"
    summary = bulk.summary(job)
    assert (summary.executed, summary.unknown, summary.refused, summary.pending) == (9, 1, 0, 0)
    assert summary.deliveries_waiting == 9


@pytest.mark.django_db
def test_a_refused_builtin_marks_only_its_item_refused(catalog):
    submit("p-1")
    submit("p-2", author=None)  # no author: "review the author" cannot act on it
    requests = [{"actionId": builtins.MANUAL_REVIEW_AUTHOR, "policyIds": [], "parameters": {}}]
    job = bulk_actions.prepare("post", "p-1\np-2", requests, "", user("mod@example.com"))
    bulk_actions.start(job)
    run_all(job)
    results = {r.item_id: r for r in bulk.result_rows(job)}
    assert results["p-1"].result == "EXECUTED"
    assert results["p-2"].result == "REFUSED"
    assert "no known author" in results["p-2"].reason
    assert list(Decision.objects.values_list("item_id", flat=True)) == ["p-1"]


@pytest.mark.django_db
def test_a_chunk_run_again_executes_nothing_twice(catalog):
    """The idempotency key (bulk job, item, action): a chunk whose results were lost (here:
    put back to PENDING by hand) runs again without a second execution, delivery or log."""
    for i in range(3):
        submit(f"p-{i}")
    job = bulk_actions.prepare("post", "p-0\np-1\np-2", DELETE, "", user("mod@example.com"))
    bulk_actions.start(job)
    run_all(job)
    before = (ActionExecution.objects.count(), Delivery.objects.count(), Decision.objects.count())
    BulkActionItem.objects.filter(job=job).update(result=BulkItemResult.PENDING)
    BulkActionJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.RUNNING, processed=0)
    run_all(job)
    after = (ActionExecution.objects.count(), Delivery.objects.count(), Decision.objects.count())
    assert before == after == (3, 3, 3)
    assert {r.result for r in bulk.result_rows(job)} == {"EXECUTED"}


@pytest.mark.django_db
def test_failed_deliveries_are_shown_per_item_and_in_the_csv(catalog, receiver, client):
    from enforcement.receiver import Reply

    moderator = user("mod@example.com")
    submit("p-1")
    submit("p-2")
    job = bulk_actions.prepare("post", "p-1\np-2\nghost", DELETE, "", moderator)
    bulk_actions.start(job)
    run_all(job)
    receiver.script = [Reply(200), Reply(400)]  # a 400 is not retried: the delivery is dead
    deliver(delivery_ids=[str(d.pk) for d in Delivery.objects.order_by("created_at")])
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        DeliveryStatus.DEAD,
        DeliveryStatus.DELIVERED,
    ]
    rows = {r.item_id: r for r in bulk.result_rows(job)}
    assert sorted(r.result for r in rows.values()) == ["EXECUTED", "FAILED_DELIVERY", "UNKNOWN"]
    assert bulk.summary(job).failed_delivery == 1

    client.force_login(moderator)
    response = client.get(reverse("bulk-action-csv", args=[job.pk]))
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == bulk.CSV_HEADER
    assert [row[2] for row in table[1:]] == ["p-1", "p-2", "ghost"]
    assert sorted(row[3] for row in table[1:]) == ["Executed", "Failed delivery", "Unknown item"]
    assert len(table) == 4


# --- the pages -------------------------------------------------------------------------------


def _post(client, ids: str, **extra):
    data = {
        "ids": ids,
        "item_type": "post",
        "action": "delete",
        "policies-delete": "spam",
        "param-delete-days": "3",
        "reason": "wave",
        **extra,
    }
    return client.post(reverse("bulk-actions"), data)


@pytest.mark.django_db
def test_the_form_shows_the_counts_then_runs_only_when_confirmed(catalog, client):
    moderator = user("mod@example.com")
    client.force_login(moderator)
    submit("p-1")
    response = _post(client, "p-1\np-1\nghost")
    job = BulkActionJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk-action", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Confirm the bulk action" in page
    assert "Run on 1 id" in page
    assert nothing_ran()
    client.post(reverse("bulk-action-start", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJobStatus.RUNNING
    run_all(job)
    page = client.get(reverse("bulk-action", args=[job.pk])).content.decode()
    assert "Unknown item" in page
    assert "Executed" in page


@pytest.mark.django_db
def test_the_form_refuses_over_ten_thousand_with_the_counts(catalog, client):
    client.force_login(user("mod@example.com"))
    response = _post(client, ",".join(f"i{i}" for i in range(10_050)))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was run" in page
    assert "50 over the limit" in page
    assert BulkActionJob.objects.count() == 0
    assert nothing_ran()


@pytest.mark.django_db
def test_the_form_names_the_field_at_fault(catalog, client):
    client.force_login(user("mod@example.com"))
    response = _post(client, "p-1", item_type="nope")
    assert response.status_code == 400
    assert "Choose the item type" in response.content.decode()
    response = _post(client, "p-1", **{"param-delete-days": "many"})
    assert response.status_code == 400
    assert "must be a number" in response.content.decode()
    assert BulkActionJob.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Analyst", "External Moderator"])
def test_roles_without_manually_action_content_cannot_run_bulk_actions(catalog, client, role):
    """accounts.md: only roles with MANUALLY_ACTION_CONTENT (not Analysts, not external
    moderators)."""
    client.force_login(user("someone@example.com", role))
    assert _post(client, "p-1").status_code == 403
    assert BulkActionJob.objects.count() == 0


@pytest.mark.django_db
def test_only_the_person_who_prepared_it_can_run_it(catalog, client):
    submit("p-1")
    job = bulk_actions.prepare("post", "p-1", DELETE, "", user("a@example.com"))
    client.force_login(user("b@example.com"))
    client.post(reverse("bulk-action-start", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DRAFT


# --- a real worker killed mid-job --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_job_resumes_and_delivers_each_webhook_once(catalog, settings):
    """Chunk 1 (500 ids) commits; chunk 2 blocks on the strike lock of one author, which the
    test holds; the worker is killed with SIGKILL there. Another worker retries the stalled
    task: the run finishes and each item's webhook arrives exactly once."""
    moderator = user("mod@example.com")
    ids = []
    for i in range(800):
        item_id = f"p-{i}"
        submit(item_id, author="blocker" if i == 700 else f"u-{i % 50}")
        ids.append(item_id)
    job = bulk_actions.prepare("post", "\n".join(ids), DELETE, "wave", moderator)
    bulk_actions.start(job)
    blocker = psycopg.connect(database_url_for_tests(), autocommit=True)
    from coop.core.items import ItemRef

    blocker.execute("SELECT pg_advisory_lock(%s)", [_lock_key(ItemRef("blocker", "user"))])
    worker = start_worker(**FAST_RECOVERY)
    try:

        def blocked_on_the_strike_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                return cursor.fetchone()[0] > 0

        wait_until(blocked_on_the_strike_lock, 90, "the worker never reached the second chunk")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        blocker.close()  # releases the lock
    job.refresh_from_db()
    assert (job.status, job.processed) == (BulkJobStatus.RUNNING, 500)  # chunk 1 committed
    assert ActionExecution.objects.count() == 500  # chunk 2 rolled back whole
    assert Decision.objects.count() == 500

    survivor = start_worker(**FAST_RECOVERY)
    try:

        def finished() -> bool:
            job.refresh_from_db()
            delivered = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
            return job.status == BulkJobStatus.DONE and delivered == 800

        wait_until(finished, 120, "the bulk action did not finish after the restart")
    finally:
        stop(survivor)
    assert ActionExecution.objects.filter(source=ExecutionSource.BULK).count() == 800
    assert Decision.objects.filter(source=DecisionSource.BULK).count() == 800
    per_item = Counter(json.loads(r.body)["item"]["id"] for r in catalog.requests)
    assert set(per_item) == set(ids)
    assert max(per_item.values()) == 1, "a webhook was delivered twice"
