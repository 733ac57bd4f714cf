"""Claiming: queue orders, leases, reloads, per-reviewer skips, access, listings, auto-close."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from coop.config.services import save_object
from coop.review import claims, queues, visibility
from coop.review.claims import claim_next
from coop.review.models import Decision, Job, JobKind, JobStatus, QueueOrder, Skip
from coop.review.queues import queues_for, star
from coop.review.skips import skip
from coop.review.visibility import may_work_queue as can_work
from factories import post, queue, report, rule_job

pytestmark = pytest.mark.django_db


def jobs_in(q, n, **kw):
    return [rule_job(post(f"p-{i}", **kw), q) for i in range(n)]


def test_fifo_takes_the_oldest_first(catalog, people):
    q = queue(reviewers=[people["mod"]])
    jobs = jobs_in(q, 3)
    Job.objects.filter(pk=jobs[2].pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert claim_next(q, people["mod"]).pk == jobs[2].pk
    assert claim_next(q, people["mod2"]).pk == jobs[0].pk


def test_most_reports_then_oldest(catalog, people):
    q = queue(order=QueueOrder.MOST_REPORTS)
    a, b, c = post("a"), post("b"), post("c")
    ja = report(a, q)
    jb = report(b, q)
    report(b, q, reporter="r-2")
    report(b, q, reporter="r-3")
    jc = report(c, q)
    report(c, q, reporter="r-2")
    order = [claim_next(q, u).pk for u in (people["mod"], people["mod2"], people["manager"])]
    assert order == [jb.pk, jc.pk, ja.pk]


def test_priority_then_oldest(catalog, people):
    q = queue(order=QueueOrder.PRIORITY)
    low, high, high_newer = jobs_in(q, 3)
    Job.objects.filter(pk__in=[high.pk, high_newer.pk]).update(priority=5)
    Job.objects.filter(pk=high_newer.pk).update(created_at=timezone.now() + timedelta(seconds=1))
    order = [claim_next(q, u).pk for u in (people["mod"], people["mod2"], people["manager"])]
    assert order == [high.pk, high_newer.pk, low.pk]


def test_claim_takes_an_exclusive_lease(catalog, people):
    q = queue()
    (job,) = jobs_in(q, 1)
    claimed = claim_next(q, people["mod"])
    assert claimed.pk == job.pk
    assert claimed.lease_owner == people["mod"]
    assert claimed.lease_expires_at > timezone.now() + timedelta(seconds=590)
    assert claim_next(q, people["mod2"]) is None


def test_the_lease_length_is_the_organisation_setting(catalog, people):
    """settings.review.leaseSeconds, read by the claim statement itself (still one statement,
    tests/review/test_hot_paths.py), for new claims and renewals alike."""
    assert save_object("settings", {"review": {"leaseSeconds": 120}}).ok
    q = queue()
    jobs_in(q, 1)
    start = timezone.now()
    claimed = claim_next(q, people["mod"])
    assert start + timedelta(seconds=115) < claimed.lease_expires_at
    assert claimed.lease_expires_at < timezone.now() + timedelta(seconds=125)
    assert save_object("settings", {"review": {"leaseSeconds": 3600}}).ok
    renewed = claim_next(q, people["mod"])
    assert renewed.pk == claimed.pk
    assert renewed.lease_expires_at > timezone.now() + timedelta(seconds=3500)


def test_reload_keeps_the_job_and_renews_the_lease(catalog, people):
    q = queue()
    jobs_in(q, 3)
    first = claim_next(q, people["mod"])
    Job.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    again = claim_next(q, people["mod"])
    assert again.pk == first.pk
    assert again.lease_expires_at > timezone.now() + timedelta(seconds=500)
    assert Job.objects.filter(lease_owner=people["mod"]).count() == 1


def test_an_expired_lease_returns_the_job_unchanged(catalog, people):
    q = queue()
    job, second = jobs_in(q, 2)
    assert claim_next(q, people["mod"]).pk == job.pk
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    taken = claim_next(q, people["mod2"])
    assert taken.pk == job.pk  # back in its position, ahead of the newer job
    assert (taken.created_at, taken.status) == (job.created_at, JobStatus.PENDING)
    assert taken.lease_owner == people["mod2"]
    # The first reviewer lost it: their reload gives them the next job.
    assert claim_next(q, people["mod"]).pk == second.pk


def test_release_gives_the_job_back(catalog, people):
    q = queue()
    (job,) = jobs_in(q, 1)
    claimed = claim_next(q, people["mod"])
    claims.release(claimed, people["mod2"])  # not theirs: nothing happens
    assert claim_next(q, people["mod2"]) is None
    claims.release(claimed, people["mod"])
    assert claim_next(q, people["mod2"]).pk == job.pk


def test_skipped_jobs_go_to_others_not_back_to_the_skipper(catalog, people):
    q = queue()
    first, second, third = jobs_in(q, 3)
    mod, mod2 = people["mod"], people["mod2"]
    skip(claim_next(q, mod), mod)
    row = Skip.objects.get()
    assert (row.job_id, row.user, row.queue_id) == (first.pk, mod, "q")
    assert claim_next(q, mod).pk == second.pk  # not the skipped one
    assert claim_next(q, mod2).pk == first.pk  # others get it in its position
    skip(Job.objects.get(pk=second.pk), mod)
    assert claim_next(q, mod).pk == third.pk


def test_skipped_jobs_come_back_when_nothing_else_is_left(catalog, people):
    q = queue()
    first, _second = jobs_in(q, 2)
    mod = people["mod"]
    skip(claim_next(q, mod), mod)
    skip(claim_next(q, mod), mod)
    assert claim_next(q, mod).pk == first.pk  # skipped longest ago first
    assert Job.objects.get(pk=first.pk).lease_owner == mod


def test_pending_count_oldest_and_preview(catalog, people):
    q = queue()
    jobs = jobs_in(q, 60)
    claim_next(q, people["mod"])
    assert claims.pending_count(q) == 60
    assert claims.oldest_pending_at(q) == jobs[0].created_at
    previewed = queues.preview(q)
    assert [j.pk for j in previewed] == [j.pk for j in jobs[:50]]
    assert Job.objects.exclude(lease_owner=None).count() == 1  # preview claims nothing
    assert claims.oldest_pending_at(queue("empty")) is None


def test_who_may_work_a_queue(catalog, people):
    q = queue(reviewers=[people["mod"], people["external"], people["analyst"]])
    other = queue("other")
    assert can_work(people["mod"], q)
    assert not can_work(people["mod"], other)
    assert can_work(people["external"], q)  # VIEW_MRT and listed
    assert not can_work(people["analyst"], q)  # listed but without VIEW_MRT
    assert can_work(people["manager"], other)  # EDIT_MRT_QUEUES: every queue
    people["mod"].is_active = False
    assert not can_work(people["mod"], q)


def test_ncmec_queue_and_jobs_need_child_safety_permission(catalog, people):
    ncmec = queue("ncmec", reviewers=[people["cs"]])
    result = save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "ncmec"})
    assert result.ok, result.errors
    # Saving refuses such reviewers; one left over (e.g. from a role changed since) still
    # cannot work the queue.
    ncmec.reviewers.add(people["mod"])
    assert not can_work(people["mod"], ncmec)
    assert can_work(people["cs"], ncmec)
    assert [s.queue.pk for s in queues_for(people["mod"])] == []
    # An NCMEC job in an ordinary queue is not offered without the permission.
    q = queue(reviewers=[people["mod"], people["cs"]])
    (job,) = jobs_in(q, 1)
    Job.objects.filter(pk=job.pk).update(kind=JobKind.NCMEC)
    assert claim_next(q, people["mod"]) is None
    assert not visibility.may_work_job(people["mod"], Job.objects.get(pk=job.pk))
    assert claim_next(q, people["cs"]).pk == job.pk


def test_queues_page_lists_workable_queues_starred_first(catalog, people):
    mod = people["mod"]
    a = queue("a", reviewers=[mod], name="Alpha")
    b = queue("b", reviewers=[mod], name="Beta")
    queue("c", name="Gamma")
    jobs = jobs_in(b, 2)
    star(b, mod, True)
    star(b, mod, True)  # twice is harmless
    listed = queues_for(mod)
    assert [(s.queue.pk, s.pending, s.starred) for s in listed] == [
        ("b", 2, True),
        ("a", 0, False),
    ]
    assert listed[0].oldest_pending_at == jobs[0].created_at
    star(b, mod, False)
    assert [s.queue.pk for s in queues_for(mod)] == ["a", "b"]
    manager_view = [s.queue.pk for s in queues_for(people["manager"])]
    assert {"a", "b", "c"} <= set(manager_view)
    assert queues_for(people["analyst"]) == []
    assert a.stars.count() == 0


def test_queues_page_needs_few_queries(catalog, people, django_assert_max_num_queries):
    for i in range(30):
        queue(f"q{i}", reviewers=[people["mod"]])
    with django_assert_max_num_queries(6):
        assert len(queues_for(people["mod"])) == 30


def test_auto_close_deleted_items_and_claim_the_next(catalog, people):
    q = queue(auto_close_deleted=True)
    gone = rule_job(post("gone"), q)
    post("gone", deleted=True)  # the latest data says deleted
    alive = rule_job(post("alive", deleted=False), q)
    claimed = claim_next(q, people["mod"])
    assert claimed.pk == alive.pk
    gone.refresh_from_db()
    assert gone.status == JobStatus.DECIDED
    assert gone.lease_owner is None
    decision = Decision.objects.get(job=gone)
    assert decision.reviewer is None
    assert decision.components == [
        {"type": "AUTOMATIC_CLOSE", "reason": "ITEM_DELETED_BEFORE_REVIEW"}
    ]


def test_without_the_option_deleted_items_are_claimed(catalog, people):
    q = queue()
    job = rule_job(post("gone", deleted=True), q)
    assert claim_next(q, people["mod"]).pk == job.pk
