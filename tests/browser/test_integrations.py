"""Settings → Integrations in a real browser: saving a key, Test connection (htmx), HTTP
signals, and a refused key shown as the integration's last error."""

import pytest
from playwright.sync_api import expect

from coop.accounts.services import active_signing_key, create_user
from coop.integrations import calls
from integrations.fakes import FakeHttpSignal, FakeOpenAI, FakeZentropi

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_page(page, sign_in):
    calls.reset()
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    yield page
    calls.reset()


def test_configure_and_test_the_integrations(admin_page, screenshot_dir, monkeypatch):
    page = admin_page
    monkeypatch.setenv("SECRET_MODEL_TOKEN", "Bearer model-token")
    with (
        FakeOpenAI() as openai,
        FakeZentropi() as zentropi,
        FakeHttpSignal(
            active_signing_key().public_pem, {"Authorization": "Bearer model-token"}
        ) as model,
    ):
        page.goto("/settings/")
        page.get_by_role("link", name="Integrations").first.click()
        expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
        page.screenshot(path=f"{screenshot_dir}/integrations-empty.png", full_page=True)

        card = page.locator("#openai")
        card.get_by_text("Set up OpenAI").click()
        card.get_by_label("API key").fill(openai.key)
        card.get_by_label("Base URL").fill(openai.base_url)
        card.get_by_role("button", name="Save OpenAI").click()
        expect(page.get_by_text("OpenAI is saved.")).to_be_visible()
        card = page.locator("#openai")
        expect(card.get_by_text("Set (encrypted)")).to_be_visible()
        card.get_by_role("button", name="Test connection").click()
        expect(card.get_by_role("status")).to_contain_text("Connected: 13 category scores")
        card.screenshot(path=f"{screenshot_dir}/integrations-test-connection.png")

        zentropi.labelers["lv-grooming"] = lambda text: (0, 0.9)
        card = page.locator("#zentropi")
        card.get_by_text("Set up Zentropi").click()
        card.get_by_label("API key").fill(zentropi.key)
        card.get_by_label("Base URL").fill(zentropi.base_url)
        card.get_by_label("Labeler versions").fill("lv-grooming Grooming\nlv-retired Retired")
        card.get_by_role("button", name="Save Zentropi").click()
        card = page.locator("#zentropi")
        card.get_by_role("button", name="Test connection").click()
        expect(card.get_by_role("status")).to_contain_text("Connected: score 0.100")

        page.get_by_role("link", name="Add HTTP signal").click()
        page.get_by_label("Id").fill("toxicity")
        page.get_by_label("Name").fill("Toxicity model")
        page.get_by_label("URL").fill(f"{model.url}/score")
        page.get_by_label("Headers").fill("Authorization: !secret SECRET_MODEL_TOKEN")
        page.screenshot(path=f"{screenshot_dir}/integrations-http-signal.png", full_page=True)
        page.get_by_role("button", name="Add HTTP signal").click()
        expect(page.get_by_text("HTTP signal “Toxicity model” is added.")).to_be_visible()
        page.get_by_role("button", name="Test connection to Toxicity model").click()
        expect(page.locator("#test-signal-1")).to_contain_text("Connected: score 0.5")

        # The key is revoked at OpenAI: Test connection shows it, and so does the status.
        openai.key = "sk-rotated"
        card = page.locator("#openai")
        card.get_by_role("button", name="Test connection").click()
        expect(card.get_by_role("status")).to_contain_text("refused the credentials (HTTP 401)")
        page.reload()
        expect(page.locator("#openai").get_by_text("Failing")).to_be_visible()
        page.screenshot(path=f"{screenshot_dir}/integrations.png", full_page=True)
        page.locator("#zentropi").get_by_text("Change Zentropi settings").click()
        page.locator("#zentropi").screenshot(path=f"{screenshot_dir}/integrations-zentropi.png")
    for fake in (openai, zentropi, model):
        assert fake.problems == []
