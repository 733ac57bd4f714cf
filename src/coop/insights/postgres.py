"""The PostgreSQL backend of `coop.insights.queries`: reads only the hourly rollups (a window of
92 days touches at most 2,208 hours per key), from the replica when one is configured."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.db import connections

from coop.insights import histogram
from coop.insights.queries import (
    BUCKET_LENGTH,
    ActionTotals,
    DecisionTime,
    KeyCount,
    RuleActivity,
    RuleTotals,
    Series,
    Window,
    truncate,
)
from coop.insights.replica import read_alias

# Table and column names below are constants of this module; values always go as parameters.
# What child_safety=False leaves out (coop.review.visibility), per kind of rollup.
_NO_CS_ACTIONS = "AND action_id <> 'coop.ncmec' "
_NO_CS = "AND NOT child_safety "


def _cs(child_safety: bool, clause: str = _NO_CS) -> str:
    return "" if child_safety else clause


# The bucket index of a row: whole hours or days since the window's start (the first parameter).
_INDEX = {
    "hour": "(extract(epoch FROM hour - %s) / 3600)::int",
    "day": "floor(extract(epoch FROM hour - %s) / 86400)::int",
}


def _rows(sql: str, params: list) -> list[tuple]:
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _series(
    window: Window, table: str, key: str, value: str, where: str = "", params: list | None = None
) -> list[Series]:
    """One series per `key` of sum(`value`) per bucket, the largest total first."""
    sql = (
        f"SELECT {_INDEX[window.bucket]} AS b, {key} AS k, sum({value})::bigint "  # noqa: S608
        f"FROM {table} WHERE hour >= %s AND hour < %s {where} GROUP BY 1, 2"
    )
    return _to_series(window, _rows(sql, [window.start, window.start, window.end, *(params or [])]))


def _to_series(window: Window, rows: list[tuple]) -> list[Series]:
    """`rows` are (bucket index, key, value): indexes, not timestamps, come back from the
    database (turning tens of thousands of timestamps into datetimes costs more than the query)."""
    size = len(window.buckets())
    values: dict[str, list[int]] = defaultdict(lambda: [0] * size)
    for index, key, value in rows:
        values[key][index] += value
    series = [Series(key, tuple(v)) for key, v in values.items()]
    return sorted(series, key=lambda s: (-s.total, s.key))


def action_totals(window: Window, *, child_safety: bool = True) -> ActionTotals:
    rows = _rows(
        "SELECT source, sum(executed), sum(refused) FROM insights_actionhour "  # noqa: S608
        f"WHERE hour >= %s AND hour < %s {_cs(child_safety, _NO_CS_ACTIONS)}GROUP BY source",
        [window.start, window.end],
    )
    by_source = {source: int(executed) for source, executed, _ in rows if executed}
    return ActionTotals(by_source, sum(int(refused) for _, _, refused in rows))


def actions_over_time(
    window: Window, by: Literal["source", "action", "policy"], *, child_safety: bool = True
) -> list[Series]:
    where = _cs(child_safety, _NO_CS_ACTIONS)
    if by == "policy":
        return _series(window, "insights_actionpolicyhour", "policy_id", "executed", where)
    key = {"source": "source", "action": "action_id"}[by]
    return _series(window, "insights_actionhour", key, "executed", f"AND executed > 0 {where}")


def top_policies(window: Window, limit: int = 10, *, child_safety: bool = True) -> list[KeyCount]:
    rows = _rows(
        "SELECT policy_id, sum(executed) AS n FROM insights_actionpolicyhour "  # noqa: S608
        "WHERE hour >= %s AND hour < %s AND policy_id <> '' "
        f"{_cs(child_safety, _NO_CS_ACTIONS)}GROUP BY policy_id "
        "ORDER BY n DESC, policy_id LIMIT %s",
        [window.start, window.end, limit],
    )
    return [KeyCount(policy, int(n)) for policy, n in rows]


def rule_totals(
    window: Window, rule_ids: list[str] | None = None, *, child_safety: bool = True
) -> list[RuleTotals]:
    where, params = (
        ("AND rule_id = ANY(%s)", [list(rule_ids)]) if rule_ids is not None else ("", [])
    )
    counts = _rows(
        "SELECT rule_id, sum(evaluations), sum(passes), sum(errors) FROM insights_rulehour "  # noqa: S608
        f"WHERE hour >= %s AND hour < %s {where} GROUP BY rule_id",
        [window.start, window.end, *params],
    )
    actions = dict(
        _rows(
            "SELECT rule_id, sum(actions) FROM insights_ruleactionhour "  # noqa: S608
            f"WHERE hour >= %s AND hour < %s {where} {_cs(child_safety)}GROUP BY rule_id",
            [window.start, window.end, *params],
        )
    )
    totals = {
        rule: RuleTotals(rule, int(e), int(p), int(x), int(actions.pop(rule, 0)))
        for rule, e, p, x in counts
    }
    for rule, n in actions.items():  # actions of a rule whose executions are outside the window
        totals[rule] = RuleTotals(rule, 0, 0, 0, int(n))
    return sorted(totals.values(), key=lambda t: (-t.passes, -t.evaluations, t.rule_id))


def rules_over_time(
    window: Window,
    metric: Literal["evaluations", "passes", "errors", "actions"],
    *,
    child_safety: bool = True,
) -> list[Series]:
    if metric == "actions":
        return _series(window, "insights_ruleactionhour", "rule_id", "actions", _cs(child_safety))
    column = {"evaluations": "evaluations", "passes": "passes", "errors": "errors"}[metric]
    return _series(window, "insights_rulehour", "rule_id", column, f"AND {column} > 0")


def rule_activity(rule_ids: list[str], days: int = 14) -> dict[str, tuple[int, ...]]:
    window = Window.last(timedelta(days=days), "day")
    found = {
        s.key: s.values
        for s in _series(
            window, "insights_rulehour", "rule_id", "passes", "AND rule_id = ANY(%s)", [rule_ids]
        )
    }
    empty = (0,) * len(window.buckets())
    return {rule: found.get(rule, empty) for rule in rule_ids}


def rule_activity_series(
    rule_id: str, window: Window, *, child_safety: bool = True
) -> RuleActivity:
    empty = (0,) * len(window.buckets())

    def one(table: str, column: str, where: str = "") -> tuple[int, ...]:
        found = _series(window, table, "rule_id", column, f"AND rule_id = %s {where}", [rule_id])
        return found[0].values if found else empty

    environments = _rows(
        "SELECT DISTINCT environment FROM insights_rulehour "
        "WHERE rule_id = %s AND hour >= %s AND hour < %s ORDER BY 1",
        [rule_id, window.start, window.end],
    )
    return RuleActivity(
        rule_id,
        window,
        evaluations=one("insights_rulehour", "evaluations"),
        passes=one("insights_rulehour", "passes"),
        errors=one("insights_rulehour", "errors"),
        actions=one("insights_ruleactionhour", "actions", _cs(child_safety)),
        environments=tuple(e for (e,) in environments),
    )


def rule_hourly_passes(rule_id: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    start, end = truncate(start, "hour"), truncate(end, "hour")
    rows = _rows(
        "SELECT hour, sum(evaluations), sum(passes) FROM insights_rulehour "
        "WHERE rule_id = %s AND hour >= %s AND hour < %s GROUP BY hour",
        [rule_id, start, end],
    )
    found = {hour.astimezone(UTC): (int(e), int(p)) for hour, e, p in rows}
    step = BUCKET_LENGTH["hour"]
    hours = int((end - start) / step)
    return [found.get(start + i * step, (0, 0)) for i in range(hours)]


def jobs_created(window: Window, *, child_safety: bool = True) -> list[Series]:
    return _series(window, "insights_jobhour", "queue_id", "created", _cs(child_safety))


def jobs_decided(window: Window, *, child_safety: bool = True) -> list[Series]:
    return _series(window, "insights_decisionhour", "queue_id", "decided", _cs(child_safety))


def decisions_by_moderator(window: Window, *, child_safety: bool = True) -> list[Series]:
    return _series(window, "insights_decisionhour", "reviewer_id", "decided", _cs(child_safety))


def decisions_by_policy(window: Window, *, child_safety: bool = True) -> list[Series]:
    return _series(window, "insights_decisionpolicyhour", "policy_id", "decided", _cs(child_safety))


def skips(window: Window, *, child_safety: bool = True) -> list[Series]:
    return _series(window, "insights_skiphour", "queue_id", "skips", _cs(child_safety))


def time_to_decision(window: Window, *, child_safety: bool = True) -> list[DecisionTime]:
    rows = _rows(
        "SELECT queue_id, bucket, sum(decided) FROM insights_decisiontimehour "  # noqa: S608
        f"WHERE hour >= %s AND hour < %s {_cs(child_safety)}GROUP BY 1, 2",
        [window.start, window.end],
    )
    by_queue: dict[str, dict[int, int]] = defaultdict(dict)
    for queue, bucket, n in rows:
        by_queue[queue][bucket] = int(n)
    times = [
        DecisionTime(
            queue,
            sum(counts.values()),
            histogram.quantile(counts, 0.5),
            histogram.quantile(counts, 0.9),
        )
        for queue, counts in by_queue.items()
    ]
    return sorted(times, key=lambda t: (-t.decided, t.queue_id))


def queue_depth(window: Window, *, child_safety: bool = True) -> list[Series]:
    """The last sample of each bucket per queue (an hour holds one sample; a day its last);
    without child-safety data, the NCMEC queue is left out."""
    hidden = (
        ""
        if child_safety
        else "AND NOT child_safety AND queue_id IS DISTINCT FROM insights_ncmec_queue() "
    )
    rows = _rows(
        "SELECT DISTINCT ON (queue_id, b) b, queue_id, pending FROM ("  # noqa: S608
        f"SELECT {_INDEX[window.bucket]} AS b, hour, queue_id, sum(pending)::bigint AS pending "
        f"FROM insights_queuedepth WHERE hour >= %s AND hour < %s {hidden}"
        "GROUP BY 1, 2, 3) t ORDER BY queue_id, b, hour DESC",
        [window.start, window.start, window.end],
    )
    series = _to_series(window, rows)
    # Ordered by the latest depth, not the sum of samples.
    return sorted(series, key=lambda s: (-s.values[-1], s.key))
