"""The `integrations:` block (config.md): its defaults, a typed reader, and the signals it enables.

OrgSettings.data["integrations"] holds the block exactly as the configuration file spells it
(validated and with defaults filled in by coop.config's schema, which takes its defaults from
here). Everything at run time reads it through `integrations_config()`; the configuration
validator builds the same `IntegrationsConfig` from the file's desired state
(`from_block`) so a rule is checked against the integrations it will run with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from coop.catalog.org_settings import stored_data
from coop.signals.registry import OutputType, SignalRegistry, SignalSpec, SubcategoryMode

OPENAI = "openai"
GOOGLE = "googleContentSafety"
ZENTROPI = "zentropi"
HTTP_SIGNALS = "httpSignals"
PROVIDERS = (OPENAI, GOOGLE, ZENTROPI)
LABELS = {
    OPENAI: "OpenAI",
    GOOGLE: "Google Content Safety",
    ZENTROPI: "Zentropi",
    HTTP_SIGNALS: "HTTP signals",
}
# The providers' public endpoints up to their version segment; `baseUrl` replaces this part.
PUBLIC_BASE_URLS = {
    OPENAI: "https://api.openai.com/v1",
    GOOGLE: "https://contentsafety.googleapis.com/v1beta1",
    ZENTROPI: "https://api.zentropi.ai/v1",
}
# Per attempt; Google's includes nothing of the image download (COOP_MEDIA_TIMEOUT bounds it).
DEFAULT_TIMEOUT_MS = {OPENAI: 5000, GOOGLE: 10000, ZENTROPI: 5000, HTTP_SIGNALS: 5000}
DEFAULT_CONCURRENCY = 8  # calls in flight at once per integration, per process
DEFAULT_CACHE_TTL_SECONDS = 300  # how long an answer for one value is reused
TIMEOUT_RANGE_MS = (100, 60_000)
CONCURRENCY_RANGE = (1, 64)
CACHE_TTL_RANGE = (0, 86_400)
HTTP_OUTPUTS = (OutputType.NUMBER.value, OutputType.BOOLEAN.value)


def limit_defaults(integration: str) -> dict[str, int]:
    """The keys every integration (and every HTTP signal) has, with their defaults."""
    return {
        "timeoutMs": DEFAULT_TIMEOUT_MS[integration],
        "concurrency": DEFAULT_CONCURRENCY,
        "cacheTtlSeconds": DEFAULT_CACHE_TTL_SECONDS,
    }


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds, per attempt
    concurrency: int
    cache_ttl: float  # seconds; 0: answers are shared within one evaluation only


@dataclass(frozen=True)
class Provider:
    """One configured provider (OpenAI, Google Content Safety or Zentropi)."""

    key: str  # OPENAI | GOOGLE | ZENTROPI
    api_key: dict[str, str]  # the stored credential (coop.catalog.credentials)
    base_url: str  # the public endpoint or the configured `baseUrl`, without a trailing /
    limits: Limits
    labeler_versions: tuple[tuple[str, str], ...] = ()  # Zentropi: (id, name)
    fingerprint: str = ""  # changes whenever any of the above does (cache keys)

    @property
    def label(self) -> str:
        return LABELS[self.key]


@dataclass(frozen=True)
class HttpSignal:
    """One configured HTTP signal (`HTTP_SIGNAL` with this id as subcategory)."""

    id: str
    name: str
    url: str
    headers: dict[str, Any]  # values: strings or {"secret": NAME}
    output: OutputType
    limits: Limits
    fingerprint: str = ""

    @property
    def key(self) -> str:
        """Its name in status rows, limits and caches."""
        return f"{HTTP_SIGNALS}:{self.id}"

    @property
    def label(self) -> str:
        return f"HTTP signal {self.name}"


@dataclass(frozen=True)
class IntegrationsConfig:
    providers: dict[str, Provider]  # only the configured ones
    http_signals: dict[str, HttpSignal]  # by id, in file order

    def provider(self, key: str) -> Provider | None:
        return self.providers.get(key)


def _fingerprint(block: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()[:16]


def _limits(block: dict[str, Any], integration: str) -> Limits:
    merged = {**limit_defaults(integration), **block}
    return Limits(
        timeout=merged["timeoutMs"] / 1000,
        concurrency=merged["concurrency"],
        cache_ttl=float(merged["cacheTtlSeconds"]),
    )


def from_block(block: dict[str, Any] | None) -> IntegrationsConfig:
    """The typed form of a stored (canonical) `integrations` block; None: nothing configured."""
    block = block if isinstance(block, dict) else {}
    providers: dict[str, Provider] = {}
    for key in PROVIDERS:
        given = block.get(key)
        if not isinstance(given, dict) or not given.get("apiKey"):
            continue
        providers[key] = Provider(
            key=key,
            api_key=given["apiKey"],
            base_url=(given.get("baseUrl") or PUBLIC_BASE_URLS[key]).rstrip("/"),
            limits=_limits(given, key),
            labeler_versions=tuple(
                (v["id"], v["name"]) for v in given.get("labelerVersions") or ()
            ),
            fingerprint=_fingerprint(given),
        )
    signals: dict[str, HttpSignal] = {}
    for given in block.get(HTTP_SIGNALS) or ():
        signals[given["id"]] = HttpSignal(
            id=given["id"],
            name=given["name"],
            url=given["url"],
            headers=dict(given.get("headers") or {}),
            output=OutputType(given.get("output") or OutputType.NUMBER),
            limits=_limits(given, HTTP_SIGNALS),
            fingerprint=_fingerprint(given),
        )
    return IntegrationsConfig(providers, signals)


def integrations_config(data: dict[str, Any] | None = None) -> IntegrationsConfig:
    """The integrations in force (`data`: OrgSettings.data when the caller already read it)."""
    return from_block((stored_data() if data is None else data).get("integrations"))


def configured_registry(base: SignalRegistry, config: IntegrationsConfig) -> SignalRegistry:
    """`base` with the signals of the configured integrations enabled: HTTP_SIGNAL's
    subcategory must name a configured HTTP signal, ZENTROPI_LABELER's a labeler version."""
    return base.with_specs(
        _configured(spec, config) for spec in base if spec.integration is not None
    )


def _configured(spec: SignalSpec, config: IntegrationsConfig) -> SignalSpec:
    if spec.integration == HTTP_SIGNALS:
        if not config.http_signals:
            return spec
        return replace(
            spec,
            enabled=True,
            disabled_reason="",
            subcategory_mode=SubcategoryMode.CHOICE,
            subcategories=tuple(config.http_signals),
            subcategory_outputs=tuple(
                (s.id, s.output) for s in config.http_signals.values() if s.output != spec.output
            ),
        )
    provider = config.provider(spec.integration or "")
    if provider is None:
        return spec
    if provider.key == ZENTROPI:
        if not provider.labeler_versions:
            return replace(
                spec,
                disabled_reason="no Zentropi labeler version is configured "
                "(integrations.zentropi.labelerVersions)",
            )
        return replace(
            spec,
            enabled=True,
            disabled_reason="",
            subcategory_mode=SubcategoryMode.CHOICE,
            subcategories=tuple(version for version, _ in provider.labeler_versions),
        )
    return replace(spec, enabled=True, disabled_reason="")
