"""A local stand-in for HMA 2.0 (open-media-match): a real HTTP server on 127.0.0.1 in a thread.

It speaks the REST API Coop uses as HMA's Flask blueprints do (facebook/ThreatExchange,
hasher-matcher-actioner/src/OpenMediaMatch/blueprints: `curation` at /c, `hashing` at /h,
`matching` at /m, and /status): the same paths, methods, bodies, validation and status codes,
errors as `{"message": ...}`, and the same quirks (DELETE of a missing bank answers 200, PUT
renames a bank in place, creating an exchange also creates the bank it fills, `/h/hash`
returns an empty PDQ hash for images of quality below 50, distances as strings, lookups
filtered by each bank's enabled ratio). It keeps its state in memory and records every request,
so tests check what Coop sent; `fail`, `stall` and `fetched` script what HMA does.

    with FakeHma() as hma:
        settings.HMA_SERVICE_URL = hma.url
        ...
        assert hma.requests  # a fake never called proves nothing
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import random
import re
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from coop.signals.hashing import MIN_QUALITY, ImageError, hash_image

BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # HMA's database.Bank name check
EXCHANGE_NAME = re.compile(r"^[A-Z0-9_]+$")  # curation.exchange_create's check
PDQ = re.compile(r"^[0-9a-f]{64}$")  # PdqSignal.validate_signal_str
VIDEO_MD5 = re.compile(r"^[0-9a-f]{32}$")
PDQ_THRESHOLD = 31  # PDQ_CONFIDENT_MATCH_THRESHOLD, HMA's PDQ index threshold
SIGNAL_TYPES = {"pdq": PDQ, "video_md5": VIDEO_MD5}

NCMEC_ENVIRONMENTS = [
    "https://report.cybertip.org/hashsharing",
    "https://report.cybertip.org/exploitative-hashsharing",
    "https://lesp.ncmec.org/csam-hashsharing",
    "https://hashsharing.ncmec.org/npo",
    "https://hashsharing.ncmec.org/exploitative",
    "https://hashsharing.ncmec.org/generative-ai-csam",
    "https://hashsharing.ncmec.org/generative-ai-exploitative",
    "https://exttest.cybertip.org/hashsharing",
    "https://exttest.cybertip.org/exploitative-hashsharing",
    "https://betalesp.ncmec.org/csam-hashsharing",
    "https://hashsharing-test.ncmec.org/npo",
    "https://hashsharing-test.ncmec.org/exploitative",
    "https://hashsharing-test.ncmec.org/generative-ai-csam",
    "https://hashsharing-test.ncmec.org/generative-ai-exploitative",
]


def _field(name: str, kind: str, required: bool, help_text: str, **extra: Any) -> dict:
    """One field descriptor as utils/exchange_schema.dataclass_field_descriptors builds it."""
    return {
        "name": name,
        "type": kind,
        "required": required,
        "default": extra.get("default"),
        "help": help_text,
        "choices": extra.get("choices"),
    }


# The exchange APIs of an HMA configured with the ThreatExchange, NCMEC and StopNCII
# exchanges (and the built-in sample), with the schemas `GET /c/exchanges/api/<api>/schema`
# derives from their config and credential dataclasses.
EXCHANGE_APIS: dict[str, dict[str, Any]] = {
    "fb_threatexchange": {
        "config": [
            _field("privacy_group", "number", True, "ThreatPrivacyGroup ID for this collaboration")
        ],
        "credentials": [
            _field(
                "api_token",
                "string",
                True,
                "Meta app access token. Create one at https://developers.facebook.com/tools/"
                "accesstoken/ for your ThreatExchange app.",
            )
        ],
    },
    "ncmec": {
        "config": [
            _field(
                "environment",
                "enum",
                True,
                "which database to connect to",
                choices=NCMEC_ENVIRONMENTS,
            ),
            _field(
                "only_esp_ids",
                "set_of_number",
                False,
                "Only take entries from these eletronic service provider (ESP) ids",
                default=[],
            ),
        ],
        "credentials": [
            _field("user", "string", True, "NCMEC hash sharing API username."),
            _field("password", "string", True, "NCMEC hash sharing API password."),
        ],
    },
    "stop_ncii": {
        "config": [],
        "credentials": [
            _field(
                "fetch_function_key",
                "string",
                True,
                "API key for the Fetch Hashes endpoint. Used when downloading hashes from "
                "StopNCII.",
            ),
            _field(
                "subscription_key",
                "string",
                True,
                "Azure API Management subscription key. Sent as Ocp-Apim-Subscription-Key "
                "on all requests.",
            ),
            _field(
                "base_url_override",
                "string",
                False,
                "Optional. Override the API base URL (e.g. for testing). Leave blank to use "
                "https://api.stopncii.org/v1",
            ),
        ],
    },
    "sample": {"config": [], "credentials": None},
}


@dataclass
class Multipart:
    files: dict[str, bytes]  # form field name -> the uploaded file's bytes


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, Multipart, or None


@dataclass
class Content:
    id: int
    bank: str
    signals: dict[str, str]
    enabled: bool = True
    note: str | None = None


@dataclass
class Exchange:
    name: str
    api: str
    config: dict[str, Any]
    enabled: bool = True
    status: dict[str, Any] = field(
        default_factory=lambda: {
            "checkpoint_ts": None,
            "running_fetch_start_ts": None,
            "last_fetch_complete_ts": None,
            "last_fetch_succeeded": None,
            "up_to_date": False,
            "fetched_items": 0,
        }
    )


@dataclass
class _Failure:
    method: str | None
    path: re.Pattern[str]
    status: int
    remaining: int | None  # None: every time


class _Abort(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class FakeHma:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.banks: dict[str, float] = {}  # name -> matching enabled ratio
        self.contents: dict[int, Content] = {}
        self.exchanges: dict[str, Exchange] = {}
        self.credentials: dict[str, dict[str, str]] = {}  # per exchange API, as HMA keeps them
        self.requests: list[Request] = []
        self.connections: set[socket.socket] = set()
        self.delay = 0.0
        # sha256 of bytes -> the PDQ hash HMA answers for them: images HMA decodes with a
        # decoder Coop does not have (e.g. a HEIF plugin installed on the HMA side).
        self.decodes: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeHma:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and drop open connections: calls now fail (HMA is down)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()

    # --- scripting ---

    def fail(
        self, path: str, status: int = 500, *, method: str | None = None, times: int | None = None
    ) -> None:
        """Answer `status` to requests whose path matches the regex `path` (`times` times)."""
        with self.lock:
            self._failures.append(_Failure(method, re.compile(path), status, times))

    def stall(self, seconds: float) -> None:
        """Answer this late (to test timeouts); the request itself is carried out at once."""
        self.delay = seconds

    def fetched(
        self, exchange: str, hashes: list[str], *, succeeded: bool = True, up_to_date: bool = True
    ) -> None:
        """What HMA's fetcher does after a fetch: the hashes land in the exchange's bank."""
        with self.lock:
            record = self.exchanges[exchange]
            for value in hashes:
                content_id = next(self._ids)
                self.contents[content_id] = Content(content_id, exchange, {"pdq": value})
            now = int(time.time())
            record.status.update(
                checkpoint_ts=now,
                last_fetch_complete_ts=now,
                last_fetch_succeeded=succeeded,
                up_to_date=up_to_date,
                fetched_items=record.status["fetched_items"] + len(hashes),
            )

    def bank_signals(self, bank: str) -> list[str]:
        """The pdq hashes in a bank, in the order they were added."""
        with self.lock:
            return [
                c.signals["pdq"]
                for c in sorted(self.contents.values(), key=lambda c: c.id)
                if c.bank == bank and "pdq" in c.signals
            ]

    def calls(self, method: str | None = None, path: str = "/") -> list[Request]:
        """The requests with `method` to `path` (every path under it when it ends with /)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (r.path.startswith(path) if path.endswith("/") else r.path == path)
            ]

    # --- dispatch ---

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(Request(method, path, query, body))
            for failure in self._failures:
                if (failure.method in (None, method)) and failure.path.search(path):
                    if failure.remaining is not None:
                        if failure.remaining <= 0:
                            continue
                        failure.remaining -= 1
                    return failure.status, {"message": f"scripted failure {failure.status}"}
        try:
            return self._route(method, path, query, body)
        except _Abort as abort:
            return abort.status, {"message": abort.message}

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        with self.lock:
            if parts == ["status"] and method == "GET":
                return 200, "I-AM-ALIVE"
            if parts[:1] == ["c"]:
                return self._curation(method, parts[1:], query, body)
            if parts == ["h", "hash"]:
                return self._hash(method, query, body)
            if parts == ["m", "lookup"] and method == "GET":
                return 200, self._lookup(query)
        raise _Abort(404, "The requested URL was not found on the server.")

    # --- /c ---

    def _curation(self, method: str, parts: list[str], query: dict, body: Any) -> tuple[int, Any]:
        if parts[:1] in (["banks"], ["bank"]):
            return self._bank_routes(method, parts, query, body)
        if parts[:1] in (["exchanges"], ["exchange"]):
            return self._exchange_routes(method, parts, body)
        raise _Abort(404, "The requested URL was not found on the server.")

    def _bank_routes(
        self, method: str, parts: list[str], query: dict, body: Any
    ) -> tuple[int, Any]:
        match parts, method:
            case ["banks"], "GET":
                return 200, [self._bank_json(n) for n in self.banks]
            case ["banks"], "POST":
                return self._create_bank(_json(body))
            case ["bank", name], "GET":
                self._require_bank(name, f"bank '{name}' not found")
                return 200, self._bank_json(name)
            case ["bank", name], "PUT":
                return self._update_bank(name, _json(body))
            case ["bank", name], "DELETE":
                self._delete_bank(name)
                return 200, {"message": "Done"}
            case ["bank", name, "signal"], "POST":
                self._require_bank(name, f"bank '{name}' not found")
                data = dict(_json(body))
                note = data.pop("note", None)
                return 200, self._add_signals(name, data, note)
            case ["bank", name, "content"], "POST":
                self._require_bank(name, f"bank '{name}' not found")
                if not isinstance(body, Multipart) or not body.files:
                    raise _Abort(400, "Neither `url` nor multipart file upload was received")
                return 200, self._add_signals(name, self._hash_files(body.files), None)
            case ["bank", name, "content", content_id], "GET":
                self._require_bank(name, f"bank '{name}' not found")
                return 200, self._content_json(content_id, query)
            case ["bank", name, "content", content_id], "DELETE":
                self._require_bank(name, f"bank '{name}' not found")
                return 200, {"deleted": self._delete_content(name, content_id)}
        raise _Abort(404, "The requested URL was not found on the server.")

    def _exchange_routes(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        match parts, method:
            case ["exchanges", "apis"], "GET":
                return 200, list(EXCHANGE_APIS)
            case ["exchanges", "api", api], "GET" | "POST":
                return 200, self._exchange_api(api, method, body)
            case ["exchanges", "api", api, "schema"], "GET":
                return 200, self._exchange_schema(api)
            case ["exchanges"], "POST":
                return self._create_exchange(_json(body))
            case ["exchanges"], "GET":
                return 200, list(self.exchanges)
            case ["exchange", name], "GET":
                return 200, self._exchange_json(self._exchange(name))
            case ["exchange", name, "status"], "GET":
                return 200, dict(self._exchange(name).status)
            case ["exchange", name], "PUT":
                record = self._exchange(name)
                enabled = _json(body).get("enabled")
                if enabled is not None:
                    record.enabled = bool(enabled)
                return 200, self._exchange_json(record)
            case ["exchange", name], "DELETE":
                if self.exchanges.pop(name, None) is not None:
                    self._delete_bank(name)  # the bank's exchange FK cascades
                return 200, {"message": "Exchange deleted"}
        raise _Abort(404, "The requested URL was not found on the server.")

    @staticmethod
    def _exchange_json(record: Exchange) -> dict:
        return {"name": record.name, "api": record.api, "enabled": record.enabled} | record.config

    @staticmethod
    def _exchange_schema(api: str) -> dict:
        if api not in EXCHANGE_APIS:
            raise _Abort(404, f"Exchange API '{api}' not found")
        spec = EXCHANGE_APIS[api]
        creds = spec["credentials"]
        return {
            "config_schema": {"fields": spec["config"]},
            "credentials_schema": None if creds is None else {"fields": creds},
        }

    def _delete_content(self, bank: str, content_id: str) -> int:
        found = self.contents.get(_int(content_id))
        if found is None or found.bank != bank:
            return 0
        del self.contents[found.id]
        return 1

    def _bank_json(self, name: str) -> dict:
        return {"name": name, "matching_enabled_ratio": self.banks[name]}

    def _require_bank(self, name: str, message: str) -> None:
        if name not in self.banks:
            raise _Abort(404, message)

    @staticmethod
    def _ratio(data: dict, default: float | None) -> float | None:
        """BankCreateRequest / BankUpdateRequest: enabled_ratio wins over enabled."""
        if data.get("enabled_ratio") is not None:
            try:
                ratio = float(data["enabled_ratio"])
            except (TypeError, ValueError):
                raise _Abort(422, "enabled_ratio: Input should be a valid number") from None
            return ratio
        if data.get("enabled") is not None:
            return 1.0 if data["enabled"] else 0.0
        return default

    def _create_bank(self, data: dict) -> tuple[int, Any]:
        name = data.get("name")
        if not isinstance(name, str):
            raise _Abort(422, "name: Field required")
        if not BANK_NAME.fullmatch(name):
            raise _Abort(400, "Bank names must be UPPER_WITH_UNDERSCORE")
        if name in self.banks:
            raise _Abort(403, "Bank already exists")
        # BankCreateRequest's enabled_ratio defaults to 1.0, so `enabled` counts only when the
        # ratio is sent as null.
        ratio = self._ratio(data, 1.0) if "enabled_ratio" in data else 1.0
        self.banks[name] = 1.0 if ratio is None else ratio
        return 201, self._bank_json(name)

    def _update_bank(self, name: str, data: dict) -> tuple[int, Any]:
        self._require_bank(name, "Bank not found")
        new_name = data.get("name")
        ratio = self._ratio(data, self.banks[name])
        if new_name is not None and new_name != name:
            if not BANK_NAME.fullmatch(str(new_name)):
                raise _Abort(400, "Bank names must be UPPER_WITH_UNDERSCORE")
            if new_name in self.banks:
                raise _Abort(403, "Bank name already exists")
            del self.banks[name]
            for content in self.contents.values():
                if content.bank == name:
                    content.bank = new_name
            name = new_name
        self.banks[name] = ratio
        return 200, self._bank_json(name)

    def _delete_bank(self, name: str) -> None:
        self.banks.pop(name, None)
        for content_id in [c.id for c in self.contents.values() if c.bank == name]:
            del self.contents[content_id]

    def _add_signals(self, bank: str, signals: dict, note: Any) -> dict:
        if not signals:
            raise _Abort(400, "No signals given")
        for name, value in signals.items():
            pattern = SIGNAL_TYPES.get(name)
            if pattern is None:
                raise _Abort(400, f"No such signal type {name}")
            if not isinstance(value, str) or not pattern.match(value):
                raise _Abort(400, f"Invalid {name} signal: invalid {name.upper()} hash")
        if note is not None and (not isinstance(note, str) or len(note) > 255):
            raise _Abort(400, "note must be at most 255 characters")
        content_id = next(self._ids)
        self.contents[content_id] = Content(content_id, bank, dict(signals), note=note or None)
        return {"id": content_id, "signals": dict(signals)}

    def _content_json(self, content_id: str, query: dict) -> dict:
        found = self.contents.get(_int(content_id))
        if found is None:
            raise _Abort(404, f"content '{content_id}' not found")
        answer: dict[str, Any] = {
            "id": found.id,
            "disable_until_ts": 1 if found.enabled else 0,
            "original_media_uri": None,
            "bank": self._bank_json(found.bank),
        }
        if query.get("include_signals", "false").lower() == "true":
            answer["signals"] = dict(found.signals)
        if found.note:
            answer["note"] = found.note
        return answer

    def _exchange_api(self, api: str, method: str, body: Any) -> dict:
        spec = EXCHANGE_APIS.get(api)
        if spec is None:
            raise _Abort(400, f"no such Exchange API '{api}'")
        if method == "POST":
            data = body if isinstance(body, dict) else None
            if data is None:
                raise _Abort(400, "this endpoint expects a json object payload")
            credentials = data.get("credential_json")
            if credentials is not None:
                if spec["credentials"] is None:
                    raise _Abort(
                        500, f"Tried to set credentials for {api}, but it doesn't take them"
                    )
                if not credentials:
                    self.credentials.pop(api, None)
                else:
                    missing = [
                        f["name"]
                        for f in spec["credentials"]
                        if f["required"] and not credentials.get(f["name"])
                    ]
                    if missing:
                        raise _Abort(500, f"missing credential fields: {', '.join(missing)}")
                    self.credentials[api] = dict(credentials)
        return {
            "supports_authentification": spec["credentials"] is not None,
            "has_set_authentification": api in self.credentials,
        }

    def _create_exchange(self, data: dict) -> tuple[int, Any]:
        bank = data.get("bank")
        if bank is None:
            raise _Abort(400, "bank is required")
        api_json = data.get("api_json", {})
        api = data.get("api")
        if not isinstance(bank, str) or not EXCHANGE_NAME.match(bank):
            raise _Abort(400, "Field `bank` must match /^[A-Z0-9_]+$/")
        if not isinstance(api_json, dict):
            raise _Abort(400, "Field `api_json` must be object")
        if api is None:
            raise _Abort(400, "Field `api_type` is required")
        if api not in EXCHANGE_APIS:
            raise _Abort(400, f"No such exchange type '{api}'")
        config = {}
        for spec in EXCHANGE_APIS[api]["config"]:
            value = api_json.get(spec["name"], spec["default"])
            if value is None and spec["required"]:
                raise _Abort(400, f"Failed to parse `api_json` - missing field {spec['name']!r}")
            if spec["choices"] and value not in spec["choices"]:
                raise _Abort(400, f"Failed to parse `api_json` - {value!r} is not a valid choice")
            if spec["type"] == "number" and not isinstance(value, int):
                raise _Abort(400, f"Failed to parse `api_json` - {spec['name']} must be a number")
            config[spec["name"]] = value
        if bank in self.exchanges or bank in self.banks:
            # HMA's storage raises IntegrityError here: Flask's plain 500 page.
            raise _Abort(500, "Internal Server Error")
        self.exchanges[bank] = Exchange(bank, api, config, bool(api_json.get("enabled", True)))
        self.banks[bank] = 1.0
        return 201, {"message": "Created successfully"}

    def _exchange(self, name: str) -> Exchange:
        record = self.exchanges.get(name)
        if record is None:
            raise _Abort(404, f"Exchange '{name}' not found")
        return record

    # --- /h and /m ---

    def _hash(self, method: str, query: dict, body: Any) -> tuple[int, Any]:
        if method == "POST":
            if not isinstance(body, Multipart) or not body.files:
                raise _Abort(400, "Missing multipart/form-data file upload")
            return 200, self._hash_files(body.files)
        if method != "GET":
            raise _Abort(405, "The method is not allowed for the requested URL.")
        url = query.get("url")
        if not url:
            raise _Abort(422, "url: Field required")
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - tests' URLs
                content_type = answer.headers.get("content-type", "")
                content = answer.read()
        except OSError as exc:
            raise _Abort(400, f"Failed to fetch URL: {exc}") from None
        if not content_type.lower().startswith("image"):
            raise _Abort(400, f"unsupported url ContentType: '{content_type}'")
        return 200, {"pdq": _pdq(content)}

    def _hash_files(self, files: dict[str, bytes]) -> dict[str, str]:
        if len(files) > 1:
            raise _Abort(400, "Only one file allowed per request")
        ((kind, content),) = files.items()
        if kind == "photo":
            known = self.decodes.get(hashlib.sha256(content).hexdigest())
            return {"pdq": known if known is not None else _pdq(content)}
        if kind == "video":
            return {"video_md5": hashlib.md5(content).hexdigest()}  # noqa: S324 - HMA's signal
        raise _Abort(400, f"no such content_type: '{kind}'")

    def _lookup(self, query: dict) -> dict:
        signal, signal_type = query.get("signal"), query.get("signal_type")
        if not signal or not signal_type:
            raise _Abort(400, "Either url or both signal and signal_type are required")
        pattern = SIGNAL_TYPES.get(signal_type)
        if pattern is None:
            raise _Abort(400, f"No such SignalType '{signal_type}'")
        if not pattern.match(signal):
            raise _Abort(400, "invalid signal: invalid PDQ hash")
        requested = set(query["banks"].split(",")) if query.get("banks") else None
        bypass = query.get("bypass_coinflip", "false") == "true"
        coinflip = 0 if bypass else random.Random(query.get("seed")).random()
        results: dict[str, list[dict]] = {}
        for content in sorted(self.contents.values(), key=lambda c: c.id):
            value = content.signals.get(signal_type)
            if value is None or not content.enabled:
                continue
            if signal_type == "pdq":
                distance = (int(value, 16) ^ int(signal, 16)).bit_count()
                if distance > PDQ_THRESHOLD:
                    continue
            elif value != signal:
                continue
            else:
                distance = 0
            if self.banks.get(content.bank, 0) < coinflip:
                continue
            if requested is not None and content.bank not in requested:
                continue
            results.setdefault(content.bank, []).append(
                {"bank_content_id": content.id, "distance": str(distance)}
            )
        return results


def _pdq(content: bytes) -> str:
    """PdqSignal.hash_from_bytes: the hash, or "" below quality 50."""
    try:
        computed = hash_image(content)
    except ImageError as exc:
        raise _Abort(500, f"could not hash: {exc}") from None
    return computed.hash if computed.quality >= MIN_QUALITY else ""


def _json(body: Any) -> dict:
    if not isinstance(body, dict):
        raise _Abort(422, "the request body must be a JSON object")
    return body


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _Abort(404, "The requested URL was not found on the server.") from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        fake: FakeHma = self.server.fake  # type: ignore[attr-defined]
        with fake.lock:
            fake.connections.add(self.connection)

    def finish(self) -> None:
        fake: FakeHma = self.server.fake  # type: ignore[attr-defined]
        with fake.lock:
            fake.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        fake: FakeHma = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = self._body(raw)
        status, answer = fake.handle(self.command, split.path, query, body)
        if fake.delay:  # the work is done, the answer is late (as with a real slow HMA)
            time.sleep(fake.delay)
        if isinstance(answer, str) and status == 500 and answer.startswith("Internal"):
            payload, content_type = b"<h1>Internal Server Error</h1>", "text/html"
        elif isinstance(answer, str):
            payload, content_type = answer.encode(), "text/html; charset=utf-8"
        else:
            payload, content_type = json.dumps(answer).encode(), "application/json"
        with contextlib.suppress(OSError):  # the client may have given up (a timeout)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def _body(self, raw: bytes) -> Any:
        content_type = self.headers.get("content-type", "")
        if not raw:
            return None
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            files = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename() is not None and name:
                    files[name] = part.get_payload(decode=True)
            return Multipart(files)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
