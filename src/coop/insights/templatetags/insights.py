"""Template helpers of the dashboards: the sparkline of the rules list."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def sparkline(values, label: str = "Passes per day") -> SafeString:
    """A 96×20 line of `values` (e.g. `rule_activity`'s passes per day), its numbers in the
    accessible name."""
    values = list(values)
    top = max(values, default=0) or 1
    step = 96 / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{19 - 18 * v / top:.1f}" for i, v in enumerate(values))
    name = f"{label}: {', '.join(str(v) for v in values)}"
    return mark_safe(  # noqa: S308 (the label is escaped, the rest are numbers)
        f'<svg class="sparkline" viewBox="0 0 96 20" width="96" height="20" role="img" '
        f'aria-label="{escape(name)}"><polyline points="{points}"/></svg>'
    )
