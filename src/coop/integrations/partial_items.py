"""Asking the platform for item data (api.md, partial items request; docs/api.md).

`fetch_items(refs)` POSTs `{"items": [{"id", "typeId"}]}` to `settings.partialItems.endpoint`
with that setting's headers, signed like every webhook (`Coop-Signature`, `Coop-Event:
partial-items`), through the SSRF-guarded client. The platform answers 2xx with
`{"items": [{"id", "typeId", "data"}]}`: extra keys are ignored, items not asked for dropped,
and each item's `data` is validated leniently against its item type (schema variant
`partial`, as the API validates thread context). Valid items are stored as submissions with
source PARTIAL_ITEMS, so the item's history and `latest_for` show what the platform said (no
rules run on them: they are evidence, not new content).

Nothing fails silently: the result names, for every item asked for and not returned valid,
why; and a failure of the call as a whole (no endpoint, an unreachable platform, a malformed
answer) is its `error`, repeated for every item.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from coop.catalog.item_data import ItemDataError, ItemSchema, schemas_for
from coop.catalog.models import ItemType
from coop.catalog.org_settings import org_settings
from coop.core.enums import SubmissionSource
from coop.core.items import ItemRef
from coop.enforcement.delivery import UnsendableHeaderError, resolve_headers
from coop.enforcement.services import encode_body
from coop.enforcement.signer import sign
from coop.ingest.store import NewSubmission, insert_submissions
from coop.integrations import calls
from coop.integrations.calls import Answer, PermanentFailure, Request, SignalUnavailable
from coop.integrations.config import Limits

EVENT = "partial-items"
KEY = "partialItems"  # its status row
CONCURRENCY = 8


@dataclass(frozen=True)
class FetchedItem:
    ref: ItemRef
    data: dict[str, Any]  # coerced as the API coerces it (schema variant `partial`)
    submission_id: int | None  # the PARTIAL_ITEMS submission it was stored as


@dataclass(frozen=True)
class PartialItems:
    """What the platform returned: valid items, and why each other item asked for is missing."""

    items: dict[ItemRef, FetchedItem] = field(default_factory=dict)
    errors: dict[ItemRef, str] = field(default_factory=dict)
    error: str | None = None  # the call as a whole failed (also given for each item)

    def data(self, ref: ItemRef) -> dict[str, Any] | None:
        found = self.items.get(ref)
        return found.data if found is not None else None


@dataclass(frozen=True)
class _Endpoint:
    """The platform's endpoint as `calls.call` sees an integration."""

    key: str
    label: str
    limits: Limits
    fingerprint: str


def configured() -> bool:
    """Whether a partial-items endpoint is set (settings.partialItems.endpoint)."""
    return bool(org_settings()["partialItems"]["endpoint"])


def fetch_items(refs: Iterable[ItemRef], *, store: bool = True) -> PartialItems:
    """The platform's current data of `refs` (at most COOP_MAX_BATCH per request; more are
    asked in several). `store=False` only returns them."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return PartialItems()
    endpoint = org_settings()["partialItems"]
    if not endpoint["endpoint"]:
        return _failed(
            wanted,
            "no partial-items endpoint is configured (settings.partialItems.endpoint)",
        )
    schemas = schemas_for(ItemType.objects.filter(id__in={r.item_type_id for r in wanted}))
    items: dict[ItemRef, FetchedItem] = {}
    errors = {
        ref: f"unknown item type {ref.item_type_id!r}"
        for ref in wanted
        if ref.item_type_id not in schemas
    }
    known = [ref for ref in wanted if ref.item_type_id in schemas]
    call_error = None
    size = settings.COOP_MAX_BATCH
    for start in range(0, len(known), size):
        chunk = known[start : start + size]
        problem = _fetch_chunk(chunk, endpoint, schemas, store, items, errors)
        call_error = call_error or problem
    return PartialItems(items, errors, call_error)


def _failed(refs: list[ItemRef], reason: str) -> PartialItems:
    return PartialItems(errors=dict.fromkeys(refs, reason), error=reason)


def _fetch_chunk(
    refs: list[ItemRef],
    endpoint: dict[str, Any],
    schemas: dict[str, ItemSchema],
    store: bool,
    items: dict[ItemRef, FetchedItem],
    errors: dict[ItemRef, str],
) -> str | None:
    """Ask for `refs`, filling `items` and `errors`; the call's failure, if it failed."""
    try:
        entries = _ask(refs, endpoint)
    except SignalUnavailable as exc:
        errors.update(dict.fromkeys(refs, str(exc)))
        return str(exc)
    asked = set(refs)
    valid: dict[ItemRef, dict[str, Any]] = {}
    for entry in entries:
        ref = _ref_of(entry)
        if ref is None or ref not in asked or ref in valid or ref in errors:
            continue  # not asked for, or answered twice: the first answer counts
        problem, data = _validated(entry.get("data"), schemas[ref.item_type_id])
        if problem:
            errors[ref] = problem
        else:
            valid[ref] = data
    for ref in refs:
        if ref not in valid and ref not in errors:
            errors[ref] = "the platform did not return this item"
    ids = _store(valid, schemas) if store and valid else {}
    for ref, data in valid.items():
        items[ref] = FetchedItem(ref, data, ids.get(ref))
    return None


def _ask(refs: list[ItemRef], endpoint: dict[str, Any]) -> list[Any]:
    """The answer's `items` entries, or SignalUnavailable saying why there are none."""
    body = encode_body({"items": [ref.as_wire() for ref in refs]})
    timeout = settings.COOP_WEBHOOK_TIMEOUT
    platform = _Endpoint(
        key=KEY,
        label="The partial-items endpoint",
        limits=Limits(timeout=timeout, concurrency=CONCURRENCY, cache_ttl=0),
        fingerprint=calls.value_key(json.dumps(endpoint, sort_keys=True)),
    )

    def prepare() -> Request:
        try:
            headers = resolve_headers(endpoint["headers"])
        except UnsendableHeaderError as exc:
            raise PermanentFailure(f"partial-items endpoint: {exc}") from None
        headers.update(
            {
                "Content-Type": "application/json",
                "Coop-Signature": sign(body),
                "Coop-Delivery-Id": str(uuid.uuid4()),
                "Coop-Event": EVENT,
            }
        )
        return Request("POST", endpoint["endpoint"], headers, body, settings.COOP_MAX_BODY_BYTES)

    def parse(answer: Answer) -> list[Any]:
        try:
            data = json.loads(answer.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SignalUnavailable(f"not JSON: {answer.excerpt()!r}") from None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise SignalUnavailable('no "items" list')
        return items

    # One budget for the request and its retries: the webhook timeout.
    budget = f"the request's time budget ({timeout:g} s, COOP_WEBHOOK_TIMEOUT)"
    with calls.evaluation_scope(timeout, budget):
        return calls.call(platform, ("items", calls.value_key(body)), prepare, parse, cached=False)


def _ref_of(entry: Any) -> ItemRef | None:
    if not isinstance(entry, dict):
        return None
    item_id, type_id = entry.get("id"), entry.get("typeId")
    if not isinstance(item_id, str) or not isinstance(type_id, str):
        return None
    return ItemRef(item_id, type_id)


def _validated(data: Any, schema: ItemSchema) -> tuple[str | None, dict[str, Any]]:
    """(problem, coerced data): lenient like the API's thread context, and storable."""
    if not isinstance(data, dict):
        return "its data is not an object", {}
    problem = _storage_problem(data)
    if problem:
        return problem, {}
    try:
        return None, schema.validate(data, partial=True)
    except ItemDataError as exc:
        return f"invalid data at /data{exc.pointer}: {exc.message}", {}


def _storage_problem(data: dict[str, Any]) -> str | None:
    """What PostgreSQL's JSONB cannot store, or nesting past the API's own limit."""
    limit = settings.COOP_MAX_JSON_DEPTH
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return f"its data nests deeper than {limit} levels (COOP_MAX_JSON_DEPTH)"
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            for text in (key, value):
                if isinstance(text, str) and not _storable(text):
                    return "its data holds a NUL character or an unpaired surrogate"
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return None


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _store(valid: dict[ItemRef, dict[str, Any]], schemas: dict[str, ItemSchema]) -> dict:
    rows = []
    for ref, data in valid.items():
        schema = schemas[ref.item_type_id]
        roles = schema.roles(data)
        rows.append(
            NewSubmission(
                ref.item_id,
                schema.type_id,
                schema.version,
                data,
                SubmissionSource.PARTIAL_ITEMS,
                roles.creator_id,
                roles.creator_type_id,
                roles.thread_id,
                roles.thread_type_id,
                roles.ip_address,
            )
        )
    return dict(zip(valid, insert_submissions(rows), strict=True))
