"""Deciding an NCMEC job (review.md, NCMEC): Submit to NCMEC or Ignore.

`parse` reads the job view's form against the media and threads the reviewer was shown (the
job's NcmecCase) and either returns what they chose or raises `NcmecFormError` naming the
field: nothing is written. `decide_ncmec` then goes through review's `decide`, so the NCMEC
decision is checked and committed like every other one (lease, queue, "already decided",
required reason, audit record in Recent Decisions). Submit to NCMEC builds the ReportDraft
and calls `start_report` in that same transaction, with the job locked, after checking that
reporting is enabled and that the list of media has not changed since the page was loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from coop.accounts.models import User
from coop.childsafety.drafts import ReportDraft, ReportedMedia, ReportedMessage
from coop.childsafety.models import NcmecCase
from coop.childsafety.reporting import start_report
from coop.childsafety.settings import (
    TEXT_LIMIT,
    NcmecSettings,
    media_to_review,
    missing_for_reporting,
    ncmec_settings,
)
from coop.core.enums import (
    DecisionType,
    FileAnnotation,
    IncidentType,
    IndustryClassification,
    MediaReviewMode,
)
from coop.core.items import ItemRef
from coop.review.decisions import DecisionInput, decide
from coop.review.errors import DecisionRefusedError
from coop.review.models import Decision, Job

NOT_RELEVANT = "NONE"
SUBMIT, IGNORE = "submit", "ignore"
ANNOTATION_ORDER = {a.value: i for i, a in enumerate(FileAnnotation)}


class NcmecFormError(DecisionRefusedError):
    """A form value the server refuses; `field` is the form field's name."""


@dataclass(frozen=True)
class MediaChoice:
    classification: str  # IndustryClassification, NOT_RELEVANT, or "" (not reviewed)
    annotations: tuple[FileAnnotation, ...]


@dataclass(frozen=True)
class NcmecChoice:
    """What the reviewer chose on the NCMEC job view."""

    decision: str  # SUBMIT or IGNORE
    version: int  # the NcmecCase version the page showed
    media: tuple[MediaChoice, ...]  # one per media of the case, in its order
    messages: tuple[tuple[int, int], ...]  # (thread index, message index), in page order
    incident_type: IncidentType | None
    escalate_reason: str | None
    additional_info: str | None
    reason: str
    note: str


def _optional_text(post: QueryDict, name: str, label: str) -> str | None:
    """Trimmed; None when left empty; refused when only blanks or longer than TEXT_LIMIT."""
    raw = post.get(name, "")
    if raw == "":
        return None
    text = raw.strip()
    if not text:
        raise NcmecFormError(f"{label} cannot be blank: write it, or leave it empty.", name)
    if len(text) > TEXT_LIMIT:
        raise NcmecFormError(
            f"{label} has at most {TEXT_LIMIT:,} characters ({len(text):,} given).", name
        )
    return text


def _media_choice(post: QueryDict, i: int) -> MediaChoice:
    name = f"media-{i}"
    classification = post.get(f"{name}-classification", "")
    if classification not in ("", NOT_RELEVANT, *IndustryClassification.values):
        raise NcmecFormError(
            f"Media item {i + 1}: choose A1, A2, B1, B2 or Not relevant.", f"{name}-classification"
        )
    given = post.getlist(f"{name}-annotations")
    unknown = [a for a in given if a not in ANNOTATION_ORDER]
    if unknown:
        raise NcmecFormError(
            f"Media item {i + 1}: {unknown[0]!r} is not a file annotation.", f"{name}-annotations"
        )
    if given and classification in ("", NOT_RELEVANT):
        raise NcmecFormError(
            f"Media item {i + 1}: file annotations go with an industry classification.",
            f"{name}-annotations",
        )
    # The CyberTip order of the annotations, whatever order the browser sent them in.
    annotations = tuple(FileAnnotation(a) for a in sorted(set(given), key=ANNOTATION_ORDER.get))
    return MediaChoice(classification, annotations)


def _messages(post: QueryDict, case: NcmecCase) -> tuple[tuple[int, int], ...]:
    """The selected thread messages ("<thread>:<message>" indexes into the case's threads)."""
    out: list[tuple[int, int]] = []
    for raw in post.getlist("message"):
        thread, _, message = raw.partition(":")
        try:
            pair = int(thread), int(message)
        except ValueError:
            pair = (-1, -1)
        t, m = pair
        if not (0 <= t < len(case.threads) and 0 <= m < len(case.threads[t]["messages"])):
            raise NcmecFormError(f"{raw[:40]!r} is not one of the messages shown.", "message")
        if pair not in out:
            out.append(pair)
    return tuple(out)


def parse(post: QueryDict, case: NcmecCase) -> NcmecChoice:
    """The reviewer's choices, checked against `case` (the media and threads shown); raises
    NcmecFormError at the first field the server refuses."""
    decision = post.get("decision", "")
    if decision not in (SUBMIT, IGNORE):
        raise NcmecFormError("Choose Submit to NCMEC or Ignore.")
    try:
        version = int(post.get("version", ""))
    except ValueError:
        raise NcmecFormError("The form is incomplete: reload the job and decide again.") from None
    incident_type = None
    if decision == SUBMIT:
        name = post.get("incident_type", "")
        if name not in IncidentType.__members__:
            raise NcmecFormError("Choose the incident type.", "incident_type")
        incident_type = IncidentType[name]
    return NcmecChoice(
        decision=decision,
        version=version,
        media=tuple(_media_choice(post, i) for i in range(len(case.media))),
        messages=_messages(post, case),
        incident_type=incident_type,
        escalate_reason=_optional_text(post, "escalate", "The reason to escalate"),
        additional_info=_optional_text(post, "additional_info", "Additional information"),
        reason=post.get("reason", ""),
        note=post.get("note", ""),
    )


def requirement_text(settings: NcmecSettings, media_count: int) -> str:
    """The media-review requirement in words, for the page and its errors."""
    needed = media_to_review(settings, media_count)
    if media_count == 0:
        return "no media items to classify (a text-only case: select messages)"
    if settings["mediaReview"]["mode"] == MediaReviewMode.ALL or needed == media_count:
        return f"every media item ({media_count}) classified or marked not relevant"
    return f"at least {needed} of the {media_count} media items classified or marked not relevant"


def check_report(choice: NcmecChoice, case: NcmecCase, settings: NcmecSettings) -> None:
    """What Submit to NCMEC needs beyond well-formed values: reporting enabled, the media
    review requirement met, something to report, and the list the page showed."""
    missing = missing_for_reporting(settings)
    if missing:
        raise DecisionRefusedError(
            "Reporting to NCMEC is not enabled: " + "; ".join(missing) + " missing. "
            "An administrator completes Settings → NCMEC."
        )
    if case.stale or case.version != choice.version:
        raise DecisionRefusedError(
            "New media or reports arrived for this user since the page was loaded: "
            "review the updated list and submit again."
        )
    reviewed = sum(1 for m in choice.media if m.classification)
    needed = media_to_review(settings, len(case.media))
    if reviewed < needed:
        raise NcmecFormError(
            f"The media review requires {requirement_text(settings, len(case.media))}: "
            f"{reviewed} done.",
            "media",
        )
    if not any(m.classification not in ("", NOT_RELEVANT) for m in choice.media) and not (
        choice.messages
    ):
        raise NcmecFormError(
            "Nothing to report: classify at least one media item (A1, A2, B1 or B2) or "
            "select a message.",
            "media",
        )


def build_draft(job: Job, choice: NcmecChoice, case: NcmecCase) -> ReportDraft:
    assert choice.incident_type is not None
    media = tuple(
        ReportedMedia(
            ItemRef(entry["item"]["id"], entry["item"]["typeId"]),
            entry["url"],
            IndustryClassification(m.classification),
            m.annotations,
        )
        for entry, m in zip(case.media, choice.media, strict=True)
        if m.classification not in ("", NOT_RELEVANT)
    )
    messages = []
    for t, m in choice.messages:
        thread = case.threads[t]
        message = thread["messages"][m]["item"]
        messages.append(
            ReportedMessage(
                ItemRef(thread["thread"]["id"], thread["thread"]["typeId"]),
                ItemRef(message["id"], message["typeId"]),
            )
        )
    return ReportDraft(
        user=ItemRef(job.item_id, job.item_type_id),
        incident_type=choice.incident_type,
        media=media,
        messages=tuple(messages),
        escalate_reason=choice.escalate_reason,
        additional_info=choice.additional_info,
    )


def decide_ncmec(job: Job, user: User, choice: NcmecChoice) -> Decision:
    """Commit the decision through review's `decide` (all of its checks); Submit files the
    report with `start_report` in the same transaction. Raises DecisionRefusedError (then
    nothing has changed)."""
    if choice.decision == IGNORE:
        return decide(
            job.pk, user, DecisionInput(ignore=True, reason=choice.reason, note=choice.note)
        )

    def report_component(locked: Job) -> dict[str, Any]:
        case = NcmecCase.objects.select_for_update().filter(job=locked).first()
        if case is None:
            raise DecisionRefusedError("This job has no media list yet: reload it.")
        check_report(choice, case, ncmec_settings())
        draft = build_draft(locked, choice, case)
        report = start_report(draft, user, locked)
        return {
            "type": DecisionType.NCMEC_REPORT,
            "reportId": str(report.pk),
            "userRef": draft.user.as_wire(),
            "incidentType": str(draft.incident_type),
            "mediaCount": len(draft.media),
            "messageCount": len(draft.messages),
            "escalated": draft.escalate_reason is not None,
        }

    return decide(
        job.pk,
        user,
        DecisionInput(ncmec_report=report_component, reason=choice.reason, note=choice.note),
    )
