"""The policy form and tree: the console's side of the `policies` configuration kind."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from coop.catalog.models import Policy
from coop.config.kinds import Canonical
from coop.config.services import SaveResult
from coop.core.enums import Penalty
from coop.enforcement.strikes import ROOT_WEIGHT, policy_weights
from coop.web.config_form import ConfigForm, TextField, derive_id, typed_number

INHERIT, OWN = "inherit", "own"


@dataclass
class Node:
    policy: Policy
    weight: int  # effective strike weight (own, else inherited)
    depth: int
    children: list[Node] = field(default_factory=list)


def policy_tree() -> list[Node]:
    """Every policy as a tree, children by name; effective strike weights as enforcement
    computes them."""
    policies = list(Policy.objects.order_by("name", "id"))
    weights = policy_weights(policies)
    nodes = {p.id: Node(p, weights[p.id], 0) for p in policies}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.policy.parent_id) if node.policy.parent_id else None
        (parent.children if parent else roots).append(node)

    def set_depth(items: list[Node], depth: int) -> None:
        for item in items:
            item.depth = depth
            set_depth(item.children, depth + 1)

    set_depth(roots, 0)
    return roots


def flatten(nodes: list[Node]) -> list[Node]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


def descendants(nodes: list[Node], policy_id: str) -> set[str]:
    """`policy_id` and every policy below it (they cannot become its parent)."""
    for node in flatten(nodes):
        if node.policy.id == policy_id:
            return {n.policy.id for n in flatten([node])}
    return set()


class PolicyForm(ConfigForm):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="The policyId used on the wire. Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    parent = forms.CharField(
        label="Parent",
        required=False,
        widget=forms.Select,
        help_text="Moving a policy moves its children with it.",
    )
    penalty = forms.ChoiceField(
        label="Penalty", choices=[(p.value, p.label) for p in Penalty], initial=Penalty.NONE
    )
    strikes_mode = forms.ChoiceField(
        label="Strike weight",
        choices=[(INHERIT, "Inherit"), (OWN, "Own weight")],
        initial=INHERIT,
        widget=forms.RadioSelect,
    )
    strikes = forms.CharField(
        label="Own weight",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
        help_text="Strikes added to the user when an action applies this policy.",
    )
    text = TextField(
        label="Policy text", rows=5, help_text="What the policy forbids, as your users read it."
    )
    guidelines = TextField(
        label="Enforcement guidelines",
        rows=6,
        help_text="How reviewers decide; shown next to jobs in the Review Console.",
    )

    file_keys = {
        "id": "id",
        "name": "name",
        "parent": "parent",
        "penalty": "penalty",
        "strikes": "strikes",
        "text": "text",
        "guidelines": "guidelines",
    }

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        current: Canonical | None,
        tree: list[Node],
        parent: str | None = None,
    ):
        self.current = current
        self.tree = tree
        initial: dict[str, Any] = {"parent": parent or ""}
        if current is not None:
            initial = {k: current[k] for k in ("name", "penalty", "text", "guidelines")}
            initial["parent"] = current["parent"] or ""
            initial["strikes_mode"] = INHERIT if current["strikes"] is None else OWN
            initial["strikes"] = "" if current["strikes"] is None else current["strikes"]
        super().__init__(data, initial=initial)
        excluded = descendants(tree, current["id"]) if current else set()
        choices = [("", "None (a top-level policy)")]
        choices += [
            (n.policy.id, "\u2003" * n.depth + n.policy.name)
            for n in flatten(tree)
            if n.policy.id not in excluded
        ]
        chosen = self["parent"].value() or ""
        if chosen and chosen not in {c for c, _ in choices}:
            choices.append((chosen, chosen))  # e.g. a descendant: the validator says why not
        self.fields["parent"].widget.choices = choices
        if current is not None:
            del self.fields["id"]

    def inherited_weight(self) -> int:
        """What "Inherit" gives: the parent's effective weight (1 at the top)."""
        return self._weights().get(self["parent"].value() or "", ROOT_WEIGHT)

    def parent_weights(self) -> str:
        """The weight "Inherit" gives under each parent, for the page to show as it changes."""
        return json.dumps({"": ROOT_WEIGHT, **self._weights()})

    def _weights(self) -> dict[str, int]:
        return {node.policy.id: node.weight for node in flatten(self.tree)}

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            if Policy.objects.filter(pk=value).exists():
                raise forms.ValidationError("A policy with this id exists already.")
            return value
        return derive_id(
            self.data.get("name", ""), lambda v: Policy.objects.filter(pk=v).exists(), "policy"
        )

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        if d.get("strikes_mode") == OWN and not (d.get("strikes") or "").strip():
            self.add_error("strikes", "Give the weight, or choose Inherit.")
        return d

    def file_data(self) -> dict[str, Any]:
        """The policy as spelled in the configuration file (with `parent`), for `save_object`."""
        d = self.cleaned_data
        own = d["strikes_mode"] == OWN
        return {
            "id": self.current["id"] if self.current else d["id"],
            "name": d["name"],
            "parent": d["parent"] or None,
            "penalty": d["penalty"],
            "strikes": typed_number(d["strikes"].strip()) if own else None,
            "text": d["text"],
            "guidelines": d["guidelines"],
        }

    def add_save_errors(self, result: SaveResult) -> None:
        self.place_errors(result.errors)
