import pytest

from coop.accounts.models import User
from factories import user


@pytest.fixture
def make_user(db):
    """A signed-in-able user with the named role (no password: tests use force_login)."""
    counter = iter(range(10_000))

    def make(role: str = "Admin", **fields) -> User:
        email = fields.pop("email", f"user{next(counter)}@example.com")
        return user(email, role, **fields)

    return make


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("Admin"))
    return client
