"""The `coop.ncmec` built-in action: the user-level NCMEC job of the item's user."""

from __future__ import annotations

from coop.catalog import builtins
from coop.childsafety.jobs import NcmecRefused, enqueue_user
from coop.enforcement.builtin_actions import BuiltinCall, BuiltinRefused, register_builtin
from coop.enforcement.models import ExecutionSource
from coop.review.builtin_actions import JOB_SOURCES
from coop.review.models import JobSource


def enqueue_to_ncmec(call: BuiltinCall) -> None:
    """Rules, the actions API, manual actions and Enqueue to NCMEC; a refusal goes back to
    enforcement, which answers the caller (or records it on a rule's execution)."""
    source = JOB_SOURCES.get(ExecutionSource(call.source), JobSource.MANUAL)
    try:
        enqueue_user(
            call.item,
            source,
            user=call.user,
            submission_id=call.submission_id,
            policy_ids=call.policy_ids,
        )
    except NcmecRefused as refused:
        raise BuiltinRefused(refused.reason, refused.pointer, "Cannot create NCMEC job") from None


def register() -> None:
    # The user is found by jobs.resolve_user, which first asks the platform (partial items)
    # for an item Coop has no data for.
    register_builtin(builtins.NCMEC, enqueue_to_ncmec, needs_user=False)
