"""The HASH bank forms: settings (create and edit), file import, image upload, HMA exchange.

They produce the configuration file's spelling and save through coop.config's writer, so they
refuse exactly what `coop config apply` refuses; `add_save_errors` puts each error by its field.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.text import slugify

from coop.catalog.credentials import describe_credential, encrypt_credential
from coop.catalog.models import Bank
from coop.config.services import SaveResult
from coop.signals.hashing import DEFAULT_DISTANCE

_SECRET = re.compile(r"!secret\s+([A-Za-z_][A-Za-z0-9_]*)")


def _place_errors(form: forms.Form, result: SaveResult, file_keys: dict[str, str]) -> None:
    by_key = {v: k for k, v in file_keys.items()}
    for error in result.errors:
        head = error.path.split("[", 1)[0].split(".", 1)[0]
        name = by_key.get(head)
        if name is not None and name in form.fields:
            form.add_error(name, error.message)
        else:
            form.add_error(None, str(error))


class BankForm(forms.Form):
    FILE_KEYS = {
        "id": "id",
        "name": "name",
        "description": "description",
        "distance": "distance",
        "enabled": "enabled",
    }

    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="Letters, digits, '_', '-' or '.'; rules name the bank by it. "
        "Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    distance = forms.IntegerField(
        label="Match distance",
        min_value=0,
        max_value=256,
        initial=DEFAULT_DISTANCE,
        help_text="An image matches a hash that differs in at most this many of PDQ's 256 bits "
        f"({DEFAULT_DISTANCE} is HMA's and ThreatExchange's default).",
    )
    enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        initial=True,
        help_text="A disabled bank matches no image.",
    )

    def __init__(self, *args: Any, bank: Bank | None = None, **kwargs: Any):
        self.bank = bank
        bound = (args[0] if args else kwargs.get("data")) is not None
        if bank is not None and not bound:
            kwargs.setdefault(
                "initial",
                {
                    "name": bank.name,
                    "description": bank.description,
                    "distance": DEFAULT_DISTANCE
                    if bank.distance_threshold is None
                    else bank.distance_threshold,
                    "enabled": bank.enabled,
                },
            )
        super().__init__(*args, **kwargs)
        if bank is not None:
            del self.fields["id"]

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value:
            return value
        value = slugify(self.data.get("name", ""))[:64] or "hash-bank"
        base, n = value, 2
        while Bank.objects.filter(pk=value).exists():
            suffix = f"-{n}"
            value, n = base[: 64 - len(suffix)] + suffix, n + 1
        return value

    def file_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data = {
            "name": d["name"],
            "description": d["description"],
            "distance": d["distance"],
            "enabled": d["enabled"],
        }
        return data if self.bank is not None else {"id": d["id"], **data}

    def add_save_errors(self, result: SaveResult) -> None:
        _place_errors(self, result, self.FILE_KEYS)


class HashFileForm(forms.Form):
    file = forms.FileField(
        label="Hash file",
        help_text="One PDQ hash per line (blank lines and # comments skipped), or a CSV with a "
        "header naming a signal (or hash, pdq) column, such as HMA's exports.",
    )


class ImageForm(forms.Form):
    image = forms.FileField(
        label="Image",
        help_text="Hashed in memory with PDQ; only the hash is kept, never the image.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class ExchangeApiForm(forms.Form):
    api = forms.ChoiceField(label="Exchange", help_text="The exchange APIs your HMA offers.")

    def __init__(self, *args: Any, apis: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["api"].choices = [(a, EXCHANGE_LABELS.get(a, a)) for a in apis]


# HMA's API names for the exchanges it ships with, and what people call them.
EXCHANGE_LABELS = {
    "ncmec": "NCMEC hash sharing",
    "stop_ncii": "StopNCII",
    "fb_threatexchange": "Meta ThreatExchange",
    "techagainstterrorism": "Tech Against Terrorism",
    "sample": "Sample (HMA's built-in test exchange)",
}


class ExchangeForm(forms.Form):
    """One exchange API's config and credential fields, as HMA's schema for it lists them.

    Credentials typed here are encrypted at rest; `!secret NAME` names an environment
    variable instead; left blank, a credential that is set keeps its current value."""

    def __init__(
        self,
        *args: Any,
        api: str,
        schema: dict[str, Any],
        current: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.api = api
        current = current if current and current.get("api") == api else {}
        self.current_credentials: dict[str, Any] = current.get("credentials") or {}
        config = current.get("config") or {}
        self.config_names: list[str] = []
        self.credential_names: list[str] = []
        for spec in (schema.get("config_schema") or {}).get("fields") or []:
            name = f"config_{spec['name']}"
            self.fields[name] = _config_field(spec, config.get(spec["name"], spec.get("default")))
            self.config_names.append(spec["name"])
        for spec in (schema.get("credentials_schema") or {}).get("fields") or []:
            stored = self.current_credentials.get(spec["name"])
            self.fields[f"credential_{spec['name']}"] = forms.CharField(
                label=spec["name"].replace("_", " ").capitalize(),
                required=bool(spec.get("required")) and stored is None,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text=" ".join(
                    part
                    for part in (
                        spec.get("help") or "",
                        f"Now: {describe_credential(stored)}; leave blank to keep it."
                        if stored is not None
                        else "",
                        "Or !secret NAME to read it from an environment variable.",
                    )
                    if part
                ),
            )
            self.credential_names.append(spec["name"])

    def exchange(self) -> dict[str, Any]:
        """The exchange as the configuration file spells it."""
        d = self.cleaned_data
        config = {}
        for name in self.config_names:
            value = d.get(f"config_{name}")
            if value not in (None, "", []):
                config[name] = value
        credentials = {}
        for name in self.credential_names:
            typed = d.get(f"credential_{name}") or ""
            secret = _SECRET.fullmatch(typed.strip())
            if secret:
                credentials[name] = {"secret": secret.group(1)}
            elif typed:
                credentials[name] = encrypt_credential(typed)
            elif name in self.current_credentials:
                credentials[name] = self.current_credentials[name]
        return {"api": self.api, "config": config, "credentials": credentials}

    def add_save_errors(self, result: SaveResult) -> None:
        for error in result.errors:
            path = error.path
            for prefix, names, field in (
                ("exchange.config.", self.config_names, "config_"),
                ("exchange.credentials.", self.credential_names, "credential_"),
            ):
                key = path[len(prefix) :].split(".", 1)[0] if path.startswith(prefix) else None
                if key in names:
                    self.add_error(f"{field}{key}", error.message)
                    break
            else:
                self.add_error(None, str(error))


class _ListField(forms.CharField):
    """HMA's set_of_*/list_of_* fields: values separated by commas."""

    def __init__(self, *args: Any, numbers: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.numbers = numbers

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list:
        items = [v.strip() for v in str(value or "").split(",") if v.strip()]
        if not self.numbers:
            return items
        try:
            return [int(v) for v in items]
        except ValueError:
            raise forms.ValidationError("Enter whole numbers separated by commas.") from None


def _config_field(spec: dict[str, Any], initial: Any) -> forms.Field:
    label = spec["name"].replace("_", " ").capitalize()
    options = {
        "label": label,
        "required": bool(spec.get("required")),
        "help_text": spec.get("help") or "",
        "initial": initial,
    }
    kind = spec.get("type") or "string"
    if kind == "enum":
        choices = [(c, c) for c in spec.get("choices") or []]
        return forms.ChoiceField(choices=[("", "—"), *choices], **options)
    if kind == "number":
        return forms.IntegerField(**options)
    if kind == "boolean":
        return forms.BooleanField(**{**options, "required": False})
    if kind.startswith(("set_of_", "list_of_")):
        return _ListField(numbers=kind.endswith("number"), **options)
    return forms.CharField(max_length=2000, **options)
