"""What goes into a CyberTip report: the reviewer's draft, the items as Coop stored them (their
latest data and the field roles of their item types), the platform's additional info and the
NCMEC settings, turned into the `<report>` and `<fileDetails>` documents and the thread CSVs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from coop.catalog.models import ItemType
from coop.childsafety.additional_info import AdditionalInfo, MediaInfo
from coop.childsafety.cybertip import (
    ContactPerson,
    Email,
    FileDocument,
    IpEvent,
    ReportDocument,
    ReportedPerson,
    Reporter,
)
from coop.childsafety.drafts import ReportDraft, ReportedMedia
from coop.childsafety.settings import NcmecSettings
from coop.core.field_types import MEDIA_TYPES, FieldRole, FieldType
from coop.core.items import ItemRef
from coop.ingest.store import latest_for_each

MAX_TEXT = 3000  # NCMEC's limit on the free-text fields Coop fills from people's input
MAX_FILE_NAME = 255


class ContentError(Exception):
    """The report cannot be built as it stands; the message says what to fix."""


@dataclass(frozen=True)
class Item:
    """An item as Coop last received it, with its item type's field roles."""

    ref: ItemRef
    data: dict[str, Any]
    item_type: ItemType | None
    submitted_at: datetime
    submission_ip: str | None

    def role(self, role: FieldRole) -> Any:
        field = (self.item_type.roles or {}).get(role) if self.item_type else None
        return self.data.get(field) if field else None

    @property
    def created_at(self) -> datetime | None:
        value = self.role(FieldRole.CREATED_AT)
        if not isinstance(value, str):
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @property
    def moment(self) -> datetime:
        """When it happened: its createdAt role, else when Coop received it."""
        return self.created_at or self.submitted_at

    @property
    def ip_address(self) -> str | None:
        value = self.role(FieldRole.IP_ADDRESS)
        return value if isinstance(value, str) and value else self.submission_ip

    def fields_of(self, types: frozenset[FieldType]) -> list[Any]:
        if self.item_type is None:
            return []
        values = []
        for spec in self.item_type.fields:
            if spec.get("type") in types or spec.get("items") in types:
                value = self.data.get(spec["name"])
                values.extend(value if isinstance(value, list) else [value])
        return [v for v in values if v not in (None, "")]


def load_items(draft: ReportDraft) -> dict[ItemRef, Item]:
    """Every item the draft names (the user, the media items, the messages), as stored."""
    refs = {draft.user, *(m.item for m in draft.media), *(m.message for m in draft.messages)}
    submissions = latest_for_each(refs)
    types = {t.id: t for t in ItemType.objects.filter(id__in={r.item_type_id for r in refs})}
    return {
        ref: Item(
            ref=ref,
            data=row.data if isinstance(row.data, dict) else {},
            item_type=types.get(ref.item_type_id),
            submitted_at=row.submitted_at,
            submission_ip=row.ip_address,
        )
        for ref, row in submissions.items()
    }


def incident_time(draft: ReportDraft, items: dict[ItemRef, Item], fallback: datetime) -> datetime:
    """The latest moment among the reported media and the selected messages (their createdAt,
    else when Coop received them), never in the future."""
    refs = [m.item for m in draft.media] + [m.message for m in draft.messages]
    moments = [items[r].moment for r in refs if r in items]
    if not moments and draft.user in items:
        moments = [items[draft.user].moment]
    return min(max(moments, default=fallback), fallback)


def _text(value: str | None, what: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > MAX_TEXT:
        raise ContentError(f"{what} is longer than NCMEC's {MAX_TEXT} characters")
    return value


def report_document(
    draft: ReportDraft,
    block: NcmecSettings,
    info: AdditionalInfo,
    items: dict[ItemRef, Item],
    prior_reports: tuple[int, ...],
    now: datetime,
) -> ReportDocument:
    if not block["companyReportName"] or not block["legalUrl"]:
        raise ContentError(
            "NCMEC reporting is not set up: Settings → NCMEC needs the company report name and "
            "the legal URL"
        )
    if not block["contactEmail"]:
        raise ContentError(
            "Settings → NCMEC has no contact email (the reporting person NCMEC writes to)"
        )
    contact = block["contactPerson"]
    user = items.get(draft.user)
    display_names = [info.user.display_name]
    emails = list(info.user.emails)
    ip_events = list(info.user.ip_events)
    if user is not None:
        display_names.append(user.role(FieldRole.DISPLAY_NAME))
        role_email = user.role(FieldRole.EMAIL)
        if role_email and not emails:
            emails.append(Email(role_email))
        if user.ip_address and user.ip_address not in {e.ip_address for e in ip_events}:
            # The platform said nothing about when; "Unknown" with no time, nothing invented.
            ip_events.append(IpEvent(user.ip_address, "Unknown"))
    extra = [_text(draft.additional_info, "The additional information"), info.additional_info]
    return ReportDocument(
        incident_type=str(draft.incident_type),
        incident_date_time=incident_time(draft, items, now),
        escalate_reason=_text(draft.escalate_reason, "The reason to escalate"),
        internet_detail_type=block["defaultInternetDetailType"],
        web_page_url=block["moreInfoUrl"],
        reporter=Reporter(
            email=block["contactEmail"],
            company_template=block["companyReportName"],
            legal_url=block["legalUrl"],
            terms_of_service=_text(block["termsOfService"], "The terms of service"),
            contact=ContactPerson(
                contact["firstName"], contact["lastName"], contact["phone"], contact["email"]
            ),
        ),
        person=ReportedPerson(
            esp_identifier=draft.user.item_id,
            esp_service=block["companyReportName"],
            screen_name=info.user.screen_name,
            display_names=tuple(dict.fromkeys(n for n in display_names if n)),
            emails=tuple(emails),
            ip_events=tuple(ip_events),
            prior_reports=prior_reports,
        ),
        additional_info="\n\n".join(e for e in extra if e) or None,
    )


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def file_name(media: ReportedMedia, info: MediaInfo, position: int) -> str:
    """The platform's file name, else the URL's last path segment, else `media-N`."""
    name = info.file_name or unquote(urlsplit(media.url).path.rsplit("/", 1)[-1])
    name = _UNSAFE_NAME.sub("_", name).strip(" .")[:MAX_FILE_NAME]
    return name or f"media-{position + 1}"


def media_document(
    report_id: str,
    file_id: str,
    media: ReportedMedia,
    info: MediaInfo,
    item: Item | None,
    name: str,
    pdq: str | None,
) -> FileDocument:
    hashes = [("PDQ", pdq)] if pdq else []
    hashes += [h for h in info.hashes if h not in hashes]
    events = list(info.ip_events)
    if not events and item is not None and item.ip_address:
        events.append(IpEvent(item.ip_address, "Upload", item.created_at))
    # The XSD takes one IP capture event per file; the others are kept as text.
    extra = [f"Also associated with IP address {e.describe()}" for e in events[1:]]
    return FileDocument(
        report_id=report_id,
        file_id=file_id,
        original_file_name=name,
        file_viewed_by_esp=True,
        publicly_available=info.publicly_available,
        file_relevance="Reported",
        annotations=tuple(str(a) for a in media.annotations),
        industry_classification=str(media.classification),
        hashes=tuple(hashes),
        ip_event=events[0] if events else None,
        additional_info=(*info.additional_info, *extra),
    )


# --- threads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    ref: ItemRef
    messages: tuple[ItemRef, ...]  # as the reviewer selected them


def threads_of(draft: ReportDraft) -> list[Thread]:
    """The selected messages grouped by thread, threads in the order first selected."""
    grouped: dict[ItemRef, list[ItemRef]] = {}
    for selected in draft.messages:
        chosen = grouped.setdefault(selected.thread, [])
        if selected.message not in chosen:
            chosen.append(selected.message)
    return [Thread(ref, tuple(messages)) for ref, messages in grouped.items()]


CSV_COLUMNS = (
    "sentAt",
    "messageId",
    "messageType",
    "authorId",
    "authorType",
    "threadId",
    "text",
    "media",
    "ipAddress",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV value a spreadsheet will not run: one starting like a formula gets a leading '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def thread_csv(thread: Thread, items: dict[ItemRef, Item], info: AdditionalInfo) -> bytes:
    """One row per selected message, oldest first; every value quoted (RFC 4180, CRLF)."""
    rows = []
    for ref in thread.messages:
        item = items.get(ref)
        author = item.role(FieldRole.CREATOR_ID) if item else None
        author = author if isinstance(author, dict) else {}
        message_ip = info.messages.get(ref)
        ip = message_ip.ip_address if message_ip and message_ip.ip_address else None
        if ip and message_ip.port:
            ip = f"{ip}:{message_ip.port}"
        rows.append(
            (
                item.moment if item else None,
                (
                    item.moment.astimezone(UTC).isoformat(timespec="seconds") if item else "",
                    ref.item_id,
                    ref.item_type_id,
                    author.get("id", ""),
                    author.get("typeId", ""),
                    thread.ref.item_id,
                    "\n".join(str(t) for t in item.fields_of(frozenset({FieldType.STRING})))
                    if item
                    else "(Coop has no data for this message)",
                    " ".join(str(u) for u in item.fields_of(MEDIA_TYPES)) if item else "",
                    ip or (item.ip_address if item else "") or "",
                ),
            )
        )
    rows.sort(key=lambda row: (row[0] is None, row[0] or datetime.min.replace(tzinfo=UTC)))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(v) for v in values] for _, values in rows)
    return out.getvalue().encode("utf-8")


def thread_file_name(thread: Thread) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{thread.ref.item_type_id}-{thread.ref.item_id}")
    return f"conversation-{safe[:200]}.csv"


def thread_document(report_id: str, file_id: str, thread: Thread, name: str) -> FileDocument:
    count = len(thread.messages)
    return FileDocument(
        report_id=report_id,
        file_id=file_id,
        original_file_name=name,
        file_viewed_by_esp=True,
        file_relevance="Reported",
        additional_info=(
            f"Messages of conversation {thread.ref.item_type_id}/{thread.ref.item_id} "
            f"({count} selected by the reviewer), oldest first, as CSV",
        ),
    )
