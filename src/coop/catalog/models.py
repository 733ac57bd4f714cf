"""Configuration objects: item types, policies, actions, banks, settings, and their history.

Every object has an administrator-chosen `id` (the id used on the wire) and a `version` that
grows with each change; `ConfigChange` keeps every version's full content with who and when.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from coop.core.enums import BankKind, ChangeOperation, ItemKind, Penalty

ID_LENGTH = 64


class ConfigObject(models.Model):
    id = models.CharField(primary_key=True, max_length=ID_LENGTH)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.id


class ItemType(ConfigObject):
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    description = models.TextField(blank=True)
    # [{"name", "type", "required", "items"?, "values"?}] in schema order (rules.md, item types)
    fields = models.JSONField(default=list)
    # {"creatorId": "author", ...}: role name -> field name
    roles = models.JSONField(default=dict)
    # Fields never shown to reviewers (e.g. internal scores, contact details).
    hidden_fields = ArrayField(models.CharField(max_length=200), default=list, blank=True)

    class Meta(ConfigObject.Meta):
        pass


class Policy(ConfigObject):
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    penalty = models.CharField(max_length=10, choices=Penalty.choices, default=Penalty.NONE)
    # Own strike weight; None inherits the parent's (1 at the root).
    strikes = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    guidelines = models.TextField(blank=True)

    class Meta(ConfigObject.Meta):
        verbose_name_plural = "policies"


class Action(ConfigObject):
    """A custom action (a webhook to the platform) or one of the built-in `coop.*` actions."""

    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    callback_url = models.URLField(max_length=2000, blank=True)
    # Header values may be {"secret": "ENV_NAME"} references, resolved when sending.
    headers = models.JSONField(default=dict, blank=True)
    body = models.JSONField(default=dict, blank=True)
    item_types = ArrayField(models.CharField(max_length=ID_LENGTH), default=list, blank=True)
    applies_strikes = models.BooleanField(default=False)
    # [{"name", "type", "required", "default"?}]
    parameters = models.JSONField(default=list, blank=True)

    class Meta(ConfigObject.Meta):
        pass


class Bank(ConfigObject):
    kind = models.CharField(max_length=10, choices=BankKind.choices)
    description = models.TextField(blank=True)
    signal_type = models.CharField(max_length=20, blank=True, help_text="HASH banks: pdq, md5")
    distance_threshold = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # HASH banks with an external HMA: the HMA exchange that fills the bank, as the file spells
    # it ({"api", "config", "credentials"}; credentials in coop.catalog.credentials' forms).
    exchange = models.JSONField(null=True, blank=True)

    class Meta(ConfigObject.Meta):
        pass


class BankEntry(models.Model):
    """One value of a bank: a string, a regex, a location or a hash."""

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    value = models.TextField(blank=True, help_text="TEXT/REGEX value, or a HASH")
    # LOCATION: {"name", "geohash"} | {"name", "lat", "lng", "radiusMiles"} | {"name", "bounds"}
    location = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["bank", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "position"], name="bank_entry_position")
        ]


class OrgSettings(models.Model):
    """The organisation's settings (config.md `settings` and `ncmec`), one row.

    `data` holds the non-secret settings exactly as the configuration file spells them.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    data = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "organisation settings"

    @classmethod
    def load(cls) -> OrgSettings:
        obj, _ = cls.objects.get_or_create(id=1)
        return obj


class ConfigChange(models.Model):
    """One version of one configuration object: who changed it, when, and its full content
    before and after (Settings → History shows the difference)."""

    kind = models.CharField(max_length=30)  # "itemTypes", "rules", ... as in the config file
    object_id = models.CharField(max_length=ID_LENGTH)
    version = models.PositiveIntegerField()
    operation = models.CharField(max_length=10, choices=ChangeOperation.choices)
    data = models.JSONField(null=True, help_text="The object after the change (None if deleted)")
    before = models.JSONField(
        null=True, blank=True, help_text="The object before the change (None if created)"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who ran `coop config apply` (operating-system user@host) when no Coop user is known.
    actor = models.CharField(max_length=200, blank=True, default="")
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, default="console")  # console | config-file | migration
    # What changed, in a line (coop.config.history.summarize), so lists need not read `data`.
    summary = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "object_id", "-version"]),
            models.Index(fields=["kind", "-id"], name="config_change_kind_id"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "version"], name="config_change_version"
            )
        ]
