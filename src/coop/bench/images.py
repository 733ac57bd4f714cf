"""The image part of `coop bench evaluate`: photos on a local image host and a hash bank.

Every photo item points at its own image, each a distinct 1024x768 JPEG with structure at
several scales and sensor-like noise (what a platform's uploads look like to PDQ), so the worker
fetches and hashes every one: nothing is served from a cache a real client would not hit. The
HASH bank holds 100,000 random PDQ hashes plus near-duplicates (8 bits off) of a tenth of the
photos, so those items match and their rule's action runs.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from coop.bench.hash import flip, photo
from coop.signals.hashing import hash_image

BANK_ID = "known-images"
BANK_HASHES = 100_000
MATCH_SHARE = 10  # one photo in this many is in the bank
MATCH_BITS = 8
WIDTH, HEIGHT = 1024, 768
HASHING_SAMPLE = 20


def photos(count: int, first_seed: int = 1000) -> list[bytes]:
    return [photo(WIDTH, HEIGHT, seed=first_seed + i) for i in range(count)]


def bank_lines(images: list[bytes], rng: np.random.Generator) -> tuple[list[str], int]:
    """The bank file's lines (random hashes and the planted near-duplicates, shuffled) and how
    many photos it should match."""
    planted = [hash_image(data).hash for data in images[::MATCH_SHARE]]
    rows = np.frombuffer(b"".join(bytes.fromhex(h) for h in planted), dtype=np.uint8)
    near = flip(rows.reshape(-1, 32), np.full(len(planted), MATCH_BITS), rng)
    random = rng.integers(0, 256, size=(BANK_HASHES - len(planted), 32), dtype=np.uint8)
    hashes = np.concatenate([random, near])
    lines = [row.tobytes().hex() for row in hashes[rng.permutation(len(hashes))]]
    return lines, len(planted)


def hashing_cost(images: list[bytes]) -> dict[str, float]:
    """Milliseconds to decode and PDQ-hash one of the photos (a sample), as the worker does."""
    sample = images[:HASHING_SAMPLE]
    hash_image(sample[0])  # warm-up
    timings = []
    for data in sample:
        started = time.perf_counter()
        hash_image(data)
        timings.append((time.perf_counter() - started) * 1e3)
    return {
        "hash_ms_per_image": statistics.fmean(timings),
        "image_kb": statistics.fmean(len(d) for d in images) / 1024,
    }


class ImageHost:
    """The platform's image server on 127.0.0.1: /p/<n>.jpg is photo n; counts requests."""

    def __init__(self, images: list[bytes]) -> None:
        self.images = images
        self.requests = 0
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1].removesuffix(".jpg")
                with host._lock:
                    host.requests += 1
                body = (
                    host.images[int(name)]
                    if name.isdigit() and int(name) < len(host.images)
                    else None
                )
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body or b"")

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ImageHost:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def urls(self, start: int, count: int) -> Iterator[str]:
        return (f"{self.url}/p/{n}.jpg" for n in range(start, start + count))
