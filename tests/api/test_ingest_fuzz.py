"""schemathesis fuzzes every operation of /api/v1/openapi.json: no input may produce a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from coop.catalog.models import Action, Policy

pytestmark = pytest.mark.slow


@pytest.fixture
def api_schema(transactional_db, item_types):
    Policy.objects.create(id="spam", name="Spam")
    Action.objects.create(id="delete", name="Delete")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case, api_key):
    case.headers = {**(case.headers or {}), "X-API-KEY": api_key}
    response = case.call()
    expected_501 = case.path == "/api/v1/content/" and response.status_code == 501
    assert response.status_code < 500 or expected_501, (response.status_code, response.text)
    assert "x-request-id" in {name.lower() for name in response.headers}
    if response.status_code >= 400:
        assert response.json()["errors"][0]["status"] == response.status_code
