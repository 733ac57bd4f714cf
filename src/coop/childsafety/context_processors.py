"""The console notice of failed CyberTip reports (coop.childsafety.notifications): shown on
every page to the reviewer who submitted them, until they are filed."""

from __future__ import annotations

from django.http import HttpRequest

from coop.accounts.permissions import Permission
from coop.childsafety.notifications import failed_reports_of


def ncmec_notices(request: HttpRequest) -> dict[str, int]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not user.has_permission(Permission.VIEW_CHILD_SAFETY_DATA):
        return {}
    count = failed_reports_of(user).count()
    return {"ncmec_failed_count": count} if count else {}
