"""The demo's hash-bank story holds: the known image matches its bank, the photos do not, and
the fake platform serves them to the worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest

from coop.config.yamlio import load_yaml
from coop.demo import platform, setup
from coop.demo.feeder import KNOWN_IMAGES, PHOTOS, Generator
from coop.signals.hashing import hash_image


def _bank() -> dict:
    config = load_yaml(setup.demo_yaml("http://127.0.0.1:8001"))
    return next(bank for bank in config["banks"] if bank["kind"] == "HASH")


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_known_images_match_the_demo_bank_and_photos_do_not():
    bank = _bank()
    media = platform.demo_media()
    for name in KNOWN_IMAGES:
        digest = hash_image(media[name]).hash
        assert min(_distance(digest, h) for h in bank["hashes"]) <= bank["distance"], name
    for name in PHOTOS:
        digest = hash_image(media[name]).hash
        assert min(_distance(digest, h) for h in bank["hashes"]) > 2 * bank["distance"], name


def test_some_sample_posts_carry_the_known_image():
    generator = Generator(7, start=datetime(2025, 1, 1, tzinfo=UTC), media_url="http://x/media/")
    images = [url for item in generator.initial_items() for url in item["data"].get("images", [])]
    assert any(url.endswith(tuple(KNOWN_IMAGES)) for url in images)
    assert any(url.endswith(tuple(PHOTOS)) for url in images)
    assert all(url.startswith("http://x/media/") for url in images)


@pytest.fixture
def server():
    server = platform.make_server("127.0.0.1", 0, [])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_platform_serves_the_images_and_nothing_else(server):
    response = httpx.get(f"{server}/media/demo-known.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == platform.demo_media()["demo-known.png"]
    assert httpx.get(f"{server}/media/../platform.py").status_code == 404
    assert httpx.get(f"{server}/media/demo.yaml").status_code == 404
