"""Request and response bodies of the platform API (api.md). Field names are the wire names.

Plain pydantic models: ninja's Schema adds an ORM-reading validator per object that the
ingest hot path does not need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from coop.catalog.item_data import MAX_ITEM_ID_LENGTH, MAX_TYPE_ID_LENGTH

# Bounds on every free string and list (quality.md: attacker-controlled input costs work linear
# in its size, and bounded). Item data is bounded by COOP_MAX_STRING_LENGTH and the body limit.
MAX_REASON_LENGTH = 5000  # report and appeal reasons, action notes
MAX_THREAD_ITEMS = 500  # reportedItemThread, reportedItemsInThread
MAX_ADDITIONAL_ITEMS = 100  # additionalItems of reports and appeals
MAX_REFERENCES = 100  # actionsTaken, violatingPolicies, policyIds

ItemId = Annotated[str, Field(min_length=1, max_length=MAX_ITEM_ID_LENGTH)]
TypeId = Annotated[str, Field(min_length=1, max_length=MAX_TYPE_ID_LENGTH)]
ConfigId = Annotated[str, Field(min_length=1, max_length=MAX_TYPE_ID_LENGTH)]
# Query parameters are not JSON, so the body parser's NUL check does not see them.
NO_NUL = r"^[^\x00]*$"
QueryItemId = Annotated[str, Field(min_length=1, max_length=MAX_ITEM_ID_LENGTH, pattern=NO_NUL)]
QueryTypeId = Annotated[str, Field(min_length=1, max_length=MAX_TYPE_ID_LENGTH, pattern=NO_NUL)]


class ItemIn(BaseModel):
    id: ItemId
    typeId: TypeId
    data: dict[str, Any]
    typeVersion: Annotated[str, Field(max_length=MAX_TYPE_ID_LENGTH)] | None = Field(
        None,
        description="Accepted for compatibility; data is validated against the current version.",
    )
    typeSchemaVariant: Literal["original", "partial"] = "original"


EXAMPLE_ITEM = {"id": "post-1", "typeId": "post", "data": {"text": "hello"}}


class ItemsIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE_ITEM]}]})

    items: list[ItemIn] = Field(description="1 to COOP_MAX_BATCH (default 1000) items.")


class ItemsAccepted(BaseModel):
    submissionIds: list[int]


class ContentIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"contentType": "post", "contentId": "c-1", "content": {"text": "hi"}}]
        }
    )

    contentType: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Item type id or name."
    )
    contentId: ItemId
    content: dict[str, Any]
    userId: ItemId | None = None
    sync: bool = False


class ItemRef(BaseModel):
    id: ItemId
    typeId: TypeId


class MaybeDataItemIn(BaseModel):
    id: ItemId
    typeId: TypeId
    data: dict[str, Any] | None = Field(
        None, description="Omitted: the latest data stored for the item is used."
    )


class DataItemIn(BaseModel):
    id: ItemId
    typeId: TypeId
    data: dict[str, Any]


class Reporter(BaseModel):
    kind: Literal["user"]
    typeId: TypeId
    id: ItemId


class ReportReason(BaseModel):
    policyId: ConfigId | None = None
    reason: Annotated[str, Field(max_length=MAX_REASON_LENGTH)] | None = None
    csam: bool = False


class ReportIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reporter": {"kind": "user", "typeId": "user", "id": "u-9"},
                    "reportedAt": "2024-01-15T10:30:00.000Z",
                    "reportedForReason": {"policyId": "spam", "reason": "ads"},
                    "reportedItem": EXAMPLE_ITEM,
                }
            ]
        }
    )

    reporter: Reporter
    reportedAt: datetime
    reportedForReason: ReportReason | None = None
    reportedItem: MaybeDataItemIn
    reportedItemThread: list[DataItemIn] = Field(
        default_factory=list,
        max_length=MAX_THREAD_ITEMS,
        description="Validated leniently (schema variant partial).",
    )
    reportedItemsInThread: list[ItemRef] = Field(default_factory=list, max_length=MAX_THREAD_ITEMS)
    additionalItems: list[DataItemIn] = Field(default_factory=list, max_length=MAX_ADDITIONAL_ITEMS)


class ReportCreated(BaseModel):
    reportId: UUID


class DecisionComponentOut(BaseModel):
    type: Literal["ACTION", "IGNORE", "MOVE", "NCMEC", "AUTOMATIC_CLOSE"]
    actionIds: list[str] | None = None
    policyIds: list[str] | None = None


class ReportDecision(BaseModel):
    decidedAt: datetime
    components: list[DecisionComponentOut]


class ReportStatus(BaseModel):
    reportId: UUID
    status: Literal["PENDING", "DECIDED", "INVALIDATED"]
    queueId: str
    jobId: UUID
    decision: ReportDecision | None = None


class PolicyRef(BaseModel):
    id: ConfigId


class AppealIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appealId": "platform-appeal-7",
                    "appealedBy": {"typeId": "user", "id": "u-1"},
                    "appealedAt": "2024-01-15T12:00:00.000Z",
                    "actionedItem": EXAMPLE_ITEM,
                    "actionsTaken": ["delete"],
                    "violatingPolicies": [{"id": "spam"}],
                }
            ]
        }
    )

    appealId: ItemId
    appealedBy: ItemRef
    appealedAt: datetime
    actionedItem: MaybeDataItemIn
    actionsTaken: list[ConfigId] = Field(min_length=1, max_length=MAX_REFERENCES)
    appealReason: Annotated[str, Field(max_length=MAX_REASON_LENGTH)] | None = None
    violatingPolicies: list[PolicyRef] = Field(default_factory=list, max_length=MAX_REFERENCES)
    additionalItems: list[DataItemIn] = Field(default_factory=list, max_length=MAX_ADDITIONAL_ITEMS)


class ActionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actionId": "delete",
                    "itemId": "post-1",
                    "itemTypeId": "post",
                    "policyIds": ["spam"],
                    "parameters": {},
                    "note": "from the platform's admin tool",
                }
            ]
        }
    )

    actionId: ConfigId
    itemId: ItemId
    itemTypeId: TypeId
    policyIds: list[ConfigId] = Field(default_factory=list, max_length=MAX_REFERENCES)
    actorId: ItemId | None = Field(None, description="A Coop user's id or email.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    note: Annotated[str, Field(max_length=MAX_REASON_LENGTH)] = ""


class ActionAccepted(BaseModel):
    executionId: UUID


class PolicyOut(BaseModel):
    id: str
    name: str
    parentId: str | None


class PoliciesOut(BaseModel):
    policies: list[PolicyOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ErrorOut(BaseModel):
    status: int
    type: list[str]
    title: str
    detail: str | None = None
    pointer: str | None = None
    requestId: str | None = None


class ErrorsOut(BaseModel):
    errors: list[ErrorOut]


class TriggeredAction(BaseModel):
    id: str
    name: str


class ActionsTriggered(BaseModel):
    """The actions the LIVE rules triggered on a synchronously evaluated item."""

    actionsTriggered: list[TriggeredAction]
