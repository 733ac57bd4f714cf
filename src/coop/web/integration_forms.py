"""The Settings → Integrations forms: the console's side of the `integrations` block.

Each form turns its fields into the block as the configuration file spells it and saves the
whole block through coop.config's writer, so the page refuses exactly what `coop config
apply` refuses. API keys are write-only: a blank key keeps the stored one, `!secret NAME`
refers to an environment variable, anything else is encrypted before it is stored.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms

from coop.accounts.models import User
from coop.catalog.credentials import encrypt_credential
from coop.config.kinds import BY_KEY
from coop.config.schema import ConfigError
from coop.config.services import SaveResult, save_object
from coop.integrations import config as integrations

SECRET_PREFIX = "!secret "  # noqa: S105 - the syntax of an environment reference, not a secret
LIMIT_KEYS = {
    "timeout_ms": "timeoutMs",
    "concurrency": "concurrency",
    "cache_ttl": "cacheTtlSeconds",
}


def stored_block() -> dict[str, Any]:
    """The `integrations` block in force, every default filled in."""
    loaded = BY_KEY["integrations"].load().get("integrations")
    return (
        copy.deepcopy(loaded)
        if loaded
        else {**dict.fromkeys(integrations.PROVIDERS), "httpSignals": []}
    )


def save_block(block: dict[str, Any], user: User) -> SaveResult:
    return save_object("integrations", block, user=user)


def _limit_fields(integration: str) -> dict[str, forms.Field]:
    defaults = integrations.limit_defaults(integration)
    low, high = integrations.TIMEOUT_RANGE_MS
    return {
        "timeout_ms": forms.IntegerField(
            label="Timeout (ms)",
            min_value=low,
            max_value=high,
            initial=defaults["timeoutMs"],
            help_text="Per attempt. 429 and 5xx answers are retried within the evaluation's "
            "time budget.",
        ),
        "concurrency": forms.IntegerField(
            label="Concurrent calls",
            min_value=integrations.CONCURRENCY_RANGE[0],
            max_value=integrations.CONCURRENCY_RANGE[1],
            initial=defaults["concurrency"],
            help_text="At most this many calls in flight at once, per Coop process.",
        ),
        "cache_ttl": forms.IntegerField(
            label="Cache answers for (s)",
            min_value=integrations.CACHE_TTL_RANGE[0],
            max_value=integrations.CACHE_TTL_RANGE[1],
            initial=defaults["cacheTtlSeconds"],
            help_text="The same value is not sent again for this long (0: only within one "
            "item's evaluation).",
        ),
    }


class _BlockForm(forms.Form):
    """Maps `save_object` errors (paths inside the block) back onto the form's fields."""

    prefix_path = ""
    file_keys: dict[str, str] = {}

    def add_save_errors(self, errors: list[ConfigError]) -> None:
        by_key = {v: k for k, v in self.file_keys.items()}
        for error in errors:
            path = error.path
            if path.startswith(self.prefix_path + ".") or path.startswith(self.prefix_path + "["):
                rest = path[len(self.prefix_path) :].lstrip(".")
                name = by_key.get(rest.split("[", 1)[0].split(".", 1)[0])
                if name in self.fields:
                    self.add_error(name, self.describe(rest, error.message))
                    continue
            self.add_error(None, str(error))

    def describe(self, rest: str, message: str) -> str:
        return message

    def limits(self) -> dict[str, int]:
        return {key: self.cleaned_data[name] for name, key in LIMIT_KEYS.items()}


def _credential(raw: str, stored: Any) -> Any:
    """The stored form of what was typed in the key field (None: nothing stored yet)."""
    value = raw.strip()
    if not value:
        return stored
    if value.startswith(SECRET_PREFIX):
        return {"secret": value[len(SECRET_PREFIX) :].strip()}
    return encrypt_credential(value)


class ProviderForm(_BlockForm):
    """OpenAI, Google Content Safety or Zentropi."""

    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        assume_scheme="https",
        help_text="Empty: the provider's public endpoint. Replaces it from the version segment "
        "on, e.g. http://127.0.0.1:9000/v1 for a proxy or a test server.",
    )
    labeler_versions = forms.CharField(
        label="Labeler versions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: the labeler version id, a space, then its name. A rule's "
        "ZENTROPI_LABELER condition names one as its subcategory.",
    )

    def __init__(self, provider: str, block: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self.provider = provider
        self.prefix_path = provider
        self.file_keys = {
            "api_key": "apiKey",
            "base_url": "baseUrl",
            "labeler_versions": "labelerVersions",
            **LIMIT_KEYS,
        }
        self.block = block
        current = block.get(provider) or {}
        initial = {
            "base_url": current.get("baseUrl") or "",
            "labeler_versions": "\n".join(
                f"{v['id']} {v['name']}" for v in current.get("labelerVersions") or []
            ),
            **{name: current[key] for name, key in LIMIT_KEYS.items() if key in current},
        }
        super().__init__(*args, initial=initial, prefix=provider, **kwargs)
        self.fields.update(_limit_fields(provider))
        self.fields["api_key"].help_text = (
            "Leave blank to keep the current key. Paste a key to store it encrypted, or type "
            "!secret SECRET_NAME to read it from that environment variable."
        )
        if provider != integrations.ZENTROPI:
            del self.fields["labeler_versions"]

    def clean_labeler_versions(self) -> list[dict[str, str]]:
        versions = []
        for number, line in enumerate(self.cleaned_data["labeler_versions"].splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                raise forms.ValidationError(
                    f"Line {number}: write the labeler version id, a space, then its name."
                )
            versions.append({"id": parts[0], "name": parts[1].strip()})
        return versions

    def describe(self, rest: str, message: str) -> str:
        if rest == "apiKey" and message == "is required":
            return "Enter the API key: none is stored yet."
        if rest.startswith("labelerVersions["):
            index = int(rest.split("[", 1)[1].split("]", 1)[0])
            return f"Line {self._line_of(index)}: {message}"
        return message

    def _line_of(self, index: int) -> int:
        """The textarea line of the `index`-th labeler version (blank lines are skipped)."""
        text = self.data.get(self.add_prefix("labeler_versions"), "")
        lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        return lines[index] if index < len(lines) else index + 1

    def new_block(self) -> dict[str, Any]:
        """The whole block with this provider as the form sets it."""
        current = self.block.get(self.provider) or {}
        data = self.cleaned_data
        provider: dict[str, Any] = {
            "baseUrl": data["base_url"] or None,
            **self.limits(),
        }
        key = _credential(data["api_key"], current.get("apiKey"))
        if key is not None:
            provider = {"apiKey": key, **provider}
        if self.provider == integrations.ZENTROPI:
            provider["labelerVersions"] = data["labeler_versions"]
        return {**self.block, self.provider: provider}


def _headers_text(headers: dict[str, Any]) -> str:
    lines = []
    for name, value in headers.items():
        shown = f"{SECRET_PREFIX}{value['secret']}" if isinstance(value, dict) else value
        lines.append(f"{name}: {shown}")
    return "\n".join(lines)


class HttpSignalForm(_BlockForm):
    """One HTTP signal (create, or edit the one named `signal_id`)."""

    id = forms.CharField(
        label="Id",
        max_length=64,
        help_text="What a rule's HTTP_SIGNAL condition names as its subcategory. Letters, "
        "digits, '_', '-' or '.'.",
    )
    name = forms.CharField(label="Name", max_length=200)
    url = forms.URLField(
        label="URL",
        assume_scheme="https",
        help_text='Coop POSTs the signed item and input here and reads {"score": …}.',
    )
    output = forms.ChoiceField(
        label="The model answers",
        choices=[("NUMBER", "A number (compared with a threshold)"), ("BOOLEAN", "true or false")],
    )
    headers = forms.CharField(
        label="Headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line, Name: value. Write the value as !secret SECRET_NAME to read it "
        "from that environment variable when sending.",
    )

    def __init__(
        self, block: dict[str, Any], signal_id: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        self.block = block
        self.signal_id = signal_id
        signals = block.get("httpSignals") or []
        self.index = next((i for i, s in enumerate(signals) if s["id"] == signal_id), len(signals))
        self.prefix_path = f"httpSignals[{self.index}]"
        self.file_keys = {
            "id": "id",
            "name": "name",
            "url": "url",
            "output": "output",
            "headers": "headers",
            **LIMIT_KEYS,
        }
        current = signals[self.index] if self.index < len(signals) else {}
        initial = {
            "id": current.get("id", ""),
            "name": current.get("name", ""),
            "url": current.get("url", ""),
            "output": current.get("output", "NUMBER"),
            "headers": _headers_text(current.get("headers") or {}),
            **{name: current[key] for name, key in LIMIT_KEYS.items() if key in current},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields.update(_limit_fields(integrations.HTTP_SIGNALS))
        if signal_id is not None:
            del self.fields["id"]

    def clean_headers(self) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(f"Line {number}: write Name: value.")
            value = value.strip()
            if value.startswith(SECRET_PREFIX):
                headers[name.strip()] = {"secret": value[len(SECRET_PREFIX) :].strip()}
            else:
                headers[name.strip()] = value
        return headers

    def new_block(self) -> dict[str, Any]:
        data = self.cleaned_data
        signal = {
            "id": self.signal_id if self.signal_id is not None else data["id"],
            "name": data["name"],
            "url": data["url"],
            "headers": data["headers"],
            "output": data["output"],
            **self.limits(),
        }
        signals = list(self.block.get("httpSignals") or [])
        signals[self.index : self.index + 1] = [signal]
        return {**self.block, "httpSignals": signals}
