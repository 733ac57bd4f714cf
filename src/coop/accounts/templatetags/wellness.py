"""`{% load wellness %}`: the one way the console renders an image or a video.

Item data is attacker-controlled, so the tag accepts http(s) URLs only (anything else is shown
as refused text, never as a link or a source), lets the template engine escape every value, and
applies the viewer's wellness settings as classes (blur, colour filter, muted videos) that
wellness.css and wellness.js act on.
"""

from __future__ import annotations

from django import template

from coop.accounts.wellness import Wellness, wellness_for
from coop.core.media import is_http_url

register = template.Library()

KINDS = ("image", "video")


def safe_media_url(url: object) -> str | None:
    """`url` if it is an absolute http(s) URL, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    # The rule ingestion applies to URL and media fields. Any host: media servers may be internal.
    return url if is_http_url(url) else None


@register.inclusion_tag("web/wellness_media.html", takes_context=True)
def wellness_media(
    context: template.Context,
    url: object,
    kind: str,
    alt: str = "",
    wellness: Wellness | None = None,
) -> dict:
    """Render `url` as `kind` ("image" or "video", any case, so item field types work too).

    `wellness` defaults to the signed-in user's effective settings; a preview passes its own.
    """
    kind = str(kind).lower()
    if kind not in KINDS:
        raise template.TemplateSyntaxError(f"wellness_media: kind must be one of {KINDS}")
    wellness = wellness or wellness_for(context["request"])
    return {
        "url": safe_media_url(url),
        "raw_url": url,
        "kind": kind,
        "alt": alt or f"{kind.capitalize()} from the item",
        "wellness": wellness,
        "scheme": str(wellness.color_scheme).lower(),
    }
