"""Outgoing calls to configured URLs (coop.outbound): the address policy, one DNS answer per
connection, and header rules, tested against a real local receiver."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from coop.enforcement.models import Delivery, DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery
from coop.enforcement.signer import sign
from coop.enforcement.tasks import deliver
from coop.outbound import (
    AddressRefusedError,
    checked_addresses,
    guarded_client,
    header_problem,
    is_public,
    secret_problem,
)


def send(url: str, headers: dict | None = None) -> Delivery:
    with transaction.atomic():
        delivery = create_delivery(DeliveryEvent.ACTION, url, headers or {}, {"a": 1})
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver([str(delivery.pk)])
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_and_special_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_unicast_addresses_are_public(address):
    assert is_public(address)


def test_a_host_resolving_to_any_private_address_only_is_refused():
    def resolver(host, port):
        return ["10.0.0.7", "127.0.0.1"]

    with pytest.raises(AddressRefusedError, match=r"10\.0\.0\.7, 127\.0\.0\.1"):
        checked_addresses("platform.example", 443, resolver, allow_private=False)


def test_only_the_public_answers_of_a_mixed_resolution_are_kept():
    def resolver(host, port):
        return ["127.0.0.1", "8.8.8.8"]

    assert checked_addresses("platform.example", 443, resolver, allow_private=False) == ["8.8.8.8"]


@pytest.mark.django_db
def test_a_webhook_to_loopback_is_refused_and_never_reaches_it(receiver, settings):
    settings.COOP_FETCH_ALLOW_PRIVATE = False
    receiver.expect_no_calls()
    delivery = send(f"{receiver.url}/hook")
    assert delivery.status == DeliveryStatus.FAILED
    assert "does not call" in delivery.attempt_set.get().error


@pytest.mark.django_db
def test_one_resolution_per_connection_and_the_checked_address_is_the_one_connected(receiver):
    """A rebinding resolver answers differently on each lookup: the request goes to the first
    answer, which was checked, and the host name still travels in the Host header."""
    answers = [["127.0.0.1"], ["10.255.255.1"]]
    lookups = []

    def rebinding(host, port):
        lookups.append(host)
        return answers[len(lookups) - 1]

    port = receiver.url.rsplit(":", 1)[1]
    with guarded_client(rebinding, allow_private=True) as client:
        response = client.post(
            f"http://platform.test:{port}/hook",
            content=b"{}",
            headers={"Coop-Signature": sign(b"{}")},
        )
    assert response.status_code == 200
    assert lookups == ["platform.test"]
    assert receiver.requests[0].headers["host"] == f"platform.test:{port}"


def test_with_private_addresses_refused_a_rebinding_answer_is_never_connected(receiver):
    def private_answer(host, port):
        return ["127.0.0.1"]

    receiver.expect_no_calls()
    port = receiver.url.rsplit(":", 1)[1]
    with (
        guarded_client(private_answer, allow_private=False) as client,
        pytest.raises(Exception, match="does not call") as refused,
    ):
        client.post(f"http://platform.test:{port}/hook", content=b"{}")
    assert isinstance(refused.value.__context__, AddressRefusedError)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Token", "a\r\nX-Injected: 1"),
        ("X-Token", "a\nb"),
        ("X Token", "a"),
        ("Host", "evil.example"),
        ("Content-Length", "0"),
        ("Coop-Signature", "forged"),
        ("coop-delivery-id", "x"),
    ],
)
def test_unsendable_headers_are_named(name, value):
    assert header_problem(name, value)


def test_ordinary_headers_pass():
    assert header_problem("Authorization", "Bearer abc.def") is None
    assert header_problem("X-Source", "coop") is None


@pytest.mark.parametrize("variable", ["COOP_SECRET_KEY", "DATABASE_URL", "HOME", "SECRET_"])
def test_secrets_must_use_the_documented_prefix(variable):
    assert secret_problem(variable)


def test_a_prefixed_secret_is_allowed():
    assert secret_problem("SECRET_PLATFORM_TOKEN") is None


@pytest.mark.django_db
def test_a_stored_header_with_a_line_break_is_not_sent(receiver):
    receiver.expect_no_calls()
    delivery = send(f"{receiver.url}/hook", {"X-Token": "a\r\nX-Injected: 1"})
    assert delivery.status == DeliveryStatus.FAILED
    assert "line break" in delivery.last_error


@pytest.mark.django_db
def test_a_secret_outside_the_prefix_is_not_resolved(receiver, monkeypatch):
    monkeypatch.setenv("COOP_SECRET_KEY", "the-real-key")
    receiver.expect_no_calls()
    delivery = send(f"{receiver.url}/hook", {"Authorization": {"secret": "COOP_SECRET_KEY"}})
    assert delivery.status == DeliveryStatus.FAILED
    assert "SECRET_" in delivery.last_error
