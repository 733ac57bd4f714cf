"""HMA exchanges (NCMEC, StopNCII, ThreatExchange) attached to a Coop HASH bank: created in HMA
with their config, credentials sent per exchange API and never shown, fetch status read."""

from __future__ import annotations

import pytest

from coop.catalog.credentials import encrypt_credential
from coop.config import apply_document, export_yaml, parse_text
from coop.config.services import save_object
from coop.hma.models import HmaBank
from hma.conftest import run_jobs

TEST_ENV = "https://exttest.cybertip.org/hashsharing"
NCMEC = {
    "api": "ncmec",
    "config": {"environment": TEST_ENV, "only_esp_ids": [7]},
    "credentials": {
        "user": {"secret": "SECRET_NCMEC_USER"},
        "password": {"secret": "SECRET_NCMEC_PW"},
    },
}


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("SECRET_NCMEC_USER", "esp-user")
    monkeypatch.setenv("SECRET_NCMEC_PW", "esp-password")


def save(exchange, bank_id="known", name="Known images") -> None:
    result = save_object(
        "banks", {"id": bank_id, "name": name, "kind": "HASH", "exchange": exchange}
    )
    assert result.ok, result.errors


def test_an_attached_exchange_is_created_with_its_config_and_credentials(db, hma):
    save(NCMEC)
    run_jobs()
    (credentials,) = hma.calls("POST", "/c/exchanges/api/ncmec")
    assert credentials.body == {"credential_json": {"user": "esp-user", "password": "esp-password"}}
    (create,) = hma.calls("POST", "/c/exchanges")
    assert create.body == {
        "bank": "COOP_KNOWN_IMAGES_NCMEC",
        "api": "ncmec",
        "api_json": {"environment": TEST_ENV, "only_esp_ids": [7]},
    }
    assert set(hma.banks) == {"COOP_KNOWN_IMAGES", "COOP_KNOWN_IMAGES_NCMEC"}
    state = HmaBank.objects.get()
    assert (state.exchange_name, state.exchange_exists) == ("COOP_KNOWN_IMAGES_NCMEC", True)
    assert state.exchange_status["fetched_items"] == 0


def test_fetch_status_is_read_by_the_sweep(db, hma):
    from coop.hma.tasks import sweep

    save(NCMEC)
    run_jobs()
    hma.fetched("COOP_KNOWN_IMAGES_NCMEC", ["c" * 64, "d" * 64])
    sweep(timestamp=0)
    state = HmaBank.objects.get()
    assert state.exchange_status["fetched_items"] == 2
    assert state.exchange_status["up_to_date"] is True
    assert state.exchange_status["last_fetch_succeeded"] is True
    assert state.exchange_status_at is not None


def test_a_changed_config_replaces_the_exchange_and_detaching_deletes_it(db, hma):
    save(NCMEC)
    run_jobs()
    save(NCMEC | {"config": {"environment": TEST_ENV, "only_esp_ids": [8]}})
    run_jobs()
    assert hma.calls("DELETE", "/c/exchange/COOP_KNOWN_IMAGES_NCMEC")
    assert hma.exchanges["COOP_KNOWN_IMAGES_NCMEC"].config["only_esp_ids"] == [8]
    save(None)
    run_jobs()
    assert hma.exchanges == {}
    assert set(hma.banks) == {"COOP_KNOWN_IMAGES"}
    assert HmaBank.objects.get().exchange_name == ""


def test_an_exchange_hma_lost_is_missing_and_is_not_recreated_by_itself(db, hma):
    from coop.hma.tasks import retry, sweep

    save(NCMEC)
    run_jobs()
    del hma.exchanges["COOP_KNOWN_IMAGES_NCMEC"]  # deleted in HMA, with the bank it filled
    del hma.banks["COOP_KNOWN_IMAGES_NCMEC"]
    sweep(timestamp=0)
    state = HmaBank.objects.get()
    assert state.exchange_missing
    assert "no such exchange" in state.exchange_error
    retry(state.bank)
    run_jobs()
    assert "COOP_KNOWN_IMAGES_NCMEC" in hma.exchanges
    assert not HmaBank.objects.get().exchange_missing


def test_a_refused_config_is_shown_on_the_bank(db, hma):
    save({"api": "fb_threatexchange", "config": {}, "credentials": {}})
    run_jobs()
    state = HmaBank.objects.get()
    assert state.status == "ERROR"
    assert "answered 400: Failed to parse `api_json` - missing field 'privacy_group'" in state.error


def test_a_credential_whose_variable_is_unset_is_an_error_without_a_call(db, hma, monkeypatch):
    monkeypatch.delenv("SECRET_NCMEC_PW")
    save(NCMEC)
    run_jobs()
    state = HmaBank.objects.get()
    assert state.error == "exchange credentials: environment variable SECRET_NCMEC_PW is not set"
    assert not hma.calls("POST", "/c/exchanges")


def test_credentials_are_never_exported_in_clear(db, hma):
    typed = encrypt_credential("typed-in-console")
    save(NCMEC | {"credentials": {"user": {"secret": "SECRET_NCMEC_USER"}, "password": typed}})
    run_jobs()
    assert hma.credentials["ncmec"]["password"] == "typed-in-console"
    text = export_yaml()
    assert "typed-in-console" not in text
    assert "esp-user" not in text
    assert "!secret SECRET_NCMEC_USER" in text
    # Export then apply is a no-op: the token is exported as stored, and read back the same.
    document, errors = parse_text(text)
    assert not errors
    assert apply_document(document, dry_run=True).changes == []


def test_two_banks_with_one_api_must_share_its_credentials(db, hma):
    save(NCMEC)
    other = NCMEC | {
        "credentials": {
            "user": {"secret": "SECRET_OTHER"},
            "password": {"secret": "SECRET_NCMEC_PW"},
        }
    }
    result = save_object(
        "banks", {"id": "second", "name": "Second", "kind": "HASH", "exchange": other}
    )
    assert [e.path for e in result.errors] == ["exchange.credentials"]
    assert "one set of credentials per exchange API (ncmec)" in result.errors[0].message
    # The same values typed in twice are the same credentials, whatever their tokens.
    typed = {"user": encrypt_credential("u"), "password": encrypt_credential("p")}
    save(NCMEC | {"credentials": typed})
    again = {"user": encrypt_credential("u"), "password": encrypt_credential("p")}
    assert save_object(
        "banks",
        {
            "id": "second",
            "name": "Second",
            "kind": "HASH",
            "exchange": NCMEC | {"credentials": again},
        },
    ).ok
    run_jobs()


def test_a_bad_exchange_in_the_file_is_an_error_with_its_path(db):
    result = save_object(
        "banks",
        {
            "id": "k",
            "name": "K",
            "kind": "HASH",
            "exchange": {"api": "NCMEC!", "credentials": {"user": "clear"}},
        },
    )
    assert sorted(e.path for e in result.errors) == ["exchange.api", "exchange.credentials.user"]
