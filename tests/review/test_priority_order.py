"""PRIORITY queues (review.md): by a score from signals and report count, ties oldest first;
jobs created through the real report path."""

from __future__ import annotations

import pytest

from coop.core.enums import QueueOrder
from coop.core.items import ItemRef
from coop.review.claims import claim_next
from coop.review.invalidation import invalidate_reporter
from coop.review.models import Job, JobSource
from coop.review.services import enqueue_for_review
from factories import post, queue, report

pytestmark = pytest.mark.django_db


def test_priority_follows_report_count_ties_oldest_first(catalog, people):
    q = queue(order=QueueOrder.PRIORITY, reviewers=[people["mod"]])
    one = report(post("p-1"), q, reporter="r-1", ago=300)  # oldest, one report
    three = report(post("p-2"), q, reporter="r-1", ago=200)
    report(post("p-2"), q, reporter="r-2", ago=100)
    report(post("p-2"), q, reporter="r-3")
    tie = report(post("p-3"), q, reporter="r-9", ago=50)  # one report, newer than `one`
    assert Job.objects.get(pk=three.pk).priority == 3
    assert [claim_next(q, u).pk for u in (people["mod"], people["manager"], people["admin"])] == [
        three.pk,
        one.pk,
        tie.pk,
    ]


def test_the_signal_score_counts_and_the_highest_is_kept(catalog, people):
    q = queue(order=QueueOrder.PRIORITY)
    item = post("p-1")
    job = enqueue_for_review(item, q, JobSource.RULE, [], signal_score=0.9)
    enqueue_for_review(item, q, JobSource.RULE, [], signal_score=0.2)
    report(item, q, reporter="r-1")
    assert Job.objects.get(pk=job.pk).priority == pytest.approx(1.9)


def test_invalidated_reports_lower_the_priority(catalog, people):
    q = queue(order=QueueOrder.PRIORITY)
    report(post("p-1"), q, reporter="troll")
    job = report(post("p-1"), q, reporter="r-2")
    invalidate_reporter(job, people["manager"], ItemRef("troll", "user"), everywhere=False)
    assert Job.objects.get(pk=job.pk).priority == 1
