"""The local built-in signals (pure Python) and a provider combining them with plugins.

`LocalSignalProvider` is the evaluator's `SignalProvider`: declarations come from a registry
(built-ins and plugins), implementations from the built-ins bound to `Resources` (compiled
banks, strike totals) or from the plugin that declared the signal. The Django-backed provider
is `coop.rules.banks.DatabaseSignalProvider`.
"""

from __future__ import annotations

from coop.signals.builtin.resources import (
    BankData,
    BankLoader,
    BankUnavailable,
    CompiledBanks,
    ExternalHash,
    ExternalMatch,
    HashBank,
)
from coop.signals.builtin.signals import Resources, builtin_signals
from coop.signals.registry import SignalFunction, SignalRegistry, SignalSpec

__all__ = [
    "BankData",
    "BankLoader",
    "BankUnavailable",
    "CompiledBanks",
    "ExternalHash",
    "ExternalMatch",
    "HashBank",
    "LocalSignalProvider",
    "Resources",
    "builtin_signals",
]


class LocalSignalProvider:
    def __init__(
        self,
        registry: SignalRegistry,
        resources: Resources,
        max_text_chars: int | None = None,
    ) -> None:
        self.registry = registry
        self.resources = resources
        self._builtins = builtin_signals(resources, max_text_chars)

    def get(self, signal_id: str) -> SignalSpec | None:
        return self.registry.get(signal_id)

    def implementation(self, signal_id: str) -> SignalFunction | None:
        run = self._builtins.get(signal_id)
        return run if run is not None else self.registry.implementation(signal_id)
