"""The wire of each integration: what Coop sends and how it reads the answer.

- OpenAI moderation: `POST {base}/moderations` with `Authorization: Bearer <key>` and
  `{"model": "omni-moderation-latest", "input": [{"type": "text", "text": …}]}` (or one
  `{"type": "image_url", "image_url": {"url": …}}` part: OpenAI fetches the image itself);
  every category is read from `results[0].category_scores` of that one answer.
- Google Content Safety: Coop downloads the image (coop.media, SSRF-safe), then
  `POST {base}/images:classify?key=<key>` with `{"images": [<base64>]}`, one image per request;
  the answer's `reviewPriorities[0]` is VERY_LOW … VERY_HIGH.
- Zentropi: `POST {base}/label` with `Authorization: Bearer <key>` and
  `{"content_text": …, "labeler_version_id": …}`; score = confidence when `label` is 1 (or
  "1"), 1 − confidence when it is 0.
- HTTP signals: `POST <url>` with the signed body `{"input": …, "item": {"data", "id",
  "typeId"}}` (webhook rules: sorted keys, `Coop-Signature`, `Coop-Event: signal`, the
  configured headers) and `{"score": <number|boolean>}` read from a 2xx answer.

`{base}` is the provider's public endpoint up to its version segment, or the configured
`baseUrl` (config.md).
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from coop.catalog.credentials import CredentialError, resolve_credential
from coop.core.items import ItemRef
from coop.enforcement.delivery import UnsendableHeaderError, resolve_headers
from coop.enforcement.services import encode_body
from coop.enforcement.signer import active_signer, sign
from coop.integrations import calls, status
from coop.integrations.calls import (
    Answer,
    BadInput,
    PermanentFailure,
    Request,
    SignalUnavailable,
)
from coop.integrations.config import (
    GOOGLE,
    OPENAI,
    ZENTROPI,
    HttpSignal,
    IntegrationsConfig,
    Provider,
)
from coop.media import MediaFetchError, MediaKind, fetch_media
from coop.signals.registry import OutputType

OPENAI_MODEL = "omni-moderation-latest"
# Signal id part -> the category name in OpenAI's answer.
OPENAI_CATEGORY_NAMES = {
    "HATE": "hate",
    "HATE_THREATENING": "hate/threatening",
    "SELF_HARM": "self-harm",
    "SELF_HARM_INTENT": "self-harm/intent",
    "SELF_HARM_INSTRUCTIONS": "self-harm/instructions",
    "SEXUAL": "sexual",
    "SEXUAL_MINORS": "sexual/minors",
    "VIOLENCE": "violence",
    "GRAPHIC_VIOLENCE": "violence/graphic",
}
GOOGLE_PRIORITIES = ("VERY_LOW", "LOW", "MEDIUM", "HIGH", "VERY_HIGH")
# What Google's classifier takes, as coop.media sniffs it (Google also lists ICO and PPM,
# which Coop does not recognise as images).
GOOGLE_IMAGE_TYPES = frozenset(
    {"image/bmp", "image/gif", "image/jpeg", "image/png", "image/tiff", "image/webp"}
)
SIGNAL_EVENT = "signal"
JSON = "application/json"
TEST_TEXT = "Coop connection test"
# An 8×8 grey PNG: the image a Google connection test classifies.
TEST_IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAFElEQVR4nGNsaGhgwAaYsIoOWgkAMBcBkGHHl6YAAAAASUVORK5CYII="
)
TEST_ITEM = {"id": "coop-connection-test", "typeId": "coop.connection-test", "data": {}}


# --- shared helpers --------------------------------------------------------------------------


def _key(integration: Provider) -> str:
    try:
        return resolve_credential(integration.api_key)
    except CredentialError as exc:
        raise PermanentFailure(f"{integration.label} API key: {exc}") from None


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except (UnicodeDecodeError, ValueError):
        raise SignalUnavailable(f"not JSON: {answer.excerpt()!r}") from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- OpenAI ----------------------------------------------------------------------------------


def openai_scores(provider: Provider, part: dict[str, Any], *, cached: bool = True) -> dict:
    """Every category score of one text or image: one moderation call, shared by all."""

    def prepare() -> Request:
        body = json.dumps({"model": OPENAI_MODEL, "input": [part]}).encode()
        headers = {"Authorization": f"Bearer {_key(provider)}", "Content-Type": JSON}
        return Request("POST", f"{provider.base_url}/moderations", headers, body)

    def parse(answer: Answer) -> dict[str, float]:
        data = _json(answer)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or not results or not isinstance(results[0], dict):
            raise SignalUnavailable("no results")
        scores = results[0].get("category_scores")
        if not isinstance(scores, dict):
            raise SignalUnavailable("no category_scores")
        return {name: float(score) for name, score in scores.items() if _number(score)}

    key = ("moderation", calls.value_key(json.dumps(part, sort_keys=True)))
    return calls.call(provider, key, prepare, parse, cached=cached)


def openai_score(provider: Provider, category: str, value: object, image: bool) -> float:
    if not isinstance(value, str):
        wanted = "an image URL" if image else "a text"
        raise BadInput(f"expected {wanted}, got {type(value).__name__}")
    part = (
        {"type": "image_url", "image_url": {"url": value}}
        if image
        else {"type": "text", "text": value}
    )
    scores = openai_scores(provider, part)
    if category not in scores:
        raise SignalUnavailable(f"OpenAI's answer has no score for {category!r}")
    return scores[category]


# --- Google Content Safety -------------------------------------------------------------------


def google_priority(provider: Provider, image: bytes | str, *, cached: bool = True) -> str:
    """The review priority of an image (its URL, fetched by Coop, or its bytes)."""

    def prepare() -> Request:
        content = image if isinstance(image, bytes) else _download(image)
        body = json.dumps({"images": [base64.b64encode(content).decode("ascii")]}).encode()
        url = f"{provider.base_url}/images:classify?key={quote(_key(provider), safe='')}"
        return Request("POST", url, {"Content-Type": JSON}, body)

    def parse(answer: Answer) -> str:
        data = _json(answer)
        priorities = data.get("reviewPriorities") if isinstance(data, dict) else None
        if not isinstance(priorities, list) or not priorities:
            raise SignalUnavailable("no reviewPriorities")
        if priorities[0] not in GOOGLE_PRIORITIES:
            raise SignalUnavailable(f"unknown review priority {priorities[0]!r}")
        return priorities[0]

    key = ("classify", calls.value_key(image))
    return calls.call(provider, key, prepare, parse, cached=cached)


def _download(url: str) -> bytes:
    try:
        media = fetch_media(url, kinds={MediaKind.IMAGE})
    except MediaFetchError as exc:
        raise BadInput(f"the image could not be fetched: {exc.reason}") from None
    if media.mime not in GOOGLE_IMAGE_TYPES:
        raise BadInput(f"Google Content Safety does not classify {media.mime} images")
    return media.content


# --- Zentropi --------------------------------------------------------------------------------


def zentropi_score(provider: Provider, labeler: str, text: object, *, cached: bool = True) -> float:
    if not isinstance(text, str):
        raise BadInput(f"expected a text, got {type(text).__name__}")

    def prepare() -> Request:
        body = json.dumps({"content_text": text, "labeler_version_id": labeler}).encode()
        headers = {"Authorization": f"Bearer {_key(provider)}", "Content-Type": JSON}
        return Request("POST", f"{provider.base_url}/label", headers, body)

    def parse(answer: Answer) -> float:
        data = _json(answer)
        if not isinstance(data, dict):
            raise SignalUnavailable("not an object")
        label, confidence = data.get("label"), data.get("confidence")
        if label not in (0, 1, "0", "1") or isinstance(label, bool):
            raise SignalUnavailable(f"label {label!r} is not 0 or 1")
        if not _number(confidence) or not 0 <= confidence <= 1:
            raise SignalUnavailable(f"confidence {confidence!r} is not a number from 0 to 1")
        return float(confidence) if int(label) == 1 else 1 - float(confidence)

    key = ("label", labeler, calls.value_key(text))
    return calls.call(provider, key, prepare, parse, cached=cached)


# --- HTTP signals ----------------------------------------------------------------------------

# The signer of calls made in threads (`signing_in_threads`); None: `sign`, which reads the key.
_signer: ContextVar[Callable[[bytes], str] | None] = ContextVar("signer", default=None)


@contextmanager
def signing_in_threads() -> Iterator[None]:
    """Sign the HTTP signal calls of the block, and of threads running a copy of its
    context, with the key active now: those threads have no database connection to read it."""
    token = _signer.set(active_signer())
    try:
        yield
    finally:
        _signer.reset(token)


def wire_value(value: object) -> Any:
    """An input value as the HTTP signal's body carries it."""
    if isinstance(value, ItemRef):
        return value.as_wire()
    item_id, type_id = getattr(value, "item_id", None), getattr(value, "type_id", None)
    if isinstance(item_id, str) and isinstance(type_id, str):  # the evaluator's Item
        return {"id": item_id, "typeId": type_id, "data": dict(getattr(value, "data", {}))}
    return value


def http_signal_score(
    signal: HttpSignal, item: dict[str, Any], value: object, *, cached: bool = True
) -> bool | float:
    """The score of the deployer's model for `value` of `item` ({id, typeId, data})."""
    body = encode_body({"item": item, "input": wire_value(value)})

    def prepare() -> Request:
        try:
            headers = resolve_headers(signal.headers)
        except UnsendableHeaderError as exc:
            raise PermanentFailure(f"{signal.label}: {exc}") from None
        headers.update(
            {
                "Content-Type": JSON,
                "Coop-Signature": (_signer.get() or sign)(body),
                "Coop-Delivery-Id": str(uuid.uuid4()),
                "Coop-Event": SIGNAL_EVENT,
            }
        )
        return Request("POST", signal.url, headers, body)

    def parse(answer: Answer) -> bool | float:
        data = _json(answer)
        score = data.get("score") if isinstance(data, dict) else None
        if signal.output is OutputType.BOOLEAN:
            if not isinstance(score, bool):
                raise SignalUnavailable(f"score {score!r} is not a boolean (output: BOOLEAN)")
            return score
        if not _number(score):
            raise SignalUnavailable(f"score {score!r} is not a number (output: NUMBER)")
        return score

    return calls.call(signal, ("score", calls.value_key(body)), prepare, parse, cached=cached)


# --- connection tests ------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    duration_ms: int


def test_connection(config: IntegrationsConfig, key: str) -> TestResult | None:
    """Make one real, minimal call to the integration named `key` (`openai`, …,
    `httpSignals:<id>`) with its saved configuration, bypassing the cache; None when no
    such integration is configured. The outcome is recorded as its status."""
    check = _test_for(config, key)
    if check is None:
        return None
    if isinstance(check, TestResult):
        return check
    started = time.monotonic()
    try:
        with calls.evaluation_scope():
            outcome = check()
    except SignalUnavailable as exc:
        status.record(key, str(exc), permanent=isinstance(exc, PermanentFailure), now=True)
        return TestResult(False, str(exc), _since(started))
    status.record(key, None, now=True)
    return TestResult(True, f"Connected: {outcome}.", _since(started))


def _test_for(config: IntegrationsConfig, key: str) -> Callable[[], str] | TestResult | None:
    """The minimal call that tests integration `key`, describing what it got."""
    provider = config.provider(key)
    if provider is not None and provider.key == OPENAI:
        return lambda: _describe_scores(
            openai_scores(provider, {"type": "text", "text": TEST_TEXT}, cached=False)
        )
    if provider is not None and provider.key == GOOGLE:
        return lambda: (
            f"review priority {google_priority(provider, TEST_IMAGE, cached=False)} "
            "for a test image"
        )
    if provider is not None and provider.key == ZENTROPI:
        if not provider.labeler_versions:
            return TestResult(False, "Add a labeler version first: Zentropi needs one.", 0)
        labeler = provider.labeler_versions[0][0]
        return lambda: (
            f"score {zentropi_score(provider, labeler, TEST_TEXT, cached=False):.3f} "
            f"from labeler version {labeler}"
        )
    prefix, _, signal_id = key.partition(":")
    signal = config.http_signals.get(signal_id) if prefix == "httpSignals" else None
    if signal is not None:
        return lambda: f"score {http_signal_score(signal, TEST_ITEM, TEST_TEXT, cached=False)!r}"
    return None


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe_scores(scores: dict[str, float]) -> str:
    if not scores:
        return "no category scores"
    top = max(scores, key=lambda name: scores[name])
    return f"{len(scores)} category scores (highest: {top} {scores[top]:.3f})"
