"""The console's navigation, each entry shown only to users holding its permission."""

from __future__ import annotations

from dataclasses import dataclass

from coop.accounts.permissions import Permission


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission | None
    active: bool = False


NAVIGATION: list[NavItem] = [
    NavItem("Overview", "/", None),
]


def navigation_for(user, current_path: str) -> list[NavItem]:
    items = []
    for item in NAVIGATION:
        if item.permission is None or user.has_permission(item.permission):
            active = current_path == item.path or (
                item.path != "/" and current_path.startswith(item.path)
            )
            items.append(NavItem(item.label, item.path, item.permission, active))
    return items
