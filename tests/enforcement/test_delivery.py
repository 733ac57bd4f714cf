"""The delivery worker against a local receiver: retries, permanent failures, DEAD, re-send."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.db import connections, transaction
from django.utils import timezone

from coop.enforcement.models import Delivery, DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery, resend, resend_dead
from coop.enforcement.tasks import deliver
from enforcement.receiver import Reply

SCHEDULE = [10, 60, 300, 1800, 7200, 21600, 43200, 86400]


def new_delivery(receiver, event=DeliveryEvent.APPEAL_DECISION) -> Delivery:
    with transaction.atomic():
        return create_delivery(
            event, f"{receiver.url}/hook", {"X-Token": "t"}, {"appealId": "a-1", "z": [1, "é"]}
        )


def attempt_now(delivery: Delivery) -> Delivery:
    """Run the task as a worker would once the delivery is due."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    return delivery


def test_retry_keeps_the_delivery_id_until_delivered(receiver):
    receiver.script = [Reply(500, body=b"boom"), Reply(200)]
    delivery = new_delivery(receiver)
    before = timezone.now()
    delivery = attempt_now(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "HTTP 500"
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 9 <= wait <= 11.5  # 10 s ± 10 % jitter
    delivery = attempt_now(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.next_attempt_at is None
    first, second = receiver.requests
    assert first.headers["coop-delivery-id"] == second.headers["coop-delivery-id"]
    assert first.headers["coop-delivery-id"] == str(delivery.pk)
    assert first.headers["coop-event"] == "appeal-decision"
    assert first.body == second.body == '{"appealId":"a-1","z":[1,"é"]}'.encode()
    attempts = list(delivery.attempt_set.order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 200)]
    assert attempts[0].response_excerpt == "boom"
    assert attempts[1].response_excerpt == '{"ok":true}'


def test_response_excerpt_is_capped_at_1_kb(receiver):
    receiver.script = [Reply(503, body=b"x" * 5000)]
    delivery = attempt_now(new_delivery(receiver))
    assert len(delivery.attempt_set.get().response_excerpt) == 1024


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_statuses(receiver, status):
    receiver.script = [Reply(status)]
    delivery = attempt_now(new_delivery(receiver))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_set.get().status_code == status


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_are_permanent(receiver, status):
    receiver.script = [Reply(status, body=b"gone")]
    delivery = attempt_now(new_delivery(receiver))
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.next_attempt_at is None
    assert delivery.attempts == 1
    deliver([str(delivery.pk)])  # a stray task does nothing
    assert len(receiver.requests) == 1


def test_retry_after_seconds_is_honoured(receiver):
    receiver.script = [Reply(429, headers={"Retry-After": "120"})]
    before = timezone.now()
    delivery = attempt_now(new_delivery(receiver))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_set.get().retry_after_seconds == 120
    assert delivery.next_attempt_at - before >= timedelta(seconds=119)


def test_retry_after_http_date_is_honoured(receiver):
    moment = timezone.now() + timedelta(minutes=10)
    receiver.script = [Reply(503, headers={"Retry-After": format_datetime(moment, usegmt=True)})]
    delivery = attempt_now(new_delivery(receiver))
    assert delivery.next_attempt_at >= moment - timedelta(seconds=2)


def test_timeout_is_retried(receiver, settings):
    settings.COOP_WEBHOOK_TIMEOUT = 0.5
    never = threading.Event()  # the platform never answers until the test ends
    receiver.script = [Reply(hold=never)]
    try:
        delivery = attempt_now(new_delivery(receiver))
    finally:
        never.set()
    assert delivery.status == DeliveryStatus.FAILED
    attempt = delivery.attempt_set.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("timeout")


def test_closed_connection_is_retried(receiver):
    receiver.script = [Reply(close=True), Reply(200)]
    delivery = attempt_now(new_delivery(receiver))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_set.get().status_code is None
    assert delivery.last_error
    assert attempt_now(delivery).status == DeliveryStatus.DELIVERED


def test_unreachable_receiver_is_retried(db):
    with transaction.atomic():
        delivery = create_delivery(DeliveryEvent.IGNORE, "http://127.0.0.1:9/", {}, {"id": "x"})
    delivery = attempt_now(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert "ConnectError" in delivery.last_error


def test_dead_after_the_last_attempt_then_resent(receiver, settings):
    settings.COOP_DELIVERY_SCHEDULE = [0, 0]
    receiver.script = [Reply(500), Reply(500), Reply(500), Reply(200)]
    delivery = new_delivery(receiver)
    for expected in (DeliveryStatus.FAILED, DeliveryStatus.FAILED, DeliveryStatus.DEAD):
        deliver([str(delivery.pk)])
        delivery.refresh_from_db()
        assert delivery.status == expected
    deliver([str(delivery.pk)])
    assert len(receiver.requests) == 3
    assert resend([delivery.pk]) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.round_attempts) == (DeliveryStatus.PENDING, 0)
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [a.number for a in delivery.attempt_set.order_by("number")] == [1, 2, 3, 4]
    assert {r.headers["coop-delivery-id"] for r in receiver.requests} == {str(delivery.pk)}
    assert resend([delivery.pk]) == 0  # delivered ones stay delivered


def test_resend_all_dead(receiver):
    receiver.script = [Reply(410), Reply(410), Reply(200), Reply(200)]
    first, second = new_delivery(receiver), new_delivery(receiver)
    attempt_now(first)
    attempt_now(second)
    assert resend_dead() == 2
    assert attempt_now(first).status == DeliveryStatus.DELIVERED
    assert attempt_now(second).status == DeliveryStatus.DELIVERED


def test_missing_secret_is_not_sent_and_retried(receiver, monkeypatch):
    monkeypatch.delenv("SECRET_NOT_SET", raising=False)
    with transaction.atomic():
        delivery = create_delivery(
            DeliveryEvent.IGNORE,
            f"{receiver.url}/x",
            {"Authorization": {"secret": "SECRET_NOT_SET"}},
            {"id": "1"},
        )
    delivery = attempt_now(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert "SECRET_NOT_SET" in delivery.last_error
    assert receiver.requests == []
    monkeypatch.setenv("SECRET_NOT_SET", "now-set")
    assert attempt_now(delivery).status == DeliveryStatus.DELIVERED
    assert receiver.requests[0].headers["authorization"] == "now-set"


@pytest.mark.django_db(transaction=True)
def test_a_locked_delivery_is_not_sent_twice(receiver):
    """While one worker holds the delivery, a second task for it does nothing."""
    delivery = new_delivery(receiver)
    skipped = threading.Event()

    def second_worker():
        try:
            deliver([str(delivery.pk)])
            skipped.set()
        finally:
            connections.close_all()

    with transaction.atomic():
        # Held like a worker in the middle of a send.
        Delivery.objects.select_for_update().get(pk=delivery.pk)
        thread = threading.Thread(target=second_worker)
        thread.start()
        thread.join(10)
        assert skipped.is_set()
    assert receiver.requests == []
    deliver([str(delivery.pk)])
    assert len(receiver.requests) == 1
