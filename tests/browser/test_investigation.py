"""Investigation in a real browser: look an item up, take an action from it (its callback
delivered, signed, to a local platform), and find it in Recent Decisions. Screenshots of the
investigation page and of the Strikes page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coop.accounts.services import active_signing_key, create_user
from coop.catalog.models import Action, ItemType, Policy
from coop.core.enums import ExecutionSource
from coop.enforcement.models import ActionExecution, Delivery, StrikeRecord
from coop.enforcement.tasks import deliver
from coop.ingest.models import ItemSubmission
from coop.rules.models import RuleExecution
from enforcement.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def platform():
    with Receiver(active_signing_key().public_pem) as server:
        yield server


@pytest.fixture
def world(platform):
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "author", "type": "RELATED_ITEM"},
        ],
        roles={"creatorId": "author"},
    )
    ItemType.objects.create(
        id="user", name="User", kind="USER", fields=[{"name": "name", "type": "STRING"}]
    )
    Policy.objects.create(id="spam", name="Spam", penalty="MEDIUM")
    Action.objects.create(
        id="delete",
        name="Delete",
        callback_url=f"{platform.url}/delete",
        item_types=["post"],
        applies_strikes=True,
        parameters=[{"name": "days", "type": "NUMBER", "required": False, "default": 7}],
    )
    author = {"id": "u-1", "typeId": "user"}
    for i, text in enumerate(["Buy cheap watches now", "Limited offer, click here", "hi"]):
        ItemSubmission.objects.create(
            item_id=f"p-{i}",
            item_type_id="post",
            item_type_version=1,
            data={"text": text, "author": author},
            source="API",
            creator_id="u-1",
            creator_type_id="user",
            ip_address="203.0.113.7",
        )
    ItemSubmission.objects.create(
        item_id="u-1", item_type_id="user", item_type_version=1, data={"name": "Sam"}, source="API"
    )
    RuleExecution.objects.create(
        rule_id="r-1",
        rule_version=1,
        environment="LIVE",
        submission_id=ItemSubmission.objects.get(item_id="p-0").pk,
        item_id="p-0",
        item_type_id="post",
        outcome="PASSED",
        result={
            "op": "any",
            "outcome": "PASSED",
            "children": [
                {
                    "input": {"field": "text"},
                    "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                    "outcome": "PASSED",
                    "matchedValue": {"value": "cheap watches", "index": 0},
                },
                {
                    "input": "ANY_IMAGE",
                    "signal": "IMAGE_SIMILARITY_MATCH",
                    "outcome": "INAPPLICABLE",
                },
            ],
        },
        duration_us=120,
        created_at=timezone.now(),
    )
    StrikeRecord.objects.create(
        user_id="u-2",
        user_type_id="user",
        weight=3,
        policy_id="spam",
        expires_at=timezone.now() + timedelta(days=60),
    )
    ActionExecution.objects.create(
        action_id="delete", item_id="u-2", item_type_id="user", source=ExecutionSource.STRIKE
    )
    return create_user("mod@example.com", "Moderator Manager", PASSWORD)[0]


def test_lookup_then_an_action_taken_from_it_is_in_recent_decisions(
    page, sign_in, world, platform, screenshot_dir
):
    sign_in("mod@example.com", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Investigation").click()
    page.get_by_label("Item id").fill("p-0")
    page.get_by_role("button", name="Look up", exact=True).click()
    expect(page.get_by_role("heading", name="Post p-0")).to_be_visible()
    expect(page.get_by_text("Buy cheap watches now")).to_be_visible()
    expect(page.locator("#author").get_by_text("Limited offer, click here")).to_be_visible()
    page.get_by_text("TEXT_MATCHING_CONTAINS_TEXT", exact=False).first.wait_for(state="attached")
    page.locator("summary", has_text="r-1").click()
    expect(page.get_by_text("matched “cheap watches”", exact=False)).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/investigation-item.png", full_page=True)

    panel = page.get_by_role("complementary", name="Take action")
    panel.get_by_role("checkbox", name="Delete").check()
    panel.get_by_label("Policies for Delete").select_option("spam")
    panel.get_by_label("days of Delete").fill("3")
    panel.get_by_label("Reason").fill("Watch spam")
    panel.get_by_role("button", name="Take action").click()
    expect(page.get_by_text("Done: Delete on post/p-0")).to_be_visible()
    expect(page.get_by_text("Current strikes: 1")).to_be_visible()

    deliver(delivery_ids=[str(d.pk) for d in Delivery.objects.all()])
    (request,) = platform.requests
    body = json.loads(request.body)
    assert body["item"]["id"] == "p-0"
    assert body["custom"]["days"] == 3
    assert body["actorEmail"] == "mod@example.com"
    assert body["decisionReason"] == "Watch spam"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Recent Decisions").click()
    row = page.locator("tr", has_text="post/p-0")
    expect(row).to_contain_text("Investigation")
    expect(row).to_contain_text("Watch spam")

    page.goto("/investigation?ip=203.0.113.7")
    expect(page.get_by_role("heading", name="Items from 203.0.113.7")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/investigation-ip.png", full_page=True)


def test_the_strikes_page(page, sign_in, world, screenshot_dir):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Strikes").click()
    expect(page.get_by_role("heading", name="Users by current strike total")).to_be_visible()
    expect(page.get_by_role("row", name="3 1")).to_be_visible()
    page.get_by_role("link", name="user/u-2").first.click()
    expect(page.get_by_role("heading", name="User u-2")).to_be_visible()
    page.goto("/strikes")
    page.screenshot(path=f"{screenshot_dir}/strikes.png", full_page=True)
