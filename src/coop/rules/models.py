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


class RunKind(models.TextChoices):
    BACKTEST = "BACKTEST", "Backtest"
    RETROACTION = "RETROACTION", "Retroaction"


class RunStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting for a worker"
    RUNNING = "RUNNING", "Running"
    COMPLETE = "COMPLETE", "Complete"
    CANCELED = "CANCELED", "Canceled"
    FAILED = "FAILED", "Failed"


class RuleRun(models.Model):
    """A backtest or a retroaction of one rule over stored submissions (rules.md).

    The worker works it in chunks (coop.rules.run_tasks); each chunk commits its results with
    `cursor` (the last submission id done) and `step`, so a worker killed mid-run is resumed
    from the last committed chunk by whichever worker retries the job.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=12, choices=RunKind.choices)
    rule_id = models.CharField(max_length=ID_LENGTH)
    # The saved version evaluated; None for a backtest of a definition being edited.
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    # The rule as evaluated, spelled as in the configuration file (name, itemTypes,
    # condition, policies, actions), already validated.
    definition = models.JSONField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    requested = models.PositiveIntegerField()  # the sample size asked for, capped
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    cancel_requested = models.BooleanField(default=False)
    # The selection, fixed by the first step: submissions with ids up to `last_id` and, when
    # the window holds more than `requested`, a sample hash (seeded) at most `threshold`.
    selected = models.PositiveIntegerField(null=True, blank=True)
    last_id = models.BigIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(default=0)
    threshold = models.BigIntegerField(null=True, blank=True)
    step = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    evaluated = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    # Retroaction: executions it made, and those already made before (same idempotency key).
    actions_executed = models.PositiveIntegerField(default=0)
    actions_repeated = models.PositiveIntegerField(default=0)
    actions_refused = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["rule_id", "-created_at"], name="rule_run_rule")]

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.COMPLETE, RunStatus.CANCELED, RunStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == RunStatus.COMPLETE:
            return 100
        if not self.selected:
            return 0
        return min(100, self.evaluated * 100 // self.selected)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.evaluated if self.evaluated else None

    @property
    def pass_rate_text(self) -> str:
        """The pass rate as shown: "3.25%", or a dash before anything was evaluated."""
        rate = self.pass_rate
        return "—" if rate is None else f"{rate * 100:.2f}%"


class RuleRunSample(models.Model):
    """A passing submission of a run with its condition tree result (the first few kept)."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="samples")
    submission_id = models.BigIntegerField()
    item_id = models.CharField(max_length=255)
    item_type_id = models.CharField(max_length=64)
    submitted_at = models.DateTimeField()
    result = models.JSONField()

    class Meta:
        ordering = ["run", "submission_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "submission_id"], name="rule_run_sample_once")
        ]
