"""Choosing the queue of a new review job (rules.md, routing rules).

Routing rules (appeal routing rules for appeals) whose item types include the item's type are
evaluated in order; the first that passes chooses the queue, otherwise the default queue (the
default appeals queue). Every decision is logged with the evaluation of each rule tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.review.models import Job, JobSource, Queue, Report
from coop.review.services import default_appeals_queue, default_queue, enqueue_for_review
from coop.rules.engine import routing_provider
from coop.rules.evaluator import EvaluationContext, Routing, evaluate
from coop.rules.models import RoutingDecision, RoutingKind
from coop.rules.rulebook import LoadedRoutingRule, current_rulebook, item_for


@dataclass
class RoutingChoice:
    queue: Queue
    rule: LoadedRoutingRule | None  # None: the default queue
    evaluations: list[dict[str, Any]] = field(default_factory=list)


def choose_queue(
    item: ItemSubmission | ItemRef, source: JobSource, policy_ids: list[str], appeal: bool
) -> RoutingChoice:
    kind = RoutingKind.APPEAL if appeal else RoutingKind.ROUTING
    book = current_rulebook()
    item_type = book.item_types.get(item.item_type_id)
    evaluations: list[dict[str, Any]] = []
    if item_type is not None:
        # Appeals have no source (the SOURCE input is then absent, so INAPPLICABLE).
        routing = Routing(tuple(policy_ids), None if appeal else str(source))
        provider = routing_provider(item)  # replays the worker's prefetched calls
        context = EvaluationContext(item_for(item, item_type), provider, routing)
        for rule in book.routing[kind]:
            if item.item_type_id not in rule.item_types:
                continue
            if rule.condition is None:
                evaluations.append(_logged(rule, "ERRORED", {"error": rule.problem}))
                continue
            result = evaluate(rule.condition, context)
            evaluations.append(_logged(rule, result.outcome.value, result.to_dict()))
            if result.passed:
                queue = Queue.objects.filter(pk=rule.queue_id).first()
                if queue is not None:
                    return RoutingChoice(queue, rule, evaluations)
    return RoutingChoice(default_appeals_queue() if appeal else default_queue(), None, evaluations)


def _logged(rule: LoadedRoutingRule, outcome: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"rule": rule.id, "version": rule.version, "outcome": outcome, "result": result}


def route_and_enqueue(
    item: ItemSubmission | ItemRef,
    source: JobSource,
    policy_ids: list[str],
    *,
    appeal: bool = False,
    report: Report | None = None,
    signal_score: float = 0.0,
) -> Job:
    """Create (or merge into) the routed job of `item` (`signal_score`: see
    services.enqueue_for_review). Call inside the caller's transaction.

    Reports with `csam: true` never come here: coop.childsafety.jobs puts them in the NCMEC
    flow (api.md)."""
    choice = choose_queue(item, source, policy_ids, appeal)
    job = enqueue_for_review(
        item, choice.queue, source, policy_ids, report=report, signal_score=signal_score
    )
    RoutingDecision.objects.create(
        kind=RoutingKind.APPEAL if appeal else RoutingKind.ROUTING,
        job_id=job.pk,
        item_id=item.item_id,
        item_type_id=item.item_type_id,
        source=source,
        routing_rule_id=choice.rule.id if choice.rule else "",
        routing_rule_version=choice.rule.version if choice.rule else None,
        queue_id=choice.queue.pk,
        evaluations=choice.evaluations,
    )
    return job
