"""The ClickHouse backend of `coop.insights.queries` (COOP_WAREHOUSE=clickhouse): the same
functions and answers as the PostgreSQL rollups, computed from the mirrored events.

Every read uses FINAL, so an event the shipper sent twice counts once. Buckets are UTC hours
or days (the tables' DateTime64 columns are in UTC). Queue depth is not an event: it is the
worker's samples in PostgreSQL, read there. ClickHouse unreachable: the same function of the
PostgreSQL rollups answers (the worker maintains them whatever the warehouse), so a dashboard
shows its figures, minus nothing, rather than an error.

insights.queries picks this module by name (its BACKENDS registry), so warehouse sits above
insights in the layers and may import its types.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, ParamSpec, TypeVar

from clickhouse_connect.driver.exceptions import OperationalError

from coop.insights import histogram
from coop.insights import postgres as rollups
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
from coop.warehouse import clickhouse

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


RETRY_AFTER_SECONDS = 30.0  # after a failure, the rollups answer this long without trying
_unreachable_until = 0.0


def _or_rollups(function: Callable[P, R]) -> Callable[P, R]:
    """Answer from the PostgreSQL rollups' function of the same name when ClickHouse cannot
    be reached (connection refused, timeouts, 5xx), and for RETRY_AFTER_SECONDS after: a page
    of fifteen figures waits for one timeout, not fifteen."""

    @functools.wraps(function)
    def answer(*args: P.args, **kwargs: P.kwargs) -> R:
        global _unreachable_until
        if time.monotonic() >= _unreachable_until:
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                _unreachable_until = time.monotonic() + RETRY_AFTER_SECONDS
                log.warning(
                    "ClickHouse unavailable, %s read from PostgreSQL: %s", function.__name__, error
                )
        return getattr(rollups, function.__name__)(*args, **kwargs)

    return answer


_BUCKET = {"hour": "toStartOfHour(created_at)", "day": "toStartOfDay(created_at)"}
_IN_WINDOW = (
    "created_at >= {start:DateTime64(6, 'UTC')} AND created_at < {end:DateTime64(6, 'UTC')}"
)
# One row per policy, or one under "" when there is none (as the rollups count them).
_POLICY = "arrayJoin(if(empty(policy_ids), [''], policy_ids))"
_EXECUTED = "NOT refused"
_ON_JOBS = "job_id IS NOT NULL"


def _utc(moment: datetime) -> datetime:
    """ClickHouse takes and gives naive UTC date-times for these columns."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _rows(sql: str, window: Window | None = None, **parameters) -> list[tuple]:
    if window is not None:
        parameters |= {"start": window.start, "end": window.end}
    parameters = {
        key: _utc(value).replace(tzinfo=None) if isinstance(value, datetime) else value
        for key, value in parameters.items()
    }
    return clickhouse.client().query(sql, parameters=parameters).result_rows


def _series(window: Window, table: str, key: str, where: str = "", **parameters) -> list[Series]:
    """One series per `key` of the events counted per bucket, the largest total first."""
    rows = _rows(
        f"SELECT {_BUCKET[window.bucket]} AS b, {key} AS k, count() FROM {table} FINAL "  # noqa: S608
        f"WHERE {_IN_WINDOW} {'AND ' + where if where else ''} GROUP BY b, k",
        window,
        **parameters,
    )
    index = {b: i for i, b in enumerate(window.buckets())}
    values: dict[str, list[int]] = defaultdict(lambda: [0] * len(index))
    for bucket, k, n in rows:
        values[str(k)][index[_utc(bucket)]] += int(n)
    series = [Series(k, tuple(v)) for k, v in values.items()]
    return sorted(series, key=lambda s: (-s.total, s.key))


# --- Actions ------------------------------------------------------------------------------


@_or_rollups
def action_totals(window: Window) -> ActionTotals:
    rows = _rows(
        f"SELECT source, countIf(NOT refused), countIf(refused) FROM action_executions FINAL "  # noqa: S608
        f"WHERE {_IN_WINDOW} GROUP BY source",
        window,
    )
    by_source = {source: int(executed) for source, executed, _ in rows if executed}
    return ActionTotals(by_source, sum(int(refused) for _, _, refused in rows))


@_or_rollups
def actions_over_time(window: Window, by: Literal["source", "action", "policy"]) -> list[Series]:
    key = {"source": "source", "action": "action_id", "policy": _POLICY}[by]
    return _series(window, "action_executions", key, _EXECUTED)


@_or_rollups
def top_policies(window: Window, limit: int = 10) -> list[KeyCount]:
    rows = _rows(
        "SELECT arrayJoin(policy_ids) AS policy, count() AS n FROM action_executions FINAL "  # noqa: S608
        f"WHERE {_IN_WINDOW} AND {_EXECUTED} GROUP BY policy ORDER BY n DESC, policy "
        "LIMIT {limit:UInt32}",
        window,
        limit=limit,
    )
    return [KeyCount(policy, int(n)) for policy, n in rows]


# --- Rules --------------------------------------------------------------------------------


def _rule_filter(rule_ids: list[str] | None, column: str = "rule_id") -> str:
    return "" if rule_ids is None else f"AND {column} IN {{rules:Array(String)}}"


@_or_rollups
def rule_totals(window: Window, rule_ids: list[str] | None = None) -> list[RuleTotals]:
    parameters = {} if rule_ids is None else {"rules": list(rule_ids)}
    counts = _rows(
        "SELECT rule_id, count(), countIf(outcome = 'PASSED'), countIf(outcome = 'ERRORED') "  # noqa: S608
        f"FROM rule_executions FINAL WHERE {_IN_WINDOW} {_rule_filter(rule_ids)} "
        "GROUP BY rule_id",
        window,
        **parameters,
    )
    actions = dict(
        _rows(
            "SELECT arrayJoin(rule_ids) AS rule, count() FROM action_executions FINAL "  # noqa: S608
            f"WHERE {_IN_WINDOW} AND {_EXECUTED} {_rule_filter(rule_ids, 'rule')} GROUP BY rule",
            window,
            **parameters,
        )
    )
    totals = {
        rule: RuleTotals(rule, int(e), int(p), int(x), int(actions.pop(rule, 0)))
        for rule, e, p, x in counts
    }
    for rule, n in actions.items():  # actions of a rule whose executions are outside the window
        totals[rule] = RuleTotals(rule, 0, 0, 0, int(n))
    return sorted(totals.values(), key=lambda t: (-t.passes, -t.evaluations, t.rule_id))


_METRIC = {"evaluations": "", "passes": "outcome = 'PASSED'", "errors": "outcome = 'ERRORED'"}


@_or_rollups
def rules_over_time(
    window: Window, metric: Literal["evaluations", "passes", "errors", "actions"]
) -> list[Series]:
    if metric == "actions":
        return _series(window, "action_executions", "arrayJoin(rule_ids)", _EXECUTED)
    return _series(window, "rule_executions", "rule_id", _METRIC[metric])


def _one_rule(window: Window, rule_id: str, metric: str) -> tuple[int, ...]:
    if metric == "actions":
        found = _series(
            window,
            "action_executions",
            "arrayJoin(rule_ids)",
            f"{_EXECUTED} AND has(rule_ids, {{rule:String}})",
            rule=rule_id,
        )
        found = [s for s in found if s.key == rule_id]
    else:
        where = " AND ".join(filter(None, ["rule_id = {rule:String}", _METRIC[metric]]))
        found = _series(window, "rule_executions", "rule_id", where, rule=rule_id)
    return found[0].values if found else (0,) * len(window.buckets())


@_or_rollups
def rule_activity(rule_ids: list[str], days: int = 14) -> dict[str, tuple[int, ...]]:
    window = Window.last(timedelta(days=days), "day")
    found = {
        s.key: s.values
        for s in _series(
            window,
            "rule_executions",
            "rule_id",
            "outcome = 'PASSED' AND rule_id IN {rules:Array(String)}",
            rules=list(rule_ids),
        )
    }
    empty = (0,) * len(window.buckets())
    return {rule: found.get(rule, empty) for rule in rule_ids}


@_or_rollups
def rule_activity_series(rule_id: str, window: Window) -> RuleActivity:
    environments = _rows(
        "SELECT DISTINCT environment FROM rule_executions FINAL "  # noqa: S608
        f"WHERE rule_id = {{rule:String}} AND {_IN_WINDOW} ORDER BY environment",
        window,
        rule=rule_id,
    )
    return RuleActivity(
        rule_id,
        window,
        evaluations=_one_rule(window, rule_id, "evaluations"),
        passes=_one_rule(window, rule_id, "passes"),
        errors=_one_rule(window, rule_id, "errors"),
        actions=_one_rule(window, rule_id, "actions"),
        environments=tuple(e for (e,) in environments),
    )


@_or_rollups
def rule_hourly_passes(rule_id: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    start, end = truncate(start, "hour"), truncate(end, "hour")
    rows = _rows(
        "SELECT toStartOfHour(created_at) AS h, count(), countIf(outcome = 'PASSED') "  # noqa: S608
        f"FROM rule_executions FINAL WHERE rule_id = {{rule:String}} AND {_IN_WINDOW} GROUP BY h",
        rule=rule_id,
        start=start,
        end=end,
    )
    found = {_utc(hour): (int(e), int(p)) for hour, e, p in rows}
    step = BUCKET_LENGTH["hour"]
    return [found.get(start + i * step, (0, 0)) for i in range(int((end - start) / step))]


# --- Review -------------------------------------------------------------------------------


@_or_rollups
def jobs_created(window: Window) -> list[Series]:
    return _series(window, "jobs", "queue_id")


@_or_rollups
def jobs_decided(window: Window) -> list[Series]:
    return _series(window, "decisions", "queue_id", _ON_JOBS)


@_or_rollups
def decisions_by_moderator(window: Window) -> list[Series]:
    return _series(window, "decisions", "ifNull(toString(reviewer_id), '')", _ON_JOBS)


@_or_rollups
def decisions_by_policy(window: Window) -> list[Series]:
    return _series(window, "decisions", _POLICY, _ON_JOBS)


@_or_rollups
def skips(window: Window) -> list[Series]:
    return _series(window, "skips", "queue_id")


@_or_rollups
def time_to_decision(window: Window) -> list[DecisionTime]:
    # The histogram buckets of coop.insights.histogram.bucket_of, computed in ClickHouse.
    rows = _rows(
        "SELECT queue_id, if(s < 1, 0, least(toInt64(floor(4 * log2(s))) + 1, "  # noqa: S608
        f"{histogram.MAX_BUCKET})) AS bucket, count() FROM ("
        "SELECT queue_id, dateDiff('microsecond', job_created_at, created_at) / 1e6 AS s "
        f"FROM decisions FINAL WHERE {_IN_WINDOW} AND job_created_at IS NOT NULL"
        ") GROUP BY queue_id, bucket",
        window,
    )
    by_queue: dict[str, dict[int, int]] = defaultdict(dict)
    for queue, bucket, n in rows:
        by_queue[queue][int(bucket)] = int(n)
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


def queue_depth(window: Window) -> list[Series]:
    """Sampled by the worker into PostgreSQL, not an event: read from the rollup there."""
    return rollups.queue_depth(window)
