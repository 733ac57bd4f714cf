"""Settings derived from the environment: each case imports coop.settings in a fresh interpreter
with only the variables given, and reads back what it computed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn

SRC = Path(__file__).resolve().parents[1] / "src"
NAMES = [
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "COOP_TRUSTED_PROXIES",
    "AXES_FAILURE_LIMIT",
    "AXES_LOCKOUT_PARAMETERS",
]
SCRIPT = f"""
import json
from coop import settings
print(json.dumps({{name: getattr(settings, name, None) for name in {NAMES!r}}}))
"""


def load(tmp_path, **variables) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(SRC),
        # Never connected to: importing the settings only parses it.
        "DATABASE_URL": "postgresql://coop@127.0.0.1:1/coop",
        "COOP_DATA_DIR": str(tmp_path / "data"),
        "COOP_SECRET_KEY": "a-secret-key-for-these-tests-only",
        **variables,
    }
    environment = {name: value for name, value in environment.items() if value is not None}
    # cwd: a directory without a .env file, which the settings would read.
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(tmp_path, **variables) -> dict:
    result = load(tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


PRODUCTION = {"COOP_ENV": "production", "COOP_BASE_URL": "https://coop.example.com"}


def test_development_defaults(tmp_path):
    values = settings_with(tmp_path)
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8000"]
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["COOP_TRUSTED_PROXIES"] == ["127.0.0.1"]


def test_production_hosts_come_from_the_base_url_and_the_extra_list(tmp_path):
    values = settings_with(tmp_path, **PRODUCTION, COOP_ALLOWED_HOSTS="coop.internal, 10.0.0.8 ,")
    assert values["ALLOWED_HOSTS"] == ["coop.example.com", "coop.internal", "10.0.0.8"]
    assert "*" not in values["ALLOWED_HOSTS"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://coop.example.com"]


def test_production_without_extra_hosts_answers_only_its_own_name(tmp_path):
    values = settings_with(tmp_path, **PRODUCTION)
    assert values["ALLOWED_HOSTS"] == ["coop.example.com"]


def test_base_url_with_port_and_path(tmp_path):
    values = settings_with(
        tmp_path, COOP_ENV="production", COOP_BASE_URL="https://Moderation.Example.com:8443/coop/"
    )
    assert values["ALLOWED_HOSTS"] == ["moderation.example.com"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://Moderation.Example.com:8443"]


def test_ipv6_base_url(tmp_path):
    values = settings_with(tmp_path, COOP_BASE_URL="http://[2001:db8::1]:8000")
    assert values["ALLOWED_HOSTS"][0] == "[2001:db8::1]"


def test_production_turns_on_secure_cookies_and_hsts(tmp_path):
    values = settings_with(tmp_path, **PRODUCTION)
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    # HTTPS detection behind a proxy is the server's, from trusted peers only (see below).
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_an_https_base_url_makes_cookies_secure_in_development_too(tmp_path):
    values = settings_with(tmp_path, COOP_BASE_URL="https://coop.example.com")
    assert values["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_an_http_base_url(tmp_path):
    result = load(tmp_path, COOP_ENV="production", COOP_BASE_URL="http://coop.example.com")
    assert result.returncode != 0
    assert "COOP_BASE_URL must be an https:// URL when COOP_ENV=production" in result.stderr


def test_production_refuses_a_missing_secret_key(tmp_path):
    result = load(tmp_path, **PRODUCTION, COOP_SECRET_KEY=None)
    assert result.returncode != 0
    assert "COOP_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("url", ["coop.example.com", "ftp://coop.example.com", "https://"])
def test_a_malformed_base_url_is_refused(tmp_path, url):
    result = load(tmp_path, COOP_BASE_URL=url)
    assert result.returncode != 0
    assert "COOP_BASE_URL must be an http:// or https:// URL" in result.stderr


def test_trusted_proxies_list(tmp_path):
    values = settings_with(tmp_path, COOP_TRUSTED_PROXIES="10.0.0.5, 172.16.0.0/12")
    assert values["COOP_TRUSTED_PROXIES"] == ["10.0.0.5", "172.16.0.0/12"]
    assert settings_with(tmp_path, COOP_TRUSTED_PROXIES="")["COOP_TRUSTED_PROXIES"] == []


def test_login_failure_limit(tmp_path):
    values = settings_with(tmp_path, COOP_LOGIN_FAILURE_LIMIT="8")
    assert values["AXES_FAILURE_LIMIT"] == 8
    assert values["AXES_LOCKOUT_PARAMETERS"] == ["username", "ip_address"]


# --- Behind a TLS proxy on another host: what `coop web` serves -------------------------------


def test_coop_web_hands_the_trusted_proxies_to_the_server(monkeypatch, settings):
    from django.core.management import call_command

    from coop.management.commands import web

    settings.COOP_TRUSTED_PROXIES = ["10.0.0.5"]
    calls = []
    monkeypatch.setattr(web.uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    call_command("web")
    assert calls[0]["forwarded_allow_ips"] == ["10.0.0.5"]
    assert calls[0].get("proxy_headers", True)  # uvicorn's default: on


def serve_once(trusted: list[str], peer: str, headers: dict[str, str]) -> tuple[int, dict]:
    """GET /login through the application as `coop web` loads it (uvicorn's config, with the
    trusted proxies), from `peer`; answers the status and the response headers."""
    config = uvicorn.Config(
        "coop.asgi:application",
        lifespan="off",
        log_config=None,
        forwarded_allow_ips=trusted,
        proxy_headers=True,
    )
    config.load()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/login",
        "raw_path": b"/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"coop.example.com")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": (peer, 40000),
        "server": ("10.0.0.2", 8000),
    }
    sent = []
    bodies = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if bodies:
            return bodies.pop()
        await asyncio.Future()  # the client stays connected; Django cancels this when done

    async def send(message):
        sent.append(message)

    # In a thread of its own: another test's event loop may be running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, config.loaded_app(scope, receive, send)).result()
    start = next(message for message in sent if message["type"] == "http.response.start")
    return start["status"], {
        name.decode().lower(): value.decode() for name, value in start["headers"]
    }


@pytest.fixture
def production_like(settings, db):
    settings.ALLOWED_HOSTS = ["coop.example.com"]
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True


def test_https_from_a_trusted_proxy_is_detected(production_like):
    status, headers = serve_once(["10.0.0.5"], "10.0.0.5", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert "secure" in headers["set-cookie"].lower()  # the CSRF cookie


def test_forwarded_headers_from_anyone_else_are_ignored(production_like):
    status, headers = serve_once(["10.0.0.5"], "198.51.100.9", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert "strict-transport-security" not in headers


def test_a_proxy_network_can_be_trusted(production_like):
    _, headers = serve_once(["10.0.0.0/8"], "10.20.30.40", {"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in headers


def test_an_unknown_host_is_refused(production_like, settings):
    settings.ALLOWED_HOSTS = ["other.example.com"]
    status, _ = serve_once(["10.0.0.5"], "10.0.0.5", {"X-Forwarded-Proto": "https"})
    assert status == 400
