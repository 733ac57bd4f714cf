"""The claim and decide hot paths: their query budgets, and the checks the saved queries made."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coop.config.services import save_object
from coop.review.claims import claim_next
from coop.review.decisions import DecisionInput, decide
from coop.review.errors import DecisionRefusedError
from coop.review.models import Decision, JobStatus
from factories import post, queue, rule_job

pytestmark = pytest.mark.django_db


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements run, without the test transaction's savepoints."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_claim_is_one_statement(catalog, people):
    q = queue(reviewers=[people["mod"]])
    item = post("p-1")
    job = rule_job(item, q)
    with CaptureQueriesContext(connection) as captured:
        claimed = claim_next(q, people["mod"])
    assert len(statements(captured)) == 1
    assert claimed.pk == job.pk
    assert (claimed.queue, claimed.lease_owner, claimed.status) == (
        q,
        people["mod"],
        JobStatus.PENDING,
    )
    assert claimed.submission_id == job.submission_id
    # A reload renews the lease of the job held, in one statement too.
    with CaptureQueriesContext(connection) as captured:
        assert claim_next(q, people["mod"]).pk == job.pk
    assert len(statements(captured)) == 1


def test_an_ignore_takes_three_statements(catalog, people):
    """The locked job with its reviewer check and the settings, the record, the close."""
    q = queue(reviewers=[people["mod"]])
    rule_job(post("p-1"), q)
    job = claim_next(q, people["mod"])
    with CaptureQueriesContext(connection) as captured:
        decide(job.pk, people["mod"], DecisionInput(ignore=True))
    assert len(statements(captured)) == 3
    assert Decision.objects.get(job=job).types == ["IGNORE"]


def test_deciding_in_the_ncmec_queue_needs_child_safety_permission(catalog, people):
    ncmec = queue("ncmec", reviewers=[people["cs"]])
    assert save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "ncmec"}).ok
    ncmec.reviewers.add(people["mod"])  # refused on save; e.g. left over from a role change
    rule_job(post("p-1"), ncmec)
    rule_job(post("p-2"), ncmec)
    for_mod = claim_next(ncmec, people["mod"])  # claim_next leaves access to its callers
    with pytest.raises(DecisionRefusedError, match="not allowed"):
        decide(for_mod.pk, people["mod"], DecisionInput(ignore=True))
    for_cs = claim_next(ncmec, people["cs"])
    decide(for_cs.pk, people["cs"], DecisionInput(ignore=True))
    assert Decision.objects.filter(job=for_cs).exists()


def test_a_queue_reviewer_is_checked_in_the_job_query(catalog, people):
    q = queue(reviewers=[people["mod"]])
    rule_job(post("p-1"), q)
    job = claim_next(q, people["mod2"])  # not one of the queue's reviewers
    with pytest.raises(DecisionRefusedError, match="not allowed"):
        decide(job.pk, people["mod2"], DecisionInput(ignore=True))
    q.reviewers.add(people["mod2"])
    decide(job.pk, people["mod2"], DecisionInput(ignore=True))
