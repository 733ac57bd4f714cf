"""HMA lookups are made before the transaction that locks the submissions (rules.md,
signals): no row lock is held while HMA answers, and the match is the same."""

from __future__ import annotations

import pytest

from hma.test_lookup import api, configure, host, logged  # noqa: F401 (fixtures)
from integrations.test_prefetch import rows_locked
from rules.test_image_hashes import PHOTO_HASH, flipped


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_hma_looks_an_image_up(hma, host, api):  # noqa: F811
    configure([flipped(PHOTO_HASH, 12)])
    seen: list[tuple[str, bool]] = []
    handle = hma.handle

    def handling(method, path, query, body):
        seen.append((path, rows_locked()))
        return handle(method, path, query, body)

    hma.handle = handling
    sid = api.submit("p1", [f"{host.url}/photo.png"])
    assert [locked for path, locked in seen if path.startswith("/m/lookup")] == [False]
    assert logged(sid)["image-match"].outcome == "PASSED"
    assert logged(sid)["image-clean"].outcome == "FAILED"
