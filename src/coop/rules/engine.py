"""Running the proactive rules on submitted items (rules.md, proactive rules).

The worker evaluates every LIVE and BACKGROUND rule of an item's type, logs each evaluation,
and executes the de-duplicated actions of the LIVE rules that passed. Its images are hashed
and its remote signals (classifiers, HMA) called before, outside the transaction that locks
the submissions (`hash_submission_images`, `prefetch_signals`): the evaluation under the
locks makes no network call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, ExecutionSource
from coop.enforcement.services import (
    ActionRequest,
    RuleRef,
    execute_actions,
    rule_idempotency_key,
)
from coop.enforcement.strikes import user_strike_totals
from coop.ingest.images import ImageResult, hash_images
from coop.ingest.models import ItemSubmission
from coop.integrations import calls, status
from coop.integrations.calls import evaluation_scope
from coop.media import fetch_batch
from coop.rules.banks import image_hashes_known, strike_totals_known
from coop.rules.conditions import Input
from coop.rules.evaluator import (
    CompiledCondition,
    ConditionResult,
    EvaluationContext,
    Outcome,
    SignalProvider,
    evaluate,
)
from coop.rules.limits import take_daily_slot
from coop.rules.models import Environment, RuleStatus
from coop.rules.prefetch import CallKey, Recorder, Remote, Replayer, Result, Wanted
from coop.rules.rulebook import (
    LoadedRule,
    RuleBook,
    current_rulebook,
    item_for,
    signal_provider,
)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: LoadedRule
    result: ConditionResult | None  # None when the rule could not be evaluated
    over_limit: bool = False

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome if self.result else Outcome.ERRORED

    @property
    def fires(self) -> bool:
        return (
            self.rule.status == RuleStatus.LIVE
            and self.result is not None
            and self.result.passed
            and not self.over_limit
        )


def evaluate_rules(
    submission: ItemSubmission, book: RuleBook, provider: SignalProvider, now: datetime
) -> list[RuleOutcome]:
    """Evaluate every LIVE and BACKGROUND rule of the item's type; one shared signal memo.
    Remote signals are called as `provider` runs them (the worker's replays prefetched
    answers: `run_rules`)."""
    item_type = book.item_types.get(submission.item_type_id)
    rules = book.rules.get(submission.item_type_id, ())
    if item_type is None or not rules:
        return []
    context = EvaluationContext(item_for(submission, item_type), provider)
    outcomes = []
    # One time budget and one answer per value for the item's remote signals.
    with evaluation_scope():
        for rule in rules:
            if rule.expires_at is not None and rule.expires_at <= now:
                continue  # EXPIRED: shown in the console, no longer evaluated
            result = evaluate(rule.condition, context) if rule.condition is not None else None
            outcomes.append(RuleOutcome(rule, result))
    return outcomes


def image_urls(submission: ItemSubmission, book: RuleBook) -> tuple[str, ...]:
    """Every IMAGE value (and image MEDIA value) of the item, as ANY_IMAGE gives them, when a
    rule of its item type uses image hashes (nothing is fetched for the others)."""
    item_type = book.item_types.get(submission.item_type_id)
    if item_type is None or submission.item_type_id not in book.hashed_types:
        return ()
    resolved = EvaluationContext(item_for(submission, item_type), None).resolve(  # type: ignore[arg-type]
        Input.ANY_IMAGE
    )
    if not resolved:
        return ()
    _, values = resolved  # type: ignore[misc]
    return tuple(v for v in values if isinstance(v, str))


def hash_submission_images(
    submissions: list[ItemSubmission], book: RuleBook | None = None
) -> dict[str, ImageResult]:
    """Fetch (one FetchCache for the batch) and hash every image of the submissions, storing
    each hash with its submission; URL -> hash or failure reason. Outside any transaction
    when possible: fetching takes time and must not hold the submissions' row locks."""
    book = book or current_rulebook()
    wanted = [(s, image_urls(s, book)) for s in submissions]
    if not any(urls for _, urls in wanted):
        return {}
    with fetch_batch() as media:
        return hash_images(wanted, media)


# Threads making a batch's remote calls at once (each integration's `concurrency` still bounds
# its calls in flight).
PREFETCH_THREADS = 16


@dataclass
class Prefetched:
    """A batch's image hashes and remote signal answers, fetched before its evaluation.

    `answers` and `scopes` are by submission id (`Wanted.owner`): each item's calls share one
    time budget (COOP_EVALUATION_BUDGET_MS), started by its first call. `strict`: `run_rules`
    raises PrefetchIncomplete when the evaluation needs a call not made yet (so the caller can
    make it outside its transaction and evaluate again) instead of logging the leaf ERRORED.
    """

    book: RuleBook
    images: dict[str, ImageResult]
    remote: dict[str, Remote | None]  # how each signal the rules use calls out, if it does
    answers: dict[Hashable, dict[CallKey, Result]] = field(default_factory=dict)
    scopes: dict[Hashable, calls.Scope] = field(default_factory=dict)
    strict: bool = False

    def fetch(self, wanted: list[Wanted]) -> None:
        """Make the calls (those of integrations at once, in threads; HMA's meanwhile, in
        this thread) and keep their answers or failures."""
        provider = signal_provider()
        lock = threading.Lock()

        def run(one: Wanted) -> None:
            with lock:
                scope = self.scopes.get(one.owner)
                if scope is None:
                    scope = self.scopes[one.owner] = calls.new_scope()
            with calls.in_scope(scope):
                result = one.execute()
            with lock:
                self.answers.setdefault(one.owner, {})[one.key] = result

        threaded = [w for w in wanted if w.remote is Remote.THREADED]
        with (
            status.deferred(),
            image_hashes_known(self.images),
            provider.in_threads() if threaded else nullcontext(),
        ):
            queue = iter([(copy_context(), one) for one in threaded])

            def work() -> None:
                while True:
                    with lock:
                        task = next(queue, None)
                    if task is None:
                        return
                    task[0].run(run, task[1])

            threads = [
                threading.Thread(target=work, name="coop-prefetch", daemon=True)
                for _ in range(min(len(threaded), PREFETCH_THREADS))
            ]
            for thread in threads:
                thread.start()
            for one in wanted:
                if one.remote is not Remote.THREADED:
                    run(one)
            for thread in threads:
                thread.join()


class PrefetchIncomplete(Exception):
    """The evaluation needed remote calls not made before it (`missing`): what the leaves
    before them depend on changed meanwhile (a strike total, a bank)."""

    def __init__(self, missing: list[Wanted]) -> None:
        super().__init__(f"{len(missing)} remote signal calls were not made in advance")
        self.missing = missing


def _remote_rules(
    submission: ItemSubmission, book: RuleBook, remote: dict[str, Remote | None], now: datetime
) -> list[CompiledCondition]:
    """The conditions of the item's rules that are evaluated and use a signal that calls out."""
    return [
        rule.condition
        for rule in book.rules.get(submission.item_type_id, ())
        if rule.condition is not None
        and (rule.expires_at is None or rule.expires_at > now)
        and any(remote[signal] for signal in rule.signals)
    ]


def prefetch_signals(
    submissions: list[ItemSubmission],
    book: RuleBook | None = None,
    images: dict[str, ImageResult] | None = None,
) -> Prefetched:
    """Make the remote calls the batch's evaluation will make (rules.prefetch): rounds of a
    dry evaluation of the rules that use such signals, each round making at once the calls
    the rules reach, until every item's evaluation is settled. Call outside a transaction."""
    book = book or current_rulebook()
    if images is None:
        images = hash_submission_images(submissions, book)
    provider, now = signal_provider(), timezone.now()
    used = {signal for rules in book.rules.values() for rule in rules for signal in rule.signals}
    remote = {signal: provider.remote(signal) for signal in used}
    prefetched = Prefetched(book, images, remote)
    if not any(remote.values()):
        return prefetched  # no rule calls out
    work = [(s, rules) for s in submissions if (rules := _remote_rules(s, book, remote, now))]
    if not work:
        return prefetched
    with _batch_known(submissions, images):
        while work:
            wanted: list[Wanted] = []
            unsettled = []
            for submission, rules in work:
                answers = prefetched.answers.setdefault(submission.pk, {})
                recorder = Recorder(provider, remote.get, submission.pk, answers)
                item = item_for(submission, book.item_types[submission.item_type_id])
                for condition in rules:
                    recorder.next_rule()
                    context = EvaluationContext(item, recorder, run_many=recorder.run_many)
                    evaluate(condition, context)
                if recorder.wanted:
                    wanted += recorder.wanted.values()
                    unsettled.append((submission, rules))
            prefetched.fetch(wanted)
            work = unsettled
    return prefetched


@contextmanager
def _batch_known(
    submissions: list[ItemSubmission], images: dict[str, ImageResult]
) -> Iterator[None]:
    """What the batch's local signals read once for all its items: the authors' strike
    totals (as of now) and the images' hashes."""
    authors = {
        ItemRef(s.creator_id, s.creator_type_id)
        for s in submissions
        if s.creator_id and s.creator_type_id
    }
    with strike_totals_known(user_strike_totals(authors)), image_hashes_known(images):
        yield


@dataclass
class _RoutingReplay:
    prefetched: Prefetched
    replayers: list[Replayer] = field(default_factory=list)


# Set while run_rules executes a batch's actions: the routing of the jobs they make replays too.
_routing: ContextVar[_RoutingReplay | None] = ContextVar("routing_replay", default=None)


def routing_provider(item: ItemSubmission | ItemRef) -> SignalProvider:
    """What routing rules run on for `item`: the process's provider, except while the worker
    executes a batch's actions (its submissions locked), where the routing rules' remote
    calls replay the batch's answers; one not made yet is recorded, and `run_rules` has it
    made after rolling the batch back (PrefetchIncomplete) and evaluating it again."""
    provider = signal_provider()
    current = _routing.get()
    if current is None:
        return provider
    owner = ("routing", item.item_type_id, item.item_id)
    answers = current.prefetched.answers.setdefault(owner, {})
    replayer = Replayer(provider, provider.remote, owner, answers)
    current.replayers.append(replayer)
    return replayer


def apply_daily_limits(outcomes: list[RuleOutcome], now: datetime) -> list[RuleOutcome]:
    """Mark LIVE rules that passed after reaching today's `maxDailyActions` as over limit."""
    checked = []
    for outcome in outcomes:
        if (
            outcome.rule.status == RuleStatus.LIVE
            and outcome.result is not None
            and outcome.result.passed
            and not take_daily_slot(outcome.rule.id, outcome.rule.max_daily_actions, now.date())
        ):
            outcome = RuleOutcome(outcome.rule, outcome.result, over_limit=True)
        checked.append(outcome)
    return checked


def action_requests(submission: ItemSubmission, outcomes: list[RuleOutcome]) -> list[ActionRequest]:
    """The actions of the rules that fire, de-duplicated by action id.

    Each action carries the rules that fired it and the union of their policies; parameters
    come from the first of those rules that gives any.
    """
    by_action: dict[str, tuple[list[LoadedRule], dict[str, Any]]] = {}
    scores: dict[str, float] = {}
    for outcome in outcomes:
        if not outcome.fires:
            continue
        assert outcome.result is not None  # it fired
        for action_id, parameters in outcome.rule.actions:
            rules, chosen = by_action.setdefault(action_id, ([], {}))
            rules.append(outcome.rule)
            scores[action_id] = max(scores.get(action_id, 0.0), outcome.result.signal_score)
            if not chosen and parameters:
                chosen.update(parameters)
    item = ItemRef(submission.item_id, submission.item_type_id)
    requests = []
    for action_id, (rules, parameters) in by_action.items():
        refs = [RuleRef(rule.id, rule.version, rule.name) for rule in rules]
        policies = list(dict.fromkeys(p for rule in rules for p in rule.policies))
        requests.append(
            ActionRequest(
                action_id=action_id,
                item=item,
                source=ExecutionSource.RULE,
                policy_ids=policies,
                rules=refs,
                parameters=parameters,
                submission_id=submission.pk,
                idempotency_key=rule_idempotency_key(submission.pk, refs, action_id),
                event=f"submission:{submission.pk}",
                signal_score=scores[action_id],
            )
        )
    return requests


_COPY_EXECUTIONS = (
    "COPY rules_ruleexecution (rule_id, rule_version, environment, submission_id, item_id,"
    " item_type_id, outcome, over_limit, result, duration_us, created_at) FROM STDIN"
)


def log_executions(
    batch: list[tuple[ItemSubmission, list[RuleOutcome]]], environment: str, now: datetime
) -> None:
    """Append one RuleExecution row per evaluated rule, for a whole batch in one COPY."""
    if not any(outcomes for _, outcomes in batch):
        return
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY_EXECUTIONS) as copy:
        for submission, outcomes in batch:
            for outcome in outcomes:
                rule = outcome.rule
                if outcome.result is None:
                    result: dict[str, Any] = {"outcome": "ERRORED", "error": rule.problem}
                    duration_us = 0
                else:
                    result = outcome.result.to_dict()
                    duration_us = outcome.result.duration_ns // 1000
                live = rule.status == RuleStatus.LIVE
                copy.write_row(
                    (
                        rule.id,
                        rule.version,
                        environment if live else Environment.BACKGROUND,
                        submission.pk,
                        submission.item_id,
                        submission.item_type_id,
                        outcome.outcome.value,
                        outcome.over_limit,
                        json.dumps(result),
                        duration_us,
                        now,
                    )
                )


def run_rules(
    submissions: list[ItemSubmission],
    environment: str = Environment.LIVE,
    images: dict[str, ImageResult] | None = None,
    prefetched: Prefetched | None = None,
) -> list[ActionExecution]:
    """Evaluate, log and act on a batch of submissions. Call inside a transaction.

    The actions of the whole batch are executed together; each item is its own execution
    event, so strikes count once per item however many of its actions apply them.
    `prefetched` are the batch's image hashes and remote answers (`prefetch_signals`, made
    before the transaction; `images` alone: the hashes only); what is not given is fetched
    here first. The evaluation itself calls nothing remote, nor, when `prefetched` is given,
    does the routing of the jobs its actions make (`routing_provider`): a call needed that
    was not made raises PrefetchIncomplete when `prefetched.strict`, else its leaf is ERRORED.
    """
    now = timezone.now()
    # Routing replays only what a caller fetched before its transaction (and can fetch again).
    replay_routing = prefetched is not None
    if prefetched is None:
        prefetched = prefetch_signals(submissions, images=images)
    book, provider = prefetched.book, signal_provider()
    replayed = any(prefetched.remote.values())  # else nothing calls out: no replay needed
    batch = []
    requests: list[ActionRequest] = []
    missing: list[Wanted] = []
    # Strike totals as of the start of the batch, read in one query.
    with _batch_known(submissions, prefetched.images):
        for submission in submissions:
            if replayed:
                answers = prefetched.answers.get(submission.pk, {})
                replayer = Replayer(provider, prefetched.remote.get, submission.pk, answers)
                outcomes = evaluate_rules(submission, book, replayer, now)
                missing += replayer.missing.values()
            else:
                outcomes = evaluate_rules(submission, book, provider, now)
            outcomes = apply_daily_limits(outcomes, now)
            batch.append((submission, outcomes))
            requests += action_requests(submission, outcomes)
    if missing and prefetched.strict:
        raise PrefetchIncomplete(missing)
    routing = _RoutingReplay(prefetched)
    token = _routing.set(routing if replay_routing else None)
    try:
        executions = execute_actions(requests)
    finally:
        _routing.reset(token)
    missing = [w for replayer in routing.replayers for w in replayer.missing.values()]
    if missing and prefetched.strict:
        raise PrefetchIncomplete(missing)  # rolls the actions back with the transaction
    log_executions(batch, environment, now)
    return executions
