"""User-level NCMEC jobs (review.md, NCMEC): the ONE service every entry point goes through.

Entry points: the `coop.ncmec` built-in action (rules, the actions API, manual actions and a
reviewer's Enqueue to NCMEC, through enforcement's registry) and reports sent with
`csam: true` (coop.api.intake). Each creates, or merges into, the user's pending NCMEC-kind
job in the NCMEC queue (`ncmec.defaultQueue`): the user is the item itself if it is a USER,
else its author (the creatorId role). The job's NcmecCase records the items that led to it;
the user's media and threads are gathered (coop.childsafety.gathering) when the reviewer
opens the job, and again after every new entry.

When no job can be made, `NcmecRefused` says why, and each caller shows it: the API answers
400 with a pointer, the console refuses the decision, a rule's execution records it. A
`csam: true` report is always accepted: when its user-level job cannot be made, the report
keeps an item job in the NCMEC queue (the default queue when none is set), which only users
with VIEW_CHILD_SAFETY_DATA see (coop.review.visibility); with no NCMEC queue set, the
user-level jobs of csam reports wait in the default queue, and the overview says so.

An item or user Coop has no data for is asked from the platform first when a partial-items
endpoint is configured (api.md), and stored: the item of an entry (so its author can be
found), and before gathering, the user and the items of the entries (so their media count).
When the platform does not give them, the refusal or the job's case says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coop.catalog.models import ItemKind, ItemType
from coop.childsafety.gathering import gather
from coop.childsafety.models import NcmecCase, NcmecReport
from coop.childsafety.settings import ncmec_settings
from coop.core.enums import NcmecReportStatus
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.ingest.store import latest_for, latest_for_each
from coop.integrations import partial_items
from coop.review.models import Job, JobKind, JobSource, JobStatus, Queue, Report
from coop.review.services import default_queue, enqueue_for_review

logger = logging.getLogger(__name__)

MAX_ENTRIES = 50  # distinct items listed per job; later ones are counted only


class NcmecRefused(Exception):
    """No NCMEC job can be made; `reason` says why, `pointer` names the request field."""

    def __init__(self, reason: str, pointer: str = "/itemId"):
        super().__init__(reason)
        self.reason, self.pointer = reason, pointer


def ncmec_queue() -> Queue | None:
    """The NCMEC queue (`ncmec.defaultQueue`), if one is set and exists."""
    queue_id = ncmec_settings()["defaultQueue"]
    return Queue.objects.filter(pk=queue_id).first() if queue_id else None


def resolve_user(
    item: ItemRef, user: ItemRef | None = None, submission_id: int | None = None
) -> ItemRef:
    """The user an NCMEC job for `item` is about: the item itself if it is a USER, else its
    author (`user` when the caller knows it, else the creatorId role of its latest data)."""
    item_type = ItemType.objects.filter(pk=item.item_type_id).only("kind").first()
    if item_type is None:
        raise NcmecRefused(f"No item type has the id {item.item_type_id!r}.", "/itemTypeId")
    sub = ItemSubmission.objects.filter(pk=submission_id).first() if submission_id else None
    sub = sub or latest_for(item)
    if sub is None and partial_items.configured():
        problem = fetch_missing([item])
        sub = latest_for(item)
        if sub is None:
            raise NcmecRefused(
                f"Coop has no data for {item.item_type_id}/{item.item_id} and could not get "
                f"it from the platform: {problem}"
            )
    if sub is None:
        raise NcmecRefused(
            f"Coop has no data for {item.item_type_id}/{item.item_id}: submit the item "
            "before sending it to NCMEC review (or configure a partial-items endpoint)."
        )
    if item_type.kind == ItemKind.USER:
        return item
    if user is None and sub.creator_id and sub.creator_type_id:
        user = ItemRef(sub.creator_id, sub.creator_type_id)
    if user is None:
        raise NcmecRefused(
            f"{item.item_type_id}/{item.item_id} has no known author (no creatorId role "
            "value in its latest submission), so there is no user to review for NCMEC."
        )
    user_type = ItemType.objects.filter(pk=user.item_type_id).only("kind").first()
    if user_type is None or user_type.kind != ItemKind.USER:
        raise NcmecRefused(
            f"The author of {item.item_type_id}/{item.item_id} is {user.item_type_id}/"
            f"{user.item_id}, which is not an item of a USER item type."
        )
    return user


def check_not_reported(user: ItemRef) -> None:
    """Refused when the user already has a real (non-test) CyberTip report, filed or being
    filed: NCMEC gets one report per case, never a duplicate."""
    existing = (
        NcmecReport.objects.filter(
            user_id=user.item_id, user_type_id=user.item_type_id, is_test=False
        )
        .order_by("-created_at")
        .first()
    )
    if existing is None:
        return
    who = f"{user.item_type_id}/{user.item_id}"
    if existing.status == NcmecReportStatus.SUBMITTED:
        number = f" (CyberTip report {existing.report_id})" if existing.report_id else ""
        raise NcmecRefused(f"{who} was already reported to NCMEC{number}.")
    raise NcmecRefused(f"A CyberTip report on {who} is already being filed.")


def enqueue_user(
    item: ItemRef,
    source: JobSource,
    *,
    user: ItemRef | None = None,
    submission_id: int | None = None,
    policy_ids: tuple[str, ...] | list[str] = (),
    report: Report | None = None,
    queue: Queue | None = None,
) -> Job:
    """The user's pending NCMEC job, created or merged into, with `item` recorded as one of
    the items that led to it. `queue`: the NCMEC queue by default. Every refusal is checked
    before anything is written. Call inside the caller's transaction."""
    user = resolve_user(item, user, submission_id)
    queue = queue or ncmec_queue()
    if queue is None:
        raise NcmecRefused(
            "No NCMEC queue is set: choose one in Settings → NCMEC (ncmec.defaultQueue)."
        )
    check_not_reported(user)
    subject = latest_for(user)
    job = enqueue_for_review(
        subject or user, queue, source, list(policy_ids), report=report, kind=JobKind.NCMEC
    )
    NcmecCase.objects.bulk_create([NcmecCase(job=job)], ignore_conflicts=True)
    case = NcmecCase.objects.select_for_update().get(job=job)
    _add_entry(case, item, source, timezone.now())
    return job


def _add_entry(case: NcmecCase, item: ItemRef, source: str, at: datetime) -> None:
    known = {(e["id"], e["typeId"]) for e in case.entries}
    if (item.item_id, item.item_type_id) not in known and len(case.entries) < MAX_ENTRIES:
        case.entries = [
            *case.entries,
            {**item.as_wire(), "source": str(source), "at": at.isoformat()},
        ]
    case.entry_count += 1
    case.stale = True
    case.save(update_fields=["entries", "entry_count", "stale"])


def enqueue_report(item: ItemSubmission, report: Report, policy_ids: list[str]) -> Job:
    """A `csam: true` report (api.md): never routed, always accepted. Into the user's NCMEC
    job; with no NCMEC queue set, that job waits in the default queue. When no user-level job
    can be made (no author, user already reported...), the report keeps a job of its own
    item there: a csam report makes its job visible only with VIEW_CHILD_SAFETY_DATA, and its
    page offers Enqueue to NCMEC, which gives the reason."""
    queue = ncmec_queue() or default_queue()
    ref = ItemRef(item.item_id, item.item_type_id)
    try:
        with transaction.atomic():
            return enqueue_user(
                ref,
                JobSource.REPORT,
                submission_id=item.pk,
                policy_ids=policy_ids,
                report=report,
                queue=queue,
            )
    except NcmecRefused as refused:
        logger.warning("csam report %s kept as an item job: %s", report.pk, refused.reason)
        return enqueue_for_review(item, queue, JobSource.REPORT, policy_ids, report=report)


def fetch_missing(refs: list[ItemRef]) -> str:
    """Ask the platform (partial items) for the items of `refs` Coop has no data for, storing
    what it returns; why some are still missing ("" when none is, or nothing was asked)."""
    if not partial_items.configured():
        return ""
    stored = latest_for_each(refs)
    missing = [ref for ref in dict.fromkeys(refs) if ref not in stored]
    if not missing:
        return ""
    fetched = partial_items.fetch_items(missing)
    if fetched.error:
        return f"the partial-items request failed: {fetched.error}"
    return "; ".join(
        f"{ref.item_type_id}/{ref.item_id}: {reason}" for ref, reason in fetched.errors.items()
    )


def case_for(job: Job) -> NcmecCase:
    """The job's case, gathered afresh when a new entry arrived since (or never gathered:
    jobs migrated from the earlier holding state). The user and the entries' items Coop has
    no data for are asked from the platform first (before any lock: a call takes time). Locks
    the case row while gathering, so a concurrent opening waits and reads the same list."""
    case = NcmecCase.objects.filter(job=job).first()
    if case is not None and not case.stale:
        return case
    user = ItemRef(job.item_id, job.item_type_id)
    entries = case.entries if case is not None else []
    missing = fetch_missing([user, *(ItemRef(e["id"], e["typeId"]) for e in entries)])
    with transaction.atomic():
        NcmecCase.objects.bulk_create([NcmecCase(job=job)], ignore_conflicts=True)
        case = NcmecCase.objects.select_for_update().get(job=job)
        if not case.stale:
            return case
        found = gather(user, [ItemRef(e["id"], e["typeId"]) for e in case.entries])
        case.media, case.media_total = found.media, found.media_total
        case.media_scan_complete, case.threads = found.scan_complete, found.threads
        case.missing_data = missing
        case.version += 1
        case.stale = False
        case.gathered_at = timezone.now()
        case.save()
    return case


@dataclass(frozen=True)
class WaitingJob:
    """A pending NCMEC job, as the overview lists it."""

    job: Job
    first_entry: dict | None  # {id, typeId, source, at}: the item that led to it first
    entries: int


def waiting(limit: int = 20) -> tuple[list[WaitingJob], int]:
    """The oldest pending NCMEC jobs (at most `limit`) and how many are pending. Only for
    users with VIEW_CHILD_SAFETY_DATA (the caller checks)."""
    jobs = Job.objects.filter(kind=JobKind.NCMEC, status=JobStatus.PENDING)
    rows = list(jobs.select_related("queue", "ncmec_case").order_by("created_at", "id")[:limit])
    out = []
    for job in rows:
        case = getattr(job, "ncmec_case", None)
        entries = case.entries if case is not None else []
        out.append(
            WaitingJob(job, entries[0] if entries else None, case.entry_count if case else 0)
        )
    return out, jobs.count()
