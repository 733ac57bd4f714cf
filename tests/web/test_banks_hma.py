"""The bank pages with an external HMA: sync state and errors, re-create, exchanges attached
with credentials that are never shown, fetch status, test connection, pending removals."""

from __future__ import annotations

import pytest

from coop.catalog.models import Bank
from coop.config.services import delete_object, save_object
from coop.hma.models import HmaBank
from hma.conftest import closed_port_url, run_jobs, running_fake

A = "a" * 64
TEST_ENV = "https://exttest.cybertip.org/hashsharing"


@pytest.fixture
def hma(settings):
    yield from running_fake(settings)


@pytest.fixture
def analyst(client, make_user):
    client.force_login(make_user("Analyst"))
    return client


@pytest.fixture
def bank(db, hma):
    assert save_object("banks", {"id": "known", "name": "Known", "kind": "HASH", "hashes": [A]}).ok
    return Bank.objects.get(pk="known")


def html(response) -> str:
    return response.content.decode()


def test_the_list_and_the_page_show_the_sync_state(analyst, bank, hma):
    assert "Not synced yet" in html(analyst.get("/banks"))
    run_jobs()
    assert "In sync" in html(analyst.get("/banks"))
    page = html(analyst.get("/banks/known"))
    assert "<code>COOP_KNOWN</code>" in page
    assert "1 of 1" in page
    assert "Retry sync" in page


def test_a_failed_sync_shows_its_error_and_retry_syncs_again(analyst, bank, hma):
    hma.fail(r"^/c/banks$", 400, times=1)
    run_jobs()
    page = html(analyst.get("/banks/known"))
    assert "Sync failed" in page
    assert "HMA POST /c/banks answered 400: scripted failure 400" in page
    assert analyst.post("/banks/known/hma/sync").status_code == 302
    run_jobs()
    assert "In sync" in html(analyst.get("/banks/known"))


def test_a_bank_missing_in_hma_offers_re_create_and_keeps_its_hashes(analyst, bank, hma):
    run_jobs()
    hma.banks.clear()
    hma.contents.clear()
    assert save_object("banks", {"id": "known", "name": "Known", "kind": "HASH", "distance": 9}).ok
    run_jobs()
    page = html(analyst.get("/banks/known"))
    assert "Missing in HMA" in page
    assert "Re-create in HMA" in page
    assert "<strong>1</strong> hash" in page
    analyst.post("/banks/known/hma/sync")
    run_jobs()
    assert hma.bank_signals("COOP_KNOWN") == [A]


def test_an_exchange_is_attached_from_hmas_schema_and_its_password_never_shown(analyst, bank, hma):
    run_jobs()
    choose = html(analyst.get("/banks/known/exchange"))
    assert 'value="ncmec"' in choose
    assert 'value="stop_ncii"' in choose
    form = html(analyst.get("/banks/known/exchange?api=ncmec"))
    assert TEST_ENV in form  # the environment choices come from HMA's schema
    assert 'type="password"' in form
    response = analyst.post(
        "/banks/known/exchange",
        {
            "api": "ncmec",
            "config_environment": TEST_ENV,
            "config_only_esp_ids": "7, 9",
            "credential_user": "esp-user",
            "credential_password": "hunter2-secret",
        },
    )
    assert response.status_code == 302, html(response)
    exchange = Bank.objects.get(pk="known").exchange
    assert exchange["config"] == {"environment": TEST_ENV, "only_esp_ids": [7, 9]}
    assert set(exchange["credentials"]["password"]) == {"encrypted"}
    run_jobs()
    assert hma.credentials["ncmec"] == {"user": "esp-user", "password": "hunter2-secret"}
    hma.fetched("COOP_KNOWN_NCMEC", ["c" * 64])
    analyst.post("/banks/known/exchange/refresh")
    page = html(analyst.get("/banks/known"))
    assert "hunter2-secret" not in page
    assert "esp-user" not in page
    assert "set (encrypted)" in page
    assert "<code>COOP_KNOWN_NCMEC</code>" in page
    assert "Items fetched</dt><dd>1<" in page
    again = html(analyst.get("/banks/known/exchange"))
    assert "hunter2-secret" not in again
    assert "leave blank to keep it" in again
    # Blank credentials keep the stored ones.
    analyst.post(
        "/banks/known/exchange",
        {
            "api": "ncmec",
            "config_environment": TEST_ENV,
            "credential_user": "",
            "credential_password": "",
        },
    )
    assert Bank.objects.get(pk="known").exchange["credentials"] == exchange["credentials"]
    assert analyst.post("/banks/known/exchange/detach").status_code == 302
    run_jobs()
    assert hma.exchanges == {}


def test_a_secret_reference_can_be_typed_instead_of_a_value(analyst, bank, hma):
    analyst.post(
        "/banks/known/exchange",
        {
            "api": "fb_threatexchange",
            "config_privacy_group": "42",
            "credential_api_token": "!secret SECRET_TX_TOKEN",
        },
    )
    exchange = Bank.objects.get(pk="known").exchange
    assert exchange["credentials"] == {"api_token": {"secret": "SECRET_TX_TOKEN"}}
    assert exchange["config"] == {"privacy_group": 42}


def test_a_missing_required_field_is_an_error_by_the_field(analyst, bank, hma):
    response = analyst.post("/banks/known/exchange", {"api": "ncmec", "credential_user": "u"})
    assert response.status_code == 400
    assert "This field is required" in html(response)
    assert Bank.objects.get(pk="known").exchange is None


def test_the_exchange_form_says_when_hma_does_not_answer(analyst, db, settings):
    settings.HMA_SERVICE_URL = closed_port_url()
    assert save_object("banks", {"id": "known", "name": "Known", "kind": "HASH"}).ok
    response = analyst.get("/banks/known/exchange")
    assert response.status_code == 502
    assert "HMA did not answer" in html(response)


def test_test_connection(analyst, bank, hma):
    response = analyst.post("/banks/hma/test", follow=True)
    assert "HMA answered: I-AM-ALIVE" in html(response)
    hma.fail(r"^/status$", 503)
    response = analyst.post("/banks/hma/test", follow=True)
    assert "HMA did not answer as it should: HMA GET /status answered 503" in html(response)


def test_a_deleted_bank_hma_could_not_delete_is_listed_with_retry(analyst, bank, hma):
    run_jobs()
    hma.fail(r"^/c/bank/COOP_KNOWN$", 400, method="DELETE", times=1)
    assert delete_object("banks", "known").ok
    run_jobs()
    page = html(analyst.get("/banks"))
    assert "Deleted banks still in HMA" in page
    assert "answered 400" in page
    (removal,) = HmaBank.objects.all()
    assert analyst.post(f"/banks/hma/removals/{removal.pk}/retry").status_code == 302
    run_jobs()
    assert not HmaBank.objects.exists()
    assert "COOP_KNOWN" not in hma.banks
