"""Concurrency: many reviewers claiming at once never share a job; concurrent decisions on one
job commit exactly once. Real threads, each with its own database connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from coop.review.claims import claim_next
from coop.review.decisions import DecisionInput, decide
from coop.review.errors import AlreadyDecidedError
from coop.review.models import Decision, Job, JobStatus
from factories import post, queue, rule_job, user

THREADS = 20
JOBS = 200


def run_threads(n: int, target) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            target(i)
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_parallel_claimers_never_hold_the_same_job(catalog):
    reviewers = [user(f"r{i}@example.com") for i in range(THREADS)]
    q = queue(reviewers=reviewers)
    for i in range(JOBS):
        rule_job(post(f"p-{i}"), q)
    claimed: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def reviewer(i: int) -> None:
        me = reviewers[i]
        start.wait()
        while True:
            job = claim_next(q, me)
            if job is None:
                return
            with lock:
                claimed.append((i, str(job.pk)))
            decide(job.pk, me, DecisionInput(ignore=True))

    assert run_threads(THREADS, reviewer) == []
    counts = Counter(job_id for _, job_id in claimed)
    assert len(counts) == JOBS
    assert max(counts.values()) == 1, "a job was claimed twice"
    assert len({i for i, _ in claimed}) > 1  # the work was really shared
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 0
    assert Decision.objects.count() == JOBS


@pytest.mark.django_db(transaction=True)
def test_claims_without_deciding_hand_out_distinct_jobs(catalog):
    reviewers = [user(f"r{i}@example.com") for i in range(THREADS)]
    q = queue(reviewers=reviewers)
    for i in range(THREADS // 2):
        rule_job(post(f"p-{i}"), q)
    held: dict[int, str | None] = {}
    start = threading.Barrier(THREADS)

    def reviewer(i: int) -> None:
        start.wait()
        job = claim_next(q, reviewers[i])
        held[i] = str(job.pk) if job else None

    assert run_threads(THREADS, reviewer) == []
    got = [j for j in held.values() if j]
    assert len(got) == THREADS // 2 == len(set(got))
    owners = Job.objects.values_list("lease_owner", flat=True)
    assert len(set(owners)) == THREADS // 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_one_job_commit_once(catalog):
    managers = [user(f"m{i}@example.com", "Moderator Manager") for i in range(8)]
    q = queue()
    job = rule_job(post("p-1"), q)
    outcomes: list[str] = []
    start = threading.Barrier(len(managers))

    def manager(i: int) -> None:
        start.wait()
        try:
            decide(job.pk, managers[i], DecisionInput(ignore=True, reason=f"by {i}"))
            outcomes.append("won")
        except AlreadyDecidedError:
            outcomes.append("already")

    assert run_threads(len(managers), manager) == []
    assert sorted(outcomes) == ["already"] * (len(managers) - 1) + ["won"]
    assert Decision.objects.filter(job=job).count() == 1
