"""Settings pages, the signing key and the configuration history in a real browser: labels,
keyboard order, errors announced on their field, the inline diff; a screenshot of each page."""

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user, rotate_signing_key
from coop.catalog.org_settings import org_settings
from coop.config.services import save_object

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
UNLABELLED = """form => [...form.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
    .map(e => e.name)"""
ACTIVE_NAME = "() => document.activeElement.name || document.activeElement.textContent.trim()"


@pytest.fixture
def admin_page(page, sign_in):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    return page


def test_review_console_settings_by_keyboard(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/settings/review")
    form = page.locator("form.settings-form")
    assert form.evaluate(UNLABELLED) == []

    # Tab order follows the page: the four switches, the callback URL, the lease, Save.
    page.get_by_label("Require a policy for every action").focus()
    order = [page.evaluate(ACTIVE_NAME)]
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate(ACTIVE_NAME))
    assert order == [
        "require_policy",
        "require_reason_on_action",
        "require_reason_on_ignore",
        "hide_skip",
        "ignore_callback_url",
        "lease_seconds",
        "Save",
    ]

    # A bad value: the file validator's message, on the field, which says it is invalid.
    page.get_by_label("Require a policy for every action").focus()
    page.keyboard.press("Space")
    lease = page.get_by_label("Lease length (seconds)")
    lease.fill("30")
    lease.press("Enter")
    expect(lease).to_have_attribute("aria-invalid", "true")
    error = page.locator("#id_lease_seconds_error")
    expect(error).to_contain_text("settings.review.leaseSeconds: must be from 60 to 86400")
    assert "id_lease_seconds_error" in lease.get_attribute("aria-describedby")
    page.screenshot(path=f"{screenshot_dir}/settings-review-error.png", full_page=True)
    assert org_settings()["review"]["requirePolicyForDecisions"] is False  # nothing saved

    lease.fill("900")
    lease.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Review Console settings are saved")
    expect(page.get_by_label("Require a policy for every action")).to_be_checked()
    assert org_settings()["review"]["leaseSeconds"] == 900
    assert org_settings()["review"]["requirePolicyForDecisions"] is True
    page.screenshot(path=f"{screenshot_dir}/settings-review.png", full_page=True)


def test_history_shows_the_change_inline(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/settings/organization")
    page.get_by_label("Organisation name").fill("Example Inc.")
    page.get_by_label("On-call alert email").fill("oncall@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("details are saved")
    page.screenshot(path=f"{screenshot_dir}/settings-organization.png", full_page=True)

    assert save_object("policies", {"id": "spam", "name": "Spam", "penalty": "LOW"}).ok
    page.goto("/settings/history")
    assert page.locator("form.filters").evaluate(UNLABELLED) == []
    rows = page.locator("table.history tbody tr:not(.history__diff)")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("admin@example.com")
    expect(rows.nth(1)).to_contain_text("organization.name")

    # Keyboard: the row's link loads the diff below the row (htmx), without leaving the page.
    link = rows.nth(1).get_by_role("link", name="Show changes")
    link.focus()
    page.keyboard.press("Enter")
    diff = page.locator("table.history pre.diff")
    expect(diff).to_contain_text("+   name: Example Inc.")
    expect(diff).to_contain_text("−   name: Coop")
    assert page.url.endswith("/settings/history")
    page.screenshot(path=f"{screenshot_dir}/settings-history.png", full_page=True)

    # Filter by kind with the keyboard.
    page.get_by_label("Kind").select_option("policies")
    page.get_by_role("button", name="Filter").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("spam")

    # The change's own page.
    page.goto(rows.first.get_by_role("link", name="Show changes").get_attribute("href"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Create: Policies spam")
    page.screenshot(path=f"{screenshot_dir}/settings-history-change.png", full_page=True)


def test_the_other_settings_pages(admin_page, screenshot_dir):
    page = admin_page
    user_type = {"id": "user", "name": "User", "kind": "USER", "fields": []}
    assert save_object("itemTypes", user_type).ok
    ban = {
        "id": "ban",
        "name": "Ban",
        "callbackUrl": "https://platform.example/ban",
        "itemTypes": ["user"],
        "parameters": [{"name": "days", "type": "NUMBER", "required": True}],
    }
    assert save_object("actions", ban).ok
    thresholds = [
        {"score": 5, "actions": ["coop.manual-review-author"]},
        {"score": 20, "actions": [{"id": "ban", "parameters": {"days": 30}}]},
    ]
    appeals = {
        "enabled": True,
        "callbackUrl": "https://platform.example/coop/appeals",
        "headers": {"Authorization": {"secret": "SECRET_PLATFORM_APPEALS_TOKEN"}},
        "body": {"source": "coop"},
    }
    partial = {
        "endpoint": "https://platform.example/coop/items",
        "headers": {"X-Api-Key": {"secret": "SECRET_PLATFORM_ITEMS_KEY"}},
    }
    settings = {"strikes": {"thresholds": thresholds}, "appeals": appeals, "partialItems": partial}
    assert save_object("settings", settings).ok

    for path, name in [
        ("/settings/appeals", "settings-appeals"),
        ("/settings/strikes", "settings-strikes"),
        ("/settings/partial-items", "settings-partial-items"),
        ("/settings/", "settings-index"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        form = page.locator("form.settings-form")
        if form.count():
            assert form.evaluate(UNLABELLED) == [], path
        page.screenshot(path=f"{screenshot_dir}/{name}.png", full_page=True)

    # Strikes: a parameter error lands on its row's parameters field.
    page.goto("/settings/strikes")
    page.get_by_label("Threshold 2 action parameters (JSON)").fill("")
    page.get_by_role("button", name="Save").click()
    field = page.get_by_label("Threshold 2 action parameters (JSON)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("table.table--form")).to_contain_text(
        "settings.strikes.thresholds[1].actions[0].parameters: missing required parameter 'days'"
    )
    page.screenshot(path=f"{screenshot_dir}/settings-strikes-error.png", full_page=True)


def test_signing_key_page_and_rotation(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/settings/signing-key")
    expect(page.get_by_role("heading", name="Current key")).to_be_visible()
    page.get_by_role("link", name="Rotate…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotate the webhook signing key?")
    page.screenshot(path=f"{screenshot_dir}/settings-signing-key-rotate.png", full_page=True)
    page.get_by_role("button", name="Rotate signing key").click()
    expect(page.get_by_role("status")).to_contain_text("signing key was rotated")
    expect(page.get_by_role("heading", name="Previous key")).to_be_visible()
    expect(page.locator("#snippet-python")).to_contain_text("COOP_PUBLIC_KEYS")
    page.screenshot(path=f"{screenshot_dir}/settings-signing-key.png", full_page=True)
    rotate_signing_key()  # every key retired in the last 24 hours stays listed
    page.reload()
    expect(page.get_by_role("heading", name="Previous key")).to_have_count(2)
