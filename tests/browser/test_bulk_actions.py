"""Bulk Actions in a real browser with a real `coop worker`: 100 ids pasted (with duplicates
and unknown ones), the counts confirmed, the progress bar to done, the per-item result table,
every webhook delivered once to a local platform, and the CSV download."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from playwright.sync_api import expect

from coop.accounts.services import active_signing_key, create_user
from coop.catalog.models import Action, ItemType, Policy
from coop.enforcement.models import BulkActionJob, BulkJobStatus
from coop.ingest.models import ItemSubmission
from coop.review.models import Decision
from enforcement.receiver import Receiver
from processes import start_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def platform():
    with Receiver(active_signing_key().public_pem) as server:
        yield server
    server.check_calls()


@pytest.fixture
def world(platform):
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[{"name": "text", "type": "STRING", "required": True}],
    )
    Policy.objects.create(id="spam", name="Spam", penalty="MEDIUM")
    Action.objects.create(
        id="hide",
        name="Hide",
        callback_url=f"{platform.url}/hide",
        item_types=["post"],
        parameters=[{"name": "days", "type": "NUMBER", "required": False}],
    )
    ItemSubmission.objects.bulk_create(
        ItemSubmission(
            item_id=f"p-{i}",
            item_type_id="post",
            item_type_version=1,
            data={"text": "x"},
            source="API",
        )
        for i in range(95)
    )
    return create_user("mod@example.com", "Moderator", PASSWORD)[0]


def test_a_bulk_action_of_100_ids_with_its_result_table(
    page, sign_in, world, platform, screenshot_dir
):
    ids = [f"p-{i}" for i in range(95)] + [f"ghost-{i}" for i in range(5)]
    pasted = "\n".join(ids[:50]) + "\n" + ", ".join(ids[50:]) + "\np-0\np-1"  # 2 duplicates
    sign_in("mod@example.com", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Bulk Actions").click()
    page.get_by_label("Item ids").fill(pasted)
    page.get_by_label("Item type").select_option("post")
    page.get_by_role("checkbox", name="Hide").check()
    page.get_by_label("Policies for Hide").select_option("spam")
    page.get_by_label("days of Hide").fill("2")
    page.get_by_label("Reason").fill("Spam campaign")
    page.screenshot(path=f"{screenshot_dir}/bulk-form.png", full_page=True)
    page.get_by_role("button", name="Count and review").click()

    counts = page.get_by_label("What Coop found in the ids given")
    expect(counts).to_contain_text("Ids given102")
    expect(counts).to_contain_text("Duplicates removed2")
    expect(counts).to_contain_text("Unknown ids (not stored)5")
    page.screenshot(path=f"{screenshot_dir}/bulk-confirm.png", full_page=True)
    assert Decision.objects.count() == 0  # nothing ran yet

    worker = start_worker()
    try:
        page.get_by_role("button", name="Run on 95 ids").click()
        expect(page.get_by_role("heading", name="Done")).to_be_visible(timeout=60_000)
        results = page.get_by_role("table", name="Results by item")
        expect(results.locator("tbody tr")).to_have_count(100)
        expect(results.get_by_role("row").filter(has_text="ghost-0")).to_contain_text(
            "Unknown item"
        )
        # Webhooks are sent after the run: the page refreshes once the last one is settled.
        expect(results.get_by_role("row").filter(has_text="p-94")).to_contain_text(
            "delivered", timeout=60_000
        )
    finally:
        stop(worker)
    page.screenshot(path=f"{screenshot_dir}/bulk-results.png", full_page=True)

    job = BulkActionJob.objects.get()
    assert job.status == BulkJobStatus.DONE
    per_item = Counter(json.loads(r.body)["item"]["id"] for r in platform.requests)
    assert per_item == Counter(ids[:95])
    assert {json.loads(r.body)["custom"]["days"] for r in platform.requests} == {2}
    assert Decision.objects.filter(source="BULK").count() == 95

    with page.expect_download() as download:
        page.get_by_role("link", name="Download results CSV").click()
    with open(download.value.path()) as csv_file:
        lines = csv_file.read().splitlines()
    assert lines[0] == "Position,Item type,Item ID,Result,Reason,Deliveries"
    assert len(lines) == 101
