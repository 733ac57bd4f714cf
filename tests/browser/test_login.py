import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_moderator_signs_in_and_sees_only_permitted_navigation(page, sign_in, screenshot_dir):
    create_user("mod@example.com", "Moderator", PASSWORD)
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    page.screenshot(path=f"{screenshot_dir}/login.png")

    sign_in("mod@example.com", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation).to_contain_text("Overview")
    expect(navigation).not_to_contain_text("Settings")  # MANAGE_ORG only
    expect(page.get_by_text("mod@example.com", exact=True)).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/overview.png", full_page=True)


def test_wrong_password_is_refused_without_saying_why(page, sign_in):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", "not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url("/login")


def test_admin_signs_out(page, sign_in):
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.get_by_role("button", name="Sign out").click()
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
