"""POST /api/v1/items/async/ and /content/, and the cross-cutting rules of api.md."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from api.helpers import ApiClient, error_of, post_item
from coop.accounts.models import ApiKey
from coop.accounts.services import revoke_api_key
from coop.enforcement.models import StrikeRecord
from coop.ingest.models import ItemSubmission, SubmissionSource

ITEMS = "/api/v1/items/async/"
INVALID = ["/errors/invalid-user-input"]


def evaluation_jobs() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, queue_name, args FROM procrastinate_jobs ORDER BY id")
        return [{"task": t, "queue": q, "args": json.loads(a)} for t, q, a in cursor.fetchall()]


def assert_nothing_stored() -> None:
    assert ItemSubmission.objects.count() == 0
    assert evaluation_jobs() == []


# --- items/async: happy paths ---------------------------------------------------------------


@pytest.mark.django_db
def test_items_are_stored_and_one_evaluation_is_enqueued(api, item_types):
    body = {
        "items": [
            post_item(
                1,
                images=["https://cdn.example.com/1.jpg", {"url": "https://cdn.example.com/2.jpg"}],
                author={"id": 42, "typeId": "user"},
                thread={"id": "t-1", "typeId": "thread"},
                ip="10.1.2.3",
                score="3.5",
                pinned="true",
                extra={"kept": True},
            ),
            {"id": "u-1", "typeId": "user", "data": {"name": "Ann"}, "typeVersion": "1"},
        ]
    }
    response = api.post(ITEMS, body)
    assert response.status_code == 202, response.content
    ids = response.json()["submissionIds"]
    assert len(ids) == 2
    assert response["X-Request-Id"]

    post, user = ItemSubmission.objects.order_by("id")
    assert [post.pk, user.pk] == ids
    assert post.item_id == "post-1"
    assert post.item_type_id == "post"
    assert post.item_type_version == 1
    assert post.source == SubmissionSource.API
    assert post.data == {
        "text": "hello 1",
        "images": ["https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"],
        "author": {"id": "42", "typeId": "user"},
        "thread": {"id": "t-1", "typeId": "thread"},
        "ip": "10.1.2.3",
        "score": 3.5,
        "pinned": True,
        "extra": {"kept": True},
    }
    assert (post.creator_id, post.creator_type_id) == ("42", "user")
    assert (post.thread_id, post.thread_type_id) == ("t-1", "thread")
    assert post.ip_address == "10.1.2.3"
    assert user.creator_id is None
    assert evaluation_jobs() == [
        {"task": "coop.evaluate_submissions", "queue": "evaluate", "args": {"submission_ids": ids}}
    ]


@pytest.mark.django_db
def test_path_without_trailing_slash_and_partial_variant(api, item_types):
    body = {"items": [{"id": "p", "typeId": "post", "data": {}, "typeSchemaVariant": "partial"}]}
    response = api.post("/api/v1/items/async", body)
    assert response.status_code == 202
    assert ItemSubmission.objects.get().data == {}


@pytest.mark.django_db
def test_evaluation_task_marks_submissions_evaluated(api, item_types):
    from coop.rules.tasks import evaluate_submissions

    ids = api.post(ITEMS, {"items": [post_item(1), post_item(2)]}).json()["submissionIds"]
    evaluate_submissions(submission_ids=ids)
    assert ItemSubmission.objects.filter(evaluated_at__isnull=True).count() == 0


# --- items/async: validation ----------------------------------------------------------------


@pytest.mark.django_db
def test_one_error_per_bad_item_and_nothing_stored(api, item_types):
    body = {
        "items": [
            post_item(0),
            {"id": "x", "typeId": "nope", "data": {}},
            post_item(2, score="lots"),
            {"id": "p3", "typeId": "post", "data": {"images": ["https://a.example/1.png"]}},
            post_item(4, images=["https://a.example/1.png", "not-a-url"]),
        ]
    }
    response = api.post(ITEMS, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["pointer"] for e in errors] == [
        "/items/1/typeId",
        "/items/2/data/score",
        "/items/3/data/text",
        "/items/4/data/images/1",
    ]
    assert all(e["type"] == INVALID and e["status"] == 400 for e in errors)
    assert errors[0]["title"] == "Unknown item type"
    assert "'nope'" in errors[0]["detail"]
    assert "`score` must be a number" in errors[1]["detail"]
    assert "`text` is required" in errors[2]["detail"]
    assert_nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/items"),
        ({"items": "x"}, "/items"),
        ({"items": [{"typeId": "post", "data": {}}]}, "/items/0/id"),
        ({"items": [{"id": "a", "typeId": "post"}]}, "/items/0/data"),
        ({"items": [{"id": "a", "typeId": "post", "data": []}]}, "/items/0/data"),
        ({"items": [{"id": "", "typeId": "post", "data": {}}]}, "/items/0/id"),
        ({"items": [{"id": "a" * 256, "typeId": "post", "data": {}}]}, "/items/0/id"),
        ({"items": [{**post_item(), "typeSchemaVariant": "loose"}]}, "/items/0/typeSchemaVariant"),
        ({"items": [post_item(), {"id": 5, "typeId": "post", "data": {}}]}, "/items/1/id"),
    ],
)
def test_schema_errors_point_into_the_body(api, item_types, body, pointer):
    response = api.post(ITEMS, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == INVALID
    assert error["pointer"] == pointer
    assert_nothing_stored()


@pytest.mark.django_db
def test_empty_and_over_long_batches(api, item_types, settings):
    settings.COOP_MAX_BATCH = 2
    for items in ([], [post_item(1), post_item(2), post_item(3)]):
        response = api.post(ITEMS, {"items": items})
        assert response.status_code == 400
        assert error_of(response)["pointer"] == "/items"
    assert api.post(ITEMS, {"items": [post_item(1), post_item(2)]}).status_code == 202


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b'{"items": [}', b'{"items": NaN}', b'{"n": 1e999}', b"\xff\xfe"],
)
def test_malformed_json_is_400(api, item_types, raw):
    response = api.post(ITEMS, raw=raw)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == INVALID
    assert error["title"] == "Malformed JSON"
    assert_nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"[]", b'"items"', b"3", b"null"])
def test_non_object_json_is_400(api, item_types, raw):
    response = api.post(ITEMS, raw=raw)
    assert response.status_code == 400
    assert error_of(response)["pointer"] == ""


@pytest.mark.django_db
def test_json_depth_limit(api, item_types, settings):
    settings.COOP_MAX_JSON_DEPTH = 6
    deep = {"a": {"b": {"c": {"d": 1}}}}
    ok = api.post(ITEMS, {"items": [post_item(1, extra={"x": 1})]})
    assert ok.status_code == 202
    response = api.post(ITEMS, {"items": [post_item(1, extra=deep)]})
    assert response.status_code == 400
    error = error_of(response)
    assert error["title"] == "JSON nested too deeply"
    assert error["pointer"] == "/items/0/data/extra/a/b"


@pytest.mark.django_db
def test_very_deep_json_is_400_not_500(api, item_types):
    raw = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.post(ITEMS, raw=raw)
    assert response.status_code == 400
    assert error_of(response)["title"] == "JSON nested too deeply"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b'{"items": [{"id": "a\\u0000", "typeId": "post", "data": {}}]}', "/items/0/id"),
        (
            b'{"items": [{"id": "a", "typeId": "post", "data": {"text": "\\ud800"}}]}',
            "/items/0/data/text",
        ),
        (b'{"items": [], "k\\u0000": 1}', "/k\x00"),
    ],
)
def test_unstorable_strings_are_400(api, item_types, raw, pointer):
    response = api.post(ITEMS, raw=raw)
    assert response.status_code == 400
    assert error_of(response)["pointer"] == pointer


@pytest.mark.django_db
def test_valid_surrogate_pairs_are_fine(api, item_types):
    raw = b'{"items": [{"id": "a", "typeId": "post", "data": {"text": "\\ud83d\\ude00"}}]}'
    assert api.post(ITEMS, raw=raw).status_code == 202
    assert ItemSubmission.objects.get().data["text"] == "\U0001f600"


@pytest.mark.django_db
def test_body_size_limit(api, item_types, settings):
    settings.COOP_MAX_BODY_BYTES = 2000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = api.post(ITEMS, {"items": [post_item(1, extra="x" * 3000)]})
    assert response.status_code == 413
    assert error_of(response)["type"] == ["/errors/payload-too-large"]
    assert_nothing_stored()


@pytest.mark.django_db
def test_declared_length_is_checked_before_reading(api, item_types, settings):
    settings.COOP_MAX_BODY_BYTES = 2000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None  # only our own check stands
    response = api.post(ITEMS, {"items": [post_item(1, extra="x" * 3000)]})
    assert response.status_code == 413


def test_actual_body_size_is_checked_when_no_length_is_declared(settings):
    """Under ASGI a body may arrive without Content-Length; its real size is checked too."""
    from django.test import RequestFactory

    from coop.api.auth import LimitedJsonParser
    from coop.api.errors import ApiError

    settings.COOP_MAX_BODY_BYTES = 100
    request = RequestFactory().post(ITEMS, data=b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request._body = json.dumps({"items": ["x" * 200]}).encode()
    with pytest.raises(ApiError) as info:
        LimitedJsonParser().parse_body(request)
    assert info.value.errors[0].status == 413


# --- authentication, rate limit, routing ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "wrong", ""])
def test_missing_or_unknown_key_is_401_before_the_body_is_read(item_types, key):
    response = ApiClient(key).post(ITEMS, raw=b"{ malformed")
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == ["/errors/authentication-failed-or-missing"]
    assert_nothing_stored()


@pytest.mark.django_db
def test_revoked_key_is_401(api, item_types):
    revoke_api_key(ApiKey.objects.get().pk)
    assert api.post(ITEMS, {"items": [post_item()]}).status_code == 401


@pytest.mark.django_db
def test_header_name_is_case_insensitive(api_key, item_types):
    from django.test import Client

    response = Client().post(
        ITEMS,
        json.dumps({"items": [post_item()]}),
        content_type="application/json",
        headers={"x-api-key": api_key},
    )
    assert response.status_code == 202


@pytest.mark.django_db
def test_rate_limit_per_key(api, api_key, item_types, settings):
    settings.COOP_RATE_LIMIT_PER_MINUTE = 2
    assert api.get("/api/v1/policies/").status_code == 200
    assert api.get("/api/v1/policies/").status_code == 200
    response = api.post(ITEMS, {"items": [post_item()]})
    assert response.status_code == 429
    assert error_of(response)["type"] == ["/errors/rate-limited"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert_nothing_stored()
    from coop.accounts.services import create_api_key

    _, other = create_api_key("other")
    assert ApiClient(other).get("/api/v1/policies/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/items/", "/api/v1/items/async/x/"])
def test_unknown_routes_are_404_envelopes(api, path):
    for response in (api.get(path), api.post(path, {})):
        assert response.status_code == 404
        assert error_of(response)["type"] == ["/errors/not-found"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ITEMS),
        ("delete", "/api/v1/report"),
        ("put", "/api/v1/policies"),
        ("post", "/api/v1/health"),
    ],
)
def test_wrong_method_is_405_envelope(api, method, path):
    response = api.request(method, path)
    assert response.status_code == 405
    assert error_of(response)["type"] == ["/errors/method-not-allowed"]
    assert response["Allow"]


@pytest.mark.django_db
def test_internal_errors_are_500_envelopes_with_logged_request_id(
    api, item_types, monkeypatch, caplog
):
    from coop.api import intake

    def boom(items):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(intake, "submit_items", boom)
    response = api.post(ITEMS, {"items": [post_item()]})
    assert response.status_code == 500
    error = error_of(response)
    assert error["type"] == ["/errors/internal-server-error"]
    assert "secret" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert any(response["X-Request-Id"] in r.getMessage() for r in caplog.records)


# --- content ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/content/", "/api/v1/content"])
def test_content_async_is_202_with_empty_body(api, item_types, path):
    body = {"contentType": "Post", "contentId": "c-1", "content": {"text": "hi"}, "userId": "u-7"}
    response = api.post(path, body)
    assert response.status_code == 202
    assert response.content == b""
    row = ItemSubmission.objects.get()
    assert (row.item_type_id, row.item_id, row.data) == ("post", "c-1", {"text": "hi"})
    assert (row.creator_id, row.creator_type_id) == ("u-7", "user")
    assert [j["args"] for j in evaluation_jobs()] == [{"submission_ids": [row.pk]}]


@pytest.mark.django_db
def test_content_errors_point_into_content(api, item_types):
    response = api.post(
        "/api/v1/content/", {"contentType": "post", "contentId": "c", "content": {}}
    )
    assert response.status_code == 400
    assert error_of(response)["pointer"] == "/content/text"
    response = api.post("/api/v1/content/", {"contentType": "zz", "contentId": "c", "content": {}})
    assert error_of(response)["pointer"] == "/contentType"
    assert_nothing_stored()


# --- other endpoints --------------------------------------------------------------------------


@pytest.mark.django_db
def test_policies(api):
    from coop.catalog.models import Policy

    parent = Policy.objects.create(id="abuse", name="Abuse")
    Policy.objects.create(id="spam", name="Spam", parent=parent)
    for path in ("/api/v1/policies/", "/api/v1/policies"):
        response = api.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "policies": [
                {"id": "abuse", "name": "Abuse", "parentId": None},
                {"id": "spam", "name": "Spam", "parentId": "abuse"},
            ]
        }


@pytest.mark.django_db
def test_user_scores(api):
    response = api.get("/api/v1/user_scores/", id="u-1", typeId="user")
    assert response.status_code == 200
    assert response.content == b"0"
    now = timezone.now()
    for weight, expires_at in ((3, now + timedelta(days=1)), (2, now - timedelta(days=1))):
        StrikeRecord.objects.create(
            user_id="u-1", user_type_id="user", weight=weight, policy_id="spam",
            expires_at=expires_at,
        )  # fmt: skip
    response = api.get("/api/v1/user_scores/", id="u-1", typeId="user")
    assert response.content == b"3"  # the expired strike no longer counts
    response = api.get("/api/v1/user_scores/", id="u\x001", typeId="user")
    assert response.status_code == 400  # PostgreSQL cannot store NUL: refused, never a 500
    response = api.get("/api/v1/user_scores", id="u-1")
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == INVALID
    assert "typeId" in error["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/health/"])
def test_health_needs_no_key(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-Id"]


@pytest.mark.django_db
def test_openapi_document(anonymous):
    response = anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in (
        "/api/v1/items/async/",
        "/api/v1/content/",
        "/api/v1/report",
        "/api/v1/report/appeal",
        "/api/v1/report/{reportId}",
        "/api/v1/policies/",
        "/api/v1/user_scores/",
        "/api/v1/health",
    ):
        assert path in paths
    content_responses = paths["/api/v1/content/"]["post"]["responses"]
    assert {"200", "202", "503"} <= set(content_responses)
    assert "time budget" in paths["/api/v1/content/"]["post"]["description"]


@pytest.mark.django_db(transaction=True)
def test_submissions_and_task_commit_together(api, item_types):
    """A failure while enqueueing rolls the inserted submissions back: never one alone. The
    enqueue is made to fail in the database itself, and put back afterwards."""
    signature = "procrastinate_defer_jobs_v1(procrastinate_job_to_defer_v1[])"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(%s::regprocedure)", [signature])
        (original,) = cursor.fetchone()
        cursor.execute(
            "CREATE OR REPLACE FUNCTION procrastinate_defer_jobs_v1("
            " jobs procrastinate_job_to_defer_v1[]) RETURNS bigint[] LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'queue unavailable'; END $$"
        )
    try:
        response = api.post(ITEMS, {"items": [post_item(1), post_item(2)]})
    finally:
        with connection.cursor() as cursor:
            cursor.execute(original)
    assert response.status_code == 500
    assert_nothing_stored()
