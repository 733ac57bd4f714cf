"""Login throttling through the real login view (accounts.md: repeated failures for an account
or an address are slowed and then locked for a while).

Time passing is simulated by moving the recorded failures back (`let_time_pass`), never by
sleeping. The delays are made long here (30 s, doubling) so that "right after" holds with a wide
margin however slow the machine is.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

import psycopg
import pytest
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.db.models import F, Sum

from coop.accounts import throttle
from coop.accounts.services import create_user
from coop.web.views.auth import LOGIN_FAILED

PASSWORD = "correct horse battery"
WRONG = "wrong password!"
ADDRESS = "203.0.113.7"


@pytest.fixture(autouse=True)
def _long_delays(settings):
    settings.COOP_LOGIN_DELAY_SECONDS = 30
    settings.COOP_LOGIN_DELAY_MAX_SECONDS = 240


@pytest.fixture
def moderator(db):
    user, _ = create_user("mod@example.com", "Moderator", PASSWORD)
    return user


def attempt(client, email, password, address=ADDRESS, **extra):
    return client.post(
        "/login", {"email": email, "password": password}, REMOTE_ADDR=address, **extra
    )


def let_time_pass(delta: timedelta) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - delta)


def assert_retry_after(response, seconds: int, since: float) -> None:
    """Retry-After is the delay counted from the failure, less the time the requests since
    took: exactly `seconds` unless more than a fraction of a second went by (`since` is the
    monotonic time before the failure)."""
    elapsed = time.monotonic() - since
    assert math.ceil(seconds - elapsed) <= int(response["Retry-After"]) <= seconds


def wait_out(response) -> None:
    """Let the time the refusal asked for pass."""
    assert response.status_code == 429
    let_time_pass(timedelta(seconds=int(response["Retry-After"]) + 1))


def fail(client, email, address=ADDRESS):
    """One counted failure: wait out any delay first, so that the attempt is checked."""
    response = attempt(client, email, WRONG, address)
    if response.status_code == 429 and "Wait" in response.content.decode():
        wait_out(response)
        response = attempt(client, email, WRONG, address)
    assert response.status_code in (400, 429), response.status_code
    return response


def failures(**key) -> int:
    return AccessAttempt.objects.filter(**key).aggregate(n=Sum("failures_since_start"))["n"] or 0


def assert_locked(response, client, *, just_now=True):
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html
    assert "paused for" in html
    if just_now:
        # Retry-After tells how long the lock still runs: about the cool-off, not a short delay.
        assert int(response["Retry-After"]) > get_cool_off().total_seconds() / 2
    assert SESSION_KEY not in client.session


def test_rotating_addresses_locks_the_account(client, moderator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, "mod@example.com", f"198.51.100.{n + 1}")
    assert failures(username="mod@example.com") == settings.AXES_FAILURE_LIMIT
    # A fresh address, the right password: refused, the account is locked.
    assert_locked(attempt(client, "mod@example.com", PASSWORD, "192.0.2.99"), client)


def test_one_address_spraying_many_accounts_is_locked(client, moderator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, f"user{n}@example.com")
    # Every account from that address is refused, even a real one with its right password...
    assert_locked(attempt(client, "mod@example.com", PASSWORD), client)
    # ...while the accounts themselves are not locked: from elsewhere, sign-in works.
    assert attempt(client, "mod@example.com", PASSWORD, "192.0.2.50").status_code == 302


def test_a_forged_forwarded_for_header_does_not_change_the_address(client, moderator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(
            client, f"user{n}@example.com", WRONG, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
        )
        if response.status_code == 429:
            wait_out(response)
            attempt(client, f"user{n}@example.com", WRONG, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert failures(ip_address=ADDRESS) == settings.AXES_FAILURE_LIMIT
    forged = attempt(client, "mod@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.200")
    assert_locked(forged, client)


def test_repeated_failures_are_slowed_progressively_before_the_lock(client, moderator, settings):
    settings.AXES_FAILURE_LIMIT = 5
    # One failure is just a typo: the next attempt may follow at once.
    assert attempt(client, "mod@example.com", WRONG).status_code == 400
    since = time.monotonic()
    assert attempt(client, "mod@example.com", WRONG).status_code == 400
    # After the second, the next attempt must wait; even the right password is refused unchecked.
    early = attempt(client, "mod@example.com", PASSWORD)
    assert early.status_code == 429
    assert f"Wait {early['Retry-After']} seconds" in early.content.decode()
    assert_retry_after(early, 30, since)
    assert SESSION_KEY not in client.session
    # A refused attempt is not a failure: the count did not move.
    assert failures(username="mod@example.com") == 2
    # From another address too: the delay belongs to the account.
    assert attempt(client, "mod@example.com", PASSWORD, "192.0.2.1").status_code == 429

    wait_out(early)
    since = time.monotonic()
    assert attempt(client, "mod@example.com", WRONG).status_code == 400
    third = attempt(client, "mod@example.com", WRONG)
    assert_retry_after(third, 60, since)  # doubled
    wait_out(third)
    since = time.monotonic()
    assert attempt(client, "mod@example.com", WRONG).status_code == 400
    fourth = attempt(client, "mod@example.com", WRONG)
    assert_retry_after(fourth, 120, since)
    # Waiting it out, the right password works: slowed, not locked.
    wait_out(fourth)
    assert attempt(client, "mod@example.com", PASSWORD).status_code == 302
    assert SESSION_KEY in client.session


def test_the_delay_is_capped(settings):
    settings.COOP_LOGIN_DELAY_SECONDS = 1
    settings.COOP_LOGIN_DELAY_MAX_SECONDS = 60
    assert [throttle.delay_after(n).total_seconds() for n in range(1, 10)] == [
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


def test_a_correct_password_during_the_lock_is_refused_and_does_not_extend_it(
    client, moderator, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, "mod@example.com")
    locked = failures(username="mod@example.com")
    first = attempt(client, "mod@example.com", PASSWORD)
    assert_locked(first, client)
    for _ in range(3):
        assert_locked(attempt(client, "mod@example.com", WRONG), client)
        assert_locked(attempt(client, "mod@example.com", PASSWORD), client)
    # Retries during the lock are refused unchecked: they neither count nor push the end back.
    assert failures(username="mod@example.com") == locked
    later = attempt(client, "mod@example.com", PASSWORD)
    assert int(later["Retry-After"]) <= int(first["Retry-After"])


def test_the_lock_expires(client, moderator, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, "mod@example.com", f"198.51.100.{n + 1}")
    response = attempt(client, "mod@example.com", PASSWORD)
    assert_locked(response, client)
    # Not yet: a minute before the announced end it is still locked.
    let_time_pass(timedelta(seconds=int(response["Retry-After"]) - 60))
    assert_locked(attempt(client, "mod@example.com", PASSWORD), client, just_now=False)
    let_time_pass(timedelta(seconds=61))
    assert attempt(client, "mod@example.com", PASSWORD).status_code == 302
    assert SESSION_KEY in client.session


def test_success_clears_the_accounts_failures_but_not_the_addresss(client, moderator, settings):
    settings.AXES_FAILURE_LIMIT = 5
    # From ADDRESS: two guesses at other accounts, two typos on the moderator's own account.
    fail(client, "someone@example.com")
    fail(client, "other@example.com")
    fail(client, "mod@example.com")
    fail(client, "mod@example.com")
    assert failures(ip_address=ADDRESS) == 4
    response = attempt(client, "mod@example.com", PASSWORD)
    if response.status_code == 429:
        wait_out(response)
        response = attempt(client, "mod@example.com", PASSWORD)
    assert response.status_code == 302
    client.post("/logout")

    # The account starts afresh: two failures in a row from elsewhere are not slowed.
    assert failures(username="mod@example.com") == 0
    assert attempt(client, "mod@example.com", WRONG, "192.0.2.1").status_code == 400
    assert attempt(client, "mod@example.com", WRONG, "192.0.2.2").status_code == 400
    # The address keeps its guesses at other accounts: three more failures lock it.
    assert failures(ip_address=ADDRESS) == 2
    for n in range(settings.AXES_FAILURE_LIMIT - 2):
        fail(client, f"sprayed{n}@example.com")
    assert_locked(attempt(client, "mod@example.com", PASSWORD), client)


def test_failure_message_is_the_same_before_the_limit(client, moderator, db):
    for email in ["mod@example.com", "nobody@example.com"]:
        response = attempt(client, email, WRONG, address=f"192.0.2.{len(email)}")
        assert response.status_code == 400
        assert LOGIN_FAILED in response.content.decode()


def test_a_concurrent_attempt_on_the_same_account_is_refused_at_once(client, moderator):
    """While another attempt on the account is being checked (its lock held by another
    connection here), a second one is refused without waiting and without being checked."""
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
        autocommit=True,
    ) as other:
        key = throttle._advisory_key("account", "mod@example.com")
        other.execute("SELECT pg_advisory_lock(%s)", [key])
        response = attempt(client, "mod@example.com", PASSWORD)
        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        assert SESSION_KEY not in client.session
        assert failures(username="mod@example.com") == 0
        other.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert attempt(client, "mod@example.com", PASSWORD).status_code == 302


def test_a_concurrent_attempt_from_the_same_address_is_refused_at_once(client, moderator):
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [throttle._advisory_key("address", ADDRESS)])
        assert attempt(client, "mod@example.com", PASSWORD).status_code == 429
    assert attempt(client, "mod@example.com", PASSWORD).status_code == 302
