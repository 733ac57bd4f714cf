import pytest

from coop.accounts.models import Role, User


@pytest.fixture
def make_user(db):
    """A signed-in-able user with the named role (no password: tests use force_login)."""
    counter = iter(range(10_000))

    def make(role: str = "Admin", **fields) -> User:
        email = fields.pop("email", f"user{next(counter)}@example.com")
        return User.objects.create_user(email=email, role=Role.objects.get(name=role), **fields)

    return make


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("Admin"))
    return client
