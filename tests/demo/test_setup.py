"""The demo's database setup: configuration, users, reviewers, API key."""

from __future__ import annotations

import pytest

from coop.accounts.models import ApiKey, User
from coop.accounts.services import authenticate_api_key
from coop.config import parse_text
from coop.demo import setup
from coop.review.models import Queue

PLATFORM = "http://127.0.0.1:8001"

pytestmark = pytest.mark.django_db


def test_demo_yaml_is_valid_and_names_the_platform():
    text = setup.demo_yaml(PLATFORM)
    assert setup.PLATFORM_PLACEHOLDER not in text
    assert f"{PLATFORM}/actions/delete" in text
    _, errors = parse_text(text)
    assert errors == []


def test_demo_yaml_applies_cleanly_twice():
    setup.ensure_demo_users()
    first = setup.apply_demo_config(PLATFORM)
    assert first.errors == []
    assert first.changes, "the first apply creates the demo objects"
    second = setup.apply_demo_config(PLATFORM)
    assert second.errors == []
    assert [c.line() for c in second.changes] == []
    assert second.summary().startswith("Plan: 0 to create, 0 to change, 0 to delete")


def test_users_roles_and_reviewers():
    demo = setup.set_up(PLATFORM)
    assert [(c.email, c.role) for c in demo.credentials] == list(setup.DEMO_USERS)
    for credential in demo.credentials:
        user = User.objects.get(email=credential.email)
        assert user.role.name == credential.role
        assert user.check_password(credential.password)
    reviewers = {q.id: {u.email for u in q.reviewers.all()} for q in Queue.objects.all()}
    assert "moderator@demo.coop" in reviewers["scams"]
    assert "manager@demo.coop" in reviewers["appeals"]
    assert reviewers["child-safety"] == {"childsafety@demo.coop"}
    assert authenticate_api_key(demo.api_key) is not None
    assert demo.public_pems
    assert demo.public_pems[0].startswith("-----BEGIN PUBLIC KEY-----")


def test_restart_resets_passwords_and_replaces_the_key():
    first = setup.set_up(PLATFORM)
    second = setup.set_up(PLATFORM)
    assert second.plan.changes == []
    assert User.objects.filter(email__endswith="@demo.coop").count() == len(setup.DEMO_USERS)
    for old, new in zip(first.credentials, second.credentials, strict=True):
        assert old.password != new.password
        user = User.objects.get(email=new.email)
        assert user.check_password(new.password)
        assert not user.check_password(old.password)
    assert authenticate_api_key(first.api_key) is None
    assert authenticate_api_key(second.api_key) is not None
    assert ApiKey.objects.filter(name=setup.API_KEY_NAME, revoked_at__isnull=True).count() == 1


def test_the_demo_can_file_ncmec_reports_with_its_fake_cybertip(monkeypatch):
    from coop.catalog.credentials import resolve_credential
    from coop.childsafety.settings import ncmec_settings, reporting_enabled

    demo = setup.set_up("http://127.0.0.1:8001")
    monkeypatch.setenv(setup.CYBERTIP_PASSWORD_ENV, demo.cybertip_password)  # as serve does
    block = ncmec_settings()
    assert reporting_enabled(block)
    assert block["defaultQueue"] == "child-safety"
    assert (block["username"], resolve_credential(block["password"])) == (
        setup.CYBERTIP_USERNAME,
        demo.cybertip_password,
    )
    assert block["password"] == {"secret": setup.CYBERTIP_PASSWORD_ENV}
