"""Personal wellness overrides and how they combine with the organisation defaults."""

import pytest
from django.db import IntegrityError, transaction

from coop.accounts.models import ColorScheme, User
from coop.accounts.services import AccountError, create_user, set_wellness_preferences
from coop.accounts.wellness import Wellness, effective_wellness, org_wellness
from coop.config.services import save_object

pytestmark = pytest.mark.django_db

ORG = {"blurLevel": 4, "colorScheme": "SEPIA", "muteVideo": True}


@pytest.fixture
def user() -> User:
    return create_user("reviewer@example.com", "Moderator")[0]


@pytest.fixture
def org_defaults() -> Wellness:
    assert save_object("settings", {"wellness": ORG}).ok
    return Wellness(4, ColorScheme.SEPIA, mute_video=True)


def test_a_new_user_follows_the_organisation_defaults(user, org_defaults):
    assert org_wellness() == org_defaults
    assert effective_wellness(user) == org_defaults


def test_without_saved_settings_the_schema_defaults_apply(user):
    assert effective_wellness(user) == Wellness(0, ColorScheme.NONE, mute_video=False)


def test_personal_values_override_each_default_separately(user, org_defaults):
    set_wellness_preferences(user, blur_level=0, color_scheme=None, mute_video=None)
    assert effective_wellness(user) == Wellness(0, ColorScheme.SEPIA, mute_video=True)
    set_wellness_preferences(
        user, blur_level=None, color_scheme=ColorScheme.GRAYSCALE, mute_video=False
    )
    user.refresh_from_db()
    assert effective_wellness(user) == Wellness(4, ColorScheme.GRAYSCALE, mute_video=False)


def test_use_default_follows_later_changes_of_the_default(user, org_defaults):
    set_wellness_preferences(user, blur_level=2, color_scheme=None, mute_video=None)
    assert save_object("settings", {"wellness": {**ORG, "colorScheme": "GRAYSCALE"}}).ok
    assert effective_wellness(user) == Wellness(2, ColorScheme.GRAYSCALE, mute_video=True)
    set_wellness_preferences(user, blur_level=None, color_scheme=None, mute_video=None)
    user.refresh_from_db()
    assert effective_wellness(user) == org_wellness()


def test_anonymous_and_missing_users_get_the_defaults(org_defaults):
    from django.contrib.auth.models import AnonymousUser

    assert effective_wellness(None) == org_defaults
    assert effective_wellness(AnonymousUser()) == org_defaults


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"blur_level": 7}, "Blur level must be from 0 to 6"),
        ({"blur_level": -1}, "Blur level must be from 0 to 6"),
        ({"color_scheme": "PINK"}, "Colour scheme must be one of NONE, GRAYSCALE, SEPIA"),
    ],
)
def test_out_of_range_preferences_are_refused(user, values, message):
    preferences = {"blur_level": None, "color_scheme": None, "mute_video": None, **values}
    with pytest.raises(AccountError, match=message):
        set_wellness_preferences(user, **preferences)
    user.refresh_from_db()
    assert user.wellness_blur_level is None
    assert user.wellness_color_scheme is None


@pytest.mark.parametrize("values", [{"wellness_blur_level": 9}, {"wellness_color_scheme": "PINK"}])
def test_the_database_refuses_out_of_range_values_too(user, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(**values)
