"""The dashboard queries: the one interface the Overview, Review analytics and Rule insights
pages (and the rules pages' sparklines) read.

Every function takes a `Window` and returns small frozen dataclasses holding ids and counts,
never model instances or names: the pages resolve names from the configuration. Two backends
implement the same functions with the same signatures:

- `coop.insights.postgres` (the default): the hourly rollup tables the worker maintains
  (`coop.insights.fold`), read from the replica when `DATABASE_REPLICA_URL` is set;
- `coop.warehouse.clickhouse_queries` when `COOP_WAREHOUSE=clickhouse`: the same figures,
  from ClickHouse.

A backend module defines every name in `BACKEND_FUNCTIONS`. `child_safety=False` leaves out
child-safety events (coop.review.visibility: NCMEC jobs, the NCMEC queue, jobs with a csam
report, decisions and skips on them, `coop.ncmec` executions): the pages pass False for users
without VIEW_CHILD_SAFETY_DATA.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Literal

from django.conf import settings

Bucket = Literal["hour", "day"]
BUCKET_LENGTH: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 24 * 92  # a window holds at most this many buckets (92 days of hours)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, both aligned to the bucket; `bucket` is the chart resolution.

    Day buckets are UTC days. Hourly rollups make any hour-aligned window exact.
    """

    start: datetime
    end: datetime
    bucket: Bucket = "hour"

    def __post_init__(self) -> None:
        if self.bucket not in BUCKET_LENGTH:
            raise ValueError(f"bucket must be hour or day, not {self.bucket!r}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("the window must end after it starts")
        step = BUCKET_LENGTH[self.bucket]
        for bound in (self.start, self.end):
            if bound != truncate(bound, self.bucket):
                raise ValueError(f"window bounds must be aligned to the {self.bucket}")
        if (self.end - self.start) / step > MAX_BUCKETS:
            raise ValueError(f"a window holds at most {MAX_BUCKETS} buckets")

    @classmethod
    def last(cls, length: timedelta, bucket: Bucket = "hour", now: datetime | None = None):
        """The window of `length` ending at the end of the current bucket (so it includes
        the events of the hour or day in progress)."""
        now = now or datetime.now(UTC)
        end = truncate(now, bucket) + BUCKET_LENGTH[bucket]
        return cls(truncate(end - length, bucket), end, bucket)

    def previous(self) -> Window:
        """The window of the same length that ends where this one starts."""
        return Window(self.start - (self.end - self.start), self.start, self.bucket)

    def buckets(self) -> list[datetime]:
        step = BUCKET_LENGTH[self.bucket]
        count = int((self.end - self.start) / step)
        return [self.start + i * step for i in range(count)]


def truncate(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the UTC hour or day holding `moment`."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment


@dataclass(frozen=True)
class Series:
    """One line of a chart: `values[i]` is the count in `window.buckets()[i]`."""

    key: str  # an id (rule, queue, policy, action, reviewer) or a fixed name (a source)
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class KeyCount:
    key: str
    count: int


@dataclass(frozen=True)
class ActionTotals:
    """Action executions in the window, by source. `refused` are executions a built-in action
    could not carry out (e.g. the item has no author); they are counted apart, not in
    `by_source`."""

    by_source: dict[str, int]
    refused: int

    @property
    def executed(self) -> int:
        return sum(self.by_source.values())


@dataclass(frozen=True)
class DecisionTime:
    """Time from a job's creation to its decision, for the decisions made in the window."""

    queue_id: str
    decided: int
    median_seconds: float | None  # None: no decision in the window
    p90_seconds: float | None


@dataclass(frozen=True)
class RuleTotals:
    rule_id: str
    evaluations: int
    passes: int
    errors: int
    actions: int


@dataclass(frozen=True)
class RuleActivity:
    """One rule's activity over a window (the rule page's Activity section)."""

    rule_id: str
    window: Window
    evaluations: tuple[int, ...]
    passes: tuple[int, ...]
    errors: tuple[int, ...]
    actions: tuple[int, ...]
    environments: tuple[str, ...] = field(default=())  # the environments counted


# --- Actions (action executions, every source) ---------------------------------------------


def action_totals(window: Window, *, child_safety: bool = True) -> ActionTotals:
    """Executed action executions per source, and the refused ones."""
    return _backend().action_totals(window, child_safety=child_safety)


def actions_over_time(
    window: Window, by: Literal["source", "action", "policy"], *, child_safety: bool = True
) -> list[Series]:
    """Executed action executions per bucket, one series per source, action or policy.

    By policy: an execution under two policies counts once in each; one under none counts
    under the key "" ("No policy")."""
    return _backend().actions_over_time(window, by, child_safety=child_safety)


def top_policies(window: Window, limit: int = 10, *, child_safety: bool = True) -> list[KeyCount]:
    """Executed action executions per policy (policy violations), the most first; executions
    without a policy are left out."""
    return _backend().top_policies(window, limit, child_safety=child_safety)


# --- Rules (rule executions, LIVE and BACKGROUND) -------------------------------------------


def rule_totals(
    window: Window, rule_ids: list[str] | None = None, *, child_safety: bool = True
) -> list[RuleTotals]:
    """Per rule: logged executions, passes, errors, and executed actions the rule fired."""
    return _backend().rule_totals(window, rule_ids, child_safety=child_safety)


def rules_over_time(
    window: Window,
    metric: Literal["evaluations", "passes", "errors", "actions"],
    *,
    child_safety: bool = True,
) -> list[Series]:
    """One series per rule of the chosen count."""
    return _backend().rules_over_time(window, metric, child_safety=child_safety)


def rule_activity(rule_ids: list[str], days: int = 14) -> dict[str, tuple[int, ...]]:
    """Passes per UTC day over the last `days` days (today last), per rule: the rules list's
    sparklines. Every requested rule is in the answer (zeros when it never ran)."""
    return _backend().rule_activity(rule_ids, days)


def rule_activity_series(
    rule_id: str, window: Window, *, child_safety: bool = True
) -> RuleActivity:
    """Evaluations, passes, errors and actions of one rule per bucket."""
    return _backend().rule_activity_series(rule_id, window, child_safety=child_safety)


def rule_hourly_passes(rule_id: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """(evaluations, passes) of LIVE and BACKGROUND executions for each hour in [start, end),
    oldest first, zeros included: the anomaly alarm's history."""
    return _backend().rule_hourly_passes(rule_id, start, end)


# --- Review (jobs, decisions, skips) -----------------------------------------------------------


def jobs_created(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Review jobs created per queue (a report merged into an open job creates none)."""
    return _backend().jobs_created(window, child_safety=child_safety)


def jobs_decided(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Decisions on jobs per queue (manual actions outside a job are not counted)."""
    return _backend().jobs_decided(window, child_safety=child_safety)


def decisions_by_moderator(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Decisions on jobs per reviewer id ("" for automatic closes)."""
    return _backend().decisions_by_moderator(window, child_safety=child_safety)


def decisions_by_policy(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Decisions on jobs per policy chosen ("" for decisions without a policy); a decision
    under two policies counts once in each."""
    return _backend().decisions_by_policy(window, child_safety=child_safety)


def skips(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Skips per queue (the job's queue at the time of the skip)."""
    return _backend().skips(window, child_safety=child_safety)


def time_to_decision(window: Window, *, child_safety: bool = True) -> list[DecisionTime]:
    """Median and 90th percentile of (decision time - job creation time) per queue, for the
    decisions made in the window, from a histogram with buckets 19 % wide."""
    return _backend().time_to_decision(window, child_safety=child_safety)


def queue_depth(window: Window, *, child_safety: bool = True) -> list[Series]:
    """Pending jobs per queue at the last sample of each bucket (the worker samples every
    housekeeping run); 0 where no sample was taken."""
    return _backend().queue_depth(window, child_safety=child_safety)


BACKEND_FUNCTIONS = (
    "action_totals",
    "actions_over_time",
    "top_policies",
    "rule_totals",
    "rules_over_time",
    "rule_activity",
    "rule_activity_series",
    "rule_hourly_passes",
    "jobs_created",
    "jobs_decided",
    "decisions_by_moderator",
    "decisions_by_policy",
    "skips",
    "time_to_decision",
    "queue_depth",
)
BACKENDS = {"postgres": "coop.insights.postgres", "clickhouse": "coop.warehouse.clickhouse_queries"}


def _backend() -> ModuleType:
    """The module answering the dashboards, chosen by COOP_WAREHOUSE (postgres by default)."""
    name = getattr(settings, "COOP_WAREHOUSE", "postgres") or "postgres"
    return importlib.import_module(BACKENDS[name])
