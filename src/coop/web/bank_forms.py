"""The bank forms: settings (create and edit); HASH banks' file import, image upload and HMA
exchange; TEXT, REGEX and LOCATION banks' entries (pasted, imported, one entry, one location).

They produce the configuration file's spelling and save through coop.config's writer, so they
refuse exactly what `coop config apply` refuses; `add_save_errors` puts each error by its field.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from coop.catalog.credentials import describe_credential, encrypt_credential
from coop.catalog.models import Bank
from coop.config.schema import CONSOLE_WORDS, ConfigError
from coop.config.services import SaveResult
from coop.core.enums import BankKind
from coop.signals.hashing import DEFAULT_DISTANCE
from coop.web.config_form import derive_id

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

    def __init__(
        self, *args: Any, bank: Bank | None = None, kind: str = BankKind.HASH, **kwargs: Any
    ):
        self.bank = bank
        self.kind = bank.kind if bank is not None else kind
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
        if self.kind != BankKind.HASH:
            del self.fields["distance"], self.fields["enabled"]

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if value in CONSOLE_WORDS:
            raise forms.ValidationError(f"“{value}” names a page of the console; choose another.")
        if value:
            return value
        return derive_id(
            self.data.get("name", ""),
            taken=lambda candidate: Bank.objects.filter(pk=candidate).exists(),
            fallback=f"{self.kind.lower()}-bank",
        )

    def file_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data = {"name": d["name"], "description": d["description"]}
        if self.kind == BankKind.HASH:
            data |= {"distance": d["distance"], "enabled": d["enabled"]}
        return data if self.bank is not None else {"id": d["id"], "kind": self.kind, **data}

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


class EntriesForm(forms.Form):
    """Entries pasted one per line."""

    entries = forms.CharField(
        label="Paste entries",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["entries"].help_text = ENTRY_HELP[kind]

    def clean_entries(self) -> str:
        text = self.cleaned_data["entries"]
        if not text.strip():
            raise forms.ValidationError("Paste at least one entry: every line is blank.")
        return text


class EntryForm(forms.Form):
    """One TEXT or REGEX entry."""

    entry = forms.CharField(label="New entry", max_length=10_000)


class EntriesFileForm(forms.Form):
    file = forms.FileField(label="Entries file")

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = "UTF-8 text, one entry per line as pasted."


ENTRY_HELP = {
    BankKind.TEXT: "One word or phrase per line. Blank lines are skipped, spaces at either end "
    "ignored, repeats added once.",
    BankKind.REGEX: "One RE2 pattern per line (matched case-insensitively). Blank lines are "
    "skipped, spaces at either end ignored, repeats added once.",
    BankKind.LOCATION: "One location per line, as the configuration file spells it: "
    "{name: Library, lat: 37.8719, lng: -122.2585, radiusMiles: 0.5}, "
    "{name: North campus, geohash: 9q9p3} or {name: Park, bounds: {northeast: {lat: …, lng: …}, "
    "southwest: {lat: …, lng: …}}}.",
}


class SearchForm(forms.Form):
    """The entries list's search and keyset cursors (positions)."""

    q = forms.CharField(label="Search entries", required=False, max_length=200)
    after = forms.IntegerField(required=False, min_value=0)
    before = forms.IntegerField(required=False, min_value=0)
    last = forms.BooleanField(required=False)


class _Positions(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Choose entries from the list.") from None


class RemoveForm(forms.Form):
    """Remove one entry (its button) or the ticked ones, of the bank at `version`."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    one = forms.IntegerField(required=False, min_value=0)
    selected = _Positions(required=False)
    q = forms.CharField(required=False, max_length=200)

    def positions(self) -> list[int]:
        one = self.cleaned_data.get("one")
        return [one] if one is not None else self.cleaned_data["selected"]


def _coordinate(label: str, low: int, high: int) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, min_value=low, max_value=high)


class LocationForm(forms.Form):
    """One location: a circle (centre and radius), a geohash cell or a rectangle."""

    name = forms.CharField(label="Name", required=False, max_length=200)
    lat = _coordinate("Latitude", -90, 90)
    lng = _coordinate("Longitude", -180, 180)
    radius = forms.FloatField(label="Radius (miles)", required=False)
    geohash = forms.CharField(label="Geohash", required=False, max_length=12)
    ne_lat = _coordinate("North-east latitude", -90, 90)
    ne_lng = _coordinate("North-east longitude", -180, 180)
    sw_lat = _coordinate("South-west latitude", -90, 90)
    sw_lng = _coordinate("South-west longitude", -180, 180)

    SHAPES = {
        "circle": ("lat", "lng", "radius"),
        "geohash": ("geohash",),
        "bounds": ("ne_lat", "ne_lng", "sw_lat", "sw_lng"),
    }
    # The validator's message starts with the key it is about (coop.signals.values).
    MESSAGE_FIELDS = (
        ("bounds.northeast", "ne_lat"),
        ("bounds.southwest", "sw_lat"),
        ("bounds", "ne_lat"),
        ("radiusMiles", "radius"),
        ("lat", "lat"),
        ("lng", "lng"),
        ("name", "name"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        # The settings form on the same page has a Name field too.
        super().__init__(*args, auto_id="id_location_%s", **kwargs)

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        given = [
            shape
            for shape, names in self.SHAPES.items()
            if any(d.get(n) not in (None, "") for n in names)
        ]
        if len(given) != 1:
            raise forms.ValidationError(
                "Give one place: a centre and radius, a geohash, or a rectangle's corners."
            )
        for name in self.SHAPES[given[0]]:
            if d.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, "This field is required for this kind of place.")
        self.shape = given[0]
        return d

    def location(self) -> dict[str, Any]:
        """The location as the configuration file spells it."""
        d = self.cleaned_data
        place: dict[str, Any] = {"name": d["name"]} if d["name"] else {}
        if self.shape == "circle":
            return place | {"lat": d["lat"], "lng": d["lng"], "radiusMiles": d["radius"]}
        if self.shape == "geohash":
            return place | {"geohash": d["geohash"]}
        return place | {
            "bounds": {
                "northeast": {"lat": d["ne_lat"], "lng": d["ne_lng"]},
                "southwest": {"lat": d["sw_lat"], "lng": d["sw_lng"]},
            }
        }

    def add_save_errors(self, errors: list[ConfigError]) -> None:
        for error in errors:
            name = next(
                (f for prefix, f in self.MESSAGE_FIELDS if error.message.startswith(prefix)),
                "geohash" if self.shape == "geohash" else None,
            )
            self.add_error(name, error.message)
