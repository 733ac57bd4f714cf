"""Configuration editing in a real browser: the policy tree editor, routing rules reordered by
keyboard and by drag, item type field rows added by keyboard, and a screenshot of every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coop.accounts.services import active_signing_key, create_user
from coop.catalog.models import Policy
from coop.config.engine import export_state
from coop.config.services import save_object
from coop.rules.models import RoutingRule
from enforcement.receiver import Receiver, Reply

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def seed_action() -> dict:
    return {
        "id": "delete",
        "name": "Delete",
        "callbackUrl": "https://platform.example/coop/actions/delete",
        "headers": {"Authorization": {"secret": "SECRET_PLATFORM_TOKEN"}, "X-Team": "tns"},
        "body": {"reason": "policy"},
        "itemTypes": ["post"],
        "appliesStrikes": True,
        "parameters": [{"name": "days", "type": "NUMBER", "default": 7}],
    }


def seed() -> None:
    objects = [
        (
            "itemTypes",
            {
                "id": "post",
                "name": "Post",
                "kind": "CONTENT",
                "fields": [
                    {"name": "text", "type": "STRING", "required": True},
                    {"name": "images", "type": "ARRAY", "items": "IMAGE"},
                    {"name": "author", "type": "RELATED_ITEM", "required": True},
                    {"name": "createdAt", "type": "DATETIME"},
                    {"name": "score", "type": "NUMBER"},
                ],
                "roles": {"creatorId": "author", "createdAt": "createdAt"},
                "hiddenFields": ["score"],
            },
        ),
        (
            "itemTypes",
            {
                "id": "user",
                "name": "User",
                "kind": "USER",
                "fields": [
                    {"name": "username", "type": "STRING"},
                    {"name": "avatar", "type": "IMAGE"},
                ],
                "roles": {"displayName": "username", "profileIcon": "avatar"},
            },
        ),
        ("policies", {"id": "spam", "name": "Spam", "penalty": "MEDIUM", "strikes": 1}),
        ("policies", {"id": "scams", "name": "Scams and phishing", "parent": "spam", "strikes": 3}),
        ("policies", {"id": "ads", "name": "Unwanted ads", "parent": "spam"}),
        ("policies", {"id": "harassment", "name": "Harassment", "penalty": "HIGH", "strikes": 2}),
        ("actions", seed_action()),
        ("queues", {"id": "spam", "name": "Spam"}),
        ("queues", {"id": "urgent", "name": "Urgent"}),
        ("queues", {"id": "harassment", "name": "Harassment"}),
        ("queues", {"id": "second-appeals", "name": "Second appeals", "appeals": True}),
    ]
    for kind, data in objects:
        result = save_object(kind, data)
        assert result.ok, (kind, result.errors)
    rules = [
        ("urgent-reports", "Urgent: reported scams", "urgent", "scams", "REPORT"),
        ("spam-reports", "Spam reports", "spam", "spam", None),
        ("harassment", "Harassment", "harassment", "harassment", None),
    ]
    for rule_id, name, queue, policy, source in rules:
        leaves = [{"input": "RELEVANT_POLICY", "comparator": "EQUALS", "threshold": policy}]
        if source:
            leaves.append({"input": "SOURCE", "comparator": "EQUALS", "threshold": source})
        rule = {
            "id": rule_id,
            "name": name,
            "itemTypes": ["post"],
            "queue": queue,
            "condition": {"all": leaves},
        }
        assert save_object("routingRules", rule).ok
    appeal = {
        "id": "repeat-appeals",
        "name": "Repeat appeals",
        "itemTypes": ["post", "user"],
        "queue": "second-appeals",
        "condition": {
            "all": [{"input": {"field": "score"}, "comparator": "GREATER_THAN", "threshold": 3}]
        },
    }
    assert save_object("appealRoutingRules", appeal).ok


@pytest.fixture
def admin_page(page, sign_in):
    seed()
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    return page


def routing_order() -> list[str]:
    return list(
        RoutingRule.objects.filter(kind="ROUTING").order_by("position").values_list("id", flat=True)
    )


def test_screenshots_of_every_page(admin_page, screenshot_dir):
    page = admin_page
    for path, name in [
        ("/item-types", "item-types"),
        ("/item-types/post/edit", "item-type-edit"),
        ("/policies", "policies"),
        ("/policies/scams/edit", "policy-edit"),
        ("/actions", "actions"),
        ("/actions/delete/edit", "action-edit"),
        ("/routing", "routing"),
        ("/routing/rules/urgent-reports/edit", "routing-rule-edit"),
        ("/routing/appeal-rules/new", "appeal-routing-rule-new"),
        ("/policies/spam/delete", "policy-delete"),
    ]:
        page.goto(path)
        page.screenshot(path=f"{screenshot_dir}/config-{name}.png", full_page=True)
    # A refused save: the file's message next to the row it names, nothing saved.
    page.goto("/item-types/post/edit")
    page.locator('[name="fields-2-name"]').fill("text")
    page.get_by_role("button", name="Save item type").click()
    expect(page.get_by_text("duplicate field 'text'")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    page.screenshot(path=f"{screenshot_dir}/config-item-type-error.png", full_page=True)


def test_a_policy_edited_in_the_tree_editor(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/policies")
    # By keyboard: the tree's entries are links; Enter opens the policy beside the tree.
    page.get_by_role("link", name="Unwanted ads", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Edit “Unwanted ads”")).to_be_visible()
    expect(page.get_by_text("Inherit from the parent (now 1)")).to_be_visible()
    weight = page.locator('input[name="strikes"]')
    expect(weight).to_be_disabled()  # inheriting: no own weight to type
    page.get_by_label("Name", exact=True).fill("Unsolicited ads")
    page.get_by_label("Parent", exact=True).select_option("harassment")
    page.get_by_label("Penalty").select_option("LOW")
    page.get_by_role("radio", name="Own weight").check()
    expect(weight).to_be_enabled()
    weight.fill("4")
    page.get_by_label("Enforcement guidelines").fill("Look at the link.\nThen decide.")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("Policy “Unsolicited ads” is saved.")).to_be_visible()
    tree = page.locator(".tree-editor__tree")
    expect(tree.get_by_role("link", name="Unsolicited ads", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    ads_node = tree.locator(".tree__node", has_text="Unsolicited ads")
    expect(ads_node.get_by_text("4 strikes")).to_be_visible()
    expect(tree.locator("li", has_text="Harassment").locator(".tree li")).to_have_count(1)
    page.screenshot(path=f"{screenshot_dir}/config-policy-saved.png", full_page=True)
    ads = Policy.objects.get(pk="ads")
    assert (ads.name, ads.parent_id, ads.penalty, ads.strikes, ads.guidelines) == (
        "Unsolicited ads",
        "harassment",
        "LOW",
        4,
        "Look at the link.\nThen decide.",
    )
    harassment = next(p for p in export_state()["policies"] if p["id"] == "harassment")
    assert harassment["children"] == [
        {
            "id": "ads",
            "name": "Unsolicited ads",
            "penalty": "LOW",
            "strikes": 4,
            "guidelines": "Look at the link.\nThen decide.",
        }
    ]

    # Add a child under it, then try to move its parent under it: refused, named.
    page.get_by_role("link", name="Add a child policy under Unsolicited ads").click()
    expect(page.get_by_label("Parent", exact=True)).to_have_value("ads")
    page.get_by_label("Name", exact=True).fill("Pop-ups")
    page.get_by_role("button", name="Create policy").click()
    expect(page.get_by_text("Policy “Pop-ups” is created.")).to_be_visible()
    assert Policy.objects.get(pk="pop-ups").parent_id == "ads"
    parent_options = page.get_by_label("Parent", exact=True).locator("option").all_inner_texts()
    assert "Pop-ups" not in " ".join(parent_options)  # not its own parent


def test_routing_rules_reordered_by_keyboard(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/routing")
    assert routing_order() == ["urgent-reports", "spam-reports", "harassment"]
    button = page.get_by_role("button", name="Move “Urgent: reported scams” down")
    button.focus()
    page.keyboard.press("Enter")
    status = page.locator("#reorder-status")
    expect(status).to_have_text("Saved: “Urgent: reported scams” is now number 2 of 3.")
    assert routing_order() == ["spam-reports", "urgent-reports", "harassment"]
    # Focus stays on the button that was pressed, so pressing again moves the rule again.
    assert page.evaluate("document.activeElement.id") == "rules-down-urgent-reports"
    page.keyboard.press("Space")
    expect(status).to_have_text("Saved: “Urgent: reported scams” is now number 3 of 3.")
    assert routing_order() == ["spam-reports", "harassment", "urgent-reports"]
    positions = page.locator("#rules .order-list__position").all_inner_texts()
    assert positions == ["1", "2", "3"]
    page.keyboard.press("Enter")
    expect(status).to_have_text("“Urgent: reported scams” is already last.")
    page.get_by_role("button", name="Move “Harassment” up").press("Enter")
    expect(status).to_have_text("Saved: “Harassment” is now number 1 of 3.")
    assert routing_order() == ["harassment", "spam-reports", "urgent-reports"]
    page.reload()  # the saved order is what the page shows
    names = page.locator("#rules .order-list__name").all_inner_texts()
    assert names == ["Harassment", "Spam reports", "Urgent: reported scams"]
    page.screenshot(path=f"{screenshot_dir}/config-routing-reordered.png", full_page=True)


def test_routing_rules_reordered_by_drag(admin_page):
    page = admin_page
    page.goto("/routing")
    items = page.locator("#rules .order-list__item")
    page.drag_and_drop(
        "#rules .order-list__item[data-id='harassment'] .order-list__handle",
        "#rules .order-list__item[data-id='urgent-reports']",
        target_position={"x": 40, "y": 5},  # the upper half: drop before it
    )
    expect(page.locator("#reorder-status")).to_have_text(
        "Saved: “Harassment” is now number 1 of 3."
    )
    assert routing_order() == ["harassment", "urgent-reports", "spam-reports"]
    expect(items.first).to_have_attribute("data-id", "harassment")
    page.drag_and_drop(
        "#rules .order-list__item[data-id='harassment']",
        "#rules .order-list__item[data-id='spam-reports']",
        target_position={"x": 40, "y": 50},  # the lower half: drop after it
    )
    expect(page.locator("#reorder-status")).to_have_text(
        "Saved: “Harassment” is now number 3 of 3."
    )
    assert routing_order() == ["urgent-reports", "spam-reports", "harassment"]


def test_item_type_fields_added_by_keyboard_offer_their_roles(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/item-types/new")
    page.get_by_label("Name", exact=True).fill("Comment")
    page.get_by_label("Field name").fill("body")  # a new type starts with one empty row
    page.get_by_role("button", name="Add field").press("Enter")
    row = page.locator('[data-rows="fields"] tbody tr').last
    expect(row.get_by_label("Field name")).to_be_focused()
    page.keyboard.type("writer")
    row = page.locator('[data-rows="fields"] tbody tr').last
    row.get_by_label("Field type").select_option("RELATED_ITEM")
    expect(row.get_by_label("Element type (ARRAY items, MAP values)")).to_be_hidden()
    creator = page.get_by_label("Creator creatorId")
    expect(creator.locator("option")).to_have_text(["—", "writer"])
    creator.select_option("writer")
    expect(page.get_by_label("Profile icon profileIcon")).to_be_hidden()  # USER types only
    page.get_by_label("Kind").select_option("USER")
    expect(page.get_by_label("Profile icon profileIcon")).to_be_visible()
    expect(page.get_by_label("Creator creatorId")).to_be_hidden()
    page.get_by_label("Kind").select_option("CONTENT")
    page.screenshot(path=f"{screenshot_dir}/config-item-type-new.png", full_page=True)
    # Enter in a text input saves (the form's default button), it does not remove a row.
    page.get_by_label("Name", exact=True).press("Enter")
    expect(page.get_by_text("Item type “Comment” is created.")).to_be_visible()
    [comment] = [t for t in export_state()["itemTypes"] if t["id"] == "comment"]
    assert comment["fields"] == [
        {"name": "body", "type": "STRING"},
        {"name": "writer", "type": "RELATED_ITEM"},
    ]
    assert comment["roles"] == {"creatorId": "writer"}


def test_send_test_delivery_shows_the_request_and_the_answer(
    admin_page, screenshot_dir, monkeypatch
):
    page = admin_page
    monkeypatch.setenv("SECRET_PLATFORM_TOKEN", "token-from-the-environment")
    with Receiver(active_signing_key().public_pem) as receiver:
        receiver.script.append(Reply(status=200, headers={"X-Request-Id": "r-1"}))
        action = {**seed_action(), "callbackUrl": f"{receiver.url}/coop/actions/delete"}
        assert save_object("actions", action).ok
        page.goto("/actions/delete/edit")
        page.get_by_role("button", name="Send test delivery").click()
        result = page.locator("#test-delivery")
        expect(result.get_by_text("HTTP 200").first).to_be_visible()
        expect(result).to_contain_text("Coop-Event: test")
        expect(result).to_contain_text("Authorization: •••••• (secret from SECRET_PLATFORM_TOKEN)")
        expect(result).to_contain_text("x-request-id: r-1")
        assert "token-from-the-environment" not in page.content()
        page.screenshot(path=f"{screenshot_dir}/config-action-test-delivery.png", full_page=True)
    receiver.check_calls()
    [request] = receiver.requests
    assert request.headers["authorization"] == "token-from-the-environment"
    assert request.headers["coop-event"] == "test"
