"""Folding the delta outbox into the hourly rollups (the worker's job, never a page view's).

One statement takes a bounded batch of committed deltas, deletes them and adds them to the
rollups (INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE), so a crash anywhere leaves
either all of a batch folded or none of it. Out-of-order commits need no watermark: a delta
becomes visible when its event's transaction commits, whatever its id, and is folded by the
next run; an event whose transaction rolls back leaves no delta. An advisory lock keeps one
folder at a time (two would only wait on each other's rollup rows).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

FOLD_BATCH = 20_000  # deltas per statement
FOLD_LOCK = 0x1A5167  # pg_advisory_xact_lock key of the folder


def _upsert(table: str, kind: str, columns: list[str], sums: list[str], sources: list[str]) -> str:
    """An INSERT of the batch's `kind` rows into `table`, grouped by hour and `columns`."""
    keys = ", ".join(["hour", *columns])
    selected = ", ".join(["hour", *sources[: len(columns)]])
    totals = ", ".join(f"sum({s})" for s in sources[len(columns) :])
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    return (
        f"INSERT INTO {table} ({keys}, {', '.join(sums)}) "  # noqa: S608 (constants only)
        f"SELECT {selected}, {totals} FROM batch WHERE kind = '{kind}' "
        f"GROUP BY {selected} ORDER BY {selected} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )


UPSERTS = [
    _upsert(
        "insights_rulehour",
        "rule",
        ["rule_id", "environment"],
        ["evaluations", "passes", "errors"],
        ["k1", "k2", "n1", "n2", "n3"],
    ),
    _upsert(
        "insights_ruleactionhour",
        "rule_action",
        ["rule_id", "child_safety"],
        ["actions"],
        ["k1", "(k2 = 't')", "n1"],
    ),
    _upsert(
        "insights_actionhour",
        "action",
        ["action_id", "source"],
        ["executed", "refused"],
        ["k1", "k2", "n1", "n2"],
    ),
    _upsert(
        "insights_actionpolicyhour",
        "action_policy",
        ["policy_id", "action_id", "source"],
        ["executed"],
        ["k1", "k2", "k3", "n1"],
    ),
    _upsert(
        "insights_jobhour",
        "job",
        ["queue_id", "source", "child_safety"],
        ["created"],
        ["k1", "k2", "(k3 = 't')", "n1"],
    ),
    _upsert(
        "insights_decisionhour",
        "decision",
        ["queue_id", "reviewer_id", "child_safety"],
        ["decided"],
        ["k1", "k2", "(k3 = 't')", "n1"],
    ),
    _upsert(
        "insights_decisionpolicyhour",
        "decision_policy",
        ["queue_id", "policy_id", "child_safety"],
        ["decided"],
        ["k1", "k2", "(k3 = 't')", "n1"],
    ),
    _upsert(
        "insights_decisiontimehour",
        "decision_time",
        ["queue_id", "bucket", "child_safety"],
        ["decided"],
        ["k1", "k2::smallint", "(k3 = 't')", "n1"],
    ),
    _upsert(
        "insights_skiphour",
        "skip",
        ["queue_id", "child_safety"],
        ["skips"],
        ["k1", "(k2 = 't')", "n1"],
    ),
]

# Events counted once per delta kind: a rule execution is one 'rule' count, an action execution
# one 'action' count (executed or refused), a job, a decision and a skip one count each.
EVENT_COUNT = (
    "coalesce(sum(n1 + n2) FILTER (WHERE kind = 'action'), 0)"
    " + coalesce(sum(n1) FILTER (WHERE kind IN ('rule', 'job', 'decision', 'skip')), 0)"
)

FOLD_SQL = (
    # = ANY(ARRAY(...)): a primary-key lookup whatever the statistics say (an IN (subquery)
    # planned from the outbox's usual emptiness becomes a nested loop over a full one).
    "WITH batch AS (DELETE FROM insights_delta WHERE id = ANY(ARRAY(SELECT id FROM insights_delta "  # noqa: S608
    "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)) RETURNING kind, hour, k1, k2, k3, n1, n2, n3)"
    + "".join(f", u{i} AS ({sql})" for i, sql in enumerate(UPSERTS))
    + f" SELECT count(*), {EVENT_COUNT} FROM batch"  # noqa: S608
)

SAMPLE_DEPTH_SQL = """
INSERT INTO insights_queuedepth (hour, queue_id, child_safety, pending, sampled_at)
SELECT date_trunc('hour', now(), 'UTC'), q.id, cs.flag, coalesce(n.pending, 0), now()
FROM review_queue q
CROSS JOIN (VALUES (false), (true)) AS cs(flag)
LEFT JOIN (
    SELECT j.queue_id,
           coalesce(j.kind = 'NCMEC' OR j.queue_id = insights_ncmec_queue() OR EXISTS (
               SELECT 1 FROM review_report r WHERE r.job_id = j.id AND r.csam), false) AS flag,
           count(*) AS pending
    FROM review_job j WHERE j.status = 'PENDING' GROUP BY 1, 2
) n ON n.queue_id = q.id AND n.flag = cs.flag
ON CONFLICT (hour, queue_id, child_safety) DO UPDATE
SET pending = EXCLUDED.pending, sampled_at = EXCLUDED.sampled_at
"""


@dataclass(frozen=True)
class FoldResult:
    deltas: int  # outbox rows folded
    events: int  # the events they counted

    def __add__(self, other: FoldResult) -> FoldResult:
        return FoldResult(self.deltas + other.deltas, self.events + other.events)


def fold_batch(limit: int = FOLD_BATCH) -> FoldResult | None:
    """Fold up to `limit` deltas in one transaction; None when another folder holds the lock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(FOLD_SQL, [limit])
        deltas, events = cursor.fetchone()
        return FoldResult(deltas, int(events))


def fold(limit: int = FOLD_BATCH, max_batches: int = 50) -> FoldResult:
    """Fold until the outbox is empty (or `max_batches` batches, so one run stays bounded)."""
    total = FoldResult(0, 0)
    for _ in range(max_batches):
        result = fold_batch(limit)
        if result is None:
            break
        total += result
        if result.deltas < limit:
            break
    return total


def sample_queue_depth() -> None:
    """Record every queue's pending jobs as the current hour's depth (the last sample wins)."""
    with connection.cursor() as cursor:
        cursor.execute(SAMPLE_DEPTH_SQL)
