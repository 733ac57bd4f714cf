"""What a media URL holds, and which URLs count as http(s): one rule for ingestion, the config
file, rules and the review console.

`media_kind` decides from the extension of the URL's path (query and fragment ignored): IMAGE,
VIDEO, or None when the extension is neither. Rules take a MEDIA value as ANY_IMAGE or
ANY_VIDEO input by it; the console shows a MEDIA value as a video when it is VIDEO and as an
image otherwise.
"""

from __future__ import annotations

import re

from coop.core.field_types import FieldType

IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif", "svg"}
)
VIDEO_EXTENSIONS = frozenset(
    {"mp4", "m4v", "mov", "webm", "mkv", "avi", "wmv", "flv", "mpg", "mpeg", "3gp", "ogv", "ts"}
)

# Absolute http(s) with a host, and nothing that is whitespace or a control character.
HTTP_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#][^\s\x00-\x1f\x7f]*)?", re.IGNORECASE)


def is_http_url(value: object) -> bool:
    """Whether `value` is an absolute http(s) URL (as given: callers decide about stripping)."""
    return isinstance(value, str) and HTTP_URL.fullmatch(value) is not None


def media_kind(url: object) -> FieldType | None:
    """IMAGE, VIDEO or None for a MEDIA URL, from the extension of its path."""
    if not isinstance(url, str):
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    extension = name.rsplit(".", 1)[1].lower()
    if extension in IMAGE_EXTENSIONS:
        return FieldType.IMAGE
    if extension in VIDEO_EXTENSIONS:
        return FieldType.VIDEO
    return None
