"""The Banks pages: every bank listed, HASH banks created, edited, filled from files and images
(hashed in memory, never stored), deleted; all through the configuration writer."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files import uploadedfile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from coop.catalog.models import Bank, BankEntry, ConfigChange
from coop.config import apply_document, export_yaml, parse_text
from coop.config.services import save_object
from coop.ingest.models import ImageHash, SubmissionImage
from coop.signals.hashing import hash_image
from rules.test_image_hashes import PHOTO

A = "a" * 64
B = "b" * 64
C = "0123456789abcdef" * 4


@pytest.fixture
def analyst(client, make_user):
    """Analysts have MUTATE_NON_LIVE_RULES, which manages banks (and nothing else here)."""
    client.force_login(make_user("Analyst"))
    return client


@pytest.fixture
def bank(db):
    result = save_object("banks", {"id": "known", "name": "Known", "kind": "HASH", "hashes": [A]})
    assert result.ok, result.errors
    return Bank.objects.get(pk="known")


def entries() -> list[str]:
    return list(BankEntry.objects.filter(bank_id="known").values_list("value", flat=True))


def html(response) -> str:
    return response.content.decode()


def test_the_list_shows_every_bank_with_kind_and_entries(analyst, bank):
    assert save_object(
        "banks", {"id": "words", "name": "Scam words", "kind": "TEXT", "values": ["a", "b"]}
    ).ok
    page = html(analyst.get("/banks"))
    assert 'href="/banks/known"' in page
    assert "Scam words" in page
    assert 'href="/banks/words"' in page  # every kind has its page
    row = page.split("Scam words")[1].split("</tr>")[0]
    assert "TEXT" in row
    assert ">2<" in row
    assert "HMA" not in page.split("<table")[1].split("</thead>")[0]  # no HMA column without HMA


def test_a_hash_bank_is_created_with_an_id_from_its_name(analyst, db):
    response = analyst.post(
        "/banks/new", {"name": "Known CSAM", "description": "", "distance": "20", "enabled": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/banks/known-csam"
    created = Bank.objects.get(pk="known-csam")
    assert (created.kind, created.distance_threshold, created.enabled) == ("HASH", 20, True)
    assert ConfigChange.objects.filter(object_id="known-csam", source="console").exists()


def test_bad_settings_are_errors_by_their_field_and_nothing_is_written(analyst, bank):
    response = analyst.post("/banks/known", {"name": "", "distance": "300"})
    assert response.status_code == 400
    page = html(response)
    assert "This field is required" in page
    assert "less than or equal to 256" in page
    assert Bank.objects.get(pk="known").version == 1
    taken = analyst.post("/banks/new", {"id": "known", "name": "Again", "distance": "31"})
    assert taken.status_code == 400
    assert "a bank with this id exists already" in html(taken)


def test_rename_keeps_the_hashes_and_export_then_apply_is_a_no_op(analyst, bank):
    response = analyst.post(
        "/banks/known", {"name": "Known images", "description": "x", "distance": "12"}
    )
    assert response.status_code == 302
    renamed = Bank.objects.get(pk="known")
    assert (renamed.name, renamed.distance_threshold, renamed.enabled) == (
        "Known images",
        12,
        False,
    )
    assert entries() == [A]
    document, errors = parse_text(export_yaml())
    assert not errors
    plan = apply_document(document, dry_run=True)
    assert plan.changes == []


def test_a_hash_file_is_imported_and_a_bad_line_imports_nothing(analyst, bank):
    bad = SimpleUploadedFile("hashes.txt", f"{B}\n{C}\nnot-a-hash\n".encode())
    response = analyst.post("/banks/known/import", {"file": bad})
    assert response.status_code == 400
    assert "line 3: not a PDQ hash" in html(response)
    assert entries() == [A]
    csv = SimpleUploadedFile("export.csv", f"signal_type,signal\npdq,{B}\npdq,{A}\n".encode())
    response = analyst.post("/banks/known/import", {"file": csv})
    assert response.status_code == 302
    assert entries() == [A, B]
    assert "1 new hash added" in html(analyst.get("/banks/known"))


def test_a_file_that_is_not_utf8_or_too_large_is_refused(analyst, bank):
    latin = SimpleUploadedFile("h.txt", "é".encode("latin-1"))
    assert "not UTF-8 text" in html(analyst.post("/banks/known/import", {"file": latin}))
    response = analyst.post(
        "/banks/known/import",
        data=b"x",
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(17 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "larger than 16 MB" in html(response)
    assert entries() == [A]


def _data_files() -> set[Path]:
    """Coop's data directory, PostgreSQL's own files apart."""
    root = Path(os.environ["COOP_DATA_DIR"])
    return {p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "pg"}


def test_an_uploaded_image_is_hashed_and_never_stored(analyst, bank, monkeypatch):
    before = _data_files()
    temporary = []
    # Django writes uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file (removed
    # after the request, so look while it happens): this upload is larger, and must not.
    real = uploadedfile.tempfile.NamedTemporaryFile
    monkeypatch.setattr(
        uploadedfile.tempfile,
        "NamedTemporaryFile",
        lambda *a, **k: temporary.append(k) or real(*a, **k),
    )
    padded = PHOTO + b"\0" * (settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = analyst.post(
        "/banks/known/image", {"image": SimpleUploadedFile("photo.png", padded, "image/png")}
    )
    assert temporary == []
    assert response.status_code == 302, html(response)
    computed = hash_image(PHOTO)
    assert entries() == [A, computed.hash]
    page = html(analyst.get("/banks/known"))
    assert f"Hash {computed.hash} (PDQ quality {computed.quality}) added" in page
    assert "The image was not kept" in page
    # Nothing of the image anywhere: no new file, no image row, only the hash in the history.
    assert _data_files() - before == set()
    assert not ImageHash.objects.exists()
    assert not SubmissionImage.objects.exists()
    change = ConfigChange.objects.filter(object_id="known").first()
    assert change.data["hashes"] == [A, computed.hash]


def test_a_featureless_image_is_refused_as_hma_refuses_it(analyst, bank):
    flat = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, dtype=np.uint8)).save(flat, format="PNG")
    upload = SimpleUploadedFile("flat.png", flat.getvalue(), "image/png")
    response = analyst.post("/banks/known/image", {"image": upload})
    assert response.status_code == 400
    assert "below 50: the image is too featureless to match on" in html(response)
    assert entries() == [A]


def test_a_file_that_is_not_an_image_or_too_large_is_refused(analyst, bank):
    text = SimpleUploadedFile("x.png", b"<html>", "image/png")
    response = analyst.post("/banks/known/image", {"image": text})
    assert response.status_code == 400
    assert "Not added: not an image" in html(response)
    response = analyst.post(
        "/banks/known/image",
        data=b"x",
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(settings.COOP_MEDIA_MAX_BYTES + 10**6),
    )
    assert response.status_code == 413
    assert entries() == [A]


def test_delete_asks_first_and_is_refused_while_a_rule_uses_the_bank(analyst, bank):
    assert "Delete bank “Known”?" in html(analyst.get("/banks/known/delete"))
    assert save_object(
        "itemTypes",
        {
            "id": "post",
            "name": "Post",
            "kind": "CONTENT",
            "fields": [{"name": "p", "type": "IMAGE"}],
        },
    ).ok
    rule = {
        "id": "r",
        "name": "R",
        "status": "DRAFT",
        "itemTypes": ["post"],
        "condition": {
            "all": [{"input": "ANY_IMAGE", "signal": "IMAGE_SIMILARITY_MATCH", "banks": ["known"]}]
        },
    }
    assert save_object("rules", rule).ok
    response = analyst.post("/banks/known/delete")
    assert response.status_code == 400
    assert "The bank was not deleted" in html(response)
    assert Bank.objects.filter(pk="known").exists()
    from coop.config.services import delete_object

    assert delete_object("rules", "r").ok
    assert analyst.post("/banks/known/delete").status_code == 302
    assert not Bank.objects.filter(pk="known").exists()


def test_only_hash_banks_take_images_and_exchanges(analyst, db):
    assert save_object("banks", {"id": "words", "name": "W", "kind": "TEXT", "values": ["a"]}).ok
    assert analyst.post("/banks/words/image").status_code == 404
    assert analyst.post("/banks/words/hma/sync").status_code == 404
    assert analyst.post("/banks/known-missing/entries", {"entries": "a"}).status_code == 404


def test_a_moderator_cannot_add_to_a_bank(client, make_user, bank):
    client.force_login(make_user("Moderator"))
    upload = SimpleUploadedFile("photo.png", PHOTO, "image/png")
    assert client.post("/banks/known/image", {"image": upload}).status_code == 403
    assert entries() == [A]
