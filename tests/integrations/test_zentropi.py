"""The Zentropi labeler signal: subcategory = labeler version, score from label and confidence."""

from __future__ import annotations

import pytest

from integrations.conftest import configure, leaves, logged, plan_errors


def setup(zentropi, labeler: str = "lv-grooming") -> None:
    configure(f"""
integrations:
  zentropi:
    apiKey: !secret SECRET_ZENTROPI_KEY
    baseUrl: "{zentropi.base_url}"
    labelerVersions:
      - {{id: lv-grooming, name: Grooming}}
      - {{id: lv-gone, name: Retired labeler}}
rules:
  - id: grooming
    name: Grooming
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {{input: ALL_TEXT, signal: ZENTROPI_LABELER, subcategory: {labeler},
           comparator: GREATER_THAN, threshold: 0.7}}
""")


def test_score_is_the_confidence_of_a_violating_label_and_its_complement_otherwise(
    db, api, zentropi
):
    setup(zentropi)
    zentropi.labelers["lv-grooming"] = lambda text: ("1", 0.9) if "meet me" in text else (0, 0.8)
    violating = api.submit("p1", text="meet me after school", title="hi")
    safe = api.submit("p2", text="nice drawing")
    assert logged(violating)["grooming"].outcome == "PASSED"
    assert leaves(logged(violating)["grooming"])[0]["score"] == pytest.approx(0.9)
    assert logged(safe)["grooming"].outcome == "FAILED"
    assert leaves(logged(safe)["grooming"])[0]["score"] == pytest.approx(0.2)
    sent = [seen.json() for seen in zentropi.requests]
    assert sent[0] == {
        "content_text": "meet me after school\nhi",
        "labeler_version_id": "lv-grooming",
    }


def test_a_labeler_version_zentropi_does_not_know_is_errored(db, api, zentropi):
    setup(zentropi, labeler="lv-gone")
    sid = api.submit("p1", text="words")
    assert logged(sid)["grooming"].outcome == "ERRORED"
    assert "Zentropi answered HTTP 404" in leaves(logged(sid)["grooming"])[0]["error"]


def test_the_subcategory_must_be_a_configured_labeler_version(db, zentropi):
    zentropi.expect_no_calls()
    block = f"""
integrations:
  zentropi:
    apiKey: !secret SECRET_ZENTROPI_KEY
    baseUrl: "{zentropi.base_url}"
    labelerVersions: [{{id: lv-1, name: One}}]
rules:
  - id: r
    name: R
    itemTypes: [post]
    condition:
      all:
        - {{input: ALL_TEXT, signal: ZENTROPI_LABELER, subcategory: lv-9,
           comparator: GREATER_THAN, threshold: 0.5}}
"""
    assert plan_errors(block) == [
        "rules[0].condition.all[0].subcategory: must be one of lv-1 (signal ZENTROPI_LABELER)"
    ]
    assert plan_errors(block.replace("[{id: lv-1, name: One}]", "[]")) == [
        "rules[0].condition.all[0].signal: signal ZENTROPI_LABELER is disabled: no Zentropi "
        "labeler version is configured (integrations.zentropi.labelerVersions)"
    ]
