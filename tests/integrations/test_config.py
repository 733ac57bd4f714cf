"""The `integrations:` block in the configuration file: validation, export, enabled signals."""

from __future__ import annotations

from coop.catalog.credentials import encrypt_credential, resolve_credential
from coop.catalog.models import ConfigChange, OrgSettings
from coop.config import apply_document, export_yaml, parse_text
from coop.config.services import save_object
from coop.config.yamlio import load_yaml
from integrations.conftest import configure, leaves, logged, plan_errors

FULL = """
integrations:
  openai: {apiKey: !secret SECRET_OPENAI_KEY, baseUrl: "http://127.0.0.1:9/v1", timeoutMs: 2500}
  googleContentSafety: {apiKey: !secret SECRET_GOOGLE_KEY, concurrency: 2}
  zentropi:
    apiKey: !secret SECRET_ZENTROPI_KEY
    cacheTtlSeconds: 0
    labelerVersions:
      - {id: lv-1, name: Grooming}
  httpSignals:
    - id: toxicity
      name: Toxicity model
      url: "https://models.internal/score"
      headers: {X-Key: !secret SECRET_MODEL_KEY}
      timeoutMs: 2000
    - {id: spam, name: Spam model, url: "https://models.internal/spam", output: BOOLEAN}
"""

TEXT_RULE = """
rules:
  - id: r
    name: R
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all:
        - {input: ALL_TEXT, signal: OPEN_AI_HATE_TEXT_MODEL, comparator: GREATER_THAN,
           threshold: 0.5}
"""


def test_export_writes_only_what_differs_from_the_defaults_and_apply_of_it_is_a_no_op(db):
    configure(FULL)
    exported = export_yaml()
    assert load_yaml(exported)["integrations"] == {
        "openai": {
            "apiKey": {"secret": "SECRET_OPENAI_KEY"},
            "baseUrl": "http://127.0.0.1:9/v1",
            "timeoutMs": 2500,
        },
        "googleContentSafety": {"apiKey": {"secret": "SECRET_GOOGLE_KEY"}, "concurrency": 2},
        "zentropi": {
            "apiKey": {"secret": "SECRET_ZENTROPI_KEY"},
            "cacheTtlSeconds": 0,
            "labelerVersions": [{"id": "lv-1", "name": "Grooming"}],
        },
        "httpSignals": [
            {
                "id": "toxicity",
                "name": "Toxicity model",
                "url": "https://models.internal/score",
                "headers": {"X-Key": {"secret": "SECRET_MODEL_KEY"}},
                "timeoutMs": 2000,
            },
            {
                "id": "spam",
                "name": "Spam model",
                "url": "https://models.internal/spam",
                "output": "BOOLEAN",
            },
        ],
    }
    assert "apiKey: !secret SECRET_OPENAI_KEY" in exported
    document, errors = parse_text(exported)
    assert not errors
    plan = apply_document(document, dry_run=True)
    assert not plan.errors
    assert plan.changes == []


def test_a_key_set_in_the_console_is_stored_and_exported_encrypted_never_in_clear(db):
    token = encrypt_credential("sk-live-0123456789")
    assert save_object("integrations", {"openai": {"apiKey": token}}).ok
    stored = OrgSettings.objects.get().data["integrations"]["openai"]["apiKey"]
    assert resolve_credential(stored) == "sk-live-0123456789"
    exported = export_yaml()
    assert "sk-live" not in exported
    assert token["encrypted"] in exported
    changes = ConfigChange.objects.filter(kind="integrations")
    assert all("sk-live" not in str(change.data) for change in changes)
    document, _ = parse_text(exported)
    assert apply_document(document, dry_run=True).changes == []


def test_shapes_are_checked_with_paths(db):
    assert plan_errors("""
integrations:
  openai: {apiKey: sk-in-clear, baseUrl: "not a url", timeoutMs: 5, colour: red}
  googleContentSafety: {apiKey: !secret GOOGLE_KEY}
  zentropi: {labelerVersions: [{id: a, name: A}, {id: a, name: B}]}
  httpSignals: {}
""") == [
        "integrations.openai.colour: unknown key",
        "integrations.openai.apiKey: must be !secret NAME (an environment variable) or a value "
        "set in the console",
        "integrations.openai.baseUrl: must be an http(s) URL",
        "integrations.openai.timeoutMs: must be from 100 to 60000",
        "integrations.googleContentSafety.apiKey: !secret: secrets must be environment "
        "variables named SECRET_…",
        "integrations.zentropi.apiKey: is required",
        "integrations.zentropi.labelerVersions[1].id: duplicate id 'a' (also "
        "integrations.zentropi.labelerVersions[0])",
        "integrations.httpSignals: must be a list",
    ]


def test_a_signal_of_an_unconfigured_integration_is_refused_when_the_rule_is_saved(db):
    assert plan_errors(TEXT_RULE) == [
        "rules[0].condition.all[0].signal: signal OPEN_AI_HATE_TEXT_MODEL is disabled: the "
        "OpenAI integration is not configured (no credentials)"
    ]
    configure("")
    rule = {
        "id": "r",
        "name": "R",
        "itemTypes": ["post"],
        "condition": {
            "all": [
                {
                    "input": "ANY_IMAGE",
                    "signal": "GOOGLE_CONTENT_SAFETY_API_IMAGE",
                    "comparator": "GREATER_THAN",
                    "threshold": "HIGH",
                }
            ]
        },
    }
    result = save_object("rules", rule)
    assert [str(e) for e in result.errors] == [
        "condition.all[0].signal: signal GOOGLE_CONTENT_SAFETY_API_IMAGE is disabled: the "
        "Google Content Safety integration is not configured (no credentials)"
    ]
    # Configured in the same file as the rule: accepted.
    assert plan_errors(FULL + TEXT_RULE) == []


def test_an_integration_a_rule_uses_cannot_be_removed(db):
    configure(FULL + TEXT_RULE)
    result = save_object(
        "integrations", {"googleContentSafety": {"apiKey": {"secret": "SECRET_G"}}}
    )
    assert [str(e) for e in result.errors] == [
        "rules[id=r].condition.all[0].signal: signal OPEN_AI_HATE_TEXT_MODEL is disabled: the "
        "OpenAI integration is not configured (no credentials)"
    ]


def test_a_rule_whose_integration_went_away_is_errored_at_run_time(db, api, monkeypatch):
    monkeypatch.setenv("SECRET_OPENAI_KEY", "sk-test")
    configure(FULL + TEXT_RULE)
    # Changed behind the validator's back (a restored backup, a hand edit).
    row = OrgSettings.objects.get()
    row.data = {k: v for k, v in row.data.items() if k != "integrations"}
    row.save()
    ConfigChange.objects.create(
        kind="integrations", object_id="integrations", version=99, operation="DELETE"
    )
    sid = api.submit("p1", text="words")
    execution = logged(sid)["r"]
    assert execution.outcome == "ERRORED"
    assert "OpenAI integration is not configured" in execution.result["error"]


def test_an_unset_key_variable_is_errored_with_its_name(db, api, monkeypatch):
    monkeypatch.delenv("SECRET_OPENAI_KEY", raising=False)
    configure(FULL + TEXT_RULE)
    sid = api.submit("p1", text="words")
    error = leaves(logged(sid)["r"])[0]["error"]
    assert error == "OpenAI API key: environment variable SECRET_OPENAI_KEY is not set"
