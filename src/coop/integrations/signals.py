"""The implementations of the integration signals, for the worker's signal provider.

`IntegrationSignals(config)` maps each signal id the configuration enables to a
`SignalFunction` (coop.signals.registry: a `SignalCall` in, a `SignalOutput` out, an exception
for an ERRORED leaf); `coop.rules.banks.DatabaseSignalProvider` asks it first and rebuilds it
whenever the configuration changes. The declarations stay pure (coop.signals.registry); only
the implementations, which call out, live here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from coop.integrations import providers
from coop.integrations.config import GOOGLE, OPENAI, ZENTROPI, IntegrationsConfig, Provider
from coop.signals.registry import SignalCall, SignalFunction, SignalOutput

GOOGLE_SIGNAL = "GOOGLE_CONTENT_SAFETY_API_IMAGE"
ZENTROPI_SIGNAL = "ZENTROPI_LABELER"
HTTP_SIGNAL = "HTTP_SIGNAL"


class IntegrationSignals:
    def __init__(self, config: IntegrationsConfig) -> None:
        self.config = config
        self._runs: dict[str, SignalFunction] = {}
        openai = config.provider(OPENAI)
        if openai is not None:
            for part, category in providers.OPENAI_CATEGORY_NAMES.items():
                for kind in ("TEXT", "IMAGE"):
                    self._runs[f"OPEN_AI_{part}_{kind}_MODEL"] = _openai(
                        openai, category, kind == "IMAGE"
                    )
        if config.provider(GOOGLE) is not None:
            self._runs[GOOGLE_SIGNAL] = self._google
        if config.provider(ZENTROPI) is not None:
            self._runs[ZENTROPI_SIGNAL] = self._zentropi
        if config.http_signals:
            self._runs[HTTP_SIGNAL] = self._http_signal

    def implementation(self, signal_id: str) -> SignalFunction | None:
        return self._runs.get(signal_id)

    @contextmanager
    def in_threads(self) -> Iterator[None]:
        """What calls made in threads without a database connection need, read now."""
        if not self.config.http_signals:
            yield
            return
        with providers.signing_in_threads():
            yield

    def _google(self, call: SignalCall) -> SignalOutput:
        provider = self.config.providers[GOOGLE]
        if not isinstance(call.value, str):
            raise TypeError(f"expected an image URL, got {type(call.value).__name__}")
        return SignalOutput(providers.google_priority(provider, call.value))

    def _zentropi(self, call: SignalCall) -> SignalOutput:
        provider = self.config.providers[ZENTROPI]
        labelers = dict(provider.labeler_versions)
        if call.subcategory not in labelers:
            raise LookupError(f"no Zentropi labeler version {call.subcategory!r} is configured")
        return SignalOutput(providers.zentropi_score(provider, call.subcategory, call.value))

    def _http_signal(self, call: SignalCall) -> SignalOutput:
        signal = self.config.http_signals.get(call.subcategory or "")
        if signal is None:
            raise LookupError(f"no HTTP signal {call.subcategory!r} is configured")
        return SignalOutput(providers.http_signal_score(signal, _item(call.item), call.value))


def _openai(provider: Provider, category: str, image: bool) -> SignalFunction:
    def run(call: SignalCall) -> SignalOutput:
        return SignalOutput(providers.openai_score(provider, category, call.value, image))

    return run


def _item(item: object) -> dict[str, Any]:
    """The item a signal runs on, as the HTTP signal's body names it: {id, typeId, data}."""
    wired = providers.wire_value(item)
    if not isinstance(wired, dict) or "data" not in wired:
        raise TypeError("an HTTP signal needs the item being evaluated")
    return wired
