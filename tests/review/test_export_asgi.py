"""The CSV exports stream under ASGI (`coop web` serves coop.asgi with uvicorn): Django buffers a
synchronous iterator whole there, so the views hand it an async one reading keyset pages.

The requests go through the real ASGI application, driven by a minimal ASGI client that
counts the body and keeps none of it (httpx's ASGITransport collects the whole body)."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
from dataclasses import dataclass, field

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.asgi import get_asgi_application
from django.db import close_old_connections, connection
from django.test import Client

from coop.review.audit import DECISIONS_HEADER
from coop.review.decisions import ActionChoice, DecisionInput, decide
from factories import post, queue, rule_job

pytestmark = pytest.mark.django_db


@dataclass
class Streamed:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    size: int = 0
    body: list[bytes] | None = None  # kept only when asked
    peak_rss_growth: int = 0  # the process's peak RSS while streaming, over its RSS before


async def _get(path: str, query: str, cookie: str, keep: bool, out: Streamed) -> None:
    app = get_asgi_application()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    requested = False
    never = asyncio.get_running_loop().create_future()  # the client never disconnects

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await never

    async def send(message):
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body:
                out.chunks += 1
                out.size += len(body)
                if keep:
                    out.body.append(body)

    await app(scope, receive, send)


def _rss(field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current RSS (Linux)


def asgi_get(client: Client, path: str, query: str = "", *, keep=False, measure=False):
    """GET `path` through the ASGI application as the client's logged-in user. Runs on this
    thread's database connection (asgiref runs thread-sensitive code here), so the test's
    transaction is visible; the connection-closing signal handlers are held off meanwhile,
    as Django's test client does."""
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    out = Streamed(body=[] if keep else None)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        if measure:
            gc.collect()
            _reset_peak_rss()
            before = _rss("VmRSS")
        async_to_sync(_get)(path, query, cookie, keep, out)
        if measure:
            out.peak_rss_growth = _rss("VmHWM") - before
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return out


def test_the_asgi_export_is_the_same_file_as_the_sync_one(client, catalog, people):
    q = queue()
    for i in range(3):
        decide(
            rule_job(post(f"p-{i}"), q).pk,
            people["manager"],
            DecisionInput([ActionChoice("delete", ["spam"])], reason=f"=bad {i}"),
        )
    client.force_login(people["manager"])
    sync_body = b"".join(client.get("/decisions.csv", {"queue": "q"}).streaming_content)
    streamed = asgi_get(client, "/decisions.csv", "queue=q", keep=True)
    assert streamed.status == 200
    assert streamed.headers["content-type"].startswith("text/csv")
    assert streamed.headers["content-disposition"] == 'attachment; filename="decisions.csv"'
    assert b"".join(streamed.body) == sync_body
    rows = list(csv.reader(io.StringIO(sync_body.decode())))
    assert rows[0] == DECISIONS_HEADER
    assert len(rows) == 4
    assert all(r[DECISIONS_HEADER.index("Reason")].startswith("'=bad") for r in rows[1:])


def test_the_asgi_skips_export_streams(client, catalog, people):
    client.force_login(people["mod"])
    streamed = asgi_get(client, "/decisions/skips.csv", keep=True)
    assert streamed.status == 200
    assert b"".join(streamed.body).decode().startswith("Reviewer,Queue,")


def test_the_asgi_export_needs_the_permission(client, catalog, people):
    client.force_login(people["external"])
    assert asgi_get(client, "/decisions.csv").status == 403


ROWS = 500_000

# One INSERT ... SELECT: half a million decisions in a few seconds.
_GENERATE = """
INSERT INTO review_decision (
    id, queue_id, job_kind, item_id, item_type_id, reviewer_email, source, types, action_ids,
    policy_ids, components, reason, note, created_at
)
SELECT gen_random_uuid(), 'q', 'DEFAULT', 'item-' || n, 'post', 'reviewer@example.com',
       'REVIEW', ARRAY['ACTION'], ARRAY['delete'], ARRAY['spam'],
       '[{"type": "ACTION", "actionIds": ["delete"]}]'::jsonb,
       'a reason of about sixty characters, long enough to weigh a bit', '',
       now() - make_interval(secs => n)
FROM generate_series(1, %s) AS n
"""


@pytest.mark.slow
def test_a_500000_row_export_streams_in_bounded_memory_under_asgi(client, people):
    with connection.cursor() as cursor:
        cursor.execute(_GENERATE, [ROWS])
    client.force_login(people["manager"])
    streamed = asgi_get(client, "/decisions.csv", measure=True)
    assert streamed.status == 200
    lines = ROWS + 1
    assert streamed.size > lines * 150  # every row was sent (about 100 MB)
    assert streamed.chunks > ROWS // 1000  # a chunk per keyset page, not one buffered body
    growth = streamed.peak_rss_growth
    print(
        f"\nASGI export: {ROWS:,} rows, {streamed.size:,} bytes in {streamed.chunks} chunks; "
        f"peak RSS growth {growth:,} bytes"
    )
    # A buffered response holds the whole file (and its lines) at once: several times its size.
    assert growth < streamed.size / 4, (growth, streamed.size)
