import importlib

import pytest
from django.apps import apps
from django.db import connection

# Data migrations that create rows Coop always has (roles, built-in actions, default queues).
BUILTIN_ROW_MIGRATIONS = [
    ("coop.accounts.migrations.0002_predefined_roles", "create_roles"),
    ("coop.catalog.migrations.0002_builtin_actions", "create_builtin_actions"),
    ("coop.review.migrations.0002_default_queues", "create_default_queues"),
]


@pytest.fixture(autouse=True)
def _builtin_rows(request):
    """Transactional tests flush Django's tables after each test: put the built-in rows back,
    and empty the task queue, whose tables Django's flush does not know (jobs, the periodic
    defers and the workers that real `coop worker` processes registered)."""
    if not {"transactional_db", "live_server"} & set(request.fixturenames):
        marker = request.node.get_closest_marker("django_db")
        if not (marker and marker.kwargs.get("transaction")):
            yield
            return
    request.getfixturevalue("transactional_db")
    for module, function in BUILTIN_ROW_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers"
            " CASCADE"
        )


@pytest.fixture
def api_key(db):
    """A valid platform API key (the clear text), for calling /api/v1."""
    from coop.accounts.services import create_api_key

    _, key = create_api_key(name="tests")
    return key
