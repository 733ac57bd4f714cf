"""enqueue_for_review: create or merge the pending job of an item in a queue."""

from __future__ import annotations

import pytest
from django.utils import timezone

from coop.ingest.models import ItemSubmission
from coop.review.models import Job, JobKind, JobSource, JobStatus, Report
from coop.review.services import default_appeals_queue, default_queue, enqueue_for_review


def submission(item_id: str = "post-1") -> ItemSubmission:
    return ItemSubmission.objects.create(
        item_id=item_id, item_type_id="post", item_type_version=1, data={}, source="API"
    )


def report_for(item: ItemSubmission) -> Report:
    return Report(
        reporter_type_id="user",
        reporter_id="u",
        reported_at=timezone.now(),
        item_id=item.item_id,
        item_type_id=item.item_type_id,
        submission=item,
    )


@pytest.mark.django_db
def test_rule_hits_merge_without_counting_reports():
    first, second = submission(), submission()
    job = enqueue_for_review(first, default_queue(), JobSource.RULE, ["spam"])
    merged = enqueue_for_review(second, default_queue(), JobSource.REPORT, ["scam", "spam"])
    assert merged.pk == job.pk
    assert merged.created_at == job.created_at
    assert merged.source == JobSource.RULE
    assert merged.report_count == 0
    assert merged.policy_ids == ["spam", "scam"]
    assert merged.submission == second


@pytest.mark.django_db
def test_reports_are_attached_and_counted():
    item = submission()
    report = report_for(item)
    job = enqueue_for_review(item, default_queue(), JobSource.REPORT, [], report=report)
    enqueue_for_review(item, default_queue(), JobSource.REPORT, [], report=report_for(item))
    job.refresh_from_db()
    assert job.report_count == 2
    assert Report.objects.get(pk=report.pk).job == job


@pytest.mark.django_db
def test_queues_and_items_are_separate_and_decided_jobs_do_not_merge():
    item = submission()
    job = enqueue_for_review(item, default_queue(), JobSource.RULE, [])
    appeal_job = enqueue_for_review(item, default_appeals_queue(), JobSource.APPEAL, [])
    other_item = enqueue_for_review(submission("post-2"), default_queue(), JobSource.RULE, [])
    assert len({job.pk, appeal_job.pk, other_item.pk}) == 3
    assert (job.kind, appeal_job.kind) == (JobKind.DEFAULT, JobKind.APPEAL)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DECIDED)
    assert enqueue_for_review(item, default_queue(), JobSource.RULE, []).pk != job.pk
