"""With PostgreSQL unreachable the API answers 503 envelopes, never 202 (quality.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.test import Client

    client = Client()
    answers = {}
    response = client.post(
        "/api/v1/items/async/",
        json.dumps({"items": [{"id": "p", "typeId": "post", "data": {"text": "x"}}]}),
        content_type="application/json",
        headers={"X-API-KEY": "a" * 64},
    )
    answers["items"] = [response.status_code, response.json(), response["X-Request-Id"]]
    response = client.get("/api/v1/health")
    answers["health"] = [response.status_code, response.json(), response["X-Request-Id"]]
    print(json.dumps(answers))
    """
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_down_gives_503(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coop.settings",
        "DATABASE_URL": f"postgresql://coop@127.0.0.1:{closed_port()}/coop",
        "COOP_DATA_DIR": str(tmp_path),
        "COOP_ALLOWED_HOSTS": "testserver",  # the test client's host, outside the test runner
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for status, body, request_id in answers.values():
        assert status == 503
        (error,) = body["errors"]
        assert error["type"] == ["/errors/service-unavailable"]
        assert error["requestId"] == request_id
        assert "Traceback" not in json.dumps(body)
