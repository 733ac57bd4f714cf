"""`coop serve --demo` as an operator runs it: real processes, real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from coop.bench.harness import free_port

pytestmark = pytest.mark.slow

CREDENTIAL = re.compile(r"^\s+(\S+@demo\.coop)\s+(\S+)\s+\((.+)\)$")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "demo.md"


def documented_demo_users() -> dict[str, str]:
    """The demo users and their roles, as docs/demo.md's table lists them."""
    rows = re.findall(r"^\s*\| `(\S+@demo\.coop)` \| ([^|]+?) \|", DOCS.read_text(), re.M)
    return dict(rows)


def _read_until(stream, marker: str, limit: int = 40) -> list[str]:
    lines = []
    for _ in range(limit):
        line = stream.readline()
        assert line, f"serve exited before printing {marker!r}: {lines}"
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed: {lines}")


def _eventually(check, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _sign_in(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    page = client.get("/login")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"csrfmiddlewaretoken": token, "email": email, "password": password},
        headers={"Referer": f"{base}/login"},
    )
    assert response.status_code == 200
    assert "/login" not in str(response.url), "the printed admin password did not sign in"
    return client


def test_serve_demo_runs_everything_and_stops_cleanly(tmp_path):
    port, platform_port = free_port(), free_port()
    # As an operator runs it: no test-only settings (the suite allows calls to 127.0.0.1).
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COOP_FETCH_ALLOW_PRIVATE")
    }
    env["COOP_DATA_DIR"] = str(tmp_path)
    serve = subprocess.Popen(
        [sys.executable, "-m", "coop", "serve", "--demo", "--port", str(port),
         "--demo-platform-port", str(platform_port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    children = []
    try:
        lines = _read_until(serve.stdout, "Coop is running at")
        credentials = {
            m.group(1): (m.group(2), m.group(3))
            for m in (CREDENTIAL.match(line) for line in lines)
            if m
        }
        assert {email: role for email, (_, role) in credentials.items()} == documented_demo_users()
        platform_url = f"http://127.0.0.1:{platform_port}/"
        assert any(platform_url in line for line in lines)
        base = f"http://127.0.0.1:{port}"
        assert any(f"{base}/" in line for line in lines)

        health = _eventually(lambda: httpx.get(f"{base}/api/v1/health", timeout=2), what="web")
        assert health.json() == {"status": "ok"}
        children = psutil.Process(serve.pid).children(recursive=True)
        assert len(children) >= 5  # web, worker, fake platform, fake CyberTip, feeder
        cybertip = f"http://127.0.0.1:{platform_port + 1}/ispws"
        assert any(cybertip in line for line in lines)
        # The fake CyberTip answers, and only with the demo's credentials (Basic auth).
        assert _eventually(lambda: httpx.post(f"{cybertip}/submit", timeout=2)).status_code == 401

        # Items arrive through the API (the feeder) and are stored.
        def items_stored():
            out = subprocess.run(
                [sys.executable, "-m", "coop", "shell", "-c",
                 "from coop.ingest.models import ItemSubmission as I; print(I.objects.count())"],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            return out.returncode == 0 and int(out.stdout.strip().splitlines()[-1] or 0) > 0

        _eventually(items_stored, what="items in the database")

        # The printed admin password signs in to the console.
        console = _sign_in(base, "admin@demo.coop", credentials["admin@demo.coop"][0])
        console.close()

        # The LIVE scam rule deletes scam posts: the fake platform shows signed webhooks.
        page = _eventually(
            lambda: (
                (r := httpx.get(platform_url, timeout=5)).status_code == 200
                and "&#10003;</span>" in r.text
                and r
            ),
            timeout=120,
            what="a verified webhook on the fake platform",
        )
        assert "Demo platform" in page.text
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=90) == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
