"""The `coop.ncmec` built-in action: a user-level NCMEC review request."""

from __future__ import annotations

from coop.catalog import builtins
from coop.childsafety.services import request_ncmec_review
from coop.enforcement.builtin_actions import BuiltinCall, register_builtin


def enqueue_to_ncmec(call: BuiltinCall) -> None:
    assert call.user is not None  # registered with needs_user
    request_ncmec_review(call.user, call.item, call.source)


def register() -> None:
    register_builtin(builtins.NCMEC, enqueue_to_ncmec, needs_user=True)
