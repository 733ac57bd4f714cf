"""Job pages by job kind: `/jobs/<id>` is every job's one URL (review.md, Jobs).

Review renders DEFAULT and APPEAL jobs itself. The app above it that owns another kind
registers that kind's page in its AppConfig.ready() (coop.childsafety: the NCMEC job view), so
review never imports it (docs/architecture.md). The page is called after review's own checks
(sign-in, VIEW_MRT, `visibility.may_view_job`), with the refused decision to show, if any.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict

from coop.review.errors import DecisionRefusedError
from coop.review.models import Job

# page(request, job, error=..., posted=..., status=...) -> the rendered page
JobPage = Callable[..., HttpResponse]

_PAGES: dict[str, JobPage] = {}


def register_job_page(kind: str, page: JobPage) -> None:
    _PAGES[kind] = page


def job_page_for(job: Job) -> JobPage | None:
    return _PAGES.get(job.kind)


def render_registered(
    request: HttpRequest,
    job: Job,
    *,
    error: DecisionRefusedError | None = None,
    posted: QueryDict | None = None,
    status: int = 200,
) -> HttpResponse | None:
    """The registered page of the job's kind, or None when review renders it itself."""
    page = job_page_for(job)
    if page is None:
        return None
    return page(request, job, error=error, posted=posted, status=status)
