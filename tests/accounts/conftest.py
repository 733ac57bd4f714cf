import pytest

from coop.accounts.models import User
from factories import user
from smtp_server import SmtpServer


@pytest.fixture
def make_user(db):
    """A user with the named role (no password: tests use force_login)."""
    counter = iter(range(10_000))

    def make(role: str = "Admin", **fields) -> User:
        email = fields.pop("email", f"user{next(counter)}@example.com")
        return user(email, role, **fields)

    return make


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1 that COOP_EMAIL_URL points at."""
    with SmtpServer() as server:
        settings.COOP_EMAIL_URL = server.url
        yield server


@pytest.fixture
def no_email(settings):
    settings.COOP_EMAIL_URL = ""


@pytest.fixture
def admin(make_user):
    return make_user("Admin", email="admin@example.com", name="Ada Admin")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client
