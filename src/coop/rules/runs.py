"""Backtests and retroactions (rules.md, proactive rules): one rule over stored submissions.

A backtest evaluates a rule (as saved, or as being edited) over a sample of the stored
submissions of its item types in a time window and executes nothing; a retroaction evaluates a
LIVE rule the same way and executes its actions on the submissions that pass, through the
normal execution path (source RETROACTION, keyed like the rule's own executions, so nothing
runs twice for one submission, rule version and action).

A run is worked in steps (coop.rules.run_tasks): step 0 fixes the selection, each later step
evaluates the next chunk in submission id order and commits its counts, its samples, its
actions and the next step's job in one transaction. A worker killed mid-step leaves nothing
of that step; the retried job does it again from the committed cursor. A duplicate job of a
step already done (a retry after the step committed) finds `step` moved on and does nothing.

The sample: every selected submission when the window holds no more than asked, else the
`requested` submissions with the smallest seeded hash of their id (a uniform random sample
that keyset pagination can walk again after a crash, giving the same rows).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from coop.accounts.models import User
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, ExecutionSource
from coop.enforcement.services import (
    ActionError,
    ActionRequest,
    RuleRef,
    execute_actions,
    executed_keys,
    rule_idempotency_key,
)
from coop.enforcement.strikes import user_strike_totals
from coop.ingest.images import ImageResult
from coop.ingest.models import ItemSubmission
from coop.integrations.calls import evaluation_scope
from coop.rules.banks import image_hashes_known, strike_totals_known
from coop.rules.conditions import IMAGE_HASH_SIGNALS, parse_condition, signals_in
from coop.rules.engine import hash_submission_images
from coop.rules.evaluator import (
    CompiledCondition,
    ConditionResult,
    EvaluationContext,
    Outcome,
    compile_condition,
    evaluate,
)
from coop.rules.models import Rule, RuleRun, RuleRunSample, RunKind, RunStatus
from coop.rules.rulebook import current_rulebook, item_for, signal_provider

# Passing submissions kept with their condition tree, per run.
SAMPLE_LIMIT = 50
# A seeded 63-bit hash of a submission id: the sample order.
_SAMPLE_HASH = "(hashint8extended(ingest_itemsubmission.id, %s) & 9223372036854775807)"
_COUNT = (
    "SELECT count(*), max(id) FROM ingest_itemsubmission"
    " WHERE item_type_id = ANY(%s) AND submitted_at >= %s AND submitted_at < %s"
)
# The hash of the `requested`-th submission in sample order: the sample's cut-off.
_CUTOFF = (
    "SELECT (hashint8extended(id, %s) & 9223372036854775807) AS h FROM ingest_itemsubmission"
    " WHERE item_type_id = ANY(%s) AND submitted_at >= %s AND submitted_at < %s"
    " ORDER BY h OFFSET %s LIMIT 1"
)

# Who records retroaction executions in Recent Decisions: review registers it (it sits above
# rules in the layers), as it registers its built-in actions with enforcement.
DecisionLog = Callable[[Sequence[ActionExecution], User | None, str], None]
_decision_logs: list[DecisionLog] = []


def register_decision_log(log: DecisionLog) -> None:
    """Called once from review's AppConfig.ready()."""
    _decision_logs.append(log)


class RunRefused(Exception):
    """A run that cannot start as asked; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message, self.field = message, field


def cap(kind: str) -> int:
    """The most submissions one run of `kind` evaluates (a setting)."""
    if kind == RunKind.RETROACTION:
        return settings.COOP_RETROACTION_MAX_SUBMISSIONS
    return settings.COOP_BACKTEST_MAX_SUBMISSIONS


def definition_of(rule: Rule) -> dict[str, Any]:
    """A saved rule's evaluated parts, spelled as in the configuration file."""
    return {
        "id": rule.id,
        "name": rule.name,
        "status": rule.status,
        "itemTypes": list(rule.item_types),
        "policies": list(rule.policies),
        "actions": [
            {"id": a["id"], "parameters": dict(a.get("parameters") or {})} for a in rule.actions
        ],
        "condition": rule.condition,
    }


def window_count(item_types: Sequence[str], start: datetime, end: datetime) -> int:
    """How many stored submissions of the types were submitted in [start, end)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [list(item_types), start, end])
        return cursor.fetchone()[0]


def create_run(
    kind: str,
    rule: Rule,
    *,
    start: datetime,
    end: datetime,
    size: int,
    user: User | None,
    definition: dict[str, Any] | None = None,
) -> RuleRun:
    """A new run, PENDING. `definition`: the rule as edited (backtests only), validated by the
    caller with the configuration validator; None runs the saved rule. Call inside the
    transaction that defers its first step."""
    if end <= start:
        raise RunRefused("The window must end after it starts.", "end")
    if size < 1:
        raise RunRefused("Evaluate at least one submission.", "size")
    if kind == RunKind.RETROACTION:
        if definition is not None:
            raise RunRefused("A retroaction runs the saved rule, not an edited one.")
        if rule.status != "LIVE":
            raise RunRefused(
                f"Retroaction runs LIVE rules only; this rule is {rule.get_status_display()}."
            )
    return RuleRun.objects.create(
        kind=kind,
        rule_id=rule.id,
        rule_version=None if definition is not None else rule.version,
        definition=definition if definition is not None else definition_of(rule),
        window_start=start,
        window_end=end,
        requested=min(size, cap(kind)),
        seed=secrets.randbits(62),
        creator=user,
    )


def cancel_run(run: RuleRun) -> None:
    """Ask the run to stop: its next step marks it CANCELED (what ran so far stays)."""
    RuleRun.objects.filter(pk=run.pk, status__in=(RunStatus.PENDING, RunStatus.RUNNING)).update(
        cancel_requested=True
    )


@dataclass(frozen=True, slots=True)
class _RunRule:
    condition: CompiledCondition
    uses_image_hashes: bool


def _compiled(run: RuleRun) -> _RunRule | str:
    """The run's condition compiled against the current signals, or why it cannot be."""
    tree, errors = parse_condition(run.definition.get("condition"))
    if tree is None:
        return "; ".join(f"{e.path}: {e.message}" for e in errors)
    return _RunRule(
        compile_condition(tree, signal_provider()), bool(IMAGE_HASH_SIGNALS & signals_in(tree))
    )


def work_step(run_id: int, step: int, then: Callable[[int, int], None]) -> None:
    """Do step `step` of the run (no-op if already done); `then(run_id, next_step)` defers
    the next one, called inside the step's transaction."""
    run = RuleRun.objects.filter(pk=run_id).first()
    if run is None or run.step != step or run.finished:
        return
    batch: list[ItemSubmission] = []
    images: dict[str, ImageResult] = {}
    rule = _compiled(run) if step else None
    if isinstance(rule, _RunRule):
        batch = _next_chunk(run)
        if rule.uses_image_hashes:
            # Outside the transaction, as in evaluation: fetching must hold no lock.
            book = current_rulebook()
            images = hash_submission_images(
                batch,
                dataclasses.replace(book, hashed_types=frozenset(run.definition["itemTypes"])),
            )
    try:
        with transaction.atomic():
            run = RuleRun.objects.select_for_update().get(pk=run_id)
            if run.step != step or run.finished:
                return
            if run.cancel_requested:
                _finish(run, RunStatus.CANCELED)
            elif step == 0:
                _select(run)
            elif isinstance(rule, str):
                _finish(run, RunStatus.FAILED, f"The rule cannot be evaluated: {rule}")
            else:
                assert rule is not None
                _evaluate_chunk(run, rule, batch, images)
            run.step += 1
            run.save()
            if not run.finished:
                then(run.pk, run.step)
    except ActionError as error:
        # The step was rolled back whole: nothing of it ran. An action that cannot run (it
        # was deleted, a parameter no longer fits) will not run on a retry either.
        RuleRun.objects.filter(pk=run_id, step=step).update(
            status=RunStatus.FAILED,
            error=f"An action cannot run: {error}",
            finished_at=timezone.now(),
        )


def _finish(run: RuleRun, status: str, error: str = "") -> None:
    run.status = status
    run.error = error or run.error
    run.finished_at = timezone.now()


def _select(run: RuleRun) -> None:
    """Fix the selection: how many, up to which id, and the sample's hash cut-off."""
    window = [run.definition["itemTypes"], run.window_start, run.window_end]
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, window)
        count, last_id = cursor.fetchone()
        if count > run.requested:
            cursor.execute(_CUTOFF, [run.seed, *window, run.requested - 1])
            run.threshold = cursor.fetchone()[0]
    run.selected = min(count, run.requested)
    run.last_id = last_id or 0
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    if not run.selected:
        _finish(run, RunStatus.COMPLETE)


def _next_chunk(run: RuleRun) -> list[ItemSubmission]:
    """The next submissions of the selection after the cursor, in id order."""
    size = (
        settings.COOP_RETROACTION_CHUNK
        if run.kind == RunKind.RETROACTION
        else (settings.COOP_BACKTEST_CHUNK)
    )
    wanted = min(size, (run.selected or 0) - run.evaluated)
    if wanted <= 0:
        return []
    rows = ItemSubmission.objects.filter(
        pk__gt=run.cursor,
        pk__lte=run.last_id,
        item_type_id__in=run.definition["itemTypes"],
        submitted_at__gte=run.window_start,
        submitted_at__lt=run.window_end,
    )
    if run.threshold is not None:
        sample_hash = RawSQL(_SAMPLE_HASH, [run.seed])  # noqa: S611 - a constant
        rows = rows.alias(sample_hash=sample_hash).filter(sample_hash__lte=run.threshold)
    return list(rows.order_by("pk")[:wanted])


def _evaluate_chunk(
    run: RuleRun, rule: _RunRule, batch: list[ItemSubmission], images: dict[str, ImageResult]
) -> None:
    if run.kind == RunKind.RETROACTION and not _still_live(run):
        return
    passing = _evaluate(run, rule, batch, images)
    if run.kind == RunKind.RETROACTION:
        _act(run, passing)  # in the step's transaction: acted on if and only if counted
    keep = passing[: max(0, SAMPLE_LIMIT - run.passed)]
    RuleRunSample.objects.bulk_create(
        RuleRunSample(
            run=run,
            submission_id=s.pk,
            item_id=s.item_id,
            item_type_id=s.item_type_id,
            submitted_at=s.submitted_at,
            result=result.to_dict(),
        )
        for s, result in keep
    )
    run.passed += len(passing)
    if batch:
        run.cursor = batch[-1].pk
    run.evaluated += len(batch)
    if not batch or run.evaluated >= (run.selected or 0):
        _finish(run, RunStatus.COMPLETE)


def _still_live(run: RuleRun) -> bool:
    """A retroaction stops when its rule is no longer LIVE at the version confirmed."""
    rule = Rule.objects.filter(pk=run.rule_id).values_list("status", "version").first()
    if rule == ("LIVE", run.rule_version):
        return True
    state = "deleted" if rule is None else f"now {rule[0]} at version {rule[1]}"
    _finish(
        run,
        RunStatus.CANCELED,
        f"Stopped: the rule changed since the retroaction was confirmed ({state}).",
    )
    return False


def _evaluate(
    run: RuleRun, rule: _RunRule, batch: list[ItemSubmission], images: dict[str, ImageResult]
) -> list[tuple[ItemSubmission, ConditionResult]]:
    """Evaluate the chunk with the pure evaluator; the passing submissions with their result.
    Strike totals are read in one query for the chunk, images come from `images`."""
    book, provider = current_rulebook(), signal_provider()
    authors = {
        ItemRef(s.creator_id, s.creator_type_id)
        for s in batch
        if s.creator_id and s.creator_type_id
    }
    passing = []
    errored = 0
    with strike_totals_known(user_strike_totals(authors)), image_hashes_known(images):
        for submission in batch:
            item_type = book.item_types.get(submission.item_type_id)
            if item_type is None:  # its item type was deleted since
                errored += 1
                continue
            context = EvaluationContext(item_for(submission, item_type), provider)
            with evaluation_scope():
                result = evaluate(rule.condition, context)
            if result.outcome is Outcome.PASSED:
                passing.append((submission, result))
            elif result.outcome is Outcome.ERRORED:
                errored += 1
    run.errored += errored
    return passing


def _act(run: RuleRun, passing: list[tuple[ItemSubmission, ConditionResult]]) -> None:
    """Execute the rule's actions on the passing submissions, as the rule itself would; an
    execution already made for one (submission, rule version, action) is not made again."""
    definition = run.definition
    assert run.rule_version is not None  # retroactions run saved rules
    refs = [RuleRef(run.rule_id, run.rule_version, definition["name"])]
    requests = [
        ActionRequest(
            action_id=action["id"],
            item=ItemRef(submission.item_id, submission.item_type_id),
            source=ExecutionSource.RETROACTION,
            policy_ids=list(definition.get("policies") or []),
            rules=refs,
            parameters=dict(action.get("parameters") or {}),
            submission_id=submission.pk,
            idempotency_key=rule_idempotency_key(submission.pk, refs, action["id"]),
            event=f"submission:{submission.pk}",
            signal_score=result.signal_score,
        )
        for submission, result in passing
        for action in definition.get("actions") or []
    ]
    if not requests:
        return
    keys = {r.idempotency_key for r in requests}
    before = executed_keys(keys)
    executions = execute_actions(requests)
    new = [e for e in executions if e.idempotency_key in keys and e.idempotency_key not in before]
    run.actions_executed += len(new)
    run.actions_repeated += len(before)
    run.actions_refused += sum(1 for e in new if e.refused_reason)
    if new:
        reason = f"Retroaction #{run.pk} of rule {definition['name']} (version {run.rule_version})"
        for log in _decision_logs:
            log(new, run.creator, reason)
