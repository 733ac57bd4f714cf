"""A rule's owner in the configuration file: the email of a Coop user, exported when set; a file
without the key keeps the current owner (files written before owners existed clear nothing),
`owner: null` clears it, and an unknown email is refused with its path."""

from __future__ import annotations

import pytest

from coop.config import apply_document, parse_text
from coop.config.engine import export_state
from coop.rules.models import Rule
from factories import user

pytestmark = pytest.mark.django_db

FILE = """
itemTypes:
  - {id: post, name: Post, kind: CONTENT, fields: [{name: text, type: STRING}]}
rules:
  - id: scam
    name: Scam
    itemTypes: [post]
    condition: {all: []}
"""


def apply(text: str) -> list[str]:
    document, errors = parse_text(text)
    if errors:
        return [str(e) for e in errors]
    return [str(e) for e in apply_document(document).errors]


def test_the_owner_is_exported_kept_when_absent_and_cleared_by_null():
    owner = user("Owner@Example.com", "Analyst")
    assert apply(FILE.rstrip() + "\n    owner: OWNER@example.com\n") == []
    assert Rule.objects.get(pk="scam").owner == owner
    assert export_state()["rules"][0]["owner"] == "owner@example.com"
    assert apply(FILE) == []  # no key: unchanged
    assert Rule.objects.get(pk="scam").owner == owner
    assert apply(FILE.rstrip() + "\n    owner: null\n") == []
    assert Rule.objects.get(pk="scam").owner is None
    assert "owner" not in export_state()["rules"][0]


def test_an_unknown_owner_is_refused_with_its_path_and_nothing_changes():
    errors = apply(FILE.rstrip() + "\n    owner: ghost@example.com\n")
    assert errors == ["rules[0].owner: no user with email 'ghost@example.com'"]
    assert not Rule.objects.exists()
    assert apply(FILE.rstrip() + "\n    owner: not-an-email\n") == [
        "rules[0].owner: must be an email address"
    ]
