"""Anomaly alarms on a synthetic history: set by a burst of passes, mailed once to the owner and
the on-call address (a real SMTP server), cleared when the rate returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

import factories
from coop.config.services import save_object
from coop.insights import alarms
from coop.insights.models import AlarmState, RuleAlarm, RuleHour
from coop.rules.models import Rule
from smtp_server import SmtpServer

NOW = datetime(2026, 11, 10, 12, 20, tzinfo=UTC)
TESTED = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)  # the last full hour at NOW


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.COOP_EMAIL_URL = server.url
        yield server


@pytest.fixture
def rule(db):
    owner = factories.user("owner@example.com", "Rules Manager")
    assert save_object(
        "settings", {"organization": {"name": "Example", "onCallEmail": "oncall@example.com"}}
    ).ok
    return Rule.objects.create(
        id="r1", name="Links", status="LIVE", item_types=["post"], owner=owner
    )


def history(rule_id: str, hours: int = 168, evaluations: int = 1000, passes: int = 10) -> None:
    """A steady 1 % pass rate over the `hours` before TESTED."""
    RuleHour.objects.bulk_create(
        RuleHour(
            hour=TESTED - timedelta(hours=h),
            rule_id=rule_id,
            environment="LIVE",
            evaluations=evaluations,
            passes=passes,
        )
        for h in range(1, hours + 1)
    )


def hour(rule_id: str, at: datetime, evaluations: int, passes: int) -> None:
    RuleHour.objects.update_or_create(
        hour=at,
        rule_id=rule_id,
        environment="LIVE",
        defaults={"evaluations": evaluations, "passes": passes},
    )


def alarm_emails() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args FROM procrastinate_jobs"
            " WHERE task_name = 'coop.insights_alarm_email' ORDER BY id"
        )
        return [json.loads(a) for (a,) in cursor.fetchall()]


def test_the_binomial_test():
    steady = [(1000, 10)] * 168
    assert alarms.test_hour(steady, (1000, 12)).p_value > 0.1
    burst = alarms.test_hour(steady, (1000, 60))
    assert burst.p_value < 1e-15
    assert burst.expected == pytest.approx(10, rel=0.01)
    assert alarms.test_hour(steady, (10, 9)).p_value is None  # too few evaluations in the hour
    assert alarms.test_hour([(5, 0)] * 10, (1000, 900)).p_value is None  # too little history


def test_a_burst_sets_the_alarm_and_mails_once(rule, smtp):
    history("r1")
    hour("r1", TESTED, 1000, 60)
    alarm = alarms.check_rule(rule, NOW)
    assert alarm.state == AlarmState.ALARM
    assert alarm.since == TESTED
    assert (alarm.observed_passes, alarm.evaluations) == (60, 1000)
    assert alarm.p_value < 1e-6
    assert alarms.check_rule(rule, NOW + timedelta(minutes=5)).hour == TESTED  # once per hour

    (args,) = alarm_emails()
    alarms.email_alarm(**args)
    alarms.email_alarm(**args)  # a retried task sends nothing more
    (mail,) = smtp.wait(1)
    assert sorted(mail.rcpt_tos) == ["oncall@example.com", "owner@example.com"]
    assert "Rule alarm: Links" in mail.message["Subject"]
    assert "passed 60 times in 1000 evaluations" in mail.body

    # Still in alarm the next hour: the same episode, no new email.
    hour("r1", TESTED + timedelta(hours=1), 1000, 70)
    assert alarms.check_rule(rule, NOW + timedelta(hours=1)).state == AlarmState.ALARM
    assert len(alarm_emails()) == 1
    assert alarms.alarm_states(["r1", "other"]) == {"r1": RuleAlarm.objects.get()}

    # The rate returns: cleared.
    hour("r1", TESTED + timedelta(hours=2), 1000, 11)
    cleared = alarms.check_rule(rule, NOW + timedelta(hours=2))
    assert cleared.state == AlarmState.OK
    assert cleared.since == TESTED + timedelta(hours=2)
    assert alarms.active_alarms() == []


def test_a_normal_hour_sets_nothing(rule):
    history("r1")
    hour("r1", TESTED, 1000, 14)
    assert alarms.check_rule(rule, NOW).state == AlarmState.OK
    assert alarm_emails() == []


def test_an_alarm_shows_on_rule_insights(rule, client):
    history("r1")
    hour("r1", TESTED, 1000, 60)
    alarms.check_rule(rule, NOW)
    client.force_login(factories.user("analyst@example.com", "Analyst"))
    page = client.get("/insights/rules?range=30d&bucket=day").content.decode()
    assert "badge--alarm" in page
    assert "Links" in page
