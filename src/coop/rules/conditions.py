"""Condition trees of rules and routing rules: parsing and save-time validation (rules.md).

Pure Python (no Django): validation runs against a small `CatalogView` of the configuration the
rule will live in, so the same check serves the console, the configuration file and tests, and
every problem is reported with its path (e.g. `condition.any[0].banks[0]`) instead of surfacing
as a runtime error.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from coop.core.enums import BankKind, ItemKind, JobSource
from coop.signals.registry import (
    FULL_ITEM,
    USER,
    OutputType,
    SignalRegistry,
    SignalSpec,
    SubcategoryMode,
)
from coop.signals.values import location_error, regex_error

SET_OPERATORS = ("all", "any", "xor")
LEAF_KEYS = frozenset(
    {"input", "signal", "subcategory", "values", "banks", "comparator", "threshold", "substring"}
)
# The comparators that compare a score with the threshold, by name (the evaluator's table).
VALUE_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "EQUALS": operator.eq,
    "NOT_EQUAL_TO": operator.ne,
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUALS": operator.le,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUALS": operator.ge,
}
COMPARATORS = (*VALUE_COMPARATORS, "IS_UNAVAILABLE", "IS_NOT_PROVIDED")
EQUALITY = frozenset({"EQUALS", "NOT_EQUAL_TO"})
SOURCES = tuple(JobSource)
# Sets nest "to any depth" in practice; a bound keeps parsing and evaluation (both recursive)
# far from Python's recursion limit whatever a file or a form sends.
MAX_DEPTH = 32


class Input(StrEnum):
    ALL_TEXT = "ALL_TEXT"
    ANY_IMAGE = "ANY_IMAGE"
    ANY_VIDEO = "ANY_VIDEO"
    ANY_GEOHASH = "ANY_GEOHASH"
    AUTHOR = "AUTHOR"
    ITEM = "ITEM"
    RELEVANT_POLICY = "RELEVANT_POLICY"
    SOURCE = "SOURCE"
    FULL_ITEM = "FULL_ITEM"


# The value type each named input yields (AUTHOR and ITEM depend on the item type).
_INPUT_TYPES = {
    Input.ALL_TEXT: "STRING",
    Input.ANY_IMAGE: "IMAGE",
    Input.ANY_VIDEO: "VIDEO",
    Input.ANY_GEOHASH: "GEOHASH",
    Input.RELEVANT_POLICY: "POLICY_ID",
    Input.SOURCE: "SOURCE",
    Input.FULL_ITEM: FULL_ITEM,
}
ROUTING_ONLY_INPUTS = frozenset({Input.RELEVANT_POLICY, Input.SOURCE})
# Outputs of leaves without a signal, which compare the input's own value.
_DIRECT_OUTPUTS = {
    "NUMBER": OutputType.NUMBER,
    "BOOLEAN": OutputType.BOOLEAN,
    "STRING": OutputType.STRING,
    "ID": OutputType.STRING,
    "URL": OutputType.STRING,
    "EMAIL_ADDRESS": OutputType.STRING,
    "IP_ADDRESS": OutputType.STRING,
    "DATETIME": OutputType.STRING,
    "GEOHASH": OutputType.STRING,
    "POLICY_ID": "POLICY_ID",
    "SOURCE": "SOURCE",
}


class RuleKind(StrEnum):
    PROACTIVE = "PROACTIVE"
    ROUTING = "ROUTING"


@dataclass(frozen=True)
class FieldInput:
    name: str


@dataclass(frozen=True)
class Leaf:
    input: Input | FieldInput
    signal: str | None = None
    subcategory: str | None = None
    values: tuple[object, ...] = ()
    banks: tuple[str, ...] = ()
    comparator: str | None = None
    threshold: object = None
    substring: bool = False
    keys: frozenset[str] = frozenset()  # which keys were given, to tell absent from empty


@dataclass(frozen=True)
class ConditionSet:
    operator: str  # all | any | xor
    children: tuple[Condition, ...]


Condition = Leaf | ConditionSet

IMAGE_HASH_SIGNALS = frozenset({"IMAGE_SIMILARITY_MATCH", "IMAGE_SIMILARITY_DOES_NOT_MATCH"})


def signals_in(node: Condition) -> set[str]:
    """Every signal a condition tree uses."""
    if isinstance(node, Leaf):
        return {node.signal} if node.signal else set()
    return set().union(*(signals_in(child) for child in node.children))


@dataclass(frozen=True)
class ConditionError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ItemTypeInfo:
    kind: str  # CONTENT | USER | THREAD
    fields: Mapping[str, str]  # field name -> scalar type (element type for ARRAY / MAP)
    roles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogView:
    """What a condition may refer to: the configuration as it will be once saved."""

    item_types: Mapping[str, ItemTypeInfo]
    banks: Mapping[str, str]  # bank id -> kind
    policies: frozenset[str]
    signals: SignalRegistry


def parse_condition(
    data: object, path: str = "condition"
) -> tuple[Condition | None, list[ConditionError]]:
    """Turn the file/JSON form into a tree; structural errors are collected, not raised."""
    errors: list[ConditionError] = []
    node = _parse(data, path, errors)
    return (node if not errors else None), errors


def _parse(
    data: object, path: str, errors: list[ConditionError], depth: int = 0
) -> Condition | None:
    if depth > MAX_DEPTH:
        errors.append(ConditionError(path, f"nested too deeply (at most {MAX_DEPTH} levels)"))
        return None
    if not isinstance(data, dict):
        errors.append(ConditionError(path, "must be a set {all|any|xor: [...]} or a leaf"))
        return None
    operators = [key for key in SET_OPERATORS if key in data]
    if operators:
        if len(data) != 1:
            errors.append(ConditionError(path, "a set has exactly one key: all, any or xor"))
            return None
        operator = operators[0]
        children = data[operator]
        if not isinstance(children, list):
            errors.append(ConditionError(f"{path}.{operator}", "must be a list of conditions"))
            return None
        parsed = [
            _parse(child, f"{path}.{operator}[{i}]", errors, depth + 1)
            for i, child in enumerate(children)
        ]
        return ConditionSet(operator, tuple(child for child in parsed if child is not None))
    return _parse_leaf(data, path, errors)


def _parse_leaf(data: dict, path: str, errors: list[ConditionError]) -> Leaf | None:
    start = len(errors)
    for key in data:
        if key not in LEAF_KEYS:
            errors.append(ConditionError(f"{path}.{key}", "unknown key"))
    leaf_input = _parse_input(data.get("input"), path, errors)
    _check_leaf_types(data, path, errors)
    comparator = data.get("comparator")
    if isinstance(comparator, str) and comparator not in COMPARATORS:
        errors.append(
            ConditionError(
                f"{path}.comparator",
                f"unknown comparator {comparator!r}; use one of " + ", ".join(COMPARATORS),
            )
        )
    if len(errors) > start or leaf_input is None:
        return None
    values = data.get("values") or []
    return Leaf(
        input=leaf_input,
        signal=data.get("signal"),
        subcategory=data.get("subcategory"),
        values=tuple(values),
        banks=tuple(data.get("banks") or ()),
        comparator=comparator,
        threshold=data.get("threshold"),
        substring=bool(data.get("substring", False)),
        keys=frozenset(data),
    )


def _parse_input(
    raw_input: object, path: str, errors: list[ConditionError]
) -> Input | FieldInput | None:
    if raw_input is None:
        errors.append(ConditionError(path, "a leaf needs an input (or use all/any/xor)"))
    elif isinstance(raw_input, dict):
        name = raw_input.get("field")
        if set(raw_input) == {"field"} and isinstance(name, str) and name:
            return FieldInput(name)
        errors.append(ConditionError(f"{path}.input", "must be {field: NAME}"))
    elif isinstance(raw_input, str) and raw_input in Input.__members__:
        return Input(raw_input)
    else:
        errors.append(
            ConditionError(
                f"{path}.input",
                f"unknown input {raw_input!r}; use {{field: NAME}} or one of " + ", ".join(Input),
            )
        )
    return None


def _check_leaf_types(data: dict, path: str, errors: list[ConditionError]) -> None:
    """The types of the keys other than input and threshold."""
    for key in ("signal", "subcategory", "comparator"):
        if key in data and not isinstance(data[key], str):
            errors.append(ConditionError(f"{path}.{key}", "must be a string"))
    for key in ("values", "banks"):
        if key in data and not isinstance(data[key], list):
            errors.append(ConditionError(f"{path}.{key}", "must be a list"))
    banks = data.get("banks") if isinstance(data.get("banks"), list) else []
    for i, bank in enumerate(banks):
        if not isinstance(bank, str):
            errors.append(ConditionError(f"{path}.banks[{i}]", "must be a bank id"))
    if "substring" in data and not isinstance(data["substring"], bool):
        errors.append(ConditionError(f"{path}.substring", "must be true or false"))


def validate_condition(
    data: object,
    catalog: CatalogView,
    item_types: Sequence[str],
    *,
    rule_kind: RuleKind,
    automated: bool,
    path: str = "condition",
) -> list[ConditionError]:
    """Every problem of a condition, for a rule of `item_types`.

    `automated` is true for proactive rules with actions: signals not allowed in automated
    rules are refused there.
    """
    tree, errors = parse_condition(data, path)
    if tree is not None:
        checker = _Checker(catalog, [t for t in item_types if t in catalog.item_types])
        checker.check(tree, path, rule_kind, automated)
        errors = checker.errors
    return errors


class _Checker:
    def __init__(self, catalog: CatalogView, item_types: list[str]) -> None:
        self.catalog = catalog
        self.item_types = item_types
        self.errors: list[ConditionError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConditionError(path, message))

    def check(self, node: Condition, path: str, rule_kind: RuleKind, automated: bool) -> None:
        if isinstance(node, ConditionSet):
            for i, child in enumerate(node.children):
                self.check(child, f"{path}.{node.operator}[{i}]", rule_kind, automated)
        else:
            self.check_leaf(node, path, rule_kind, automated)

    def input_types(self, leaf: Leaf, path: str, rule_kind: RuleKind) -> dict[str, str] | None:
        """The input's value type for each of the rule's item types it applies to."""
        source = leaf.input
        types = self.catalog.item_types
        if isinstance(source, FieldInput):
            found = {
                t: types[t].fields[source.name]
                for t in self.item_types
                if source.name in types[t].fields
            }
            if not found and self.item_types:
                self.error(
                    f"{path}.input",
                    f"unknown field {source.name!r} (not in any of the item types "
                    + ", ".join(self.item_types)
                    + ")",
                )
                return None
            return found
        if source in ROUTING_ONLY_INPUTS and rule_kind is not RuleKind.ROUTING:
            self.error(f"{path}.input", f"{source} is only available in routing rules")
            return None
        if source is Input.AUTHOR:
            found = {t: USER for t in self.item_types if "creatorId" in types[t].roles}
            if not found and self.item_types:
                self.error(f"{path}.input", "AUTHOR needs an item type with a creatorId role")
                return None
            return found
        if source is Input.ITEM:
            return {
                t: USER if types[t].kind == ItemKind.USER else "RELATED_ITEM"
                for t in self.item_types
            }
        return {t: _INPUT_TYPES[source] for t in self.item_types} or {"": _INPUT_TYPES[source]}

    def check_leaf(self, leaf: Leaf, path: str, rule_kind: RuleKind, automated: bool) -> None:
        types = self.input_types(leaf, path, rule_kind)
        if leaf.comparator == "IS_NOT_PROVIDED":
            for key in ("signal", "threshold", "values", "banks", "subcategory", "substring"):
                if key in leaf.keys:
                    self.error(f"{path}.{key}", "IS_NOT_PROVIDED takes no " + key)
            return
        if leaf.signal is None:
            self.check_direct(leaf, path, types)
            return
        spec = self.catalog.signals.get(leaf.signal)
        if spec is None:
            self.error(f"{path}.signal", f"unknown signal {leaf.signal!r}")
            return
        self.check_signal(leaf, spec, path, types, automated)
        self.check_subcategory(leaf, spec, path)
        self.check_matching(leaf, spec, path)
        if leaf.substring and "substring" not in spec.options:
            self.error(f"{path}.substring", f"signal {spec.id} has no substring option")
        self.check_comparison(leaf, spec, path)

    def check_signal(
        self,
        leaf: Leaf,
        spec: SignalSpec,
        path: str,
        types: dict[str, str] | None,
        automated: bool,
    ) -> None:
        """Whether the signal may run here, on this input."""
        if not spec.enabled:
            self.error(f"{path}.signal", f"signal {spec.id} is disabled: {spec.disabled_reason}")
        if automated and not spec.allowed_in_automated_rules:
            self.error(
                f"{path}.signal",
                f"signal {spec.id} is not allowed in automated rules (rules with actions)",
            )
        for item_type, input_type in (types or {}).items():
            if not spec.accepts(input_type):
                where = f" (item type {item_type!r})" if item_type else ""
                self.error(
                    f"{path}.input",
                    f"signal {spec.id} does not accept {_describe(leaf.input)} of type "
                    f"{input_type}{where}",
                )

    def check_comparison(self, leaf: Leaf, spec: SignalSpec, path: str) -> None:
        """The comparator and threshold against the signal's output."""
        if leaf.comparator == "IS_UNAVAILABLE":
            if "threshold" in leaf.keys:
                self.error(f"{path}.threshold", "IS_UNAVAILABLE takes no threshold")
            return
        output = spec.output_for(leaf.subcategory)
        if output is OutputType.BOOLEAN:
            if leaf.comparator is not None:
                self.error(
                    f"{path}.comparator", f"signal {spec.id} is boolean: it takes no comparator"
                )
            if "threshold" in leaf.keys:
                self.error(
                    f"{path}.threshold", f"signal {spec.id} is boolean: it takes no threshold"
                )
            return
        if leaf.comparator is None:
            self.error(path, f"signal {spec.id} outputs {output}: set a comparator and a threshold")
            return
        if output is OutputType.ORDERED_ENUM:
            if leaf.threshold not in spec.enum_values:
                self.error(
                    f"{path}.threshold",
                    f"must be one of {', '.join(spec.enum_values)} (signal {spec.id})",
                )
            return
        self.check_threshold(leaf, path, output, spec.output_range)

    def check_subcategory(self, leaf: Leaf, spec: SignalSpec, path: str) -> None:
        if spec.subcategory_mode is SubcategoryMode.NONE:
            if leaf.subcategory is not None:
                self.error(f"{path}.subcategory", f"signal {spec.id} takes no subcategory")
        elif not leaf.subcategory:
            self.error(path, f"signal {spec.id} needs a subcategory")
        elif (
            spec.subcategory_mode is SubcategoryMode.CHOICE
            and leaf.subcategory not in spec.subcategories
        ):
            self.error(
                f"{path}.subcategory",
                f"must be one of {', '.join(spec.subcategories)} (signal {spec.id})",
            )

    def check_matching(self, leaf: Leaf, spec: SignalSpec, path: str) -> None:
        if leaf.values and spec.value_kind is None:
            self.error(f"{path}.values", f"signal {spec.id} takes no inline values")
        if leaf.banks and not spec.bank_kinds:
            self.error(f"{path}.banks", f"signal {spec.id} takes no banks")
        if spec.needs_values and not leaf.values and not leaf.banks:
            what = "values or banks" if spec.value_kind else "banks"
            self.error(path, f"signal {spec.id} needs {what}")
        if spec.value_kind is not None:
            for i, value in enumerate(leaf.values):
                message = _value_error(spec.value_kind, value)
                if message:
                    self.error(f"{path}.values[{i}]", message)
        for i, bank in enumerate(leaf.banks):
            kind = self.catalog.banks.get(bank)
            if kind is None:
                self.error(f"{path}.banks[{i}]", f"unknown bank {bank!r}")
            elif spec.bank_kinds and kind not in spec.bank_kinds:
                self.error(
                    f"{path}.banks[{i}]",
                    f"bank {bank!r} is a {kind} bank; signal {spec.id} takes "
                    + " or ".join(sorted(spec.bank_kinds))
                    + " banks",
                )

    def check_direct(self, leaf: Leaf, path: str, types: dict[str, str] | None) -> None:
        """A leaf without a signal compares the input's own value with the threshold."""
        for key in ("values", "banks", "subcategory", "substring"):
            if key in leaf.keys:
                self.error(f"{path}.{key}", f"{key} needs a signal")
        if leaf.comparator is None:
            self.error(path, "a leaf needs a signal or a comparator")
            return
        if types is None:
            return
        outputs = {_DIRECT_OUTPUTS.get(t) for t in types.values()}
        if None in outputs:
            self.error(path, f"{_describe(leaf.input)} needs a signal to be compared")
            return
        if len(outputs) > 1:
            self.error(
                f"{path}.input",
                f"{_describe(leaf.input)} has different types across the rule's item types",
            )
            return
        if not outputs:
            return
        if leaf.comparator == "IS_UNAVAILABLE":
            self.error(f"{path}.comparator", "IS_UNAVAILABLE needs a signal")
            return
        output = outputs.pop()
        if output in ("POLICY_ID", "SOURCE", OutputType.BOOLEAN):
            self.check_equality(leaf, path, output)
            return
        self.check_threshold(leaf, path, OutputType(output), None)

    def check_equality(self, leaf: Leaf, path: str, output: str) -> None:
        """Policies, sources and booleans are only equal or not."""
        if leaf.comparator not in EQUALITY:
            self.error(f"{path}.comparator", "use EQUALS or NOT_EQUAL_TO here")
        elif output == "POLICY_ID":
            if leaf.threshold not in self.catalog.policies:
                self.error(f"{path}.threshold", f"unknown policy {leaf.threshold!r}")
        elif output == "SOURCE":
            if leaf.threshold not in SOURCES:
                self.error(f"{path}.threshold", "must be one of " + ", ".join(SOURCES))
        elif not isinstance(leaf.threshold, bool):
            self.error(f"{path}.threshold", "must be true or false")

    def check_threshold(
        self,
        leaf: Leaf,
        path: str,
        output: OutputType,
        output_range: tuple[float, float] | None,
    ) -> None:
        threshold = leaf.threshold
        if "threshold" not in leaf.keys or threshold is None:
            self.error(path, f"comparator {leaf.comparator} needs a threshold")
        elif output is OutputType.NUMBER:
            if (
                not isinstance(threshold, int | float)
                or isinstance(threshold, bool)
                or not math.isfinite(threshold)
            ):
                self.error(f"{path}.threshold", "must be a number")
            elif output_range and not output_range[0] <= threshold <= output_range[1]:
                self.error(
                    f"{path}.threshold",
                    f"must be between {output_range[0]:g} and {output_range[1]:g}",
                )
        elif not isinstance(threshold, str):
            self.error(f"{path}.threshold", "must be a string")


def _value_error(kind: str, value: object) -> str | None:
    if kind == BankKind.REGEX:
        return regex_error(value)
    if kind == BankKind.LOCATION:
        return location_error(value)
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def _describe(source: Input | FieldInput) -> str:
    return f"field {source.name!r}" if isinstance(source, FieldInput) else str(source)
