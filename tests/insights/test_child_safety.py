"""Child-safety events (coop.review.visibility) are counted only for users who may see them:
NCMEC jobs, the NCMEC queue, jobs with a csam report, decisions and skips on them, and
`coop.ncmec` executions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.insights import events

import factories
from coop.config.services import save_object
from coop.insights import fold, queries
from coop.insights.queries import Window, truncate
from coop.review.models import Report


@pytest.fixture
def world(db):
    now = truncate(timezone.now(), "hour")
    ncmec = factories.queue("ncmec-q", name="NCMEC queue")
    plain = factories.queue("plain", name="Plain queue")
    assert save_object("ncmec", {"defaultQueue": "ncmec-q"}).ok
    mod = factories.user("mod@example.com")
    in_ncmec = events.job(ncmec, now)
    events.decision(in_ncmec, now + timedelta(minutes=1), reviewer=mod)
    events.skip(in_ncmec, now, user=mod)
    ordinary = events.job(plain, now)
    events.decision(ordinary, now + timedelta(minutes=1), reviewer=mod)
    reported = events.job(plain, now)  # later reported with csam: true
    Report.objects.create(
        job=reported,
        reporter_type_id="user",
        reporter_id="r",
        reported_at=now,
        csam=True,
        item_id=reported.item_id,
        item_type_id="post",
    )
    events.action_execution("coop.ncmec", "REVIEW", now)
    events.action_execution("ban", "REVIEW", now)
    while fold.fold().deltas:
        pass
    fold.sample_queue_depth()
    return Window(now, now + timedelta(hours=1))


def total(series) -> int:
    return sum(s.total for s in series)


def test_queries_leave_child_safety_out_when_asked(world):
    assert total(queries.jobs_created(world)) == 3
    assert total(queries.jobs_created(world, child_safety=False)) == 1
    assert total(queries.jobs_decided(world)) == 2
    assert [s.key for s in queries.jobs_decided(world, child_safety=False)] == ["plain"]
    assert total(queries.decisions_by_moderator(world, child_safety=False)) == 1
    assert total(queries.skips(world, child_safety=False)) == 0
    assert total(queries.skips(world)) == 1
    assert queries.action_totals(world).executed == 2
    assert queries.action_totals(world, child_safety=False).executed == 1
    depth = {s.key: s.values[-1] for s in queries.queue_depth(world, child_safety=False)}
    assert "ncmec-q" not in depth
    assert depth["plain"] == 1  # the csam-reported job is not counted
    assert {s.key: s.values[-1] for s in queries.queue_depth(world)}["plain"] == 2


@pytest.mark.parametrize(("role", "sees"), [("Moderator", False), ("Child Safety Moderator", True)])
def test_pages_count_child_safety_only_for_those_who_may_see_it(client, world, role, sees):
    client.force_login(factories.user("viewer@example.com", role))
    page = client.get(reverse("insights-review") + "?range=24h").content.decode()
    assert ("NCMEC queue" in page) == sees
    created = 'id="stat-1">Jobs created</h2>\n    <p class="stat__value">{}</p>'
    assert created.format(3 if sees else 1) in page
