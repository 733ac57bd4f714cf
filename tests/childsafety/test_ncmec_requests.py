"""NCMEC requests: one pending request per user, with a reason an operator can read."""

from __future__ import annotations

import pytest
from django.db import transaction

from coop.childsafety.models import NcmecRequest
from coop.childsafety.services import request_ncmec_review
from coop.core.items import ItemRef

pytestmark = pytest.mark.django_db

USER = ItemRef("u-1", "user")


def test_creates_a_pending_request_with_a_visible_reason():
    with transaction.atomic():
        request = request_ncmec_review(USER, ItemRef("p-1", "post"), "API")
    assert (request.user_id, request.user_type_id) == ("u-1", "user")
    assert (request.item_id, request.item_type_id, request.source) == ("p-1", "post", "API")
    assert request.status == "PENDING"
    assert request.reason.startswith("Waiting for NCMEC review")


def test_further_requests_for_the_user_merge():
    first = request_ncmec_review(USER, ItemRef("p-1", "post"), "RULE")
    second = request_ncmec_review(USER, ItemRef("p-2", "post"), "API")
    other = request_ncmec_review(ItemRef("u-2", "user"), ItemRef("p-3", "post"), "API")
    assert first.pk == second.pk
    assert second.item_id == "p-1"
    assert other.pk != first.pk
    assert NcmecRequest.objects.count() == 2
