import pytest

from coop.accounts.models import User
from coop.accounts.services import AccountError, create_user


@pytest.mark.django_db
def test_create_user_with_role_and_generated_password():
    user, password = create_user("Someone@Example.com", "Child Safety Moderator")
    assert user.email == "someone@example.com"
    assert user.role.name == "Child Safety Moderator"
    assert user.check_password(password)
    assert user.has_permission("VIEW_CHILD_SAFETY_DATA")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "role", "password", "message"),
    [
        ("a@example.com", "Wizard", None, "Unknown role 'Wizard'"),
        ("not-an-email", "Admin", None, "not a valid email"),
        ("a@example.com", "Admin", "short", "too short"),
    ],
)
def test_create_user_refuses(email, role, password, message):
    with pytest.raises(AccountError, match=message):
        create_user(email, role, password)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_duplicate_email_is_refused_case_insensitively():
    create_user("a@example.com", "Admin")
    with pytest.raises(AccountError, match="already exists"):
        create_user("A@example.com", "Moderator")
