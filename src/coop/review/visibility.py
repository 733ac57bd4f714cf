"""Who may see, work and preview which queues, jobs, decisions and skips: the ONE access rule of
the Review Console (review.md; accounts.md roles). Every reader goes through it: the queues page,
the overview, the queue preview, the job page and its "other pending jobs" and previous
actions, Recent Decisions and its CSV exports, claiming and deciding.

Child-safety confidentiality
    A queue is *child-safety* when it is the organisation's NCMEC queue (`ncmec.defaultQueue`).
    A job is *child-safety* when its kind is NCMEC, or it sits in the NCMEC queue, or one of its
    reports was sent with `csam: true`. A decision (or a skip) is child-safety when it was taken
    on a child-safety job, in the NCMEC queue (its queue at the time), on an NCMEC-kind job, or
    when it enqueued to NCMEC (a reviewer's Enqueue to NCMEC, or a manual `coop.ncmec` action
    such as one run through the actions API). Child-safety queues, jobs, decisions and skips
    exist only for users with VIEW_CHILD_SAFETY_DATA: the other users neither list, count,
    claim, open, preview, decide, comment, move into, nor export them.

Working, viewing, previewing (for what is not hidden by the rule above)
    - work a queue (claim, decide, skip, invalidate): an active user with EDIT_MRT_QUEUES, or
      with VIEW_MRT who is one of the queue's reviewers;
    - view a job (its page, comments): whoever may work its queue, and VIEW_MRT_DATA users
      (Recent Decisions links to job pages);
    - preview a queue: EDIT_MRT_QUEUES.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog import builtins
from coop.catalog.org_settings import ncmec_queue_id
from coop.enforcement.models import ActionExecution
from coop.review.models import Decision, DecisionType, Job, JobKind, Queue, Report, Skip

UNSET: object = object()


def may_see_child_safety(user: User) -> bool:
    return user.is_active and user.has_permission(Permission.VIEW_CHILD_SAFETY_DATA)


def child_safety_queue_id(stored: dict | None = None) -> str | None:
    """The NCMEC queue's id, if one is set (`stored`: OrgSettings.data when already read)."""
    return ncmec_queue_id(stored)


def _queue_id(ncmec_queue: object) -> str | None:
    return child_safety_queue_id() if ncmec_queue is UNSET else ncmec_queue  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Objects in memory


def is_child_safety_queue(queue: Queue | str, *, ncmec_queue: object = UNSET) -> bool:
    queue_id = queue if isinstance(queue, str) else queue.pk
    cs = _queue_id(ncmec_queue)
    return bool(cs) and queue_id == cs


def has_csam_report(job: Job) -> bool:
    """Whether a report of the job came with `csam: true` (the `has_csam` annotation when the
    job was read with `with_csam_flag`, else one query)."""
    flag = getattr(job, "has_csam", None)
    if flag is None:
        flag = Report.objects.filter(job_id=job.pk, csam=True).exists()
        job.has_csam = flag
    return bool(flag)


def is_child_safety_job(job: Job, *, ncmec_queue: object = UNSET) -> bool:
    return (
        job.kind == JobKind.NCMEC
        or is_child_safety_queue(job.queue_id, ncmec_queue=ncmec_queue)
        or has_csam_report(job)
    )


def may_see_job(user: User, job: Job, *, ncmec_queue: object = UNSET) -> bool:
    """The child-safety rule alone: False for child-safety jobs without the permission."""
    return may_see_child_safety(user) or not is_child_safety_job(job, ncmec_queue=ncmec_queue)


def may_work_queue(
    user: User, queue: Queue, *, ncmec_queue: object = UNSET, is_reviewer: bool | None = None
) -> bool:
    """Whether `user` may claim and decide jobs in `queue`. `ncmec_queue` and `is_reviewer`
    let callers that already know them (the NCMEC queue id, whether `user` is one of the
    queue's reviewers) save the queries."""
    if not user.is_active:
        return False
    if is_child_safety_queue(queue, ncmec_queue=ncmec_queue) and not may_see_child_safety(user):
        return False
    if user.has_permission(Permission.EDIT_MRT_QUEUES):
        return True
    if not user.has_permission(Permission.VIEW_MRT):
        return False
    if is_reviewer is not None:
        return is_reviewer
    return queue.reviewers.filter(pk=user.pk).exists()


def may_work_job(
    user: User, job: Job, *, ncmec_queue: object = UNSET, is_reviewer: bool | None = None
) -> bool:
    ncmec_queue = _queue_id(ncmec_queue)
    if not may_see_job(user, job, ncmec_queue=ncmec_queue):
        return False
    return may_work_queue(user, job.queue, ncmec_queue=ncmec_queue, is_reviewer=is_reviewer)


def may_view_job(user: User, job: Job) -> bool:
    """The job page and its comments: whoever may work it, and VIEW_MRT_DATA users; never a
    child-safety job without VIEW_CHILD_SAFETY_DATA."""
    ncmec_queue = child_safety_queue_id()
    if not user.is_active or not may_see_job(user, job, ncmec_queue=ncmec_queue):
        return False
    if user.has_permission(Permission.VIEW_MRT_DATA):
        return True
    return may_work_job(user, job, ncmec_queue=ncmec_queue)


def may_preview_queue(user: User, queue: Queue) -> bool:
    if not user.is_active or not user.has_permission(Permission.EDIT_MRT_QUEUES):
        return False
    return may_see_child_safety(user) or not is_child_safety_queue(queue)


def may_move_to(user: User, target: Queue, *, ncmec_queue: object = UNSET) -> bool:
    """Move: never into a child-safety queue without VIEW_CHILD_SAFETY_DATA."""
    return may_see_child_safety(user) or not is_child_safety_queue(target, ncmec_queue=ncmec_queue)


# ---------------------------------------------------------------------------------------------
# Querysets


def _csam_reports(job_ref: str) -> Exists:
    return Exists(Report.objects.filter(job_id=OuterRef(job_ref), csam=True))


def child_safety_jobs(ncmec_queue: object = UNSET) -> Q:
    """The child-safety jobs, as a filter on Job."""
    q = Q(kind=JobKind.NCMEC) | Q(_csam_reports("pk"))
    cs = _queue_id(ncmec_queue)
    if cs:
        q |= Q(queue_id=cs)
    return q


def with_csam_flag(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """`jobs` with the `has_csam` annotation `has_csam_report` reads."""
    return jobs.annotate(has_csam=_csam_reports("pk"))


def visible_jobs(user: User, jobs: QuerySet[Job] | None = None) -> QuerySet[Job]:
    """`jobs` (every job by default) without the child-safety ones unless `user` may see them."""
    jobs = Job.objects.all() if jobs is None else jobs
    if may_see_child_safety(user):
        return jobs
    return jobs.exclude(child_safety_jobs())


def visible_decisions(user: User | None, decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    """`decisions` without the child-safety ones unless `user` may see them (None: the CLI,
    no restriction)."""
    if user is None or may_see_child_safety(user):
        return decisions
    q = (
        Q(job_kind=JobKind.NCMEC)
        | Q(types__contains=[DecisionType.NCMEC])
        | Q(action_ids__contains=[builtins.NCMEC])
        | Q(job__kind=JobKind.NCMEC)
        | Q(_csam_reports("job_id"))
    )
    cs = child_safety_queue_id()
    if cs:
        q |= Q(queue_id=cs) | Q(job__queue_id=cs)
    return decisions.exclude(q)


def visible_executions(
    user: User, executions: QuerySet[ActionExecution]
) -> QuerySet[ActionExecution]:
    """Actions taken on an item, without `coop.ncmec` (sending the user to NCMEC review,
    and why it could not be done) unless `user` may see child-safety data."""
    if may_see_child_safety(user):
        return executions
    return executions.exclude(action_id=builtins.NCMEC)


def visible_skips(user: User | None, skips: QuerySet[Skip]) -> QuerySet[Skip]:
    if user is None or may_see_child_safety(user):
        return skips
    q = Q(job__kind=JobKind.NCMEC) | Q(_csam_reports("job_id"))
    cs = child_safety_queue_id()
    if cs:
        q |= Q(queue_id=cs) | Q(job__queue_id=cs)
    return skips.exclude(q)


# The rule on a review_job row `j`, for the claim statement (the NCMEC queue itself is refused
# earlier, by `may_work_queue`).
_HIDDEN_JOBS_SQL = (
    "AND j.kind <> 'NCMEC' AND NOT EXISTS "
    "(SELECT 1 FROM review_report r WHERE r.job_id = j.id AND r.csam)"
)


def hidden_jobs_sql(user: User) -> str:
    """The child-safety rule as a trusted SQL fragment (`AND ...` on the review_job row `j`)
    for the claim statement; empty for users who may see child-safety jobs."""
    return "" if may_see_child_safety(user) else _HIDDEN_JOBS_SQL


def workable_queues(user: User) -> list[Queue]:
    """The queues `user` may work, by name."""
    if not user.is_active:
        return []
    queues = Queue.objects.order_by("name", "id")
    if not user.has_permission(Permission.EDIT_MRT_QUEUES):
        if not user.has_permission(Permission.VIEW_MRT):
            return []
        queues = queues.filter(reviewers=user)
    cs = child_safety_queue_id()
    if cs and not may_see_child_safety(user):
        queues = queues.exclude(pk=cs)
    return list(queues)


__all__ = [
    "child_safety_jobs",
    "child_safety_queue_id",
    "hidden_jobs_sql",
    "is_child_safety_job",
    "is_child_safety_queue",
    "may_move_to",
    "may_preview_queue",
    "may_see_child_safety",
    "may_see_job",
    "may_view_job",
    "may_work_job",
    "may_work_queue",
    "visible_decisions",
    "visible_executions",
    "visible_jobs",
    "visible_skips",
    "with_csam_flag",
    "workable_queues",
]
