"""The delta outbox, the hourly rollups the dashboards read, and rule alarms.

Database triggers on the event tables (`coop.insights.triggers`) append per-statement counts to
`Delta` in the inserting transaction; the worker folds deltas into the hourly tables
(`coop.insights.fold`). Every rollup row is keyed by the hour (UTC) and its dimensions; `""` in
a dimension means "none" (no policy, no reviewer).
"""

from __future__ import annotations

from django.db import models

from coop.catalog.models import ID_LENGTH


class Delta(models.Model):
    """Counts not yet folded. `kind` says which rollup they go to; k1..k3 are its dimensions
    and n1..n3 its counts, in the order `coop.insights.fold` reads them."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16)
    hour = models.DateTimeField()
    k1 = models.TextField(default="")
    k2 = models.TextField(default="")
    k3 = models.TextField(default="")
    n1 = models.BigIntegerField(default=0)
    n2 = models.BigIntegerField(default=0)
    n3 = models.BigIntegerField(default=0)


class Rollup(models.Model):
    """One hour of counts, keyed by the other fields (folded from Delta by coop.insights.fold)."""

    hour = models.DateTimeField()

    class Meta:
        abstract = True


class VisibleRollup(Rollup):
    """A rollup whose child-safety events (coop.review.visibility) are counted apart: only
    users who may see them see them counted."""

    child_safety = models.BooleanField(default=False)

    class Meta:
        abstract = True


class RuleHour(Rollup):
    """Logged rule executions of one rule in one hour and environment (LIVE, BACKGROUND...)."""

    rule_id = models.CharField(max_length=ID_LENGTH)
    environment = models.CharField(max_length=12)
    evaluations = models.BigIntegerField(default=0)
    passes = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "rule_id", "environment"], name="insights_rulehour_key"
            )
        ]
        indexes = [models.Index(fields=["rule_id", "hour"], name="insights_rulehour_rule")]


class RuleActionHour(VisibleRollup):
    """Executed action executions fired by one rule in one hour (an execution fired by two
    rules counts for each)."""

    rule_id = models.CharField(max_length=ID_LENGTH)
    actions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "rule_id", "child_safety"], name="insights_ruleactionhour_key"
            )
        ]
        indexes = [models.Index(fields=["rule_id", "hour"], name="insights_ruleactionhour_rule")]


class ActionHour(Rollup):
    """Action executions of one action from one source in one hour."""

    action_id = models.CharField(max_length=ID_LENGTH)
    source = models.CharField(max_length=12)
    executed = models.BigIntegerField(default=0)
    refused = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "action_id", "source"], name="insights_actionhour_key"
            )
        ]


class ActionPolicyHour(Rollup):
    """Executed action executions per policy ("" for none) of one action and source."""

    policy_id = models.CharField(max_length=ID_LENGTH)
    action_id = models.CharField(max_length=ID_LENGTH)
    source = models.CharField(max_length=12)
    executed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "policy_id", "action_id", "source"],
                name="insights_actionpolicyhour_key",
            )
        ]


class JobHour(VisibleRollup):
    """Review jobs created in one queue, by the job's source."""

    queue_id = models.CharField(max_length=ID_LENGTH)
    source = models.CharField(max_length=10)
    created = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "source", "child_safety"], name="insights_jobhour_key"
            )
        ]


class DecisionHour(VisibleRollup):
    """Decisions on jobs in one queue by one reviewer ("" for automatic closes)."""

    queue_id = models.CharField(max_length=ID_LENGTH)
    reviewer_id = models.CharField(max_length=40)
    decided = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "reviewer_id", "child_safety"],
                name="insights_decisionhour_key",
            )
        ]


class DecisionPolicyHour(VisibleRollup):
    """Decisions on jobs in one queue under one policy ("" for none)."""

    queue_id = models.CharField(max_length=ID_LENGTH)
    policy_id = models.CharField(max_length=ID_LENGTH)
    decided = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "policy_id", "child_safety"],
                name="insights_decisionpolicyhour_key",
            )
        ]


class DecisionTimeHour(VisibleRollup):
    """A histogram of time to decision per queue: `bucket` 0 holds [0 s, 1 s), bucket b >= 1
    holds [2^((b-1)/4) s, 2^(b/4) s) (see `coop.insights.histogram`)."""

    queue_id = models.CharField(max_length=ID_LENGTH)
    bucket = models.PositiveSmallIntegerField()
    decided = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "bucket", "child_safety"],
                name="insights_decisiontimehour_key",
            )
        ]


class SkipHour(VisibleRollup):
    queue_id = models.CharField(max_length=ID_LENGTH)
    skips = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "child_safety"], name="insights_skiphour_key"
            )
        ]


class QueueDepth(VisibleRollup):
    """Pending jobs of one queue at the last sample taken in the hour."""

    queue_id = models.CharField(max_length=ID_LENGTH)
    pending = models.BigIntegerField()
    sampled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "queue_id", "child_safety"], name="insights_queuedepth_key"
            )
        ]


class AlarmState(models.TextChoices):
    OK = "OK"
    ALARM = "ALARM"


class RuleAlarm(models.Model):
    """The anomaly alarm of one rule (rules.md): set when the last full hour's passes are
    improbably many for the rule's recent pass rate, cleared when they are not."""

    rule = models.OneToOneField("rules.Rule", on_delete=models.CASCADE, related_name="alarm")
    state = models.CharField(max_length=8, choices=AlarmState.choices, default=AlarmState.OK)
    since = models.DateTimeField()  # when the current state began
    hour = models.DateTimeField()  # the hour last tested
    p_value = models.FloatField(null=True)
    observed_passes = models.BigIntegerField(default=0)
    evaluations = models.BigIntegerField(default=0)
    expected_passes = models.FloatField(default=0)
    baseline_rate = models.FloatField(default=0)
    notified_at = models.DateTimeField(null=True)  # the e-mail of the current episode
