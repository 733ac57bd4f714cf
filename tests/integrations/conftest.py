"""Fixtures of the integration tests: the fakes, a catalog, and the worker path."""

from __future__ import annotations

import inspect

import pytest

from coop.config import apply_document, parse_text
from coop.integrations import calls
from coop.rules.models import RuleExecution
from coop.rules.tasks import evaluate_submissions
from integrations.fakes import (
    FakeGoogle,
    FakeHttpSignal,
    FakeOpenAI,
    FakePartialItems,
    FakeZentropi,
)

CATALOG = """
itemTypes:
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {name: text, type: STRING}
      - {name: title, type: STRING}
      - {name: photo, type: IMAGE}
      - {name: author, type: RELATED_ITEM}
    roles: {creatorId: author}
  - id: user
    name: User
    kind: USER
    fields: [{name: name, type: STRING}]
"""


@pytest.fixture(autouse=True)
def _fresh_calls():
    """No answer, refusal or recorded status carries over from one test to the next."""
    calls.reset()
    yield
    calls.reset()


def _fake(request, fake):
    """Yield a started fake; at teardown it must have been called (if the test asked for it
    by name) and have seen only well-formed requests."""
    with fake:
        yield fake
    if request.fixturename not in inspect.signature(request.node.function).parameters:
        fake.calls_expected = bool(fake.requests)
    fake.check()


@pytest.fixture
def openai(request, monkeypatch):
    fake = FakeOpenAI()
    monkeypatch.setenv("SECRET_OPENAI_KEY", fake.key)
    yield from _fake(request, fake)


@pytest.fixture
def google(request, monkeypatch):
    fake = FakeGoogle()
    monkeypatch.setenv("SECRET_GOOGLE_KEY", fake.key)
    yield from _fake(request, fake)


@pytest.fixture
def zentropi(request, monkeypatch):
    fake = FakeZentropi()
    monkeypatch.setenv("SECRET_ZENTROPI_KEY", fake.key)
    yield from _fake(request, fake)


@pytest.fixture
def public_pem(db):
    from coop.accounts.services import active_signing_key

    return active_signing_key().public_pem


@pytest.fixture
def http_signal(request, public_pem, monkeypatch):
    monkeypatch.setenv("SECRET_MODEL_TOKEN", "Bearer model-token")
    fake = FakeHttpSignal(public_pem, {"Authorization": "Bearer model-token", "X-Team": "ts"})
    yield from _fake(request, fake)


@pytest.fixture
def partial_items(request, public_pem, monkeypatch):
    monkeypatch.setenv("SECRET_PLATFORM_TOKEN", "Bearer platform-token")
    fake = FakePartialItems(public_pem, {"Authorization": "Bearer platform-token"})
    yield from _fake(request, fake)


def configure(text: str) -> None:
    """Apply a configuration file (the catalog is prepended); it must be valid."""
    document, errors = parse_text(CATALOG + text)
    assert not errors, errors
    plan = apply_document(document)
    assert not plan.errors, [str(e) for e in plan.errors]


def plan_errors(text: str) -> list[str]:
    document, errors = parse_text(CATALOG + text)
    if errors:
        return [str(e) for e in errors]
    return [str(e) for e in apply_document(document, dry_run=True).errors]


@pytest.fixture
def api(client, api_key):
    class Api:
        def submit(self, item_id: str, type_id: str = "post", **data) -> int:
            """Submit one item through the API and run the worker's evaluation task."""
            body = {"items": [{"id": item_id, "typeId": type_id, "data": data}]}
            response = client.post(
                "/api/v1/items/async/",
                body,
                content_type="application/json",
                headers={"X-API-KEY": api_key},
            )
            assert response.status_code == 202, response.content
            (sid,) = response.json()["submissionIds"]
            evaluate_submissions(submission_ids=[sid])
            return sid

        def post(self, path: str, body: dict):
            return client.post(
                path, body, content_type="application/json", headers={"X-API-KEY": api_key}
            )

    return Api()


def logged(sid: int) -> dict[str, RuleExecution]:
    return {e.rule_id: e for e in RuleExecution.objects.filter(submission_id=sid)}


def leaves(execution: RuleExecution) -> list[dict]:
    """The leaves of a logged condition, in order."""
    found: list[dict] = []

    def walk(node: dict) -> None:
        if "children" in node:
            for child in node["children"]:
                walk(child)
        elif "op" not in node:
            found.append(node)

    walk(execution.result)
    return found
