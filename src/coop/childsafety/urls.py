"""Console pages of the child-safety context: NCMEC reports, and the NCMEC job's decision (the
job page itself is `/jobs/<id>`, review's URL, rendered by coop.childsafety.views.jobs)."""

from django.urls import path

from coop.childsafety.views import jobs, reports

urlpatterns = [
    path("ncmec", reports.reports, name="ncmec"),
    path("ncmec/<uuid:report_id>", reports.report, name="ncmec-report"),
    path("ncmec/<uuid:report_id>/retry", reports.retry, name="ncmec-report-retry"),
    path("jobs/<uuid:job_id>/ncmec", jobs.ncmec_job_decide, name="ncmec-job-decide"),
]
