"""A real `coop worker` syncs a bank with HMA after the configuration commits, and retries when
HMA was down: the task is durable, not a thread of the process that made the change."""

from __future__ import annotations

import pytest

from coop.config.services import save_object
from coop.hma.models import HmaBank, SyncStatus
from processes import FAST_RECOVERY, start_worker, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

A = "a" * 64


def test_the_worker_syncs_and_retries_until_hma_answers(hma):
    hma.fail(r"^/c/banks$", 503, times=1)  # the first attempt fails on HMA's side
    assert save_object("banks", {"id": "known", "name": "Known", "kind": "HASH", "hashes": [A]}).ok
    worker = start_worker(HMA_SERVICE_URL=hma.url, **FAST_RECOVERY)
    try:
        wait_until(
            lambda: hma.bank_signals("COOP_KNOWN") == [A], 60, "the worker never synced the bank"
        )
        wait_until(
            lambda: HmaBank.objects.filter(status=SyncStatus.SYNCED).exists(),
            30,
            "the bank was never marked in sync",
        )
    finally:
        stop(worker)
    assert len(hma.calls("POST", "/c/banks")) == 2  # failed once, retried by procrastinate
