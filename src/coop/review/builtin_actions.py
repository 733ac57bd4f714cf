"""The manual-review built-in actions: a review job for the item, or for its author."""

from __future__ import annotations

from coop.catalog import builtins
from coop.core.items import ItemRef
from coop.enforcement.builtin_actions import BuiltinCall, register_builtin
from coop.enforcement.models import ExecutionSource
from coop.ingest.models import ItemSubmission
from coop.ingest.store import latest_for
from coop.review.models import JobSource
from coop.review.routing import route_and_enqueue

JOB_SOURCES = {
    ExecutionSource.RULE: JobSource.RULE,
    ExecutionSource.RETROACTION: JobSource.RULE,
    ExecutionSource.API: JobSource.API,
}


def review_item(call: BuiltinCall) -> None:
    target = _review_target(call.item, call.submission_id)
    route_and_enqueue(
        target, _job_source(call), list(call.policy_ids), signal_score=call.signal_score
    )


def review_author(call: BuiltinCall) -> None:
    assert call.user is not None  # registered with needs_user
    target = _review_target(call.user, None)
    route_and_enqueue(
        target, _job_source(call), list(call.policy_ids), signal_score=call.signal_score
    )


def register() -> None:
    register_builtin(builtins.MANUAL_REVIEW, review_item, needs_user=False)
    register_builtin(builtins.MANUAL_REVIEW_AUTHOR, review_author, needs_user=True)


def _job_source(call: BuiltinCall) -> JobSource:
    return JOB_SOURCES.get(ExecutionSource(call.source), JobSource.MANUAL)


def _review_target(item: ItemRef, submission_id: int | None) -> ItemSubmission | ItemRef:
    """The submission with the item's latest data (routing rules read its fields), or only
    its reference when Coop has none."""
    if submission_id is not None:
        submission = ItemSubmission.objects.filter(pk=submission_id).first()
    else:
        submission = latest_for(item)
    return submission if submission is not None else item
