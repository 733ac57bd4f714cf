"""Console → Deliveries: the outbox with attempts, filters and re-send buttons."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from coop.accounts.models import Role, User
from coop.enforcement.models import Delivery, DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery
from coop.enforcement.tasks import deliver
from enforcement.receiver import Reply


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_user(email="admin@example.com", role=Role.objects.get(name="Admin"))


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def dead_delivery(receiver) -> Delivery:
    receiver.script = [Reply(410, body=b"<gone & away>")]
    with transaction.atomic():
        delivery = create_delivery(DeliveryEvent.IGNORE, f"{receiver.url}/i", {}, {"id": "1"})
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    return delivery


def test_lists_deliveries_with_their_attempts(admin_client, dead_delivery):
    response = admin_client.get(reverse("deliveries"))
    assert response.status_code == 200
    html = response.content.decode()
    assert str(dead_delivery.pk) in html
    assert "&lt;gone &amp; away&gt;" in html  # the receiver's answer is escaped
    assert "Re-send all 1 dead" in html
    assert 'href="/deliveries"' in html  # navigation entry


def test_filters(admin_client, dead_delivery):
    assert str(dead_delivery.pk) in admin_client.get("/deliveries?status=DEAD").content.decode()
    assert (
        str(dead_delivery.pk)
        not in admin_client.get("/deliveries?status=DELIVERED").content.decode()
    )
    assert (
        str(dead_delivery.pk) not in admin_client.get("/deliveries?event=action").content.decode()
    )


def test_resend_one_and_all(admin_client, dead_delivery, receiver):
    response = admin_client.post(reverse("delivery-resend", args=[dead_delivery.pk]))
    assert response.status_code == 302
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == DeliveryStatus.PENDING
    Delivery.objects.filter(pk=dead_delivery.pk).update(status=DeliveryStatus.DEAD)
    response = admin_client.post(reverse("deliveries-resend-dead"))
    assert response.status_code == 302
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == DeliveryStatus.PENDING
    deliver([str(dead_delivery.pk)])
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == DeliveryStatus.DELIVERED
    assert dead_delivery.attempt_set.count() == 2


def test_resend_needs_post_and_csrf(admin, dead_delivery):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin)
    assert csrf_client.post(reverse("deliveries-resend-dead")).status_code == 403
    assert csrf_client.get(reverse("deliveries-resend-dead")).status_code == 405
