"""/account (personal wellness preferences) and /settings/wellness (organisation defaults)."""

import re

import pytest

from coop.accounts.models import ColorScheme, User
from coop.accounts.wellness import Wellness
from coop.catalog.models import ConfigChange
from coop.catalog.org_settings import org_settings
from coop.config.schema import ConfigError
from coop.config.services import save_object
from coop.web.wellness_forms import OrgWellnessForm, PersonalWellnessForm

ACCOUNT = "/account"
ORG_PAGE = "/settings/wellness"
DEFAULTS = Wellness(2, ColorScheme.GRAYSCALE, mute_video=True)


@pytest.fixture
def org_defaults(db) -> Wellness:
    assert save_object("settings", {"wellness": DEFAULTS.as_config()}).ok
    return DEFAULTS


# --- Forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cleaned"),
    [
        (
            {"blur_level": "", "color_scheme": "", "mute_video": ""},
            {"blur_level": None, "color_scheme": None, "mute_video": None},
        ),
        (
            {"blur_level": "6", "color_scheme": "SEPIA", "mute_video": "off"},
            {"blur_level": 6, "color_scheme": ColorScheme.SEPIA, "mute_video": False},
        ),
        (
            {"blur_level": "0", "color_scheme": "NONE", "mute_video": "on"},
            {"blur_level": 0, "color_scheme": ColorScheme.NONE, "mute_video": True},
        ),
    ],
)
def test_personal_form_accepts_levels_schemes_and_use_default(data, cleaned):
    form = PersonalWellnessForm(data, defaults=DEFAULTS)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == cleaned


def test_personal_form_refuses_bad_input_with_field_errors():
    data = {"blur_level": "7", "color_scheme": "PINK", "mute_video": "maybe"}
    form = PersonalWellnessForm(data, defaults=DEFAULTS)
    assert not form.is_valid()
    assert set(form.errors) == {"blur_level", "color_scheme", "mute_video"}
    assert "Select a valid choice" in form.errors["blur_level"][0]


def test_personal_form_names_the_defaults_it_would_use():
    form = PersonalWellnessForm(defaults=DEFAULTS)
    assert form.fields["blur_level"].choices[0] == ("", "Organisation default (2)")
    assert form.fields["color_scheme"].choices[0] == ("", "Organisation default (Grayscale)")
    assert form.fields["mute_video"].choices[0] == ("", "Organisation default (Muted)")


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"blur_level": "", "color_scheme": "NONE"}, {"blur_level"}),
        ({"blur_level": "-1", "color_scheme": "NONE"}, {"blur_level"}),
        ({"blur_level": "2.5", "color_scheme": "sepia"}, {"blur_level", "color_scheme"}),
        ({"blur_level": "3"}, {"color_scheme"}),
    ],
)
def test_org_form_requires_a_level_and_a_scheme(data, fields):
    form = OrgWellnessForm(data)
    assert not form.is_valid()
    assert set(form.errors) == fields


def test_org_form_shows_save_errors_on_their_field():
    form = OrgWellnessForm({"blur_level": "3", "color_scheme": "NONE"})
    assert form.is_valid()
    form.add_save_errors(
        [
            ConfigError("wellness.blurLevel", "must be from 0 to 6"),
            ConfigError("strikes.ttlDays", "must be at least 1"),
        ]
    )
    assert form.errors["blur_level"] == ["wellness.blurLevel: must be from 0 to 6"]
    assert form.non_field_errors() == ["strikes.ttlDays: must be at least 1"]


# --- /account ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Admin", "Moderator", "External Moderator"])
def test_every_signed_in_user_has_an_account_page(client, make_user, org_defaults, role):
    user = make_user(role, email="person@example.com")
    client.force_login(user)
    html = client.get(ACCOUNT).content.decode()
    assert "person@example.com" in html
    assert f"<dd>{role}</dd>" in html
    assert 'href="/account" aria-current="page"' in html  # the navigation entry
    assert "Organisation default (Grayscale)" in html
    assert "Blur 2 of 6 · Grayscale · videos muted" in html
    assert 'data-default-blur="2" data-default-scheme="GRAYSCALE" data-default-mute="on"' in html
    # The preview uses the shipped samples through the same tag as the console.
    assert "wellness--image wellness-blur-2 wellness-scheme-grayscale" in html
    assert 'src="http://testserver/static/coop/wellness-sample.svg"' in html
    assert 'src="http://testserver/static/coop/wellness-sample.webm"' in html


def test_saving_personal_preferences(client, make_user, org_defaults):
    user = make_user("Moderator")
    client.force_login(user)
    data = {"blur_level": "5", "color_scheme": "", "mute_video": "off"}
    response = client.post(ACCOUNT, data)
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    user.refresh_from_db()
    assert (user.wellness_blur_level, user.wellness_color_scheme, user.wellness_mute_video) == (
        5,
        None,
        False,
    )
    html = client.get(ACCOUNT).content.decode()
    assert "Your wellness preferences are saved." in html
    assert '<option value="5" selected>5</option>' in html
    assert "Blur 5 of 6 · Grayscale · videos with sound" in html


def test_bad_personal_input_is_refused_with_field_errors(client, make_user, org_defaults):
    user = make_user("Moderator")
    client.force_login(user)
    data = {"blur_level": "99", "color_scheme": "<b>PINK</b>", "mute_video": ""}
    response = client.post(ACCOUNT, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="field field--invalid"') == 2
    assert "Select a valid choice. 99 is not one of the available choices." in html
    assert "<b>PINK</b>" not in html
    assert User.objects.get(pk=user.pk).wellness_blur_level is None


# --- /settings/wellness --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Moderator", "Analyst", "External Moderator"])
def test_org_defaults_need_manage_org(client, make_user, org_defaults, role):
    client.force_login(make_user(role))
    assert client.get(ORG_PAGE).status_code == 403
    data = {"blur_level": "0", "color_scheme": "NONE"}
    assert client.post(ORG_PAGE, data).status_code == 403
    assert org_settings()["wellness"] == DEFAULTS.as_config()


def test_admin_sees_the_page_in_settings(admin_client, org_defaults):
    assert 'href="/settings/wellness"' in admin_client.get("/settings/").content.decode()
    html = admin_client.get(ORG_PAGE).content.decode()
    assert '<option value="2" selected>2</option>' in html
    assert '<option value="GRAYSCALE" selected>Grayscale</option>' in html
    assert 'name="mute_video" id="id_mute_video" checked' in html
    assert "wellness--image wellness-blur-2 wellness-scheme-grayscale" in html


def test_saving_org_defaults_goes_through_save_object(admin_client, org_defaults):
    thresholds = [{"score": 3, "actions": []}]
    other = {"strikes": {"ttlDays": 30, "thresholds": thresholds}, "appeals": {"enabled": True}}
    assert save_object("settings", {**other, "wellness": DEFAULTS.as_config()}).ok
    before = org_settings()
    changes = ConfigChange.objects.filter(kind="settings").count()

    response = admin_client.post(ORG_PAGE, {"blur_level": "6", "color_scheme": "SEPIA"})
    assert response.status_code == 302
    settings = org_settings()
    assert settings["wellness"] == {"blurLevel": 6, "colorScheme": "SEPIA", "muteVideo": False}
    assert {k: v for k, v in settings.items() if k != "wellness"} == {
        k: v for k, v in before.items() if k != "wellness"
    }
    change = ConfigChange.objects.filter(kind="settings").first()
    assert ConfigChange.objects.filter(kind="settings").count() == changes + 1
    assert change.source == "console"
    assert change.changed_by.email.startswith("user")
    assert change.data["wellness"]["blurLevel"] == 6
    assert "wellness defaults are saved" in admin_client.get(ORG_PAGE).content.decode()


def test_bad_org_input_is_refused_and_nothing_is_saved(admin_client, org_defaults):
    changes = ConfigChange.objects.count()
    response = admin_client.post(ORG_PAGE, {"blur_level": "7", "color_scheme": "PINK"})
    assert response.status_code == 200
    assert response.content.decode().count('class="field field--invalid"') == 2
    assert ConfigChange.objects.count() == changes
    assert org_settings()["wellness"] == DEFAULTS.as_config()


def test_pages_have_no_inline_script_or_style(admin_client, org_defaults):
    for path in (ACCOUNT, ORG_PAGE):
        html = admin_client.get(path).content.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert re.search(r"\son[a-z]+=", html) is None, path
        assert '<script src="/static/coop/wellness.js" defer></script>' in html
