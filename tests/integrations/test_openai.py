"""OpenAI moderation signals, end to end: items submitted through the API, evaluated by the
worker's task against the local OpenAI fake."""

from __future__ import annotations

import time

import pytest

from coop.integrations.models import IntegrationStatus
from integrations.conftest import configure, leaves, logged
from integrations.fakes import Reply


def rules(openai, extra: str = "", threshold: float = 0.8) -> str:
    return f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"{extra}}}
rules:
  - id: hate
    name: Hate
    status: BACKGROUND
    itemTypes: [post]
    condition:
      any:
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: {threshold}}}
        - {{input: {{field: text}}, signal: OPEN_AI_VIOLENCE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: {threshold}}}
  - id: self-harm
    name: Self-harm
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: OPEN_AI_SELF_HARM_INTENT_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: {threshold}}}
  - id: pictures
    name: Pictures
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: ANY_IMAGE, signal: OPEN_AI_SEXUAL_IMAGE_MODEL,
           comparator: GREATER_THAN, threshold: {threshold}}}
"""


def test_rules_pass_and_fail_on_the_scores_and_one_call_serves_every_category(db, api, openai):
    configure(rules(openai))
    openai.scores = {"I hate": {"hate": 0.93}}
    hateful = api.submit("p1", text="I hate you all")
    calm = api.submit("p2", text="Lovely weather")
    assert logged(hateful)["hate"].outcome == "PASSED"
    assert logged(hateful)["self-harm"].outcome == "FAILED"
    assert logged(calm)["hate"].outcome == "FAILED"
    # Three categories in two rules, one moderation call per text.
    assert [part["text"] for part in openai.inputs()] == ["I hate you all", "Lovely weather"]
    leaf = leaves(logged(hateful)["hate"])[0]
    assert leaf["score"] == pytest.approx(0.93)
    assert leaf["matchedValue"]["value"] == "I hate you all"


def test_image_categories_send_the_url_for_openai_to_fetch(db, api, openai):
    configure(rules(openai))
    openai.scores = {"/beach.png": {"sexual": 0.95}}
    sid = api.submit("p1", text="hi", photo="https://cdn.example/beach.png")
    assert logged(sid)["pictures"].outcome == "PASSED"
    assert {"type": "image_url", "image_url": {"url": "https://cdn.example/beach.png"}} in (
        openai.inputs()
    )


def test_an_answer_is_reused_from_the_cache_until_its_time_is_up(db, api, openai):
    configure(rules(openai, ", cacheTtlSeconds: 1"))
    api.submit("p1", text="same words")
    api.submit("p2", text="same words")
    assert len(openai.requests) == 1
    time.sleep(1.1)
    api.submit("p3", text="same words")
    assert len(openai.requests) == 2


def test_a_refused_key_is_errored_and_becomes_the_integrations_last_error(
    db, api, openai, monkeypatch, django_capture_on_commit_callbacks
):
    configure(rules(openai))
    monkeypatch.setenv("SECRET_OPENAI_KEY", "sk-wrong")
    with django_capture_on_commit_callbacks(execute=True):
        sid = api.submit("p1", text="anything")
        again = api.submit("p2", text="something else")
    execution = logged(sid)["hate"]
    assert execution.outcome == "ERRORED"
    error = leaves(execution)[0]["error"]
    assert "OpenAI refused the credentials (HTTP 401)" in error
    assert "sk-wrong" not in error
    # Permanent: the second item is not sent while the refusal stands.
    assert len(openai.requests) == 1
    assert logged(again)["hate"].outcome == "ERRORED"
    row = IntegrationStatus.objects.get(key="openai")
    assert row.last_error_permanent
    assert "HTTP 401" in row.last_error
    assert row.failing


def test_429_is_retried_then_answered(db, api, openai):
    configure(rules(openai))
    openai.script = [Reply(429, headers={"Retry-After": "0"}), Reply(503)]
    openai.scores = {"I hate": {"hate": 0.9}}
    sid = api.submit("p1", text="I hate this")
    assert logged(sid)["hate"].outcome == "PASSED"
    assert len(openai.requests) == 3


def test_429_for_ever_is_errored_within_the_evaluation_budget(db, api, openai, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 1500
    configure(rules(openai))
    openai.script = [Reply(429)] * 50
    started = time.monotonic()
    sid = api.submit("p1", text="words")
    elapsed = time.monotonic() - started
    execution = logged(sid)["hate"]
    assert execution.outcome == "ERRORED"
    error = leaves(execution)[0]["error"]
    assert "OpenAI answered HTTP 429" in error
    assert "time budget (1.5 s, COOP_EVALUATION_BUDGET_MS)" in error
    assert len(openai.requests) >= 3
    assert elapsed < 4  # one budget for the item, however many rules ask
    # The other rules of the item were evaluated (and errored for the same reason).
    assert logged(sid)["self-harm"].outcome == "ERRORED"


def test_a_slow_answer_times_out(db, api, openai, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 1000
    configure(rules(openai, ", timeoutMs: 300"))
    openai.script = [Reply(200, delay=2)] * 5
    sid = api.submit("p1", text="words")
    error = leaves(logged(sid)["hate"])[0]["error"]
    assert "OpenAI timed out after 0.3 s" in error


def test_a_malformed_answer_is_errored_with_the_reason(db, api, openai):
    configure(rules(openai))
    openai.script = [Reply(200, body=b"<html>gateway</html>"), Reply(200, body={"results": []})]
    first = api.submit("p1", text="one")
    second = api.submit("p2", text="two")
    assert (
        "OpenAI sent an answer Coop cannot read: not JSON"
        in (leaves(logged(first)["hate"])[0]["error"])
    )
    assert "no results" in leaves(logged(second)["hate"])[0]["error"]


def test_a_500_is_errored_and_other_rules_still_run(db, api, openai, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 800
    configure(
        rules(openai)
        + """
  - id: words
    name: Words
    status: BACKGROUND
    itemTypes: [post]
    condition: {all: [{input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [words]}]}
"""
    )
    openai.script = [Reply(500, body={"error": "boom"})] * 20
    sid = api.submit("p1", text="words")
    assert logged(sid)["hate"].outcome == "ERRORED"
    assert logged(sid)["words"].outcome == "PASSED"
