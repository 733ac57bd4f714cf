"""Which database the dashboards read: the replica when DATABASE_REPLICA_URL is set."""

from __future__ import annotations

from django.conf import settings

REPLICA = "replica"


def read_alias() -> str:
    """The connection alias of dashboard reads. Rollups lag the primary by the replication
    delay, which the hourly figures tolerate; nothing that writes reads through it."""
    return REPLICA if REPLICA in settings.DATABASES else "default"
