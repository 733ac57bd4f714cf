"""Console pages of the child-safety context (NCMEC jobs, settings and reports)."""

from django.urls import path

from coop.childsafety.views import reports

urlpatterns = [
    path("ncmec", reports.reports, name="ncmec"),
    path("ncmec/<uuid:report_id>", reports.report, name="ncmec-report"),
    path("ncmec/<uuid:report_id>/retry", reports.retry, name="ncmec-report-retry"),
]
