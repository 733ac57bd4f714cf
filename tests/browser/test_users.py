"""Users, invites, password reset and roles in the browser (issue 10): invite → accept → sign
in, and password reset end to end, both with the links read out of the emails a real local SMTP
server received (the reset email sent by a real `coop worker`); deactivation ends a live
session; a custom role created on the matrix (by keyboard) takes effect. Screenshots of every
page are saved (COOP_SCREENSHOTS)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from coop.accounts.models import Role, User
from coop.accounts.services import create_user
from processes import start_worker, stop
from smtp_server import SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely new passphrase"


@pytest.fixture
def smtp(settings, live_server):
    with SmtpServer() as server:
        settings.COOP_EMAIL_URL = server.url
        settings.BASE_URL = live_server.url  # links in emails point at this console
        yield server


@pytest.fixture
def other_page(browser, live_server):
    """A second person's browser."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in_on(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_invite_accept_and_sign_in(page, sign_in, other_page, smtp, screenshot_dir):
    create_user("admin@example.com", "Admin", PASSWORD)
    create_user("ext@example.com", "External Moderator", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url("/settings/users")
    page.get_by_label("Email", exact=True).fill("nia@example.com")
    page.get_by_label("Role", exact=True).select_option("Moderator")
    page.get_by_role("button", name="Send invite").click()
    expect(page.get_by_role("status")).to_contain_text("Invite sent to nia@example.com")
    row = page.get_by_role("row", name=re.compile("nia@example.com"))
    expect(row).to_contain_text("Invited")
    page.screenshot(path=f"{screenshot_dir}/users.png", full_page=True)

    [received] = smtp.wait(1)
    assert received.rcpt_tos == ["nia@example.com"]
    other_page.goto(received.link)
    expect(other_page.get_by_role("heading", name="Join Coop")).to_be_visible()
    expect(other_page.get_by_text("nia@example.com")).to_be_visible()
    other_page.get_by_label("Your name").fill("Nia Nakamura")
    other_page.get_by_label("Password", exact=True).fill("short")
    other_page.get_by_label("Repeat the password").fill("short")
    other_page.get_by_role("button", name="Create my account").click()
    expect(other_page.locator(".field--invalid")).to_contain_text("too short")
    other_page.screenshot(path=f"{screenshot_dir}/accept-invite-error.png", full_page=True)
    other_page.get_by_label("Password", exact=True).fill(PASSWORD)
    other_page.get_by_label("Repeat the password").fill(PASSWORD)
    other_page.get_by_role("button", name="Create my account").click()
    expect(other_page).to_have_url("/login")
    expect(other_page.get_by_role("status")).to_contain_text("Your account is ready")
    sign_in_on(other_page, "nia@example.com")
    expect(other_page.get_by_role("navigation", name="Main")).to_contain_text("Review Console")
    expect(other_page.get_by_text("Moderator", exact=True)).to_be_visible()

    # The used link now gets the clear, account-free answer.
    other_page.goto(received.link)
    expect(other_page.get_by_role("heading", name="This invite link does not work")).to_be_visible()
    other_page.screenshot(path=f"{screenshot_dir}/invite-link-invalid.png", full_page=True)
    page.reload()
    expect(page.get_by_role("row", name=re.compile("nia@example.com"))).to_contain_text("Active")


def test_invite_link_shown_once_without_an_email_service(page, sign_in, settings, screenshot_dir):
    settings.COOP_EMAIL_URL = ""
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    page.goto("/settings/users")
    page.get_by_label("Email", exact=True).fill("sam@example.com")
    page.get_by_role("button", name="Send invite").click()
    expect(page.locator(".field--invalid")).to_contain_text("This field is required")  # role
    page.get_by_label("Role", exact=True).select_option("Analyst")
    page.get_by_role("button", name="Send invite").click()
    link = page.get_by_label("Link to copy")
    expect(link).to_have_value(re.compile(r"/invite/[A-Za-z0-9_-]{43}$"))
    page.screenshot(path=f"{screenshot_dir}/users-invite-link.png", full_page=True)
    page.goto("/settings/users")
    expect(page.get_by_label("Link to copy")).to_have_count(0)


def test_password_reset_end_to_end(page, live_server, smtp, screenshot_dir):
    create_user("ana@example.com", "Moderator", PASSWORD)
    worker = start_worker(COOP_EMAIL_URL=smtp.url, COOP_BASE_URL=live_server.url)
    try:
        page.goto("/login")
        page.get_by_role("link", name="Forgot password?").click()
        expect(page).to_have_url("/password-reset")
        page.screenshot(path=f"{screenshot_dir}/password-reset.png", full_page=True)
        page.get_by_label("Email").fill("ana@example.com")
        page.get_by_role("button", name="Send reset link").click()
        expect(page.get_by_role("status")).to_contain_text("an email with a reset link")
        page.screenshot(path=f"{screenshot_dir}/password-reset-sent.png", full_page=True)
        [received] = smtp.wait(1, seconds=60)  # the worker looked the account up and sent it
    finally:
        stop(worker)
    assert received.rcpt_tos == ["ana@example.com"]
    assert "expires at" in received.body
    page.goto(received.link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill("not the same")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".field--invalid")).to_contain_text("The two passwords differ")
    page.screenshot(path=f"{screenshot_dir}/password-reset-confirm.png", full_page=True)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    sign_in_on(page, "ana@example.com", PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()  # the old password no longer works
    sign_in_on(page, "ana@example.com", NEW_PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(received.link)
    expect(page.get_by_role("heading", name="This reset link does not work")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/password-reset-invalid.png", full_page=True)


def test_change_password_on_the_account_page(page, sign_in, other_page, screenshot_dir):
    create_user("ana@example.com", "Moderator", PASSWORD)
    sign_in_on(other_page, "ana@example.com")
    sign_in("ana@example.com", PASSWORD)
    page.goto("/account")
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current password").fill("wrong one, long")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".field--invalid")).to_contain_text("not your current password")
    page.screenshot(path=f"{screenshot_dir}/account-password.png", full_page=True)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url("/account")
    expect(page.get_by_role("status")).to_contain_text("other sessions are signed out")
    other_page.goto("/account")
    expect(other_page).to_have_url("/login?next=/account")


def test_deactivation_ends_a_live_session(page, sign_in, other_page):
    create_user("admin@example.com", "Admin", PASSWORD)
    create_user("mod@example.com", "Moderator", PASSWORD)
    sign_in_on(other_page, "mod@example.com")
    other_page.goto("/queues")
    expect(other_page.get_by_role("heading", level=1)).to_be_visible()

    sign_in("admin@example.com", PASSWORD)
    page.goto("/settings/users")
    page.get_by_role("button", name="Deactivate mod@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("signed out everywhere")
    expect(page.get_by_role("row", name=re.compile("mod@example.com"))).to_contain_text(
        "Deactivated"
    )

    other_page.reload()
    expect(other_page).to_have_url("/login?next=/queues")
    sign_in_on(other_page, "mod@example.com")
    expect(other_page.get_by_role("alert")).to_contain_text("do not match an active account")

    page.get_by_role("button", name="Reactivate mod@example.com").click()
    sign_in_on(other_page, "mod@example.com")
    expect(other_page.get_by_role("navigation", name="Main")).to_be_visible()


def test_a_custom_role_made_on_the_matrix_takes_effect(page, sign_in, other_page, screenshot_dir):
    create_user("admin@example.com", "Admin", PASSWORD)
    create_user("lee@example.com", "External Moderator", PASSWORD)
    sign_in_on(other_page, "lee@example.com")
    other_page.goto("/queues/new")
    expect(other_page.get_by_text("access to this page")).to_be_visible()

    sign_in("admin@example.com", PASSWORD)
    page.goto("/settings/roles")
    page.get_by_label("Name", exact=True).fill("Queue Leads")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("status")).to_contain_text("Role “Queue Leads” created")
    # Keyboard only: from VIEW_MRT's box, Space ticks it; three rows down is EDIT_MRT_QUEUES.
    box = page.get_by_label("Queue Leads: VIEW_MRT", exact=True)
    box.focus()
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Queue Leads: EDIT_MRT_QUEUES")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("External Moderator: EDIT_MRT_QUEUES")).to_be_focused()
    page.get_by_role("button", name="Save permissions").click()
    expect(page.get_by_role("status")).to_contain_text("Saved “Queue Leads”")
    assert set(Role.objects.get(name="Queue Leads").permissions) == {"VIEW_MRT", "EDIT_MRT_QUEUES"}
    page.screenshot(path=f"{screenshot_dir}/roles.png", full_page=True)

    page.goto("/settings/users")
    page.get_by_label("Role of lee@example.com", exact=True).select_option("Queue Leads")
    page.get_by_role("button", name="Change role of lee@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("lee@example.com is now Queue Leads")
    other_page.reload()  # the next request of the running session
    expect(other_page.get_by_role("heading", level=1)).not_to_contain_text("access")
    expect(other_page.get_by_label("Name", exact=True)).to_be_visible()
    assert User.objects.get(email="lee@example.com").role.name == "Queue Leads"

    # In use, the role cannot be deleted; the refusal names the user.
    page.goto("/settings/roles")
    page.get_by_role("button", name="Delete the role Queue Leads").click()
    expect(page.get_by_role("status")).to_contain_text("is the role of lee@example.com")
