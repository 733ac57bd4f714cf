"""Anomaly alarms (rules.md): a sudden increase of a rule's passes sets its alarm.

Every run tests the last full hour of each LIVE and BACKGROUND rule against its baseline, the
168 hours (7 days) before it, from the hourly rollups:

- baseline rate p0 = (passes + 1) / (evaluations + 2) over the baseline (smoothed, so a rule
  that never passed can still alarm, and one with a short history is not judged on zero);
- tested only when the baseline has at least MIN_BASELINE_EVALUATIONS evaluations and the hour
  at least MIN_HOUR_EVALUATIONS;
- p-value = P(X >= k) for X ~ Binomial(n, p0), with n evaluations and k passes in the hour;
- the alarm is set when p < SET_P_VALUE and k >= MIN_PASSES (a one-sided test: only increases
  alarm); it is cleared when p >= CLEAR_P_VALUE (the rate is back within what the baseline
  explains), or when the hour had too few evaluations to say otherwise. Between the two
  thresholds the state stays as it is, so an alarm does not flap.

Setting an alarm emails the rule's owner and the on-call address once per episode (a task
deferred in the same transaction as the state change, retried while the mail server refuses).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from scipy.stats import binom

from coop.catalog.org_settings import org_settings
from coop.core.enums import RuleStatus
from coop.insights import queries
from coop.insights.models import AlarmState, RuleAlarm
from coop.mail import send_mail
from coop.queueing import in_transaction
from coop.rules.models import Rule

log = logging.getLogger(__name__)

BASELINE_HOURS = 168
MIN_BASELINE_EVALUATIONS = 1_000
MIN_HOUR_EVALUATIONS = 50
MIN_PASSES = 10
SET_P_VALUE = 1e-6  # strict: every rule is tested every hour
CLEAR_P_VALUE = 1e-2


@dataclass(frozen=True)
class Verdict:
    """The test of one rule's hour; `p_value` None: not enough data to test."""

    evaluations: int
    passes: int
    baseline_rate: float
    p_value: float | None

    @property
    def expected(self) -> float:
        return self.evaluations * self.baseline_rate


def test_hour(history: list[tuple[int, int]], hour: tuple[int, int]) -> Verdict:
    """The binomial test of `hour` = (evaluations, passes) against `history`, the
    (evaluations, passes) of the baseline hours."""
    base_n = sum(n for n, _ in history)
    base_k = sum(k for _, k in history)
    rate = (base_k + 1) / (base_n + 2)
    n, k = hour
    if base_n < MIN_BASELINE_EVALUATIONS or n < MIN_HOUR_EVALUATIONS:
        return Verdict(n, k, rate, None)
    return Verdict(n, k, rate, float(binom.sf(k - 1, n, rate)))


def next_state(current: str, verdict: Verdict) -> str:
    if verdict.p_value is None:
        return AlarmState.OK
    if verdict.p_value < SET_P_VALUE and verdict.passes >= MIN_PASSES:
        return AlarmState.ALARM
    if verdict.p_value >= CLEAR_P_VALUE:
        return AlarmState.OK
    return current


def check_rule(rule: Rule, now: datetime | None = None) -> RuleAlarm:
    """Test the last full hour of `rule` (once per hour) and record the state."""
    now = now or datetime.now(UTC)
    hour = queries.truncate(now, "hour") - timedelta(hours=1)
    with transaction.atomic():
        alarm = RuleAlarm.objects.select_for_update().filter(rule=rule).first()
        if alarm is not None and alarm.hour >= hour:
            return alarm
        counts = queries.rule_hourly_passes(
            rule.pk, hour - timedelta(hours=BASELINE_HOURS), hour + timedelta(hours=1)
        )
        verdict = test_hour(counts[:-1], counts[-1])
        if alarm is None:
            alarm = RuleAlarm(rule=rule, since=hour)
        state = next_state(alarm.state, verdict)
        if state != alarm.state:
            alarm.since = hour
            alarm.notified_at = None
        alarm.state = state
        alarm.hour = hour
        alarm.p_value = verdict.p_value
        alarm.evaluations = verdict.evaluations
        alarm.observed_passes = verdict.passes
        alarm.expected_passes = verdict.expected
        alarm.baseline_rate = verdict.baseline_rate
        alarm.save()
        if state == AlarmState.ALARM and alarm.notified_at is None and alarm.since == hour:
            in_transaction(email_alarm).defer(rule_id=rule.pk, since=hour.isoformat())
        return alarm


def check_all(now: datetime | None = None) -> None:
    for rule in Rule.objects.filter(status__in=[RuleStatus.LIVE, RuleStatus.BACKGROUND]):
        check_rule(rule, now)


def alarm_states(rule_ids: list[str]) -> dict[str, RuleAlarm]:
    """The alarm of each rule that has been tested (rules without one are not in the answer);
    for the rules list's alarm column."""
    return {a.rule_id: a for a in RuleAlarm.objects.filter(rule_id__in=rule_ids)}


def active_alarms() -> list[RuleAlarm]:
    return list(
        RuleAlarm.objects.filter(state=AlarmState.ALARM)
        .select_related("rule")
        .order_by("-since", "rule_id")
    )


@app.task(
    name="coop.insights_alarm_email",
    queue="maintenance",
    retry=RetryStrategy(max_attempts=6, exponential_wait=10),
)
def email_alarm(rule_id: str, since: str) -> None:
    """Email the rule's owner and the on-call address about the alarm episode begun `since`;
    nothing if the episode is over or was already announced."""
    with transaction.atomic():
        alarm = (
            RuleAlarm.objects.select_for_update(of=("self",))
            .select_related("rule__owner")
            .filter(rule_id=rule_id, state=AlarmState.ALARM, since=since, notified_at=None)
            .first()
        )
        if alarm is None:
            return
        recipients = recipients_of(alarm.rule)
        if not recipients:
            log.warning("rule %s is in alarm but has no owner and no on-call email is set", rule_id)
        else:
            send_mail(recipients, *message(alarm))
        alarm.notified_at = datetime.now(UTC)
        alarm.save(update_fields=["notified_at"])


def recipients_of(rule: Rule) -> list[str]:
    owner = rule.owner.email if rule.owner and rule.owner.is_active else None
    on_call = org_settings()["organization"]["onCallEmail"]
    return list(dict.fromkeys(e for e in (owner, on_call) if e))


def message(alarm: RuleAlarm) -> tuple[str, str]:
    rule = alarm.rule
    hour = alarm.hour.astimezone(UTC)
    subject = f"Rule alarm: {rule.name} passes far more often than usual"
    body = (
        f"The rule {rule.name} ({rule.pk}) passed {alarm.observed_passes} times in "
        f"{alarm.evaluations} evaluations between {hour:%Y-%m-%d %H:%M} and "
        f"{hour + timedelta(hours=1):%H:%M} UTC.\n"
        f"Its pass rate over the previous 7 days was {alarm.baseline_rate:.4%}, so about "
        f"{alarm.expected_passes:.1f} passes were expected (p = {alarm.p_value:.2g}).\n\n"
        f"Rule insights: {settings.BASE_URL}/insights/rules\n\n"
        "You get this email once per alarm; the alarm clears when the rate returns to normal."
    )
    return subject, body
