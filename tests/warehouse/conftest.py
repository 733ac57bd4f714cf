import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coop.warehouse import clickhouse


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory):
    """A real ClickHouse engine: chDB in this process, through clickhouse-connect's chdb
    backend (the same client and SQL as against a server)."""
    return f"chdb://{tmp_path_factory.mktemp('clickhouse')}"


@pytest.fixture
def ch(chdb_url, settings):
    """COOP_WAREHOUSE=clickhouse on the chDB engine, its tables emptied."""
    settings.COOP_WAREHOUSE = "clickhouse"
    settings.CLICKHOUSE_URL = chdb_url
    client = clickhouse.client(chdb_url)
    for table in clickhouse.TABLES:
        client.command(f"TRUNCATE TABLE {table}")
    return client


@pytest.fixture
def unavailable():
    """A ClickHouse behind a load balancer with no healthy backend: every request is a 503.
    Counts the requests, so a test can check the client really tried."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            requests.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = b"no healthy upstream"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
