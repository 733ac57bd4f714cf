"""Migration 0003_user_level_jobs: pending NcmecRequests become user-level NCMEC jobs (merged
per user), and back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("childsafety", "0002_ncmec_report")]
AFTER = [("childsafety", "0003_user_level_jobs")]


def migrate(targets):
    """Migrate to `targets`; the models of every app as the applied migrations left them."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor = MigrationExecutor(connection)
    return executor._create_project_state(with_applied_migrations=True).apps


@pytest.fixture
def at_0002():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_pending_requests_become_jobs_and_come_back(at_0002):
    apps = at_0002
    Request = apps.get_model("childsafety", "NcmecRequest")
    Queue = apps.get_model("review", "Queue")
    OrgSettings = apps.get_model("catalog", "OrgSettings")
    Submission = apps.get_model("ingest", "ItemSubmission")
    Queue.objects.create(id="ncmec", name="NCMEC")
    OrgSettings.objects.update_or_create(
        pk=1, defaults={"data": {"ncmec": {"defaultQueue": "ncmec"}}}
    )
    Submission.objects.create(
        item_id="u-1", item_type_id="user", item_type_version=1, data={}, source="API"
    )
    earlier = timezone.now() - timedelta(days=2)
    common = {"status": "PENDING", "reason": "Waiting"}
    Request.objects.create(
        user_id="u-1", user_type_id="user", item_id="p-1", item_type_id="post", source="RULE",
        created_at=earlier, **common,
    )  # fmt: skip
    Request.objects.create(
        user_id="u-2", user_type_id="user", item_id="p-9", item_type_id="post", source="REVIEW",
        **common,
    )  # fmt: skip

    apps = migrate(AFTER)
    Job = apps.get_model("review", "Job")
    Case = apps.get_model("childsafety", "NcmecCase")
    jobs = {j.item_id: j for j in Job.objects.filter(kind="NCMEC")}
    assert set(jobs) == {"u-1", "u-2"}
    first = jobs["u-1"]
    assert (first.queue_id, first.status, first.source) == ("ncmec", "PENDING", "RULE")
    assert first.created_at == earlier
    assert first.submission.item_id == "u-1"
    assert jobs["u-2"].source == "MANUAL"
    case = Case.objects.get(job=first)
    assert [(e["id"], e["typeId"]) for e in case.entries] == [("p-1", "post")]
    assert (case.entry_count, case.stale) == (1, True)

    apps = migrate(BEFORE)
    Request = apps.get_model("childsafety", "NcmecRequest")
    rows = sorted(Request.objects.values_list("user_id", "item_id", "status"))
    assert rows == [("u-1", "p-1", "PENDING"), ("u-2", "p-9", "PENDING")]
