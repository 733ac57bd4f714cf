"""What the built-in actions do, by registry (coop.manual-review, -author, coop.ncmec).

Enforcement executes every action, but what a built-in action does belongs to the context
that owns it: review registers the two manual-review actions and childsafety registers
`coop.ncmec`, each in its AppConfig.ready(). Enforcement never imports them, so it stays
below both in the layer contract (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coop.core.items import ItemRef


@dataclass(frozen=True, slots=True)
class BuiltinCall:
    """One execution of a built-in action."""

    action_id: str
    item: ItemRef
    submission_id: int | None  # the submission holding the item's data, when known
    user: ItemRef | None  # the user it concerns: the item itself if a USER, else its author
    source: str  # ExecutionSource
    policy_ids: tuple[str, ...]
    signal_score: float = 0.0  # the firing rules' signal score (PRIORITY review queues)


class BuiltinRefused(Exception):
    """Raised by a handler that cannot act (e.g. no NCMEC job can be made for the item):
    `reason` says why in words an operator can act on, `pointer` names the request field
    it concerns (`/itemId`). Enforcement turns it into the caller's answer: an API error, a
    refused decision, or the execution's `refused_reason` in the rule execution log."""

    def __init__(self, reason: str, pointer: str = "/itemId", title: str = "Action refused"):
        super().__init__(reason)
        self.reason, self.pointer, self.title = reason, pointer, title


@dataclass(frozen=True, slots=True)
class Builtin:
    handler: Callable[[BuiltinCall], None]
    needs_user: bool  # refused (with the reason recorded) when the item has no known author


_REGISTRY: dict[str, Builtin] = {}


def register_builtin(
    action_id: str, handler: Callable[[BuiltinCall], None], *, needs_user: bool
) -> None:
    """Called once per built-in from its owner's AppConfig.ready()."""
    _REGISTRY[action_id] = Builtin(handler, needs_user)


def builtin(action_id: str) -> Builtin:
    """The registered built-in; LookupError if its app did not register it (a wiring bug)."""
    try:
        return _REGISTRY[action_id]
    except KeyError:
        raise LookupError(f"no handler registered for built-in action {action_id!r}") from None
