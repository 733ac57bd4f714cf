import pytest
from django.utils import timezone
from tests.insights import events

from coop.insights import fold
from coop.insights.queries import truncate
from coop.rules.models import Rule


@pytest.fixture
def seeded(db):
    """A small dataset of every kind of event in the current and the previous hours, folded."""
    import factories

    now = truncate(timezone.now(), "hour")
    mod = factories.user("mod@example.com", "Moderator")
    q = factories.queue("q1", name="Spam queue")
    Rule.objects.create(id="r1", name="Links from new accounts", status="LIVE", item_types=["post"])
    from coop.catalog.models import Policy

    Policy.objects.create(id="spam", name="Spam")
    for minutes in (5, 70, 130):  # this hour, one and two hours ago
        at = now - timezone.timedelta(minutes=minutes) + timezone.timedelta(minutes=10)
        events.rule_executions(
            [("r1", "LIVE", "PASSED", at)] * 3 + [("r1", "LIVE", "FAILED", at)] * 7
        )
        events.action_execution("ban", "RULE", at, policies=["spam"], rules=["r1"])
        events.action_execution("ban", "REVIEW", at, policies=["spam"])
        job = events.job(q, at)
        events.decision(job, at + timezone.timedelta(seconds=120), reviewer=mod, policies=["spam"])
        events.skip(job, at, user=mod)
    events.job(q, now)
    fold.fold()
    fold.sample_queue_depth()
    return {"moderator": mod, "queue": q, "now": now}


@pytest.fixture
def admin_client(client, db):
    import factories

    client.force_login(factories.user("admin@example.com", "Admin"))
    return client
