"""The console's navigation (review.md, console addresses).

Entries name URL patterns, not paths: an entry appears once a page with that URL name exists,
and only to users who pass that page's own `require_permission` check, so the navigation can
never disagree with the server-side permission. A new page is linked by adding one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, resolve, reverse

from coop.accounts.access import can_open


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    children: tuple[NavItem, ...] = ()  # a section (Settings) is shown if any child is


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool


SETTINGS: tuple[NavItem, ...] = (
    NavItem("Organisation", "settings-organization"),
    NavItem("Review Console", "settings-review"),
    NavItem("Appeals", "settings-appeals"),
    NavItem("Strikes", "settings-strikes"),
    NavItem("Partial items", "settings-partial-items"),
    NavItem("Item types", "item-types"),
    NavItem("Actions", "actions"),
    NavItem("API keys", "settings-api-keys"),
    NavItem("Signing key", "settings-signing-key"),
    NavItem("Integrations", "settings-integrations"),
    NavItem("Wellness", "settings-wellness"),
    NavItem("NCMEC", "settings-ncmec"),
    NavItem("SSO", "settings-sso"),
    NavItem("Users", "settings-users"),
    NavItem("Roles", "settings-roles"),
    NavItem("History", "settings-history"),
)

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Overview", "overview"),
    NavItem("Review analytics", "insights-review"),
    NavItem("Rule insights", "insights-rules"),
    NavItem("Review Console", "queues"),
    NavItem("Recent Decisions", "decisions"),
    NavItem("Investigation", "investigation"),
    NavItem("Bulk Actions", "bulk-actions"),
    NavItem("Strikes", "strikes"),
    NavItem("Rules", "rules"),
    NavItem("Banks", "banks"),
    NavItem("Policies", "policies"),
    NavItem("Routing", "routing"),
    NavItem("NCMEC", "ncmec"),
    NavItem("Deliveries", "deliveries"),
    NavItem("Settings", "settings", SETTINGS),
    NavItem("Account", "account"),
)


def _url(item: NavItem) -> str | None:
    try:
        return reverse(item.url_name)
    except NoReverseMatch:
        return None


def links_for(user, items: tuple[NavItem, ...], current_path: str = "") -> list[Link]:
    """The entries of `items` whose page exists and which `user` may open."""
    links = []
    for item in items:
        url = _url(item)
        if url is None or not can_open(user, resolve(url).func):
            continue
        if item.children and not links_for(user, item.children):
            continue
        active = current_path == url or (url != "/" and current_path.startswith(url))
        links.append(Link(item.label, url, active))
    return links


def navigation_for(user, current_path: str) -> list[Link]:
    return links_for(user, NAVIGATION, current_path)
