"""Console pages of the child-safety context (the NCMEC job's decision; the job page itself is
`/jobs/<id>`, review's URL, rendered by coop.childsafety.views.jobs)."""

from django.urls import path

from coop.childsafety.views import jobs

urlpatterns = [
    path("jobs/<uuid:job_id>/ncmec", jobs.ncmec_job_decide, name="ncmec-job-decide"),
]
