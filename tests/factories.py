"""Builders shared by the tests of every app: users by role, queues, posts, jobs and reports."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from coop.accounts.models import Role, User
from coop.config.services import save_object
from coop.core.items import ItemRef
from coop.ingest.models import ItemSubmission
from coop.review.models import Job, JobSource, Queue, Report
from coop.review.services import enqueue_for_review

PLATFORM = "https://platform.example"


def user(email: str, role: str = "Moderator", **fields) -> User:
    """A user with the named predefined role (no password: tests use force_login)."""
    return User.objects.create_user(email, role=Role.objects.get(name=role), **fields)


def queue(qid: str = "q", reviewers: list[User] = (), **fields) -> Queue:
    q = Queue.objects.create(id=qid, name=fields.pop("name", qid.upper()), **fields)
    q.reviewers.set(reviewers)
    return q


def post(
    item_id: str = "p-1",
    author: str | None = "u-1",
    *,
    thread: str | None = None,
    deleted: bool | None = None,
    created_at: str | None = None,
    text: str = "hello",
    submitted_at: datetime | None = None,
) -> ItemSubmission:
    data: dict = {"text": text}
    if author:
        data["author"] = {"id": author, "typeId": "user"}
    if thread:
        data["thread"] = {"id": thread, "typeId": "thread"}
    if deleted is not None:
        data["deleted"] = deleted
    if created_at:
        data["createdAt"] = created_at
    return ItemSubmission.objects.create(
        item_id=item_id,
        item_type_id="post",
        item_type_version=1,
        data=data,
        source="API",
        creator_id=author,
        creator_type_id="user" if author else None,
        thread_id=thread,
        thread_type_id="thread" if thread else None,
        submitted_at=submitted_at or timezone.now(),
    )


def report(
    item: ItemSubmission,
    q: Queue,
    reporter: str = "r-1",
    reason: str = "",
    policy: str = "",
    *,
    ago: int = 0,
    items_in_thread: list[dict] | None = None,
) -> Job:
    """Report `item` into queue `q` (merging into its pending job there)."""
    r = Report(
        reporter_type_id="user",
        reporter_id=reporter,
        reported_at=timezone.now() - timedelta(seconds=ago),
        policy_id=policy,
        reason=reason,
        item_id=item.item_id,
        item_type_id=item.item_type_id,
        submission=item,
        items_in_thread=items_in_thread or [],
    )
    return enqueue_for_review(item, q, JobSource.REPORT, [policy] if policy else [], report=r)


def rule_job(item: ItemSubmission | ItemRef, q: Queue, policies: list[str] = ()) -> Job:
    return enqueue_for_review(item, q, JobSource.RULE, list(policies))


def set_review(**review) -> None:
    result = save_object("settings", {"review": review})
    assert result.ok, result.errors


def set_appeals(**appeals) -> None:
    result = save_object("settings", {"appeals": {"enabled": True, **appeals}})
    assert result.ok, result.errors
