"""Child safety end to end, as it runs in production: the platform reports an image with
`csam: true`, a child-safety moderator works the user-level NCMEC job in the console, and a real
worker files the CyberTip report with (a local fake of) NCMEC."""

from __future__ import annotations

import json

import pytest

from childsafety import cybertip_world as world
from coop.childsafety.jobs import case_for
from coop.childsafety.models import NcmecReport
from coop.review.models import Job, JobKind
from coop.testing.fake_cybertip import FakeCyberTip
from factories import queue, user
from media.server import MediaHost, serve
from processes import start_worker, stop, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_csam_report_is_reviewed_and_filed_with_cybertip(client, api_key):
    with FakeCyberTip(world.USERNAME, world.PASSWORD) as fake, MediaHost() as media:
        media.routes["/photos/beach%20day.jpg"] = serve(world.image(3), "image/jpeg")
        media.routes["/photos/2.jpg"] = serve(world.image(4), "image/jpeg")
        world.items(media.url)
        reviewer = user("cs@example.com", "Child Safety Moderator")
        queue("ncmec", [reviewer], name="NCMEC review")
        world.ncmec_settings(defaultQueue="ncmec")

        reported = {"id": "p-1", "typeId": "post", "data": {
            "text": "first", "images": [f"{media.url}/photos/beach%20day.jpg"],
            "author": {"id": "u-1", "typeId": "user"},
        }}  # fmt: skip
        response = client.post(
            "/api/v1/report",
            data=json.dumps({
                "reporter": {"kind": "user", "typeId": "user", "id": "r-1"},
                "reportedAt": "2026-05-04T10:30:00Z",
                "reportedForReason": {"csam": True, "reason": "a child in danger"},
                "reportedItem": reported,
            }),
            content_type="application/json",
            headers={"X-API-KEY": api_key},
        )  # fmt: skip
        assert response.status_code == 201, response.content
        job = Job.objects.get(kind=JobKind.NCMEC)
        assert (job.item_type_id, job.item_id) == ("user", "u-1")  # user-level: the author

        client.force_login(reviewer)
        assert client.post("/queues/ncmec/review")["Location"] == f"/jobs/{job.pk}"
        page = client.get(f"/jobs/{job.pk}").content.decode()
        assert page.count("data-media-card") == 2  # both of the user's images
        decided = client.post(
            f"/jobs/{job.pk}/ncmec",
            {
                "decision": "submit",
                "version": str(case_for(job).version),
                "incident_type": "CHILD_PORNOGRAPHY",
                "media-0-classification": "A1",
                "media-0-annotations": ["infant"],
                "media-1-classification": "B1",
            },
        )
        assert decided.status_code == 302, decided.content.decode()[:2000]
        report = NcmecReport.objects.get()

        worker = start_worker(NCMEC_CYBERTIP_URL=fake.url)
        try:

            def filed() -> bool:
                report.refresh_from_db()
                return report.status == "SUBMITTED"

            wait_until(filed, 90, "the worker did not file the report")
        finally:
            stop(worker)

        (finished,) = fake.finished()
        assert len(finished.files) == 2  # the two images, uploaded and described
        assert fake.violations == []
        assert report.report_id == finished.report_id
        listing = client.get("/ncmec").content.decode()
        assert report.report_id in listing
