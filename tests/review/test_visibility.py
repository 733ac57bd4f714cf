"""The one visibility rule (coop.review.visibility) applied by every reader: child-safety jobs
(NCMEC kind, the NCMEC queue, a `csam: true` report) are invisible without
VIEW_CHILD_SAFETY_DATA, on every page and export; hidden fields never reach any section."""

from __future__ import annotations

import pytest
from django.utils import timezone

from coop.catalog.models import ItemType
from coop.config.services import save_object
from coop.ingest.models import ItemSubmission
from coop.review.claims import claim_next
from coop.review.decisions import DecisionInput, decide
from coop.review.errors import DecisionRefusedError
from coop.review.models import Decision, Report
from coop.review.queues import queues_for
from coop.rules.models import RuleExecution
from factories import post, queue, report, rule_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def ncmec(catalog, people):
    """The NCMEC queue (worked by mod and cs), set as `ncmec.defaultQueue`."""
    q = queue("ncmec", [people["cs"]], name="Child safety")
    assert save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "ncmec"}).ok
    q.reviewers.add(people["mod"])  # refused on save; e.g. left over from a role change
    return q


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def test_a_default_job_in_the_ncmec_queue_is_hidden_everywhere(client, ncmec, people):
    """Routing, Move and rule actions put DEFAULT jobs in the NCMEC queue: the queue counts."""
    q = queue("q", [people["mod"], people["cs"]])
    decided = rule_job(post("p-decided"), ncmec)
    assert claim_next(ncmec, people["cs"]).pk == decided.pk
    decide(decided.pk, people["cs"], DecisionInput(ignore=True, reason="cs-reason"))
    job = rule_job(post("p-secret", text="SECRET-TEXT"), ncmec)
    rule_job(post("p-secret", text="SECRET-TEXT"), q)  # the same item, pending elsewhere
    job2 = job
    mod, cs, manager = people["mod"], people["cs"], people["manager"]
    assert job.kind == "DEFAULT"
    # The job page, for a VIEW_MRT_DATA moderator who is even listed as the queue's reviewer.
    assert get(client, mod, f"/jobs/{job2.pk}").status_code == 403
    assert get(client, cs, f"/jobs/{job2.pk}").status_code == 200
    # Recent Decisions, page and CSV.
    assert b"cs-reason" not in get(client, mod, "/decisions").content
    assert b"cs-reason" in get(client, cs, "/decisions").content
    assert b"cs-reason" not in b"".join(get(client, mod, "/decisions.csv").streaming_content)
    # The queues page and claiming.
    assert "ncmec" not in [s.queue.pk for s in queues_for(mod)]
    assert get(client, mod, "/queues/ncmec/review").status_code == 403
    # Other pending jobs on the item: the copy in q does not list the NCMEC one.
    same_item = claim_next(q, mod)
    assert same_item.item_id == "p-secret"
    page = get(client, mod, f"/jobs/{same_item.pk}").content.decode()
    assert "Child safety" not in page
    assert "Child safety" in get(client, cs, f"/jobs/{same_item.pk}").content.decode()
    # Preview (EDIT_MRT_QUEUES) and the overview.
    assert get(client, manager, "/queues/ncmec/preview").status_code == 200
    assert "Child safety" not in get(client, mod, "/").content.decode()


def test_enqueue_to_ncmec_decisions_are_child_safety(client, ncmec, catalog, people):
    q = queue("q", [people["mod"], people["cs"]])
    rule_job(post("p-1"), q)
    job = claim_next(q, people["cs"])
    decide(job.pk, people["cs"], DecisionInput(enqueue_ncmec=True, reason="sent-to-ncmec"))
    assert Decision.objects.get(job=job).types == ["NCMEC"]
    assert b"sent-to-ncmec" not in get(client, people["mod"], "/decisions").content
    csv = b"".join(get(client, people["mod"], "/decisions.csv").streaming_content)
    assert b"sent-to-ncmec" not in csv
    assert b"sent-to-ncmec" in get(client, people["cs"], "/decisions").content


def test_preview_leaves_out_child_safety_jobs_and_queues(client, ncmec, catalog, people):
    q = queue("q")
    rule_job(post("p-1", text="visible"), q)
    report(post("p-2", text="CSAM-REPORTED"), q)
    Report.objects.filter(item_id="p-2").update(csam=True)
    manager = people["manager"]
    # A manager without VIEW_CHILD_SAFETY_DATA (a custom role: Moderator Manager has it).
    manager.role.permissions = [
        p for p in manager.role.permissions if p != "VIEW_CHILD_SAFETY_DATA"
    ]
    manager.role.save()
    page = get(client, manager, "/queues/q/preview").content.decode()
    assert "p-1" in page
    assert "p-2" not in page
    assert get(client, manager, "/queues/ncmec/preview").status_code == 403


def test_move_into_the_ncmec_queue_needs_child_safety_permission(ncmec, people):
    q = queue("q", [people["mod"], people["cs"]])
    rule_job(post("p-1"), q)
    job = claim_next(q, people["mod"])
    with pytest.raises(DecisionRefusedError, match="child-safety"):
        decide(job.pk, people["mod"], DecisionInput(move_to_queue="ncmec"))
    job.refresh_from_db()
    assert (job.queue_id, job.status) == ("q", "PENDING")


def test_csam_reports_are_hidden_without_ncmec_queue(client, catalog, people):
    q = queue("q", [people["mod"], people["cs"]])
    job = report(post("p-1", text="CSAM-REPORTED"), q)
    Report.objects.filter(job=job).update(csam=True)
    assert claim_next(q, people["mod"]) is None  # not offered to them
    assert [s.pending for s in queues_for(people["mod"])] == [0]
    assert get(client, people["mod"], f"/jobs/{job.pk}").status_code == 403
    assert claim_next(q, people["cs"]).pk == job.pk


def test_hidden_fields_never_reach_any_section(client, catalog, people):
    """The job's item, the thread (which includes the item), the author and their recent
    items, and the values rule hits matched."""
    ItemType.objects.filter(pk="post").update(hidden_fields=["deleted", "createdAt"])
    ItemType.objects.filter(pk="user").update(hidden_fields=["name"])
    q = queue("q", [people["mod"]])
    ItemSubmission.objects.create(
        item_id="u-1",
        item_type_id="user",
        item_type_version=1,
        data={"name": "SECRET-NAME"},
        source="API",
        submitted_at=timezone.now(),
    )
    sibling = post("p-0", thread="t-1", created_at="2024-01-01T00:00:00+00:00", deleted=True)
    item = post("p-1", thread="t-1", created_at="2024-01-02T00:00:00+00:00", deleted=True)
    sibling.data["deleted"] = "SECRET-SIBLING"
    sibling.save()
    item.data["deleted"] = "SECRET-ITEM"
    item.save()
    RuleExecution.objects.create(
        rule_id="r",
        rule_version=1,
        environment="LIVE",
        submission_id=item.pk,
        item_id="p-1",
        item_type_id="post",
        outcome="PASSED",
        result={
            "outcome": "PASSED",
            "conditions": [
                {"outcome": "PASSED", "input": {"field": "deleted"}, "matchedValue": "SECRET-ITEM"},
                {"outcome": "PASSED", "input": "ALL_TEXT", "matchedValue": "SECRET-ITEM"},
                {"outcome": "PASSED", "input": {"field": "text"}, "matchedValue": "hello"},
            ],
        },
        duration_us=1,
        created_at=timezone.now(),
    )
    job = rule_job(item, q)
    claim_next(q, people["mod"])
    page = get(client, people["mod"], f"/jobs/{job.pk}").content.decode()
    assert "hello" in page  # the visible text is there
    for secret in ("SECRET-ITEM", "SECRET-SIBLING", "SECRET-NAME", "2024-01-02T00:00:00"):
        assert secret not in page, secret
