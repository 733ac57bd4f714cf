from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from coop.catalog.models import ID_LENGTH, ConfigObject


class RuleStatus(models.TextChoices):
    LIVE = "LIVE"
    BACKGROUND = "BACKGROUND"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


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


class RoutingKind(models.TextChoices):
    ROUTING = "ROUTING"
    APPEAL = "APPEAL"


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
