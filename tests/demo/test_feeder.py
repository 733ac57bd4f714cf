"""The demo feeder's sample data is valid for the demo configuration, request by request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from coop.demo import setup
from coop.demo.feeder import Generator

pytestmark = pytest.mark.django_db

EXPECTED_STATUS = {"/api/v1/items/async/": 202, "/api/v1/report": 201, "/api/v1/report/appeal": 204}
START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def demo_key():
    return setup.set_up("http://127.0.0.1:8001").api_key


def _send(client, key: str, path: str, body: dict):
    return client.post(
        path, data=json.dumps(body), content_type="application/json", headers={"X-API-KEY": key}
    )


def test_generator_is_deterministic():
    def first(seed):
        return list(Generator(seed, start=START).initial_requests())

    assert first(7) == first(7)
    assert first(7) != first(8)


def test_initial_data_mixes_everything():
    generator = Generator(7, start=START)
    items = generator.initial_items()
    assert 250 <= len(items) <= 400
    types = {item["typeId"] for item in items}
    assert types == {"user", "thread", "post", "message"}
    texts = [item["data"].get("text") or item["data"].get("body") or "" for item in items]
    assert any("bit.ly" in text or "tinyurl" in text for text in texts)
    assert any("location" in item["data"] for item in items)
    assert any("replyTo" in item["data"] for item in items)
    assert generator.flagged


def test_every_request_is_accepted_by_the_api(client, demo_key):
    generator = Generator(7, start=START)
    requests = list(generator.initial_requests())
    for tick in range(14):
        requests += generator.tick_requests(tick)
    paths = {path for path, _ in requests}
    assert paths == set(EXPECTED_STATUS)
    threaded = [body for path, body in requests if "reportedItemThread" in body]
    assert threaded, "some reports carry their thread"
    for path, body in requests:
        response = _send(client, demo_key, path, body)
        assert response.status_code == EXPECTED_STATUS[path], (path, response.content[:500])
