"""The routing rule form: the console's side of `routingRules` and `appealRoutingRules`.

Its condition editor covers what routing usually needs: "all" or "any" of comparisons of the
relevant policy, the source, or a field of the item (config.md, conditions). A condition beyond
that (nested groups, signals) is edited as JSON, in the file's shape; both go through the same
validator as the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from coop.catalog.models import ItemType, Policy
from coop.config.kinds import Canonical
from coop.config.services import SaveResult
from coop.core.enums import JobSource
from coop.review.models import Queue
from coop.rules.models import RoutingRule
from coop.web.config_form import (
    ConfigForm,
    RowSet,
    TextField,
    derive_id,
    split_path,
    typed_boolean,
    typed_number,
)

ROUTING, APPEALS = "routingRules", "appealRoutingRules"
POLICY_INPUT, SOURCE_INPUT, FIELD_PREFIX = "RELEVANT_POLICY", "SOURCE", "field:"
SIMPLE, JSON = "simple", "json"
COMPARATOR_LABELS = {
    "EQUALS": "is",
    "NOT_EQUAL_TO": "is not",
    "LESS_THAN": "is less than",
    "LESS_THAN_OR_EQUALS": "is at most",
    "GREATER_THAN": "is greater than",
    "GREATER_THAN_OR_EQUALS": "is at least",
    "IS_NOT_PROVIDED": "is not provided",
}
CONDITION_DEFAULTS = {"input": "", "comparator": "EQUALS", "policy": "", "source": "", "value": ""}
MATCH_LABELS = {"all": "all of", "any": "any of"}


def simple_form(condition: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """The condition as ("all"|"any", leaves) if the simple editor can show it, else None."""
    if not isinstance(condition, dict):
        return None
    keys = set(condition)
    if keys in ({"all"}, {"any"}):
        match = keys.pop()
        leaves = condition[match]
    elif "input" in keys:
        match, leaves = "all", [condition]
    else:
        return None
    if not isinstance(leaves, list) or not all(_simple_leaf(leaf) for leaf in leaves):
        return None
    return match, leaves


def _simple_leaf(leaf: Any) -> bool:
    if not isinstance(leaf, dict) or not set(leaf) <= {"input", "comparator", "threshold"}:
        return False
    source = leaf.get("input")
    field_input = (
        isinstance(source, dict) and set(source) == {"field"} and isinstance(source["field"], str)
    )
    if not (field_input or source in (POLICY_INPUT, SOURCE_INPUT)):
        return False
    if leaf.get("comparator") not in COMPARATOR_LABELS:
        return False
    if leaf["comparator"] == "IS_NOT_PROVIDED":
        return "threshold" not in leaf
    return isinstance(leaf.get("threshold"), str | int | float | bool)


def _row(leaf: dict[str, Any]) -> dict[str, Any]:
    source, threshold = leaf["input"], leaf.get("threshold")
    row = {**CONDITION_DEFAULTS, "comparator": leaf["comparator"]}
    if source == POLICY_INPUT:
        row.update(input=POLICY_INPUT, policy=threshold or "")
    elif source == SOURCE_INPUT:
        row.update(input=SOURCE_INPUT, source=threshold or "")
    else:
        shown = "" if threshold is None else threshold
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        row.update(input=FIELD_PREFIX + source["field"], value=str(shown))
    return row


def describe(condition: Any, policy_names: dict[str, str]) -> str:
    """One line for the routing list, e.g. "Relevant policy is Spam and Source is REPORT"."""
    simple = simple_form(condition)
    if simple is None:
        return "Custom condition: " + json.dumps(condition, ensure_ascii=False)
    match, leaves = simple
    if not leaves:
        return "Always (no condition)" if match == "all" else "Never (an empty “any”)"
    parts = []
    for leaf in leaves:
        row = _row(leaf)
        if row["input"] == POLICY_INPUT:
            what, value = "Relevant policy", policy_names.get(row["policy"], row["policy"])
        elif row["input"] == SOURCE_INPUT:
            what, value = "Source", row["source"]
        else:
            what, value = f"Field {row['input'][len(FIELD_PREFIX) :]}", row["value"]
        text = f"{what} {COMPARATOR_LABELS[row['comparator']]}"
        parts.append(text if row["comparator"] == "IS_NOT_PROVIDED" else f"{text} {value}")
    return f" {'and' if match == 'all' else 'or'} ".join(parts)


@dataclass(frozen=True)
class InputChoice:
    value: str
    label: str
    kind: str  # policy | source | field


class RoutingRuleForm(ConfigForm):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = TextField(label="Description", rows=2)
    item_types = forms.MultipleChoiceField(
        label="Item types",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The rule is only evaluated for jobs about items of these types.",
    )
    queue = forms.CharField(label="Queue", widget=forms.Select)
    match = forms.ChoiceField(
        label="Match",
        choices=[("all", "All of the conditions"), ("any", "Any of the conditions")],
        initial="all",
        widget=forms.RadioSelect,
    )
    condition_mode = forms.ChoiceField(
        choices=[(SIMPLE, SIMPLE), (JSON, JSON)],
        initial=SIMPLE,
        required=False,
        widget=forms.HiddenInput,
    )
    condition_json = TextField(
        label="Condition (JSON)",
        rows=8,
        help_text='The file\'s condition shape, e.g. {"all": [{"input": "SOURCE", '
        '"comparator": "EQUALS", "threshold": "REPORT"}]}.',
    )

    file_keys = {
        "id": "id",
        "name": "name",
        "description": "description",
        "itemTypes": "item_types",
        "queue": "queue",
    }

    def __init__(
        self, data: QueryDict | None = None, *, kind: str, current: Canonical | None = None
    ):
        self.kind = kind
        self.current = current
        self.switch_error = ""
        initial: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        if current is not None:
            initial = {
                "name": current["name"],
                "description": current["description"],
                "item_types": current["itemTypes"],
                "queue": current["queue"],
            }
            simple = simple_form(current["condition"])
            if simple is None:
                initial["condition_mode"] = JSON
                initial["condition_json"] = json.dumps(current["condition"], indent=2)
            else:
                initial["match"] = simple[0]
                rows = [_row(leaf) for leaf in simple[1]]
        super().__init__(data, initial=initial)
        if data is not None:
            self.conditions = RowSet.from_post(data, "conditions", CONDITION_DEFAULTS)
        else:
            self.conditions = RowSet("conditions", CONDITION_DEFAULTS, rows)
        queues = Queue.objects.filter(is_appeals=kind == APPEALS).order_by("name")
        choices = [(q.pk, q.name + (" (default)" if q.is_default else "")) for q in queues]
        chosen = self["queue"].value()
        if chosen and chosen not in {c for c, _ in choices}:
            choices.append((chosen, chosen))
        self.fields["queue"].widget.choices = choices
        self.item_type_rows = list(ItemType.objects.order_by("name"))
        self.fields["item_types"].choices = [(t.pk, t.name) for t in self.item_type_rows]
        if current is not None:
            del self.fields["id"]
        if data is not None:
            self._switch(data.get("switch", ""))

    @property
    def mode(self) -> str:
        return self["condition_mode"].value() or SIMPLE

    @property
    def edited(self) -> bool:
        return self.conditions.edited or bool(self.data.get("switch"))

    def _switch(self, target: str) -> None:
        """ "Edit as JSON" / "Use the simple editor" re-render the form in the other mode."""
        data = self.data.copy()
        if target == JSON:
            data["condition_mode"] = JSON
            data["condition_json"] = json.dumps(self._simple_condition(), indent=2)
        elif target == SIMPLE:
            try:
                simple = simple_form(json.loads(self.data.get("condition_json", "")))
            except (json.JSONDecodeError, RecursionError):
                simple = None
            if simple is None:
                self.switch_error = (
                    "This condition cannot be shown in the simple editor (it uses nested "
                    "groups, signals or other inputs); edit it as JSON."
                )
                return
            data["condition_mode"], data["match"] = SIMPLE, simple[0]
            self.conditions = RowSet("conditions", CONDITION_DEFAULTS, map(_row, simple[1]))
        else:
            return
        self.data = data

    def input_choices(self) -> list[InputChoice]:
        choices = [
            InputChoice(POLICY_INPUT, "Relevant policy", "policy"),
            InputChoice(SOURCE_INPUT, "Source", "source"),
        ]
        seen: dict[str, list[str]] = {}
        for item_type in self.item_type_rows:
            for spec in item_type.fields:
                seen.setdefault(spec["name"], []).append(item_type.name)
        for name, types in sorted(seen.items()):
            label = f"Field {name} ({', '.join(types)})"
            choices.append(InputChoice(FIELD_PREFIX + name, label, "field"))
        for row in self.conditions:  # a field no item type has any more: still shown
            value = row.values["input"]
            if value.startswith(FIELD_PREFIX) and value not in {c.value for c in choices}:
                choices.append(InputChoice(value, f"Field {value[len(FIELD_PREFIX) :]}", "field"))
        return choices

    @property
    def comparators(self) -> list[tuple[str, str]]:
        return list(COMPARATOR_LABELS.items())

    @property
    def sources(self) -> list[str]:
        return [s.value for s in JobSource]

    @property
    def policies(self) -> list[tuple[str, str]]:
        return list(Policy.objects.order_by("name").values_list("id", "name"))

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            if RoutingRule.objects.filter(pk=value).exists():
                raise forms.ValidationError("A routing rule with this id exists already.")
            return value
        return derive_id(
            self.data.get("name", ""),
            lambda v: RoutingRule.objects.filter(pk=v).exists(),
            "routing-rule",
        )

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        if self.mode == JSON:
            try:
                d["condition"] = json.loads(d.get("condition_json") or "")
            except json.JSONDecodeError as exc:
                self.add_error("condition_json", f"not valid JSON: {exc}")
            except RecursionError:
                self.add_error("condition_json", "nested too deeply")
            return d
        for row in self.conditions:
            values = row.values
            if not values["input"]:
                self.conditions.add_error(row.index, "input", "Choose what to compare.")
            elif values["comparator"] != "IS_NOT_PROVIDED":
                if values["input"] == POLICY_INPUT and not values["policy"]:
                    self.conditions.add_error(row.index, "policy", "Choose a policy.")
                elif values["input"] == SOURCE_INPUT and not values["source"]:
                    self.conditions.add_error(row.index, "source", "Choose a source.")
        if self.conditions.has_errors:
            self.add_error(None, "Some conditions need correcting.")
        d["condition"] = self._simple_condition()
        return d

    def _field_types(self) -> dict[str, str]:
        """Field name -> type, over the chosen item types (every type when none is chosen)."""
        chosen = set(self.data.getlist("item_types")) if self.data else set()
        types: dict[str, str] = {}
        for item_type in self.item_type_rows:
            if chosen and item_type.pk not in chosen:
                continue
            for spec in item_type.fields:
                scalar = spec.get("items") or spec.get("values") or spec["type"]
                types.setdefault(spec["name"], scalar)
        return types

    def _simple_condition(self) -> dict[str, Any]:
        field_types = self._field_types()
        leaves = []
        for row in self.conditions:
            values = row.values
            source, comparator = values["input"], values["comparator"]
            leaf: dict[str, Any] = {}
            if source.startswith(FIELD_PREFIX):
                name = source[len(FIELD_PREFIX) :]
                leaf["input"] = {"field": name}
                threshold: Any = values["value"]
                if field_types.get(name) == "NUMBER":
                    threshold = typed_number(threshold)
                elif field_types.get(name) == "BOOLEAN":
                    threshold = typed_boolean(threshold)
            else:
                leaf["input"] = source
                threshold = values["policy"] if source == POLICY_INPUT else values["source"]
            leaf["comparator"] = comparator
            if comparator != "IS_NOT_PROVIDED":
                leaf["threshold"] = threshold
            leaves.append(leaf)
        match = self.data.get("match") if self.data else None
        return {match if match in MATCH_LABELS else "all": leaves}

    def file_data(self) -> dict[str, Any]:
        """The rule as spelled in the configuration file, for `save_object`."""
        d = self.cleaned_data
        return {
            "id": self.current["id"] if self.current else d["id"],
            "name": d["name"],
            "description": d["description"],
            "itemTypes": list(d["item_types"]),
            "queue": d["queue"],
            "condition": d["condition"],
        }

    def add_save_errors(self, result: SaveResult) -> None:
        match = self.data.get("match", "all")
        for error in result.errors:
            head, _, rest = split_path(error.path)
            if head == "condition" and self.mode == JSON:
                self.add_error("condition_json", str(error))
                continue
            if head == "condition" and self._condition_error(rest, match, error.message):
                continue
            if head == "condition":
                self.add_error(None, str(error))
                continue
            self.place_error(error)

    def _condition_error(self, rest: str, match: str, message: str) -> bool:
        """`condition.all[2].threshold` goes to the third row's value input."""
        head, index, column = split_path(rest)
        if head != match or index is None or index >= len(self.conditions):
            return False
        if column == "threshold":
            source = self.conditions.rows[index].values["input"]
            column = {POLICY_INPUT: "policy", SOURCE_INPUT: "source"}.get(source, "value")
        return self.conditions.add_error(index, column, message)
