"""User strikes (rules.md, user strikes): policy weights, totals, and threshold crossing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from coop.catalog.models import Policy
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, StrikeRecord

ROOT_WEIGHT = 1


def policy_weights(policies: Iterable[Policy]) -> dict[str, int]:
    """Each policy's strike weight: its own, else its nearest ancestor's, else 1."""
    by_id = {p.id: p for p in policies}

    def weight(policy: Policy, seen: frozenset[str]) -> int:
        if policy.strikes is not None:
            return policy.strikes
        parent = by_id.get(policy.parent_id) if policy.parent_id else None
        if parent is None or parent.id in seen:
            return ROOT_WEIGHT
        return weight(parent, seen | {policy.id})

    return {pid: weight(p, frozenset()) for pid, p in by_id.items()}


def user_strike_total(user: ItemRef) -> int:
    """The user's current strike total: the sum of the unexpired strike records."""
    # Raw SQL: the rules engine asks this once per evaluated item with an author.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(weight), 0) FROM enforcement_strikerecord"
            " WHERE user_type_id = %s AND user_id = %s AND expires_at > %s",
            [user.item_type_id, user.item_id, timezone.now()],
        )
        return cursor.fetchone()[0]


def user_strike_totals(users: Iterable[ItemRef]) -> dict[ItemRef, int]:
    """`user_strike_total` of many users in one query (0 for users without strikes)."""
    users = set(users)
    if not users:
        return {}
    totals = dict.fromkeys(users, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.user_type_id, s.user_id, SUM(s.weight) FROM enforcement_strikerecord s"
            " JOIN unnest(%s::text[], %s::text[]) AS u(type_id, id)"
            " ON s.user_type_id = u.type_id AND s.user_id = u.id"
            " WHERE s.expires_at > %s GROUP BY 1, 2",
            [
                [u.item_type_id for u in users],
                [u.item_id for u in users],
                timezone.now(),
            ],
        )
        for type_id, user_id, total in cursor.fetchall():
            totals[ItemRef(user_id, type_id)] = total
    return totals


def _lock_key(user: ItemRef) -> int:
    digest = hashlib.blake2b(
        f"coop.strikes\0{user.item_type_id}\0{user.item_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class StrikeOutcome:
    before: int
    after: int
    threshold: dict[str, Any] | None  # the highest threshold crossed, if any


def add_strike(
    user: ItemRef,
    weight: int,
    policy_id: str,
    execution: ActionExecution,
    strike_settings: dict[str, Any],
) -> StrikeOutcome:
    """Record one strike event and report the highest threshold it crossed.

    A transaction-scoped advisory lock per user serialises concurrent strikes on the same
    user, so reading the total and adding to it are one step: two concurrent events can
    neither both fire nor both skip a threshold. Call inside a transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(user)])
    before = user_strike_total(user)
    now = timezone.now()
    StrikeRecord.objects.create(
        user_id=user.item_id,
        user_type_id=user.item_type_id,
        weight=weight,
        policy_id=policy_id,
        execution=execution,
        created_at=now,
        expires_at=now + timedelta(days=strike_settings["ttlDays"]),
    )
    after = before + weight
    crossed = [t for t in strike_settings["thresholds"] if before < t["score"] <= after]
    highest = max(crossed, key=lambda t: t["score"]) if crossed else None
    return StrikeOutcome(before, after, highest)


TOP_BUCKET = 20  # totals from this one up are counted together


def total_distribution() -> list[tuple[int, int]]:
    """(current total, users with it) over every user with unexpired strikes, totals of
    TOP_BUCKET and more counted as TOP_BUCKET: at most TOP_BUCKET rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT LEAST(total, %s), count(*) FROM ("
            " SELECT SUM(weight) AS total FROM enforcement_strikerecord"
            " WHERE expires_at > %s GROUP BY user_type_id, user_id) t"
            " GROUP BY 1 ORDER BY 1",
            [TOP_BUCKET, timezone.now()],
        )
        return [(int(total), count) for total, count in cursor.fetchall()]


def highest_totals(limit: int = 20) -> list[tuple[ItemRef, int]]:
    """The users with the highest current totals."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_type_id, user_id, SUM(weight) AS total FROM enforcement_strikerecord"
            " WHERE expires_at > %s GROUP BY 1, 2 ORDER BY total DESC, 1, 2 LIMIT %s",
            [timezone.now(), limit],
        )
        return [(ItemRef(uid, tid), int(total)) for tid, uid, total in cursor.fetchall()]
