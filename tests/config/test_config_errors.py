from __future__ import annotations

import pytest

from coop.catalog.models import ConfigChange, ItemType
from coop.config.services import save_object

from .test_config_apply import db_snapshot

pytestmark = pytest.mark.django_db

BROKEN = """
version: 1
itemTypes:
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {name: text, type: STRING}
      - {name: tags, type: ARRAY}
      - {name: author, type: STRING}
      - {name: when, type: TEXT}
    roles: {creatorId: author, profileIcon: text, threadId: nope}
  - {id: coop.reserved, name: Reserved, kind: USER}
  - {id: -bad, name: Bad, kind: CONTENT}
policies:
  - id: spam
    name: Spam
    penalty: HUGE
    strikes: -1
    children:
      - {id: spam, name: Dup}
actions:
  - {id: notify, name: Notify, callbackUrl: "ftp://x", itemTypes: [ghost]}
banks:
  - {id: rx, name: Regexes, kind: REGEX, values: ['ok', '(unclosed', '[z-a]']}
  - id: geo
    name: Geo
    kind: LOCATION
    locations: [{geohash: "ail"}, {lat: 100, lng: 0, radiusMiles: 1}]
  - {id: words, name: Words, kind: TEXT, values: [hello]}
rules:
  - id: r1
    name: R1
    itemTypes: [post, ghost]
    policies: [nope]
    actions: [notify, {id: missing}]
    expiresAt: tomorrow
    maxDailyActions: 0
    condition:
      any:
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, banks: [words]}
        - all:
            - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_REGEX, banks: [x]}
        - {input: {field: nothere}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [a]}
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_REGEX, values: ['(']}
        - {input: {field: text}, signal: TEXT_MATCHING_CONTAINS_REGEX, banks: [words]}
        - {input: RELEVANT_POLICY, comparator: EQUALS, threshold: spam}
queues:
  - {id: q1, name: Q1, default: true}
  - {id: q2, name: Q2, default: true, reviewers: [nobody@example.com], hiddenActions: [zap]}
routingRules:
  - {id: rr, name: RR, itemTypes: [post], queue: appeals, condition: {all: []}}
ncmec: {companyReportName: X, defaultQueue: nowhere}
"""


def test_a_broken_file_reports_every_error_and_changes_nothing(run_config):
    before = db_snapshot()
    code, out, err = run_config("apply", text=BROKEN)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    expected = [
        "itemTypes[0].fields[1].items: ARRAY needs items: <scalar>",
        "itemTypes[0].fields[3].type: must be one of "
        + ", ".join(
            [
                "STRING",
                "NUMBER",
                "BOOLEAN",
                "ID",
                "DATETIME",
                "GEOHASH",
                "URL",
                "IMAGE",
                "VIDEO",
                "AUDIO",
                "MEDIA",
                "RELATED_ITEM",
                "POLICY_ID",
                "IP_ADDRESS",
                "EMAIL_ADDRESS",
                "ARRAY",
                "MAP",
            ]
        ),
        "itemTypes[0].roles.creatorId: field 'author' is STRING; creatorId needs RELATED_ITEM",
        "itemTypes[0].roles.profileIcon: role profileIcon is not allowed for CONTENT item types",
        "itemTypes[0].roles.profileIcon: field 'text' is STRING; profileIcon needs IMAGE",
        "itemTypes[0].roles.threadId: unknown field 'nope'",
        "itemTypes[1].id: ids starting with 'coop.' are reserved",
        "itemTypes[2].id: must be an id: 1-64 letters, digits, '_', '-' or '.', "
        "starting with a letter or digit",
        "policies[0].penalty: must be one of NONE, LOW, MEDIUM, HIGH, SEVERE",
        "policies[0].strikes: must be at least 0",
        "policies[0].children[0].id: duplicate id 'spam' (also policies[0])",
        "actions[0].callbackUrl: must be an http(s) URL",
        "banks[0].values[1]: invalid regex: missing ): (unclosed",
        "banks[0].values[2]: invalid regex: invalid character class range: z-a",
        "banks[1].locations[0]: invalid geohash 'ail'",
        "banks[1].locations[1]: lat must be a number from -90 to 90",
        "rules[0].expiresAt: must be an ISO 8601 date and time",
        "rules[0].maxDailyActions: must be at least 1",
        "queues[1].default: only one default queue (also queues[0])",
    ]
    for line in expected:
        assert line in lines, line
    assert len(lines) == len(expected) + 1  # and the summary line
    assert db_snapshot() == before


def test_reference_errors_are_all_reported_with_paths(run_config):
    # Shape is valid here, so the reference checks run and report everything at once.
    text = BROKEN
    for old, new in [
        ("      - {name: tags, type: ARRAY}\n", ""),
        ("      - {name: author, type: STRING}\n", "      - {name: author, type: RELATED_ITEM}\n"),
        ("      - {name: when, type: TEXT}\n", ""),
        (
            "    roles: {creatorId: author, profileIcon: text, threadId: nope}",
            "    roles: {creatorId: author}",
        ),
        ("  - {id: coop.reserved, name: Reserved, kind: USER}\n", ""),
        ("  - {id: -bad, name: Bad, kind: CONTENT}\n", ""),
        ("    penalty: HUGE\n    strikes: -1\n", ""),
        ("      - {id: spam, name: Dup}", "      - {id: scams, name: Scams}"),
        ('"ftp://x"', '"https://x.example"'),
        ("'ok', '(unclosed', '[z-a]'", "'ok'"),
        ('{geohash: "ail"}, {lat: 100, lng: 0, radiusMiles: 1}', "{geohash: 9q9}"),
        ("    expiresAt: tomorrow\n    maxDailyActions: 0\n", ""),
        ("  - {id: q2, name: Q2, default: true,", "  - {id: q2, name: Q2,"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    code, _, err = run_config("apply", text=text)
    assert code == 1
    lines = err.splitlines()
    expected = [
        "actions[0].itemTypes[0]: unknown item type 'ghost'",
        "rules[0].itemTypes[1]: unknown item type 'ghost'",
        "rules[0].policies[0]: unknown policy 'nope'",
        "rules[0].actions[0]: action 'notify' does not apply to item type 'post'",
        "rules[0].actions[1]: unknown action 'missing'",
        "rules[0].condition.any[1].all[0].banks[0]: unknown bank 'x'",
        "rules[0].condition.any[2].input: unknown field 'nothere' "
        "(not in any of the item types post)",
        "rules[0].condition.any[3].values[0]: invalid regex: missing ): (",
        "rules[0].condition.any[4].banks[0]: bank 'words' is a TEXT bank; "
        "signal TEXT_MATCHING_CONTAINS_REGEX takes REGEX banks",
        "rules[0].condition.any[5].input: RELEVANT_POLICY is only available in routing rules",
        "queues[1].hiddenActions[0]: unknown action 'zap'",
        "queues[1].reviewers[0]: no user with email 'nobody@example.com'",
        "routingRules[0].queue: must be a queue that is not for appeals",
        "ncmec.defaultQueue: unknown queue 'nowhere'",
    ]
    for line in expected:
        assert line in lines, line
    assert len(lines) == len(expected) + 1
    assert not ItemType.objects.exists()
    assert not ConfigChange.objects.exists()


def test_unknown_top_level_key_and_wrong_types(run_config):
    code, _, err = run_config("apply", text="version: 2\nrulez: []\nrules: {}\n")
    assert code == 1
    assert err.splitlines()[:3] == [
        "rulez: unknown key; use version, settings, itemTypes, policies, actions, banks, "
        "rules, queues, routingRules, appealRoutingRules, integrations, ncmec",
        "version: must be 1",
        "rules: must be a list",
    ]


def test_action_parameters_are_checked_against_the_action(run_config):
    text = """
itemTypes:
  - {id: user, name: User, kind: USER}
  - {id: post, name: Post, kind: CONTENT}
actions:
  - id: ban
    name: Ban
    callbackUrl: https://x.example/ban
    itemTypes: [user]
    parameters: [{name: days, type: NUMBER, required: true}, {name: note, type: STRING, default: 3}]
rules:
  - id: r
    name: R
    itemTypes: [post]
    actions: [{id: ban, parameters: {note: 5, extra: 1}}, {id: coop.ncmec, parameters: {a: 1}}]
    condition: {all: []}
"""
    code, _, err = run_config("apply", text=text)
    assert code == 1
    assert err.splitlines()[0] == "actions[0].parameters[1].default: must be a string"
    text = text.replace("default: 3", "default: x")
    code, _, err = run_config("apply", text=text)
    assert err.splitlines()[:-1] == [
        "rules[0].actions[0]: action 'ban' does not apply to item type 'post'",
        "rules[0].actions[0].parameters.note: must be a string",
        "rules[0].actions[0].parameters.extra: action 'ban' has no such parameter",
        "rules[0].actions[0].parameters: missing required parameter 'days'",
        "rules[0].actions[1].parameters: coop.ncmec takes no parameters",
    ]


def test_disabled_and_non_automated_signals_are_refused(run_config):
    text = """
itemTypes:
  - {id: post, name: Post, kind: CONTENT, fields: [{name: pic, type: IMAGE}]}
rules:
  - id: r
    name: R
    itemTypes: [post]
    actions: [coop.manual-review]
    condition:
      all:
        - input: {field: pic}
          signal: GOOGLE_CONTENT_SAFETY_API_IMAGE
          comparator: GREATER_THAN
          threshold: HIGH
"""
    code, _, err = run_config("apply", text=text)
    assert code == 1
    assert err.splitlines()[:-1] == [
        "rules[0].condition.all[0].signal: signal GOOGLE_CONTENT_SAFETY_API_IMAGE is disabled: "
        "the Google Content Safety integration is not configured (no credentials)",
        "rules[0].condition.all[0].signal: signal GOOGLE_CONTENT_SAFETY_API_IMAGE is not allowed "
        "in automated rules (rules with actions)",
    ]


@pytest.mark.django_db
def test_hidden_fields_must_exist_and_round_trip():
    from coop.config import apply_document, export_yaml, parse_text

    text = (
        "itemTypes:\n  - id: post\n    name: Post\n    kind: CONTENT\n"
        "    fields: [{name: text, type: STRING}, {name: score, type: NUMBER}]\n"
        "    hiddenFields: [%s]\n"
    )
    _, errors = parse_text(text % "score, nope")
    assert [str(e) for e in errors] == ["itemTypes[0].hiddenFields[1]: unknown field 'nope'"]
    document, errors = parse_text(text % "score")
    assert not errors
    apply_document(document)
    assert ItemType.objects.get(pk="post").hidden_fields == ["score"]
    document, _ = parse_text(export_yaml())
    plan = apply_document(document, dry_run=True)
    assert plan.lines()[-1].startswith("Plan: 0 to create, 0 to change")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": {"secret": "COOP_SECRET_KEY"}}, "!secret: secrets must be"),
        ({"Authorization": {"secret": "DATABASE_URL"}}, "!secret: secrets must be"),
        ({"Coop-Signature": "forged"}, "header name is set by Coop"),
        ({"Host": "evil.example"}, "header name is set by Coop"),
        ({"X Bad": "v"}, "header name is not a valid header name"),
        ({"X-Token": "a\r\nX-Injected: 1"}, "header has a value with a line break"),
    ],
)
def test_unsendable_action_headers_are_refused_with_their_path(headers, message):
    from coop.config.document import parse_document

    action = {"id": "a", "name": "A", "callbackUrl": "https://x.example/a", "headers": headers}
    _, errors = parse_document({"actions": [action]})
    key = next(iter(headers))
    assert any(e.path == f"actions[0].headers.{key}" and message in e.message for e in errors), (
        errors
    )


@pytest.mark.parametrize("word", ["new", "validate", "spot-test"])
@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("policies", {"name": "Policy"}),
        ("banks", {"name": "Bank", "kind": "TEXT", "values": ["x"]}),
        ("queues", {"name": "Queue"}),
    ],
)
def test_an_id_the_console_addresses_use_is_refused(kind, data, word):
    """/rules/new, /rules/validate, /rules/spot-test: an object with such an id could not be
    opened in the console, whatever its kind."""
    result = save_object(kind, {"id": word, **data})
    assert not result.ok
    assert [(e.path, e.message) for e in result.errors] == [
        ("id", f"'{word}' is reserved: the console's address /<kind>/{word} uses it")
    ]
