"""The item type form: the console's side of the `itemTypes` configuration kind (rules.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from coop.catalog.models import ItemType
from coop.config.kinds import Canonical
from coop.config.services import SaveResult
from coop.core.enums import ItemKind
from coop.core.field_types import (
    ROLE_CONSTRAINTS,
    SCALAR_TYPES,
    FieldRole,
    FieldType,
)
from coop.web.config_form import ConfigForm, RowSet, TextField, derive_id, split_path

ROLE_LABELS = {
    FieldRole.CREATOR_ID: "Creator",
    FieldRole.THREAD_ID: "Thread",
    FieldRole.PARENT_ID: "Parent",
    FieldRole.CREATED_AT: "Created at",
    FieldRole.DISPLAY_NAME: "Display name",
    FieldRole.IS_DELETED: "Deleted flag",
    FieldRole.IP_ADDRESS: "IP address",
    FieldRole.PROFILE_ICON: "Profile icon",
    FieldRole.BACKGROUND_IMAGE: "Background image",
    FieldRole.EMAIL: "Email",
}
FIELD_DEFAULTS = {
    "name": "",
    "type": FieldType.STRING.value,
    "element": "",
    "required": False,
    "hidden": False,
}
FIELD_TYPES = [t.value for t in FieldType]
ELEMENT_TYPES = sorted(t.value for t in SCALAR_TYPES)
CONTAINER_KEY = {FieldType.ARRAY: "items", FieldType.MAP: "values"}


@dataclass(frozen=True)
class RoleInput:
    """One role's select: which field plays the role, among the fields of the fitting type."""

    role: str
    label: str
    field_type: str
    kinds: tuple[str, ...]  # empty = every kind
    bound: forms.BoundField

    @property
    def applies_to(self) -> str:
        return " ".join(self.kinds)


class ItemTypeForm(ConfigForm):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="The typeId platforms send. Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = TextField(label="Description", rows=2)
    kind = forms.ChoiceField(
        label="Kind",
        choices=[
            (ItemKind.CONTENT, "Content"),
            (ItemKind.USER, "User"),
            (ItemKind.THREAD, "Thread"),
        ],
        help_text="Content: a post, comment, message… User: an account. Thread: a container "
        "of content.",
    )

    file_keys = {"id": "id", "name": "name", "description": "description", "kind": "kind"}

    def __init__(self, data: QueryDict | None = None, *, current: Canonical | None = None):
        self.current = current
        initial: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        if current is not None:
            initial = {k: current[k] for k in ("id", "name", "description", "kind")}
            hidden = set(current["hiddenFields"])
            for spec in current["fields"]:
                element = spec.get("items") or spec.get("values") or ""
                rows.append(
                    {
                        "name": spec["name"],
                        "type": spec["type"],
                        "element": element,
                        "required": spec["required"],
                        "hidden": spec["name"] in hidden,
                    }
                )
            initial.update({f"role_{r}": f for r, f in current["roles"].items()})
        super().__init__(data, initial=initial)
        checkboxes = ("required", "hidden")
        if data is not None:
            self.rows = RowSet.from_post(data, "fields", FIELD_DEFAULTS, checkboxes=checkboxes)
        else:
            # A new type starts with one empty row to fill in (an empty row is not saved).
            rows = rows if current is not None else [{}]
            self.rows = RowSet("fields", FIELD_DEFAULTS, rows, checkboxes=checkboxes)
        for role in FieldRole:
            self.fields[f"role_{role}"] = forms.CharField(
                label=f"{ROLE_LABELS[role]} ({role})", required=False, widget=forms.Select
            )
        self._offer_role_fields()
        if current is not None:
            del self.fields["id"]

    def _offer_role_fields(self) -> None:
        """Each role offers the fields of its type (plus whatever is chosen, so a wrong choice
        is shown with the validator's message rather than silently dropped)."""
        for role in FieldRole:
            wanted, _ = ROLE_CONSTRAINTS[role]
            name = f"role_{role}"
            chosen = self[name].value() or ""
            names = [r.values["name"] for r in self.rows if r.values["type"] == wanted]
            if chosen and chosen not in names:
                names.append(chosen)
            self.fields[name].widget.choices = [("", "—")] + [(n, n) for n in names if n]

    @property
    def edited(self) -> bool:
        return self.rows.edited

    def role_inputs(self) -> list[RoleInput]:
        inputs = []
        for role in FieldRole:
            wanted, kinds = ROLE_CONSTRAINTS[role]
            inputs.append(
                RoleInput(
                    role=role.value,
                    label=ROLE_LABELS[role],
                    field_type=wanted.value,
                    kinds=tuple(sorted(kinds)) if kinds else (),
                    bound=self[f"role_{role}"],
                )
            )
        return inputs

    @property
    def field_types(self) -> list[str]:
        return FIELD_TYPES

    @property
    def element_types(self) -> list[str]:
        return ELEMENT_TYPES

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            if ItemType.objects.filter(pk=value).exists():
                raise forms.ValidationError("An item type with this id exists already.")
            return value
        return derive_id(
            self.data.get("name", ""), lambda v: ItemType.objects.filter(pk=v).exists(), "type"
        )

    def file_data(self) -> dict[str, Any]:
        """The item type as spelled in the configuration file, for `save_object`."""
        d = self.cleaned_data
        fields = []
        for row in self.rows:
            values = row.values
            spec: dict[str, Any] = {
                "name": values["name"],
                "type": values["type"],
                "required": values["required"],
            }
            key = CONTAINER_KEY.get(values["type"])
            if key and values["element"]:
                spec[key] = values["element"]
            fields.append(spec)
        roles = {role.value: d[f"role_{role}"] for role in FieldRole if d.get(f"role_{role}")}
        return {
            "id": self.current["id"] if self.current else d["id"],
            "name": d["name"],
            "description": d["description"],
            "kind": d["kind"],
            "fields": fields,
            "roles": roles,
            "hiddenFields": [r.values["name"] for r in self.rows if r.values["hidden"]],
        }

    def add_save_errors(self, result: SaveResult) -> None:
        hidden = [r.index for r in self.rows if r.values["hidden"]]
        for error in result.errors:
            head, index, rest = split_path(error.path)
            column = rest.split(".", 1)[0]
            if head == "fields" and column in ("items", "values"):
                column = "element"
            if head == "fields" and self.rows.add_error(index, column, error.message):
                continue
            if head == "hiddenFields" and index is not None and index < len(hidden):
                self.rows.add_error(hidden[index], "hidden", error.message)
                continue
            if head == "roles" and f"role_{rest}" in self.fields:
                self.add_error(f"role_{rest}", error.message)
                continue
            self.place_error(error)
