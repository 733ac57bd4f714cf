"""IMAGE_SIMILARITY signals over real submitted items whose images a local server serves."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from coop.catalog.models import Bank
from coop.config import apply_document, parse_text
from coop.config.services import save_object
from coop.ingest.models import ImageHash, SubmissionImage
from coop.rules.models import RuleExecution
from coop.rules.tasks import evaluate_submissions
from coop.signals.hashing import distance, hash_image
from media.server import MediaHost, serve, status


def picture(seed: int) -> bytes:
    """A textured PNG (PDQ quality well above the usable threshold)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((256, 256), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def flipped(hash_hex: str, bits: int) -> str:
    """`hash_hex` with its first `bits` bits inverted: exactly `bits` away."""
    value = int(hash_hex, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{value:064x}"


PHOTO = picture(1)
PHOTO_HASH = hash_image(PHOTO).hash
DISTANCE = 20

CONFIG = """
itemTypes:
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {{name: text, type: STRING}}
      - {{name: photos, type: ARRAY, items: IMAGE}}
actions:
  - {{id: label, name: Label, callbackUrl: "http://127.0.0.1:9/label"}}
banks:
  - {{id: known, name: Known images, kind: HASH, distance: {distance}, hashes: [{hashes}]}}
rules:
  - id: image-match
    name: Known image
    status: BACKGROUND
    itemTypes: [post]
    condition: {{all: [{{input: ANY_IMAGE, signal: IMAGE_SIMILARITY_MATCH, banks: [known]}}]}}
  - id: image-clean
    name: No known image
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all: [{{input: ANY_IMAGE, signal: IMAGE_SIMILARITY_DOES_NOT_MATCH, banks: [known]}}]
  - id: words
    name: Words
    status: BACKGROUND
    itemTypes: [post]
    condition:
      all: [{{input: {{field: text}}, signal: TEXT_MATCHING_CONTAINS_TEXT, values: [hi]}}]
"""


def configure(hashes: list[str], distance: int = DISTANCE) -> None:
    document, errors = parse_text(CONFIG.format(distance=distance, hashes=", ".join(hashes)))
    assert not errors, errors
    plan = apply_document(document)
    assert not plan.errors, plan.errors


@pytest.fixture
def host():
    with MediaHost() as server:
        server.routes["/photo.png"] = serve(PHOTO, "image/png")
        server.routes["/other.png"] = serve(picture(2), "image/png")
        server.routes["/text.png"] = serve(b"<html>not an image</html>", "image/png")
        server.routes["/big.png"] = serve(PHOTO + b"\0" * 4096, "image/png")
        server.routes["/gone.png"] = status(404)
        yield server


def submit(api, item_id: str, photos: list[str], text: str = "hi there") -> int:
    body = {"items": [{"id": item_id, "typeId": "post", "data": {"text": text, "photos": photos}}]}
    response = api.post("/api/v1/items/async/", body)
    assert response.status_code == 202, response.content
    (sid,) = response.json()["submissionIds"]
    evaluate_submissions(submission_ids=[sid])
    return sid


def logged(sid: int) -> dict[str, RuleExecution]:
    return {e.rule_id: e for e in RuleExecution.objects.filter(submission_id=sid)}


def test_an_image_within_the_distance_matches_and_logs_bank_hash_and_distance(db, api, host):
    banked = flipped(PHOTO_HASH, DISTANCE)
    assert distance(banked, PHOTO_HASH) == DISTANCE
    configure([flipped(PHOTO_HASH, 120), banked])
    sid = submit(api, "p1", [f"{host.url}/other.png", f"{host.url}/photo.png"])
    rules = logged(sid)
    assert rules["image-match"].outcome == "PASSED"
    # Like every signal over several values, DOES_NOT_MATCH passes when some image (here the
    # other one) matches no bank hash; with only the known image it fails.
    assert rules["image-clean"].outcome == "PASSED"
    assert logged(submit(api, "p1b", [f"{host.url}/photo.png"]))["image-clean"].outcome == "FAILED"
    leaf = rules["image-match"].result["children"][0]
    matched = leaf["matchedValue"]
    assert matched["bank"] == "known"
    assert matched["entry"]["hash"] == banked
    assert matched["entry"]["distance"] == DISTANCE
    assert matched["entry"]["imageHash"] == PHOTO_HASH


def test_one_bit_further_than_the_distance_does_not_match(db, api, host):
    configure([flipped(PHOTO_HASH, DISTANCE + 1)])
    sid = submit(api, "p2", [f"{host.url}/photo.png"])
    rules = logged(sid)
    assert rules["image-match"].outcome == "FAILED"
    assert rules["image-clean"].outcome == "PASSED"


def test_the_default_distance_is_31(db, api, host):
    save = save_object(
        "banks",
        {"id": "known", "name": "Known", "kind": "HASH", "hashes": [flipped(PHOTO_HASH, 31)]},
    )
    assert save.ok, save.errors
    assert Bank.objects.get(pk="known").distance_threshold == 31
    configure([flipped(PHOTO_HASH, 31)], distance=31)
    assert logged(submit(api, "p3", [f"{host.url}/photo.png"]))["image-match"].outcome == "PASSED"


def test_a_disabled_bank_matches_nothing(db, api, host):
    configure([PHOTO_HASH])
    bank = save_object(
        "banks",
        {"id": "known", "name": "Known images", "kind": "HASH", "enabled": False},
    )
    assert bank.ok, bank.errors
    rules = logged(submit(api, "p4", [f"{host.url}/photo.png"]))
    assert rules["image-match"].outcome == "FAILED"
    assert rules["image-clean"].outcome == "PASSED"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/gone.png", "404"),
        ("/text.png", "not an image"),
        ("/big.png", "too large"),
    ],
)
def test_an_image_that_cannot_be_fetched_errs_the_leaf_and_other_rules_go_on(
    db, api, host, settings, path, reason
):
    settings.COOP_MEDIA_MAX_BYTES = len(PHOTO) + 1024
    configure([PHOTO_HASH])
    sid = submit(api, "p5", [f"{host.url}{path}"])
    rules = logged(sid)
    for rule in ("image-match", "image-clean"):
        assert rules[rule].outcome == "ERRORED"
        error = rules[rule].result["children"][0]["error"]
        assert reason in error.lower(), error
    assert rules["words"].outcome == "PASSED"
    assert not SubmissionImage.objects.filter(submission_id=sid).exists()
    assert host.hits_of(path) == 1  # one try per batch, no retry loop


def test_the_hash_is_stored_once_per_image_and_reused(db, api, host):
    configure([PHOTO_HASH])
    url = f"{host.url}/photo.png"
    first = submit(api, "p6", [url, url])
    second = submit(api, "p7", [url])
    assert ImageHash.objects.count() == 1
    stored = ImageHash.objects.get()
    assert (stored.pdq, stored.quality) == (PHOTO_HASH, hash_image(PHOTO).quality)
    rows = SubmissionImage.objects.filter(url=url).order_by("submission_id")
    assert [r.submission_id for r in rows] == [first, second]
    assert host.hits_of("/photo.png") == 2  # once per batch
    # Re-evaluation reads the stored hash: the URL is not fetched again.
    from coop.ingest.models import ItemSubmission

    ItemSubmission.objects.filter(pk=first).update(evaluated_at=None)
    evaluate_submissions(submission_ids=[first])
    assert host.hits_of("/photo.png") == 2
    assert logged(first)["image-match"].outcome == "PASSED"


def test_images_of_item_types_without_an_image_rule_are_never_fetched(db, api, host):
    configure([PHOTO_HASH])
    document, errors = parse_text(
        "rules:\n"
        "  - {id: image-match, name: Known image, status: BACKGROUND, itemTypes: [post],\n"
        "     condition: {all: [{input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT,"
        " values: [hi]}]}}\n"
        "  - {id: image-clean, name: No known image, status: BACKGROUND, itemTypes: [post],\n"
        "     condition: {all: [{input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT,"
        " values: [ho]}]}}\n"
    )
    assert not errors, errors
    assert not apply_document(document).errors
    sid = submit(api, "p9", [f"{host.url}/photo.png"])
    assert host.hits_of("/photo.png") == 0
    assert not SubmissionImage.objects.filter(submission_id=sid).exists()
    assert logged(sid)["words"].outcome == "PASSED"
