"""HTTP_SIGNAL: a deployer's model behind an HTTP endpoint, called with a signed request."""

from __future__ import annotations

import json

from integrations.conftest import configure, leaves, logged, plan_errors
from integrations.fakes import Reply


def setup(http_signal, *, output: str = "NUMBER", extra: str = "") -> None:
    compare = ", comparator: GREATER_THAN, threshold: 0.8" if output == "NUMBER" else ""
    configure(f"""
integrations:
  httpSignals:
    - id: toxicity
      name: Toxicity model
      url: "{http_signal.url}/score"
      headers: {{Authorization: !secret SECRET_MODEL_TOKEN, X-Team: ts}}
      output: {output}{extra}
rules:
  - id: toxic
    name: Toxic
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all: [{{input: FULL_ITEM, signal: HTTP_SIGNAL, subcategory: toxicity{compare}}}]
  - id: toxic-author
    name: Toxic author
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all: [{{input: AUTHOR, signal: HTTP_SIGNAL, subcategory: toxicity{compare}}}]
""")


def test_the_signed_request_carries_the_item_and_the_input_and_the_score_decides(
    db, api, http_signal
):
    setup(http_signal)
    http_signal.score = lambda body: 0.95 if "awful" in json.dumps(body["input"]) else 0.1
    author = {"id": "u-1", "typeId": "user"}
    toxic = api.submit("p1", text="awful words", author=author)
    fine = api.submit("p2", text="kind words", author=author)
    assert logged(toxic)["toxic"].outcome == "PASSED"
    assert logged(fine)["toxic"].outcome == "FAILED"
    item = {"id": "p1", "typeId": "post", "data": {"text": "awful words", "author": author}}
    sent = [seen.json() for seen in http_signal.requests]  # made at once: in any order
    assert {"item": item, "input": item} in sent
    # AUTHOR: the input is the user reference; the item is still the one being evaluated.
    assert {"item": item, "input": author} in sent
    assert leaves(logged(toxic)["toxic"])[0]["score"] == 0.95


def test_a_boolean_signal_takes_no_comparator_and_passes_on_true(db, api, http_signal):
    setup(http_signal, output="BOOLEAN")
    http_signal.score = lambda body: "spam" in json.dumps(body["input"])
    assert logged(api.submit("p1", text="spam spam"))["toxic"].outcome == "PASSED"
    assert logged(api.submit("p2", text="ham"))["toxic"].outcome == "FAILED"


def test_answers_that_are_not_a_score_of_the_configured_type_are_errored(db, api, http_signal):
    setup(http_signal)
    http_signal.script = [
        Reply(200, body={"score": True}),
        Reply(200, body={"result": 0.4}),
        Reply(404, body={"detail": "no such model"}),
    ]
    errors = [
        leaves(logged(api.submit(f"p{i}", text=f"t{i}"))["toxic"])[0]["error"] for i in range(3)
    ]
    assert "score True is not a number (output: NUMBER)" in errors[0]
    assert "score None is not a number" in errors[1]
    assert 'HTTP signal Toxicity model answered HTTP 404: {"detail": "no such model"}' in errors[2]


def test_a_slow_model_times_out(db, api, http_signal, settings):
    settings.COOP_EVALUATION_BUDGET_MS = 1000
    setup(http_signal, extra="\n      timeoutMs: 200")
    http_signal.script = [Reply(200, delay=1.5)] * 6
    sid = api.submit("p1", text="words")
    assert (
        "HTTP signal Toxicity model timed out after 0.2 s"
        in (leaves(logged(sid)["toxic"])[0]["error"])
    )


def test_the_subcategory_must_name_a_configured_http_signal(db, http_signal):
    http_signal.expect_no_calls()
    rule = """
rules:
  - id: r
    name: R
    itemTypes: [post]
    condition:
      all:
        - {input: ALL_TEXT, signal: HTTP_SIGNAL, subcategory: nope, comparator: GREATER_THAN,
           threshold: 0.5}
"""
    assert plan_errors(rule) == [
        "rules[0].condition.all[0].signal: signal HTTP_SIGNAL is disabled: no HTTP signal "
        "endpoint is configured",
    ]
    block = f"""
integrations:
  httpSignals: [{{id: toxicity, name: Toxicity, url: "{http_signal.url}/score"}}]
"""
    assert plan_errors(block + rule) == [
        "rules[0].condition.all[0].subcategory: must be one of toxicity (signal HTTP_SIGNAL)"
    ]


def test_http_signal_headers_follow_the_webhook_rules(db):
    block = """
integrations:
  httpSignals:
    - id: a
      name: A
      url: "https://models.example/score"
      headers: {Coop-Event: x, "Bad Name": y, X-Key: !secret MODEL_KEY}
    - {id: a, name: Again, url: "ftp://models.example/score", output: STRING}
"""
    assert plan_errors(block) == [
        "integrations.httpSignals[0].headers.Coop-Event: header name is set by Coop and cannot "
        "be configured",
        "integrations.httpSignals[0].headers.Bad Name: header name is not a valid header name",
        "integrations.httpSignals[0].headers.X-Key: !secret: secrets must be environment "
        "variables named SECRET_…",
        "integrations.httpSignals[1].url: must be an http(s) URL",
        "integrations.httpSignals[1].output: must be one of NUMBER, BOOLEAN",
        "integrations.httpSignals[1].id: duplicate id 'a' (also integrations.httpSignals[0])",
    ]
