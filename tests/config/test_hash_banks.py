"""Filling HASH banks: the configuration file, file imports, the command, renames."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from coop.catalog.models import Bank, BankEntry
from coop.config import apply_document, parse_text
from coop.config.banks import add_image, import_file, parse_hash_file
from coop.config.services import save_object
from coop.signals.hashing import InvalidHash, hash_image

A = "a" * 64
B = "b" * 64
C = "0123456789abcdef" * 4


@pytest.fixture
def bank(db):
    result = save_object("banks", {"id": "known", "name": "Known", "kind": "HASH", "hashes": [A]})
    assert result.ok, result.errors


def entries() -> list[str]:
    return list(BankEntry.objects.filter(bank_id="known").values_list("value", flat=True))


def test_a_malformed_hash_in_the_file_is_an_error_with_its_path(db):
    _, errors = parse_text(
        f"banks:\n  - {{id: k, name: K, kind: HASH, distance: 10, hashes: [{A}, nothex]}}\n"
    )
    assert [(e.path, "not a PDQ hash" in e.message) for e in errors] == [
        ("banks[0].hashes[1]", True)
    ]


def test_uppercase_hashes_are_stored_lowercase_and_distance_is_kept(db):
    document, errors = parse_text(
        f"banks:\n  - {{id: k, name: K, kind: HASH, distance: 7, hashes: [{A.upper()}]}}\n"
    )
    assert not errors
    assert not apply_document(document).errors
    bank = Bank.objects.get(pk="k")
    assert bank.distance_threshold == 7
    assert list(bank.entries.values_list("value", flat=True)) == [A]


def test_lines_and_csv_parse_and_a_bad_line_is_reported_by_number():
    assert parse_hash_file(f"# export\n{A}\n\n{B}\n") == [A, B]
    assert parse_hash_file(f"signal_type,signal,bank\npdq,{A},x\npdq,{B},x\n") == [A, B]
    with pytest.raises(InvalidHash, match="line 3"):
        parse_hash_file(f"{A}\n{B}\nzz\n")
    with pytest.raises(InvalidHash, match="line 3: signal type 'video_md5'"):
        parse_hash_file(f"signal_type,signal\npdq,{A}\nvideo_md5,{'1' * 32}\n")


def test_an_import_with_one_bad_line_imports_nothing(bank):
    result, added = import_file("known", f"{B}\n{C}\nnot-a-hash\n")
    assert not result.ok
    assert added == 0
    assert "line 3" in result.errors[0].message
    assert entries() == [A]
    result, added = import_file("known", f"{B}\n{A}\n{C}\n")
    assert result.ok
    assert added == 2
    assert entries() == [A, B, C]


def test_the_command_imports_and_reports_line_numbers(bank, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(f"{B}\n")
    call_command("banks", "import", "known", str(good))
    assert entries() == [A, B]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"signal\n{C}\nxyz\n")
    with pytest.raises(CommandError, match="line 3"):
        call_command("banks", "import", "known", str(bad))
    assert entries() == [A, B]


def test_renaming_a_bank_keeps_its_hashes(bank):
    import_file("known", f"{B}\n")
    assert save_object("banks", {"id": "known", "name": "Renamed", "kind": "HASH"}).ok
    document, errors = parse_text("banks:\n  - {id: known, name: Again, kind: HASH, distance: 9}\n")
    assert not errors
    assert not apply_document(document).errors
    bank = Bank.objects.get(pk="known")
    assert (bank.name, bank.distance_threshold) == ("Again", 9)
    assert entries() == [A, B]


def test_an_uploaded_image_is_hashed_and_only_its_hash_is_kept(bank):
    from rules.test_image_hashes import PHOTO

    result, computed = add_image("known", PHOTO)
    assert result.ok
    assert computed.hash == hash_image(PHOTO).hash
    assert entries() == [A, computed.hash]
