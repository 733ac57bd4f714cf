"""Banks in the console: create, edit and fill them; HASH banks from files and images, TEXT,
REGEX and LOCATION banks entry by entry, pasted or imported one per line.

Every change goes through `save_object`, so the console, the `coop banks import` command and
the configuration file share one validator and every import is a new bank version with a
ConfigChange row (export then apply is a no-op). Edits leave `hashes` out, which keeps the
bank's hashes: a rename never loses them. A file is checked completely before anything is
written: one bad line and nothing is imported.

File formats: one PDQ hash per line (blank lines and `#` comments skipped), or a CSV with a
header row naming a `signal` (or `hash`, `pdq`) column and optionally a `signal_type` column
whose values must be `pdq`. integrations.md does not fix HMA's export columns, so the CSV
reader takes the column by name and ignores the others.

TEXT, REGEX and LOCATION entries are one per line (blank lines skipped, spaces at either end
ignored); a LOCATION line is a location as the file spells it, a YAML flow mapping such as
`{name: Library, lat: 37.8719, lng: -122.2585, radiusMiles: 0.5}`. Each line is checked with the
schema's own check of a bank entry, so the message is the one `coop config apply` prints.
Reads and the write happen under the configuration lock: two pastes at once both land.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from coop.accounts.models import User
from coop.catalog.models import Bank, BankEntry
from coop.config import schema
from coop.config.engine import config_lock
from coop.config.kinds import BY_KEY
from coop.config.schema import ConfigError, Errors
from coop.config.services import SOURCE_CONSOLE, SaveResult, save_object
from coop.config.yamlio import ConfigSyntaxError, load_yaml
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


@contextmanager
def _locked() -> Iterator[None]:
    """Read the bank and write it back under the configuration lock, so a change made in
    between (another paste, `coop config apply`) is never overwritten."""
    with transaction.atomic():
        config_lock(create=True)
        yield


def _file_form(bank: Bank) -> dict:
    kind = BY_KEY["banks"]
    return kind.export_one(kind.to_dict(bank))


def _bank_file_form(bank_id: str) -> dict:
    bank = Bank.objects.get(pk=bank_id)
    if bank.kind != BankKind.HASH:
        raise ValueError(f"bank {bank_id!r} is a {bank.kind} bank, not a HASH bank")
    return _file_form(bank)


def add_hashes(
    bank_id: str, hashes: list[str], *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> tuple[SaveResult, int]:
    """Add `hashes` to the bank (those it has already are skipped); (result, number added)."""
    with _locked():
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


def create_bank(data: dict, *, user: User | None = None) -> SaveResult:
    """A new, empty bank from `data` (`id`, `name`, `kind` and the kind's optional keys)."""
    if Bank.objects.filter(pk=data.get("id")).exists():
        return SaveResult([ConfigError("id", "a bank with this id exists already")], None)
    entries = "hashes" if data.get("kind") == BankKind.HASH else ENTRY_KEYS.get(data.get("kind"))
    return save_object("banks", {**data, **({entries: []} if entries else {})}, user=user)


def update_bank(bank_id: str, changes: dict, *, user: User | None = None) -> SaveResult:
    """Change some keys of a bank (name, description; a HASH bank's distance, enabled,
    exchange...), keeping its entries: a rename never loses them."""
    with _locked():
        bank = Bank.objects.get(pk=bank_id)
        data = _file_form(bank)
        data.pop("hashes", None)  # absent: a HASH bank keeps its hashes
        return save_object("banks", {**data, **changes}, user=user)


def exchange_of(bank_id: str) -> dict | None:
    """The bank's exchange as the file spells it (credentials in their stored forms)."""
    return _bank_file_form(bank_id).get("exchange")


# TEXT, REGEX and LOCATION banks: entries added one per line, removed, listed, downloaded.

ENTRY_KEYS = {BankKind.TEXT: "values", BankKind.REGEX: "values", BankKind.LOCATION: "locations"}
PAGE_SIZE = 50
SHOWN_CHARS = 200  # of a bad line, in its error
_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class LineError:
    line: int
    text: str  # the line as given, shortened to SHOWN_CHARS
    message: str


@dataclass(frozen=True)
class EntriesResult:
    """What adding entries did. With any `line_errors` (or `errors` from the writer) nothing
    was added."""

    line_errors: list[LineError] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)
    added: int = 0
    repeated: int = 0  # lines repeating an earlier line of the same input
    present: int = 0  # entries the bank had already

    @property
    def ok(self) -> bool:
        return not self.line_errors and not self.errors

    def summary(self) -> str:
        """What was added and skipped, in a sentence or two."""
        skipped = []
        if self.repeated:
            skipped.append(f"{self.repeated} repeated line{'s' if self.repeated != 1 else ''}")
        if self.present:
            skipped.append(f"{self.present} already in the bank")
        text = f"{self.added} new entr{'y' if self.added == 1 else 'ies'} added."
        return f"{text} Skipped: {' and '.join(skipped)}." if skipped else text


def _shown(line: str) -> str:
    return line if len(line) <= SHOWN_CHARS else line[: SHOWN_CHARS - 1] + "…"


def _parse_location(line: str) -> Any:
    """A location line in the file's spelling; ValueError with the YAML problem."""
    try:
        return load_yaml(line)
    except ConfigSyntaxError as exc:
        raise ValueError(str(exc).replace(" at line 1, column", " at column")) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def check_entries(kind: str, entries: list[Any]) -> Errors:
    """The schema's own check of the bank's entry list: the messages `coop config apply`
    gives, at paths `[i]` (the index in `entries`)."""
    found: Errors = []
    schema.BANK_BY_KIND[kind][ENTRY_KEYS[kind]][0](entries, "", found)
    return found


def parse_entries(kind: str, text: str) -> tuple[list[tuple[int, Any]], list[LineError]]:
    """The entries of `text`, one per line, as (line number, entry), and every bad line."""
    lines = text.split("\n")
    entries: list[tuple[int, Any]] = []
    problems: list[LineError] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if kind != BankKind.LOCATION:
            entries.append((number, line))
            continue
        try:
            entries.append((number, _parse_location(line)))
        except ValueError as exc:
            problems.append(LineError(number, _shown(line), f"not a location: {exc}"))
    for error in check_entries(kind, [entry for _, entry in entries]):
        number = entries[int(_INDEX.match(error.path).group(1))][0]  # type: ignore[union-attr]
        problems.append(LineError(number, _shown(lines[number - 1].strip()), error.message))
    problems.sort(key=lambda p: p.line)
    return entries, problems


def _key(entry: Any) -> str:
    return entry if isinstance(entry, str) else json.dumps(entry, sort_keys=True)


def _editable(bank_id: str) -> Bank:
    bank = Bank.objects.get(pk=bank_id)
    if bank.kind not in ENTRY_KEYS:
        raise ValueError(f"bank {bank_id!r} is a {bank.kind} bank; its entries are hashes")
    return bank


def add_entries(
    bank_id: str, text: str, *, user: User | None = None, source: str = SOURCE_CONSOLE
) -> EntriesResult:
    """Add the entries of `text` (one per line) to a TEXT, REGEX or LOCATION bank.

    Every line is checked first: one bad line and nothing is added. Repeated lines and entries
    the bank has already are skipped and counted."""
    entries, problems = parse_entries(_editable(bank_id).kind, text)
    if problems:
        return EntriesResult(line_errors=problems)
    return _append(bank_id, [entry for _, entry in entries], user=user, source=source)


def add_location(bank_id: str, location: dict, *, user: User | None = None) -> EntriesResult:
    """Add one location (from the console's form) to a LOCATION bank."""
    if _editable(bank_id).kind != BankKind.LOCATION:
        raise ValueError(f"bank {bank_id!r} is not a LOCATION bank")
    problems = check_entries(BankKind.LOCATION, [location])
    if problems:
        return EntriesResult(errors=[ConfigError("", p.message) for p in problems])
    return _append(bank_id, [location], user=user, source=SOURCE_CONSOLE)


def _append(bank_id: str, entries: list[Any], *, user: User | None, source: str) -> EntriesResult:
    unique = list({_key(e): e for e in entries}.items())
    with _locked():
        bank = _editable(bank_id)
        data = _file_form(bank)
        key = ENTRY_KEYS[bank.kind]
        existing = data.get(key, [])
        known = {_key(e) for e in existing}
        new = [e for k, e in unique if k not in known]
        counts = {"repeated": len(entries) - len(unique), "present": len(unique) - len(new)}
        if not new:
            return EntriesResult(**counts)
        data[key] = [*existing, *new]
        result = save_object("banks", data, user=user, source=source)
    if not result.ok:
        return EntriesResult(errors=result.errors)
    return EntriesResult(added=len(new), **counts)


def remove_entries(
    bank_id: str, positions: Collection[int], *, version: int, user: User | None = None
) -> tuple[SaveResult, int]:
    """Remove the entries at `positions` of the bank as it was at `version`; (result, number
    removed). Refused when the bank changed since: the positions may name other entries."""
    with _locked():
        bank = _editable(bank_id)
        if bank.version != version:
            problem = "the bank changed since this page was loaded; nothing was removed"
            return SaveResult([ConfigError("", problem)], None), 0
        data = _file_form(bank)
        key = ENTRY_KEYS[bank.kind]
        stored = bank.entries.order_by("position").values_list("position", flat=True)
        wanted = set(positions)
        drop = {i for i, position in enumerate(stored) if position in wanted}
        if not drop:
            return SaveResult([], None), 0
        data[key] = [e for i, e in enumerate(data.get(key, [])) if i not in drop]
        result = save_object("banks", data, user=user)
    return result, len(drop) if result.ok else 0


def location_line(location: dict) -> str:
    """A location as one line of the file's spelling (what a LOCATION paste reads)."""
    return yaml.safe_dump(
        schema.ordered_location(location),
        default_flow_style=True,
        sort_keys=False,
        allow_unicode=True,
        width=2**31,
    ).strip()


def describe_location(location: dict) -> str:
    """Where a location is, in words."""
    if "geohash" in location:
        return f"geohash cell {location['geohash']}"
    if "bounds" in location:
        ne, sw = location["bounds"]["northeast"], location["bounds"]["southwest"]
        return f"rectangle from {sw['lat']}, {sw['lng']} to {ne['lat']}, {ne['lng']}"
    return f"{location['radiusMiles']} mi around {location['lat']}, {location['lng']}"


@dataclass(frozen=True)
class EntryRow:
    position: int
    value: str  # a TEXT or REGEX value; a location's file line
    location: dict | None = None

    @property
    def where(self) -> str:
        return describe_location(self.location) if self.location else ""


@dataclass(frozen=True)
class EntryPage:
    """One page of a bank's entries in bank order, keyset-paged by position."""

    rows: list[EntryRow]
    matches: int  # entries matching the search (every entry without one)
    previous: int | None  # `before` of the previous page; None on the first
    next: int | None  # `after` of the next page; None on the last


def _matching(bank: Bank, search: str) -> QuerySet:
    entries = BankEntry.objects.filter(bank=bank)
    if not search:
        return entries
    if bank.kind == BankKind.LOCATION:
        return entries.filter(
            Q(location__name__icontains=search) | Q(location__geohash__icontains=search)
        )
    return entries.filter(value__icontains=search)


# One pass over the bank's matching entries (`m`, kept by PostgreSQL as a list of positions)
# gives the count, the page's positions and whether pages come before and after it.
_PAGE = """
WITH m AS MATERIALIZED ({matching}),
p AS (SELECT position FROM m {window} ORDER BY position {direction} LIMIT %s)
SELECT (SELECT count(*) FROM m),
       (SELECT array_agg(position ORDER BY position) FROM p),
       EXISTS (SELECT 1 FROM m WHERE position < (SELECT min(position) FROM p)),
       EXISTS (SELECT 1 FROM m WHERE position > (SELECT max(position) FROM p))
"""


def entry_page(
    bank: Bank,
    *,
    search: str = "",
    after: int | None = None,
    before: int | None = None,
    last: bool = False,
    size: int = PAGE_SIZE,
) -> EntryPage:
    """The page after position `after`, before `before`, the last one, or the first, of the
    entries containing `search` (case-insensitive; a location's name or geohash).

    One scan of the bank's entries (an index-only scan without a search) finds the page; its
    rows are then read by the (bank, position) index: at 100,000 entries, a page and a search
    each cost one pass over 100,000 short rows, wherever the page is."""
    matching, params = _matching(bank, search).order_by().values("position").query.sql_with_params()
    window, cursor = "", []
    if before is not None:
        window, cursor = "WHERE position < %s", [before]
    elif after is not None and not last:
        window, cursor = "WHERE position > %s", [after]
    backwards = before is not None or last
    sql = _PAGE.format(matching=matching, window=window, direction="DESC" if backwards else "")
    with connection.cursor() as db:
        db.execute(sql, [*params, *cursor, size])
        matches, positions, earlier, later = db.fetchone()
    found = (
        BankEntry.objects.filter(bank=bank, position__in=positions or [])
        .order_by("position")
        .values_list("position", "value", "location")
    )
    rows = [
        EntryRow(position, location_line(location), location)
        if location is not None
        else EntryRow(position, value)
        for position, value, location in found
    ]
    return EntryPage(
        rows=rows,
        matches=matches,
        previous=rows[0].position if rows and earlier else None,
        next=rows[-1].position if rows and later else None,
    )


def entries_lines(bank: Bank) -> Iterator[str]:
    """The bank's entries as a file a paste or an import reads back, one entry per line.

    ValueError (before anything is produced) when a value holds a line break, which only the
    configuration file can give: one entry per line cannot hold it; `coop config export` does."""
    bank = _editable(bank.pk)
    entries = BankEntry.objects.filter(bank=bank).order_by("position")
    if bank.kind == BankKind.LOCATION:
        locations = entries.values_list("location", flat=True).iterator(chunk_size=5000)
        return (location_line(location) + "\n" for location in locations)
    broken = entries.filter(value__regex=r"[\r\n]").count()
    if broken:
        raise ValueError(
            f"{broken} entr{'ies hold' if broken != 1 else 'y holds'} a line break, which a "
            "file of one entry per line cannot hold; coop config export lists them"
        )
    values = entries.values_list("value", flat=True).iterator(chunk_size=5000)
    return (value + "\n" for value in values)
