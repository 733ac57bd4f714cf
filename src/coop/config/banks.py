"""HASH banks in the console: create, edit, fill from files and images, attach an exchange.

Every change goes through `save_object`, so the console, the `coop banks import` command and
the configuration file share one validator and every import is a new bank version with a
ConfigChange row (export then apply is a no-op). Edits leave `hashes` out, which keeps the
bank's hashes: a rename never loses them. A file is checked completely before anything is
written: one bad line and nothing is imported.

File formats: one PDQ hash per line (blank lines and `#` comments skipped), or a CSV with a
header row naming a `signal` (or `hash`, `pdq`) column and optionally a `signal_type` column
whose values must be `pdq`. integrations.md does not fix HMA's export columns, so the CSV
reader takes the column by name and ignores the others.
"""

from __future__ import annotations

import csv
import io

from coop.accounts.models import User
from coop.catalog.models import Bank
from coop.config.kinds import BY_KEY
from coop.config.schema import ConfigError
from coop.config.services import SOURCE_CONSOLE, SaveResult, save_object
from coop.core.enums import BankKind
from coop.signals.hashing import (
    MIN_QUALITY,
    InvalidHash,
    PdqHash,
    hash_image,
    parse_hash,
    parse_hash_lines,
)

HASH_COLUMNS = ("signal", "hash", "pdq")


def parse_hash_file(text: str) -> list[str]:
    """The hashes of an import file; InvalidHash("line N: ...") on the first bad line."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    if "," not in first and first.strip().lower() not in HASH_COLUMNS:
        return parse_hash_lines(lines)
    rows = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    hashes = []
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            column = next((header.index(c) for c in HASH_COLUMNS if c in header), None)
            if column is None:
                raise InvalidHash(
                    f"the CSV header has no {' / '.join(HASH_COLUMNS)} column", number
                )
            kind = header.index("signal_type") if "signal_type" in header else None
            continue
        if kind is not None and row[kind].strip().lower() not in ("pdq", ""):
            raise InvalidHash(f"signal type {row[kind].strip()!r} is not pdq", number)
        try:
            hashes.append(parse_hash(row[column] if column < len(row) else ""))
        except InvalidHash as exc:
            raise InvalidHash(str(exc), number) from None
    return hashes


def _bank_file_form(bank_id: str) -> dict:
    bank = Bank.objects.prefetch_related("entries").get(pk=bank_id)
    if bank.kind != BankKind.HASH:
        raise ValueError(f"bank {bank_id!r} is a {bank.kind} bank, not a HASH bank")
    kind = BY_KEY["banks"]
    return kind.export_one(kind.to_dict(bank))


def add_hashes(
    bank_id: str, hashes: list[str], *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> tuple[SaveResult, int]:
    """Add `hashes` to the bank (those it has already are skipped); (result, number added)."""
    data = _bank_file_form(bank_id)
    existing = data.get("hashes", [])
    known = set(existing)
    new = [h for h in dict.fromkeys(hashes) if h not in known]
    if not new:
        return SaveResult([], None), 0
    data["hashes"] = [*existing, *new]
    result = save_object("banks", data, user=user, source=source)
    return result, len(new) if result.ok else 0


def import_file(
    bank_id: str, text: str, *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> tuple[SaveResult, int]:
    try:
        hashes = parse_hash_file(text)
    except InvalidHash as exc:
        return SaveResult([ConfigError("file", str(exc))], None), 0
    return add_hashes(bank_id, hashes, user=user, source=source)


def add_image(
    bank_id: str, content: bytes, *, user: User | None = None
) -> tuple[SaveResult, PdqHash]:
    """Hash an uploaded image and add its hash; the image itself is not kept anywhere.

    An image of PDQ quality below MIN_QUALITY is refused, as HMA refuses it: its hash says too
    little to match on. Raises ImageError for bytes that are not an image."""
    computed = hash_image(content)
    if not computed.usable:
        problem = (
            f"its PDQ quality is {computed.quality}, below {MIN_QUALITY}: the image is too "
            "featureless to match on (HMA refuses such images too); nothing was added"
        )
        return SaveResult([ConfigError("image", problem)], None), computed
    result, _ = add_hashes(bank_id, [computed.hash], user=user)
    return result, computed


def create_hash_bank(data: dict, *, user: User | None = None) -> SaveResult:
    """A new, empty HASH bank from `data` (`id`, `name` and the optional file keys)."""
    if Bank.objects.filter(pk=data.get("id")).exists():
        return SaveResult([ConfigError("id", "a bank with this id exists already")], None)
    return save_object("banks", {**data, "kind": BankKind.HASH, "hashes": []}, user=user)


def update_hash_bank(bank_id: str, changes: dict, *, user: User | None = None) -> SaveResult:
    """Change some keys of a HASH bank (name, distance, enabled, exchange...), keeping its
    hashes."""
    data = _bank_file_form(bank_id)
    data.pop("hashes", None)
    return save_object("banks", {**data, **changes}, user=user)


def exchange_of(bank_id: str) -> dict | None:
    """The bank's exchange as the file spells it (credentials in their stored forms)."""
    return _bank_file_form(bank_id).get("exchange")
