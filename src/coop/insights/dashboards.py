"""What the Overview, Review analytics and Rule insights pages show: the query results with
names, labels saying exactly what is counted, and the change against the previous window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.urls import NoReverseMatch, reverse

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import Policy
from coop.core.enums import ExecutionSource
from coop.insights import charts, queries
from coop.insights.alarms import active_alarms, alarm_states
from coop.insights.charts import Chart, Line
from coop.insights.models import RuleAlarm
from coop.insights.queries import Window
from coop.review.models import Queue
from coop.review.visibility import may_see_child_safety
from coop.rules.models import Rule

RANGES: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
RANGE_LABELS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
}
DEFAULT_RANGE, DEFAULT_BUCKET = "7d", "hour"

SOURCE_LABELS = {
    ExecutionSource.RULE: "Rules",
    ExecutionSource.STRIKE: "Strike thresholds",
    ExecutionSource.REVIEW: "Review decisions",
    ExecutionSource.BULK: "Bulk actions",
    ExecutionSource.MANUAL: "Investigation (manual)",
    ExecutionSource.RETROACTION: "Retroaction",
    ExecutionSource.API: "Actions API",
}
AUTOMATED = (ExecutionSource.RULE, ExecutionSource.STRIKE)
MANUAL = (ExecutionSource.REVIEW, ExecutionSource.BULK, ExecutionSource.MANUAL)


@dataclass(frozen=True)
class WindowChoice:
    """The window selector's state; `error` names a bad parameter (the default was used)."""

    range: str
    bucket: str
    window: Window
    error: str = ""

    @property
    def label(self) -> str:
        return RANGE_LABELS[self.range]

    @property
    def choices(self) -> list[tuple[str, str]]:
        return list(RANGE_LABELS.items())

    @property
    def query(self) -> str:
        return f"range={self.range}&bucket={self.bucket}"


def choose_window(params) -> WindowChoice:
    """The window from ?range=24h|7d|30d|90d&bucket=hour|day; bad values fall back to the
    default with a message saying which parameter was refused."""
    errors = []
    chosen = params.get("range", DEFAULT_RANGE)
    if chosen not in RANGES:
        errors.append(f"Time window “{chosen}” is not one of {', '.join(RANGES)}.")
        chosen = DEFAULT_RANGE
    bucket = params.get("bucket", DEFAULT_BUCKET)
    if bucket not in ("hour", "day"):
        errors.append(f"Buckets “{bucket}” must be hour or day.")
        bucket = DEFAULT_BUCKET
    window = Window.last(RANGES[chosen], bucket)
    return WindowChoice(chosen, bucket, window, " ".join(errors))


@dataclass(frozen=True)
class Change:
    current: int | float
    previous: int | float

    @property
    def text(self) -> str:
        """ "+12 %", "−3 %", "no change", or "new" when the previous window had none."""
        if self.previous == 0:
            return "no change" if self.current == 0 else "new"
        percent = (self.current - self.previous) / self.previous * 100
        if round(percent) == 0:
            return "no change"
        return f"{'+' if percent > 0 else '−'}{abs(percent):.0f} %"

    @property
    def direction(self) -> str:
        return (
            "up"
            if self.current > self.previous
            else "down"
            if self.current < self.previous
            else "flat"
        )


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    change: Change
    counted: str


@dataclass(frozen=True)
class Ranked:
    key: str
    label: str
    count: int
    change: Change
    url: str = ""


# --- names ---------------------------------------------------------------------------------


def _names(model, keys) -> dict[str, str]:
    return dict(model.objects.filter(pk__in=list(keys)).values_list("pk", "name"))


def _labeler(model, keys, none: str, missing: str = "deleted") -> Callable[[str], str]:
    names = _names(model, keys)

    def label(key: str) -> str:
        if key == "":
            return none
        return names.get(key) or f"{key} ({missing})"

    return label


def _reviewer_labeler(keys) -> Callable[[str], str]:
    ids = [int(k) for k in keys if k.isdigit()]
    emails = {
        str(pk): email for pk, email in User.objects.filter(pk__in=ids).values_list("pk", "email")
    }
    return lambda key: "Automatic closes" if key == "" else emails.get(key, f"user {key} (deleted)")


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def rule_url(rule_id: str) -> str:
    """The rule's page when the rules console is installed, else ""."""
    try:
        return reverse("rule", args=[rule_id])
    except NoReverseMatch:
        return ""


def _ranked(current: list, previous: list, label_of, url_of=lambda key: "") -> list[Ranked]:
    before = {s.key: s.total for s in previous}
    return [
        Ranked(
            s.key, label_of(s.key), s.total, Change(s.total, before.get(s.key, 0)), url_of(s.key)
        )
        for s in current
        if s.total
    ]


# --- charts (by slug, for the pages and their CSV downloads) -----------------------------------


def _line_chart(slug, title, counted, window, series, label_of) -> Chart:
    return Chart(slug, title, counted, window, charts.lines_from(series, label_of))


def violations_by_policy(window: Window, cs: bool) -> Chart:
    series = [s for s in queries.actions_over_time(window, "policy", child_safety=cs) if s.key]
    label = _labeler(Policy, [s.key for s in series], "No policy")
    return _line_chart(
        "violations-by-policy",
        "Policy violations over time",
        "Executed action executions per policy they were taken under (an execution under two "
        "policies counts for each; refused executions and executions without a policy are "
        "left out)",
        window,
        series,
        label,
    )


def actions_by_source(window: Window, cs: bool) -> Chart:
    return _line_chart(
        "actions-by-source",
        "Actions by source",
        "Executed action executions per source (refused executions left out)",
        window,
        queries.actions_over_time(window, "source", child_safety=cs),
        source_label,
    )


def actions_per_rule(window: Window, cs: bool, series: list | None = None) -> Chart:
    if series is None:
        series = queries.rules_over_time(window, "actions", child_safety=cs)
    return _line_chart(
        "actions-per-rule",
        "Actions per rule",
        "Executed action executions each rule fired (an execution fired by two rules counts "
        "for each)",
        window,
        series,
        _labeler(Rule, [s.key for s in series], "—"),
    )


def decisions_per_moderator(window: Window, cs: bool, series: list | None = None) -> Chart:
    if series is None:
        series = queries.decisions_by_moderator(window, child_safety=cs)
    return _line_chart(
        "decisions-per-moderator",
        "Decisions per moderator",
        "Decisions on review jobs per reviewer (one per job decided; manual actions outside a "
        "job are not counted)",
        window,
        series,
        _reviewer_labeler([s.key for s in series]),
    )


def _queue_chart(slug, title, counted, window, series) -> Chart:
    return _line_chart(
        slug, title, counted, window, series, _labeler(Queue, [s.key for s in series], "—")
    )


def jobs_created_chart(window: Window, cs: bool) -> Chart:
    return _queue_chart(
        "jobs-created",
        "Jobs created per queue",
        "Review jobs created (a report or rule hit merged into an open job creates none; moved "
        "jobs count in their new queue)",
        window,
        queries.jobs_created(window, child_safety=cs),
    )


def jobs_decided_chart(window: Window, cs: bool) -> Chart:
    return _queue_chart(
        "jobs-decided",
        "Jobs decided per queue",
        "Decisions on review jobs, in the queue the job was in when decided",
        window,
        queries.jobs_decided(window, child_safety=cs),
    )


def decisions_by_policy_chart(window: Window, cs: bool) -> Chart:
    series = queries.decisions_by_policy(window, child_safety=cs)
    return _line_chart(
        "decisions-by-policy",
        "Decisions by policy",
        "Decisions on review jobs per policy chosen (a decision under two policies counts for "
        "each; “No policy”: ignore, move and other decisions without one)",
        window,
        series,
        _labeler(Policy, [s.key for s in series], "No policy"),
    )


def skips_chart(window: Window, cs: bool) -> Chart:
    return _queue_chart(
        "skips",
        "Skips per queue",
        "Times a reviewer skipped a job, in the job's queue at the time",
        window,
        queries.skips(window, child_safety=cs),
    )


def queue_depth_chart(window: Window, cs: bool) -> Chart:
    return _queue_chart(
        "queue-depth",
        "Queue depth",
        "Pending jobs per queue at the last sample of each bucket (the worker samples every "
        "housekeeping run; 0 before the first sample)",
        window,
        queries.queue_depth(window, child_safety=cs),
    )


def rule_metric_chart(metric: str) -> Callable[[Window, bool], Chart]:
    titles = {
        "evaluations": (
            "Evaluations per rule",
            "Logged rule executions (LIVE, background and synchronous), whatever the outcome",
        ),
        "passes": ("Passes per rule", "Logged rule executions whose condition passed"),
        "errors": (
            "Errors per rule",
            "Logged rule executions that errored (a signal failed or "
            "the rule could not be evaluated)",
        ),
    }
    title, counted = titles[metric]

    def build(window: Window, cs: bool, series: list | None = None) -> Chart:
        if series is None:
            series = queries.rules_over_time(window, metric, child_safety=cs)
        label = _labeler(Rule, [s.key for s in series], "—")
        return _line_chart(f"rule-{metric}", title, counted, window, series, label)

    return build


ANALYTICS = (Permission.VIEW_INSIGHTS, Permission.VIEW_MRT_DATA)  # either
CHARTS: dict[str, tuple[tuple[Permission, ...], Callable[[Window, bool], Chart]]] = {
    "violations-by-policy": (ANALYTICS, violations_by_policy),
    "actions-by-source": (ANALYTICS, actions_by_source),
    "actions-per-rule": (ANALYTICS, actions_per_rule),
    "decisions-per-moderator": ((Permission.VIEW_MRT_DATA,), decisions_per_moderator),
    "jobs-created": ((Permission.VIEW_MRT_DATA,), jobs_created_chart),
    "jobs-decided": ((Permission.VIEW_MRT_DATA,), jobs_decided_chart),
    "decisions-by-policy": ((Permission.VIEW_MRT_DATA,), decisions_by_policy_chart),
    "skips": ((Permission.VIEW_MRT_DATA,), skips_chart),
    "queue-depth": ((Permission.VIEW_MRT_DATA,), queue_depth_chart),
    "rule-evaluations": ((Permission.VIEW_INSIGHTS,), rule_metric_chart("evaluations")),
    "rule-passes": ((Permission.VIEW_INSIGHTS,), rule_metric_chart("passes")),
    "rule-errors": ((Permission.VIEW_INSIGHTS,), rule_metric_chart("errors")),
}


def may_see(user, slug: str) -> bool:
    """Whether `user` holds one of the permissions of chart `slug` (which must exist)."""
    return any(user.has_permission(p) for p in CHARTS[slug][0])


def chart(slug: str, window: Window, cs: bool) -> Chart:
    """Chart `slug`; `cs`: whether child-safety events are counted (the viewer may see them)."""
    return CHARTS[slug][1](window, cs)


# --- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewInsights:
    actions: Figure
    refused: int
    automated: Figure
    manual: Figure
    other_sources: list[Ranked]  # API and retroaction: neither automated nor manual in Coop
    top_policies: list[Ranked]
    actions_per_rule: list[Ranked]
    decisions_per_moderator: list[Ranked] | None  # None: needs VIEW_MRT_DATA
    charts: list[Chart]

    @property
    def figures(self) -> list[Figure]:
        return [self.actions, self.automated, self.manual]


def _share(part: int, whole: int) -> str:
    return f" ({part / whole:.0%} of executed actions)" if whole else ""


def overview_insights(user, window: Window) -> OverviewInsights | None:
    """The analytic widgets of the overview; None for users who may see none of them."""
    if not any(user.has_permission(p) for p in ANALYTICS):
        return None
    cs = may_see_child_safety(user)
    previous = window.previous()
    now, before = (
        queries.action_totals(window, child_safety=cs),
        queries.action_totals(previous, child_safety=cs),
    )

    def share(totals, sources) -> int:
        return sum(totals.by_source.get(s, 0) for s in sources)

    other = [s for s in SOURCE_LABELS if s not in AUTOMATED + MANUAL]
    policies_now = queries.top_policies(window, 10, child_safety=cs)
    policies_before = {
        k.key: k.count for k in queries.top_policies(previous, 1000, child_safety=cs)
    }
    policy_label = _labeler(Policy, [k.key for k in policies_now], "No policy")
    rule_actions = queries.rules_over_time(window, "actions", child_safety=cs)
    earlier = queries.rules_over_time(previous, "actions", child_safety=cs)
    per_rule = _ranked(
        rule_actions, earlier, _labeler(Rule, [s.key for s in rule_actions], "—"), rule_url
    )[:10]
    moderators = None
    widgets = [violations_by_policy(window, cs), actions_by_source(window, cs)]
    if user.has_permission(Permission.VIEW_MRT_DATA):
        series = queries.decisions_by_moderator(window, child_safety=cs)
        earlier = queries.decisions_by_moderator(previous, child_safety=cs)
        moderators = _ranked(series, earlier, _reviewer_labeler([s.key for s in series + earlier]))[
            :10
        ]
        widgets.append(decisions_per_moderator(window, cs, series))
    return OverviewInsights(
        actions=Figure(
            "Actions taken",
            now.executed,
            Change(now.executed, before.executed),
            "Executed action executions, every source (refused ones counted apart)",
        ),
        refused=now.refused,
        automated=Figure(
            "Automated",
            share(now, AUTOMATED),
            Change(share(now, AUTOMATED), share(before, AUTOMATED)),
            f"Executed by rules and strike thresholds{_share(share(now, AUTOMATED), now.executed)}",
        ),
        manual=Figure(
            "Manual",
            share(now, MANUAL),
            Change(share(now, MANUAL), share(before, MANUAL)),
            "Executed by review decisions, bulk actions and investigation"
            f"{_share(share(now, MANUAL), now.executed)}",
        ),
        other_sources=[
            Ranked(
                s,
                source_label(s),
                now.by_source.get(s, 0),
                Change(now.by_source.get(s, 0), before.by_source.get(s, 0)),
            )
            for s in other
        ],
        top_policies=[
            Ranked(
                k.key, policy_label(k.key), k.count, Change(k.count, policies_before.get(k.key, 0))
            )
            for k in policies_now
        ],
        actions_per_rule=per_rule,
        decisions_per_moderator=moderators,
        charts=widgets,
    )


@dataclass(frozen=True)
class QueueTime:
    queue: str
    decided: int
    median: str
    p90: str
    median_change: Change | None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class ReviewAnalytics:
    created: Figure
    decided: Figure
    skipped: Figure
    times: list[QueueTime]
    charts: list[Chart]

    @property
    def figures(self) -> list[Figure]:
        return [self.created, self.decided, self.skipped]


def review_analytics(window: Window, cs: bool) -> ReviewAnalytics:
    """`cs`: whether child-safety events are counted (the viewer may see them)."""
    previous = window.previous()

    def total(fn, w) -> int:
        return sum(s.total for s in fn(w, child_safety=cs))

    def figure(label, fn, counted) -> Figure:
        now = total(fn, window)
        return Figure(label, now, Change(now, total(fn, previous)), counted)

    times_before = {t.queue_id: t for t in queries.time_to_decision(previous, child_safety=cs)}
    times = queries.time_to_decision(window, child_safety=cs)
    label = _labeler(Queue, [t.queue_id for t in times], "—")
    rows = []
    for t in times:
        earlier = times_before.get(t.queue_id)
        change = (
            Change(t.median_seconds, earlier.median_seconds)
            if earlier and earlier.median_seconds and t.median_seconds is not None
            else None
        )
        rows.append(
            QueueTime(
                label(t.queue_id),
                t.decided,
                duration(t.median_seconds),
                duration(t.p90_seconds),
                change,
            )
        )
    return ReviewAnalytics(
        created=figure(
            "Jobs created", queries.jobs_created, "Review jobs created (merged reports create none)"
        ),
        decided=figure("Jobs decided", queries.jobs_decided, "Decisions on review jobs"),
        skipped=figure("Skips", queries.skips, "Times a reviewer skipped a job"),
        times=rows,
        charts=[
            chart(slug, window, cs)
            for slug in (
                "jobs-created",
                "jobs-decided",
                "decisions-by-policy",
                "decisions-per-moderator",
                "skips",
                "queue-depth",
            )
        ],
    )


@dataclass(frozen=True)
class RuleRow:
    rule_id: str
    name: str
    url: str
    evaluations: int
    passes: int
    pass_rate: str
    errors: int
    actions: int
    passes_change: Change
    alarm: RuleAlarm | None


@dataclass(frozen=True)
class RuleInsights:
    rows: list[RuleRow]
    alarms: list[RuleAlarm]
    charts: list[Chart]


def rule_insights(window: Window, cs: bool) -> RuleInsights:
    """One query per count for the window (the table's totals are the charts' sums) and one
    for the previous window's passes."""
    series = {
        metric: queries.rules_over_time(window, metric, child_safety=cs)
        for metric in ("passes", "evaluations", "actions", "errors")
    }
    totals = {m: {s.key: s.total for s in found} for m, found in series.items()}
    previous = queries.rules_over_time(window.previous(), "passes", child_safety=cs)
    before = {s.key: s.total for s in previous}
    ids = sorted(
        set().union(*totals.values()),
        key=lambda r: (-totals["passes"].get(r, 0), -totals["evaluations"].get(r, 0), r),
    )
    names = _names(Rule, ids)
    alarms = alarm_states(ids)
    rows = []
    for rule in ids:
        evaluations, passes = totals["evaluations"].get(rule, 0), totals["passes"].get(rule, 0)
        rows.append(
            RuleRow(
                rule,
                names.get(rule, f"{rule} (deleted)"),
                rule_url(rule) if rule in names else "",
                evaluations,
                passes,
                f"{passes / evaluations:.2%}" if evaluations else "—",
                totals["errors"].get(rule, 0),
                totals["actions"].get(rule, 0),
                Change(passes, before.get(rule, 0)),
                alarms.get(rule),
            )
        )
    charts = [
        rule_metric_chart("passes")(window, cs, series["passes"]),
        rule_metric_chart("evaluations")(window, cs, series["evaluations"]),
        actions_per_rule(window, cs, series["actions"]),
        rule_metric_chart("errors")(window, cs, series["errors"]),
    ]
    return RuleInsights(rows, active_alarms(), charts)


def rule_activity_chart(rule_id: str, window: Window, cs: bool = True) -> Chart:
    """The rule page's Activity section: passes, actions and errors of one rule."""
    activity = queries.rule_activity_series(rule_id, window, child_safety=cs)
    return Chart(
        f"rule-activity-{rule_id}",
        "Activity",
        "Passes and errors of logged executions, and executed actions the rule fired",
        window,
        csv_path=reverse("insights-rule-activity-csv", args=[rule_id]),
        lines=(
            Line("Passes", activity.passes),
            Line("Actions", activity.actions),
            Line("Errors", activity.errors),
        ),
    )
