import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from coop.accounts.models import ApiKey, Role, SigningKey, User
from coop.accounts.services import authenticate_api_key, create_api_key

pytestmark = pytest.mark.django_db


def run(*args, stdin: str | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    extra = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command(*args, stdout=out, stderr=err, **extra)
    return out.getvalue(), err.getvalue()


def test_createuser_prints_a_generated_password():
    out, _ = run("createuser", "--email", "mod@example.com", "--role", "Moderator")
    user = User.objects.get(email="mod@example.com")
    assert user.role.name == "Moderator"
    assert user.check_password(out.strip())


def test_createuser_password_from_stdin_prints_nothing():
    out, err = run(
        "createuser",
        "--email",
        "ana@example.com",
        "--role",
        "Analyst",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert out == ""
    assert "ana@example.com" in err
    assert User.objects.get(email="ana@example.com").check_password("a long enough password")


def test_createadmin():
    run("createadmin", "--email", "root@example.com", "--password-stdin", stdin="admin pw 12345\n")
    assert User.objects.get(email="root@example.com").role.name == "Admin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--role", "Wizard"], "Unknown role"),
        (["--email", "dup@example.com", "--role", "Admin"], "already exists"),
    ],
)
def test_createuser_errors(args, message):
    User.objects.create_user(email="dup@example.com", role=Role.objects.get(name="Admin"))
    with pytest.raises(CommandError, match=message):
        run("createuser", *args)


def test_createuser_empty_stdin_password_is_an_error():
    with pytest.raises(CommandError, match="no password"):
        run("createuser", "--email", "x@x.org", "--role", "Admin", "--password-stdin", stdin="")


def test_apikey_create_prints_only_the_key():
    out, _ = run("apikey", "create", "--name", "backend")
    key = out.strip()
    assert out == key + "\n"
    assert len(key) == 64
    assert authenticate_api_key(key).name == "backend"


def test_apikey_list_is_tab_separated():
    used, _ = create_api_key("used")
    ApiKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    revoked, _ = create_api_key("old\tname")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    out, _ = run("apikey", "list")
    rows = [line.split("\t") for line in out.splitlines()]
    assert [(r[0], r[-1]) for r in rows] == [(str(used.pk), "active"), (str(revoked.pk), "revoked")]
    assert all(len(r) == 5 for r in rows)
    assert rows[0][1] == "used"
    assert rows[0][3] != "never"
    assert rows[1][1:4:2] == ["old name", "never"]


def test_apikey_revoke():
    api_key, key = create_api_key("x")
    run("apikey", "revoke", str(api_key.pk))
    assert authenticate_api_key(key) is None


@pytest.mark.parametrize("key_id", ["not-a-uuid", str(uuid.uuid4())])
def test_apikey_revoke_unknown(key_id):
    with pytest.raises(CommandError, match="No API key"):
        run("apikey", "revoke", key_id)


def test_signingkey_show_and_rotate():
    shown, _ = run("signingkey", "show")
    assert shown.startswith("-----BEGIN PUBLIC KEY-----")
    rotated, err = run("signingkey", "rotate")
    assert rotated != shown
    assert "24 hours" in err
    assert SigningKey.objects.get(retired_at__isnull=True).public_pem.strip() == rotated.strip()
    assert run("signingkey", "show")[0] == rotated
