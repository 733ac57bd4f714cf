from __future__ import annotations

from django.db import models


class RateLimitWindow(models.Model):
    """The request count of one API key in the current one-minute window.

    One row per key, updated with a single UPSERT per request, so the limit holds across every
    web process. The table is UNLOGGED (migration): losing counts in a crash is harmless.
    """

    api_key_id = models.UUIDField(primary_key=True)
    window = models.BigIntegerField(help_text="Minutes since the epoch")
    count = models.PositiveIntegerField()

    class Meta:
        db_table = "ingest_ratelimitwindow"  # created by the ingest app before the API had its own
