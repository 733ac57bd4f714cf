"""The rules console in a real browser: a rule built in the condition builder by mouse and by
keyboard (a nested group), saved, then spot-tested against pasted JSON and against an item id,
with each leaf's result shown; an invalid condition marked at its field with nothing saved."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user
from coop.catalog.credentials import encrypt_credential
from coop.config.engine import export_state
from coop.config.services import save_object
from coop.rules.models import Rule
from factories import post

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"

EXPECTED = {
    "any": [
        {
            "input": {"field": "text"},
            "signal": "TEXT_MATCHING_CONTAINS_TEXT",
            "banks": ["scam-words"],
        },
        {
            "all": [
                {
                    "input": "ALL_TEXT",
                    "signal": "TEXT_MATCHING_CONTAINS_REGEX",
                    "values": [r"bit\.ly"],
                },
                {
                    "input": "AUTHOR",
                    "signal": "USER_STRIKE_VALUE",
                    "comparator": "GREATER_THAN_OR_EQUALS",
                    "threshold": 0,
                },
            ]
        },
    ]
}


def seed() -> None:
    for kind, data in (
        (
            "itemTypes",
            {
                "id": "user",
                "name": "User",
                "kind": "USER",
                "fields": [{"name": "username", "type": "STRING"}],
            },
        ),
        (
            "itemTypes",
            {
                "id": "post",
                "name": "Post",
                "kind": "CONTENT",
                "fields": [
                    {"name": "text", "type": "STRING", "required": True},
                    {"name": "images", "type": "ARRAY", "items": "IMAGE"},
                    {"name": "author", "type": "RELATED_ITEM"},
                ],
                "roles": {"creatorId": "author"},
            },
        ),
        ("policies", {"id": "spam", "name": "Spam"}),
        (
            "banks",
            {"id": "scam-words", "name": "Scam words", "kind": "TEXT", "values": ["free money"]},
        ),
        (
            "banks",
            {"id": "short-links", "name": "URL shorteners", "kind": "REGEX", "values": ["x"]},
        ),
    ):
        assert save_object(kind, data).ok


@pytest.fixture
def manager_page(page, sign_in):
    seed()
    create_user("rules@example.com", "Rules Manager", PASSWORD)
    sign_in("rules@example.com", PASSWORD)
    return page


def focused(page):
    return page.locator(":focus")


def leaf(page, number: str):
    return page.locator(".builder__leaf").filter(
        has=page.get_by_text(f"Condition {number}", exact=True)
    )


def test_a_rule_built_by_mouse_and_keyboard_saved_and_spot_tested(manager_page, screenshot_dir):
    page = manager_page
    page.goto("/rules")
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name", exact=True).fill("Scam detector")
    page.get_by_label("Post").check()

    # The top group, by mouse: "any of", one condition on the text field with a bank.
    page.get_by_label("Passes when").select_option("any")
    page.get_by_role("button", name="Add a condition to the top group").click()
    expect(focused(page)).to_have_attribute("data-focus", "0|input")
    first = leaf(page, "1")
    first.get_by_label("Input").select_option("field:text")
    signal = first.get_by_label("Signal")
    # Signals are filtered by the input's type; an unconfigured integration is shown disabled.
    expect(signal.locator("option", has_text="Geo")).to_have_count(0)
    expect(signal.locator("option", has_text="OpenAI").first).to_be_disabled()
    signal.select_option("TEXT_MATCHING_CONTAINS_TEXT")
    expect(first.get_by_label("URL shorteners")).to_have_count(0)  # a REGEX bank: not offered
    first.get_by_label("Scam words").check()

    # A nested group, by keyboard: Enter on "add a group", then its conditions.
    page.get_by_role("button", name="Add a group to the top group").focus()
    page.keyboard.press("Enter")
    expect(focused(page)).to_have_attribute("data-focus", "1|op")
    focused(page).select_option("all")
    expect(focused(page)).to_have_attribute("data-focus", "1|op")
    nested = leaf(page, "2.1")
    nested.get_by_label("Input").focus()
    focused(page).select_option("ALL_TEXT")
    nested.get_by_label("Signal").select_option("TEXT_MATCHING_CONTAINS_REGEX")
    nested.get_by_label("Or values").fill(r"bit\.ly")
    page.get_by_role("button", name="Add a condition to group 2").focus()
    page.keyboard.press("Enter")
    expect(focused(page)).to_have_attribute("data-focus", "1.1|input")
    focused(page).select_option("AUTHOR")
    strikes = leaf(page, "2.2")
    strikes.get_by_label("Signal").select_option("USER_STRIKE_VALUE")
    strikes.get_by_label("Comparison").select_option("GREATER_THAN_OR_EQUALS")
    strikes.get_by_label("Threshold").fill("0")
    # Move it up and down again by keyboard; focus follows the moved condition.
    page.get_by_role("button", name="Move condition 2.2 up").focus()
    page.keyboard.press("Enter")
    expect(focused(page)).to_have_attribute("aria-label", "Move condition 2.1 down")
    page.keyboard.press("Enter")
    expect(leaf(page, "2.2").get_by_label("Input")).to_have_value("AUTHOR")

    assert json.loads(page.locator("#id_condition").input_value()) == EXPECTED
    page.get_by_role("button", name="Check rule").click()
    expect(page.locator("#rule-validation")).to_contain_text("Valid: saving would store")
    page.screenshot(path=f"{screenshot_dir}/rules-builder.png", full_page=True)

    page.get_by_role("button", name="Create rule").click()
    expect(page).to_have_url(f"{page.url.split('/rules')[0]}/rules/scam-detector")
    assert export_state()["rules"][0]["condition"] == EXPECTED

    # Spot test on the rule page: pasted JSON, then an item by id.
    page.get_by_label("Pasted JSON").check()
    page.get_by_label("Item data (JSON)").fill('{"text": "get free money now"}')
    page.get_by_role("button", name="Run spot test").click()
    result = page.locator("#spot-result")
    expect(result).to_contain_text("The rule would fire on this item")
    expect(result.locator(".cond-leaf--result").first).to_contain_text("free money")
    page.screenshot(path=f"{screenshot_dir}/rules-spot-json.png", full_page=True)

    post("p-1", text="see bit.ly/abc", author="u-1")
    page.get_by_label("By id").check()
    page.get_by_label("Item id").fill("p-1")
    page.get_by_role("button", name="Run spot test").click()
    expect(result).to_contain_text("submission #")
    leaves = result.locator(".cond-leaf--result")
    expect(leaves.nth(0)).to_contain_text("FAILED")
    expect(leaves.nth(1)).to_contain_text("PASSED")
    expect(leaves.nth(1)).to_contain_text("bit.ly")
    expect(leaves.nth(2)).to_contain_text("Score")
    page.screenshot(path=f"{screenshot_dir}/rules-page.png", full_page=True)

    page.get_by_label("Item id").fill("nobody")
    page.get_by_role("button", name="Run spot test").click()
    expect(result).to_contain_text("Coop has no submission of item 'nobody'")

    page.goto("/rules")
    expect(page.get_by_role("link", name="Scam detector")).to_be_visible()
    page.get_by_role("button", name="Star Scam detector").click()
    expect(page.get_by_role("button", name="Star Scam detector")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.screenshot(path=f"{screenshot_dir}/rules-list.png", full_page=True)


def test_a_recommended_threshold_is_one_keypress_away(manager_page, screenshot_dir):
    assert save_object(
        "integrations", {"openai": {"apiKey": encrypt_credential("sk-test-0123456789")}}
    ).ok
    page = manager_page
    page.goto("/rules/new")
    page.get_by_role("button", name="Add a condition to the top group").click()
    first = leaf(page, "1")
    first.get_by_label("Input").select_option("field:text")
    first.get_by_label("Signal").select_option("OPEN_AI_HATE_TEXT_MODEL")
    recommended = first.get_by_role("group", name="Recommended values")
    expect(recommended).to_contain_text("≥ 0.95 (high precision)")
    recommended.get_by_role("button", name="≥ 0.9 (high recall)").focus()
    page.keyboard.press("Enter")
    expect(leaf(page, "1").get_by_label("Comparison")).to_have_value("GREATER_THAN_OR_EQUALS")
    expect(leaf(page, "1").get_by_label("Threshold")).to_have_value("0.9")
    expect(focused(page)).to_have_attribute("aria-pressed", "true")
    assert json.loads(page.locator("#id_condition").input_value())["all"][0] == {
        "input": {"field": "text"},
        "signal": "OPEN_AI_HATE_TEXT_MODEL",
        "comparator": "GREATER_THAN_OR_EQUALS",
        "threshold": 0.9,
    }
    page.screenshot(path=f"{screenshot_dir}/rules-recommended.png", full_page=True)


def test_an_invalid_condition_is_marked_at_its_field_and_nothing_is_saved(
    manager_page, screenshot_dir
):
    assert save_object(
        "rules",
        {"id": "strikes", "name": "Strikes", "itemTypes": ["post"], "condition": EXPECTED},
    ).ok
    page = manager_page
    page.goto("/rules/strikes/edit")
    strikes = leaf(page, "2.2")
    strikes.get_by_label("Threshold").fill("lots")
    strikes.get_by_label("Threshold").press("Tab")  # change: live validation
    threshold = leaf(page, "2.2").get_by_label("Threshold")
    expect(threshold).to_have_attribute("aria-invalid", "true")
    expect(leaf(page, "2.2")).to_contain_text("must be a number")
    expect(page.locator("#rule-validation")).to_contain_text("condition.any[1].all[1].threshold")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".form-error").first).to_contain_text("Nothing was saved")
    expect(leaf(page, "2.2").get_by_label("Threshold")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=f"{screenshot_dir}/rules-invalid.png", full_page=True)
    assert Rule.objects.get(pk="strikes").condition == EXPECTED
