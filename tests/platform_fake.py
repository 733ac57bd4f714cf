"""The platform's partial-items endpoint (integrations.fakes.FakePartialItems) configured in
the organisation's settings, for the tests of the features that ask it for item data."""

from __future__ import annotations

from collections.abc import Iterator

from coop.accounts.services import active_signing_key
from coop.config.services import save_object
from integrations.fakes import FakePartialItems

TOKEN = "Bearer platform-token"


def configured_platform(monkeypatch) -> Iterator[FakePartialItems]:
    """A running fake platform set as `settings.partialItems`; at teardown it must have seen
    only well-formed, signed requests, and at least one unless the test said otherwise."""
    monkeypatch.setenv("SECRET_PLATFORM_TOKEN", TOKEN)
    fake = FakePartialItems(active_signing_key().public_pem, {"Authorization": TOKEN})
    with fake:
        settings = {
            "partialItems": {
                "endpoint": f"{fake.url}/items",
                "headers": {"Authorization": {"secret": "SECRET_PLATFORM_TOKEN"}},
            }
        }
        assert save_object("settings", settings).ok
        yield fake
    fake.check()
