"""Save-time validation of condition trees (pure Python, no database)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.rules.conditions import (
    CatalogView,
    ConditionSet,
    ItemTypeInfo,
    Leaf,
    RuleKind,
    parse_condition,
    validate_condition,
)
from coop.signals.registry import build_registry

CATALOG = CatalogView(
    item_types={
        "post": ItemTypeInfo(
            "CONTENT",
            {
                "text": "STRING",
                "pic": "IMAGE",
                "where": "GEOHASH",
                "likes": "NUMBER",
                "ok": "BOOLEAN",
            },
            {"creatorId": "author"},
        ),
        "user": ItemTypeInfo("USER", {"name": "STRING", "likes": "STRING"}),
    },
    banks={"words": "TEXT", "rx": "REGEX", "geo": "LOCATION", "img": "HASH"},
    policies=frozenset({"spam"}),
    signals=build_registry(discover=list),
)


def errors(condition, item_types=("post",), kind=RuleKind.PROACTIVE, automated=True):
    return [
        str(e)
        for e in validate_condition(
            condition, CATALOG, list(item_types), rule_kind=kind, automated=automated
        )
    ]


def leaf(**kwargs):
    return {"input": {"field": "text"}, **kwargs}


def test_valid_tree():
    assert (
        errors(
            {
                "any": [
                    leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", values=["a"], substring=True),
                    {"all": [leaf(signal="TEXT_MATCHING_CONTAINS_REGEX", banks=["rx"])]},
                    {"xor": []},
                    {
                        "input": "AUTHOR",
                        "signal": "USER_STRIKE_VALUE",
                        "comparator": "GREATER_THAN",
                        "threshold": 3,
                    },
                    {
                        "input": "ANY_GEOHASH",
                        "signal": "GEO_CONTAINED_WITHIN",
                        "values": [{"geohash": "9q"}],
                    },
                    {"input": "ANY_IMAGE", "signal": "IMAGE_SIMILARITY_MATCH", "banks": ["img"]},
                    {"input": {"field": "likes"}, "comparator": "GREATER_THAN", "threshold": 10},
                    {"input": {"field": "ok"}, "comparator": "EQUALS", "threshold": True},
                    {"input": {"field": "pic"}, "comparator": "IS_NOT_PROVIDED"},
                    leaf(signal="TEXT_SIMILARITY_SCORE", values=["x"], comparator="IS_UNAVAILABLE"),
                ]
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"one": []}, "condition.one: unknown key"),
        ({"all": [], "any": []}, "condition: a set has exactly one key: all, any or xor"),
        ({"all": {}}, "condition.all: must be a list of conditions"),
        (
            {"input": "NOPE"},
            "condition.input: unknown input 'NOPE'; use {field: NAME} or one of "
            "ALL_TEXT, ANY_IMAGE, ANY_VIDEO, ANY_GEOHASH, AUTHOR, ITEM, RELEVANT_POLICY, SOURCE, "
            "FULL_ITEM",
        ),
        (
            leaf(comparator="BIGGER"),
            "condition.comparator: unknown comparator 'BIGGER'; use one of "
            "EQUALS, NOT_EQUAL_TO, LESS_THAN, LESS_THAN_OR_EQUALS, GREATER_THAN, "
            "GREATER_THAN_OR_EQUALS, IS_UNAVAILABLE, IS_NOT_PROVIDED",
        ),
        (leaf(signal="NOPE"), "condition.signal: unknown signal 'NOPE'"),
        (
            leaf(signal="TEXT_MATCHING_CONTAINS_TEXT"),
            "condition: signal TEXT_MATCHING_CONTAINS_TEXT needs values or banks",
        ),
        (
            {"input": "ANY_IMAGE", "signal": "IMAGE_SIMILARITY_MATCH"},
            "condition: signal IMAGE_SIMILARITY_MATCH needs banks",
        ),
        (
            {
                "input": "ANY_IMAGE",
                "signal": "IMAGE_SIMILARITY_MATCH",
                "values": ["x"],
                "banks": ["img"],
            },
            "condition.values: signal IMAGE_SIMILARITY_MATCH takes no inline values",
        ),
        (
            leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", banks=["geo"]),
            "condition.banks[0]: bank 'geo' is a LOCATION bank; signal "
            "TEXT_MATCHING_CONTAINS_TEXT takes TEXT banks",
        ),
        (
            leaf(signal="TEXT_MATCHING_CONTAINS_REGEX", values=["a(", "ok"]),
            "condition.values[0]: invalid regex: missing ): a(",
        ),
        (
            leaf(signal="TEXT_MATCHING_CONTAINS_REGEX", values=["a"], substring=True),
            "condition.substring: signal TEXT_MATCHING_CONTAINS_REGEX has no substring option",
        ),
        (
            {"input": {"field": "pic"}, "signal": "TEXT_MATCHING_CONTAINS_TEXT", "values": ["a"]},
            "condition.input: signal TEXT_MATCHING_CONTAINS_TEXT does not accept field 'pic' of "
            "type IMAGE (item type 'post')",
        ),
        (
            {"input": {"field": "nope"}, "comparator": "IS_NOT_PROVIDED"},
            "condition.input: unknown field 'nope' (not in any of the item types post)",
        ),
        (
            leaf(
                signal="TEXT_MATCHING_CONTAINS_TEXT",
                values=["a"],
                comparator="EQUALS",
                threshold=True,
            ),
            "condition.comparator: signal TEXT_MATCHING_CONTAINS_TEXT is boolean: it takes no "
            "comparator",
        ),
        (
            leaf(signal="TEXT_SIMILARITY_SCORE", values=["a"]),
            "condition: signal TEXT_SIMILARITY_SCORE outputs NUMBER: set a comparator and a "
            "threshold",
        ),
        (
            leaf(
                signal="TEXT_SIMILARITY_SCORE",
                values=["a"],
                comparator="GREATER_THAN",
                threshold="HIGH",
            ),
            "condition.threshold: must be a number",
        ),
        (
            leaf(
                signal="TEXT_SIMILARITY_SCORE", values=["a"], comparator="GREATER_THAN", threshold=2
            ),
            "condition.threshold: must be between 0 and 1",
        ),
        (
            leaf(signal="TEXT_SIMILARITY_SCORE", values=["a"], comparator="GREATER_THAN"),
            "condition: comparator GREATER_THAN needs a threshold",
        ),
        (
            leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", values=["a"], comparator="IS_NOT_PROVIDED"),
            "condition.signal: IS_NOT_PROVIDED takes no signal",
        ),
        (
            {"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": "spam"},
            "condition.input: RELEVANT_POLICY is only available in routing rules",
        ),
        (
            {
                "input": "ITEM",
                "signal": "USER_STRIKE_VALUE",
                "comparator": "GREATER_THAN",
                "threshold": 1,
            },
            "condition.input: signal USER_STRIKE_VALUE does not accept ITEM of type RELATED_ITEM "
            "(item type 'post')",
        ),
        (
            {"input": "ANY_GEOHASH", "signal": "GEO_CONTAINED_WITHIN", "values": [{"lat": 1}]},
            "condition.values[0]: must be exactly one of {geohash}, {lat, lng, radiusMiles} or "
            "{bounds} (plus name)",
        ),
        (
            {
                "input": "ALL_TEXT",
                "signal": "OPEN_AI_HATE_TEXT_MODEL",
                "comparator": "GREATER_THAN",
                "threshold": 0.9,
            },
            "condition.signal: signal OPEN_AI_HATE_TEXT_MODEL is disabled: the OpenAI integration "
            "is not configured (no credentials)",
        ),
        (leaf(), "condition: a leaf needs a signal or a comparator"),
        (
            {"input": "ANY_IMAGE", "comparator": "EQUALS", "threshold": "x"},
            "condition: ANY_IMAGE needs a signal to be compared",
        ),
        (
            leaf(values=["a"], comparator="EQUALS", threshold="a"),
            "condition.values: values needs a signal",
        ),
    ],
)
def test_errors(condition, expected):
    assert expected in errors(condition)


def test_nested_paths():
    condition = {
        "any": [
            leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", values=["a"]),
            {"all": [leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", banks=["x"])]},
        ]
    }
    assert errors(condition) == ["condition.any[1].all[0].banks[0]: unknown bank 'x'"]


def test_field_unknown_in_one_item_type_is_fine_and_types_checked_per_type():
    # `likes` is NUMBER in post and STRING in user: compared directly it is ambiguous.
    assert (
        errors(
            {"input": {"field": "name"}, "comparator": "EQUALS", "threshold": "x"}, ("post", "user")
        )
        == []
    )
    assert errors(
        {"input": {"field": "likes"}, "comparator": "EQUALS", "threshold": 1}, ("post", "user")
    ) == ["condition.input: field 'likes' has different types across the rule's item types"]


def test_routing_only_inputs_and_automation():
    routing = {"kind": RuleKind.ROUTING, "automated": False}
    assert (
        errors({"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": "spam"}, **routing)
        == []
    )
    assert errors(
        {"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": "ham"}, **routing
    ) == ["condition.threshold: unknown policy 'ham'"]
    assert (
        errors({"input": "SOURCE", "comparator": "NOT_EQUAL_TO", "threshold": "REPORT"}, **routing)
        == []
    )
    assert errors(
        {"input": "SOURCE", "comparator": "LESS_THAN", "threshold": "REPORT"}, **routing
    ) == ["condition.comparator: use EQUALS or NOT_EQUAL_TO here"]
    google = {
        "input": "ANY_IMAGE",
        "signal": "GOOGLE_CONTENT_SAFETY_API_IMAGE",
        "comparator": "GREATER_THAN",
        "threshold": "HIGH",
    }
    assert all("not allowed in automated" not in e for e in errors(google, **routing))
    assert any("not allowed in automated" in e for e in errors(google))
    assert (
        "condition.threshold: must be one of VERY_LOW, LOW, MEDIUM, HIGH, VERY_HIGH (signal "
        "GOOGLE_CONTENT_SAFETY_API_IMAGE)" in errors({**google, "threshold": 3}, **routing)
    )


def test_subcategory_rules():
    zentropi = {
        "input": "ALL_TEXT",
        "signal": "ZENTROPI_LABELER",
        "comparator": "GREATER_THAN",
        "threshold": 0.5,
    }
    assert "condition: signal ZENTROPI_LABELER needs a subcategory" in errors(zentropi)
    assert (
        "condition.subcategory: signal TEXT_MATCHING_CONTAINS_TEXT takes no subcategory"
        in errors(leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", values=["a"], subcategory="x"))
    )


def test_parse_builds_a_tree():
    tree, problems = parse_condition(
        {"xor": [leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", values=["a"])]}
    )
    assert problems == []
    assert isinstance(tree, ConditionSet)
    assert tree.operator == "xor"
    assert isinstance(tree.children[0], Leaf)
    assert tree.children[0].values == ("a",)


# Property tests: any well-formed tree of valid leaves validates; one bad bank anywhere is
# reported exactly once, at its path.
GOOD_LEAVES = st.sampled_from(
    [
        leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", banks=["words"]),
        {"input": "ALL_TEXT", "signal": "TEXT_MATCHING_CONTAINS_REGEX", "values": ["a+b"]},
        {"input": {"field": "likes"}, "comparator": "LESS_THAN", "threshold": 3.5},
    ]
)
TREES = st.recursive(
    GOOD_LEAVES,
    lambda children: st.builds(
        lambda op, kids: {op: kids},
        st.sampled_from(["all", "any", "xor"]),
        st.lists(children, max_size=4),
    ),
    max_leaves=20,
)


@given(TREES)
def test_valid_trees_have_no_errors(tree):
    assert errors(tree) == []


@given(TREES, st.lists(st.integers(0, 3), max_size=5))
def test_bad_bank_reported_at_its_path(tree, route):
    tree = json.loads(json.dumps(tree))  # hypothesis may share one leaf object in several places
    path, node = "condition", tree
    for index in route:
        op = next((k for k in ("all", "any", "xor") if k in node), None)
        if op is None or not node[op]:
            break
        index %= len(node[op])
        path, node = f"{path}.{op}[{index}]", node[op][index]
    op = next((k for k in ("all", "any", "xor") if k in node), None)
    bad = leaf(signal="TEXT_MATCHING_CONTAINS_TEXT", banks=["words", "ghost"])
    if op is None:
        node.clear()
        node.update(bad)
    else:
        node[op].append(bad)
        path = f"{path}.{op}[{len(node[op]) - 1}]"
    assert errors(tree) == [f"{path}.banks[1]: unknown bank 'ghost'"]
