"""Remote signals are called before the transaction that locks the submissions (rules.md,
signals; quality.md, outgoing calls): the evaluation under the locks replays the answers, makes
the same calls the evaluation would have made, and logs failures as ERRORED with the reason."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from coop.enforcement.models import StrikeRecord
from coop.ingest.models import ItemSubmission
from coop.review.models import Job
from coop.rules.engine import (
    PrefetchIncomplete,
    evaluate_rules,
    prefetch_signals,
    run_rules,
)
from coop.rules.rulebook import current_rulebook, signal_provider
from coop.rules.tasks import evaluate_submissions
from integrations.conftest import configure, leaves, logged
from integrations.fakes import Reply
from integrations.test_google import DARK, routing
from media.server import MediaHost, serve


def rows_locked() -> bool:
    """Whether another transaction holds a row lock on a submission: a connection of its
    own tries to lock them all without waiting."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as other:
        try:
            other.execute("SELECT 1 FROM ingest_itemsubmission FOR UPDATE NOWAIT")
        except psycopg.errors.LockNotAvailable:
            return True
        finally:
            other.rollback()
    return False


def check_locks_while_answering(fake) -> list[bool]:
    """Make `fake` look at the submissions' row locks while it answers each request."""
    seen: list[bool] = []
    answer = fake.answer

    def answering(request):
        seen.append(rows_locked())
        return answer(request)

    fake.answer = answering
    return seen


def openai_and_zentropi(openai, zentropi) -> str:
    return f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"}}
  zentropi:
    apiKey: !secret SECRET_ZENTROPI_KEY
    baseUrl: "{zentropi.base_url}"
    labelerVersions: [{{id: lv-grooming, name: Grooming}}]
rules:
  - id: hate-then-grooming
    name: Hate, then grooming
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
        - {{input: {{field: text}}, signal: ZENTROPI_LABELER, subcategory: lv-grooming,
           comparator: GREATER_THAN, threshold: 0.5}}
  - id: hate-or-grooming
    name: Hate or grooming
    status: BACKGROUND
    itemTypes: [post]
    condition:
      any:
        - {{input: {{field: title}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
        - {{input: {{field: title}}, signal: ZENTROPI_LABELER, subcategory: lv-grooming,
           comparator: GREATER_THAN, threshold: 0.5}}
  - id: no-title
    name: No title
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: title}}, comparator: IS_NOT_PROVIDED}}
"""


def without_durations(node: dict) -> dict:
    return {
        key: [without_durations(c) for c in value] if key == "children" else value
        for key, value in node.items()
        if key != "durationUs"
    }


def submit_many(client, api_key, items: list[dict]) -> list[int]:
    response = client.post(
        "/api/v1/items/async/",
        {"items": items},
        content_type="application/json",
        headers={"X-API-KEY": api_key},
    )
    assert response.status_code == 202, response.content
    return response.json()["submissionIds"]


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_a_classifier_is_called(api, openai):
    configure(f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"}}
rules:
  - id: hate
    name: Hate
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
""")
    openai.scores = {"I hate": {"hate": 0.93}}
    openai.script = [Reply(delay=0.3)]
    seen = check_locks_while_answering(openai)
    sid = api.submit("p1", text="I hate you all")
    assert seen == [False]
    assert logged(sid)["hate"].outcome == "PASSED"
    assert ItemSubmission.objects.get(pk=sid).evaluated_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_lock_check_sees_a_lock_that_is_held(api, openai):
    """The check of the test above is not blind: it sees the lock the evaluation takes."""
    configure("")
    sid = api.submit("p1", text="hello")
    with transaction.atomic():
        ItemSubmission.objects.select_for_update().get(pk=sid)
        assert rows_locked()
    assert not rows_locked()
    openai.expect_no_calls()


@pytest.mark.django_db(transaction=True)
def test_an_http_signal_is_signed_and_called_without_locks(api, http_signal):
    configure(f"""
integrations:
  httpSignals:
    - id: model
      name: Our model
      url: "{http_signal.url}/score"
      output: NUMBER
      headers: {{Authorization: !secret SECRET_MODEL_TOKEN, X-Team: ts}}
rules:
  - id: model
    name: Model
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: HTTP_SIGNAL, subcategory: model,
           comparator: GREATER_THAN, threshold: 0.5}}
""")
    http_signal.score = lambda body: 0.9 if "bad" in body["input"] else 0.1
    seen = check_locks_while_answering(http_signal)
    sid = api.submit("p1", text="bad words")
    assert seen == [False]
    assert logged(sid)["model"].outcome == "PASSED"


def test_the_same_calls_are_made_and_the_results_are_those_of_a_direct_evaluation(
    db, api, openai, zentropi
):
    configure(openai_and_zentropi(openai, zentropi))
    openai.scores = {"I hate": {"hate": 0.93}}
    zentropi.labelers["lv-grooming"] = lambda text: ("1", 0.9) if "meet" in text else (0, 0.9)
    passing = api.submit("p1", text="I hate you, meet me", title="I hate this")
    failing = api.submit("p2", text="Lovely weather", title="calm")
    # Zentropi is asked only where the evaluation reaches it: after hate passed in `all`
    # (p1's text), after hate failed in `any` (p2's title); never for p1's title.
    assert sorted(r.json()["content_text"] for r in zentropi.requests) == [
        "I hate you, meet me",
        "calm",
    ]
    assert logged(passing)["hate-then-grooming"].outcome == "PASSED"
    assert logged(failing)["hate-then-grooming"].outcome == "FAILED"
    assert logged(passing)["hate-or-grooming"].outcome == "PASSED"
    assert logged(failing)["hate-or-grooming"].outcome == "FAILED"
    book, provider = current_rulebook(), signal_provider()
    for sid in (passing, failing):
        submission = ItemSubmission.objects.get(pk=sid)
        direct = {
            o.rule.id: without_durations(o.result.to_dict())
            for o in evaluate_rules(submission, book, provider, timezone.now())
        }
        assert {
            rule: without_durations(execution.result) for rule, execution in logged(sid).items()
        } == direct


def test_the_calls_of_a_batch_are_made_at_once(db, client, api_key, openai):
    configure(f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"}}
rules:
  - id: hate
    name: Hate
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
""")
    openai.script = [Reply(delay=0.4) for _ in range(4)]
    items = [{"id": f"p{i}", "typeId": "post", "data": {"text": f"text {i}"}} for i in range(4)]
    sids = submit_many(client, api_key, items)
    started = time.monotonic()
    evaluate_submissions(submission_ids=sids)
    assert time.monotonic() - started < 1.2  # 4 × 0.4 s one after the other
    assert openai.max_active >= 2
    assert all(logged(sid)["hate"].outcome == "FAILED" for sid in sids)


def test_a_failure_is_errored_with_the_providers_reason(db, api, openai):
    configure(f"""
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{openai.base_url}"}}
rules:
  - id: hate
    name: Hate
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
""")
    openai.script = [Reply(400, {"error": {"message": "bad input"}})]
    sid = api.submit("p1", text="anything")
    execution = logged(sid)["hate"]
    assert execution.outcome == "ERRORED"
    assert "OpenAI answered HTTP 400" in leaves(execution)[0]["error"]


STRIKES_THEN_HATE = """
integrations:
  openai: {{apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "{base}"}}
rules:
  - id: repeat-hater
    name: Repeat hater
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: AUTHOR, signal: USER_STRIKE_VALUE, comparator: GREATER_THAN_OR_EQUALS,
           threshold: 1}}
        - {{input: {{field: text}}, signal: OPEN_AI_HATE_TEXT_MODEL,
           comparator: GREATER_THAN, threshold: 0.8}}
"""


def test_a_call_needed_only_after_the_prefetch_is_made_before_evaluating_again(db, api, openai):
    """The author got a strike between the prefetch (no strike: the classifier was not
    reached) and the evaluation under the locks, which then needs it."""
    configure(STRIKES_THEN_HATE.format(base=openai.base_url))
    openai.scores = {"I hate": {"hate": 0.93}}
    response = api.post(
        "/api/v1/items/async/",
        {
            "items": [
                {
                    "id": "p1",
                    "typeId": "post",
                    "data": {"text": "I hate", "author": {"id": "u1", "typeId": "user"}},
                }
            ]
        },
    )
    (sid,) = response.json()["submissionIds"]
    pending = list(ItemSubmission.objects.filter(pk=sid))
    prefetched = prefetch_signals(pending)
    assert openai.requests == []
    StrikeRecord.objects.create(
        user_id="u1",
        user_type_id="user",
        weight=1,
        policy_id="p",
        expires_at=timezone.now() + timedelta(days=1),
    )
    prefetched.strict = True
    with pytest.raises(PrefetchIncomplete) as incomplete, transaction.atomic():
        run_rules(pending, prefetched=prefetched)
    assert openai.requests == []  # nothing called under the locks
    prefetched.fetch(incomplete.value.missing)
    assert len(openai.requests) == 1
    with transaction.atomic():
        run_rules(pending, prefetched=prefetched)
    assert logged(sid)["repeat-hater"].outcome == "PASSED"


def test_a_call_still_missing_at_the_last_attempt_is_errored_with_why(db, api, openai):
    configure(STRIKES_THEN_HATE.format(base=openai.base_url))
    response = api.post(
        "/api/v1/items/async/",
        {
            "items": [
                {
                    "id": "p1",
                    "typeId": "post",
                    "data": {"text": "I hate", "author": {"id": "u1", "typeId": "user"}},
                }
            ]
        },
    )
    (sid,) = response.json()["submissionIds"]
    pending = list(ItemSubmission.objects.filter(pk=sid))
    prefetched = prefetch_signals(pending)
    StrikeRecord.objects.create(
        user_id="u1",
        user_type_id="user",
        weight=1,
        policy_id="p",
        expires_at=timezone.now() + timedelta(days=1),
    )
    with transaction.atomic():
        run_rules(pending, prefetched=prefetched)
    execution = logged(sid)["repeat-hater"]
    assert execution.outcome == "ERRORED"
    assert "was not fetched before the evaluation" in leaves(execution)[1]["error"]
    openai.expect_no_calls()


@pytest.mark.django_db(transaction=True)
def test_the_routing_of_a_job_a_rule_makes_calls_google_without_locks(api, google):
    with MediaHost() as images:
        images.routes["/dark.png"] = serve(DARK, "image/png")
        configure(
            routing(google)
            + """
rules:
  - id: to-review
    name: Pictures to review
    status: LIVE
    itemTypes: [post]
    actions: [coop.manual-review]
    condition:
      all: [{input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [look]}]
"""
        )
        google.priorities = {DARK: "VERY_HIGH"}
        seen = check_locks_while_answering(google)
        api.submit("p1", text="look", photo=f"{images.url}/dark.png")
    assert seen == [False]  # one call: made after the first attempt was rolled back
    assert Job.objects.get(item_id="p1").queue_id == "urgent"
