"""NCMEC settings (config.md `ncmec`, review.md NCMEC): the file block and Settings → NCMEC go
through one validator; the password is a credential, write-only in the console and never in
clear in exports; reporting is enabled only once username, password, company report name and
legal URL are set; only users with VIEW_CHILD_SAFETY_DATA review the NCMEC queue."""

from __future__ import annotations

import json

import pytest

from coop.catalog.credentials import resolve_credential
from coop.catalog.models import ConfigChange, OrgSettings
from coop.childsafety.settings import (
    DEFAULTS,
    missing_for_reporting,
    ncmec_settings,
    reporting_enabled,
)
from coop.config.services import save_object
from factories import queue, user

pytestmark = pytest.mark.django_db

FORM = {
    "company_report_name": "Example Inc.",
    "legal_url": "https://example.com/legal",
    "contact_email": "Safety@Example.com",
    "more_info_url": "https://example.com/safety",
    "terms_of_service": "No CSAM.",
    "username": "reporter",
    "password": "hunter2-cybertip",
    "contact_first_name": "Sam",
    "contact_last_name": "Doe",
    "contact_person_email": "sam@example.com",
    "contact_phone": "+1 555 0100",
    "default_queue": "ncmec",
    "media_review_mode": "MINIMUM",
    "media_review_count": "2",
    "internet_detail_type": "CHAT_IM",
    "additional_info_endpoint": "https://platform.example/info",
    "preservation_endpoint": "https://platform.example/preserve",
}


@pytest.fixture
def admin(client, catalog, people):
    queue("ncmec", [people["cs"]], name="NCMEC review")
    client.force_login(people["admin"])
    return people["admin"]


def post(client, **changes):
    data = {**FORM, **changes}
    return client.post("/settings/ncmec", {k: v for k, v in data.items() if v is not None})


def test_the_reader_fills_defaults_and_reporting_needs_four_settings(db):
    assert ncmec_settings() == DEFAULTS
    assert not reporting_enabled()
    assert missing_for_reporting() == [
        "the CyberTip username",
        "the CyberTip password",
        "the company report name",
        "the legal URL",
    ]
    block = {"username": "u", "companyReportName": "C", "legalUrl": "https://c.example/legal"}
    assert save_object("ncmec", block).ok
    assert missing_for_reporting() == ["the CyberTip password"]
    assert save_object("ncmec", {**block, "password": {"secret": "SECRET_NCMEC_PW"}}).ok
    assert missing_for_reporting() == [
        "the CyberTip password (environment variable SECRET_NCMEC_PW is not set)"
    ]


def test_reporting_is_enabled_once_the_password_can_be_read(db, monkeypatch):
    block = {
        "username": "u",
        "companyReportName": "C",
        "legalUrl": "https://c.example/legal",
        "password": {"secret": "SECRET_NCMEC_PW"},
    }
    assert save_object("ncmec", block).ok
    monkeypatch.setenv("SECRET_NCMEC_PW", "pw")
    assert reporting_enabled()


def test_the_page_saves_every_field_and_stores_the_password_encrypted(client, admin):
    page = client.get("/settings/ncmec").content.decode()
    assert "Reporting is not enabled" in page
    assert "Stored password: <strong>not set</strong>" in page
    response = post(client)
    assert response.status_code == 302
    settings = ncmec_settings()
    assert settings == {
        "companyReportName": "Example Inc.",
        "legalUrl": "https://example.com/legal",
        "contactEmail": "safety@example.com",
        "defaultQueue": "ncmec",
        "username": "reporter",
        "password": settings["password"],
        "moreInfoUrl": "https://example.com/safety",
        "termsOfService": "No CSAM.",
        "contactPerson": {
            "firstName": "Sam",
            "lastName": "Doe",
            "email": "sam@example.com",
            "phone": "+1 555 0100",
        },
        "defaultInternetDetailType": "CHAT_IM",
        "mediaReview": {"mode": "MINIMUM", "count": 2},
        "additionalInfoEndpoint": "https://platform.example/info",
        "preservationEndpoint": "https://platform.example/preserve",
    }
    assert set(settings["password"]) == {"encrypted"}
    assert resolve_credential(settings["password"]) == "hunter2-cybertip"
    assert "hunter2" not in json.dumps(OrgSettings.load().data)
    assert "hunter2" not in json.dumps(list(ConfigChange.objects.values_list("data", flat=True)))
    assert ConfigChange.objects.filter(kind="ncmec", changed_by=admin).exists()
    page = client.get("/settings/ncmec").content.decode()
    assert "Reporting is enabled" in page
    assert "test</strong> environment" in page
    assert "set (encrypted)" in page
    assert "hunter2" not in page  # write-only


def test_a_blank_password_keeps_it_a_variable_replaces_it_and_remove_clears_it(client, admin):
    post(client)
    stored = ncmec_settings()["password"]
    assert post(client, password="", username="other").status_code == 302
    assert ncmec_settings()["password"] == stored
    assert ncmec_settings()["username"] == "other"
    assert post(client, password="", password_variable="SECRET_NCMEC_PW").status_code == 302
    assert ncmec_settings()["password"] == {"secret": "SECRET_NCMEC_PW"}
    page = client.get("/settings/ncmec").content.decode()
    assert "from the environment variable SECRET_NCMEC_PW" in page
    assert "environment variable SECRET_NCMEC_PW is not set" in page
    assert post(client, password="", clear_password="on").status_code == 302
    assert ncmec_settings()["password"] is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"legal_url": "not a url"}, "legal_url", "must be an http(s) URL"),
        ({"terms_of_service": "t" * 3001}, "terms_of_service", "at most 3000 characters"),
        ({"media_review_count": ""}, "media_review_count", "is required with mode MINIMUM"),
        ({"media_review_count": "0"}, "media_review_count", "must be at least 1"),
        ({"contact_person_email": "nobody"}, "contact_person_email", "must be an email"),
        (
            {"password": "", "password_variable": "NCMEC_PASSWORD"},
            "password_variable",
            "secrets must be environment variables named SECRET_",
        ),
        ({"password_variable": "SECRET_X"}, None, "one of them"),
    ],
)
def test_bad_values_are_refused_at_their_field_and_nothing_is_saved(
    client, admin, changes, field, message
):
    before = (OrgSettings.load().data, ConfigChange.objects.count())
    response = post(client, **changes)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field or "__all__"]), errors
    assert (OrgSettings.load().data, ConfigChange.objects.count()) == before


def test_the_ncmec_queue_refuses_reviewers_without_the_permission(client, admin, people):
    user("late@example.com", "Moderator")
    q = queue("other", name="Other")
    q.reviewers.add(people["mod"])
    response = post(client, default_queue="other")
    assert response.status_code == 400
    (error,) = response.context["form"].errors["default_queue"]
    assert "only users with the VIEW_CHILD_SAFETY_DATA permission" in error
    assert "mod@example.com" in error
    # The queue form refuses them too, once it is the NCMEC queue.
    assert post(client).status_code == 302
    client.force_login(people["manager"])
    response = client.post(
        "/queues/ncmec/edit",
        {
            "name": "NCMEC review",
            "order": "FIFO",
            "reviewers": ["cs@example.com", "late@example.com"],
        },
    )
    assert response.status_code == 400
    (error,) = response.context["form"].errors["reviewers"]
    assert "late@example.com does not have it" in error


# The configuration file -------------------------------------------------------------------

FILE = """
queues:
  - {id: default, name: Default, default: true}
  - {id: appeals, name: Appeals, appeals: true, default: true}
  - {id: ncmec, name: NCMEC, reviewers: [cs@example.com]}
ncmec:
  companyReportName: Example Inc.
  legalUrl: https://example.com/legal
  defaultQueue: ncmec
  username: reporter
  password: !secret SECRET_NCMEC_PASSWORD
  contactPerson: {firstName: Sam}
  mediaReview: {mode: ALL}
"""


def test_export_then_apply_is_a_no_op_and_the_password_never_in_clear(run_config, people, client):
    assert run_config("apply", text=FILE)[0] == 0
    code, exported, _ = run_config("export")
    assert code == 0
    assert "password: !secret SECRET_NCMEC_PASSWORD" in exported
    assert "contactPerson: {firstName: Sam}" in exported
    assert "mediaReview" not in exported  # the default is left out
    assert (
        run_config("apply", text=exported)[1]
        .strip()
        .splitlines()[-1]
        .startswith("Plan: 0 to create, 0 to change, 0 to delete")
    )
    # A password typed in the console: exported as its encrypted token only.
    client.force_login(people["admin"])
    form = {**FORM, "password": "typed-secret", "media_review_mode": "ALL"}
    del form["media_review_count"]
    assert client.post("/settings/ncmec", form).status_code == 302
    _, exported, _ = run_config("export")
    assert "typed-secret" not in exported
    assert "  password:\n    encrypted: gAAAA" in exported
    plan = run_config("apply", text=exported)[1].strip().splitlines()[-1]
    assert plan.startswith("Plan: 0 to create, 0 to change, 0 to delete")
    assert resolve_credential(ncmec_settings()["password"]) == "typed-secret"


@pytest.mark.parametrize(
    ("block", "line"),
    [
        ("{mediaReview: {mode: ALL, count: 2}}", "ncmec.mediaReview.count: only mode MINIMUM"),
        ("{mediaReview: {mode: MINIMUM}}", "ncmec.mediaReview.count: is required with mode"),
        ("{mediaReview: {mode: SOME}}", "ncmec.mediaReview.mode: must be one of ALL, MINIMUM"),
        ("{defaultInternetDetailType: FAX}", "ncmec.defaultInternetDetailType: must be one of"),
        ("{password: hunter2}", "ncmec.password: must be !secret NAME"),
        ("{password: !secret NCMEC_PASSWORD}", "ncmec.password: !secret: secrets must be"),
        ("{termsOfService: " + "t" * 3001 + "}", "ncmec.termsOfService: must be at most 3000"),
        ("{additionalInfoEndpoint: ftp://x}", "ncmec.additionalInfoEndpoint: must be an http(s)"),
        ("{contactPerson: {email: nobody}}", "ncmec.contactPerson.email: must be an email"),
        ("{colour: blue}", "ncmec.colour: unknown key"),
        ("{defaultQueue: default}", "ncmec.defaultQueue: queue 'default' is the default queue"),
        ("{defaultQueue: appeals}", "ncmec.defaultQueue: queue 'appeals' is an appeals queue"),
        ("{defaultQueue: nowhere}", "ncmec.defaultQueue: unknown queue 'nowhere'"),
    ],
)
def test_the_file_is_checked_with_paths(run_config, people, block, line):
    text = FILE.split("ncmec:\n")[0] + f"ncmec: {block}\n"
    code, _, err = run_config("apply", text=text)
    assert code == 1
    assert any(e.startswith(line) for e in err.splitlines()), err


def test_the_file_refuses_ncmec_reviewers_without_the_permission(run_config, people):
    text = FILE.replace(
        "reviewers: [cs@example.com]", "reviewers: [cs@example.com, mod@example.com]"
    )
    code, _, err = run_config("apply", text=text)
    assert code == 1
    assert (
        "queues[2].reviewers[1]: only users with the VIEW_CHILD_SAFETY_DATA permission may "
        "review the NCMEC queue; mod@example.com does not have it"
    ) in err.splitlines()
