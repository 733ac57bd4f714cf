"""Backtest and retroaction in the browser (issue 11): a backtest started from its form, its
progress bar advancing (polled by htmx while a real `coop worker` works it) to completion and
the result; a retroaction confirmed with its count. Screenshots of every page are saved
(COOP_SCREENSHOTS)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user
from coop.rules.models import RuleRun
from processes import start_worker, stop
from rules.runs_helpers import config, held_sample, run_steps, store
from rules.test_engine import apply

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def test_backtest_with_progress_to_completion(page, sign_in, screenshot_dir):
    create_user("ana@example.com", "Analyst", PASSWORD)
    apply(config("DRAFT"))
    ids = store(100)  # 34 pass
    sign_in("ana@example.com", PASSWORD)
    page.goto("/rules/scam/backtest")
    expect(page.get_by_role("heading", name="Backtest: Scam detector")).to_be_visible()
    page.get_by_label("Submitted before").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Start backtest").click()
    expect(page.locator(".field--invalid")).to_contain_text("The window must end after it starts.")
    page.screenshot(path=f"{screenshot_dir}/backtest-start-invalid.png", full_page=True)
    page.goto("/rules/scam/backtest")
    page.get_by_label("Submissions to evaluate").fill("100")
    page.screenshot(path=f"{screenshot_dir}/backtest-start.png", full_page=True)
    page.get_by_role("button", name="Start backtest").click()
    expect(page).to_have_url(re.compile(r"/backtests/\d+$"))
    run = RuleRun.objects.get()
    progress = page.get_by_role("progressbar", name="Submissions evaluated")
    expect(progress).to_have_attribute("value", "0")
    expect(page.get_by_text("Waiting for a worker")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/backtest-waiting.png", full_page=True)

    # The worker evaluates 10 submissions a step; it is held in the fifth step (post 45's
    # sample) so the page shows the bar part way, then let go to finish.
    worker = start_worker(COOP_BACKTEST_CHUNK="10", COOP_FETCH_ALLOW_PRIVATE="1")
    try:
        with held_sample(run.pk, ids[45]):
            expect(progress).to_have_attribute("value", "40", timeout=60_000)
            expect(page.get_by_text("40 of 100 submissions evaluated (40%)")).to_be_visible()
            expect(page.locator(".badge", has_text="Running")).to_be_visible()
            page.screenshot(path=f"{screenshot_dir}/backtest-running.png", full_page=True)
        expect(progress).to_have_attribute("value", "100", timeout=30_000)
    finally:
        stop(worker)
    expect(page.locator(".badge", has_text="Complete")).to_be_visible()
    expect(page.get_by_text("100 of 100 submissions evaluated")).to_be_visible()
    expect(page.locator(".stat", has_text="Pass rate")).to_contain_text("34.00%")
    expect(page.get_by_role("button", name="Cancel backtest")).to_have_count(0)
    samples = page.locator(".run-samples tbody tr")
    expect(samples).to_have_count(34)
    expect(samples.first).to_contain_text("post/post-0")
    expect(samples.first).to_contain_text("scam offer 0")
    page.screenshot(path=f"{screenshot_dir}/backtest-complete.png", full_page=True)
    page.goto("/rules/scam/backtest")
    expect(page.get_by_role("link", name=f"#{run.pk}")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/backtest-past-runs.png", full_page=True)


def test_retroaction_confirmed_with_its_count(page, sign_in, screenshot_dir):
    create_user("rm@example.com", "Rules Manager", PASSWORD)
    apply(config("LIVE"))
    store(30)
    sign_in("rm@example.com", PASSWORD)
    page.goto("/rules/scam/retroaction")
    page.get_by_label("Submissions to evaluate").fill("20")
    page.screenshot(path=f"{screenshot_dir}/retroaction-start.png", full_page=True)
    page.get_by_role("button", name="Count submissions").click()
    expect(page.get_by_role("heading", name="20 submissions will be evaluated")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/retroaction-confirm.png", full_page=True)
    page.get_by_role("button", name="Run retroaction on 20 submissions").click()
    expect(page).to_have_url(re.compile(r"/retroactions/\d+$"))
    run_steps()  # the worker's steps, in this process
    expect(page.locator(".badge", has_text="Complete")).to_be_visible(timeout=10_000)
    expect(page.locator(".stat", has_text="Actions executed")).to_contain_text(
        str(RuleRun.objects.get().actions_executed)
    )
    page.screenshot(path=f"{screenshot_dir}/retroaction-complete.png", full_page=True)
