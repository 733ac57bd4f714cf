"""The NCMEC additional-info webhook (docs/webhooks.md): before a report is built, Coop asks
the platform for what only it knows about the reported user, each media item and the selected
messages (emails, screen names, IP capture events, original file names, hashes).

The request is signed and sent like every other webhook (Coop-Signature, Coop-Delivery-Id,
`Coop-Event: ncmec-additional-info`, through coop.outbound's address guard, with its
timeouts). The answer is read leniently: unknown keys and nulls are ignored; a known key with a
value of the wrong shape, or a requested user or media item left unanswered, is a contract
error whose message points at the offending value (e.g. `users[0].email[1].email`).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings

from coop.childsafety.cybertip.documents import Email, IpEvent
from coop.childsafety.drafts import ReportDraft
from coop.core.enums import DeliveryEvent
from coop.core.items import ItemRef
from coop.enforcement.services import encode_body
from coop.enforcement.signer import sign
from coop.outbound import guarded_client

MAX_ANSWER_BYTES = 5 * 1024 * 1024
USER_AGENT = "Coop-Webhooks/1"
EVENT_NAMES = frozenset({"Login", "Registration", "Purchase", "Upload", "Other", "Unknown"})
EMAIL_TYPES = frozenset({"Home", "Work", "Business"})
_NAMESPACE = uuid.UUID("5b0f3f37-1f57-4c63-9d53-0e5d6a0f2a11")


class AdditionalInfoError(Exception):
    """The call failed; `retryable` when trying again later may work."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class UserInfo:
    screen_name: str | None = None
    display_name: str | None = None
    emails: tuple[Email, ...] = ()
    ip_events: tuple[IpEvent, ...] = ()


@dataclass(frozen=True)
class MediaInfo:
    file_name: str | None = None
    missing: bool = False
    publicly_available: bool | None = None
    ip_events: tuple[IpEvent, ...] = ()
    additional_info: tuple[str, ...] = ()
    hashes: tuple[tuple[str, str], ...] = ()  # (hashType, value)


@dataclass(frozen=True)
class MessageInfo:
    ip_address: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class AdditionalInfo:
    user: UserInfo = UserInfo()
    media: dict[tuple[str, str, str], MediaInfo] = field(default_factory=dict)  # (id, type, url)
    messages: dict[ItemRef, MessageInfo] = field(default_factory=dict)
    additional_info: str | None = None

    def for_media(self, item: ItemRef, url: str) -> MediaInfo:
        return self.media.get((item.item_id, item.item_type_id, url), MediaInfo())


NO_INFO = AdditionalInfo()


def request_body(draft: ReportDraft) -> dict[str, Any]:
    """`{"media": [{id, typeId, url}], "messages"?: [{id, typeId}], "users": [{id, typeId}]}`."""
    body: dict[str, Any] = {
        "media": [{**m.item.as_wire(), "url": m.url} for m in draft.media],
        "users": [draft.user.as_wire()],
    }
    messages = list(dict.fromkeys(m.message for m in draft.messages))
    if messages:
        body["messages"] = [ref.as_wire() for ref in messages]
    return body


def delivery_id(report_id: uuid.UUID | str) -> str:
    """One Coop-Delivery-Id per report, the same on every retry of the request."""
    return str(uuid.uuid5(_NAMESPACE, f"{report_id}:{DeliveryEvent.NCMEC_ADDITIONAL_INFO}"))


def fetch(url: str, draft: ReportDraft, report_id: uuid.UUID | str) -> dict[str, Any]:
    """POST the signed request; the platform's answer (checked with `parse`)."""
    body = encode_body(request_body(draft))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Coop-Signature": sign(body),
        "Coop-Delivery-Id": delivery_id(report_id),
        "Coop-Event": str(DeliveryEvent.NCMEC_ADDITIONAL_INFO),
    }
    timeout = httpx.Timeout(
        settings.COOP_WEBHOOK_TIMEOUT, connect=settings.COOP_WEBHOOK_CONNECT_TIMEOUT
    )
    host = httpx.URL(url).host
    try:
        with (
            guarded_client() as client,
            client.stream("POST", url, content=body, headers=headers, timeout=timeout) as reply,
        ):
            received = bytearray()
            for chunk in reply.iter_bytes():
                received += chunk
                if len(received) > MAX_ANSWER_BYTES:
                    raise AdditionalInfoError("the platform's answer is larger than 5 MB")
            status = reply.status_code
    except httpx.TimeoutException:
        raise AdditionalInfoError(f"{host} did not answer in time", retryable=True) from None
    except (httpx.HTTPError, OSError) as exc:
        reason = str(exc).split("\n", 1)[0][:300] or type(exc).__name__
        raise AdditionalInfoError(f"could not reach {host}: {reason}", retryable=True) from None
    if not 200 <= status < 300:
        raise AdditionalInfoError(
            f"{host} answered HTTP {status}", retryable=status in (408, 429) or status >= 500
        )
    try:
        answer = json.loads(bytes(received))
    except (UnicodeDecodeError, ValueError):
        raise AdditionalInfoError(f"{host} answered something that is not JSON") from None
    parse(answer, draft)  # refuse a bad answer now, where the error belongs
    return answer


# --- reading the answer ------------------------------------------------------------------------


class _Contract(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")


def _string(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Contract(path, "must be a string")
    return value.strip() or None


def _boolean(value: Any, path: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _Contract(path, "must be true or false")
    return value


def _list(value: Any, path: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Contract(path, "must be an array")
    return value


def _object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Contract(path, "must be an object")
    return value


def _moment(value: Any, path: str) -> datetime | None:
    text = _string(value, path)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Contract(path, "must be an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ip(value: Any, path: str) -> str:
    text = _string(value, path)
    if text is None:
        raise _Contract(path, "is required")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _Contract(path, "must be an IPv4 or IPv6 address") from None


def _port(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _Contract(path, "must be a port number from 1 to 65535")
    return value


def _event(raw: Any, path: str) -> IpEvent:
    raw = _object(raw, path)
    name = _string(raw.get("eventName"), f"{path}.eventName")
    if name is not None and name not in EVENT_NAMES:
        raise _Contract(f"{path}.eventName", f"must be one of {', '.join(sorted(EVENT_NAMES))}")
    return IpEvent(
        ip_address=_ip(raw.get("ipAddress"), f"{path}.ipAddress"),
        event_name=name,
        date_time=_moment(raw.get("dateTime"), f"{path}.dateTime"),
        possible_proxy=_boolean(raw.get("possibleProxy"), f"{path}.possibleProxy"),
        port=_port(raw.get("port"), f"{path}.port"),
    )


def _events(raw: Any, path: str) -> tuple[IpEvent, ...]:
    return tuple(_event(e, f"{path}[{i}]") for i, e in enumerate(_list(raw, path)))


def _email(raw: Any, path: str) -> Email:
    raw = _object(raw, path)
    address = _string(raw.get("email"), f"{path}.email")
    if address is None:
        raise _Contract(f"{path}.email", "is required")
    kind = _string(raw.get("type"), f"{path}.type")
    if kind is not None and kind not in EMAIL_TYPES:
        raise _Contract(f"{path}.type", f"must be one of {', '.join(sorted(EMAIL_TYPES))}")
    return Email(
        address=address,
        type=kind,
        verified=_boolean(raw.get("verified"), f"{path}.verified"),
        verification_date=_moment(raw.get("verificationDate"), f"{path}.verificationDate"),
    )


def _ref(raw: dict, path: str) -> ItemRef:
    item_id = raw.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    item_id = _string(item_id, f"{path}.id")
    type_id = _string(raw.get("typeId"), f"{path}.typeId")
    if item_id is None or type_id is None:
        raise _Contract(path, "needs the id and typeId it answers for")
    return ItemRef(item_id, type_id)


def _hashes(raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    entries = raw if isinstance(raw, list) else [raw]
    hashes = []
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]" if isinstance(raw, list) else path
        entry = _object(entry, where)
        value = _string(entry.get("hash"), f"{where}.hash")
        kind = _string(entry.get("hashType"), f"{where}.hashType")
        if value is None or kind is None:
            raise _Contract(where, "needs hash and hashType")
        hashes.append((kind.upper(), value))
    return tuple(hashes)


def _strings(raw: Any, path: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,) if raw.strip() else ()
    values = (_string(v, f"{path}[{i}]") for i, v in enumerate(_list(raw, path)))
    return tuple(v for v in values if v)


def _media(raw: Any, path: str) -> MediaInfo:
    return MediaInfo(
        file_name=_string(raw.get("fileName"), f"{path}.fileName"),
        missing=bool(_boolean(raw.get("missing"), f"{path}.missing")),
        publicly_available=_boolean(raw.get("publiclyAvailable"), f"{path}.publiclyAvailable"),
        ip_events=_events(raw.get("ipCaptureEvent"), f"{path}.ipCaptureEvent"),
        additional_info=_strings(raw.get("additionalInfo"), f"{path}.additionalInfo"),
        hashes=_hashes(raw.get("fileDetails"), f"{path}.fileDetails"),
    )


def _message(raw: dict, path: str) -> MessageInfo:
    address = raw.get("ipAddress")
    if isinstance(address, dict):
        return MessageInfo(
            _ip(address.get("ip"), f"{path}.ipAddress.ip"),
            _port(address.get("port"), f"{path}.ipAddress.port"),
        )
    if address is None:
        return MessageInfo()
    return MessageInfo(_ip(address, f"{path}.ipAddress"))


def parse(answer: Any, draft: ReportDraft) -> AdditionalInfo:
    """What the platform said, or AdditionalInfoError naming what breaks the contract."""
    try:
        return _parse(answer, draft)
    except _Contract as exc:
        raise AdditionalInfoError(f"the platform's answer breaks the contract: {exc}") from None


def _parse(answer: Any, draft: ReportDraft) -> AdditionalInfo:
    answer = _object(answer, "(answer)")
    user = None
    for i, raw in enumerate(_list(answer.get("users"), "users")):
        path = f"users[{i}]"
        raw = _object(raw, path)
        if _ref(raw, path) != draft.user:
            continue
        user = UserInfo(
            screen_name=_string(raw.get("screenName"), f"{path}.screenName"),
            display_name=_string(raw.get("displayName"), f"{path}.displayName"),
            emails=tuple(
                _email(e, f"{path}.email[{j}]")
                for j, e in enumerate(_list(raw.get("email"), f"{path}.email"))
            ),
            ip_events=_events(raw.get("ipCaptureEvent"), f"{path}.ipCaptureEvent"),
        )
    if user is None:
        raise _Contract("users", f"has no entry for the reported user {_name(draft.user)}")

    media: dict[tuple[str, str, str], MediaInfo] = {}
    by_item: dict[ItemRef, MediaInfo] = {}
    for i, raw in enumerate(_list(answer.get("media"), "media")):
        path = f"media[{i}]"
        raw = _object(raw, path)
        ref = _ref(raw, path)
        info = _media(raw, path)
        url = _string(raw.get("url"), f"{path}.url")
        if url is None:
            by_item[ref] = info
        else:
            media[(ref.item_id, ref.item_type_id, url)] = info
    unanswered = []
    for m in draft.media:
        key = (m.item.item_id, m.item.item_type_id, m.url)
        if key not in media:
            if m.item not in by_item:
                unanswered.append(f"{_name(m.item)} ({m.url})")
                continue
            media[key] = by_item[m.item]
    if unanswered:
        raise _Contract("media", f"has no entry for {', '.join(unanswered)}")

    messages = {}
    for i, raw in enumerate(_list(answer.get("messages"), "messages")):
        path = f"messages[{i}]"
        raw = _object(raw, path)
        messages[_ref(raw, path)] = _message(raw, path)
    return AdditionalInfo(
        user=user,
        media=media,
        messages=messages,
        additional_info=_string(answer.get("additionalInfo"), "additionalInfo"),
    )


def _name(ref: ItemRef) -> str:
    return f"{ref.item_type_id}/{ref.item_id}"


def missing_media(info: AdditionalInfo, draft: ReportDraft) -> list[int]:
    """Indexes of the draft's media the platform says it no longer has."""
    return [i for i, m in enumerate(draft.media) if info.for_media(m.item, m.url).missing]
