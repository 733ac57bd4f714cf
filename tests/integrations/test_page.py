"""Settings → Integrations: status, write-only keys, HTTP signals, Test connection."""

from __future__ import annotations

import pytest
from django.test import Client

from coop.catalog.credentials import resolve_credential
from coop.catalog.models import OrgSettings
from factories import user
from integrations.conftest import configure
from integrations.fakes import Reply

PAGE = "/settings/integrations"
HTMX = {"HX-Request": "true"}
OPENAI_RULE = """
rules:
  - id: hate
    name: Hate
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {input: {field: text}, signal: OPEN_AI_HATE_TEXT_MODEL, comparator: GREATER_THAN,
           threshold: 0.5}
"""


@pytest.fixture
def console(db):
    client = Client()
    client.force_login(user("admin@example.com", "Admin"))
    return client


def stored(provider: str) -> dict:
    return OrgSettings.objects.get().data["integrations"][provider]


def provider_form(provider: str, **fields) -> dict:
    defaults = {
        "api_key": "",
        "base_url": "",
        "timeout_ms": 5000,
        "concurrency": 8,
        "cache_ttl": 300,
    }
    return {f"{provider}-{k}": v for k, v in {**defaults, **fields}.items()}


def test_the_page_lists_every_integration_and_is_in_the_settings_navigation(console):
    page = console.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("OpenAI", "Google Content Safety", "Zentropi", "HTTP signals", "Partial items"):
        assert label in html
    assert html.count("Not configured") == 4
    assert 'href="/settings/integrations"' in console.get("/settings/").content.decode()


def test_a_typed_key_is_stored_encrypted_never_shown_and_a_blank_key_keeps_it(console, openai):
    openai.expect_no_calls()
    form = provider_form("openai", api_key="sk-typed-in-console", base_url=openai.base_url)
    response = console.post(f"{PAGE}/openai", form)
    assert response.status_code == 302
    key = stored("openai")["apiKey"]
    assert set(key) == {"encrypted"}
    assert resolve_credential(key) == "sk-typed-in-console"
    html = console.get(PAGE).content.decode()
    assert "sk-typed-in-console" not in html
    assert "Set (encrypted)" in html
    # Blank keeps the key; the other fields change.
    console.post(f"{PAGE}/openai", provider_form("openai", timeout_ms=2000))
    assert stored("openai")["apiKey"] == key
    assert stored("openai")["timeoutMs"] == 2000
    console.post(f"{PAGE}/openai", provider_form("openai", api_key="!secret SECRET_OPENAI_KEY"))
    assert stored("openai")["apiKey"] == {"secret": "SECRET_OPENAI_KEY"}
    assert "From the environment variable SECRET_OPENAI_KEY" in console.get(PAGE).content.decode()


def test_save_errors_are_shown_on_their_fields(console):
    response = console.post(f"{PAGE}/googleContentSafety", provider_form("googleContentSafety"))
    assert response.status_code == 400
    assert "Enter the API key: none is stored yet." in response.content.decode()
    response = console.post(
        f"{PAGE}/zentropi",
        provider_form("zentropi", api_key="z", labeler_versions="lv-1 One\n\nlv-1 Again"),
    )
    assert response.status_code == 400
    assert "Line 3: duplicate id &#x27;lv-1&#x27;" in response.content.decode()
    response = console.post(f"{PAGE}/openai", provider_form("openai", api_key="!secret OPENAI_KEY"))
    assert "secrets must be environment variables named SECRET_…" in response.content.decode()
    assert not OrgSettings.objects.filter(data__has_key="integrations").exists()


def test_test_connection_makes_a_real_call_and_shows_the_answer(console, openai, monkeypatch):
    configure(
        "integrations:\n  openai: {apiKey: !secret SECRET_OPENAI_KEY, "
        f'baseUrl: "{openai.base_url}"}}\n'
    )
    fragment = console.post(f"{PAGE}/openai/test", headers=HTMX)
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "Connected: 13 category scores" in text
    assert "<main" not in text
    assert openai.inputs() == [{"type": "text", "text": "Coop connection test"}]
    monkeypatch.setenv("SECRET_OPENAI_KEY", "sk-wrong")
    page = console.post(f"{PAGE}/openai/test").content.decode()  # without htmx: the page
    assert "Connection failed:" in page
    assert "OpenAI refused the credentials (HTTP 401)" in page
    assert "Failing" in page


def test_a_401_met_by_the_worker_is_shown_as_the_last_error(
    console, api, openai, monkeypatch, django_capture_on_commit_callbacks
):
    configure(
        "integrations:\n  openai: {apiKey: !secret SECRET_OPENAI_KEY, "
        f'baseUrl: "{openai.base_url}"}}\n' + OPENAI_RULE
    )
    monkeypatch.setenv("SECRET_OPENAI_KEY", "sk-revoked")
    with django_capture_on_commit_callbacks(execute=True):
        api.submit("p1", text="hello")
    html = console.get(PAGE).content.decode()
    assert "Failing" in html
    assert "OpenAI refused the credentials (HTTP 401): check its API key or headers" in html
    assert "No calls succeed until this is fixed" in html


def test_google_and_zentropi_connection_tests(console, google, zentropi):
    configure(f"""
integrations:
  googleContentSafety: {{apiKey: !secret SECRET_GOOGLE_KEY, baseUrl: "{google.base_url}"}}
  zentropi: {{apiKey: !secret SECRET_ZENTROPI_KEY, baseUrl: "{zentropi.base_url}"}}
""")
    google.priority = "VERY_LOW"
    text = console.post(f"{PAGE}/googleContentSafety/test", headers=HTMX).content.decode()
    assert "Connected: review priority VERY_LOW for a test image" in text
    text = console.post(f"{PAGE}/zentropi/test", headers=HTMX).content.decode()
    assert "Add a labeler version first" in text
    zentropi.labelers["lv-1"] = lambda text: (1, 0.25)
    form = provider_form("zentropi", base_url=zentropi.base_url, labeler_versions="lv-1 Grooming")
    assert console.post(f"{PAGE}/zentropi", form).status_code == 302
    text = console.post(f"{PAGE}/zentropi/test", headers=HTMX).content.decode()
    assert "Connected: score 0.250 from labeler version lv-1" in text


def test_http_signals_are_added_edited_tested_and_deleted(console, http_signal):
    form = {
        "id": "toxicity",
        "name": "Toxicity model",
        "url": f"{http_signal.url}/score",
        "output": "NUMBER",
        "headers": "Authorization: !secret SECRET_MODEL_TOKEN\nX-Team: ts",
        "timeout_ms": 2000,
        "concurrency": 4,
        "cache_ttl": 0,
    }
    assert console.get(f"{PAGE}/http-signals/new").status_code == 200
    assert console.post(f"{PAGE}/http-signals/new", form).status_code == 302
    signal = OrgSettings.objects.get().data["integrations"]["httpSignals"][0]
    assert signal["headers"] == {"Authorization": {"secret": "SECRET_MODEL_TOKEN"}, "X-Team": "ts"}
    edit = console.get(f"{PAGE}/http-signals/toxicity/edit").content.decode()
    assert "Authorization: !secret SECRET_MODEL_TOKEN" in edit
    http_signal.score = lambda body: 0.42
    text = console.post(f"{PAGE}/http-signals/toxicity/test", headers=HTMX).content.decode()
    assert "Connected: score 0.42" in text
    assert http_signal.requests[0].json()["item"]["id"] == "coop-connection-test"
    changed = {**form, "name": "Toxicity v2", "output": "BOOLEAN"}
    del changed["id"]
    assert console.post(f"{PAGE}/http-signals/toxicity/edit", changed).status_code == 302
    assert "Toxicity v2" in console.get(PAGE).content.decode()
    assert console.post(f"{PAGE}/http-signals/toxicity/delete").status_code == 302
    assert OrgSettings.objects.get().data["integrations"]["httpSignals"] == []
    assert console.get(f"{PAGE}/http-signals/toxicity/edit").status_code == 404


def test_an_integration_a_rule_uses_cannot_be_removed(console, http_signal, openai):
    openai.expect_no_calls()
    http_signal.expect_no_calls()
    configure(
        f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"}}
  httpSignals: [{{id: toxicity, name: Toxicity, url: "{http_signal.url}/score"}}]
rules:
  - id: toxic
    name: Toxic
    itemTypes: [post]
    condition:
      all:
        - {{input: ALL_TEXT, signal: HTTP_SIGNAL, subcategory: toxicity,
           comparator: GREATER_THAN, threshold: 0.5}}
"""
        + OPENAI_RULE.replace("rules:\n", "")
    )
    response = console.post(f"{PAGE}/http-signals/toxicity/delete")
    assert response.status_code == 400
    assert "rules[id=toxic].condition.all[0].signal: signal HTTP_SIGNAL is disabled" in (
        response.content.decode()
    )
    response = console.post(f"{PAGE}/openai/remove")
    assert response.status_code == 400
    assert "OpenAI integration is not configured" in response.content.decode()
    assert stored("openai")


def test_a_failing_http_signal_shows_its_error_in_the_list(console, http_signal, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 600
    configure(f"""
integrations:
  httpSignals: [{{id: toxicity, name: Toxicity, url: "{http_signal.url}/score"}}]
""")
    http_signal.headers = {}  # none configured here
    http_signal.script = [Reply(500, body={"error": "model crashed"})] * 20
    console.post(f"{PAGE}/http-signals/toxicity/test", headers=HTMX)
    html = console.get(PAGE).content.decode()
    assert "HTTP signal Toxicity answered HTTP 500" in html
