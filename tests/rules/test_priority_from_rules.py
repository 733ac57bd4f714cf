"""PRIORITY queues order jobs by the score the enqueuing rules' signals gave (review.md), for
jobs created through the real path: submitted items, a LIVE rule, coop.manual-review."""

from __future__ import annotations

import pytest

from coop.review.claims import claim_next
from coop.review.models import Job, Queue
from coop.rules.tasks import evaluate_submissions
from factories import user
from rules.test_engine import apply, submit

pytestmark = pytest.mark.django_db

CONFIG = """
itemTypes:
  - id: post
    name: Post
    kind: CONTENT
    fields: [{name: text, type: STRING}]
queues:
  - {id: triage, name: Triage, order: PRIORITY}
routingRules:
  - id: all-to-triage
    name: Everything to triage
    itemTypes: [post]
    queue: triage
    condition:
      any:
        - {input: {field: text}, comparator: IS_NOT_PROVIDED}
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [win]}
rules:
  - id: looks-like-spam
    name: Looks like spam
    status: LIVE
    itemTypes: [post]
    actions: [{id: coop.manual-review}]
    condition:
      all:
        - input: {field: text}
          signal: TEXT_SIMILARITY_SCORE
          values: ["win a free phone today"]
          comparator: GREATER_THAN
          threshold: 0.3
"""


def test_jobs_from_rules_are_ordered_by_their_signal_score(api):
    apply(CONFIG)
    ids = submit(
        api,
        ("weak", {"text": "win a phone maybe"}),
        ("exact", {"text": "win a free phone today"}),
        ("close", {"text": "win a free phone"}),
    )
    evaluate_submissions(submission_ids=ids)
    jobs = {job.item_id: job for job in Job.objects.filter(queue_id="triage")}
    assert set(jobs) == {"weak", "exact", "close"}
    assert jobs["exact"].priority == pytest.approx(1.0)
    assert jobs["exact"].priority > jobs["close"].priority > jobs["weak"].priority > 0
    queue = Queue.objects.get(pk="triage")
    admins = [user(f"admin{n}@example.com", "Admin") for n in range(3)]  # one claim each
    order = [claim_next(queue, admin).item_id for admin in admins]
    assert order == ["exact", "close", "weak"]
