"""Media Coop fetches itself from URLs in item data or configuration (docs/media.md).

Infrastructure: imports nothing of Coop above `coop.outbound` and the settings.
"""

from coop.media.fetch import (
    ANY_KIND,
    MAX_REDIRECTS,
    MEDIA_KINDS,
    FetchCache,
    FetchedMedia,
    FetchProblem,
    MediaFetcher,
    MediaFetchError,
    fetch_batch,
    fetch_media,
)
from coop.media.sniff import MediaKind, Sniffed, sniff

__all__ = [
    "ANY_KIND",
    "MAX_REDIRECTS",
    "MEDIA_KINDS",
    "FetchCache",
    "FetchProblem",
    "FetchedMedia",
    "MediaFetchError",
    "MediaFetcher",
    "MediaKind",
    "Sniffed",
    "fetch_batch",
    "fetch_media",
    "sniff",
]
