"""Internal comments of reviewers (review.md, Comments).

Comments follow the item, not the job: every job ever created for the same item, in any queue,
shows them. They are never sent to the platform.
"""

from __future__ import annotations

from django.db import models

from coop.accounts.models import User
from coop.core.items import ItemRef
from coop.review.models import Comment, Job

MAX_COMMENT_LENGTH = 10_000


class CommentRefusedError(ValueError):
    pass


def add_comment(job: Job, user: User, text: str) -> Comment:
    """Add a comment to the job's item; empty or too long texts are refused."""
    text = text.strip()
    if not text:
        raise CommentRefusedError("A comment cannot be empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise CommentRefusedError(f"A comment has at most {MAX_COMMENT_LENGTH} characters.")
    return Comment.objects.create(
        job=job, item_id=job.item_id, item_type_id=job.item_type_id, author=user, text=text
    )


def comments_for(item: ItemRef) -> list[Comment]:
    """Every comment on the item, oldest first, with its author."""
    return list(_for(item).select_related("author").order_by("created_at", "id"))


def _for(item: ItemRef) -> models.QuerySet[Comment]:
    return Comment.objects.filter(item_id=item.item_id, item_type_id=item.item_type_id)
