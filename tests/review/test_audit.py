"""Recent decisions: filters, and the streamed CSV exports of decisions and skips."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from coop.review.audit import (
    DECISIONS_HEADER,
    DecisionFilters,
    csv_cell,
    decisions_csv,
    recent_decisions,
    skips_csv,
)
from coop.review.claims import claim_next
from coop.review.decisions import ActionChoice, DecisionInput, decide
from coop.review.models import Decision, JobKind
from coop.review.skips import skip
from factories import post, queue, rule_job

pytestmark = pytest.mark.django_db


def rows(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


@pytest.fixture
def decided(catalog, people):
    q, other = queue(), queue("other")
    a = decide(
        rule_job(post("p-1"), q).pk,
        people["manager"],
        DecisionInput([ActionChoice("delete", ["spam"])], reason='bad, "really"'),
    )
    b = decide(rule_job(post("p-2"), other).pk, people["admin"], DecisionInput(ignore=True))
    c = decide(
        rule_job(post("p-3"), q).pk,
        people["manager"],
        DecisionInput([ActionChoice("label", ["ads"])]),
    )
    Decision.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=2))
    return a, b, c


def ids(qs) -> list:
    return [d.pk for d in qs]


def test_filters(decided, people):
    a, b, c = decided
    assert ids(recent_decisions()) == [c.pk, b.pk, a.pk]  # newest first
    assert ids(recent_decisions(DecisionFilters(types=["IGNORE"]))) == [b.pk]
    assert ids(recent_decisions(DecisionFilters(action_ids=["delete"]))) == [a.pk]
    assert ids(recent_decisions(DecisionFilters(policy_ids=["ads", "spam"]))) == [c.pk, a.pk]
    assert ids(recent_decisions(DecisionFilters(queue_ids=["other"]))) == [b.pk]
    reviewer = DecisionFilters(reviewer_ids=[people["admin"].pk])
    assert ids(recent_decisions(reviewer)) == [b.pk]
    since = timezone.now() - timedelta(days=1)
    assert ids(recent_decisions(DecisionFilters(start=since))) == [c.pk, b.pk]
    assert ids(recent_decisions(DecisionFilters(end=since))) == [a.pk]


def test_ncmec_decisions_need_the_child_safety_permission(decided, people):
    a, _, _ = decided
    Decision.objects.filter(pk=a.pk).update(job_kind=JobKind.NCMEC)
    assert a.pk not in ids(recent_decisions(DecisionFilters(viewer=people["mod"])))
    assert a.pk in ids(recent_decisions(DecisionFilters(viewer=people["cs"])))


def test_decisions_csv(decided):
    a, _, c = decided
    out = rows(decisions_csv(DecisionFilters(queue_ids=["q"])))
    assert out[0] == DECISIONS_HEADER
    assert [r[0] for r in out[1:]] == [str(c.pk), str(a.pk)]
    last = dict(zip(DECISIONS_HEADER, out[2], strict=True))
    assert last["Reviewer"] == "manager@example.com"
    assert last["Decisions"] == "ACTION"
    assert last["Actions"] == "delete"
    assert last["Policies"] == "spam"
    assert last["Reason"] == 'bad, "really"'
    assert last["Link"] == f"/jobs/{a.job_id}"
    assert last["Decided at (UTC)"].endswith("Z")


def test_skips_csv(catalog, people):
    q = queue()
    rule_job(post("p-1"), q)
    job = claim_next(q, people["mod"])
    skip(job, people["mod"])
    out = rows(skips_csv(DecisionFilters(queue_ids=["q"])))
    assert out[0] == ["Reviewer", "Queue", "Skipped at (UTC)", "Job ID", "Link"]
    assert out[1][0:2] == ["mod@example.com", "q"]
    assert out[1][3] == str(job.pk)
    assert len(rows(skips_csv(DecisionFilters(queue_ids=["other"])))) == 1


@pytest.mark.django_db(transaction=True)
def test_decisions_csv_streams_50000_rows_in_bounded_memory():
    total = 50_000
    now = timezone.now()
    note = "n" * 1000
    Decision.objects.bulk_create(
        [
            Decision(
                id=uuid.uuid4(),
                queue_id="q",
                item_id=f"item-{i}",
                item_type_id="post",
                types=["ACTION"],
                action_ids=["delete"],
                policy_ids=["spam"],
                components=[{"type": "ACTION", "actionIds": ["delete"]}],
                note=note,
                created_at=now - timedelta(seconds=i),
            )
            for i in range(total)
        ],
        batch_size=5000,
    )
    stream = decisions_csv()
    header = next(stream)  # lazily: the header comes before any row is read
    assert header.startswith("Decision ID,")
    tracemalloc.start()
    size = count = 0
    first = None
    for line in stream:
        if first is None:
            first = line
        count += 1
        size += len(line)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == total
    assert "item-0," in first  # newest first
    assert size > 50_000_000
    # Rows are read through a server-side cursor in chunks: memory stays far below the data.
    assert peak < size / 8, (peak, size)


# --- CSV injection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain, text", "plain, text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_cell_neutralises_formulas(cell, written):
    assert csv_cell(cell) == written


def test_the_decisions_export_neutralises_every_cell(catalog, people):
    job = rule_job(post("=cmd|' /C calc'!A0"), queue())
    decide(
        job.pk,
        people["manager"],
        DecisionInput(ignore=True, reason="@SUM(1+1)*cmd", note="-2+3"),
    )
    (row,) = rows(decisions_csv())[1:]
    cells = dict(zip(DECISIONS_HEADER, row, strict=True))
    assert cells["Item ID"] == "'=cmd|' /C calc'!A0"
    assert cells["Reason"] == "'@SUM(1+1)*cmd"
    assert cells["Note"] == "'-2+3"
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in row)


def test_the_skips_export_neutralises_every_cell(catalog, people):
    q = queue("+q", reviewers=[people["mod"]])
    rule_job(post("p-1"), q)
    skip(claim_next(q, people["mod"]), people["mod"])
    (row,) = rows(skips_csv())[1:]
    assert row[1] == "'+q"
