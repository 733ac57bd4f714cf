"""User-level NCMEC jobs replace the NcmecRequest holding state (review.md, NCMEC).

Forward: every pending NcmecRequest becomes (or merges into) its user's pending NCMEC-kind job
in the NCMEC queue (`ncmec.defaultQueue`; the default queue when none is set, where NCMEC
jobs are visible only with VIEW_CHILD_SAFETY_DATA), keeping its creation time and recording
the item that led to it; the job's media are gathered when a reviewer first opens it
(`stale`). Then the requests table goes.

Backward: each user with a pending NCMEC job gets a pending NcmecRequest again (the item that
led to the job first, its source). The jobs themselves stay: they may have been claimed,
commented or reported on since, and a pending job is never destroyed.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

# ExecutionSource of a request -> JobSource of its job (coop.review.builtin_actions).
JOB_SOURCES = {"RULE": "RULE", "RETROACTION": "RULE", "API": "API"}
WAITING_REASON = (
    "Waiting for NCMEC review: the NCMEC review queue is not enabled in this version yet, "
    "so no reviewer can work this request."
)


def requests_to_jobs(apps, schema_editor):
    NcmecRequest = apps.get_model("childsafety", "NcmecRequest")
    NcmecCase = apps.get_model("childsafety", "NcmecCase")
    Job = apps.get_model("review", "Job")
    Queue = apps.get_model("review", "Queue")
    OrgSettings = apps.get_model("catalog", "OrgSettings")
    ItemSubmission = apps.get_model("ingest", "ItemSubmission")
    pending = list(NcmecRequest.objects.filter(status="PENDING").order_by("created_at", "id"))
    if not pending:
        return
    row = OrgSettings.objects.filter(pk=1).first()
    ncmec = (row.data or {}).get("ncmec") if row else None
    queue_id = ncmec.get("defaultQueue") if isinstance(ncmec, dict) else None
    queue = Queue.objects.filter(pk=queue_id).first() if queue_id else None
    queue = queue or Queue.objects.get(is_default=True, is_appeals=False)
    now = timezone.now()
    for request in pending:
        job = Job.objects.filter(
            queue=queue,
            kind="NCMEC",
            status="PENDING",
            item_id=request.user_id,
            item_type_id=request.user_type_id,
        ).first()
        if job is None:
            job = Job.objects.create(
                queue=queue,
                kind="NCMEC",
                status="PENDING",
                item_id=request.user_id,
                item_type_id=request.user_type_id,
                submission=ItemSubmission.objects.filter(
                    item_id=request.user_id, item_type_id=request.user_type_id
                )
                .order_by("-submitted_at", "-id")
                .first(),
                source=JOB_SOURCES.get(request.source, "MANUAL"),
                created_at=request.created_at,
                updated_at=now,
            )
        case, _ = NcmecCase.objects.get_or_create(job=job)
        entry = {
            "id": request.item_id,
            "typeId": request.item_type_id,
            "source": job.source,
            "at": request.created_at.isoformat(),
        }
        if all((e["id"], e["typeId"]) != (entry["id"], entry["typeId"]) for e in case.entries):
            case.entries = [*case.entries, entry]
        case.entry_count += 1
        case.stale = True
        case.save()


def jobs_to_requests(apps, schema_editor):
    NcmecRequest = apps.get_model("childsafety", "NcmecRequest")
    NcmecCase = apps.get_model("childsafety", "NcmecCase")
    Job = apps.get_model("review", "Job")
    seen = set()
    for job in Job.objects.filter(kind="NCMEC", status="PENDING").order_by("created_at", "id"):
        user = (job.item_type_id, job.item_id)
        if user in seen:
            continue
        seen.add(user)
        case = NcmecCase.objects.filter(job=job).first()
        first = case.entries[0] if case is not None and case.entries else None
        NcmecRequest.objects.create(
            user_id=job.item_id,
            user_type_id=job.item_type_id,
            item_id=first["id"] if first else job.item_id,
            item_type_id=first["typeId"] if first else job.item_type_id,
            source=job.source,
            status="PENDING",
            reason=WAITING_REASON,
            created_at=job.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_item_type_hidden_fields"),
        ("childsafety", "0002_ncmec_report"),
        ("ingest", "0004_image_hashes"),
        ("review", "0006_priority_counts_reports"),
    ]

    operations = [
        migrations.CreateModel(
            name="NcmecCase",
            fields=[
                (
                    "job",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="ncmec_case",
                        serialize=False,
                        to="review.job",
                    ),
                ),
                ("entries", models.JSONField(default=list, help_text="[{id, typeId, source, at}]")),
                (
                    "entry_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Every entry, merged ones too"
                    ),
                ),
                (
                    "media",
                    models.JSONField(
                        default=list, help_text="[{item, url, kind, field, reported}]"
                    ),
                ),
                (
                    "media_total",
                    models.PositiveIntegerField(default=0, help_text="Media found, beyond the cap"),
                ),
                ("media_scan_complete", models.BooleanField(default=True)),
                (
                    "threads",
                    models.JSONField(default=list, help_text="[{thread, messages: [...], more}]"),
                ),
                ("version", models.PositiveIntegerField(default=0)),
                (
                    "stale",
                    models.BooleanField(default=True, help_text="Gather again before showing"),
                ),
                ("gathered_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(requests_to_jobs, jobs_to_requests),
        migrations.DeleteModel(
            name="NcmecRequest",
        ),
    ]
