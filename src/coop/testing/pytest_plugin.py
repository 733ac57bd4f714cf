"""Starts one embedded PostgreSQL per test session unless DATABASE_URL is set.

Loaded with `-p coop.testing.pytest_plugin` (pyproject.toml) so that it runs before
pytest-django imports the settings.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="coop-test-"))
    os.environ.setdefault("COOP_DATA_DIR", str(data_dir))
    os.environ.setdefault("COOP_SECRET_KEY", "test-secret-key-not-for-production")
    os.environ.setdefault("COOP_FETCH_ALLOW_PRIVATE", "1")
    if not os.environ.get("DATABASE_URL"):
        from coop import embedded

        os.environ["DATABASE_URL"] = embedded.start(data_dir / "pg", cleanup="delete")
