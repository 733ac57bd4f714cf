"""Wellness in a real browser: blur and colour filters as computed by Chromium, reveal on hover,
keyboard focus and play, muted videos, and the account page's live preview."""

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user
from coop.config.services import save_object

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
IMAGE = "#wellness-preview img.wellness__media"
VIDEO = "#wellness-preview video.wellness__media"
FILTER = "e => getComputedStyle(e).filter"


@pytest.fixture
def reviewer_page(page, sign_in):
    assert save_object(
        "settings", {"wellness": {"blurLevel": 3, "colorScheme": "GRAYSCALE", "muteVideo": True}}
    ).ok
    create_user("mod@example.com", "Moderator", PASSWORD)
    sign_in("mod@example.com", PASSWORD)
    page.goto("/account")
    return page


def wait_for_filter(page, selector: str, *, has: str = "", lacks: str = "") -> str:
    """The computed filter once it has/lacks the given function (the filter has a transition)."""
    page.wait_for_function(
        """([sel, has, lacks]) => {
            const f = getComputedStyle(document.querySelector(sel)).filter;
            return f.includes(has) && !(lacks && f.includes(lacks));
        }""",
        arg=[selector, has, lacks],
    )
    return page.eval_on_selector(selector, FILTER)


def test_images_are_blurred_and_grayscale_until_hovered(reviewer_page, screenshot_dir):
    page = reviewer_page
    page.mouse.move(0, 0)
    before = page.eval_on_selector(IMAGE, FILTER)
    assert "blur(" in before
    assert "grayscale(" in before
    expect(page.get_by_text("Hover or focus to reveal")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/account.png", full_page=True)

    page.hover(IMAGE)
    after = wait_for_filter(page, IMAGE, has="grayscale(", lacks="blur(")
    assert "blur(" not in after

    page.mouse.move(0, 0)
    assert "blur(" in wait_for_filter(page, IMAGE, has="blur(")


def test_keyboard_focus_reveals_and_escape_hides_again(reviewer_page):
    page = reviewer_page
    page.mouse.move(0, 0)
    page.get_by_role("button", name="Save preferences").focus()
    page.keyboard.press("Tab")
    assert page.eval_on_selector(IMAGE, "e => e === document.activeElement")
    assert "blur(" not in wait_for_filter(page, IMAGE, lacks="blur(")
    page.keyboard.press("Escape")
    assert "blur(" in wait_for_filter(page, IMAGE, has="blur(")


def test_videos_are_muted_and_revealed_while_playing(reviewer_page):
    page = reviewer_page
    assert page.eval_on_selector(VIDEO, "v => v.muted") is True
    assert "blur(" in page.eval_on_selector(VIDEO, FILTER)
    page.hover(VIDEO)  # hovering does not reveal a video: playing it does
    assert "blur(" in page.eval_on_selector(VIDEO, FILTER)
    page.get_by_role("button", name="Play to reveal").click()
    assert "blur(" not in wait_for_filter(page, VIDEO, has="grayscale(", lacks="blur(")
    page.get_by_role("button", name="Pause").click()
    assert "blur(" in wait_for_filter(page, VIDEO, has="blur(")
    assert page.eval_on_selector(VIDEO, "v => v.paused") is True


def test_the_preview_follows_the_form_before_saving(reviewer_page):
    page = reviewer_page
    page.mouse.move(0, 0)
    page.get_by_label("Blur images and videos").select_option("0")
    page.get_by_label("Colour filter").select_option("SEPIA")
    page.get_by_label("Videos start").select_option("off")
    after = wait_for_filter(page, IMAGE, has="sepia(", lacks="blur(")
    assert "grayscale(" not in after
    assert page.eval_on_selector(VIDEO, "v => v.muted") is False
    expect(page.locator("[data-wellness-summary]")).to_have_text(
        "No blur · Sepia · videos with sound"
    )
    expect(page.get_by_text("Hover or focus to reveal")).to_be_hidden()

    page.get_by_label("Blur images and videos").select_option("")  # back to the default (3)
    assert "blur(" in wait_for_filter(page, IMAGE, has="blur(")

    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your wellness preferences are saved.")).to_be_visible()
    expect(page.locator("[data-wellness-summary]")).to_have_text(
        "Blur 3 of 6 · Sepia · videos with sound"
    )


def test_admin_sets_the_organisation_defaults(page, sign_in, screenshot_dir):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.goto("/settings/")
    page.get_by_role("link", name="Wellness").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wellness defaults")
    page.get_by_label("Blur images and videos").select_option("5")
    page.get_by_label("Colour filter").select_option("GRAYSCALE")
    page.get_by_label("Mute videos by default").check()
    page.mouse.move(0, 0)
    assert "blur(20px)" in wait_for_filter(page, IMAGE, has="grayscale(1)")
    page.screenshot(path=f"{screenshot_dir}/settings-wellness.png", full_page=True)
    page.get_by_role("button", name="Save defaults").click()
    expect(page.get_by_text("wellness defaults are saved")).to_be_visible()
    expect(page.locator("[data-wellness-summary]")).to_have_text(
        "Blur 5 of 6 · Grayscale · videos muted"
    )
