"""Finding a rule's remote calls before its evaluation (coop.rules.prefetch; pure Python,
fake signals): rounds of dry evaluation make exactly the calls a direct evaluation makes, and
replaying their answers gives the same results without calling anything."""

from __future__ import annotations

import pytest

from coop.rules.conditions import parse_condition
from coop.rules.evaluator import EvaluationContext, Item, compile_condition, evaluate, item_schema
from coop.rules.prefetch import Recorder, Remote, Replayer
from coop.signals.registry import OutputType, SignalOutput
from rules.test_evaluator import FakeProvider, spec

SCHEMA = item_schema(
    [
        {"name": "text", "type": "STRING"},
        {"name": "tags", "type": "ARRAY", "items": "STRING"},
        {"name": "title", "type": "STRING"},
        {"name": "labels", "type": "ARRAY", "items": "STRING"},
    ]
)


def remote_provider(scores: dict[str, float]) -> FakeProvider:
    """CLASSIFY (remote, concurrent cost), SLOW (remote, sequential cost), WORD (local)."""
    provider = FakeProvider()
    score = lambda call: SignalOutput(scores.get(call.value, 0.0))  # noqa: E731
    provider.add(spec("CLASSIFY", OutputType.NUMBER, cost=20), score)
    provider.add(spec("SLOW", OutputType.NUMBER, cost=5), score)
    provider.add(spec("WORD"), lambda call: SignalOutput("word" in call.value))
    return provider


def remote(signal_id: str) -> Remote | None:
    return Remote.THREADED if signal_id in {"CLASSIFY", "SLOW"} else None


def leaf(signal: str, field: str = "text", threshold: float = 0.5) -> dict:
    return {
        "input": {"field": field},
        "signal": signal,
        "comparator": "GREATER_THAN",
        "threshold": threshold,
    }


RULES = {
    "all": {"all": [leaf("CLASSIFY"), leaf("CLASSIFY", "tags")]},
    "all-title": {"all": [leaf("CLASSIFY", "title"), leaf("CLASSIFY", "labels")]},
    "any": {"any": [leaf("CLASSIFY", "tags"), leaf("SLOW")]},
    "local-first": {"all": [{"input": {"field": "text"}, "signal": "WORD"}, leaf("CLASSIFY")]},
    "sequential": {"any": [leaf("SLOW", "tags")]},
}


def compiled(provider):
    return {name: compile_condition(parse_condition(c)[0], provider) for name, c in RULES.items()}


def prefetch(provider, item: Item) -> tuple[dict, int]:
    """The answers of every call the rules reach, in rounds; and the number of rounds."""
    answers: dict = {}
    rules = compiled(provider)
    rounds = 0
    while True:
        recorder = Recorder(provider, remote, "item", answers)
        for condition in rules.values():
            recorder.next_rule()
            evaluate(condition, EvaluationContext(item, recorder, run_many=recorder.run_many))
        if not recorder.wanted:
            return answers, rounds
        rounds += 1
        for key, wanted in recorder.wanted.items():
            answers[key] = wanted.execute()


@pytest.mark.parametrize(
    "scores",
    [
        {},
        {"hello word": 0.9},
        {"hello word": 0.9, "b": 0.9},
        {"a": 0.9, "hello word": 0.1},
        {"b": 0.7, "c": 0.8},
        {"t": 0.9, "d": 0.6},
    ],
)
def test_the_calls_and_results_are_those_of_a_direct_evaluation(scores):
    data = {"text": "hello word", "tags": ["a", "b", "c"], "title": "t", "labels": ["a", "d"]}
    item = Item("p1", "post", "CONTENT", SCHEMA, data)
    direct_provider = remote_provider(scores)
    rules = compiled(direct_provider)
    direct = {
        name: evaluate(c, EvaluationContext(item, direct_provider)).to_dict()
        for name, c in rules.items()
    }
    provider = remote_provider(scores)
    answers, _ = prefetch(provider, item)
    # Each remote call the direct evaluation made, once (local signals run in every round).
    assert sorted(remote_calls(provider)) == sorted(set(remote_calls(direct_provider)))
    made = len(remote_calls(provider))
    replayer = Replayer(provider, remote, "item", answers)
    replayed = {
        name: evaluate(c, EvaluationContext(item, replayer)).to_dict()
        for name, c in compiled(provider).items()
    }
    assert len(remote_calls(provider)) == made  # replaying calls nothing remote
    assert not replayer.missing
    assert strip(replayed) == strip(direct)


@pytest.mark.parametrize(("title_score", "labels_asked"), [(0.9, True), (0.1, False)])
def test_a_leaf_reached_only_after_an_answer_is_asked_only_if_reached(title_score, labels_asked):
    data = {"text": "x", "tags": ["a"], "title": "t", "labels": ["l1", "l2"]}
    item = Item("p1", "post", "CONTENT", SCHEMA, data)
    provider = remote_provider({"t": title_score})
    prefetch(provider, item)  # `all`: the labels are classified once the title passed
    assert (("CLASSIFY", "l1") in provider.calls) is labels_asked
    assert (("CLASSIFY", "l2") in provider.calls) is labels_asked


def test_a_failure_is_replayed_as_the_same_error():
    provider = FakeProvider()

    def down(call):
        raise ConnectionError("the classifier is down")

    provider.add(spec("CLASSIFY", OutputType.NUMBER, cost=20), down)
    item = Item("p1", "post", "CONTENT", SCHEMA, {"text": "hi"})
    condition = compile_condition(parse_condition(leaf("CLASSIFY"))[0], provider)
    recorder = Recorder(provider, remote, "item", {})
    evaluate(condition, EvaluationContext(item, recorder, run_many=recorder.run_many))
    answers = {key: wanted.execute() for key, wanted in recorder.wanted.items()}
    result = evaluate(
        condition, EvaluationContext(item, Replayer(provider, remote, "item", answers))
    )
    assert result.outcome == "ERRORED"
    assert result.to_dict()["error"] == "the classifier is down"


def test_a_call_not_fetched_is_missing_not_made():
    provider = remote_provider({})
    item = Item("p1", "post", "CONTENT", SCHEMA, {"text": "hi"})
    condition = compile_condition(parse_condition(leaf("CLASSIFY"))[0], provider)
    replayer = Replayer(provider, remote, "item", {})
    result = evaluate(condition, EvaluationContext(item, replayer))
    assert provider.calls == []
    assert result.outcome == "ERRORED"
    assert "was not fetched before the evaluation" in result.to_dict()["error"]
    assert [w.call.value for w in replayer.missing.values()] == ["hi"]


def remote_calls(provider: FakeProvider) -> list[tuple[str, object]]:
    return [(signal, value) for signal, value in provider.calls if remote(signal)]


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "durationUs"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node
