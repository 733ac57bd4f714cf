from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from coop.accounts.models import SigningKey
from coop.accounts.services import active_signing_key, public_keys, rotate_signing_key


@pytest.mark.django_db
def test_generated_on_first_use_and_then_stable():
    key = active_signing_key()
    assert key.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert active_signing_key().pk == key.pk
    assert SigningKey.objects.count() == 1


@pytest.mark.django_db
def test_private_key_is_never_stored_in_clear():
    active_signing_key()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_encrypted::text, public_pem FROM accounts_signingkey")
        stored, public_pem = cursor.fetchone()
    assert "PRIVATE KEY" not in stored
    raw = bytes(SigningKey.objects.get().private_key_encrypted)
    assert b"PRIVATE KEY" not in raw
    assert raw.startswith(b"gAAAAA")  # a Fernet token
    assert "PRIVATE" not in public_pem


@pytest.mark.django_db
def test_rotation_keeps_the_previous_key_listed_for_24_hours():
    old = active_signing_key()
    new = rotate_signing_key()
    assert new.pk != old.pk
    assert [k.pk for k in public_keys()] == [new.pk, old.pk]
    SigningKey.objects.filter(pk=old.pk).update(retired_at=timezone.now() - timedelta(hours=25))
    assert [k.pk for k in public_keys()] == [new.pk]
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_rotation_without_a_key_creates_one():
    assert rotate_signing_key().retired_at is None
    assert SigningKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_yields_one_key():
    def first_use(_):
        try:
            return active_signing_key().pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(first_use, range(6)))
    assert len(ids) == 1
    assert SigningKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_rotations_leave_one_active_key():
    active_signing_key()

    def rotate(_):
        try:
            return rotate_signing_key().pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(rotate, range(4)))
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert SigningKey.objects.count() == 5
