"""What a reviewer decides on an NCMEC job: the report to file (review.md, NCMEC).

The NCMEC job view builds a `ReportDraft`; `coop.childsafety.reporting.start_report` stores it
with a new `NcmecReport`, and the worker's submission state machine files it. Plain data, kept
as JSON on the report so a retry files exactly what the reviewer chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coop.core.enums import FileAnnotation, IncidentType, IndustryClassification
from coop.core.items import ItemRef


def _wire(ref: ItemRef) -> dict[str, str]:
    return ref.as_wire()


def _ref(raw: dict[str, Any]) -> ItemRef:
    return ItemRef(raw["id"], raw["typeId"])


@dataclass(frozen=True)
class ReportedMedia:
    """One media value the reviewer classified (media marked "not relevant" are left out)."""

    item: ItemRef  # the item holding the media
    url: str
    classification: IndustryClassification
    annotations: tuple[FileAnnotation, ...] = ()  # in the reviewer's order


@dataclass(frozen=True)
class ReportedMessage:
    """A thread message the reviewer selected for inclusion (uploaded as the thread's CSV)."""

    thread: ItemRef
    message: ItemRef


@dataclass(frozen=True)
class ReportDraft:
    user: ItemRef  # the reported user
    incident_type: IncidentType
    media: tuple[ReportedMedia, ...] = ()
    messages: tuple[ReportedMessage, ...] = ()
    escalate_reason: str | None = None  # escalate to high priority, with this reason
    additional_info: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # reserved for later fields

    def to_json(self) -> dict[str, Any]:
        return {
            "user": _wire(self.user),
            "incidentType": str(self.incident_type),
            "media": [
                {
                    "item": _wire(m.item),
                    "url": m.url,
                    "classification": str(m.classification),
                    "annotations": [str(a) for a in m.annotations],
                }
                for m in self.media
            ],
            "messages": [
                {"thread": _wire(m.thread), "message": _wire(m.message)} for m in self.messages
            ],
            "escalateReason": self.escalate_reason,
            "additionalInfo": self.additional_info,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReportDraft:
        return cls(
            user=_ref(raw["user"]),
            incident_type=IncidentType(raw["incidentType"]),
            media=tuple(
                ReportedMedia(
                    _ref(m["item"]),
                    m["url"],
                    IndustryClassification(m["classification"]),
                    tuple(FileAnnotation(a) for a in m["annotations"]),
                )
                for m in raw["media"]
            ),
            messages=tuple(
                ReportedMessage(_ref(m["thread"]), _ref(m["message"])) for m in raw["messages"]
            ),
            escalate_reason=raw.get("escalateReason"),
            additional_info=raw.get("additionalInfo"),
            extra=raw.get("extra") or {},
        )
