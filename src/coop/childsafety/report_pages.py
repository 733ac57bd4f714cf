"""What the NCMEC Reports pages show about each report: its state in words, the step it is at
or failed at, and its step log."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from django.db.models import QuerySet

from coop.childsafety.drafts import ReportDraft
from coop.childsafety.models import (
    NcmecReport,
    NcmecReportStatus,
    NcmecReportStep,
    NcmecStepStatus,
)
from coop.childsafety.submission import Step, label
from coop.core.enums import DeliveryStatus

# The list's status filter: value -> (label, statuses).
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "failed": ("Failed", (NcmecReportStatus.FAILED,)),
    "in-progress": ("In progress", (NcmecReportStatus.QUEUED, NcmecReportStatus.RUNNING)),
    "submitted": ("Filed", (NcmecReportStatus.SUBMITTED,)),
}
STATUS_WORDS = {
    NcmecReportStatus.QUEUED: "Queued",
    NcmecReportStatus.RUNNING: "Filing",
    NcmecReportStatus.SUBMITTED: "Filed",
    NcmecReportStatus.FAILED: "Failed",
}
PRESERVATION_WORDS = {
    DeliveryStatus.PENDING: "Preservation requested",
    DeliveryStatus.FAILED: "Preservation retrying",
    DeliveryStatus.DELIVERED: "Preserved",
    DeliveryStatus.DEAD: "Preservation failed",
}


@dataclass(frozen=True)
class ReportView:
    report: NcmecReport
    draft: ReportDraft
    status_words: str
    step_label: str  # where it is, or where it failed
    preservation_words: str
    can_retry: bool

    @property
    def failed(self) -> bool:
        return self.report.status == NcmecReportStatus.FAILED

    @property
    def report_xml_pretty(self) -> str:
        return pretty_xml(self.report.report_xml)

    @property
    def receipt_pretty(self) -> str:
        return pretty_xml(self.report.receipt)


def pretty_xml(text: str) -> str:
    """An XML document indented for reading (the stored text is what was sent or received)."""
    if not text or "<!DOCTYPE" in text or "<!ENTITY" in text:
        return text
    try:
        root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - DTDs are refused above
    except ET.ParseError:
        return text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def reports(filter_key: str = "") -> QuerySet[NcmecReport]:
    rows = NcmecReport.objects.select_related("reviewer", "preservation").order_by("-created_at")
    if filter_key in FILTERS:
        rows = rows.filter(status__in=FILTERS[filter_key][1])
    return rows


def view_of(report: NcmecReport, failed_row: NcmecReportStep | None = None) -> ReportView:
    draft = ReportDraft.from_json(report.draft)
    if report.status == NcmecReportStatus.FAILED and failed_row is not None:
        where = failed_row.label
    elif report.status == NcmecReportStatus.SUBMITTED and report.step == Step.DONE:
        where = "Done"
    else:
        step = Step.RETRACT if report.needs_retract else Step(report.step or Step.ADDITIONAL_INFO)
        where = label(step, report.step_index, draft, report.report_id)
    delivery = report.preservation
    dead = delivery is not None and delivery.status == DeliveryStatus.DEAD
    return ReportView(
        report=report,
        draft=draft,
        status_words=STATUS_WORDS.get(report.status, report.status),
        step_label=where,
        preservation_words=PRESERVATION_WORDS.get(delivery.status, "") if delivery else "",
        can_retry=report.status == NcmecReportStatus.FAILED or dead,
    )


def views_of(reports_page: list[NcmecReport]) -> list[ReportView]:
    """The rows of one page, with the failed step of each failed report in one query."""
    failed_ids = [r.pk for r in reports_page if r.status == NcmecReportStatus.FAILED]
    last_failed: dict = {}
    rows = NcmecReportStep.objects.filter(
        report_id__in=failed_ids, status=NcmecStepStatus.FAILED
    ).exclude(step=Step.RETRACT)
    for row in rows.order_by("report_id", "-id").distinct("report_id"):
        last_failed[row.report_id] = row
    return [view_of(r, last_failed.get(r.pk)) for r in reports_page]


def detail_of(report: NcmecReport) -> tuple[ReportView, list[NcmecReportStep]]:
    """The report and its whole step log, oldest first."""
    steps = list(NcmecReportStep.objects.filter(report=report).order_by("id"))
    failed = [s for s in steps if s.status == NcmecStepStatus.FAILED and s.step != Step.RETRACT]
    return view_of(report, failed[-1] if failed else None), steps
