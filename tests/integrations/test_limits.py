"""The per-integration concurrency limit, across worker threads of one process."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from coop.integrations import calls, providers
from coop.integrations.config import integrations_config
from coop.rules.tasks import evaluate_submissions
from integrations.conftest import configure, leaves, logged

RULE = """
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


def stored(api, count: int) -> list[int]:
    body = {
        "items": [
            {"id": f"p{i}", "typeId": "post", "data": {"text": f"text {i}"}} for i in range(count)
        ]
    }
    response = api.post("/api/v1/items/async/", body)
    assert response.status_code == 202
    return response.json()["submissionIds"]


def evaluate_in_threads(ids: list[int]) -> list[threading.Thread]:
    def work(sid: int) -> None:
        try:
            evaluate_submissions(submission_ids=[sid])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(sid,)) for sid in ids]
    for thread in threads:
        thread.start()
    return threads


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_at_most_the_configured_number_of_calls_are_in_flight(api, openai):
    configure(
        f"integrations:\n  openai: {{apiKey: !secret SECRET_OPENAI_KEY, "
        f'baseUrl: "{openai.base_url}", concurrency: 2}}\n' + RULE
    )
    ids = stored(api, 6)
    openai.hold = threading.Event()
    threads = evaluate_in_threads(ids)
    wait_for(lambda: openai.active == 2)
    time.sleep(0.3)  # the other four wait for a free slot
    assert openai.active == 2
    assert len(openai.requests) == 2
    openai.hold.set()
    for thread in threads:
        thread.join(20)
    assert openai.max_active == 2
    assert len(openai.requests) == 6
    assert {logged(sid)["hate"].outcome for sid in ids} == {"FAILED"}


@pytest.mark.django_db(transaction=True)
def test_waiting_for_a_slot_counts_against_the_evaluation_budget(api, openai, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 600
    configure(
        f"integrations:\n  openai: {{apiKey: !secret SECRET_OPENAI_KEY, "
        f'baseUrl: "{openai.base_url}", concurrency: 1, timeoutMs: 60000}}\n' + RULE
    )
    (sid,) = stored(api, 1)
    openai.hold = threading.Event()
    provider = integrations_config().provider("openai")

    def hold_the_slot() -> None:  # a call with a long budget of its own
        try:
            with calls.evaluation_scope(budget=30):
                providers.openai_scores(provider, {"type": "text", "text": "first"})
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    wait_for(lambda: openai.active == 1)
    started = time.monotonic()
    evaluate_submissions(submission_ids=[sid])
    assert time.monotonic() - started < 3
    openai.hold.set()
    holder.join(10)
    error = leaves(logged(sid)["hate"])[0]["error"]
    assert "OpenAI: 1 calls already in flight (its concurrency limit)" in error
    assert "time budget (0.6 s" in error
    assert len(openai.requests) == 1
