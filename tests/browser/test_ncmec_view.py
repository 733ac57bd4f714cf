"""The NCMEC job view in a real browser (headless Chromium): Start Reviewing the NCMEC queue,
classify media and pick messages with the keyboard only, a refused submission shown at its
field, Submit to NCMEC, Recent Decisions. Screenshots of the job view, a refusal, the
settings page and the overview."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from childsafety.conftest import catalog, enable_reporting, store
from coop.accounts.services import create_user
from coop.childsafety.jobs import enqueue_user
from coop.childsafety.models import NcmecReport
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.review.models import Decision, JobSource
from factories import queue

__all__ = ["catalog"]

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def ncmec_job(catalog, live_server):
    """An NCMEC queue worked by cs@example.com, reporting enabled, wellness on, and u-1's
    job: three images and a video (the shipped harmless samples), one thread."""
    cs = create_user("cs@example.com", "Child Safety Moderator", PASSWORD)[0]
    create_user("admin@example.com", "Admin", PASSWORD)
    queue("ncmec", [cs], name="NCMEC review")
    enable_reporting(mediaReview={"mode": "ALL"})
    assert save_object(
        "settings", {"wellness": {"blurLevel": 4, "colorScheme": "GRAYSCALE", "muteVideo": True}}
    ).ok
    sample = f"{live_server.url}/static/coop/wellness-sample"
    store("u-1", "user", author=None, name="Sam Sample", avatar=f"{sample}.svg?profile")
    store("m-0", "message", text="hey, how old are you?", author="u-1", thread="t-1")
    store("p-1", images=[f"{sample}.svg?1", f"{sample}.svg?2"], text="look", thread="t-1")
    store("m-1", "message", text="please stop", author="u-2", thread="t-1")
    store("p-2", video=f"{sample}.webm", text="a video")
    with transaction.atomic():
        return enqueue_user(ItemRef("p-1", "post"), JobSource.RULE)


def classify(page, letter: str) -> None:
    """Next media item (j), then choose in its list by the first letter, as a person would."""
    page.keyboard.press("j")
    page.keyboard.press(letter)


def test_a_reviewer_submits_to_ncmec_with_the_keyboard(page, sign_in, ncmec_job, screenshot_dir):
    sign_in("cs@example.com", PASSWORD)
    expect(page.get_by_role("link", name="user/u-1")).to_be_visible()  # the overview's list
    page.screenshot(path=f"{screenshot_dir}/overview-ncmec.png", full_page=True)
    page.goto("/queues")
    page.get_by_role("button", name="Start Reviewing NCMEC review").click()
    page.wait_for_url(f"**/jobs/{ncmec_job.pk}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("NCMEC review: User")
    cards = page.locator("[data-media-card]")
    expect(cards).to_have_count(4)
    # Wellness applies to every media item: blurred and grayscale until revealed.
    image = cards.first.locator("img.wellness__media")
    page.wait_for_function(
        "e => getComputedStyle(e).filter.includes('grayscale')", arg=image.element_handle()
    )
    page.screenshot(path=f"{screenshot_dir}/ncmec-job.png", full_page=True)

    # One left unclassified: the server refuses at the media section, nothing is written.
    classify(page, "A")  # A1
    page.keyboard.press("Tab")  # its first file annotation
    page.keyboard.press("Space")
    classify(page, "N")  # Not relevant
    classify(page, "B")  # B1
    page.keyboard.press("t")
    page.keyboard.press("Space")  # the first incident type
    page.keyboard.press("e")
    page.keyboard.type("Ongoing contact with a minor")
    page.get_by_role("button", name="Submit to NCMEC").click()
    error = page.locator("#error-media")
    expect(error).to_contain_text("requires every media item (4)")
    expect(error).to_be_focused()
    page.screenshot(path=f"{screenshot_dir}/ncmec-job-refused.png", full_page=True)
    assert not NcmecReport.objects.exists()

    # The choices came back; classify the last one, add a message, submit.
    expect(page.get_by_label("Classification").nth(0)).to_have_value("A1")
    page.get_by_label("Classification").nth(3).focus()
    page.keyboard.press("N")
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("m")
    page.keyboard.press("Space")
    expect(page.locator("[data-first-message]")).to_be_checked()
    page.get_by_role("button", name="Submit to NCMEC").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Submitted to NCMEC")).to_be_visible()
    report = NcmecReport.objects.get()
    media = report.draft["media"]
    assert [(m["classification"], m["annotations"]) for m in media] == [
        ("A1", ["animeDrawingVirtualHentai"]),
        ("B1", []),
    ]
    assert [m["message"]["id"] for m in report.draft["messages"]] == ["m-0"]
    assert report.draft["escalateReason"] == "Ongoing contact with a minor"
    assert Decision.objects.get(job=ncmec_job).types == ["NCMEC_REPORT"]

    page.goto("/decisions")
    expect(page.get_by_text("Submit to NCMEC: Child Pornography")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/decisions-ncmec.png", full_page=True)


def test_the_settings_page(page, sign_in, ncmec_job, screenshot_dir):
    sign_in("admin@example.com", PASSWORD)
    page.goto("/settings/")
    page.locator("#content").get_by_role("link", name="NCMEC").click()  # Settings → NCMEC
    expect(page.get_by_role("heading", name="Reporting is enabled")).to_be_visible()
    expect(page.get_by_text("Stored password: set (encrypted).")).to_be_visible()
    page.get_by_label("Legal URL").fill("not a url")
    page.get_by_role("button", name="Save NCMEC settings").click()
    expect(page.get_by_text("must be an http(s) URL")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/settings-ncmec.png", full_page=True)
