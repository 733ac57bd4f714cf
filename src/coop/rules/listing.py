"""What the console's rules pages read: the filtered list with stars, and a rule's latest
passing samples from the execution log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coop.accounts.models import User
from coop.catalog.models import ConfigChange
from coop.core.enums import RuleStatus
from coop.rules.models import Rule, RuleExecution, RuleStar

EXPIRED = "EXPIRED"
SAMPLES = 20  # passing samples on a rule page
MAX_QUERY = 200


def shown_status(rule: Rule, now: datetime) -> str:
    """rules.md: a rule past `expiresAt` is EXPIRED (shown, not evaluated); an archived rule
    stays ARCHIVED."""
    expired = rule.expires_at is not None and rule.expires_at <= now
    return EXPIRED if expired and rule.status != RuleStatus.ARCHIVED else rule.status


@dataclass(frozen=True)
class RuleFilter:
    query: str = ""  # in the name, description or a tag
    status: str = ""  # a RuleStatus or EXPIRED
    tag: str = ""
    item_type: str = ""
    owner_id: int | None = None


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    status: str
    starred: bool
    changed_at: datetime
    changed_by: str  # email, or "" (the configuration file)


def rule_rows(user: User, wanted: RuleFilter, now: datetime) -> list[RuleRow]:
    """The rules matching `wanted`, the user's starred ones first, then by name. Rules are
    configuration (hundreds, not millions), so the text filters run here, over one query."""
    rules = Rule.objects.select_related("owner").order_by("name", "id")
    if wanted.item_type:
        rules = rules.filter(item_types__contains=[wanted.item_type])
    if wanted.tag:
        rules = rules.filter(tags__contains=[wanted.tag])
    if wanted.owner_id is not None:
        rules = rules.filter(owner_id=wanted.owner_id)
    needle = wanted.query.strip().casefold()[:MAX_QUERY]
    chosen = [
        rule
        for rule in rules
        if (not wanted.status or shown_status(rule, now) == wanted.status)
        and (
            not needle
            or needle in rule.name.casefold()
            or needle in rule.description.casefold()
            or any(needle in tag.casefold() for tag in rule.tags)
        )
    ]
    starred = set(
        RuleStar.objects.filter(user=user, rule__in=chosen).values_list("rule_id", flat=True)
    )
    last = {
        change.object_id: change
        for change in ConfigChange.objects.filter(
            kind="rules", object_id__in=[r.pk for r in chosen]
        )
        .select_related("changed_by")
        .only("object_id", "changed_at", "changed_by__email", "actor")
        .order_by("object_id", "-id")
        .distinct("object_id")
    }
    rows = []
    for rule in chosen:
        change = last.get(rule.pk)
        by = ""
        if change is not None:
            by = change.changed_by.email if change.changed_by else change.actor
        rows.append(
            RuleRow(
                rule,
                shown_status(rule, now),
                rule.pk in starred,
                change.changed_at if change else rule.updated_at,
                by,
            )
        )
    rows.sort(key=lambda row: not row.starred)  # stable: by name within each group
    return rows


def all_tags() -> list[str]:
    tags: set[str] = set()
    for rule_tags in Rule.objects.values_list("tags", flat=True):
        tags.update(rule_tags)
    return sorted(tags, key=str.casefold)


def is_starred(rule: Rule, user: User) -> bool:
    return RuleStar.objects.filter(user=user, rule=rule).exists()


def star(rule: Rule, user: User, starred: bool) -> None:
    """Star (or unstar) a rule for this user; repeating is harmless."""
    if starred:
        RuleStar.objects.get_or_create(user=user, rule=rule)
    else:
        RuleStar.objects.filter(user=user, rule=rule).delete()


def passing_samples(rule_id: str, limit: int = SAMPLES) -> list[RuleExecution]:
    """The rule's latest passing evaluations, newest first (the `rule_exec_passed` index)."""
    return list(
        RuleExecution.objects.filter(rule_id=rule_id, outcome="PASSED").order_by("-created_at")[
            :limit
        ]
    )
