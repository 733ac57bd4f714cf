"""Helpers of the platform API tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class ApiClient:
    """Django's test client speaking JSON with an API key; `key=None` sends no key."""

    def __init__(self, key: str | None):
        self.client = Client()
        self.key = key

    def _headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.key} if self.key else {}

    def post(self, path: str, body: Any = None, raw: bytes | None = None, **extra):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            path, data=data, content_type="application/json", headers=self._headers(), **extra
        )

    def get(self, path: str, **params):
        return self.client.get(path, params, headers=self._headers())

    def request(self, method: str, path: str):
        return getattr(self.client, method.lower())(path, headers=self._headers())


def post_item(n: int = 1, **data: Any) -> dict:
    return {"id": f"post-{n}", "typeId": "post", "data": {"text": f"hello {n}", **data}}


def error_of(response, index: int = 0) -> dict:
    """The `index`th error of an envelope, after checking the envelope's shape."""
    body = response.json()
    assert response["Content-Type"] == "application/json"
    assert set(body) == {"errors"}
    assert body["errors"][0]["status"] == response.status_code
    assert body["errors"][index]["requestId"] == response["X-Request-Id"]
    return body["errors"][index]
