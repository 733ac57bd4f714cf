"""The HMA client against the fake HMA (and, for a huge answer, a plain local server): paths,
bodies, HMA's error messages, timeouts, size cap."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coop.hma.client import MAX_ANSWER_BYTES, HmaClient, HmaError, HmaNotFound
from hma.conftest import closed_port_url

A = "a" * 64


@pytest.fixture
def hma_client(hma):
    found = HmaClient(hma.url, call_timeout=2)
    yield found
    found.close()


def test_banks_signals_and_lookups_as_hma_spells_them(hma, hma_client):
    assert hma_client.status() == "I-AM-ALIVE"
    assert hma_client.create_bank("COOP_X", enabled=False) == {
        "name": "COOP_X",
        "matching_enabled_ratio": 0.0,
    }
    content_id = hma_client.add_signal("COOP_X", "pdq", A)
    assert hma_client.get_content("COOP_X", content_id)["signals"] == {"pdq": A}
    hma_client.update_bank("COOP_X", enabled=True)
    assert hma_client.lookup("pdq", A) == {
        "COOP_X": [{"bank_content_id": content_id, "distance": "0"}]
    }
    assert hma_client.list_banks() == [{"name": "COOP_X", "matching_enabled_ratio": 1.0}]
    hma_client.delete_content("COOP_X", content_id)
    assert hma_client.lookup("pdq", A) == {}
    assert hma_client.exchange_apis() == ["fb_threatexchange", "ncmec", "stop_ncii", "sample"]
    schema = hma_client.exchange_api_schema("fb_threatexchange")
    assert [f["name"] for f in schema["config_schema"]["fields"]] == ["privacy_group"]
    assert hma_client.exchange_api("sample") == {
        "supports_authentification": False,
        "has_set_authentification": False,
    }


def test_hma_errors_carry_its_message_and_status(hma, hma_client):
    with pytest.raises(HmaNotFound, match="answered 404: bank 'NOPE' not found") as missing:
        hma_client.get_bank("NOPE")
    assert missing.value.status == 404
    with pytest.raises(HmaError, match="answered 400: Bank names must be UPPER_WITH_UNDERSCORE"):
        hma_client.create_bank("lower")
    hma_client.create_bank("COOP_X")
    with pytest.raises(HmaError, match="answered 403: Bank already exists") as exists:
        hma_client.create_bank("COOP_X")
    assert exists.value.status == 403


def test_every_call_has_a_timeout(hma):
    hma.stall(1.0)
    slow = HmaClient(hma.url, call_timeout=0.2, lookup_timeout=0.1)
    with pytest.raises(HmaError, match=r"HMA GET /m/lookup: no answer within 0.1 s") as late:
        slow.lookup("pdq", A)
    assert late.value.status is None
    with pytest.raises(HmaError, match=r"HMA POST /c/banks: no answer within 0.2 s"):
        slow.create_bank("COOP_Y")


def test_hma_down_is_an_error_without_status(db):
    down = HmaClient(closed_port_url())
    with pytest.raises(HmaError, match="HMA GET /status: ConnectError") as failed:
        down.status()
    assert failed.value.status is None


def test_an_answer_over_the_cap_is_refused():
    class Huge(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(MAX_ANSWER_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(HmaError, match="the answer is larger than"):
            HmaClient(f"http://127.0.0.1:{server.server_address[1]}").lookup("pdq", A)
    finally:
        server.shutdown()
        server.server_close()


def test_the_service_url_must_be_http():
    with pytest.raises(HmaError, match="must be an http"):
        HmaClient("hma:5000")
