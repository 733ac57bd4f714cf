from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from coop.catalog.models import ID_LENGTH, ConfigObject
from coop.core.enums import Environment, RoutingKind, RuleStatus


class Rule(ConfigObject):
    """A proactive rule: a condition over items of some types, and what to do when it passes."""

    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    item_types = ArrayField(models.CharField(max_length=ID_LENGTH), default=list)
    policies = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    # [{"id": action id, "parameters": {...}}]
    actions = models.JSONField(default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_daily_actions = models.PositiveIntegerField(null=True, blank=True)
    condition = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(ConfigObject.Meta):
        indexes = [models.Index(fields=["status"])]


class RoutingRule(ConfigObject):
    """Chooses the queue of a new job. Evaluated in `position` order; the first match wins."""

    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=RoutingKind.choices)
    position = models.PositiveIntegerField()
    item_types = ArrayField(models.CharField(max_length=ID_LENGTH), default=list)
    queue = models.ForeignKey("review.Queue", on_delete=models.PROTECT, related_name="+")
    condition = models.JSONField(default=dict)

    class Meta:
        ordering = ["kind", "position"]


class RuleExecution(models.Model):
    """One evaluation of one rule version on one item submission (append-only log).

    Written with COPY in bulk by the evaluation task; read by rule pages and investigation.
    """

    id = models.BigAutoField(primary_key=True)
    rule_id = models.CharField(max_length=ID_LENGTH)
    rule_version = models.PositiveIntegerField()
    environment = models.CharField(max_length=12, choices=Environment.choices)
    submission_id = models.BigIntegerField()
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    outcome = models.CharField(max_length=12)  # PASSED | FAILED | INAPPLICABLE | ERRORED
    over_limit = models.BooleanField(default=False)
    # The condition tree with each node's outcome (evaluator's ConditionResult.to_dict()).
    result = models.JSONField()
    duration_us = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["rule_id", "-created_at"], name="rule_exec_rule"),
            # Investigation: one item's executions, newest first.
            models.Index(
                fields=["item_type_id", "item_id", "-created_at"], name="rule_exec_item_time"
            ),
            # The rule page's latest passing samples: one short range scan however rarely
            # the rule passes.
            models.Index(
                fields=["rule_id", "-created_at"],
                name="rule_exec_passed",
                condition=models.Q(outcome="PASSED"),
            ),
        ]


class RuleStar(models.Model):
    """A rule a user starred: listed first on their rules page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "rule"], name="one_star_per_user_and_rule")
        ]


class RuleDailyActions(models.Model):
    """How often a LIVE rule fired on one UTC day, for its exact `maxDailyActions` limit."""

    rule_id = models.CharField(max_length=ID_LENGTH)
    day = models.DateField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule_id", "day"], name="rule_day")]


class RoutingDecision(models.Model):
    """Which routing rule chose a new job's queue (None: the default queue)."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=10, choices=RoutingKind.choices)
    job_id = models.UUIDField()
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    source = models.CharField(max_length=10)
    routing_rule_id = models.CharField(max_length=ID_LENGTH, blank=True)
    routing_rule_version = models.PositiveIntegerField(null=True, blank=True)
    queue_id = models.CharField(max_length=ID_LENGTH)
    # [{rule id, version, outcome, result tree}] for every routing rule evaluated, in order.
    evaluations = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job_id"], name="routing_decision_job")]
