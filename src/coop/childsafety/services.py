"""Entry point of the NCMEC flow: recording that a user must be reviewed for a report."""

from __future__ import annotations

from django.db import connection

from coop.childsafety.models import NcmecRequest, NcmecStatus
from coop.core.items import ItemRef

WAITING_REASON = (
    "Waiting for NCMEC review: the NCMEC review queue is not enabled in this version yet, "
    "so no reviewer can work this request."
)

# Race-safe merge on the partial unique index: the first request for a user wins.
_INSERT = """
INSERT INTO childsafety_ncmecrequest
    (id, user_id, user_type_id, item_id, item_type_id, source, status, reason, created_at)
VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, now())
ON CONFLICT (user_type_id, user_id) WHERE status = 'PENDING' DO NOTHING
"""


def request_ncmec_review(user: ItemRef, item: ItemRef, source: str) -> NcmecRequest:
    """The user's pending NCMEC request, created (or merged into). Call inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                user.item_id,
                user.item_type_id,
                item.item_id,
                item.item_type_id,
                source,
                NcmecStatus.PENDING,
                WAITING_REASON,
            ],
        )
    return NcmecRequest.objects.get(
        user_id=user.item_id, user_type_id=user.item_type_id, status=NcmecStatus.PENDING
    )
