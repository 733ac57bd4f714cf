"""The NCMEC job view's presenter: everything `childsafety/job.html` shows, in a fixed number
of queries. Item data goes through review's presenter helpers (hidden fields left out, media
rendered with the viewer's wellness settings by the template)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import QueryDict

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.models import ItemType
from coop.childsafety.decisions import NOT_RELEVANT, requirement_text
from coop.childsafety.gathering import MAX_MEDIA, SCAN_LIMIT
from coop.childsafety.jobs import case_for
from coop.childsafety.reporting import ncmec_is_test
from coop.childsafety.settings import missing_for_reporting, ncmec_settings
from coop.core.enums import FileAnnotation, IncidentType, IndustryClassification, JobStatus
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.ingest.store import latest_for
from coop.review.claims import holds_lease
from coop.review.errors import DecisionRefusedError
from coop.review.models import Job, Report
from coop.review.redaction import redacted, visible_data, visible_fields
from coop.review.skips import may_skip
from coop.review.views import present
from coop.review.visibility import may_work_job

REPORTS_SHOWN = 50
CLASSIFICATIONS = [*IndustryClassification.choices, (NOT_RELEVANT, "Not relevant")]


@dataclass
class MediaCard:
    index: int
    entry: dict[str, Any]
    value: present.Value  # image, video, or a link (audio)
    alt: str
    summary: str  # the item's first text, for context
    classification: str = ""
    annotations: set[str] = field(default_factory=set)
    error: str = ""  # a refusal of this card's values


def _submissions(ids: set[int]) -> dict[int, ItemSubmission]:
    return ItemSubmission.objects.in_bulk(ids) if ids else {}


def job_page(
    job: Job,
    user: User,
    *,
    error: DecisionRefusedError | None = None,
    posted: QueryDict | None = None,
) -> dict[str, Any]:
    """The template context for `user`, who may view the job (review checked)."""
    case = case_for(job)
    settings = ncmec_settings()
    subject = ItemRef(job.item_id, job.item_type_id)
    subs = _submissions(
        {m["submissionId"] for m in case.media}
        | {msg["submissionId"] for t in case.threads for msg in t["messages"]}
    )
    user_sub = latest_for(subject)
    item_types = ItemType.objects.in_bulk(
        {s.item_type_id for s in subs.values()} | {job.item_type_id}
    )
    user_type = item_types.get(job.item_type_id)
    pending = job.status == JobStatus.PENDING
    can_work = may_work_job(user, job)
    manager = user.has_permission(Permission.EDIT_MRT_QUEUES)
    lease = holds_lease(job, user)
    cards = [_card(i, entry, subs, item_types, posted) for i, entry in enumerate(case.media)]
    if error is not None and (error.field or "").startswith("media-"):
        index = int(error.field.split("-")[1])
        if index < len(cards):
            cards[index].error = error.message
    selected = set(posted.getlist("message")) if posted is not None else set()
    threads = [
        {
            "index": t,
            "thread": thread["thread"],
            "more": thread["more"],
            "messages": [
                {
                    "key": f"{t}:{m}",
                    "message": message,
                    "rows": _message_rows(subs.get(message["submissionId"]), item_types),
                    "checked": f"{t}:{m}" in selected,
                    "at": _moment(message.get("at")),
                }
                for m, message in enumerate(thread["messages"])
            ],
        }
        for t, thread in enumerate(case.threads)
    ]
    decision = None if pending else job.decisions.order_by("-created_at").first()
    names = present.Names.load()
    return {
        "job": job,
        "queue": job.queue,
        "case": case,
        "entries": [
            {
                "ref": ItemRef(e["id"], e["typeId"]),
                "source": e.get("source", ""),
                "at": _moment(e.get("at")),
            }
            for e in case.entries
        ],
        "subject": subject,
        "user_type_name": user_type.name if user_type else job.item_type_id,
        "user_rows": present.rows(
            visible_fields(user_type),
            visible_data(user_sub.data if user_sub else {}, user_type),
        ),
        "reports": list(
            Report.objects.filter(job=job).order_by("-reported_at", "-id")[:REPORTS_SHOWN]
        ),
        "report_count": job.report_count,
        "cards": cards,
        "media_cap": MAX_MEDIA,
        "scan_limit": SCAN_LIMIT,
        "threads": threads,
        "classifications": CLASSIFICATIONS,
        "annotations": FileAnnotation.choices,
        "incident_types": [(t.name, t.label) for t in IncidentType],
        "requirement": requirement_text(settings, len(case.media)),
        "missing": missing_for_reporting(settings),
        "is_test": ncmec_is_test(),
        "pending": pending,
        "can_decide": pending and can_work and (lease or manager),
        "can_work": can_work,
        "can_skip": pending and lease and may_skip(user),
        "lease_elsewhere": pending and job.lease_owner_id is not None and not lease,
        "posted": posted,
        "error": error,
        "decision": decision,
        "decision_components": [
            present.component_text(c, names) for c in (decision.components if decision else [])
        ],
    }


def _card(
    i: int,
    entry: dict[str, Any],
    subs: dict[int, ItemSubmission],
    item_types: dict[str, ItemType],
    posted: QueryDict | None,
) -> MediaCard:
    sub = subs.get(entry["submissionId"])
    shown_as = "URL" if entry["kind"] == "AUDIO" else entry["kind"]  # audio: a link to play
    card = MediaCard(
        index=i,
        entry=entry,
        value=present.value(shown_as, entry["url"]),
        alt=f"Media {i + 1}: {entry['kind'].lower()} of {entry['item']['typeId']}/"
        f"{entry['item']['id']}",
        summary=present.summary(redacted(sub, item_types), item_types) if sub else "",
    )
    if posted is not None:
        card.classification = posted.get(f"media-{i}-classification", "")
        card.annotations = set(posted.getlist(f"media-{i}-annotations"))
    return card


def _message_rows(sub: ItemSubmission | None, item_types: dict[str, ItemType]) -> list[present.Row]:
    if sub is None:
        return []
    return present.submission_rows(redacted(sub, item_types), item_types)


def _moment(raw: Any) -> datetime | None:
    """A stored ISO time, for display (None when missing or unreadable)."""
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
