"""The exact daily limit of a LIVE rule (`maxDailyActions`)."""

from __future__ import annotations

from datetime import date

from django.db import connection

_TAKE_SLOT = """
INSERT INTO rules_ruledailyactions AS d (rule_id, day, count) VALUES (%s, %s, 1)
ON CONFLICT (rule_id, day) DO UPDATE SET count = d.count + 1 WHERE d.count < %s
RETURNING count
"""


def take_daily_slot(rule_id: str, limit: int | None, day: date) -> bool:
    """Count one firing of the rule today; False when the limit is already reached.

    One statement: concurrent workers serialise on the (rule, day) row, so the limit is exact.
    Runs in the caller's transaction, so a rolled-back evaluation gives its slot back.
    """
    if limit is None:
        return True
    if limit <= 0:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SLOT, [rule_id, day, limit])
        return cursor.fetchone() is not None
