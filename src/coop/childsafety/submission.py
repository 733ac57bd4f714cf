"""Filing a CyberTip report: a resumable state machine run by the worker (review.md, NCMEC).

The steps, each recorded in NcmecReportStep as it starts and as it ends:

    additional-info → build-xml → submit → for each media item: fetch-media, upload-media,
    media-details → for each thread: upload-thread, thread-details → finish → preservation

`NcmecReport.step` (and `step_index`, which media item or thread) is where the machine is; a
step's outputs (the platform's answer, the XML, NCMEC's report and file ids, the receipt) are
saved on the report in the same transaction that records the step as done, so a restarted
worker carries on from the first step not done. What happens at a failure:

- A failure that may pass (NCMEC or the platform unreachable, 5xx, a timeout) is retried by
  the worker after COOP_NCMEC_RETRY_SCHEDULE's waits (one budget per report, renewed by Retry,
  so a failure that keeps coming back cannot loop), from the failed step. After the last one,
  or at once for a failure that will not pass, the report is FAILED at that step and notifies
  the reviewer and the on-call address; Retry resumes there.
- /submit is never sent again on its own after an answer that did not come back: NCMEC may
  have opened a report Coop never learnt the id of. Such a report is never finished, and NCMEC
  discards unfinished reports; Retry (a person's decision) opens a new one.
- A report that cannot be finished any more (an upload whose answer was lost, so NCMEC may
  hold a file twice; NCMEC no longer having it; a media item or a document NCMEC will never
  take) is retracted (/retract) before anything else happens, then filed again from /submit
  with the same XML. So NCMEC never gets two finished reports, nor a half-finished one.
- A step that was running when the worker died (its record says STARTED) is treated the same
  way: redone when redoing it is harmless, a retract-and-file-again for an upload, and a
  failure waiting for Retry for /submit.
- After /finish the report is filed (SUBMITTED); the preservation request then goes through
  the webhook outbox (signed, retried with backoff, shown under Deliveries), in the same
  transaction as its step, and never files anything again.

One task runs per report at a time (a procrastinate lock on the report id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from coop.catalog.credentials import CredentialError
from coop.childsafety import additional_info, notifications, report_content
from coop.childsafety.cybertip import (
    CyberTipClient,
    CyberTipError,
    file_details_xml,
    report_xml,
)
from coop.childsafety.cybertip.client import REPORT_GONE_CODES
from coop.childsafety.drafts import ReportDraft
from coop.childsafety.models import (
    NcmecReport,
    NcmecReportStatus,
    NcmecReportStep,
    NcmecStepStatus,
)
from coop.childsafety.settings import (
    NcmecSettings,
    cybertip_credentials,
    ncmec_settings,
    reporting_enabled,
)
from coop.core.enums import DeliveryEvent, DeliveryStatus
from coop.enforcement.services import create_delivery, resend
from coop.ingest.images import stored_hash
from coop.media import FetchedMedia, FetchProblem, MediaFetcher, MediaFetchError, MediaKind
from coop.queueing import in_transaction
from coop.signals.hashing import hash_image
from coop.signals.hashing.pdq import ImageError

log = logging.getLogger(__name__)

TASK = "coop.ncmec_submit"
EARLY = timedelta(seconds=1)  # a task may start a little before the time it was deferred for
SWEEP_GRACE = timedelta(seconds=60)
# Media problems no retry will solve: the report cannot be finished with this media item.
LASTING_FETCH_PROBLEMS = frozenset(
    {
        FetchProblem.BAD_URL,
        FetchProblem.PRIVATE_ADDRESS,
        FetchProblem.TOO_LARGE,
        FetchProblem.TOO_MANY_REDIRECTS,
        FetchProblem.REDIRECT_LOOP,
    }
)


class Step(StrEnum):
    ADDITIONAL_INFO = "additional-info"
    BUILD_XML = "build-xml"
    SUBMIT = "submit"
    FETCH_MEDIA = "fetch-media"  # recorded; the machine's position is upload-media
    UPLOAD_MEDIA = "upload-media"
    MEDIA_DETAILS = "media-details"
    UPLOAD_THREAD = "upload-thread"
    THREAD_DETAILS = "thread-details"
    FINISH = "finish"
    PRESERVATION = "preservation"
    RETRACT = "retract"
    DONE = "done"


LABELS = {
    Step.ADDITIONAL_INFO: "Ask the platform for additional info",
    Step.BUILD_XML: "Build the report XML",
    Step.SUBMIT: "Open the report at NCMEC (/submit)",
    Step.FETCH_MEDIA: "Download media {n} of {of}",
    Step.UPLOAD_MEDIA: "Upload media {n} of {of} (/upload)",
    Step.MEDIA_DETAILS: "Describe media {n} of {of} (/fileinfo)",
    Step.UPLOAD_THREAD: "Upload conversation {n} of {of} (/upload)",
    Step.THREAD_DETAILS: "Describe conversation {n} of {of} (/fileinfo)",
    Step.FINISH: "File the report with NCMEC (/finish)",
    Step.PRESERVATION: "Ask the platform to preserve the data",
    Step.RETRACT: "Retract the unfinished report {report} (/retract)",
    Step.DONE: "Done",
}


def label(step: Step | str, index: int, draft: ReportDraft, report_id: str = "") -> str:
    of = len(draft.media) if "media" in step else len(report_content.threads_of(draft))
    return LABELS[Step(step)].format(n=index + 1, of=of, report=report_id)


class StepFailed(Exception):
    """A step did not do its work. `retryable`: trying again later may work. `abandon`: the
    open report can no longer be finished and is retracted before anything else."""

    def __init__(self, message: str, *, retryable: bool = False, abandon: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.abandon = abandon


# --- the worker task and scheduling ------------------------------------------------------


@app.task(name=TASK, queue="ncmec")
def file_report(report_id: str) -> None:
    """Carry the report's filing as far as it goes now (coop.childsafety.submission)."""
    run(report_id)


def schedule(report_id: Any, at: datetime | None = None) -> None:
    """Defer the task that files the report, in the caller's transaction."""
    options: dict[str, Any] = {"lock": f"ncmec-report-{report_id}"}
    if at is not None:
        options["schedule_at"] = at
    in_transaction(file_report, **options).defer(report_id=str(report_id))


def run(report_id: str) -> None:
    while _advance(report_id):
        pass


def _runnable(report: NcmecReport) -> bool:
    if report.status in (NcmecReportStatus.QUEUED, NcmecReportStatus.RUNNING):
        return True
    return report.status == NcmecReportStatus.SUBMITTED and report.step == Step.PRESERVATION


@dataclass
class Work:
    """One step being run: the report as it was when the step started, and its record."""

    report: NcmecReport
    row: NcmecReportStep
    draft: ReportDraft
    block: NcmecSettings

    @property
    def index(self) -> int:
        return self.report.step_index

    def info(self) -> additional_info.AdditionalInfo:
        raw = self.report.additional_info
        return additional_info.NO_INFO if raw is None else additional_info.parse(raw, self.draft)

    def client(self) -> CyberTipClient:
        try:
            username, password = cybertip_credentials(self.block)
        except CredentialError as exc:
            raise StepFailed(f"The NCMEC credentials cannot be used: {exc}") from None
        return CyberTipClient(username, password)

    def checkpoint(self, detail: str, step: Step) -> None:
        """Record the current row as done and start the next one of the same position."""
        with transaction.atomic():
            _finish_row(self.row, NcmecStepStatus.DONE, detail)
            self.row = _start_row(self.report, self.draft, step, self.index)

    def done(
        self,
        detail: str,
        step: Step,
        index: int = 0,
        *,
        row_status: NcmecStepStatus = NcmecStepStatus.DONE,
        also: Callable[[NcmecReport], None] | None = None,
        **fields: Any,
    ) -> None:
        """Record the step's outcome and its outputs (report fields) and move on to (`step`,
        `index`), in one transaction; `also` runs in it too (e.g. to queue a webhook)."""
        report = self.report
        with transaction.atomic():
            _finish_row(self.row, row_status, detail)
            report.error = fields.pop("error", "")
            for name, value in fields.items():
                setattr(report, name, value)
            report.step, report.step_index = step, index
            if report.submitted_at:
                report.status = NcmecReportStatus.SUBMITTED
            if also is not None:
                also(report)
            report.save()


def _start_row(report: NcmecReport, draft: ReportDraft, step: Step, index: int):
    return NcmecReportStep.objects.create(
        report=report,
        attempt=report.attempt,
        step=step,
        index=index,
        label=label(step, index, draft, report.report_id),
        status=NcmecStepStatus.STARTED,
    )


def _finish_row(row: NcmecReportStep, status: NcmecStepStatus, detail: str) -> None:
    row.status, row.detail, row.finished_at = status, detail, timezone.now()
    row.save(update_fields=["status", "detail", "finished_at"])


def _advance(report_id: str) -> bool:
    """Run the report's next step; True while there is more to do now."""
    with transaction.atomic():
        report = NcmecReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None or not _runnable(report):
            return False
        if report.next_attempt_at and report.next_attempt_at > timezone.now() + EARLY:
            return False  # an automatic retry is scheduled for later
        draft = ReportDraft.from_json(report.draft)
        interrupted = report.steps.filter(status=NcmecStepStatus.STARTED).last()
        if interrupted is not None:
            return _recover(report, interrupted)
        step = Step.RETRACT if report.needs_retract else Step(report.step or Step.ADDITIONAL_INFO)
        if step is Step.DONE:
            return False
        if step is Step.SUBMIT:
            report.attempt += 1
        if report.status != NcmecReportStatus.SUBMITTED:
            report.status = NcmecReportStatus.RUNNING
        report.next_attempt_at = None
        report.save()
        first = Step.FETCH_MEDIA if step is Step.UPLOAD_MEDIA else step
        row = _start_row(report, draft, first, 0 if step is Step.RETRACT else report.step_index)
    work = Work(report, row, draft, ncmec_settings())
    try:
        STEPS[step](work)
    except StepFailed as failure:
        _failed(report_id, work.row, failure)
        return False
    except Exception:
        log.exception("NCMEC report %s: step %s failed unexpectedly", report_id, work.row.step)
        _failed(
            report_id,
            work.row,
            StepFailed("Unexpected error in Coop during this step; the worker's log has details"),
        )
        return False
    return True


def _recover(report: NcmecReport, row: NcmecReportStep) -> bool:
    """The worker stopped during `row` (a crash): decide what to do instead of guessing."""
    stopped = "Coop stopped during this step (the worker was interrupted)"
    if row.step == Step.SUBMIT:
        _finish_row(row, NcmecStepStatus.FAILED, stopped)
        report.status = NcmecReportStatus.FAILED
        report.error = (
            "Coop stopped while NCMEC was opening the report, so it does not know whether a "
            "report was opened. Such a report is never finished, and NCMEC discards unfinished "
            "reports; Retry opens a new one."
        )
        report.save()
        notifications.notify(report)
        return False
    if row.step in (Step.UPLOAD_MEDIA, Step.UPLOAD_THREAD) and report.report_id:
        report.needs_retract = True
        stopped += (
            "; NCMEC may hold this file without Coop knowing it, so the open report is "
            "retracted and filed again"
        )
        report.save()
    _finish_row(row, NcmecStepStatus.FAILED, stopped)
    return True


def _failed(report_id: str, row: NcmecReportStep, failure: StepFailed) -> None:
    """Record the failure; schedule an automatic retry, or stop and tell people."""
    with transaction.atomic():
        report = NcmecReport.objects.select_for_update().get(pk=report_id)
        _finish_row(row, NcmecStepStatus.FAILED, failure.message)
        if report.submitted_at:
            # Filed already: only the preservation step is left, and the sweep takes it up.
            report.error = failure.message
            report.save()
            return
        if failure.abandon and report.report_id:
            report.needs_retract = True
        waits = settings.COOP_NCMEC_RETRY_SCHEDULE
        if failure.retryable and report.retries < len(waits):
            report.next_attempt_at = timezone.now() + timedelta(seconds=waits[report.retries])
            report.retries += 1
            report.status = NcmecReportStatus.QUEUED
            report.error = (
                f"{failure.message}. Coop tries again at "
                f"{report.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC "
                f"(automatic retry {report.retries} of {len(waits)})."
            )
            report.save()
            schedule(report.pk, report.next_attempt_at)
            return
        report.status = NcmecReportStatus.FAILED
        report.next_attempt_at = None
        report.error = failure.message
        report.save()
        notifications.notify(report)
        retract_now = report.needs_retract and bool(report.report_id)
    if retract_now:
        _retract_abandoned(report_id)


def _retract_abandoned(report_id: str) -> None:
    """Retract the open report of a report that just failed for good, so nothing unfinished is
    left at NCMEC; if NCMEC cannot be reached, Retry retracts it first."""
    with transaction.atomic():
        report = NcmecReport.objects.select_for_update().get(pk=report_id)
        draft = ReportDraft.from_json(report.draft)
        row = _start_row(report, draft, Step.RETRACT, 0)
    work = Work(report, row, draft, ncmec_settings())
    try:
        _retract(work, keep_error=True)
    except StepFailed as failure:
        _finish_row(work.row, NcmecStepStatus.FAILED, failure.message)


# --- the steps ----------------------------------------------------------------------------


def _additional_info(work: Work) -> None:
    url = work.block["additionalInfoEndpoint"]
    if not url:
        work.done(
            "No additional-info endpoint is set (Settings → NCMEC): the report is built from "
            "what Coop stores",
            Step.BUILD_XML,
            row_status=NcmecStepStatus.SKIPPED,
            additional_info=None,
        )
        return
    try:
        answer = additional_info.fetch(url, work.draft, work.report.pk)
    except additional_info.AdditionalInfoError as exc:
        raise StepFailed(
            f"The additional-info endpoint failed: {exc.message}", retryable=exc.retryable
        ) from None
    info = additional_info.parse(answer, work.draft)
    missing = additional_info.missing_media(info, work.draft)
    if work.draft.media and len(missing) == len(work.draft.media) and not work.draft.messages:
        raise StepFailed(
            "The platform says every reported media item is missing and no messages were "
            "selected: there is nothing to file"
        )
    detail = f"The platform answered for the user and {len(work.draft.media)} media item(s)"
    if missing:
        detail += f"; {len(missing)} missing on the platform, left out of the report"
    work.done(detail, Step.BUILD_XML, additional_info=answer)


def _prior_reports(report: NcmecReport) -> tuple[int, ...]:
    """Earlier filed reports on the same user, in the same NCMEC environment, newest first."""
    earlier = (
        NcmecReport.objects.filter(
            user_id=report.user_id,
            user_type_id=report.user_type_id,
            is_test=report.is_test,
            submitted_at__isnull=False,
        )
        .exclude(pk=report.pk)
        .order_by("-submitted_at")
        .values_list("report_id", flat=True)
    )
    return tuple(int(r) for r in earlier if r.isdigit())


def _build_xml(work: Work) -> None:
    if not reporting_enabled(work.block):
        raise StepFailed(
            "NCMEC reporting is not enabled: Settings → NCMEC needs the username, password, "
            "company report name and legal URL"
        )
    items = report_content.load_items(work.draft)
    try:
        document = report_content.report_document(
            work.draft,
            work.block,
            work.info(),
            items,
            _prior_reports(work.report),
            timezone.now(),
        )
    except report_content.ContentError as exc:
        raise StepFailed(str(exc)) from None
    xml = report_xml(document).decode("utf-8")
    work.done(f"{len(xml):,} bytes of XML", Step.SUBMIT, report_xml=xml)


def _cybertip_failure(exc: CyberTipError, step: Step) -> StepFailed:
    if step is Step.SUBMIT:
        if exc.uncertain:
            return StepFailed(
                f"{exc.message}. NCMEC may have opened a report Coop never heard back about, so "
                "Coop does not send /submit again by itself; such a report is never finished "
                "and NCMEC discards it. Retry opens a new report."
            )
        return StepFailed(exc.message, retryable=exc.retryable)
    if exc.code in REPORT_GONE_CODES:
        return StepFailed(
            f"{exc.message}: NCMEC no longer has the open report (unfinished reports expire), "
            "so it is filed again",
            retryable=True,
            abandon=True,
        )
    if step in (Step.UPLOAD_MEDIA, Step.UPLOAD_THREAD) and exc.uncertain:
        return StepFailed(
            f"{exc.message}. NCMEC may hold this file without Coop knowing it, so the open "
            "report is retracted and filed again",
            retryable=True,
            abandon=True,
        )
    if exc.code is not None and not exc.retryable:
        return StepFailed(exc.message, abandon=True)  # NCMEC will never take this
    return StepFailed(exc.message, retryable=exc.retryable)


def _call(step: Step, operation: Callable[[], Any]) -> Any:
    try:
        return operation()
    except CyberTipError as exc:
        raise _cybertip_failure(exc, step) from None


def _submit(work: Work) -> None:
    xml = work.report.report_xml.encode("utf-8")
    with work.client() as client:
        answer = _call(Step.SUBMIT, lambda: client.submit(xml))
    work.done(
        f"NCMEC opened report {answer.report_id}",
        *_after_files(work.draft, -1),
        report_id=answer.report_id,
        files=[],
    )


def _after_files(draft: ReportDraft, media_index: int, thread_index: int = -1) -> tuple:
    """The position after media `media_index` (or thread `thread_index`)."""
    if thread_index < 0 and media_index + 1 < len(draft.media):
        return Step.UPLOAD_MEDIA, media_index + 1
    threads = report_content.threads_of(draft)
    if thread_index + 1 < len(threads):
        return Step.UPLOAD_THREAD, thread_index + 1
    return Step.FINISH, 0


def _fetch(url: str) -> FetchedMedia:
    try:
        return MediaFetcher().download(url)
    except MediaFetchError as exc:
        lasting = exc.problem in LASTING_FETCH_PROBLEMS
        raise StepFailed(
            f"The media could not be downloaded: {exc.reason}",
            retryable=not lasting,
            abandon=lasting,
        ) from None


def _pdq(url: str, media: FetchedMedia) -> str | None:
    """The PDQ hash Coop stored for this image when it hashed it, else of the bytes now."""
    known = stored_hash(url)
    if known is not None:
        return known.hash
    if media.kind is not MediaKind.IMAGE:
        return None
    try:
        return hash_image(media.content).hash
    except ImageError:
        return None


def _upload_media(work: Work) -> None:
    index, draft = work.index, work.draft
    media = draft.media[index]
    info = work.info().for_media(media.item, media.url)
    if info.missing:
        work.done(
            "The platform says this media item is missing: left out of the report",
            *_after_files(draft, index),
            row_status=NcmecStepStatus.SKIPPED,
        )
        return
    fetched = _fetch(media.url)
    work.checkpoint(f"{fetched.size:,} bytes, {fetched.mime}", Step.UPLOAD_MEDIA)
    name = report_content.file_name(media, info, index)
    with work.client() as client:
        answer = _call(
            Step.UPLOAD_MEDIA,
            lambda: client.upload(work.report.report_id, name, fetched.content, fetched.mime),
        )
    entry = {
        "kind": "media",
        "index": index,
        "fileId": answer.file_id,
        "fileName": name,
        "bytes": fetched.size,
        "md5": answer.md5,
        "pdq": _pdq(media.url, fetched),
        "details": "",
    }
    work.done(
        f"NCMEC file {answer.file_id}",
        Step.MEDIA_DETAILS,
        index,
        files=[*work.report.files, entry],
    )


def _file_entry(work: Work, kind: str) -> dict:
    for entry in work.report.files:
        if entry["kind"] == kind and entry["index"] == work.index:
            return entry
    raise StepFailed(f"Coop has no record of uploading this {kind}; Retry files it again")


def _send_details(work: Work, step: Step, entry: dict, xml: bytes, after: tuple) -> None:
    with work.client() as client:
        _call(step, lambda: client.fileinfo(xml))
    files = [{**e, "details": xml.decode("utf-8")} if e is entry else e for e in work.report.files]
    work.done(f"Details of NCMEC file {entry['fileId']} sent", *after, files=files)


def _media_details(work: Work) -> None:
    entry = _file_entry(work, "media")
    media = work.draft.media[work.index]
    items = report_content.load_items(work.draft)
    document = report_content.media_document(
        work.report.report_id,
        entry["fileId"],
        media,
        work.info().for_media(media.item, media.url),
        items.get(media.item),
        entry["fileName"],
        entry["pdq"],
    )
    after = _after_files(work.draft, work.index)
    _send_details(work, Step.MEDIA_DETAILS, entry, file_details_xml(document), after)


def _upload_thread(work: Work) -> None:
    thread = report_content.threads_of(work.draft)[work.index]
    items = report_content.load_items(work.draft)
    content = report_content.thread_csv(thread, items, work.info())
    name = report_content.thread_file_name(thread)
    with work.client() as client:
        answer = _call(
            Step.UPLOAD_THREAD,
            lambda: client.upload(work.report.report_id, name, content, "text/csv"),
        )
    entry = {
        "kind": "thread",
        "index": work.index,
        "fileId": answer.file_id,
        "fileName": name,
        "bytes": len(content),
        "md5": answer.md5,
        "details": "",
    }
    work.done(
        f"{len(thread.messages)} message(s), NCMEC file {answer.file_id}",
        Step.THREAD_DETAILS,
        work.index,
        files=[*work.report.files, entry],
    )


def _thread_details(work: Work) -> None:
    entry = _file_entry(work, "thread")
    thread = report_content.threads_of(work.draft)[work.index]
    document = report_content.thread_document(
        work.report.report_id, entry["fileId"], thread, entry["fileName"]
    )
    after = _after_files(work.draft, len(work.draft.media), work.index)
    _send_details(work, Step.THREAD_DETAILS, entry, file_details_xml(document), after)


def _finish(work: Work) -> None:
    report_id = work.report.report_id
    with work.client() as client:
        answer = _call(Step.FINISH, lambda: client.finish(report_id))
    work.done(
        f"Filed: NCMEC report {report_id} with {len(work.report.files)} file(s)",
        Step.PRESERVATION,
        receipt=answer.text,
        submitted_at=timezone.now(),
    )


def preservation_body(report: NcmecReport, draft: ReportDraft) -> dict[str, Any]:
    """`{"isTest", "reportId", "reportedMedia": [{id, typeId, url}], "reportedMessages"?,
    "user": {id, typeId}}`: what was filed, for the platform to preserve."""
    uploaded = {e["index"] for e in report.files if e["kind"] == "media"}
    body: dict[str, Any] = {
        "isTest": report.is_test,
        "reportId": report.report_id,
        "reportedMedia": [
            {**m.item.as_wire(), "url": m.url} for i, m in enumerate(draft.media) if i in uploaded
        ],
        "user": draft.user.as_wire(),
    }
    messages = list(dict.fromkeys(m.message for m in draft.messages))
    if messages:
        body["reportedMessages"] = [ref.as_wire() for ref in messages]
    return body


def _preservation(work: Work) -> None:
    url = work.block["preservationEndpoint"]
    if not url:
        work.done(
            "No preservation endpoint is set (Settings → NCMEC)",
            Step.DONE,
            row_status=NcmecStepStatus.SKIPPED,
        )
        return

    def queue(report: NcmecReport) -> None:
        body = preservation_body(report, work.draft)
        report.preservation = create_delivery(DeliveryEvent.NCMEC_PRESERVATION, url, {}, body)

    work.done("Queued in the webhook outbox (see Deliveries)", Step.DONE, also=queue)


def _retract(work: Work, keep_error: bool = False) -> None:
    """Retract the open report; the next filing starts again at /submit (with the same XML)."""
    report = work.report
    with work.client() as client:
        _call(Step.RETRACT, lambda: client.retract(report.report_id))
    work.done(
        f"NCMEC report {report.report_id} retracted",
        Step.SUBMIT,
        needs_retract=False,
        retracted_report_ids=[*report.retracted_report_ids, report.report_id],
        report_id="",
        files=[],
        error=report.error if keep_error else "",
    )


STEPS: dict[Step, Callable[[Work], None]] = {
    Step.ADDITIONAL_INFO: _additional_info,
    Step.BUILD_XML: _build_xml,
    Step.SUBMIT: _submit,
    Step.UPLOAD_MEDIA: _upload_media,
    Step.MEDIA_DETAILS: _media_details,
    Step.UPLOAD_THREAD: _upload_thread,
    Step.THREAD_DETAILS: _thread_details,
    Step.FINISH: _finish,
    Step.PRESERVATION: _preservation,
    Step.RETRACT: _retract,
}


# --- from the console --------------------------------------------------------------------


class NotRetryable(Exception):
    pass


def retry(report_id: Any) -> NcmecReport:
    """Resume a failed report from its failed step (or re-send a preservation request that the
    platform never accepted). NotRetryable when there is nothing to retry."""
    with transaction.atomic():
        report = NcmecReport.objects.select_for_update().get(pk=report_id)
        if report.status == NcmecReportStatus.FAILED:
            report.status = NcmecReportStatus.QUEUED
            report.retries = 0
            report.next_attempt_at = None
            report.error = ""
            report.save()
            schedule(report.pk)
            return report
        if report.preservation_id and report.preservation.status == DeliveryStatus.DEAD:
            resend([report.preservation_id])
            report.preservation_alerted = False
            report.save(update_fields=["preservation_alerted", "updated_at"])
            return report
    raise NotRetryable("This report is not failed: there is nothing to retry.")


# --- recovery ---------------------------------------------------------------------------

# Reports the machine should be working on that have no waiting or running task (the task was
# lost, e.g. its worker failed on a database outage).
_ORPHANED = """
SELECT r.id FROM childsafety_ncmecreport r
WHERE (r.status IN ('QUEUED', 'RUNNING') OR (r.status = 'SUBMITTED' AND r.step = 'preservation'))
  AND COALESCE(r.next_attempt_at, r.updated_at) <= %s
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.task_name = %s AND j.status IN ('todo', 'doing')
        AND j.args->>'report_id' = r.id::text
  )
LIMIT 100
"""


def sweep() -> None:
    """Re-defer lost report tasks and tell the on-call address about preservation requests
    that died in the outbox. Run by the housekeeping task."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ORPHANED, [timezone.now() - SWEEP_GRACE, TASK])
        for (pk,) in cursor.fetchall():
            log.warning("NCMEC report %s had no task; deferring one", pk)
            schedule(pk)
        dead = NcmecReport.objects.select_for_update(skip_locked=True).filter(
            preservation__status=DeliveryStatus.DEAD, preservation_alerted=False
        )
        for report in dead:
            notifications.notify(report, notifications.PRESERVATION_DEAD)
            report.preservation_alerted = True
            report.save(update_fields=["preservation_alerted", "updated_at"])
