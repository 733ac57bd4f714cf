"""The NCMEC job view when the platform did not give the user's data (partial items): the job
is shown with what Coop stored, and the Media section says which item is missing and why.
Screenshot of that notice."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from browser.test_ncmec_view import PASSWORD
from childsafety.conftest import catalog, store
from coop.accounts.services import create_user
from coop.childsafety.jobs import enqueue_user
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.review.models import JobSource
from factories import queue
from platform_fake import configured_platform

__all__ = ["catalog"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(catalog, monkeypatch):
    yield from configured_platform(monkeypatch)


def test_the_job_says_which_data_the_platform_did_not_give(
    page, sign_in, platform, live_server, screenshot_dir
):
    cs = create_user("cs@example.com", "Child Safety Moderator", PASSWORD)[0]
    queue("ncmec", [cs], name="NCMEC review")
    assert save_object("ncmec", {"defaultQueue": "ncmec"}).ok
    sample = f"{live_server.url}/static/coop/wellness-sample"
    store("p-1", images=[f"{sample}.svg?1"], text="look")  # its author u-1 is not stored
    with transaction.atomic():
        job = enqueue_user(ItemRef("p-1", "post"), JobSource.RULE)
    sign_in("cs@example.com", PASSWORD)
    page.goto(f"/jobs/{job.pk}")
    notice = page.get_by_role("note").filter(has_text="Some items are missing")
    expect(notice).to_contain_text("user/u-1: the platform did not return this item")
    expect(page.locator("[data-media-card]")).to_have_count(1)
    page.screenshot(path=f"{screenshot_dir}/ncmec-job-missing-data.png", full_page=True)
    assert platform.asked() == [[{"id": "u-1", "typeId": "user"}]]
