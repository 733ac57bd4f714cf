"""Crash safety of CyberTip filing (quality.md): a worker killed (SIGKILL) in the middle of the
pipeline, and a restarted worker that finishes the report without filing it twice."""

from __future__ import annotations

import signal
import threading

import pytest

from childsafety import cybertip_world as world
from childsafety.cybertip_world import Platform
from coop.childsafety.models import NcmecReport, NcmecReportStep
from coop.childsafety.reporting import start_report
from coop.testing.fake_cybertip import FakeCyberTip
from factories import user
from media.server import MediaHost, serve
from processes import FAST_RECOVERY, start_worker, stop, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_worker_killed_during_an_upload_and_a_restarted_worker_files_once():
    photo = world.image(3)
    with (
        FakeCyberTip(world.USERNAME, world.PASSWORD) as fake,
        MediaHost() as media,
        Platform() as platform,
    ):
        media.routes["/photos/beach%20day.jpg"] = serve(photo, "image/jpeg")
        world.items(media.url)
        world.ncmec_settings(
            additionalInfoEndpoint=platform.url + Platform.ADDITIONAL_INFO,
            preservationEndpoint=platform.url + Platform.PRESERVE,
        )
        # NCMEC stores the upload, then the answer is held: the worker is killed waiting.
        hold = threading.Event()
        fake.fail("/upload", processed=True, hold=hold)
        report = start_report(
            world.draft(media.url, media=1), user("cs@example.com", "Child Safety Moderator")
        )
        env = {"NCMEC_CYBERTIP_URL": fake.url, "COOP_NCMEC_RETRY_SCHEDULE": "1"}
        worker = start_worker(**env)
        try:
            wait_until(lambda: "/upload" in fake.endpoints(), 60, "the worker never uploaded")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
            hold.set()
        report.refresh_from_db()
        assert (report.status, report.step) == ("RUNNING", "upload-media")
        (first,) = fake.reports.values()
        assert (first.state, len(first.files)) == ("open", 1)  # NCMEC has the file

        # A new worker takes the dead one's task over (its heartbeat stopped) and carries on.
        survivor = start_worker(**env, **FAST_RECOVERY)
        try:

            def filed_and_preserved() -> bool:
                report.refresh_from_db()
                return report.status == "SUBMITTED" and bool(platform.to(Platform.PRESERVE))

            wait_until(filed_and_preserved, 90, "the restarted worker did not file the report")
        finally:
            stop(survivor)
        assert survivor.returncode == 0

    # One finished report at NCMEC; the one that may hold the file twice was retracted first.
    (filed,) = fake.finished()
    assert [r.state for r in fake.reports.values()] == ["retracted", "finished"]
    assert report.report_id == filed.report_id
    assert report.retracted_report_ids == [first.report_id]
    assert len(filed.files) == 2  # the photo and the conversation, once each
    endpoints = fake.endpoints()
    assert endpoints.count("/finish") == 1
    assert endpoints.index("/retract") < endpoints.index("/submit", 1)
    assert fake.violations == []
    assert NcmecReport.objects.count() == 1
    interrupted = NcmecReportStep.objects.get(report=report, step="upload-media", attempt=1)
    assert interrupted.status == "FAILED"
    assert "Coop stopped during this step" in interrupted.detail
    assert len(platform.to(Platform.PRESERVE)) == 1
    assert len(platform.to(Platform.ADDITIONAL_INFO)) == 1
