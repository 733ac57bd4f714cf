"""Background tasks of the review app (found by procrastinate's autodiscovery): bulk actions."""

from __future__ import annotations

from coop.review.bulk_actions import run_bulk_action

__all__ = ["run_bulk_action"]
