"""Platform API operations: validate, store, enqueue, all or nothing (data flows 1 and 3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from coop.api.errors import CONFLICT, INVALID_INPUT, ApiError, ErrorItem
from coop.api.schemas import AppealIn, ContentIn, DataItemIn, ItemIn, MaybeDataItemIn, ReportIn
from coop.catalog.item_data import ItemDataError, ItemSchema, schemas_for
from coop.catalog.models import Action, ItemKind, ItemType, Policy
from coop.catalog.org_settings import org_settings
from coop.childsafety.jobs import enqueue_report
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission, SubmissionSource
from coop.ingest.store import (
    NewSubmission,
    insert_submissions,
    insert_submissions_for,
    latest_for,
)
from coop.queueing import in_transaction
from coop.review.models import Appeal, JobSource, Report
from coop.review.routing import route_and_enqueue
from coop.rules.tasks import evaluate_submissions


@dataclass(frozen=True, slots=True)
class _Incoming:
    """One item to validate: where it sits in the body (for pointers) and how to validate it."""

    pointer: str
    id: str
    type_id: str
    data: dict[str, Any]
    partial: bool = False


def load_schemas(type_ids: Iterable[str]) -> dict[str, ItemSchema]:
    """Compiled schemas of the given item types, in one query."""
    rows = ItemType.objects.filter(id__in=set(type_ids)).only(
        "id", "version", "fields", "roles", "updated_at"
    )
    return schemas_for(rows)


def build_submissions(
    incoming: Sequence[_Incoming], source: SubmissionSource, schemas: dict[str, ItemSchema]
) -> list[NewSubmission]:
    """Validated submission rows; any invalid item raises one 400 listing every bad item."""
    rows: list[NewSubmission] = []
    errors: list[ErrorItem] = []
    for item in incoming:
        schema = schemas.get(item.type_id)
        if schema is None:
            errors.append(
                ErrorItem(
                    400,
                    INVALID_INPUT,
                    "Unknown item type",
                    f"No item type has the id {item.type_id!r}.",
                    f"{item.pointer}/typeId",
                )
            )
            continue
        try:
            data = schema.validate(item.data, partial=item.partial)
        except ItemDataError as exc:
            errors.append(
                ErrorItem(
                    400,
                    INVALID_INPUT,
                    "Invalid item data",
                    f"Item type {schema.type_id!r}: {exc.message}.",
                    f"{item.pointer}/data{exc.pointer}",
                )
            )
            continue
        roles = schema.roles(data)
        rows.append(
            NewSubmission(
                item.id,
                schema.type_id,
                schema.version,
                data,
                source,
                roles.creator_id,
                roles.creator_type_id,
                roles.thread_id,
                roles.thread_type_id,
                roles.ip_address,
            )
        )
    if errors:
        raise ApiError(errors)
    return rows


def submit_items(items: list[ItemIn]) -> list[int]:
    """items/async: store every item and enqueue one evaluation task, in one transaction."""
    if not items or len(items) > settings.COOP_MAX_BATCH:
        raise ApiError.invalid(
            "Invalid batch size",
            f"Send between 1 and {settings.COOP_MAX_BATCH} items; got {len(items)}.",
            "/items",
        )
    incoming = [
        _Incoming(
            f"/items/{i}", item.id, item.typeId, item.data, item.typeSchemaVariant == "partial"
        )
        for i, item in enumerate(items)
    ]
    rows = build_submissions(
        incoming, SubmissionSource.API, load_schemas(item.typeId for item in items)
    )
    return _store_and_enqueue(rows)


def submit_content(payload: ContentIn, evaluate_after: float | None = None) -> list[int]:
    """Legacy single-item submission; `contentType` may be an item type's id or its name.

    `evaluate_after` (seconds) delays the worker's evaluation task: a synchronous request
    evaluates the item itself first and the task only finishes what it could not.

    `userId` becomes the creator when the data names none, typed with the organisation's USER
    item type if there is exactly one.
    """
    item_type = (
        ItemType.objects.filter(id=payload.contentType).first()
        or ItemType.objects.filter(name=payload.contentType).order_by("id").first()
    )
    if item_type is None:
        raise ApiError.invalid(
            "Unknown item type",
            f"No item type has the id or name {payload.contentType!r}.",
            "/contentType",
        )
    schemas = schemas_for([item_type])
    incoming = [_Incoming("", payload.contentId, item_type.id, payload.content)]
    # Pointers of content errors are /content/<field>, not /data/<field>.
    try:
        (row,) = build_submissions(incoming, SubmissionSource.API, schemas)
    except ApiError as exc:
        raise ApiError(
            [_replace_pointer(e, "/data", "/content") for e in exc.errors], exc.headers
        ) from None
    if payload.userId and row.creator_id is None:
        user_types = list(
            ItemType.objects.filter(kind=ItemKind.USER).values_list("id", flat=True)[:2]
        )
        user_type = user_types[0] if len(user_types) == 1 else None
        row = row._replace(creator_id=payload.userId, creator_type_id=user_type)
    return _store_and_enqueue([row], evaluate_after)


def _replace_pointer(error: ErrorItem, old: str, new: str) -> ErrorItem:
    pointer = error.pointer
    if pointer is not None and pointer.startswith(old):
        pointer = new + pointer[len(old) :]
    return ErrorItem(error.status, error.type, error.title, error.detail, pointer)


def _store_and_enqueue(rows: list[NewSubmission], evaluate_after: float | None = None) -> list[int]:
    if evaluate_after is None:
        return insert_submissions_for(rows, evaluate_submissions)
    with transaction.atomic():
        ids = insert_submissions(rows)
        options = {"schedule_in": {"seconds": evaluate_after}}
        in_transaction(evaluate_submissions, **options).defer(submission_ids=ids)
    return ids


def _as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _main_item(
    item: MaybeDataItemIn, pointer: str, schemas: dict[str, ItemSchema]
) -> tuple[_Incoming | None, ItemSubmission | None]:
    """The reported/appealed item: new data to store, or its latest stored submission."""
    if item.data is not None:
        return _Incoming(pointer, item.id, item.typeId, item.data), None
    if item.typeId not in schemas:
        raise ApiError.invalid(
            "Unknown item type", f"No item type has the id {item.typeId!r}.", f"{pointer}/typeId"
        )
    latest = latest_for(ItemRef(item.id, item.typeId))
    if latest is None:
        raise ApiError.invalid(
            "Unknown item",
            f"No data was ever submitted for {item.typeId}/{item.id}; include `data`.",
            f"{pointer}/data",
        )
    return None, latest


def _context_items(items: list[DataItemIn], pointer: str, partial: bool) -> list[_Incoming]:
    return [
        _Incoming(f"{pointer}/{i}", item.id, item.typeId, item.data, partial)
        for i, item in enumerate(items)
    ]


def _store_with_main(
    main_new: _Incoming | None,
    main_stored: ItemSubmission | None,
    context: list[_Incoming],
    source: SubmissionSource,
    schemas: dict[str, ItemSchema],
) -> ItemSubmission:
    """Insert the main item (if new) and the context items; returns the main item's row.

    These rows are the review's evidence, not submissions for rule evaluation: nothing is
    enqueued for them.
    """
    incoming = ([main_new] if main_new else []) + context
    rows = build_submissions(incoming, source, schemas)
    ids = insert_submissions(rows)
    if main_new is None:
        return main_stored
    # The row as inserted (routing rules read its data and author), without reading it back.
    return ItemSubmission(pk=ids[0], **rows[0]._asdict())


def submit_report(payload: ReportIn) -> Report:
    """Store the report, its items and its review job in one transaction (data flow 3)."""
    reason = payload.reportedForReason
    policy_ids = [reason.policyId] if reason and reason.policyId else []
    type_ids = {payload.reportedItem.typeId}
    type_ids.update(item.typeId for item in payload.reportedItemThread)
    type_ids.update(item.typeId for item in payload.additionalItems)
    schemas = load_schemas(type_ids)
    main_new, main_stored = _main_item(payload.reportedItem, "/reportedItem", schemas)
    context = _context_items(payload.reportedItemThread, "/reportedItemThread", partial=True)
    context += _context_items(payload.additionalItems, "/additionalItems", partial=False)
    with transaction.atomic():
        item = _store_with_main(main_new, main_stored, context, SubmissionSource.REPORT, schemas)
        report = Report(
            reporter_kind=payload.reporter.kind,
            reporter_type_id=payload.reporter.typeId,
            reporter_id=payload.reporter.id,
            reported_at=_as_aware(payload.reportedAt),
            policy_id=policy_ids[0] if policy_ids else "",
            reason=(reason.reason or "") if reason else "",
            csam=bool(reason and reason.csam),
            item_id=item.item_id,
            item_type_id=item.item_type_id,
            submission=item,
            thread=[{"id": i.id, "typeId": i.typeId} for i in payload.reportedItemThread],
            items_in_thread=[
                {"id": i.id, "typeId": i.typeId} for i in payload.reportedItemsInThread
            ],
            additional_items=[{"id": i.id, "typeId": i.typeId} for i in payload.additionalItems],
        )
        if report.csam:  # the NCMEC flow, never ordinary routing (api.md)
            enqueue_report(item, report, policy_ids)
        else:
            route_and_enqueue(item, JobSource.REPORT, policy_ids, report=report)
    return report


def appeals_enabled() -> bool:
    return org_settings()["appeals"]["enabled"]


def submit_appeal(payload: AppealIn) -> None:
    """Store the appeal and its review job; a repeated appealId changes nothing (idempotent)."""
    if not appeals_enabled():
        raise ApiError.one(
            409, CONFLICT, "Appeals are disabled", "This organisation does not accept appeals."
        )
    if Appeal.objects.filter(appeal_id=payload.appealId).exists():
        return
    known = set(Action.objects.filter(id__in=payload.actionsTaken).values_list("id", flat=True))
    unknown = [
        ErrorItem(
            400,
            INVALID_INPUT,
            "Unknown action",
            f"No action has the id {action_id!r}.",
            f"/actionsTaken/{i}",
        )
        for i, action_id in enumerate(payload.actionsTaken)
        if action_id not in known
    ]
    if unknown:
        raise ApiError(unknown)
    policy_ids = [p.id for p in payload.violatingPolicies]
    known_policies = set(Policy.objects.filter(id__in=policy_ids).values_list("id", flat=True))
    unknown_policies = [
        ErrorItem(
            400,
            INVALID_INPUT,
            "Unknown policy",
            f"No policy has the id {policy_id!r}.",
            f"/violatingPolicies/{i}/id",
        )
        for i, policy_id in enumerate(policy_ids)
        if policy_id not in known_policies
    ]
    if unknown_policies:
        raise ApiError(unknown_policies)
    schemas = load_schemas(
        {payload.actionedItem.typeId, *(item.typeId for item in payload.additionalItems)}
    )
    main_new, main_stored = _main_item(payload.actionedItem, "/actionedItem", schemas)
    context = _context_items(payload.additionalItems, "/additionalItems", partial=False)
    try:
        with transaction.atomic():
            item = _store_with_main(
                main_new, main_stored, context, SubmissionSource.APPEAL, schemas
            )
            job = route_and_enqueue(item, JobSource.APPEAL, policy_ids, appeal=True)
            Appeal.objects.create(
                appeal_id=payload.appealId,
                job=job,
                appealed_by_type_id=payload.appealedBy.typeId,
                appealed_by_id=payload.appealedBy.id,
                appealed_at=_as_aware(payload.appealedAt),
                item_id=item.item_id,
                item_type_id=item.item_type_id,
                submission=item,
                actions_taken=list(payload.actionsTaken),
                reason=payload.appealReason or "",
                violating_policies=policy_ids,
                additional_items=[
                    {"id": i.id, "typeId": i.typeId} for i in payload.additionalItems
                ],
            )
    except IntegrityError:
        # A concurrent request stored the same appealId first: same outcome as a repeat.
        if not Appeal.objects.filter(appeal_id=payload.appealId).exists():
            raise
