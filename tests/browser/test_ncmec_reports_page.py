"""The NCMEC Reports pages in a real browser: a failed report retried with the keyboard alone,
the reviewer's notice, and screenshots of the list, a failed report and a filed one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from childsafety import cybertip_world as world
from childsafety.cybertip_world import drive
from coop.accounts.services import create_user
from coop.childsafety.models import NcmecReport
from coop.childsafety.reporting import start_report
from coop.testing.fake_cybertip import FakeCyberTip
from media.server import MediaHost, serve

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def reports(settings):
    settings.COOP_NCMEC_RETRY_SCHEDULE = []
    reviewer, _ = create_user("cs@example.com", "Child Safety Moderator", PASSWORD)
    with FakeCyberTip(world.USERNAME, world.PASSWORD) as fake, MediaHost() as media:
        settings.NCMEC_CYBERTIP_URL = fake.url
        media.routes["/photos/beach%20day.jpg"] = serve(world.image(1), "image/jpeg")
        media.routes["/photos/2.jpg"] = serve(world.image(2), "image/jpeg")
        world.items(media.url)
        world.ncmec_settings()
        filed = drive(start_report(world.draft(media.url), reviewer))
        fake.fail("/fileinfo", status=200, code=1300, description="Update failed")
        failed = drive(start_report(world.draft(media.url, messages=False), reviewer))
        waiting = start_report(world.draft(media.url, media=1), reviewer)
    return {"filed": filed, "failed": failed, "waiting": waiting}


def test_a_failed_report_is_retried_with_the_keyboard(page, sign_in, reports, screenshot_dir):
    sign_in("cs@example.com", PASSWORD)
    page.goto("/ncmec")
    expect(page.get_by_role("heading", name="NCMEC reports")).to_be_visible()
    expect(page.get_by_text("A CyberTip report you submitted could not be filed.")).to_be_visible()
    expect(page.get_by_text("Failed at:")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/ncmec-reports.png", full_page=True)

    failed = reports["failed"]
    page.goto(f"/ncmec/{failed.pk}")
    expect(
        page.get_by_role("heading", name="Failed at: Describe media 1 of 2 (/fileinfo)")
    ).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/ncmec-report-failed.png", full_page=True)

    # Tab to Retry (no mouse) and press Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused == "Retry":
            break
    else:
        pytest.fail("Retry cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(page.get_by_text("filing the report again from the step that failed")).to_be_visible()
    expect(page.locator(".ncmec-status").first).to_have_text("Queued")
    failed.refresh_from_db()
    assert failed.status == "QUEUED"
    expect(page.get_by_text("could not be filed")).to_have_count(0)

    filed = reports["filed"]
    page.goto(f"/ncmec/{filed.pk}")
    expect(
        page.get_by_role("heading", name=re.compile(f"CyberTip report {filed.report_id}"))
    ).to_be_visible()
    page.get_by_text("fileDetails XML of beach day.jpg").click()
    page.screenshot(path=f"{screenshot_dir}/ncmec-report-filed.png", full_page=True)
    assert NcmecReport.objects.count() == 3
