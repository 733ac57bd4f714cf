"""POST /api/v1/actions/ (api.md): run an action like a manual one; 202 or 400 with a pointer."""

from __future__ import annotations

import json

import pytest

from api.helpers import ApiClient, error_of
from coop.accounts.models import Role, User
from coop.enforcement.models import ActionExecution, Delivery, ExecutionSource
from coop.enforcement.tasks import deliver
from enforcement.conftest import submit


@pytest.fixture
def api(api_key) -> ApiClient:
    return ApiClient(api_key)


def test_runs_the_action_and_delivers_its_callback(catalog, api):
    submit("p-1", author="u-1")
    moderator = User.objects.create_user(
        email="mod@example.com", role=Role.objects.get(name="Admin")
    )
    response = api.post(
        "/api/v1/actions/",
        {
            "actionId": "delete",
            "itemId": "p-1",
            "itemTypeId": "post",
            "policyIds": ["spam"],
            "actorId": str(moderator.pk),
            "parameters": {"days": 2},
            "note": "via admin tool",
        },
    )
    assert response.status_code == 202
    execution = ActionExecution.objects.get()
    assert response.json() == {"executionId": str(execution.pk)}
    assert execution.source == ExecutionSource.API
    assert execution.rules == []
    deliver([str(Delivery.objects.get().pk)])
    body = json.loads(catalog.requests[0].body)
    assert body["actorEmail"] == "mod@example.com"
    assert body["actorNote"] == "via admin tool"
    assert body["custom"] == {"days": 2, "origin": "coop"}
    assert body["rules"] == []
    assert body["userStrikeCount"] == 1


def test_without_slash_and_minimal_body(catalog, api):
    response = api.post(
        "/api/v1/actions", {"actionId": "delete", "itemId": "p-5", "itemTypeId": "post"}
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"actionId": "nope", "itemId": "p-1", "itemTypeId": "post"}, "/actionId"),
        ({"actionId": "delete", "itemId": "p-1", "itemTypeId": "nope"}, "/itemTypeId"),
        ({"actionId": "ban", "itemId": "p-1", "itemTypeId": "post"}, "/actionId"),
        (
            {"actionId": "delete", "itemId": "p-1", "itemTypeId": "post", "policyIds": ["x"]},
            "/policyIds/0",
        ),
        (
            {"actionId": "delete", "itemId": "p-1", "itemTypeId": "post", "parameters": {"d": 1}},
            "/parameters/d",
        ),
        (
            {"actionId": "ban", "itemId": "u-1", "itemTypeId": "user", "parameters": {}},
            "/parameters/days",
        ),
        (
            {"actionId": "delete", "itemId": "p-1", "itemTypeId": "post", "actorId": "who@x.y"},
            "/actorId",
        ),
        (
            {"actionId": "delete", "itemId": "p", "itemTypeId": "post", "actorId": "9" * 30},
            "/actorId",
        ),
        ({"actionId": "delete", "itemTypeId": "post"}, "/itemId"),
    ],
)
def test_bad_requests_are_400_with_a_pointer(catalog, api, body, pointer):
    response = api.post("/api/v1/actions/", body)
    assert response.status_code == 400
    assert error_of(response)["pointer"] == pointer
    assert ActionExecution.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_author_action_without_author_is_400(catalog, api):
    submit("p-1", author=None)
    response = api.post(
        "/api/v1/actions/",
        {"actionId": "coop.manual-review-author", "itemId": "p-1", "itemTypeId": "post"},
    )
    assert response.status_code == 400
    assert error_of(response)["title"] == "Item has no author"


def test_needs_an_api_key(catalog):
    response = ApiClient(None).post(
        "/api/v1/actions/", {"actionId": "delete", "itemId": "p-1", "itemTypeId": "post"}
    )
    assert response.status_code == 401
