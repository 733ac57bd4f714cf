"""The HMA 2.0 ("open-media-match") REST API, as Coop calls it.

Paths and bodies are HMA's own (facebook/ThreatExchange, hasher-matcher-actioner, blueprints
`curation` at /c, `hashing` at /h, `matching` at /m). Every call has a timeout and a cap on the
answer's size; a failure raises `HmaError` saying what failed, never a bare transport error.
The service URL comes from the deployment's environment (HMA_SERVICE_URL), not from item data,
so the SSRF guard of coop.outbound does not apply; HMA sends no credentials and needs none.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

# Seconds to connect, and for each whole call. Lookups run while rules are evaluated, so they
# get less; curation calls run in the sync task.
CONNECT_TIMEOUT = 3.0
CALL_TIMEOUT = 10.0
LOOKUP_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# HMA's signal type names for Coop's `signalType` values.
SIGNAL_TYPES = {"pdq": "pdq", "md5": "video_md5"}


class HmaError(Exception):
    """A failed HMA call. `status` is HMA's HTTP status (None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class HmaNotFound(HmaError):
    """HMA answered 404: it has no such bank, exchange or content."""


class HmaNotConfigured(HmaError):
    def __init__(self) -> None:
        super().__init__("HMA_SERVICE_URL is not set")


def configured() -> bool:
    return bool(settings.HMA_SERVICE_URL)


class HmaClient:
    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        call_timeout: float = CALL_TIMEOUT,
        lookup_timeout: float = LOOKUP_TIMEOUT,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise HmaError(f"HMA_SERVICE_URL must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.lookup_timeout = lookup_timeout
        self._http = httpx.Client(base_url=self.base_url, follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._http.close()

    # --- plumbing ---

    def _call(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        expect_json: bool = True,
        **kwargs: Any,
    ) -> Any:
        what = f"HMA {method} {path.split('?', 1)[0]}"
        timeout = self.call_timeout if timeout is None else timeout
        limits = httpx.Timeout(timeout, connect=min(self.connect_timeout, timeout))
        try:
            deadline = time.monotonic() + timeout
            with self._http.stream(method, path, timeout=limits, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the whole call took too long")
                    if len(body) > MAX_ANSWER_BYTES:
                        raise HmaError(
                            f"{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
                        )
        except httpx.TimeoutException:
            raise HmaError(f"{what}: no answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise HmaError(f"{what}: {type(exc).__name__}: {exc or 'connection failed'}") from None
        status = response.status_code
        if status >= 400:
            message = _message(bytes(body)) or response.reason_phrase
            error = HmaNotFound if status == 404 else HmaError
            raise error(f"{what} answered {status}: {message}", status)
        if not expect_json:
            return bytes(body).decode("utf-8", "replace")
        try:
            return json.loads(body)
        except ValueError:
            raise HmaError(
                f"{what} answered {status} with a body that is not JSON", status
            ) from None

    # --- service ---

    def status(self) -> str:
        """`GET /status`: "I-AM-ALIVE", or HmaError (503 while its index is not loaded)."""
        return self._call("GET", "/status", expect_json=False).strip()

    # --- banks (/c) ---

    def list_banks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/c/banks")

    def get_bank(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/c/bank/{_part(name)}")

    def create_bank(self, name: str, *, enabled: bool = True) -> dict[str, Any]:
        """`POST /c/banks`; 403 when the name exists, 400 when HMA refuses it."""
        body = {"name": name, "enabled_ratio": 1.0 if enabled else 0.0}
        return self._call("POST", "/c/banks", json=body)

    def update_bank(
        self, name: str, *, new_name: str | None = None, enabled: bool | None = None
    ) -> dict[str, Any]:
        """`PUT /c/bank/<name>`: HMA renames the bank in place, so its contents stay."""
        body: dict[str, Any] = {}
        if new_name is not None:
            body["name"] = new_name
        if enabled is not None:
            body["enabled_ratio"] = 1.0 if enabled else 0.0
        return self._call("PUT", f"/c/bank/{_part(name)}", json=body)

    def delete_bank(self, name: str) -> None:
        self._call("DELETE", f"/c/bank/{_part(name)}")

    def add_signal(self, bank: str, signal_type: str, value: str) -> int:
        """`POST /c/bank/<name>/signal` with `{signal_type: hash}`: HMA's content id."""
        answer = self._call(
            "POST", f"/c/bank/{_part(bank)}/signal", json={SIGNAL_TYPES[signal_type]: value}
        )
        try:
            return int(answer["id"])
        except (KeyError, TypeError, ValueError):
            raise HmaError(f"HMA added a signal to {bank} but answered no content id") from None

    def get_content(self, bank: str, content_id: int) -> dict[str, Any]:
        return self._call(
            "GET",
            f"/c/bank/{_part(bank)}/content/{int(content_id)}",
            params={"include_signals": "true"},
        )

    def delete_content(self, bank: str, content_id: int) -> None:
        self._call("DELETE", f"/c/bank/{_part(bank)}/content/{int(content_id)}")

    # --- hashing (/h) and matching (/m) ---

    def hash_image(self, content: bytes, filename: str = "image") -> str:
        """`POST /h/hash` with the bytes as a `photo` part: the PDQ hash, "" when HMA finds
        the image too featureless (PDQ quality below 50: HMA returns an empty hash)."""
        answer = self._call("POST", "/h/hash", files={"photo": (filename, content)})
        value = answer.get("pdq") if isinstance(answer, dict) else None
        if not isinstance(value, str):
            raise HmaError("HMA /h/hash answered no pdq hash")
        return value

    def lookup(self, signal_type: str, value: str) -> dict[str, list[dict[str, Any]]]:
        """`GET /m/lookup?signal_type=&signal=`: {HMA bank name: [{bank_content_id,
        distance}]} for every enabled bank holding a match within HMA's own threshold."""
        answer = self._call(
            "GET",
            "/m/lookup",
            params={"signal_type": SIGNAL_TYPES[signal_type], "signal": value},
            timeout=self.lookup_timeout,
        )
        if not isinstance(answer, dict):
            raise HmaError("HMA /m/lookup answered something other than a mapping of banks")
        return answer

    # --- exchanges (/c) ---

    def exchange_apis(self) -> list[str]:
        return self._call("GET", "/c/exchanges/apis")

    def exchange_api(self, api: str) -> dict[str, Any]:
        """{supports_authentification, has_set_authentification} (HMA's spelling)."""
        return self._call("GET", f"/c/exchanges/api/{_part(api)}")

    def exchange_api_schema(self, api: str) -> dict[str, Any]:
        """{config_schema: {fields}, credentials_schema: {fields} | None}."""
        return self._call("GET", f"/c/exchanges/api/{_part(api)}/schema")

    def set_exchange_credentials(self, api: str, credentials: dict[str, str]) -> dict[str, Any]:
        """HMA keeps credentials per exchange API, not per exchange."""
        return self._call(
            "POST", f"/c/exchanges/api/{_part(api)}", json={"credential_json": credentials}
        )

    def create_exchange(self, name: str, api: str, config: dict[str, Any]) -> None:
        """`POST /c/exchanges`: the exchange and the HMA bank of the same name it fills."""
        self._call("POST", "/c/exchanges", json={"bank": name, "api": api, "api_json": config})

    def get_exchange(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/c/exchange/{_part(name)}")

    def exchange_status(self, name: str) -> dict[str, Any]:
        """{checkpoint_ts, running_fetch_start_ts, last_fetch_complete_ts,
        last_fetch_succeeded, up_to_date, fetched_items}."""
        return self._call("GET", f"/c/exchange/{_part(name)}/status")

    def delete_exchange(self, name: str) -> None:
        self._call("DELETE", f"/c/exchange/{_part(name)}")


def _part(value: str) -> str:
    return quote(value, safe="")


def _message(body: bytes) -> str:
    """HMA's error text: `{"message": ...}` from its API blueprints, else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"][:500]
    return str(data)[:200]


_clients: dict[str, HmaClient] = {}
_lock = threading.Lock()


def client() -> HmaClient:
    """The process's client for HMA_SERVICE_URL (one connection pool, shared by threads)."""
    base_url = settings.HMA_SERVICE_URL
    if not base_url:
        raise HmaNotConfigured
    with _lock:
        found = _clients.get(base_url)
        if found is None:
            found = _clients[base_url] = HmaClient(base_url)
        return found
