"""The dashboards as each role sees them (accounts.md's role table), their figures, and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

import factories
from coop.accounts.permissions import PREDEFINED_ROLES, Permission

ROLES = sorted(PREDEFINED_ROLES)


def has(role: str, permission: str) -> bool:
    return Permission(permission) in PREDEFINED_ROLES[role]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_dashboards_its_permissions_allow(client, seeded, role):
    client.force_login(factories.user(f"{role.replace(' ', '').lower()}@example.com", role))
    review = client.get(reverse("insights-review"))
    rules = client.get(reverse("insights-rules"))
    assert review.status_code == (200 if has(role, "VIEW_MRT_DATA") else 403)
    assert rules.status_code == (200 if has(role, "VIEW_INSIGHTS") else 403)
    for slug, needs in [
        ("violations-by-policy", ["VIEW_INSIGHTS", "VIEW_MRT_DATA"]),
        ("decisions-per-moderator", ["VIEW_MRT_DATA"]),
        ("queue-depth", ["VIEW_MRT_DATA"]),
        ("rule-passes", ["VIEW_INSIGHTS"]),
    ]:
        response = client.get(reverse("insights-csv", args=[slug]))
        assert response.status_code == (200 if any(has(role, p) for p in needs) else 403), slug
    overview = client.get("/")
    if overview.status_code == 200:
        shown = b"Actions taken" in overview.content
        assert shown == (has(role, "VIEW_INSIGHTS") or has(role, "VIEW_MRT_DATA"))
        assert (b"Decisions per moderator" in overview.content) == has(role, "VIEW_MRT_DATA")


def test_overview_counts_and_changes(admin_client, seeded):
    page = admin_client.get("/?range=24h&bucket=hour").content.decode()
    # 3 rule actions + 3 review actions in the last 24 hours, none the 24 hours before.
    assert 'id="stat-fig-1">Actions taken</h2>\n    <p class="stat__value">6</p>' in page
    assert "Policy violations over time" in page
    assert "<svg" in page
    assert "Table view" in page
    assert "Download CSV" in page
    assert "Links from new accounts" in page  # actions per rule, by name
    assert ">new<" in page  # nothing in the previous window: "new", not 0 %


def test_review_analytics_shows_time_to_decision(admin_client, seeded):
    page = admin_client.get(reverse("insights-review") + "?range=7d&bucket=day").content.decode()
    assert "Spam queue" in page
    assert "2 min" in page  # every decision came 120 s after its job


def test_rule_insights_lists_rules_with_their_rates(admin_client, seeded):
    page = admin_client.get(reverse("insights-rules")).content.decode()
    assert "Links from new accounts" in page
    assert "30.00%" in page  # 9 passes in 30 evaluations


def test_csv_holds_the_chart_numbers(admin_client, seeded):
    response = admin_client.get(
        reverse("insights-csv", args=["rule-passes"]) + "?range=24h&bucket=hour"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="rule-passes-24h-hour.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Bucket start (UTC)", "Links from new accounts"]
    assert len(rows) == 1 + 24
    assert sum(int(r[1]) for r in rows[1:]) == 9


def test_bad_window_parameters_fall_back_with_a_message(admin_client, seeded):
    response = admin_client.get(reverse("insights-rules") + "?range=5y&bucket=week")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Time window “5y” is not one of" in page
    assert "Buckets “week” must be hour or day" in page
    assert admin_client.get(reverse("insights-csv", args=["nope"])).status_code == 404


def test_names_are_escaped_in_charts(admin_client, seeded):
    from coop.rules.models import Rule

    Rule.objects.filter(pk="r1").update(name="<script>x</script>")
    page = admin_client.get(reverse("insights-rules")).content.decode()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;" in page
