"""The dashboards in a real browser: the overview renders its charts, each chart's table view
opens from the keyboard, a CSV downloads; a screenshot of each page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from tests.insights.events import busy_week

from coop.accounts.services import create_user
from coop.insights.queries import truncate

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_page(page, sign_in):
    busy_week(truncate(timezone.now(), "hour"))
    create_user("admin@example.com", "Admin", PASSWORD)
    sign_in("admin@example.com", PASSWORD)
    return page


def test_the_overview_renders_its_charts(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/?range=7d&bucket=day")
    expect(page.get_by_role("heading", name="Actions taken")).to_be_visible()
    charts = page.locator("figure.chart")
    assert charts.count() == 3  # violations by policy, actions by source, decisions per moderator
    violations = page.locator(
        "figure.chart", has=page.get_by_role("heading", name="Policy violations over time")
    )
    svg = violations.get_by_role("img")
    expect(svg).to_be_visible()
    assert svg.locator("polyline").count() == 3  # Spam, Harassment, Scams
    assert svg.bounding_box()["width"] > 300
    page.screenshot(path=str(Path(screenshot_dir) / "overview.png"), full_page=True)

    # The table view, opened by keyboard, holds one row per day.
    summary = violations.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    table = violations.get_by_role("table")
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() == 7
    violations.screenshot(path=str(Path(screenshot_dir) / "overview-table-view.png"))

    with page.expect_download() as download:
        violations.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][0] == "Bucket start (UTC)"
    assert set(rows[0][1:]) == {"Spam", "Harassment", "Scams"}
    assert len(rows) == 8


def test_the_window_selector_switches_to_hourly_buckets(admin_page):
    page = admin_page
    page.goto("/")
    page.get_by_label("Time window", exact=True).select_option("24h")
    page.get_by_label("Buckets").select_option("hour")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url("/?range=24h&bucket=hour")
    violations = page.locator("figure.chart").first
    violations.locator("summary").click()
    assert violations.locator("tbody tr").count() == 24


def test_review_analytics_and_rule_insights(admin_page, screenshot_dir):
    page = admin_page
    page.goto("/insights/review?range=7d&bucket=day")
    expect(page.get_by_role("heading", name="Time to decision")).to_be_visible()
    expect(page.get_by_role("cell", name="Spam", exact=True).first).to_be_visible()
    assert page.locator("figure.chart svg").count() == 6
    page.screenshot(path=str(Path(screenshot_dir) / "review-analytics.png"), full_page=True)

    page.get_by_role("link", name="Rule insights").click()
    expect(page.get_by_role("heading", name="Rule insights", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="Crypto giveaway")).to_be_visible()
    page.screenshot(path=str(Path(screenshot_dir) / "rule-insights.png"), full_page=True)
