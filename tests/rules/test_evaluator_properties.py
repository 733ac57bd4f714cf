"""Property tests of set logic: truth tables, cost order and short-circuit never change outcomes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coop.rules.conditions import ConditionSet, FieldInput, Leaf
from coop.rules.evaluator import (
    EvaluationContext,
    Item,
    Outcome,
    compile_condition,
    evaluate,
)
from coop.signals.registry import OutputType, SignalOutput, SignalSpec

OUTCOMES = list(Outcome)


class OutcomeProvider:
    """Signal OUT_<outcome>_<cost> yields that outcome for every input."""

    def get(self, signal_id):
        _, _, cost = signal_id.split(":")
        return SignalSpec(
            id=signal_id,
            name=signal_id,
            description="",
            input_types=frozenset({"STRING"}),
            output=OutputType.BOOLEAN,
            cost=int(cost),
        )

    def implementation(self, signal_id):
        _, outcome, _ = signal_id.split(":")

        def run(call):
            if outcome == "ERRORED":
                raise RuntimeError("boom")
            return SignalOutput(outcome == "PASSED")

        return run


ITEM = Item("1", "t", "CONTENT", {"text": ("STRING", None)}, {"text": "x"})


def make_leaf(outcome: Outcome, cost: int) -> Leaf:
    if outcome is Outcome.INAPPLICABLE:
        return Leaf(FieldInput("nope"), signal=f"OUT:PASSED:{cost}")
    return Leaf(FieldInput("text"), signal=f"OUT:{outcome}:{cost}")


def truth(outcome: Outcome) -> bool | None:
    return {Outcome.PASSED: True, Outcome.ERRORED: None}.get(outcome, False)


def reference(operator: str, values: list[bool | None]) -> bool | None:
    """The rules.md tables, written independently of the evaluator."""
    trues = values.count(True)
    unknown = None in values
    if operator == "all":
        if False in values:
            return False
        return None if unknown else True
    if operator == "any":
        if trues:
            return True
        return None if unknown else False
    if trues == 1 and not unknown:
        return True
    return None if trues <= 1 and unknown else False


def reference_tree(node) -> bool | None:
    if isinstance(node, Leaf):
        if node.input == FieldInput("nope"):
            return False
        return truth(Outcome(node.signal.split(":")[1]))
    return reference(node.operator, [reference_tree(child) for child in node.children])


leaves = st.builds(make_leaf, st.sampled_from(OUTCOMES), st.integers(0, 5))
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        ConditionSet,
        st.sampled_from(["all", "any", "xor"]),
        st.lists(children, max_size=4).map(tuple),
    ),
    max_leaves=12,
)


def outcome_of(tree, provider=None) -> Outcome:
    provider = provider or OutcomeProvider()
    return evaluate(compile_condition(tree, provider), EvaluationContext(ITEM, provider)).outcome


@settings(max_examples=300)
@given(st.sampled_from(["all", "any", "xor"]), st.lists(leaves, max_size=6))
def test_sets_follow_the_truth_tables(operator, children):
    tree = ConditionSet(operator, tuple(children))
    assert truth(outcome_of(tree)) == reference_tree(tree)


@settings(max_examples=300)
@given(trees)
def test_nested_trees_follow_the_truth_tables(tree):
    expected = reference_tree(tree)
    outcome = outcome_of(tree)
    if isinstance(tree, Leaf):
        assert truth(outcome) == expected
    else:
        assert (
            outcome
            is {True: Outcome.PASSED, False: Outcome.FAILED, None: Outcome.ERRORED}[expected]
        )


class FlatCost(OutcomeProvider):
    """Every signal costs the same, so children run in authoring order."""

    def get(self, signal_id):
        spec = super().get(signal_id)
        return SignalSpec(**{**spec.__dict__, "cost": 0})


class Counting(OutcomeProvider):
    """Records which leaves ran."""

    def __init__(self):
        self.ran = 0

    def implementation(self, signal_id):
        run = super().implementation(signal_id)

        def counted(call):
            self.ran += 1
            return run(call)

        return counted


@settings(max_examples=300)
@given(trees)
def test_cost_order_never_changes_the_outcome(tree):
    assert outcome_of(tree) is outcome_of(tree, FlatCost())


@settings(max_examples=300)
@given(trees)
def test_short_circuit_matches_evaluating_everything(tree):
    provider = Counting()
    outcome = outcome_of(tree, provider)
    # Evaluating every leaf and folding with the reference tables gives the same truth value.
    assert truth(outcome) == reference_tree(tree)
    assert provider.ran <= count_signal_leaves(tree)


def count_signal_leaves(node) -> int:
    if isinstance(node, Leaf):
        return 0 if node.input == FieldInput("nope") else 1
    return sum(count_signal_leaves(child) for child in node.children)
