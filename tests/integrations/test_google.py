"""Google Content Safety: routing reported images by review priority (never in automated rules).

Coop downloads the image itself (coop.media, from a local media host) and sends its bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from coop.review.models import Job
from coop.rules.models import RoutingDecision
from integrations.conftest import configure, plan_errors
from media.server import MediaHost, serve


def png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, shade, shade)).save(out, format="PNG")
    return out.getvalue()


DARK, LIGHT = png(10), png(240)
HEIF = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


@pytest.fixture
def host():
    with MediaHost() as server:
        server.routes["/dark.png"] = serve(DARK, "image/png")
        server.routes["/light.png"] = serve(LIGHT, "image/png")
        server.routes["/photo.heic"] = serve(HEIF, "image/heic")
        yield server


def routing(google) -> str:
    return f"""
integrations:
  googleContentSafety: {{apiKey: !secret SECRET_GOOGLE_KEY, baseUrl: "{google.base_url}"}}
queues:
  - {{id: default, name: Default, default: true}}
  - {{id: urgent, name: Urgent child safety review}}
routingRules:
  - id: priority-images
    name: High-priority images
    itemTypes: [post]
    queue: urgent
    condition:
      all:
        - input: ANY_IMAGE
          signal: GOOGLE_CONTENT_SAFETY_API_IMAGE
          comparator: GREATER_THAN_OR_EQUALS
          threshold: HIGH
"""


def report(api, item_id: str, photo: str) -> Job:
    body = {
        "reporter": {"kind": "user", "typeId": "user", "id": "u-9"},
        "reportedAt": "2024-01-15T10:30:00.000Z",
        "reportedForReason": {"reason": "worrying picture"},
        "reportedItem": {"id": item_id, "typeId": "post", "data": {"text": "x", "photo": photo}},
    }
    response = api.post("/api/v1/report", body)
    assert response.status_code == 201, response.content
    return Job.objects.get(item_id=item_id)


def test_reports_are_routed_by_the_review_priority_of_the_image(db, api, google, host):
    configure(routing(google))
    google.priorities = {DARK: "VERY_HIGH", LIGHT: "LOW"}
    assert report(api, "p1", f"{host.url}/dark.png").queue_id == "urgent"
    assert report(api, "p2", f"{host.url}/light.png").queue_id == "default"
    # Coop fetched each image and sent its bytes, the key in the query string.
    assert google.images == [DARK, LIGHT]
    assert host.hits_of("/dark.png") == 1
    decision = RoutingDecision.objects.get(item_id="p1")
    leaf = decision.evaluations[0]["result"]["children"][0]
    assert leaf["score"] == "VERY_HIGH"


def test_an_image_google_does_not_classify_or_cannot_be_fetched_is_errored(db, api, google, host):
    configure(routing(google))
    google.expect_no_calls()
    assert report(api, "p1", f"{host.url}/photo.heic").queue_id == "default"
    assert report(api, "p2", f"{host.url}/missing.png").queue_id == "default"
    first, second = (RoutingDecision.objects.get(item_id=i).evaluations[0] for i in ("p1", "p2"))
    assert first["outcome"] == "ERRORED"
    assert "does not classify image/heic images" in first["result"]["children"][0]["error"]
    assert "could not be fetched: HTTP 404" in second["result"]["children"][0]["error"]


def test_google_is_refused_in_automated_rules_and_allowed_in_routing_rules(db, google):
    google.expect_no_calls()
    block = f"""
integrations:
  googleContentSafety: {{apiKey: !secret SECRET_GOOGLE_KEY, baseUrl: "{google.base_url}"}}
"""
    automated = """
rules:
  - id: auto
    name: Auto
    itemTypes: [post]
    actions: [coop.manual-review]
    condition:
      all:
        - input: ANY_IMAGE
          signal: GOOGLE_CONTENT_SAFETY_API_IMAGE
          comparator: GREATER_THAN
          threshold: MEDIUM
"""
    assert plan_errors(block + automated) == [
        "rules[0].condition.all[0].signal: signal GOOGLE_CONTENT_SAFETY_API_IMAGE is not "
        "allowed in automated rules (rules with actions)"
    ]
    # Without actions (a rule that only logs) it may run, as in a routing rule.
    assert plan_errors(block + automated.replace("actions: [coop.manual-review]", "")) == []
    assert plan_errors(routing(google)) == []
