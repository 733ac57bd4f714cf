"""The platform API fixtures, shared with the ingest tests."""

from ingest.conftest import anonymous, api, item_types

__all__ = ["anonymous", "api", "item_types"]
