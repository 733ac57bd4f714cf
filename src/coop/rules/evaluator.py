"""Evaluation of condition trees against one item (rules.md, Conditions and Signals).

Pure Python (no Django), so the rule engine, routing, spot tests and backtests share it and it
is tested with fake signals. A condition is compiled once per rule version (`compile_condition`:
signal declarations looked up, children put in cost order, memo keys interned); evaluating it
is then a walk that builds a small result tree. One `EvaluationContext` per item is shared by
all the rules evaluated on that item, so inputs are computed and signals run once per item.

Logic is three-valued: PASSED is true, FAILED and INAPPLICABLE are false, ERRORED is unknown.
Sets report PASSED, FAILED or ERRORED (which child made them false depends on evaluation
order, so they do not report INAPPLICABLE); leaves report all four outcomes.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from coop.core.enums import ItemKind
from coop.core.items import ItemRef
from coop.core.media import media_kind
from coop.rules.conditions import EQUALITY, VALUE_COMPARATORS, ConditionSet, FieldInput, Input, Leaf
from coop.signals.registry import (
    FULL_ITEM,
    USER,
    Matched,
    OutputType,
    SignalCall,
    SignalFunction,
    SignalOutput,
    SignalSpec,
)

T = TypeVar("T")

# A leaf whose signal costs at least this much runs its signal on all values of a multi-valued
# input at once through `EvaluationContext.run_many` (e.g. several images to a classifier).
CONCURRENT_COST = 10
# Longest input value kept in a logged matchedValue (ALL_TEXT can be a whole post).
LOGGED_VALUE_LENGTH = 500


class Outcome(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    INAPPLICABLE = "INAPPLICABLE"
    ERRORED = "ERRORED"


@dataclass(frozen=True, slots=True)
class Item:
    """The item being evaluated.

    `schema` maps each field name, in schema order, to (scalar type, "ARRAY" | "MAP" | None);
    `data` is the coerced data (catalog.item_data), so absent fields are missing keys.
    """

    item_id: str
    type_id: str
    kind: str
    schema: Mapping[str, tuple[str, str | None]]
    data: Mapping[str, Any]
    creator: ItemRef | None = None

    @property
    def ref(self) -> ItemRef:
        return ItemRef(self.item_id, self.type_id)


def item_schema(fields: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """`Item.schema` from an item type's field list ({name, type, items?, values?})."""
    schema: dict[str, tuple[str, str | None]] = {}
    for spec in fields:
        if spec["type"] == "ARRAY":
            schema[spec["name"]] = (spec["items"], "ARRAY")
        elif spec["type"] == "MAP":
            schema[spec["name"]] = (spec["values"], "MAP")
        else:
            schema[spec["name"]] = (spec["type"], None)
    return schema


@dataclass(frozen=True, slots=True)
class Routing:
    """What routing rules see of the job being routed (RELEVANT_POLICY and SOURCE inputs)."""

    policy_ids: tuple[str, ...] = ()
    source: str | None = None


class SignalProvider(Protocol):
    """Where the evaluator finds signals: declarations (for cost and output type) and code."""

    def get(self, signal_id: str) -> SignalSpec | None: ...

    def implementation(self, signal_id: str) -> SignalFunction | None: ...


def run_sequentially(tasks: Sequence[Callable[[], T]]) -> list[T]:
    return [task() for task in tasks]


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class MatchedValue:
    """Which input value passed (its position among the input's values) and what matched."""

    value: object
    index: int
    matched: Matched | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": _loggable(self.value), "index": self.index}
        matched = self.matched
        if matched is not None:
            out["entry"] = _loggable(matched.entry)
            if matched.bank is not None:
                out["bank"] = matched.bank
            if matched.span is not None:
                out["span"] = list(matched.span)
            if matched.text is not None:
                out["text"] = matched.text
        return out


class LeafResult:
    __slots__ = ("duration_ns", "error", "leaf", "matched", "outcome", "score", "skipped")

    def __init__(
        self,
        leaf: Leaf,
        outcome: Outcome | None,
        *,
        score: object = None,
        matched: MatchedValue | None = None,
        error: str | None = None,
        duration_ns: int = 0,
        skipped: bool = False,
    ) -> None:
        self.leaf = leaf
        self.outcome = outcome
        self.score = score
        self.matched = matched
        self.error = error
        self.duration_ns = duration_ns
        self.skipped = skipped

    def to_dict(self) -> dict[str, Any]:
        leaf = self.leaf
        out: dict[str, Any] = {
            "input": {"field": leaf.input.name}
            if isinstance(leaf.input, FieldInput)
            else str(leaf.input)
        }
        if leaf.signal is not None:
            out["signal"] = leaf.signal
        if self.skipped:
            out["skipped"] = True
            return out
        out["outcome"] = str(self.outcome)
        if self.score is not None:
            out["score"] = _loggable(self.score)
        if self.matched is not None:
            out["matchedValue"] = self.matched.to_dict()
        if self.error is not None:
            out["error"] = self.error
        out["durationUs"] = self.duration_ns // 1000
        return out


class SetResult:
    __slots__ = ("children", "duration_ns", "operator", "outcome", "skipped")

    def __init__(
        self,
        operator: str,
        outcome: Outcome | None,
        children: Sequence[NodeResult] = (),
        duration_ns: int = 0,
        skipped: bool = False,
    ) -> None:
        self.operator = operator
        self.outcome = outcome
        self.children = children  # in authoring order
        self.duration_ns = duration_ns
        self.skipped = skipped

    def to_dict(self) -> dict[str, Any]:
        if self.skipped:
            return {"op": self.operator, "skipped": True}
        return {
            "op": self.operator,
            "outcome": str(self.outcome),
            "durationUs": self.duration_ns // 1000,
            "children": [child.to_dict() for child in self.children],
        }


NodeResult = LeafResult | SetResult


@dataclass(frozen=True, slots=True)
class ConditionResult:
    outcome: Outcome
    root: NodeResult

    @property
    def passed(self) -> bool:
        """A rule fires only on PASSED; ERRORED (unknown) never fires."""
        return self.outcome is Outcome.PASSED

    @property
    def duration_ns(self) -> int:
        return self.root.duration_ns

    def to_dict(self) -> dict[str, Any]:
        """The JSON form for the execution log: the tree with each node's outcome."""
        return self.root.to_dict()

    @property
    def signal_score(self) -> float:
        """The highest numeric score of the passing signal leaves (0 when none has one): what
        PRIORITY review queues order by, with the report count (review.md)."""
        return max(_passing_scores(self.root), default=0.0)


def _passing_scores(node: NodeResult) -> Iterator[float]:
    if isinstance(node, SetResult):
        for child in node.children:
            yield from _passing_scores(child)
        return
    score = node.score
    if (
        node.outcome is Outcome.PASSED
        and node.leaf.signal is not None
        and isinstance(score, int | float)
        and not isinstance(score, bool)
        and math.isfinite(score)
    ):
        yield float(score)


def _loggable(value: object) -> object:
    if isinstance(value, str):
        return value if len(value) <= LOGGED_VALUE_LENGTH else value[:LOGGED_VALUE_LENGTH] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSONB has no NaN or Infinity
    if isinstance(value, ItemRef):
        return value.as_wire()
    if isinstance(value, Item):
        return {"id": value.item_id, "typeId": value.type_id}
    return value


# ---------------------------------------------------------------------------------------------
# Compilation


class _CallKey:
    """The static part of a signal call's memo key, interned so it hashes by identity."""

    __slots__ = ("__weakref__",)


_CALL_KEYS: weakref.WeakValueDictionary[Hashable, _CallKey] = weakref.WeakValueDictionary()


def _call_key(static: Hashable) -> _CallKey:
    key = _CALL_KEYS.get(static)
    if key is None:
        key = _CALL_KEYS.setdefault(static, _CallKey())
    return key


def _freeze(value: object) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class _CompiledLeaf:
    leaf: Leaf
    spec: SignalSpec | None
    cost: float
    call_key: _CallKey
    values_key: Hashable
    skipped: LeafResult


@dataclass(frozen=True, slots=True)
class _CompiledSet:
    operator: str
    children: tuple[_CompiledLeaf | _CompiledSet, ...]  # authoring order
    order: tuple[int, ...]  # indices of children, cheapest first
    cost: float
    skipped: SetResult


_Compiled = _CompiledLeaf | _CompiledSet


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    root: _Compiled


def compile_condition(
    condition: Leaf | ConditionSet, provider: SignalProvider
) -> CompiledCondition:
    """Prepare a parsed condition (rules.conditions.parse_condition) for repeated evaluation."""
    return CompiledCondition(_compile(condition, provider))


def _compile(node: Leaf | ConditionSet, provider: SignalProvider) -> _Compiled:
    if isinstance(node, ConditionSet):
        children = tuple(_compile(child, provider) for child in node.children)
        order = tuple(sorted(range(len(children)), key=lambda i: children[i].cost))
        return _CompiledSet(
            node.operator,
            children,
            order,
            sum(child.cost for child in children),
            SetResult(node.operator, None, skipped=True),
        )
    spec = provider.get(node.signal) if node.signal is not None else None
    if node.signal is None:
        cost: float = 0
    else:
        cost = spec.cost if spec is not None else math.inf  # unknown: last (it will err)
    values_key = _freeze(node.values)
    static = (node.signal, values_key, node.banks, node.subcategory, node.substring)
    return _CompiledLeaf(
        node, spec, cost, _call_key(static), values_key, LeafResult(node, None, skipped=True)
    )


# ---------------------------------------------------------------------------------------------
# Evaluation


class _Failure:
    """A signal that could not produce a value (memoised like a result)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


_NOT_IN_TYPE = object()  # a field the item's type does not have
_Resolved = tuple[str, tuple[object, ...]] | None  # (input type, values); None = absent


class EvaluationContext:
    """One item's evaluation state, shared by every rule evaluated on that item.

    `run_many` runs independent signal calls; the default runs them in turn, and a worker
    with expensive (remote) signals can pass one backed by a thread pool.
    """

    __slots__ = ("_inputs", "_memo", "item", "provider", "routing", "run_many")

    def __init__(
        self,
        item: Item,
        provider: SignalProvider,
        routing: Routing | None = None,
        run_many: Callable[[Sequence[Callable[[], object]]], list[object]] = run_sequentially,
    ) -> None:
        self.item = item
        self.provider = provider
        self.routing = routing
        self.run_many = run_many
        self._inputs: dict[Input | str, object] = {}
        self._memo: dict[tuple[_CallKey, str, Hashable], SignalOutput | _Failure] = {}

    # Inputs -----------------------------------------------------------------------------------

    def resolve(self, source: Input | FieldInput) -> object:
        """(input type, values) for an input, None when absent, or _NOT_IN_TYPE."""
        key: Input | str = source if isinstance(source, Input) else "field:" + source.name
        try:
            return self._inputs[key]
        except KeyError:
            resolved = self._resolve(source)
            self._inputs[key] = resolved
            return resolved

    def _resolve_field(self, source: FieldInput) -> object:
        declared = self.item.schema.get(source.name)
        if declared is None:
            return _NOT_IN_TYPE
        scalar, container = declared
        value = self.item.data.get(source.name)
        if value is None:
            return None
        if container == "ARRAY":
            values = tuple(value)
        elif container == "MAP":
            values = tuple(value.values())
        else:
            values = (value,)
        return (scalar, values) if values else None

    def _resolve(self, source: Input | FieldInput) -> object:
        item = self.item
        if isinstance(source, FieldInput):
            return self._resolve_field(source)
        if source is Input.ALL_TEXT:
            texts = self._values_of(("STRING",))
            return ("STRING", ("\n".join(texts),)) if texts else None
        if source is Input.ANY_IMAGE:
            return _present("IMAGE", self._values_of(("IMAGE",), media="IMAGE"))
        if source is Input.ANY_VIDEO:
            return _present("VIDEO", self._values_of(("VIDEO",), media="VIDEO"))
        if source is Input.ANY_GEOHASH:
            return _present("GEOHASH", self._values_of(("GEOHASH",)))
        if source is Input.AUTHOR:
            return (USER, (item.creator,)) if item.creator is not None else None
        if source is Input.ITEM:
            return (USER if item.kind == ItemKind.USER else "RELATED_ITEM", (item.ref,))
        if source is Input.RELEVANT_POLICY:
            policies = self.routing.policy_ids if self.routing else ()
            return _present("POLICY_ID", tuple(policies))
        if source is Input.SOURCE:
            source_type = self.routing.source if self.routing else None
            return ("SOURCE", (source_type,)) if source_type else None
        return (FULL_ITEM, (item,))

    def _values_of(self, types: tuple[str, ...], media: str | None = None) -> tuple[object, ...]:
        """Every value of the fields of `types` (and MEDIA values of kind `media`), in order."""
        found: list[object] = []
        data = self.item.data
        for name, (scalar, container) in self.item.schema.items():
            wanted = scalar in types
            if not wanted and not (media and scalar == "MEDIA"):
                continue
            value = data.get(name)
            if value is None:
                continue
            values = (
                value
                if container == "ARRAY"
                else value.values()
                if container == "MAP"
                else (value,)
            )
            for element in values:
                if wanted or media_kind(element) == media:
                    found.append(element)
        return tuple(found)

    # Signals ----------------------------------------------------------------------------------

    def call(
        self,
        node: _CompiledLeaf,
        run: SignalFunction,
        input_type: str,
        value: object,
    ) -> SignalOutput | _Failure:
        key = (node.call_key, input_type, _value_key(value))
        try:
            return self._memo[key]
        except KeyError:
            result = self._run(node, run, input_type, value)
            self._memo[key] = result
            return result

    def prefetch(
        self, node: _CompiledLeaf, run: SignalFunction, input_type: str, values: tuple[object, ...]
    ) -> None:
        """Run the signal on every value not yet memoised, through `run_many`."""
        keys = {(node.call_key, input_type, _value_key(v)): v for v in values}
        missing = [(key, value) for key, value in keys.items() if key not in self._memo]
        if len(missing) < 2:
            return
        tasks = [
            (lambda value=value: self._run(node, run, input_type, value)) for _, value in missing
        ]
        for (key, _), result in zip(missing, self.run_many(tasks), strict=True):
            self._memo[key] = result  # type: ignore[assignment]

    def _run(
        self, node: _CompiledLeaf, run: SignalFunction, input_type: str, value: object
    ) -> SignalOutput | _Failure:
        leaf = node.leaf
        call = SignalCall(
            value=value,
            input_type=input_type,
            values=leaf.values,
            values_key=node.values_key,
            banks=leaf.banks,
            subcategory=leaf.subcategory,
            substring=leaf.substring,
            item=self.item,
        )
        try:
            output = run(call)
        except Exception as exc:
            return _Failure(str(exc) or type(exc).__name__)
        if not isinstance(output, SignalOutput) or not isinstance(
            output.score, bool | int | float | str
        ):
            return _Failure(f"signal {leaf.signal} returned {output!r}, not a SignalOutput")
        return output


def _present(input_type: str, values: tuple[object, ...]) -> _Resolved:
    return (input_type, values) if values else None


def _value_key(value: object) -> Hashable:
    if isinstance(value, Item):
        return FULL_ITEM  # one item per context
    if isinstance(value, dict | list):
        return _freeze(value)
    return value  # type: ignore[return-value]


def evaluate(
    condition: CompiledCondition | Leaf | ConditionSet, context: EvaluationContext
) -> ConditionResult:
    """Evaluate a condition on the context's item. Never raises because of a signal."""
    if not isinstance(condition, CompiledCondition):
        condition = compile_condition(condition, context.provider)
    root = _evaluate(condition.root, context)
    assert root.outcome is not None
    return ConditionResult(root.outcome, root)


def _evaluate(node: _Compiled, context: EvaluationContext) -> NodeResult:
    if isinstance(node, _CompiledLeaf):
        return _evaluate_leaf(node, context)
    start = time.perf_counter_ns()
    results: list[NodeResult] = [child.skipped for child in node.children]
    operator = node.operator
    trues = unknowns = 0
    decided: Outcome | None = None
    for index in node.order:
        result = _evaluate(node.children[index], context)
        results[index] = result
        outcome = result.outcome
        if outcome is Outcome.PASSED:
            trues += 1
            if operator == "any" or (operator == "xor" and trues == 2):
                decided = Outcome.PASSED if operator == "any" else Outcome.FAILED
                break
        elif outcome is Outcome.ERRORED:
            unknowns += 1
        elif operator == "all":
            decided = Outcome.FAILED
            break
    if decided is None:
        decided = _combine(operator, trues, unknowns)
    return SetResult(operator, decided, results, time.perf_counter_ns() - start)


def _combine(operator: str, trues: int, unknowns: int) -> Outcome:
    """A set's outcome once every child ran and none decided it early (no false in `all`)."""
    if operator == "all":
        return Outcome.ERRORED if unknowns else Outcome.PASSED
    if operator == "any":
        if trues:
            return Outcome.PASSED
        return Outcome.ERRORED if unknowns else Outcome.FAILED
    if trues == 1 and not unknowns:
        return Outcome.PASSED
    return Outcome.ERRORED if trues <= 1 and unknowns else Outcome.FAILED


def _evaluate_leaf(node: _CompiledLeaf, context: EvaluationContext) -> LeafResult:
    start = time.perf_counter_ns()
    result = _leaf_outcome(node, context)
    result.duration_ns = time.perf_counter_ns() - start
    return result


def _leaf_outcome(node: _CompiledLeaf, context: EvaluationContext) -> LeafResult:
    leaf = node.leaf
    resolved = context.resolve(leaf.input)
    if resolved is _NOT_IN_TYPE:
        return LeafResult(leaf, Outcome.INAPPLICABLE)
    if leaf.comparator == "IS_NOT_PROVIDED":
        return LeafResult(leaf, Outcome.PASSED if resolved is None else Outcome.FAILED)
    if resolved is None:
        return LeafResult(leaf, Outcome.INAPPLICABLE)
    input_type, values = resolved  # type: ignore[misc]
    if leaf.signal is None:
        return _direct(leaf, values)
    spec = node.spec
    run, problem = _implementation(spec, leaf.signal, input_type, context)
    if run is None or spec is None:
        if leaf.comparator == "IS_UNAVAILABLE":
            return LeafResult(
                leaf, Outcome.PASSED, matched=MatchedValue(values[0], 0), error=problem
            )
        return LeafResult(leaf, Outcome.ERRORED, error=problem)
    if len(values) > 1 and spec.cost >= CONCURRENT_COST:
        context.prefetch(node, run, input_type, values)
    return _signal_outcome(node, spec, run, input_type, values, context)


def _implementation(
    spec: SignalSpec | None, signal_id: str, input_type: str, context: EvaluationContext
) -> tuple[SignalFunction | None, str | None]:
    """The signal's code, or why it cannot run on `input_type` values."""
    if spec is None:
        return None, f"unknown signal {signal_id}"
    if not spec.enabled:
        return None, f"signal {spec.id} is disabled: {spec.disabled_reason}"
    if not spec.accepts(input_type):
        return None, f"signal {spec.id} does not accept {input_type} values"
    run = context.provider.implementation(spec.id)
    return run, None if run is not None else f"signal {spec.id} has no implementation"


def _signal_outcome(
    node: _CompiledLeaf,
    spec: SignalSpec,
    run: SignalFunction,
    input_type: str,
    values: tuple[object, ...],
    context: EvaluationContext,
) -> LeafResult:
    """Run the signal on each value until one passes (IS_UNAVAILABLE: until one fails)."""
    leaf = node.leaf
    unavailable = leaf.comparator == "IS_UNAVAILABLE"
    first: LeafResult | None = None
    error: str | None = None
    for index, value in enumerate(values):
        output = context.call(node, run, input_type, value)
        if isinstance(output, _Failure):
            if unavailable:
                return LeafResult(
                    leaf,
                    Outcome.PASSED,
                    matched=MatchedValue(value, index),
                    error=output.message,
                )
            error = error or output.message
            continue
        if unavailable:
            passed = False
        else:
            try:
                passed = compare(output.score, leaf.comparator, leaf.threshold, spec)
            except ValueError as exc:
                error = error or str(exc)
                continue
        matched = MatchedValue(value, index, output.matched)
        if passed:
            return LeafResult(leaf, Outcome.PASSED, score=output.score, matched=matched)
        if first is None:
            first = LeafResult(
                leaf,
                Outcome.FAILED,
                score=output.score,
                matched=matched if output.matched is not None else None,
            )
    if error is not None:
        return LeafResult(leaf, Outcome.ERRORED, error=error)
    assert first is not None
    return first


def _direct(leaf: Leaf, values: tuple[object, ...]) -> LeafResult:
    """A leaf without a signal: each input value is itself the score."""
    error: str | None = None
    for index, value in enumerate(values):
        if isinstance(value, Item | ItemRef | dict):
            error = error or f"{leaf.input} needs a signal to be compared"
            continue
        try:
            passed = compare(value, leaf.comparator, leaf.threshold, None)
        except ValueError as exc:
            error = error or str(exc)
            continue
        if passed:
            return LeafResult(leaf, Outcome.PASSED, score=value, matched=MatchedValue(value, index))
    if error is not None:
        return LeafResult(leaf, Outcome.ERRORED, error=error)
    return LeafResult(leaf, Outcome.FAILED, score=values[0])


def compare(
    score: object, comparator: str | None, threshold: object, spec: SignalSpec | None
) -> bool:
    """Whether `score` passes; raises ValueError when the two cannot be compared."""
    if comparator is None:
        if isinstance(score, bool):
            return score
        raise ValueError(f"score {score!r} is not a boolean: the leaf needs a comparator")
    left: Any = score
    right: Any = threshold
    if spec is not None and spec.output is OutputType.ORDERED_ENUM:
        ranks = spec.enum_values
        if score not in ranks or threshold not in ranks:
            raise ValueError(f"cannot rank {score!r} against {threshold!r} ({', '.join(ranks)})")
        left, right = ranks.index(score), ranks.index(threshold)  # type: ignore[arg-type]
    elif isinstance(score, bool) or isinstance(threshold, bool):
        if not (isinstance(score, bool) and isinstance(threshold, bool)):
            raise ValueError(f"cannot compare {score!r} with {threshold!r}")
        if comparator not in EQUALITY:
            raise ValueError(f"booleans take EQUALS or NOT_EQUAL_TO, not {comparator}")
    elif not (
        (isinstance(score, int | float) and isinstance(threshold, int | float))
        or (isinstance(score, str) and isinstance(threshold, str))
    ):
        raise ValueError(f"cannot compare {score!r} with {threshold!r}")
    compare_values = VALUE_COMPARATORS.get(comparator)
    if compare_values is None:
        raise ValueError(f"comparator {comparator} does not compare values")
    return bool(compare_values(left, right))
