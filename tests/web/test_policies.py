"""Policies in the console (/policies): the tree, add a child, move (cycles refused), rename,
penalty, strike weight inherited or own, multi-line text and guidelines, delete. Saved through
the configuration writer, so the export shows exactly what the form saved."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from coop.catalog.models import ConfigChange, Policy
from coop.config.engine import export_state
from coop.config.services import save_object
from web.configcli import export_then_apply_is_a_no_op, run_config
from web.test_access_matrix import ROLES, has

pytestmark = pytest.mark.django_db

FORM = {"penalty": "NONE", "strikes_mode": "inherit", "strikes": "", "text": "", "guidelines": ""}


@pytest.fixture
def tree(db):
    """Spam (MEDIUM, 2 strikes) > Scams (3) > Phishing (inherits); Harassment (top level)."""
    for data in (
        {"id": "spam", "name": "Spam", "penalty": "MEDIUM", "strikes": 2},
        {"id": "scams", "name": "Scams", "parent": "spam", "strikes": 3},
        {"id": "phishing", "name": "Phishing", "parent": "scams"},
        {"id": "harassment", "name": "Harassment"},
    ):
        assert save_object("policies", data).ok


def exported() -> list[dict]:
    return export_state().get("policies", [])


def test_the_tree_shows_nesting_and_effective_strike_weights(admin_client, tree):
    response = admin_client.get("/policies")
    nodes = {n.policy.id: n for n in _flatten(response.context["tree"])}
    assert [n.policy.id for n in response.context["tree"]] == ["harassment", "spam"]
    assert (nodes["phishing"].depth, nodes["phishing"].weight) == (2, 3)
    assert nodes["harassment"].weight == 1
    page = response.content.decode()
    assert "3 strikes (inherited)" in page
    assert 'href="/policies/new?parent=scams"' in page


def _flatten(nodes):
    for node in nodes:
        yield node
        yield from _flatten(node.children)


def test_add_a_child_with_own_weight_and_multiline_text(admin_client, tree):
    page = admin_client.get("/policies/new?parent=scams")
    assert page.context["form"]["parent"].value() == "scams"
    response = admin_client.post(
        "/policies/new?parent=scams",
        {
            **FORM,
            "name": "Fake giveaways",
            "parent": "scams",
            "penalty": "HIGH",
            "strikes_mode": "own",
            "strikes": "5",
            "text": "Promises of prizes\r\nthat never come.\r\n",
            "guidelines": "  Check the link.\r\n\r\nThen decide.",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/policies/fake-giveaways/edit"
    spam = exported()[1]
    assert spam["children"][0]["children"] == [  # the export lists policies by id
        {
            "id": "fake-giveaways",
            "name": "Fake giveaways",
            "penalty": "HIGH",
            "strikes": 5,
            "text": "Promises of prizes\nthat never come.\n",
            "guidelines": "  Check the link.\n\nThen decide.",
        },
        {"id": "phishing", "name": "Phishing"},
    ]
    assert export_then_apply_is_a_no_op()


def test_saving_an_unchanged_form_changes_nothing(admin_client, tree):
    save_object("policies", {"id": "harassment", "name": "Harassment", "text": "a\nb\n"})
    versions = ConfigChange.objects.count()
    form = admin_client.get("/policies/harassment/edit").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    response = admin_client.post("/policies/harassment/edit", {**data, "text": "a\r\nb\r\n"})
    assert response.status_code == 302
    assert ConfigChange.objects.count() == versions


def test_move_rename_and_inherit(admin_client, tree):
    response = admin_client.post(
        "/policies/scams/edit",
        {**FORM, "name": "Scams and fraud", "parent": "harassment", "penalty": "LOW"},
    )
    assert response.status_code == 302, response.content.decode()
    scams = Policy.objects.get(pk="scams")
    assert (scams.name, scams.parent_id, scams.strikes, scams.penalty) == (
        "Scams and fraud",
        "harassment",
        None,
        "LOW",
    )
    # Its child moved with it and now inherits from the new chain (1 at the root).
    nodes = {n.policy.id: n for n in _flatten(admin_client.get("/policies").context["tree"])}
    assert (nodes["phishing"].depth, nodes["phishing"].weight) == (2, 1)
    assert exported() == [
        {
            "id": "harassment",
            "name": "Harassment",
            "children": [
                {
                    "id": "scams",
                    "name": "Scams and fraud",
                    "penalty": "LOW",
                    "children": [{"id": "phishing", "name": "Phishing"}],
                }
            ],
        },
        {"id": "spam", "name": "Spam", "penalty": "MEDIUM", "strikes": 2},
    ]


def test_the_parent_choices_leave_out_the_policy_and_its_descendants(admin_client, tree):
    form = admin_client.get("/policies/spam/edit").context["form"]
    assert [c for c, _ in form.fields["parent"].widget.choices] == ["", "harassment"]


def test_a_move_under_its_own_descendant_is_refused_as_in_the_file(admin_client, tree):
    response = admin_client.post(
        "/policies/spam/edit", {**FORM, "name": "Spam", "parent": "phishing"}
    )
    assert response.status_code == 400
    message = "policies cannot be their own ancestor"
    assert response.context["form"].errors["parent"] == [message]
    assert Policy.objects.get(pk="spam").parent_id is None
    code, _, err = run_config(
        "apply", text="policies:\n  - {id: spam, name: Spam, parent: phishing}\n"
    )
    assert (code, f"policies[0].parent: {message}" in err) == (1, True)


@pytest.mark.parametrize(
    ("strikes", "message"), [("-1", "must be at least 0"), ("two", "must be an integer")]
)
def test_a_bad_weight_gets_the_file_message(admin_client, tree, strikes, message):
    response = admin_client.post(
        "/policies/spam/edit", {**FORM, "name": "Spam", "strikes_mode": "own", "strikes": strikes}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["strikes"] == [message]
    code, _, err = run_config(
        "apply", text=f"policies:\n  - {{id: spam, name: Spam, strikes: {strikes}}}\n"
    )
    assert code == 1
    assert f"policies[0].strikes: {message}" in err
    assert Policy.objects.get(pk="spam").strikes == 2


def test_own_weight_needs_a_number(admin_client, tree):
    response = admin_client.post(
        "/policies/spam/edit", {**FORM, "name": "Spam", "strikes_mode": "own"}
    )
    assert response.status_code == 400
    assert "Give the weight, or choose Inherit." in response.content.decode()


def test_deleting_a_parent_is_refused_until_its_children_move(admin_client, tree):
    page = admin_client.get("/policies/scams/delete").content.decode()
    assert "It has child policies (Phishing)" in page
    response = admin_client.post("/policies/scams/delete")
    assert response.status_code == 400
    assert (
        escape("policies[id=phishing].parent: unknown policy 'scams'") in response.content.decode()
    )
    assert Policy.objects.filter(pk="scams").exists()
    assert admin_client.post("/policies/phishing/delete").status_code == 302
    assert admin_client.post("/policies/scams/delete").status_code == 302
    assert not Policy.objects.filter(pk__in=["scams", "phishing"]).exists()


def test_deleting_a_policy_a_rule_uses_is_refused(admin_client, tree):
    save_object("itemTypes", {"id": "post", "name": "Post", "kind": "CONTENT"})
    rule = {
        "id": "r",
        "name": "R",
        "itemTypes": ["post"],
        "policies": ["harassment"],
        "condition": {"all": []},
    }
    assert save_object("rules", rule).ok
    response = admin_client.post("/policies/harassment/delete")
    assert response.status_code == 400
    assert (
        escape("rules[id=r].policies[0]: unknown policy 'harassment'") in response.content.decode()
    )


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_manage_policies_change_nothing(client, make_user, tree, role):
    client.force_login(make_user(role))
    before = exported()
    responses = [
        client.post("/policies/new", {**FORM, "name": "New one"}),
        client.post("/policies/spam/edit", {**FORM, "name": "Renamed"}),
        client.post("/policies/harassment/delete"),
    ]
    if has(role, "MANAGE_POLICIES"):
        assert [r.status_code for r in responses] == [302, 302, 302]
        return
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert exported() == before
