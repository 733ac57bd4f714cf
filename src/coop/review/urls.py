from django.urls import path

from coop.review.views import decisions, jobs, queues

urlpatterns = [
    path("queues", queues.queues, name="queues"),
    path("queues/<str:queue_id>/preview", queues.queue_preview, name="queue-preview"),
    path("queues/<str:queue_id>/star", queues.queue_star, name="queue-star"),
    path("queues/<str:queue_id>/review", queues.queue_review, name="queue-review"),
    path("jobs/<uuid:job_id>", jobs.job_view, name="job"),
    path("jobs/<uuid:job_id>/decide", jobs.job_decide, name="job-decide"),
    path("jobs/<uuid:job_id>/skip", jobs.job_skip, name="job-skip"),
    path("jobs/<uuid:job_id>/comments", jobs.job_comment, name="job-comment"),
    path("jobs/<uuid:job_id>/invalidate", jobs.job_invalidate, name="job-invalidate"),
    path("decisions", decisions.decisions, name="decisions"),
    path("decisions.csv", decisions.decisions_csv, name="decisions-csv"),
    path("decisions/skips.csv", decisions.skips_csv, name="skips-csv"),
]
