"""A third-party signal plugin, as a distribution would ship it (installed by test_plugins.py).

Its distribution declares `[coop.signals] acme = coop_acme_signals:signals`.
"""

from __future__ import annotations

from coop.signals.registry import (
    Matched,
    OutputType,
    PluginSignal,
    SignalCall,
    SignalOutput,
    SignalSpec,
)

SHOUTING = SignalSpec(
    id="ACME_SHOUTING",
    name="Acme shouting score",
    description="Share (0..1) of the letters of a text that are capitals.",
    input_types=frozenset({"STRING"}),
    output=OutputType.NUMBER,
    output_range=(0.0, 1.0),
    cost=1,
)


def shouting(call: SignalCall) -> SignalOutput:
    letters = [char for char in str(call.value) if char.isalpha()]
    if not letters:
        return SignalOutput(0.0)
    capitals = [char for char in letters if char.isupper()]
    return SignalOutput(len(capitals) / len(letters), Matched("".join(capitals)))


def signals() -> list[PluginSignal]:
    return [PluginSignal(SHOUTING, shouting)]
