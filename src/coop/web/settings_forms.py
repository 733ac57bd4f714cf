"""The forms of the settings pages: each page edits one block of `settings` (config.md).

A page's `Editor` turns its forms into the block as the configuration file spells it and
saves it with `save_settings`, the configuration file's validator and writer: the page
refuses exactly what `coop config apply` refuses, with the same message
(`settings.appeals.callbackUrl: must be an http(s) URL`) under the field it concerns. The
forms themselves only parse what a browser cannot send typed (numbers, JSON, header rows);
every rule about the values is the validator's.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django import forms
from django.forms import BaseFormSet, formset_factory

from coop.catalog.models import Action
from coop.config.schema import ConfigError
from coop.config.services import SaveResult, save_settings

MAX_JSON_CHARS = 65_536
MAX_JSON_DEPTH = 20
MAX_HEADERS = 50
MAX_THRESHOLDS = 100
VALUE, SECRET = "value", "secret"


def file_message(error: ConfigError) -> str:
    """An error of `save_settings` as `coop config apply` prints it."""
    return f"settings.{error.path}: {error.message}" if error.path else error.message


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _nullable(value: str) -> str | None:
    """A blank text field is the file's `null`."""
    return value or None


def parse_json_object(text: str, *, empty: dict | None = None) -> dict:
    """A JSON object typed into a form; ValidationError saying what is wrong with it."""
    if not text.strip():
        return {} if empty is None else empty
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise forms.ValidationError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise forms.ValidationError("must be a JSON object ({…})")
    if _depth(value) > MAX_JSON_DEPTH:
        raise forms.ValidationError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, without recursion (the value came from a browser)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        stack += [(c, depth + 1) for c in children if isinstance(c, dict | list)]
    return deepest


def json_text(value: dict) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value else ""


class Editor(ABC):
    """One settings page: its forms, the block they make, and where save errors go."""

    block: ClassVar[str]

    def __init__(self, data: Any, current: dict) -> None:
        self.current = current
        self.unplaced: list[str] = []  # save errors no field concerns, shown above the form

    @abstractmethod
    def forms(self) -> list[forms.Form | BaseFormSet]: ...

    @abstractmethod
    def value(self) -> dict:
        """The block as the file spells it (call after `is_valid`)."""

    @abstractmethod
    def place_error(self, error: ConfigError) -> bool:
        """Attach a save error to the field it concerns; False when none does."""

    def is_valid(self) -> bool:
        return all([f.is_valid() for f in self.forms()])  # every form, to show every error

    def save(self, user) -> SaveResult:
        result = save_settings(self.block, self.value(), user=user)
        self.unplaced = [file_message(e) for e in result.errors if not self.place_error(e)]
        return result


class BlockForm(forms.Form):
    """A form whose fields are keys of one block: FIELDS maps the key to the field."""

    block: ClassVar[str]
    FIELDS: ClassVar[dict[str, str]]  # block key -> form field

    def place_error(self, error: ConfigError) -> bool:
        key = error.path.removeprefix(f"{self.block}.").split(".", 1)[0].split("[", 1)[0]
        field = self.FIELDS.get(key)
        if field is None or not error.path.startswith(f"{self.block}."):
            return False
        self.add_error(field, file_message(error))
        return True


class FormEditor(Editor):
    """A block edited in one form: `form_class` (a BlockForm) makes it."""

    form_class: ClassVar[type[BlockForm]]

    def __init__(self, data: Any, current: dict) -> None:
        super().__init__(data, current)
        self.form = self.form_class(data, current)

    def forms(self) -> list:
        return [self.form]

    def value(self) -> dict:
        return self.form.value()

    def place_error(self, error: ConfigError) -> bool:
        return self.form.place_error(error)


# --- Organisation ------------------------------------------------------------------------


class OrganizationForm(BlockForm):
    block = "organization"
    FIELDS = {"name": "name", "website": "website", "onCallEmail": "on_call_email"}

    name = forms.CharField(label="Organisation name", required=False)
    website = forms.CharField(
        label="Website", required=False, help_text="An http(s) address, e.g. https://example.com."
    )
    on_call_email = forms.CharField(
        label="On-call alert email",
        required=False,
        help_text="Where operational alerts go: failed NCMEC reports, rule alarms.",
    )

    def __init__(self, data: Any, current: dict) -> None:
        initial = {
            "name": current["name"],
            "website": _text(current["website"]),
            "on_call_email": _text(current["onCallEmail"]),
        }
        super().__init__(data, initial=initial)
        self.fields["on_call_email"].widget.input_type = "email"

    def value(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "website": _nullable(d["website"]),
            "onCallEmail": _nullable(d["on_call_email"]),
        }


class OrganizationEditor(FormEditor):
    block = "organization"
    form_class = OrganizationForm


# --- Headers (appeals, partial items) -----------------------------------------------------


class HeaderForm(forms.Form):
    """One header: a plain value, or `!secret NAME` (read from the environment variable when
    the request is sent; only the variable's name is stored or shown)."""

    name = forms.CharField(label="Header name", required=False, max_length=200)
    kind = forms.ChoiceField(
        label="Value kind",
        choices=[(VALUE, "Value"), (SECRET, "!secret variable")],
        initial=VALUE,
    )
    value = forms.CharField(label="Value or variable name", required=False, max_length=8192)

    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("name") or self.cleaned_data.get("value"))


class BaseHeaderFormSet(BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            if form.is_blank():
                continue
            name = form.cleaned_data["name"]
            if not name:
                form.add_error("name", "Give the header a name (or clear its value).")
            elif name.lower() in seen:
                form.add_error("name", f"duplicate header {name!r}")
            seen.add(name.lower())

    def value(self) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        for form in self.forms:
            if form.is_blank():
                continue
            d = form.cleaned_data
            headers[d["name"]] = {"secret": d["value"]} if d["kind"] == SECRET else d["value"]
        return headers

    def place_error(self, key: str, error: ConfigError) -> bool:
        """`<block>.headers.<name>`: on that header's row (name or value)."""
        for form in self.forms:
            if form.cleaned_data.get("name") == key:
                field = "name" if error.message.startswith("header name") else "value"
                form.add_error(field, file_message(error))
                return True
        return False


HeaderFormSet = formset_factory(
    HeaderForm,
    formset=BaseHeaderFormSet,
    extra=2,
    max_num=MAX_HEADERS,
    validate_max=True,
    absolute_max=MAX_HEADERS + 10,
)


def header_formset(data: Any, headers: dict[str, Any]) -> BaseHeaderFormSet:
    initial = [
        {"name": name, "kind": SECRET, "value": value["secret"]}
        if isinstance(value, dict)
        else {"name": name, "kind": VALUE, "value": value}
        for name, value in headers.items()
    ]
    return HeaderFormSet(data, initial=initial, prefix="headers")


class HeadersEditor(FormEditor):
    """A block with `headers` and its other keys in one form."""

    def __init__(self, data: Any, current: dict) -> None:
        super().__init__(data, current)
        self.headers = header_formset(data, current["headers"])

    def forms(self) -> list:
        return [self.form, self.headers]

    def value(self) -> dict:
        return {**self.form.value(), "headers": self.headers.value()}

    def place_error(self, error: ConfigError) -> bool:
        prefix = f"{self.block}.headers."
        if error.path.startswith(prefix):
            return self.headers.place_error(error.path[len(prefix) :], error)
        return self.form.place_error(error)


# --- Appeals -------------------------------------------------------------------------------


class AppealsForm(BlockForm):
    block = "appeals"
    FIELDS = {"enabled": "enabled", "callbackUrl": "callback_url", "body": "body"}

    enabled = forms.BooleanField(
        label="Accept appeals",
        required=False,
        help_text="Off: POST /api/v1/report/appeal answers 409 and no appeal job is created.",
    )
    callback_url = forms.CharField(
        label="Appeal decision callback URL",
        required=False,
        help_text="Coop POSTs the decision here (Coop-Event: appeal-decision) when a reviewer "
        "overturns or upholds an appeal. Empty: no callback.",
    )
    body = forms.CharField(
        label="Body (JSON)",
        required=False,
        strip=False,  # error positions count from what was typed
        max_length=MAX_JSON_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
        help_text="A JSON object, sent as the callback's custom. Empty: {}.",
    )

    def __init__(self, data: Any, current: dict) -> None:
        initial = {
            "enabled": current["enabled"],
            "callback_url": _text(current["callbackUrl"]),
            "body": json_text(current["body"]),
        }
        super().__init__(data, initial=initial)

    def clean_body(self) -> dict:
        return parse_json_object(self.cleaned_data["body"])

    def value(self) -> dict:
        d = self.cleaned_data
        return {
            "enabled": d["enabled"],
            "callbackUrl": _nullable(d["callback_url"]),
            "body": d["body"],
        }


class AppealsEditor(HeadersEditor):
    block = "appeals"
    form_class = AppealsForm


# --- Partial items ---------------------------------------------------------------------------


class PartialItemsForm(BlockForm):
    block = "partialItems"
    FIELDS = {"endpoint": "endpoint"}

    endpoint = forms.CharField(
        label="Partial items endpoint",
        required=False,
        help_text='Coop POSTs {"items": [{"id", "typeId"}]} here (Coop-Event: '
        "partial-items) when it needs an item's current data. Empty: never asked.",
    )

    def __init__(self, data: Any, current: dict) -> None:
        super().__init__(data, initial={"endpoint": _text(current["endpoint"])})

    def value(self) -> dict:
        return {"endpoint": _nullable(self.cleaned_data["endpoint"])}


class PartialItemsEditor(HeadersEditor):
    block = "partialItems"
    form_class = PartialItemsForm


# --- Review Console ----------------------------------------------------------------------------


class ReviewForm(BlockForm):
    block = "review"
    FIELDS = {
        "requirePolicyForDecisions": "require_policy",
        "requireReasonOnAction": "require_reason_on_action",
        "requireReasonOnIgnore": "require_reason_on_ignore",
        "hideSkipForNonAdmins": "hide_skip",
        "ignoreCallbackUrl": "ignore_callback_url",
        "leaseSeconds": "lease_seconds",
    }

    require_policy = forms.BooleanField(
        label="Require a policy for every action",
        required=False,
        help_text="Reviewers must pick at least one policy for each action they take.",
    )
    require_reason_on_action = forms.BooleanField(
        label="Require a reason when taking an action", required=False
    )
    require_reason_on_ignore = forms.BooleanField(
        label="Require a reason when ignoring a job", required=False
    )
    hide_skip = forms.BooleanField(
        label="Hide Skip for non-admins",
        required=False,
        help_text="Only users with MANAGE_ORG may skip jobs (the server refuses other skips).",
    )
    ignore_callback_url = forms.CharField(
        label="Ignore callback URL",
        required=False,
        help_text="Coop POSTs the item here (Coop-Event: ignore) when a reviewer ignores a job. "
        "Empty: no callback.",
    )
    lease_seconds = forms.IntegerField(
        label="Lease length (seconds)",
        required=False,
        help_text="How long a reviewer holds a claimed job before it returns to the queue: "
        "60 to 86400 (600 = 10 minutes). Applies to the next claim.",
    )

    def __init__(self, data: Any, current: dict) -> None:
        initial = {field: current[key] for key, field in self.FIELDS.items()}
        initial["ignore_callback_url"] = _text(current["ignoreCallbackUrl"])
        super().__init__(data, initial=initial)
        self.fields["lease_seconds"].widget.attrs.update({"min": 60, "max": 86400, "step": 1})

    def value(self) -> dict:
        d = self.cleaned_data
        value = {key: d[field] for key, field in self.FIELDS.items()}
        value["ignoreCallbackUrl"] = _nullable(d["ignore_callback_url"])
        return value


class ReviewEditor(FormEditor):
    block = "review"
    form_class = ReviewForm


# --- Strikes -------------------------------------------------------------------------------------


class StrikesForm(BlockForm):
    block = "strikes"
    FIELDS = {"ttlDays": "ttl_days"}

    ttl_days = forms.IntegerField(
        label="Strikes expire after (days)",
        required=False,
        help_text="1 to 3650. A change applies to strikes given from now on.",
    )

    def __init__(self, data: Any, current: dict) -> None:
        super().__init__(data, initial={"ttl_days": current["ttlDays"]})
        self.fields["ttl_days"].widget.attrs.update({"min": 1, "max": 3650})

    def value(self) -> dict:
        return {"ttlDays": self.cleaned_data["ttl_days"]}


class ThresholdForm(forms.Form):
    """One threshold: a score and the actions run on a user whose total reaches it."""

    score = forms.IntegerField(label="Score", required=False)
    actions = forms.MultipleChoiceField(
        label="Actions", required=False, widget=forms.CheckboxSelectMultiple
    )
    parameters = forms.CharField(
        label="Action parameters (JSON)",
        required=False,
        strip=False,
        max_length=4096,
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "mono"}),
        help_text='Per action, e.g. {"ban": {"days": 30}}.',
    )

    def __init__(self, *args: Any, action_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["actions"].choices = action_choices
        # The order the stored threshold lists its actions in, kept on save (another order
        # would be a change of the configuration).
        self.stored_order = [a["id"] for a in (self.initial.get("refs") or [])]

    def clean_parameters(self) -> dict:
        return parse_json_object(self.cleaned_data["parameters"])

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = cleaned.get("actions") or []
        for action_id, params in (cleaned.get("parameters") or {}).items():
            if action_id not in chosen:
                self.add_error("parameters", f"{action_id!r} is not one of this row's actions")
            elif not isinstance(params, dict):
                self.add_error("parameters", f"the parameters of {action_id!r} must be an object")
        return cleaned

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return d.get("score") is None and not d.get("actions") and not d.get("parameters")

    def threshold(self) -> dict:
        d = self.cleaned_data
        params = d["parameters"] or {}
        known = {a: i for i, a in enumerate(self.stored_order)}
        actions = sorted(d["actions"], key=lambda a: known.get(a, len(known)))
        return {
            "score": d["score"],
            "actions": [{"id": a, "parameters": params.get(a, {})} for a in actions],
        }


ThresholdFormSet = formset_factory(
    ThresholdForm,
    extra=1,
    can_delete=True,
    max_num=MAX_THRESHOLDS,
    validate_max=True,
    absolute_max=MAX_THRESHOLDS + 10,
)

_THRESHOLD_PATH = re.compile(r"strikes\.thresholds\[(\d+)\](?:\.(\w+))?")


def action_choices() -> list[tuple[str, str]]:
    """Every action: the built-in ones, then the organisation's."""
    return list(Action.objects.order_by("-builtin", "name").values_list("id", "name"))


class StrikesEditor(FormEditor):
    block = "strikes"
    form_class = StrikesForm

    def __init__(self, data: Any, current: dict) -> None:
        super().__init__(data, current)
        initial = [
            {
                "score": t["score"],
                "actions": [a["id"] for a in t["actions"]],
                "refs": t["actions"],
                "parameters": json.dumps(
                    {a["id"]: a["parameters"] for a in t["actions"] if a["parameters"]},
                    ensure_ascii=False,
                )
                if any(a["parameters"] for a in t["actions"])
                else "",
            }
            for t in current["thresholds"]
        ]
        self.thresholds = ThresholdFormSet(
            data,
            initial=initial,
            prefix="thresholds",
            form_kwargs={"action_choices": action_choices()},
        )
        self.rows: list[ThresholdForm] = []

    def forms(self) -> list:
        return [self.form, self.thresholds]

    def value(self) -> dict:
        self.rows = [
            f
            for f in self.thresholds.forms
            if not f.cleaned_data.get("DELETE") and not f.is_blank()
        ]
        return {**self.form.value(), "thresholds": [f.threshold() for f in self.rows]}

    def place_error(self, error: ConfigError) -> bool:
        match = _THRESHOLD_PATH.match(error.path)
        if match is None:
            return self.form.place_error(error)
        row = self.rows[int(match.group(1))]
        key = match.group(2)
        if key == "actions" and ".parameters" in error.path:
            key = "parameters"
        row.add_error(key if key in row.fields else None, file_message(error))
        return True
