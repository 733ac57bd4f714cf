"""IMAGE_SIMILARITY signals through HMA (`/m/lookup`, `/h/hash`) when HMA_SERVICE_URL is set:
matches logged with HMA's bank, content and distance; a down HMA errs only the leaves that
need it."""

from __future__ import annotations

import hashlib

import pytest

from coop.config import apply_document, parse_text
from coop.hma.models import HmaBank
from coop.rules.models import RuleExecution
from coop.rules.tasks import evaluate_submissions
from hma.conftest import quick_client, run_jobs
from media.server import MediaHost, serve
from rules.test_image_hashes import PHOTO, PHOTO_HASH, flipped, picture

CONFIG = """
itemTypes:
  - id: post
    name: Post
    kind: CONTENT
    fields:
      - {{name: text, type: STRING}}
      - {{name: photos, type: ARRAY, items: IMAGE}}
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
# Bytes Coop sniffs as an image (HEIC) but cannot decode; HMA, with a HEIF decoder, can.
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def configure(hashes: list[str], distance: int = 31, sync: bool = True) -> None:
    document, errors = parse_text(CONFIG.format(distance=distance, hashes=", ".join(hashes)))
    assert not errors, errors
    assert not apply_document(document).errors
    if sync:
        assert run_jobs() == ["ok"]


@pytest.fixture
def host():
    with MediaHost() as server:
        server.routes["/photo.png"] = serve(PHOTO, "image/png")
        server.routes["/other.png"] = serve(picture(2), "image/png")
        server.routes["/photo.heic"] = serve(HEIC, "image/heic")
        yield server


@pytest.fixture
def api(client, api_key):
    class Api:
        def submit(self, item_id: str, photos: list[str], text: str = "hi there") -> int:
            data = {"text": text, "photos": photos}
            response = client.post(
                "/api/v1/items/async/",
                {"items": [{"id": item_id, "typeId": "post", "data": data}]},
                content_type="application/json",
                headers={"X-API-KEY": api_key},
            )
            assert response.status_code == 202, response.content
            (sid,) = response.json()["submissionIds"]
            evaluate_submissions(submission_ids=[sid])
            return sid

    return Api()


def logged(sid: int) -> dict[str, RuleExecution]:
    return {e.rule_id: e for e in RuleExecution.objects.filter(submission_id=sid)}


def leaf(execution: RuleExecution) -> dict:
    return execution.result["children"][0]


def test_a_match_is_found_by_hma_and_logged_with_its_hma_bank_and_content(db, hma, host, api):
    banked = flipped(PHOTO_HASH, 12)
    configure([banked])
    sid = api.submit("p1", [f"{host.url}/photo.png"])
    rules = logged(sid)
    assert rules["image-match"].outcome == "PASSED"
    entry = leaf(rules["image-match"])["matchedValue"]["entry"]
    content_id = HmaBank.objects.get().signals.get().content_id
    assert entry == {
        "hash": banked,
        "distance": 12,
        "maxDistance": 31,
        "imageHash": PHOTO_HASH,
        "quality": entry["quality"],
        "hma": {"bank": "COOP_KNOWN_IMAGES", "contentId": content_id},
    }
    (lookup,) = hma.calls("GET", "/m/lookup")
    assert lookup.query == {"signal_type": "pdq", "signal": PHOTO_HASH}


def test_the_coop_banks_distance_applies_to_what_hma_reports(db, hma, host, api):
    configure([flipped(PHOTO_HASH, 20)], distance=10)
    rules = logged(api.submit("p1", [f"{host.url}/photo.png"]))
    assert rules["image-match"].outcome == "FAILED"
    assert rules["image-clean"].outcome == "PASSED"
    assert hma.calls("GET", "/m/lookup")  # HMA reported it (within its 31); Coop's 10 refused


def test_hashes_hma_fetched_from_an_exchange_match_and_name_their_hash(
    db, hma, host, api, settings
):
    from coop.config.services import save_object

    configure([])
    exchange = {"api": "sample", "config": {}, "credentials": {}}
    bank = {"id": "known", "name": "Known images", "kind": "HASH", "exchange": exchange}
    assert save_object("banks", bank).ok
    run_jobs()
    fetched = flipped(PHOTO_HASH, 3)
    hma.fetched("COOP_KNOWN_IMAGES_SAMPLE", [fetched])
    rules = logged(api.submit("p1", [f"{host.url}/photo.png"]))
    entry = leaf(rules["image-match"])["matchedValue"]["entry"]
    assert (entry["hash"], entry["distance"], entry["hma"]["bank"]) == (
        fetched,
        3,
        "COOP_KNOWN_IMAGES_SAMPLE",
    )
    (content,) = hma.calls(
        "GET", f"/c/bank/COOP_KNOWN_IMAGES_SAMPLE/content/{entry['hma']['contentId']}"
    )
    assert content.query == {"include_signals": "true"}


def test_hma_not_answering_errs_the_image_leaves_once_per_batch_and_other_rules_go_on(
    db, hma, host, api
):
    configure([PHOTO_HASH])
    quick_client(hma.url, lookup_timeout=0.3)
    hma.stall(1.0)
    rules = logged(api.submit("p1", [f"{host.url}/photo.png", f"{host.url}/other.png"]))
    assert rules["words"].outcome == "PASSED"
    for rule in ("image-match", "image-clean"):
        assert rules[rule].outcome == "ERRORED"
        assert "HMA GET /m/lookup: no answer within 0.3 s" in leaf(rules[rule])["error"]
    # Two images, two rules: HMA was asked once, then not again within the batch.
    assert len(hma.calls("GET", "/m/lookup")) == 1


def test_a_bank_not_yet_in_hma_errs_with_the_reason(db, hma, host, api):
    hma.fail(r"^/c/banks$", 400)
    configure([PHOTO_HASH])
    rules = logged(api.submit("p1", [f"{host.url}/photo.png"]))
    error = leaf(rules["image-match"])["error"]
    assert error.startswith("bank 'known' is not in HMA yet: HMA POST /c/banks answered 400")
    assert rules["words"].outcome == "PASSED"


def test_one_lookup_serves_every_leaf_for_an_image(db, hma, host, api):
    configure([PHOTO_HASH])
    api.submit("p1", [f"{host.url}/photo.png"])
    assert len(hma.calls("GET", "/m/lookup")) == 1


def test_an_image_coop_cannot_decode_is_hashed_by_hma_from_the_bytes_coop_fetched(
    db, hma, host, api
):
    configure([flipped(PHOTO_HASH, 5)])
    hma.decodes[hashlib.sha256(HEIC).hexdigest()] = PHOTO_HASH
    rules = logged(api.submit("p1", [f"{host.url}/photo.heic"]))
    assert rules["image-match"].outcome == "PASSED", leaf(rules["image-match"])
    entry = leaf(rules["image-match"])["matchedValue"]["entry"]
    assert (entry["imageHash"], entry["hashedBy"], entry["quality"]) == (PHOTO_HASH, "hma", ">= 50")
    (hashing,) = hma.calls("POST", "/h/hash")
    assert hashing.body.files == {"photo": HEIC}  # the bytes: HMA fetched nothing itself
    assert not hma.calls("GET", "/h/hash")


def test_an_image_neither_can_hash_errs_with_both_reasons(db, hma, host, api):
    configure([PHOTO_HASH])
    rules = logged(api.submit("p1", [f"{host.url}/photo.heic"]))
    error = leaf(rules["image-match"])["error"]
    assert error.startswith("could not hash the image: not an image in an accepted format")
    assert "HMA could not hash it either: HMA POST /h/hash answered 500" in error


def test_without_hma_the_built_in_index_matches(db, host, api, settings):
    settings.HMA_SERVICE_URL = ""
    configure([flipped(PHOTO_HASH, 12)], sync=False)
    rules = logged(api.submit("p1", [f"{host.url}/photo.png"]))
    assert rules["image-match"].outcome == "PASSED"
    assert "hma" not in leaf(rules["image-match"])["matchedValue"]["entry"]


def test_hma_down_errs_the_image_leaves_with_the_reason_and_other_rules_go_on(db, hma, host, api):
    configure([PHOTO_HASH])
    hma.stop()
    rules = logged(api.submit("p1", [f"{host.url}/photo.png"]))
    assert rules["words"].outcome == "PASSED"
    assert rules["image-match"].outcome == "ERRORED"
    assert leaf(rules["image-match"])["error"].startswith("HMA GET /m/lookup: ConnectError")
