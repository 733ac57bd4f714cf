"""Coop HASH banks mirrored in HMA: created, renamed, enabled, filled, emptied and deleted, by
tasks that run after the configuration commits; HMA's answers never delete anything in Coop."""

from __future__ import annotations

from coop.catalog.models import Bank, BankEntry
from coop.config.services import delete_object, save_object
from coop.hma.models import HmaBank, HmaSignal, SyncStatus
from hma.conftest import closed_port_url, pending_jobs, run_jobs

A = "a" * 64
B = "b" * 64
C = "0123456789abcdef" * 4


def save(**fields) -> None:
    data = {"id": "known", "name": "Known images", "kind": "HASH"} | fields
    result = save_object("banks", data)
    assert result.ok, result.errors


def state() -> HmaBank:
    return HmaBank.objects.get(bank_id="known")


def test_a_new_bank_is_created_in_hma_after_the_commit_with_its_hashes(db, hma):
    save(hashes=[A, B])
    # Nothing reached HMA while the configuration was written: the task waits for the commit.
    assert hma.requests == []
    assert [name for name, _ in pending_jobs()] == ["coop.hma_sync_bank"]
    assert run_jobs() == ["ok"]
    assert hma.banks == {"COOP_KNOWN_IMAGES": 1.0}
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == [A, B]
    create = hma.calls("POST", "/c/banks")[0]
    assert create.body == {"name": "COOP_KNOWN_IMAGES", "enabled_ratio": 1.0}
    assert [r.body for r in hma.calls("POST", "/c/bank/COOP_KNOWN_IMAGES/signal")] == [
        {"pdq": A},
        {"pdq": B},
    ]
    synced = state()
    assert (synced.status, synced.synced_version, synced.error) == (SyncStatus.SYNCED, 1, "")


def test_added_and_removed_hashes_follow_and_disabling_sets_the_ratio(db, hma):
    save(hashes=[A, B])
    run_jobs()
    save(hashes=[B, C], enabled=False)
    run_jobs()
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == [B, C]
    assert hma.banks["COOP_KNOWN_IMAGES"] == 0.0
    assert sorted(HmaSignal.objects.values_list("value", flat=True)) == sorted([B, C])
    assert len(hma.calls("DELETE", "/c/bank/COOP_KNOWN_IMAGES/content/")) == 1


def test_a_rename_renames_in_place_and_keeps_every_hash(db, hma):
    save(hashes=[A, B])
    run_jobs()
    content_ids = sorted(hma.contents)
    save(name="CSAM – confirmed")
    run_jobs()
    assert hma.banks == {"COOP_CSAM_CONFIRMED": 1.0}
    assert sorted(hma.contents) == content_ids  # the same contents, not copies
    assert hma.bank_signals("COOP_CSAM_CONFIRMED") == [A, B]
    assert hma.calls("PUT", "/c/bank/COOP_KNOWN_IMAGES")[-1].body == {
        "name": "COOP_CSAM_CONFIRMED",
        "enabled_ratio": 1.0,
    }
    assert not hma.calls("POST", "/c/banks")[1:]  # no second bank
    assert list(BankEntry.objects.values_list("value", flat=True)) == [A, B]
    assert (state().name, state().renaming_from) == ("COOP_CSAM_CONFIRMED", "")


def test_a_rename_interrupted_after_hma_renamed_finishes_on_the_next_run(db, hma):
    save(hashes=[A])
    run_jobs()
    # HMA renamed the bank, then the worker died before recording it.
    hma.banks["COOP_SCAM"] = hma.banks.pop("COOP_KNOWN_IMAGES")
    for content in hma.contents.values():
        content.bank = "COOP_SCAM"
    HmaBank.objects.filter(bank_id="known").update(
        renaming_from="COOP_KNOWN_IMAGES", name="COOP_SCAM"
    )
    save(name="Scam")
    run_jobs()
    assert (state().status, state().renaming_from) == (SyncStatus.SYNCED, "")
    assert hma.bank_signals("COOP_SCAM") == [A]


def test_names_are_normalised_and_a_taken_name_gets_a_suffix(db, hma):
    save(hashes=[A])
    assert save_object("banks", {"id": "k2", "name": "known-images!", "kind": "HASH"}).ok
    assert save_object("banks", {"id": "x", "name": "日本", "kind": "HASH"}).ok
    run_jobs()
    assert set(hma.banks) == {"COOP_KNOWN_IMAGES", "COOP_KNOWN_IMAGES_2", "COOP_X"}


def test_deleting_the_bank_deletes_it_in_hma_then_forgets_it(db, hma):
    save(hashes=[A])
    run_jobs()
    assert delete_object("banks", "known").ok
    # Kept until HMA confirms, so a failure there stays visible.
    assert HmaBank.objects.get().status == SyncStatus.DELETING
    assert run_jobs() == ["ok"]
    assert hma.banks == {}
    assert hma.contents == {}
    assert not HmaBank.objects.exists()


def test_a_bank_hma_lost_is_shown_missing_and_nothing_local_is_deleted(db, hma):
    save(hashes=[A, B])
    run_jobs()
    del hma.banks["COOP_KNOWN_IMAGES"]  # deleted in HMA by someone else
    save(hashes=[A, B, C])
    run_jobs()
    missing = state()
    assert missing.status == SyncStatus.MISSING
    assert "HMA has no bank COOP_KNOWN_IMAGES" in missing.error
    assert Bank.objects.filter(pk="known").exists()
    assert list(BankEntry.objects.values_list("value", flat=True)) == [A, B, C]
    # Further changes wait for the administrator's re-create; nothing is created meanwhile.
    save(hashes=[A])
    run_jobs()
    assert "COOP_KNOWN_IMAGES" not in hma.banks


def test_recreate_creates_the_bank_again_and_pushes_every_hash(db, hma):
    from coop.hma.tasks import retry

    save(hashes=[A, B])
    run_jobs()
    hma.banks.clear()
    hma.contents.clear()
    save(hashes=[A, B, C])
    run_jobs()
    assert state().status == SyncStatus.MISSING
    retry(Bank.objects.get(pk="known"))
    run_jobs()
    assert state().status == SyncStatus.SYNCED
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == [A, B, C]


def test_hma_down_is_an_error_on_the_bank_and_the_task_retries(db, settings):
    settings.HMA_SERVICE_URL = closed_port_url()
    save(hashes=[A])
    (outcome,) = run_jobs()
    assert outcome.startswith("retry: HMA POST /c/banks: ConnectError")
    failed = state()
    assert failed.status == SyncStatus.ERROR
    assert "HMA POST /c/banks: ConnectError" in failed.error
    assert Bank.objects.get(pk="known").entries.count() == 1


def test_a_5xx_is_retried_and_a_4xx_is_recorded_without_retry(db, hma):
    hma.fail(r"^/c/banks$", 503, times=1)
    save(hashes=[A])
    assert run_jobs()[0].startswith("retry: HMA POST /c/banks answered 503")
    from coop.hma.tasks import defer_sync

    defer_sync("known")
    assert run_jobs() == ["ok"]
    assert state().status == SyncStatus.SYNCED
    hma.fail(r"/signal$", 400)
    save(hashes=[A, B])
    assert run_jobs() == ["ok"]  # recorded, not retried: HMA refused the request
    assert state().status == SyncStatus.ERROR
    assert "answered 400: scripted failure 400" in state().error


def test_a_stalled_hma_times_out(db, hma):
    from hma.conftest import quick_client

    quick_client(hma.url, call_timeout=0.3)
    save(hashes=[A])
    hma.stall(1.0)
    (outcome,) = run_jobs()
    assert "no answer within 0.3 s" in outcome
    assert "no answer within 0.3 s" in state().error
    # HMA did create the bank, late: the retry finds it (403) and carries on, one bank.
    hma.stall(0)
    from coop.hma.tasks import defer_sync

    defer_sync("known")
    assert run_jobs() == ["ok"]
    assert (state().status, list(hma.banks)) == (SyncStatus.SYNCED, ["COOP_KNOWN_IMAGES"])
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == [A]


def test_a_large_bank_is_pushed_over_several_task_runs(db, hma, monkeypatch):
    from coop.hma import sync

    monkeypatch.setattr(sync, "PUSH_BATCH", 2)
    hashes = [f"{i:064x}" for i in range(5)]
    save(hashes=hashes)
    assert run_jobs() == ["ok", "ok", "ok"]
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == hashes
    assert state().status == SyncStatus.SYNCED


def test_without_hma_configured_nothing_is_deferred(db):
    save(hashes=[A])
    assert pending_jobs() == []
    assert not HmaBank.objects.exists()


def test_a_bank_configured_before_hma_is_synced_by_the_sweep(db, settings):
    from coop.hma.tasks import sweep
    from coop.testing.fake_hma import FakeHma

    save(hashes=[A])
    with FakeHma() as fake:
        settings.HMA_SERVICE_URL = fake.url
        sweep(timestamp=0)
        run_jobs()
        assert fake.bank_signals("COOP_KNOWN_IMAGES") == [A]


def test_a_bank_that_stops_being_a_hash_bank_leaves_hma(db, hma):
    save(hashes=[A])
    run_jobs()
    assert save_object(
        "banks", {"id": "known", "name": "Known", "kind": "TEXT", "values": ["x"]}
    ).ok
    run_jobs()
    assert hma.banks == {}
    assert not HmaBank.objects.exists()
