"""The action form: the console's side of the `actions` configuration kind (custom actions,
i.e. webhooks to the platform; api.md, action callback).

Header values come in three sorts. A plain value is configuration like any other (shown,
exported as written). A secret is either `!secret SECRET_…` (only the environment variable's name
is stored and shown; its value is read when a webhook is sent) or a value typed here, which is
write-only: stored encrypted (coop.catalog.credentials), never shown again, exported as the
encrypted token. Leaving a stored value's field empty keeps it.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import QueryDict

from coop.catalog.credentials import encrypt_credential
from coop.catalog.models import Action, ItemType
from coop.config.kinds import Canonical
from coop.config.services import SaveResult
from coop.core.enums import ParameterType
from coop.web.config_form import (
    ConfigForm,
    RowSet,
    TextField,
    derive_id,
    split_path,
    typed_boolean,
    typed_number,
)

VALUE, SECRET, ENCRYPTED = "value", "secret", "encrypted"
HEADER_DEFAULTS = {"name": "", "source": VALUE, "value": ""}
PARAMETER_DEFAULTS = {
    "name": "",
    "type": ParameterType.STRING.value,
    "required": False,
    "default": "",
}
PARAMETER_TYPES = [t.value for t in ParameterType]


def _typed_default(kind: str, text: str) -> Any:
    if kind == ParameterType.NUMBER:
        return typed_number(text)
    if kind == ParameterType.BOOLEAN:
        return typed_boolean(text)
    return text


def _shown_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ActionForm(ConfigForm):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="The actionId used on the wire. Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = TextField(label="Description", rows=2)
    callback_url = forms.CharField(
        label="Callback URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://platform.example/coop/actions"}),
        help_text="Coop POSTs the signed action callback here (Coop-Event: action).",
    )
    body = TextField(
        label="Body (JSON object)",
        rows=4,
        help_text="Merged into the callback's custom object, with the parameters' values.",
    )
    item_types = forms.MultipleChoiceField(
        label="Item types",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: the action applies to every item type.",
    )
    applies_strikes = forms.BooleanField(
        label="Applies strikes",
        required=False,
        help_text="Executing it adds a strike to the user (the item itself or its author), "
        "weighted by the heaviest policy involved.",
    )

    file_keys = {
        "id": "id",
        "name": "name",
        "description": "description",
        "callbackUrl": "callback_url",
        "body": "body",
        "itemTypes": "item_types",
        "appliesStrikes": "applies_strikes",
    }

    def __init__(self, data: QueryDict | None = None, *, current: Canonical | None = None):
        self.current = current
        initial: dict[str, Any] = {}
        headers: list[dict[str, Any]] = []
        parameters: list[dict[str, Any]] = []
        if current is not None:
            initial = {
                "name": current["name"],
                "description": current["description"],
                "callback_url": current["callbackUrl"],
                "body": json.dumps(current["body"], indent=2, ensure_ascii=False)
                if current["body"]
                else "",
                "item_types": current["itemTypes"],
                "applies_strikes": current["appliesStrikes"],
            }
            for name, value in current["headers"].items():
                if isinstance(value, dict) and "secret" in value:
                    headers.append({"name": name, "source": SECRET, "value": value["secret"]})
                elif isinstance(value, dict):  # write-only: the field stays empty
                    headers.append({"name": name, "source": ENCRYPTED, "value": "", "stored": True})
                else:
                    headers.append({"name": name, "source": VALUE, "value": value})
            for param in current["parameters"]:
                parameters.append(
                    {
                        "name": param["name"],
                        "type": param["type"],
                        "required": param["required"],
                        "default": _shown_default(param["default"]) if "default" in param else "",
                    }
                )
        super().__init__(data, initial=initial)
        if data is not None:
            self.headers = RowSet.from_post(data, "headers", HEADER_DEFAULTS)
            self.parameters = RowSet.from_post(
                data, "parameters", PARAMETER_DEFAULTS, checkboxes=("required",)
            )
        else:
            self.headers = RowSet("headers", HEADER_DEFAULTS, headers)
            self.parameters = RowSet(
                "parameters", PARAMETER_DEFAULTS, parameters, checkboxes=("required",)
            )
        self.fields["item_types"].choices = list(
            ItemType.objects.order_by("name").values_list("id", "name")
        )
        if current is not None:
            del self.fields["id"]

    @property
    def edited(self) -> bool:
        return self.headers.edited or self.parameters.edited

    @property
    def rows_invalid(self) -> bool:
        return self.headers.has_errors or self.parameters.has_errors

    @property
    def parameter_types(self) -> list[str]:
        return PARAMETER_TYPES

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            if Action.objects.filter(pk=value).exists():
                raise forms.ValidationError("An action with this id exists already.")
            return value
        return derive_id(
            self.data.get("name", ""), lambda v: Action.objects.filter(pk=v).exists(), "action"
        )

    def clean_body(self) -> Any:
        text = self.cleaned_data.get("body", "")
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise forms.ValidationError("nested too deeply") from exc

    def file_data(self) -> dict[str, Any]:
        """The action as spelled in the configuration file, for `save_object`."""
        d = self.cleaned_data
        headers = {row.values["name"]: self._header_value(row.values) for row in self.headers}
        parameters = []
        for row in self.parameters:
            param: dict[str, Any] = {
                "name": row.values["name"],
                "type": row.values["type"],
                "required": row.values["required"],
            }
            if row.values["default"] != "":
                param["default"] = _typed_default(row.values["type"], row.values["default"])
            parameters.append(param)
        return {
            "id": self.current["id"] if self.current else d["id"],
            "name": d["name"],
            "description": d["description"],
            "callbackUrl": d["callback_url"],
            "headers": headers,
            "body": d["body"],
            "itemTypes": list(d["item_types"]),
            "appliesStrikes": d["applies_strikes"],
            "parameters": parameters,
        }

    def _stored_secret(self, name: str) -> dict[str, str] | None:
        """The encrypted value this action already holds for header `name`, if any."""
        value = self.current["headers"].get(name) if self.current else None
        return value if isinstance(value, dict) and "encrypted" in value else None

    def _header_value(self, row: dict[str, Any]) -> Any:
        if row["source"] == SECRET:
            return {"secret": row["value"]}
        if row["source"] == ENCRYPTED:
            if row["value"] == "":
                return self._stored_secret(row["name"])
            return encrypt_credential(row["value"])
        return row["value"]

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        names = [row.values["name"] for row in self.headers]
        for row in self.headers:
            if not row.values["name"]:
                self.headers.add_error(row.index, "name", "Give the header's name.")
            elif names.count(row.values["name"]) > 1:
                self.headers.add_error(row.index, "name", "This header is given twice.")
            elif (
                row.values["source"] == ENCRYPTED
                and row.values["value"] == ""
                and self._stored_secret(row.values["name"]) is None
            ):
                self.headers.add_error(row.index, "value", "Type the secret value.")
        if self.headers.has_errors:
            self.add_error(None, "Some headers need correcting.")
        return d

    def add_save_errors(self, result: SaveResult) -> None:
        header_rows = {row.values["name"]: row.index for row in self.headers}
        for error in result.errors:
            head, index, rest = split_path(error.path)
            if head == "headers" and rest in header_rows:
                column = "name" if error.message.startswith("header name") else "value"
                self.headers.add_error(header_rows[rest], column, error.message)
                continue
            column = rest.split(".", 1)[0]
            if head == "parameters" and self.parameters.add_error(index, column, error.message):
                continue
            self.place_error(error)
