"""The rule form: the console's side of a `rules` entry of the configuration file.

The scalar inputs are an ordinary form; the condition comes from the condition builder
(static/coop/rules.js), which serialises the tree into the `condition` input as the file's
JSON shape (and, without JavaScript, that input is a JSON text area). The form turns the post
into the rule as the file spells it and `coop.config.services.save_object` validates it, so
the console and `coop config apply` accept and refuse the same rules with the same messages;
errors under `condition` keep their paths for the builder to mark the node they name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.http import QueryDict

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import Action, ItemType, Policy
from coop.config.kinds import Canonical
from coop.config.schema import ConfigError, format_datetime
from coop.config.services import SaveResult
from coop.core.enums import RuleStatus
from coop.rules.models import Rule
from coop.web.config_form import ConfigForm, TextField, derive_id, split_path, typed_number

MAX_CONDITION_CHARS = 512 * 1024  # far above any hand-built tree; bounds the JSON parse
MAX_TAGS = 50
STATUS_HELP = {
    RuleStatus.LIVE: "evaluated; its actions run",
    RuleStatus.BACKGROUND: "evaluated and logged; actions never run",
    RuleStatus.DRAFT: "not evaluated",
    RuleStatus.ARCHIVED: "not evaluated; kept for its history",
}


def status_permission(status: str) -> Permission:
    """accounts.md: a LIVE rule is changed with MUTATE_LIVE_RULES, any other with
    MUTATE_NON_LIVE_RULES."""
    return (
        Permission.MUTATE_LIVE_RULES
        if status == RuleStatus.LIVE
        else Permission.MUTATE_NON_LIVE_RULES
    )


def may_change(user: User, before: str | None, after: str | None) -> bool:
    """Whether `user` may change a rule from status `before` (None: a new rule) to `after`
    (None: deleted); making a rule LIVE or changing a LIVE one needs MUTATE_LIVE_RULES."""
    return all(user.has_permission(status_permission(s)) for s in (before, after) if s)


@dataclass(frozen=True)
class ActionChoice:
    """An action offered to the rule, with the inputs of its declared parameters."""

    id: str
    name: str
    checked: bool
    parameters: list[dict[str, Any]]  # {name, type, required, value, input_name, errors}
    errors: list[str]


def _parameter_value(kind: str, text: str) -> Any:
    if kind == "NUMBER":
        return typed_number(text)
    if kind == "BOOLEAN":
        return {"true": True, "false": False}.get(text, text)
    return text


class RuleForm(ConfigForm):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = TextField(label="Description", rows=2)
    status = forms.ChoiceField(
        label="Status",
        choices=[(s.value, f"{s.label}: {STATUS_HELP[s]}") for s in RuleStatus],
        initial=RuleStatus.DRAFT,
    )
    item_types = forms.MultipleChoiceField(
        label="Item types",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The rule is evaluated on every submitted item of these types.",
    )
    policies = forms.MultipleChoiceField(
        label="Policies",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Given to the actions the rule runs.",
    )
    tags = forms.CharField(
        label="Tags", required=False, max_length=2000, help_text="Separated by commas."
    )
    owner = forms.ChoiceField(label="Owner", required=False, help_text="Alarms are sent to them.")
    expires_at = forms.CharField(
        label="Expires at (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="After this moment the rule is EXPIRED: shown, no longer evaluated.",
    )
    max_daily_actions = forms.CharField(
        label="Most firings a day",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text="maxDailyActions: once a LIVE rule fired this often in a UTC day it stops "
        "firing (still evaluated and logged). Empty: no limit.",
    )
    condition = TextField(
        label="Condition (JSON)",
        rows=10,
        help_text='The file\'s condition shape, e.g. {"any": [{"input": "ALL_TEXT", "signal": '
        '"TEXT_MATCHING_CONTAINS_TEXT", "values": ["free money"]}]}.',
    )

    file_keys = {
        "id": "id",
        "name": "name",
        "description": "description",
        "status": "status",
        "itemTypes": "item_types",
        "policies": "policies",
        "tags": "tags",
        "owner": "owner",
        "expiresAt": "expires_at",
        "maxDailyActions": "max_daily_actions",
    }

    def __init__(self, data: QueryDict | None = None, *, current: Canonical | None = None):
        self.current = current
        self.condition_errors: list[ConfigError] = []
        self.action_errors: dict[int, list[str]] = {}
        initial: dict[str, Any] = {"condition": json.dumps({"all": []})}
        if current is not None:
            expires = current["expiresAt"]
            initial = {
                "name": current["name"],
                "description": current["description"],
                "status": current["status"],
                "item_types": current["itemTypes"],
                "policies": current["policies"],
                "tags": ", ".join(current["tags"]),
                "owner": current.get("owner") or "",
                "expires_at": expires[:16] if expires else "",
                "max_daily_actions": current["maxDailyActions"] or "",
                "condition": json.dumps(current["condition"], indent=2),
            }
        super().__init__(data, initial=initial)
        self.fields["item_types"].choices = list(
            ItemType.objects.order_by("name").values_list("id", "name")
        )
        self.fields["policies"].choices = list(
            Policy.objects.order_by("name").values_list("id", "name")
        )
        owners = list(User.objects.filter(is_active=True).values_list("email", flat=True))
        chosen = self["owner"].value()
        if chosen and chosen not in owners:
            owners.append(chosen)  # an owner since deactivated stays shown
        self.fields["owner"].choices = [("", "No owner")] + [(e, e) for e in sorted(owners)]
        self.actions = list(Action.objects.order_by("-builtin", "name"))
        if current is not None:
            del self.fields["id"]

    # -- the actions with their fixed parameter values ------------------------------------

    def _given_actions(self) -> list[tuple[str, dict[str, str]]]:
        """(action id, parameter texts) as posted, or as stored."""
        if self.is_bound:
            chosen = self.data.getlist("actions")
            out = []
            for action in self.actions:
                if action.pk in chosen:
                    texts = {
                        p["name"]: self.data.get(f"param-{action.pk}-{p['name']}", "")
                        for p in action.parameters
                    }
                    out.append((action.pk, texts))
            return out
        stored = self.current["actions"] if self.current else []
        return [
            (
                a["id"],
                {
                    k: json.dumps(v) if isinstance(v, bool) else str(v)
                    for k, v in a["parameters"].items()
                },
            )
            for a in stored
        ]

    def action_choices(self) -> list[ActionChoice]:
        posted = self._given_actions()
        given = dict(posted)
        order = [action_id for action_id, _ in posted]
        choices = []
        for action in self.actions:
            texts = given.get(action.pk, {})
            index = order.index(action.pk) if action.pk in order else None
            errors = self.action_errors.get(index, []) if index is not None else []
            parameters = [
                {
                    **p,
                    "value": texts.get(p["name"], ""),
                    "input_name": f"param-{action.pk}-{p['name']}",
                }
                for p in action.parameters
            ]
            choices.append(
                ActionChoice(action.pk, action.name, action.pk in given, parameters, errors)
            )
        return choices

    def _action_refs(self) -> list[dict[str, Any]]:
        declared = {a.pk: {p["name"]: p["type"] for p in a.parameters} for a in self.actions}
        refs = []
        for action_id, texts in self._given_actions():
            types = declared.get(action_id, {})
            parameters = {
                name: _parameter_value(types.get(name, "STRING"), text.strip())
                for name, text in texts.items()
                if text.strip()
            }
            refs.append({"id": action_id, "parameters": parameters})
        return refs

    # -- cleaning -------------------------------------------------------------------------

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            if Rule.objects.filter(pk=value).exists():
                raise forms.ValidationError("A rule with this id exists already.")
            return value
        return derive_id(
            self.data.get("name", ""), lambda v: Rule.objects.filter(pk=v).exists(), "rule"
        )

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags.")
        return list(dict.fromkeys(tags))

    def clean_expires_at(self) -> str | None:
        text = self.cleaned_data.get("expires_at", "").strip()
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError("Not a date and time.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_datetime(moment)

    def clean_max_daily_actions(self) -> Any:
        text = self.cleaned_data.get("max_daily_actions", "").strip()
        return typed_number(text) if text else None

    def clean_condition(self) -> Any:
        text = self.cleaned_data.get("condition", "")
        if len(text) > MAX_CONDITION_CHARS:
            raise forms.ValidationError(f"At most {MAX_CONDITION_CHARS // 1024} KB.")
        try:
            return json.loads(text or "null")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        except RecursionError:
            raise forms.ValidationError("Nested too deeply.") from None

    def file_data(self) -> dict[str, Any]:
        """The rule as spelled in the configuration file, for `save_object`."""
        d = self.cleaned_data
        return {
            "id": self.current["id"] if self.current else d["id"],
            "name": d["name"],
            "description": d["description"],
            "status": d["status"],
            "itemTypes": list(d["item_types"]),
            "policies": list(d["policies"]),
            "actions": self._action_refs(),
            "tags": d["tags"],
            "owner": d["owner"] or None,
            "expiresAt": d["expires_at"],
            "maxDailyActions": d["max_daily_actions"],
            "condition": d["condition"],
        }

    # -- the validator's errors, placed ---------------------------------------------------

    def add_save_errors(self, result: SaveResult) -> None:
        for error in result.errors:
            head, index, _ = split_path(error.path)
            if head == "condition" or error.path.startswith("condition."):
                self.condition_errors.append(error)
            elif head == "actions" and index is not None:
                self.action_errors.setdefault(index, []).append(f"{error.path}: {error.message}")
            elif head == "actions":
                self.add_error(None, str(error))
            else:
                self.place_error(error)

    @property
    def condition_errors_json(self) -> list[dict[str, str]]:
        """For the builder: each error with the path of the node (and key) it names."""
        return [{"path": e.path, "message": e.message} for e in self.condition_errors]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.condition_errors or self.action_errors)
