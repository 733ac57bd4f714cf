"""`coop bench claim`: 50 reviewers claiming and deciding in one queue of 100,000 jobs.

A scratch database gets 100,000 pending jobs in one FIFO queue (and 99 more queues, for the
queues page). 50 reviewers (threads of a few processes, each its own connection) loop
claim_next -> decide(ignore) for the given time, timing each call, with a think time between
a decision and the next claim. Every claimed job id is collected: a job claimed twice is a
double claim (must be 0). The queues page service (`queues_for`, 100 queues) is timed too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter

from coop.bench.harness import Result, coop_env, percentile, scratch_database

JOBS = 100_000
QUEUES = 100
REVIEWERS = 50
# 10 processes of 5 reviewer threads each. One process per reviewer measured far worse on two
# cores (100 runnable processes with PostgreSQL's own); 5 processes of 10 threads somewhat
# worse (more GIL waits inside the timed calls).
PROCESSES = 10
QUEUE_ID = "bench"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
    import django

    django.setup()


def seed() -> dict:
    """In the child: the queues, the reviewers and the jobs; returns the queues page timing."""
    _django()
    from django.db import connection

    from coop.accounts.models import Role, User
    from coop.review.models import Queue
    from coop.review.queues import queues_for

    moderator = Role.objects.get(name="Moderator")
    reviewers = [
        User.objects.create_user(f"reviewer{i}@bench.example", role=moderator)
        for i in range(REVIEWERS)
    ]
    main = Queue.objects.create(id=QUEUE_ID, name="Bench")
    main.reviewers.set(reviewers)
    for i in range(QUEUES - 1):
        q = Queue.objects.create(id=f"bench-{i:03}", name=f"Bench {i:03}")
        q.reviewers.set(reviewers)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO review_job (id, queue_id, kind, status, item_id, item_type_id, source,
                policy_ids, report_count, priority, created_at, updated_at)
            SELECT gen_random_uuid(), %s, 'DEFAULT', 'PENDING', 'item-' || g, 'post', 'RULE',
                '{}', 0, 0, now() - make_interval(secs => %s - g), now()
            FROM generate_series(1, %s) AS g
            """,
            [QUEUE_ID, JOBS, JOBS],
        )
        # A few jobs in every other queue, so the page has something to count.
        cursor.execute(
            """
            INSERT INTO review_job (id, queue_id, kind, status, item_id, item_type_id, source,
                policy_ids, report_count, priority, created_at, updated_at)
            SELECT gen_random_uuid(), q.id, 'DEFAULT', 'PENDING', 'other-' || g, 'post', 'RULE',
                '{}', 0, 0, now(), now()
            FROM review_queue q, generate_series(1, 10) AS g WHERE q.id LIKE 'bench-%%'
            """
        )
        cursor.execute("ANALYZE review_job")
    user = reviewers[0]
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        summaries = queues_for(user)
        timings.append((time.perf_counter() - started) * 1000)
    assert len(summaries) == QUEUES, len(summaries)
    return {
        "queues_for_ms": statistics.median(timings[1:]),
        "queues_page_ms": _queues_page_ms(user),
    }


def _queues_page_ms(user) -> float:
    """The whole /queues page as the reviewer gets it: middleware, service and template."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST=urlsplit(settings.BASE_URL).netloc)  # a host Coop answers
    client.force_login(user)
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        response = client.get("/queues")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings[1:])


def review(seconds: float, think_ms: float, processes: int) -> dict:
    """In the child: REVIEWERS reviewers, spread over `processes` processes (forked once
    Django is set up, so they start in a moment) of one thread and connection per reviewer,
    claiming and deciding until the time is up.

    Starts are staggered over the first think time (at least 100 ms) rather than in
    lockstep, and each pause is `think_ms` +-50 % at random, so the reviewers do not fall
    back into step; the pause itself is never timed."""
    _django()
    from django.db import connection

    import coop.review.decisions  # noqa: F401 - imported once, before the fork
    from coop.accounts.models import User
    from coop.review.models import Queue

    queue = Queue.objects.get(pk=QUEUE_ID)
    users = list(
        User.objects.select_related("role")
        .filter(email__endswith="@bench.example")
        .order_by("email")
    )
    connection.close()  # each reviewer opens its own connection
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(users))
    results = context.SimpleQueue()
    stagger = max(think_ms, 100.0) / 1000
    reviewers = [(user, stagger * i / len(users)) for i, user in enumerate(users)]
    workers = [
        context.Process(
            target=_process,
            args=(queue, reviewers[i::processes], ready, results, seconds, think_ms),
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    out: dict = {"claims": [], "decisions": [], "ids": [], "already": 0}
    for _ in users:
        result = results.get()
        for key in ("claims", "decisions", "ids"):
            out[key] += result[key]
        out["already"] += result["already"]
    for worker in workers:
        worker.join()
    return out


def _process(queue, reviewers, ready, results, seconds: float, think_ms: float) -> None:
    threads = [
        threading.Thread(
            target=_reviewer, args=(queue, user, ready, results, seconds, think_ms, offset)
        )
        for user, offset in reviewers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _reviewer(queue, user, ready, results, seconds: float, think_ms: float, offset: float):
    """One reviewer: claim_next -> decide(ignore), each call timed, until the deadline."""
    from django.db import connection

    from coop.review.claims import claim_next
    from coop.review.decisions import AlreadyDecidedError, DecisionInput, decide

    claims, decisions, ids, already = [], [], [], 0
    rng = random.Random(user.pk)
    try:
        claim_next(queue, user)  # warm the connection; the job is kept and decided first
        ready.wait()
        deadline = time.monotonic() + seconds
        time.sleep(offset)
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            job = claim_next(queue, user)
            t1 = time.perf_counter()
            if job is None:
                break
            try:
                decide(job.pk, user, DecisionInput(ignore=True))
            except AlreadyDecidedError:
                already += 1
            t2 = time.perf_counter()
            claims.append((t1 - t0) * 1000)
            decisions.append((t2 - t1) * 1000)
            ids.append(str(job.pk))
            if think_ms:
                time.sleep(think_ms * rng.uniform(0.5, 1.5) / 1000)  # looks at the job
    finally:
        connection.close()
        results.put({"claims": claims, "decisions": decisions, "ids": ids, "already": already})


def _child(args: list[str], database_url: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "coop.bench.claim", *args],
        env=coop_env(database_url),
        stdout=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench child failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def run(seconds: float = 20.0, think_ms: float = 200.0) -> Result:
    """`think_ms`: each reviewer's mean pause between a decision and the next claim (a human
    takes seconds; 0 makes 50 processes hammer the database in a closed loop). It is
    reported with the figures, and never counted in them."""
    with scratch_database() as database_url:
        seeded = _result(_child(["seed"], database_url))
        args = ["review", str(seconds), str(think_ms), str(PROCESSES)]
        results = [_result(_child(args, database_url))]
        double_claims, decided = _check(database_url)
    claims = [ms for r in results for ms in r["claims"]]
    decisions = [ms for r in results for ms in r["decisions"]]
    counts = Counter(job_id for r in results for job_id in r["ids"])
    double_claims += sum(n - 1 for n in counts.values() if n > 1)
    return Result(
        scenario="claim",
        metrics={
            "jobs": JOBS,
            "reviewers": REVIEWERS,
            "processes": PROCESSES,
            "think_ms": think_ms,
            "claims": len(claims),
            "claims_per_s": len(claims) / seconds if seconds else 0.0,
            "claim_p50_ms": percentile(claims, 50),
            "claim_p95_ms": percentile(claims, 95),
            "claim_p99_ms": percentile(claims, 99),
            "decision_p50_ms": percentile(decisions, 50),
            "decision_p95_ms": percentile(decisions, 95),
            "decision_p99_ms": percentile(decisions, 99),
            "double_claims": double_claims,
            "already_decided": sum(r["already"] for r in results),
            "decided_jobs": decided,
            "queues_for_ms": seeded["queues_for_ms"],
            "queues_page_ms": seeded["queues_page_ms"],
        },
        targets={
            "claim_p95_ms": "< 20",
            "decision_p95_ms": "< 50",
            "double_claims": "< 1",
            "queues_page_ms": "< 200",
        },
    )


def _check(database_url: str) -> tuple[int, int]:
    """Jobs with more than one decision (each would be a double claim), and decided jobs."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        (twice,) = conn.execute(
            "SELECT count(*) FROM (SELECT job_id FROM review_decision"
            " GROUP BY job_id HAVING count(*) > 1) d"
        ).fetchone()
        (decided,) = conn.execute(
            "SELECT count(*) FROM review_job WHERE status = 'DECIDED'"
        ).fetchone()
    return int(twice), int(decided)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "seed":
        output = seed()
    elif command == "review":
        output = review(float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    sys.stdout.write(json.dumps(output) + "\n")
