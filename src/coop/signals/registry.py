"""Declarations of the signals a condition leaf can use (spec: rules.md, signals).

Pure Python: the rule validator and the evaluator read these declarations, and this module also
defines how a signal is run (`SignalCall` in, `SignalOutput` out). Plugins add signals through
the entry-point group `coop.signals`; an entry point may name a `PluginSignal` (declaration and
implementation), a bare `SignalSpec` (declared only: it errs when run), an iterable of those, or
a callable returning any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "coop.signals"

# Input types a signal may accept besides the scalar field types (coop.core.field_types.FieldType).
USER = "USER"  # AUTHOR, or ITEM when the item is a USER
FULL_ITEM = "FULL_ITEM"
ANY_INPUT = "*"  # accepts every input type (HTTP signals)


class OutputType(StrEnum):
    BOOLEAN = "BOOLEAN"
    NUMBER = "NUMBER"
    ORDERED_ENUM = "ORDERED_ENUM"
    STRING = "STRING"


class SubcategoryMode(StrEnum):
    NONE = "NONE"  # the leaf must not set `subcategory`
    CHOICE = "CHOICE"  # one of `subcategories`
    FREE = "FREE"  # a required free-form id (e.g. a Zentropi labeler version)


class ValueKind(StrEnum):
    """What inline `values` of a leaf are, so they can be checked when the rule is saved."""

    TEXT = "TEXT"
    REGEX = "REGEX"
    LOCATION = "LOCATION"


@dataclass(frozen=True)
class SignalSpec:
    id: str
    name: str
    description: str
    input_types: frozenset[str]
    output: OutputType
    cost: int
    # ORDERED_ENUM outputs: the values, lowest rank first.
    enum_values: tuple[str, ...] = ()
    # NUMBER outputs bounded like a score (0..1); None = unbounded (e.g. a strike total).
    output_range: tuple[float, float] | None = None
    needs_values: bool = False
    value_kind: ValueKind | None = None  # None: inline values are not accepted
    bank_kinds: frozenset[str] = frozenset()  # bank kinds accepted in `banks`
    subcategory_mode: SubcategoryMode = SubcategoryMode.NONE
    subcategories: tuple[str, ...] = ()
    allowed_in_automated_rules: bool = True
    enabled: bool = True
    disabled_reason: str = ""
    options: frozenset[str] = frozenset()  # extra leaf keys, e.g. `substring`
    plugin: str | None = None  # the distribution that declared it
    # The integration whose configuration enables it (config.md `integrations:`), if any.
    integration: str | None = None
    # Subcategories whose output differs from `output` (an HTTP signal answering booleans).
    subcategory_outputs: tuple[tuple[str, OutputType], ...] = ()
    # Recommended thresholds for `≥`, (high precision, high recall), as the reference Coop
    # declares them for its classifiers; offered by the condition builder. None: no basis.
    recommended_thresholds: tuple[float, float] | tuple[str, str] | None = None

    def accepts(self, input_type: str) -> bool:
        return ANY_INPUT in self.input_types or input_type in self.input_types

    def output_for(self, subcategory: str | None) -> OutputType:
        """The output type of a leaf using this signal with `subcategory`."""
        return dict(self.subcategory_outputs).get(subcategory or "", self.output)


@dataclass(frozen=True, slots=True)
class SignalCall:
    """One run of a signal on one input value, with the leaf's matching configuration.

    `values_key` is a hashable form of `values` (locations are dicts), for caches of compiled
    values; `item` is the evaluator's `Item`, for FULL_ITEM signals and plugins that need
    context.
    """

    value: object
    input_type: str
    values: tuple[object, ...] = ()
    values_key: Hashable = ()
    banks: tuple[str, ...] = ()
    subcategory: str | None = None
    substring: bool = False
    item: object = None


@dataclass(frozen=True, slots=True)
class Matched:
    """What produced the score: a value or bank entry, and where it matched in a text."""

    entry: object
    bank: str | None = None
    span: tuple[int, int] | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SignalOutput:
    score: bool | int | float | str
    matched: Matched | None = None


# Raises on failure: the evaluator turns any exception into an ERRORED leaf.
SignalFunction = Callable[[SignalCall], SignalOutput]


@dataclass(frozen=True)
class PluginSignal:
    """What a plugin's entry point provides: the declaration and the implementation."""

    spec: SignalSpec
    run: SignalFunction


class SignalRegistry:
    """All known signals by id. Built-ins first, then plugins (which cannot replace built-ins).

    Plugin implementations are kept with their declarations; built-in implementations need
    banks and other resources, so a provider (`coop.signals.builtin.LocalSignalProvider`)
    attaches them.
    """

    def __init__(self, specs: Iterable[SignalSpec] = ()) -> None:
        self._specs: dict[str, SignalSpec] = {}
        self._runs: dict[str, SignalFunction] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: SignalSpec, run: SignalFunction | None = None) -> None:
        if spec.id in self._specs:
            raise ValueError(f"signal {spec.id!r} is already registered")
        self._specs[spec.id] = spec
        if run is not None:
            self._runs[spec.id] = run

    def get(self, signal_id: str) -> SignalSpec | None:
        return self._specs.get(signal_id)

    def implementation(self, signal_id: str) -> SignalFunction | None:
        return self._runs.get(signal_id)

    def __contains__(self, signal_id: object) -> bool:
        return signal_id in self._specs

    def __iter__(self) -> Iterator[SignalSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def with_specs(self, specs: Iterable[SignalSpec]) -> SignalRegistry:
        """A copy in which each of `specs` replaces the declaration of the same id (e.g. an
        integration's signals enabled once it is configured); implementations are kept."""
        copy = SignalRegistry()
        copy._specs, copy._runs = dict(self._specs), dict(self._runs)
        for spec in specs:
            if spec.id not in copy._specs:
                raise KeyError(f"signal {spec.id!r} is not registered")
            copy._specs[spec.id] = spec
        return copy


_TEXT_INPUTS = frozenset({"STRING"})
_SCORE = (0.0, 1.0)
_LIKELIHOOD = ("VERY_LOW", "LOW", "MEDIUM", "HIGH", "VERY_HIGH")

# OpenAI moderation categories exposed as signals: (id part, display name, text, image).
OPENAI_CATEGORIES: tuple[tuple[str, str, bool, bool], ...] = (
    ("HATE", "Hate", True, False),
    ("HATE_THREATENING", "Hate (threatening)", True, False),
    ("SELF_HARM", "Self-harm", True, True),
    ("SELF_HARM_INTENT", "Self-harm intent", True, True),
    ("SELF_HARM_INSTRUCTIONS", "Self-harm instructions", True, True),
    ("SEXUAL", "Sexual", True, True),
    ("SEXUAL_MINORS", "Sexual (minors)", True, False),
    ("VIOLENCE", "Violence", True, True),
    ("GRAPHIC_VIOLENCE", "Graphic violence", True, True),
)


def _needs_credentials(integration: str) -> str:
    return f"the {integration} integration is not configured (no credentials)"


def _builtin_specs() -> list[SignalSpec]:
    def text_match(signal_id: str, name: str, description: str) -> SignalSpec:
        return SignalSpec(
            id=signal_id,
            name=name,
            description=description,
            input_types=frozenset({"STRING", "ID"}),
            output=OutputType.BOOLEAN,
            cost=1,
            needs_values=True,
            value_kind=ValueKind.TEXT,
            bank_kinds=frozenset({"TEXT"}),
            options=frozenset({"substring"}),
        )

    def regex_match(signal_id: str, name: str, description: str) -> SignalSpec:
        return SignalSpec(
            id=signal_id,
            name=name,
            description=description,
            input_types=_TEXT_INPUTS,
            output=OutputType.BOOLEAN,
            cost=2,
            needs_values=True,
            value_kind=ValueKind.REGEX,
            bank_kinds=frozenset({"REGEX"}),
        )

    def image_match(signal_id: str, name: str, description: str) -> SignalSpec:
        return SignalSpec(
            id=signal_id,
            name=name,
            description=description,
            input_types=frozenset({"IMAGE"}),
            output=OutputType.BOOLEAN,
            cost=10,
            needs_values=True,
            bank_kinds=frozenset({"HASH"}),
        )

    specs = [
        text_match(
            "TEXT_MATCHING_CONTAINS_TEXT",
            "Contains text",
            "Case-insensitive whole-word match of any value (substring with `substring: true`).",
        ),
        text_match(
            "TEXT_MATCHING_NOT_CONTAINS_TEXT",
            "Does not contain text",
            "Passes when no value matches (whole words unless `substring: true`).",
        ),
        regex_match(
            "TEXT_MATCHING_CONTAINS_REGEX",
            "Contains regex",
            "Case-insensitive RE2 search for any pattern.",
        ),
        regex_match(
            "TEXT_MATCHING_NOT_CONTAINS_REGEX",
            "Does not contain regex",
            "Passes when no RE2 pattern is found.",
        ),
        SignalSpec(
            id="TEXT_MATCHING_CONTAINS_VARIANT",
            name="Contains variant",
            description="Evasion-resistant match (homoglyphs, leetspeak, separators, repeats).",
            input_types=_TEXT_INPUTS,
            output=OutputType.BOOLEAN,
            cost=3,
            needs_values=True,
            value_kind=ValueKind.TEXT,
            bank_kinds=frozenset({"TEXT"}),
        ),
        SignalSpec(
            id="TEXT_SIMILARITY_SCORE",
            name="Text similarity score",
            description="Best fuzzy similarity (0..1) of the text to any value.",
            input_types=_TEXT_INPUTS,
            output=OutputType.NUMBER,
            output_range=_SCORE,
            cost=5,
            needs_values=True,
            value_kind=ValueKind.TEXT,
            bank_kinds=frozenset({"TEXT"}),
        ),
        SignalSpec(
            id="GEO_CONTAINED_WITHIN",
            name="Is location in",
            description="The geohash lies inside any of the locations.",
            input_types=frozenset({"GEOHASH"}),
            output=OutputType.BOOLEAN,
            cost=2,
            needs_values=True,
            value_kind=ValueKind.LOCATION,
            bank_kinds=frozenset({"LOCATION"}),
        ),
        image_match(
            "IMAGE_SIMILARITY_MATCH",
            "Image matches hash bank",
            "The image's PDQ hash is within the bank's distance threshold of a banked hash.",
        ),
        image_match(
            "IMAGE_SIMILARITY_DOES_NOT_MATCH",
            "Image does not match hash bank",
            "No banked hash is within the bank's distance threshold of the image's PDQ hash.",
        ),
        SignalSpec(
            id="USER_STRIKE_VALUE",
            name="User strikes",
            description="The user's current (unexpired) strike total.",
            input_types=frozenset({USER}),
            output=OutputType.NUMBER,
            cost=5,
        ),
    ]
    for part, label, text, image in OPENAI_CATEGORIES:
        for enabled_for, kind, input_type in ((text, "TEXT", "STRING"), (image, "IMAGE", "IMAGE")):
            if enabled_for:
                specs.append(
                    SignalSpec(
                        id=f"OPEN_AI_{part}_{kind}_MODEL",
                        name=f"OpenAI {label} {kind.lower()} score",
                        description=f"OpenAI moderation score (0..1) for {label.lower()}.",
                        input_types=frozenset({input_type}),
                        output=OutputType.NUMBER,
                        output_range=_SCORE,
                        cost=20,
                        recommended_thresholds=(0.95, 0.90),
                        enabled=False,
                        disabled_reason=_needs_credentials("OpenAI"),
                        integration="openai",
                    )
                )
    specs += [
        SignalSpec(
            id="GOOGLE_CONTENT_SAFETY_API_IMAGE",
            name="Google Content Safety API (image)",
            description="Google's likelihood that the image is abusive, VERY_LOW to VERY_HIGH.",
            input_types=frozenset({"IMAGE"}),
            output=OutputType.ORDERED_ENUM,
            enum_values=_LIKELIHOOD,
            cost=20,
            recommended_thresholds=("VERY_HIGH", "MEDIUM"),
            allowed_in_automated_rules=False,
            enabled=False,
            disabled_reason=_needs_credentials("Google Content Safety"),
            integration="googleContentSafety",
        ),
        SignalSpec(
            id="ZENTROPI_LABELER",
            name="Zentropi labeler",
            description="Score (0..1) of a Zentropi labeler; the subcategory is its version id.",
            input_types=_TEXT_INPUTS,
            output=OutputType.NUMBER,
            output_range=_SCORE,
            cost=20,
            recommended_thresholds=(0.8, 0.6),
            subcategory_mode=SubcategoryMode.FREE,
            enabled=False,
            disabled_reason=_needs_credentials("Zentropi"),
            integration="zentropi",
        ),
        SignalSpec(
            id="HTTP_SIGNAL",
            name="HTTP signal",
            description="A deployer's own model behind an HTTP endpoint; the subcategory names it.",
            input_types=frozenset({ANY_INPUT}),
            output=OutputType.NUMBER,
            cost=30,
            subcategory_mode=SubcategoryMode.FREE,
            enabled=False,
            disabled_reason="no HTTP signal endpoint is configured",
            integration="httpSignals",
        ),
    ]
    return specs


def _plugin_signals(loaded: object, plugin: str) -> list[tuple[SignalSpec, SignalFunction | None]]:
    single = (SignalSpec, PluginSignal)
    if callable(loaded) and not isinstance(loaded, single):
        loaded = loaded()
    items = [loaded] if isinstance(loaded, single) else list(loaded)  # type: ignore[call-overload]
    signals: list[tuple[SignalSpec, SignalFunction | None]] = []
    for item in items:
        if isinstance(item, PluginSignal) and isinstance(item.spec, SignalSpec):
            spec, run = item.spec, item.run
        elif isinstance(item, SignalSpec):
            spec, run = item, None
        else:
            raise TypeError("entry point must provide PluginSignal or SignalSpec objects")
        signals.append((spec if spec.plugin else replace(spec, plugin=plugin), run))
    return signals


def build_registry(
    discover: Callable[[], Iterable[object]] | None = None,
) -> SignalRegistry:
    """Built-ins plus plugin signals. A broken plugin is logged and skipped, never fatal."""
    registry = SignalRegistry(_builtin_specs())
    points = discover() if discover else entry_points(group=ENTRY_POINT_GROUP)
    for point in points:
        name = getattr(point, "name", repr(point))
        try:
            dist = getattr(getattr(point, "dist", None), "name", None) or name
            for spec, run in _plugin_signals(point.load(), dist):  # type: ignore[attr-defined]
                registry.register(spec, run)
        except Exception:
            logger.exception("could not load signal plugin %s", name)
    return registry


@cache
def default_registry() -> SignalRegistry:
    """The process-wide registry (plugins are discovered once)."""
    return build_registry()
