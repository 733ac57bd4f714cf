"""A mass-report campaign cannot make a job unusable: the job page shows the report history
one page at a time (newest first, with the total), and the action callback's
`custom.reportHistory` holds only the newest REPORT_HISTORY_LIMIT reports, with
`custom.reportCount` counting them all."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coop.enforcement.models import Delivery
from coop.review.claims import claim_next
from coop.review.context import REPORTS_PER_PAGE
from coop.review.decisions import REPORT_HISTORY_LIMIT, ActionChoice, DecisionInput, decide
from coop.review.models import Job, Report
from factories import post, queue, report

pytestmark = pytest.mark.django_db

CAMPAIGN = 1000


@pytest.fixture
def campaign(catalog, people):
    """A job with 1,000 reports, reporter r-0 the newest, r-999 the oldest."""
    q = queue(reviewers=[people["mod"]])
    item = post("p-1")
    job = report(item, q, reporter="r-seed", reason="first", ago=10_000)
    now = timezone.now()
    Report.objects.bulk_create(
        [
            Report(
                job=job,
                reporter_type_id="user",
                reporter_id=f"r-{i}",
                reported_at=now - timedelta(seconds=i),
                reason=f"reason {i}",
                policy_id="spam" if i % 2 else "ads",
                item_id="p-1",
                item_type_id="post",
                submission=item,
            )
            for i in range(CAMPAIGN - 1)
        ]
    )
    Job.objects.filter(pk=job.pk).update(report_count=CAMPAIGN)
    return q, job


def reporters(page: str) -> list[str]:
    return re.findall(r"<code>user/(r-[\w-]+)</code>", page)


def test_the_job_page_shows_one_page_of_reports_newest_first(client, campaign, people):
    _q, job = campaign
    client.force_login(people["mod"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/jobs/{job.pk}").content.decode()
    shown = reporters(page)
    assert shown == [f"r-{i}" for i in range(REPORTS_PER_PAGE)]
    assert f'<span class="count">{CAMPAIGN}</span>' in page
    assert f"Reports 1–{REPORTS_PER_PAGE} of {CAMPAIGN}, newest first" in page
    assert "?reports=2#reports" in page
    # The page reads one page of reports, not the whole history.
    report_reads = [q["sql"] for q in queries.captured_queries if "review_report" in q["sql"]]
    assert all(
        "LIMIT" in sql or "COUNT" in sql or "EXISTS" in sql or "DISTINCT" in sql
        for sql in report_reads
        if sql.lstrip().startswith("SELECT")
    ), report_reads
    # Both policies the campaign names are listed, though the page shows only some reports.
    assert "Spam" in page
    assert "Ads" in page

    second = client.get(f"/jobs/{job.pk}", {"reports": 2}).content.decode()
    assert reporters(second) == [f"r-{i}" for i in range(REPORTS_PER_PAGE, 2 * REPORTS_PER_PAGE)]
    last = client.get(f"/jobs/{job.pk}", {"reports": 20}).content.decode()
    assert reporters(last)[-1] == "r-seed"  # the oldest report, on the last page
    assert client.get(f"/jobs/{job.pk}", {"reports": "junk"}).status_code == 200


def test_the_callback_report_history_is_capped_with_the_total(campaign, people):
    q, job = campaign
    assert claim_next(q, people["mod"]).pk == job.pk
    decide(job.pk, people["mod"], DecisionInput([ActionChoice("delete", ["spam"])]))
    custom = json.loads(bytes(Delivery.objects.get().body))["custom"]
    history = custom["reportHistory"]
    assert len(history) == REPORT_HISTORY_LIMIT == 100
    assert [h["reporter"]["id"] for h in history[:3]] == ["r-0", "r-1", "r-2"]  # newest first
    assert custom["reportCount"] == CAMPAIGN
