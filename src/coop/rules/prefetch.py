"""Remote signal calls made before an evaluation instead of during it (rules.md, signals).

The worker locks the submissions it evaluates; a classifier or HMA call made under those
locks would hold them for as long as the provider takes. So the calls are found and made
first, outside the transaction, and the evaluation under the locks replays their answers.

Pure Python, like the evaluator it wraps. Which calls a batch needs is found by evaluating
the rules themselves (`Recorder`): a dry run in which every remote call without an answer
yet is recorded and fails, so the leaves the rule reaches, and only those, are asked for.
Per rule, only the calls of the first leaf without an answer are certain to be made (what
comes after depends on its answer), so each round asks for those, and the next round
evaluates again with the answers: exactly the calls the evaluation would have made, the
calls of different rules and items made at once. `Replayer` then answers the evaluation under
the locks from what was fetched, and records what it needed but was not fetched (the
leaves before it changed meanwhile, e.g. a strike total) instead of calling out.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from coop.rules.evaluator import Item, SignalProvider
from coop.signals.registry import FULL_ITEM, SignalCall, SignalFunction, SignalOutput, SignalSpec


class Remote(StrEnum):
    """How a remote signal's calls are made before the evaluation."""

    THREADED = "THREADED"  # network only: many at once in threads (classifiers)
    IN_CALLER = "IN_CALLER"  # reads the database too: in the calling thread (HMA)


class Unanswered(Exception):
    """A remote call without a fetched answer (the dry run's placeholder, or a call the
    evaluation under the locks needed and nobody fetched)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """A call that failed: the message the evaluator logs for the ERRORED leaf."""

    message: str


T = TypeVar("T")
Result = SignalOutput | Failed
CallKey = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class Wanted:
    """One remote call to make: `run(call)` for the item `owner`, stored under `key`."""

    owner: Hashable
    key: CallKey
    signal_id: str
    remote: Remote
    run: SignalFunction
    call: SignalCall

    def execute(self) -> Result:
        try:
            return self.run(self.call)
        except Exception as exc:  # the evaluator logs it as the leaf's error
            return Failed(str(exc) or type(exc).__name__)


def _freeze(value: object) -> Hashable:
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("[]", tuple(_freeze(v) for v in value))
    if isinstance(value, Item):
        return FULL_ITEM  # answers are kept per item
    return value  # type: ignore[return-value]


def call_key(signal_id: str, call: SignalCall) -> CallKey:
    """What identifies a call's answer within one item."""
    return (
        signal_id,
        call.input_type,
        _freeze(call.value),
        call.values_key,
        call.banks,
        call.subcategory,
        call.substring,
    )


class _Wrapping:
    """A provider whose remote signals answer through `_answer`."""

    def __init__(
        self,
        base: SignalProvider,
        remote: Callable[[str], Remote | None],
        owner: Hashable,
        answers: dict[CallKey, Result],
    ) -> None:
        self.base, self.remote, self.owner, self.answers = base, remote, owner, answers

    def get(self, signal_id: str) -> SignalSpec | None:
        return self.base.get(signal_id)

    def implementation(self, signal_id: str) -> SignalFunction | None:
        run = self.base.implementation(signal_id)
        mode = self.remote(signal_id) if run is not None else None
        if run is None or mode is None:
            return run
        return lambda call: self._answer(signal_id, mode, run, call)

    def _answer(
        self, signal_id: str, mode: Remote, run: SignalFunction, call: SignalCall
    ) -> SignalOutput:
        key = call_key(signal_id, call)
        found = self.answers.get(key)
        if found is None:
            self._unanswered(Wanted(self.owner, key, signal_id, mode, run, call))
            raise Unanswered(
                f"{signal_id} was not fetched before the evaluation (the leaves before it "
                "changed while Coop was fetching; nothing is called while the item is locked)"
            )
        if isinstance(found, Failed):
            raise Unanswered(found.message)
        return found

    def _unanswered(self, wanted: Wanted) -> None:
        raise NotImplementedError


class Recorder(_Wrapping):
    """The dry run's provider: records the calls of each rule's first unanswered leaf (all
    its values when the evaluator asks for them at once, through `run_many`: pass it to the
    EvaluationContext). Calls after it depend on its answer, so they wait for a later round."""

    def __init__(
        self,
        base: SignalProvider,
        remote: Callable[[str], Remote | None],
        owner: Hashable,
        answers: dict[CallKey, Result],
    ) -> None:
        super().__init__(base, remote, owner, answers)
        self.wanted: dict[CallKey, Wanted] = {}
        self._batches = 0  # `run_many` calls so far
        self._batch: int | None = None  # the one running now
        self._first: int | None = None  # the batch of the rule's first unanswered call (0: none)

    def next_rule(self) -> None:
        self._first = None

    def run_many(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        self._batches += 1
        self._batch = self._batches
        try:
            return [task() for task in tasks]
        finally:
            self._batch = None

    def _unanswered(self, wanted: Wanted) -> None:
        if self._first is None:
            self._first = self._batch or 0
        elif not self._batch or self._batch != self._first:
            return  # it depends on an answer not known yet
        self.wanted.setdefault(wanted.key, wanted)


class Replayer(_Wrapping):
    """The provider of the evaluation under the locks: fetched answers only, never a call;
    what was needed and not fetched is in `missing`."""

    def __init__(
        self,
        base: SignalProvider,
        remote: Callable[[str], Remote | None],
        owner: Hashable,
        answers: dict[CallKey, Result],
    ) -> None:
        super().__init__(base, remote, owner, answers)
        self.missing: dict[CallKey, Wanted] = {}

    def _unanswered(self, wanted: Wanted) -> None:
        self.missing.setdefault(wanted.key, wanted)
