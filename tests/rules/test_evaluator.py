"""Condition evaluation (pure Python, fake signals)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from coop.core.items import ItemRef
from coop.rules.conditions import parse_condition
from coop.rules.evaluator import (
    EvaluationContext,
    Item,
    Outcome,
    Routing,
    compile_condition,
    evaluate,
    item_schema,
    media_kind,
)
from coop.signals.registry import (
    USER,
    Matched,
    OutputType,
    SignalCall,
    SignalOutput,
    SignalSpec,
)


def spec(signal_id, output=OutputType.BOOLEAN, cost=1, inputs=("STRING",), **kwargs):
    return SignalSpec(
        id=signal_id,
        name=signal_id,
        description="",
        input_types=frozenset(inputs),
        output=output,
        cost=cost,
        **kwargs,
    )


class FakeProvider:
    def __init__(self):
        self.specs = {}
        self.runs = {}
        self.calls = []

    def add(self, signal_spec, run):
        self.specs[signal_spec.id] = signal_spec

        def counted(call):
            self.calls.append((signal_spec.id, call.value))
            return run(call)

        self.runs[signal_spec.id] = counted

    def get(self, signal_id):
        return self.specs.get(signal_id)

    def implementation(self, signal_id):
        return self.runs.get(signal_id)

    def count(self, signal_id):
        return sum(1 for s, _ in self.calls if s == signal_id)


def has_word(call: SignalCall) -> SignalOutput:
    for word in call.values:
        start = call.value.find(word)
        if start >= 0:
            return SignalOutput(True, Matched(word, None, (start, start + len(word)), word))
    return SignalOutput(False)


def boom(call: SignalCall) -> SignalOutput:
    raise RuntimeError("upstream timed out")


LIKELIHOOD = ("VERY_LOW", "LOW", "MEDIUM", "HIGH", "VERY_HIGH")


@pytest.fixture
def provider():
    p = FakeProvider()
    p.add(spec("HAS", inputs=("STRING", "GEOHASH", "IMAGE", "VIDEO")), has_word)
    p.add(spec("BOOM", cost=3), boom)
    p.add(spec("SCORE", OutputType.NUMBER, cost=2), lambda c: SignalOutput(len(c.value) / 100))
    p.add(
        spec("LIKELY", OutputType.ORDERED_ENUM, inputs=("IMAGE",), enum_values=LIKELIHOOD),
        lambda c: SignalOutput("HIGH" if "bad" in c.value else "LOW"),
    )
    p.add(spec("STRIKES", OutputType.NUMBER, cost=5, inputs=(USER,)), lambda c: SignalOutput(4))
    p.add(
        spec("WHOLE", OutputType.NUMBER, inputs=("FULL_ITEM",)),
        lambda c: SignalOutput(len(c.value.data)),
    )
    p.add(spec("GARBAGE"), lambda c: "not an output")
    p.add(spec("OFF", enabled=False, disabled_reason="no credentials"), has_word)
    p.specs["UNIMPLEMENTED"] = spec("UNIMPLEMENTED")
    return p


SCHEMA = item_schema(
    [
        {"name": "title", "type": "STRING"},
        {"name": "body", "type": "STRING"},
        {"name": "tags", "type": "ARRAY", "items": "STRING"},
        {"name": "labels", "type": "MAP", "values": "STRING"},
        {"name": "likes", "type": "NUMBER"},
        {"name": "ok", "type": "BOOLEAN"},
        {"name": "pic", "type": "IMAGE"},
        {"name": "media", "type": "ARRAY", "items": "MEDIA"},
        {"name": "clip", "type": "VIDEO"},
        {"name": "where", "type": "GEOHASH"},
        {"name": "author", "type": "RELATED_ITEM"},
        {"name": "empty", "type": "ARRAY", "items": "STRING"},
        {"name": "missing", "type": "STRING"},
        {"name": "posted", "type": "DATETIME"},
    ]
)
DATA = {
    "title": "Hello",
    "body": "buy cheap pills",
    "tags": ["spam", "ads"],
    "labels": {"a": "first", "b": "second"},
    "likes": 12,
    "ok": True,
    "pic": "https://cdn.example.com/a.png",
    "media": [
        "https://cdn.example.com/b.JPG?size=2",
        "https://cdn.example.com/c.mp4",
        "https://cdn.example.com/d.mp3",
    ],
    "clip": "https://cdn.example.com/e.webm",
    "where": "9q8yyk",
    "author": {"id": "u1", "typeId": "user"},
    "empty": [],
    "posted": "2024-05-01T10:00:00+00:00",
}
CREATOR = ItemRef("u1", "user")


def make_item(data=None, kind="CONTENT", creator=CREATOR, schema=SCHEMA):
    return Item("p1", "post", kind, schema, DATA if data is None else data, creator)


def run(condition, provider, item=None, routing=None):
    tree, errors = parse_condition(condition)
    assert not errors
    return evaluate(tree, EvaluationContext(item or make_item(), provider, routing))


def leaf(input_, **kwargs):
    return {"input": input_, **kwargs}


def field(name, **kwargs):
    return leaf({"field": name}, **kwargs)


# Inputs ---------------------------------------------------------------------------------------


def seen(provider, condition, item=None, routing=None):
    """The values the HAS signal was called with."""
    provider.calls.clear()
    run(condition, provider, item, routing)
    return [value for _, value in provider.calls]


def test_field_input_scalar_array_and_map(provider):
    assert seen(provider, field("title", signal="HAS", values=["zzz"])) == ["Hello"]
    assert seen(provider, field("tags", signal="HAS", values=["zzz"])) == ["spam", "ads"]
    assert seen(provider, field("labels", signal="HAS", values=["zzz"])) == ["first", "second"]


def test_all_text_joins_every_string_in_schema_order(provider):
    assert seen(provider, leaf("ALL_TEXT", signal="HAS", values=["zzz"])) == [
        "Hello\nbuy cheap pills\nspam\nads\nfirst\nsecond"
    ]


def test_any_image_video_geohash(provider):
    assert seen(provider, leaf("ANY_IMAGE", signal="HAS", values=["zzz"])) == [
        "https://cdn.example.com/a.png",
        "https://cdn.example.com/b.JPG?size=2",
    ]
    assert seen(provider, leaf("ANY_VIDEO", signal="HAS", values=["zzz"])) == [
        "https://cdn.example.com/c.mp4",
        "https://cdn.example.com/e.webm",
    ]
    assert seen(provider, leaf("ANY_GEOHASH", signal="HAS", values=["zzz"])) == ["9q8yyk"]


def test_media_kind_from_extension():
    assert media_kind("https://x.org/a/photo.JPEG#top") == "IMAGE"
    assert media_kind("https://x.org/v.mov?x=1.png") == "VIDEO"
    assert media_kind("https://x.org/song.mp3") is None
    assert media_kind("https://x.org/noext") is None


def test_author_item_and_full_item(provider):
    condition = leaf("AUTHOR", signal="STRIKES", comparator="GREATER_THAN", threshold=3)
    assert seen(provider, condition) == [CREATOR]
    assert run(condition, provider).outcome is Outcome.PASSED
    assert run(condition, provider, make_item(creator=None)).outcome is Outcome.INAPPLICABLE
    user = make_item(kind="USER", creator=None)
    condition = leaf("ITEM", signal="STRIKES", comparator="EQUALS", threshold=4)
    assert run(condition, provider, user).outcome is Outcome.PASSED
    # ITEM of a content item is a RELATED_ITEM, which the strike signal does not take.
    result = run(condition, provider)
    assert result.outcome is Outcome.ERRORED
    assert "does not accept RELATED_ITEM" in result.root.error
    whole = leaf("FULL_ITEM", signal="WHOLE", comparator="EQUALS", threshold=len(DATA))
    assert run(whole, provider).outcome is Outcome.PASSED


def test_routing_inputs(provider):
    routing = Routing(policy_ids=("spam", "scam"), source="REPORT")
    policy = leaf("RELEVANT_POLICY", comparator="EQUALS", threshold="scam")
    result = run(policy, provider, routing=routing)
    assert result.outcome is Outcome.PASSED
    assert result.root.matched.index == 1
    source = leaf("SOURCE", comparator="EQUALS", threshold="REPORT")
    assert run(source, provider, routing=routing).outcome is Outcome.PASSED
    assert run(source, provider).outcome is Outcome.INAPPLICABLE
    assert run(policy, provider, routing=Routing()).outcome is Outcome.INAPPLICABLE


def test_absent_empty_and_unknown_fields(provider):
    for name in ("missing", "empty"):
        assert run(field(name, signal="HAS", values=["x"]), provider).outcome is (
            Outcome.INAPPLICABLE
        )
        assert run(field(name, comparator="IS_NOT_PROVIDED"), provider).outcome is Outcome.PASSED
    assert run(field("title", comparator="IS_NOT_PROVIDED"), provider).outcome is Outcome.FAILED
    unknown = field("nope", comparator="IS_NOT_PROVIDED")
    assert run(unknown, provider).outcome is Outcome.INAPPLICABLE
    no_text = make_item({"likes": 1}, schema=item_schema([{"name": "likes", "type": "NUMBER"}]))
    assert run(leaf("ALL_TEXT", signal="HAS", values=["x"]), provider, no_text).outcome is (
        Outcome.INAPPLICABLE
    )
    assert run(leaf("ALL_TEXT", comparator="IS_NOT_PROVIDED"), provider, no_text).outcome is (
        Outcome.PASSED
    )


# Comparators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "threshold", "expected"),
    [
        ("EQUALS", 12, True),
        ("EQUALS", 12.0, True),
        ("NOT_EQUAL_TO", 12, False),
        ("LESS_THAN", 12, False),
        ("LESS_THAN", 12.5, True),
        ("LESS_THAN_OR_EQUALS", 12, True),
        ("GREATER_THAN", 11, True),
        ("GREATER_THAN", 12, False),
        ("GREATER_THAN_OR_EQUALS", 12, True),
        ("GREATER_THAN_OR_EQUALS", 13, False),
    ],
)
def test_numbers_compare_numerically(provider, comparator, threshold, expected):
    result = run(field("likes", comparator=comparator, threshold=threshold), provider)
    assert result.outcome is (Outcome.PASSED if expected else Outcome.FAILED)
    assert result.root.score == 12


def test_strings_booleans_and_enums(provider):
    assert run(field("title", comparator="EQUALS", threshold="Hello"), provider).passed
    assert run(field("title", comparator="GREATER_THAN", threshold="Alpha"), provider).passed
    assert run(
        field("posted", comparator="LESS_THAN", threshold="2025-01-01T00:00:00+00:00"), provider
    ).passed
    assert run(field("ok", comparator="EQUALS", threshold=True), provider).passed
    assert not run(field("ok", comparator="NOT_EQUAL_TO", threshold=True), provider).passed
    # Ordered enums compare by rank, not alphabetically ("HIGH" < "LOW" as strings).
    bad = make_item({**DATA, "pic": "https://x.org/bad.png", "media": []})
    enum_leaf = leaf("ANY_IMAGE", signal="LIKELY", comparator="GREATER_THAN", threshold="MEDIUM")
    assert run(enum_leaf, provider, bad).passed
    assert not run(enum_leaf, provider).passed
    equal = leaf("ANY_IMAGE", signal="LIKELY", comparator="LESS_THAN_OR_EQUALS", threshold="LOW")
    assert run(equal, provider).passed


def test_type_mismatches_are_errored_not_raised(provider):
    result = run(field("title", comparator="GREATER_THAN", threshold=3), provider)
    assert result.outcome is Outcome.ERRORED
    assert "cannot compare 'Hello' with 3" in result.root.error
    result = run(field("ok", comparator="EQUALS", threshold=1), provider)
    assert result.outcome is Outcome.ERRORED
    result = run(field("ok", comparator="GREATER_THAN", threshold=False), provider)
    assert result.outcome is Outcome.ERRORED
    unknown_rank = leaf("ANY_IMAGE", signal="LIKELY", comparator="EQUALS", threshold="HUGE")
    assert "cannot rank" in run(unknown_rank, provider).root.error
    no_comparator = field("title", signal="SCORE")
    assert "needs a comparator" in run(no_comparator, provider).root.error


def test_boolean_score_decides_without_comparator(provider):
    assert run(field("body", signal="HAS", values=["cheap"]), provider).passed
    result = run(field("body", signal="HAS", values=["free"]), provider)
    assert result.outcome is Outcome.FAILED
    assert result.root.score is False


def test_is_unavailable(provider):
    assert run(field("body", signal="BOOM", comparator="IS_UNAVAILABLE"), provider).passed
    for signal_id in ("OFF", "UNIMPLEMENTED", "NOPE", "GARBAGE"):
        result = run(field("body", signal=signal_id, comparator="IS_UNAVAILABLE"), provider)
        assert result.passed, signal_id
        assert result.root.error
    result = run(field("body", signal="HAS", values=["x"], comparator="IS_UNAVAILABLE"), provider)
    assert result.outcome is Outcome.FAILED
    # An absent input is inapplicable, not unavailable.
    result = run(field("missing", signal="BOOM", comparator="IS_UNAVAILABLE"), provider)
    assert result.outcome is Outcome.INAPPLICABLE


# Errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal_id", "message"),
    [
        ("BOOM", "upstream timed out"),
        ("OFF", "signal OFF is disabled: no credentials"),
        ("UNIMPLEMENTED", "signal UNIMPLEMENTED has no implementation"),
        ("NOPE", "unknown signal NOPE"),
        ("GARBAGE", "returned 'not an output'"),
    ],
)
def test_signal_failures_are_errored(provider, signal_id, message):
    result = run(field("body", signal=signal_id, values=["x"]), provider)
    assert result.outcome is Outcome.ERRORED
    assert message in result.root.error


def test_unknown_signal_costs_most(provider):
    tree, _ = parse_condition({"all": [field("body", signal="NOPE"), field("body", signal="BOOM")]})
    compiled = compile_condition(tree, provider)
    assert compiled.root.order == (1, 0)


# Multi-valued inputs --------------------------------------------------------------------------


def test_any_value_passes_and_records_which(provider):
    result = run(field("tags", signal="HAS", values=["ads"]), provider)
    assert result.passed
    matched = result.root.matched
    assert (matched.value, matched.index) == ("ads", 1)
    assert matched.matched.entry == "ads"
    assert result.to_dict()["matchedValue"] == {
        "value": "ads",
        "index": 1,
        "entry": "ads",
        "span": [0, 3],
        "text": "ads",
    }


def test_pass_wins_over_errors_of_other_values(provider):
    provider.add(
        spec("FLAKY", inputs=("STRING",)),
        lambda c: boom(c) if c.value == "spam" else SignalOutput(True),
    )
    assert run(field("tags", signal="FLAKY"), provider).passed
    provider.add(
        spec("FLAKY2", inputs=("STRING",)),
        lambda c: boom(c) if c.value == "spam" else SignalOutput(False),
    )
    result = run(field("tags", signal="FLAKY2"), provider)
    assert result.outcome is Outcome.ERRORED
    assert result.root.error == "upstream timed out"


def test_failed_not_contains_keeps_what_it_found(provider):
    provider.add(spec("LACKS"), lambda c: SignalOutput(not has_word(c).score, has_word(c).matched))
    result = run(field("body", signal="LACKS", values=["cheap"]), provider)
    assert result.outcome is Outcome.FAILED
    assert result.to_dict()["matchedValue"]["entry"] == "cheap"


# Sets -----------------------------------------------------------------------------------------

PASS = field("body", signal="HAS", values=["cheap"])
FAIL = field("body", signal="HAS", values=["free"])
NA = field("missing", signal="HAS", values=["x"])
ERR = field("body", signal="BOOM")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"all": []}, Outcome.PASSED),
        ({"any": []}, Outcome.FAILED),
        ({"xor": []}, Outcome.FAILED),
        ({"all": [PASS, PASS]}, Outcome.PASSED),
        ({"all": [PASS, NA]}, Outcome.FAILED),
        ({"all": [ERR, FAIL]}, Outcome.FAILED),
        ({"all": [ERR, PASS]}, Outcome.ERRORED),
        ({"any": [FAIL, NA]}, Outcome.FAILED),
        ({"any": [ERR, PASS]}, Outcome.PASSED),
        ({"any": [ERR, FAIL]}, Outcome.ERRORED),
        ({"xor": [PASS, FAIL]}, Outcome.PASSED),
        ({"xor": [PASS, PASS]}, Outcome.FAILED),
        ({"xor": [PASS, PASS, ERR]}, Outcome.FAILED),
        ({"xor": [PASS, ERR]}, Outcome.ERRORED),
        ({"xor": [FAIL, ERR]}, Outcome.ERRORED),
        ({"xor": [FAIL, NA]}, Outcome.FAILED),
        ({"any": [{"all": [PASS, FAIL]}, {"xor": [PASS, NA]}]}, Outcome.PASSED),
    ],
)
def test_set_logic(provider, condition, expected):
    assert run(condition, provider).outcome is expected


def test_leaves_report_inapplicable(provider):
    assert run(NA, provider).outcome is Outcome.INAPPLICABLE


def test_cheapest_first_and_skipped_children_logged(provider):
    # SCORE (cost 2) fails first, so BOOM (cost 3) never runs.
    condition = {
        "all": [ERR, field("body", signal="SCORE", comparator="GREATER_THAN", threshold=1)]
    }
    result = run(condition, provider)
    assert result.outcome is Outcome.FAILED
    assert provider.count("BOOM") == 0
    tree = result.to_dict()
    assert tree["children"][0] == {"input": {"field": "body"}, "signal": "BOOM", "skipped": True}
    assert tree["children"][1]["outcome"] == "FAILED"
    nested = run({"any": [{"all": [ERR]}, PASS]}, provider).to_dict()
    assert nested["children"][0] == {"op": "all", "skipped": True}


def test_nested_set_costs_the_sum_of_its_children(provider):
    tree, _ = parse_condition({"any": [{"all": [PASS, PASS, PASS, PASS]}, ERR]})
    compiled = compile_condition(tree, provider)
    assert compiled.root.children[0].cost == 4
    assert compiled.root.order == (1, 0)


# Memoisation ----------------------------------------------------------------------------------


def test_signal_memoised_per_item_across_rules(provider):
    context = EvaluationContext(make_item(), provider)
    same = [field("body", signal="HAS", values=["cheap"]) for _ in range(3)]
    for condition in [{"all": same}, same[0], {"any": same}]:
        tree, _ = parse_condition(condition)
        evaluate(tree, context)
    assert provider.count("HAS") == 1
    # Different values, input or options are different calls.
    for condition in [
        field("body", signal="HAS", values=["pills"]),
        field("title", signal="HAS", values=["cheap"]),
        leaf("ALL_TEXT", signal="HAS", values=["cheap"]),
    ]:
        tree, _ = parse_condition(condition)
        evaluate(tree, context)
    assert provider.count("HAS") == 4
    # A new item is a new context.
    evaluate(parse_condition(same[0])[0], EvaluationContext(make_item(), provider))
    assert provider.count("HAS") == 5


def test_failures_are_memoised_too(provider):
    context = EvaluationContext(make_item(), provider)
    for _ in range(2):
        evaluate(parse_condition(ERR)[0], context)
    assert provider.count("BOOM") == 1


# Concurrency hook -----------------------------------------------------------------------------


def test_expensive_signal_values_run_through_run_many(provider):
    threads = set()

    def classify(call):
        threads.add(threading.get_ident())
        return SignalOutput(0.9 if "c.mp4" in call.value else 0.1)

    provider.add(spec("CLASSIFY", OutputType.NUMBER, cost=20, inputs=("VIDEO",)), classify)
    batches = []
    with ThreadPoolExecutor(4) as pool:

        def run_many(tasks):
            batches.append(len(tasks))
            return list(pool.map(lambda task: task(), tasks))

        context = EvaluationContext(make_item(), provider, run_many=run_many)
        condition = leaf("ANY_VIDEO", signal="CLASSIFY", comparator="GREATER_THAN", threshold=0.5)
        result = evaluate(parse_condition(condition)[0], context)
    assert result.passed
    assert batches == [2]
    assert provider.count("CLASSIFY") == 2
    assert threading.get_ident() not in threads


# Result form ----------------------------------------------------------------------------------


def test_to_dict_is_json(provider):
    long_text = "x" * 2000 + " cheap"
    item = make_item({**DATA, "body": long_text, "likes": float("nan")})
    condition = {
        "all": [
            field("body", signal="HAS", values=["cheap"]),
            field("likes", comparator="NOT_EQUAL_TO", threshold=1),
            leaf("AUTHOR", signal="STRIKES", comparator="GREATER_THAN", threshold=1),
        ]
    }
    result = run(condition, provider, item)
    tree = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert tree["outcome"] == "PASSED"
    assert isinstance(tree["durationUs"], int)
    first, second, third = tree["children"]
    assert first["matchedValue"]["value"].endswith("…")
    assert len(first["matchedValue"]["value"]) == 501
    assert second["score"] == "nan"
    assert third["matchedValue"]["value"] == {"id": "u1", "typeId": "user"}
    assert result.duration_ns > 0
