"""`coop bench banks`: the bank pages with 100,000 entries (issue 10: first page and search
each < 200 ms).

A scratch database gets a TEXT bank and a LOCATION bank of 100,000 entries each, written by
the configuration writer as the console writes them. Each page is requested 7 times by a
signed-in analyst through the whole Django stack (middleware, view, template); the median of
the last 6 is reported: the first page, a page in the middle (keyset cursor), the last page,
a search with one match, a search with many, a search with none, and the same for the
LOCATION bank. Adding one entry to the 100,000-entry TEXT bank (the whole bank is validated
and a history row written) is timed once, for information.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from coop.bench.harness import Result, coop_env, scratch_database

ENTRIES = 100_000
REPEATS = 7
PAGES = {
    "text_first_page_ms": "/banks/bench-text",
    "text_middle_page_ms": "/banks/bench-text?after=50000",
    "text_last_page_ms": "/banks/bench-text?last=1",
    "text_search_one_ms": "/banks/bench-text?q=phrase+number+76543",
    "text_search_many_ms": "/banks/bench-text?q=number+9",
    "text_search_none_ms": "/banks/bench-text?q=no+such+words",
    "location_first_page_ms": "/banks/bench-places",
    "location_search_ms": "/banks/bench-places?q=place+76543",
}


def measure(entries: int) -> dict:
    """In the child (Django on the scratch database): the banks, then the timings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
    import django

    django.setup()
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from coop.accounts.models import Role, User
    from coop.config.services import save_object

    started = time.perf_counter()
    words = [f"phrase number {n}" for n in range(entries)]
    assert save_object(
        "banks", {"id": "bench-text", "name": "Bench text", "kind": "TEXT", "values": words}
    ).ok
    places = [
        {"name": f"place {n}", "lat": (n % 180) - 89.5, "lng": (n % 360) - 179.5, "radiusMiles": 1}
        for n in range(entries)
    ]
    assert save_object(
        "banks",
        {"id": "bench-places", "name": "Bench places", "kind": "LOCATION", "locations": places},
    ).ok
    seed_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_bankentry")

    analyst = User.objects.create_user(
        "analyst@bench.example", role=Role.objects.get(name="Analyst")
    )
    client = Client(HTTP_HOST=urlsplit(settings.BASE_URL).netloc)  # a host Coop answers
    client.force_login(analyst)
    timings = {}
    for name, url in PAGES.items():
        samples = []
        for _ in range(REPEATS):
            began = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings[name] = statistics.median(samples[1:])
    began = time.perf_counter()
    response = client.post("/banks/bench-text/entries", {"entry": "one more phrase"})
    assert response.status_code == 302, response.status_code
    timings["text_add_one_ms"] = (time.perf_counter() - began) * 1000
    return {"seed_s": seed_s, **timings}


def run(seconds: float = 20.0, entries: int = ENTRIES) -> Result:
    """`seconds` is not used: each page is timed REPEATS times. `entries` below 100,000
    checks the scenario quickly; only the full size says anything about the target."""
    with scratch_database() as database_url:
        child = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "coop.bench.banks", str(entries)],
            env=coop_env(database_url),
            capture_output=True,
            text=True,
            check=False,
        )
    if child.returncode != 0:
        raise RuntimeError(f"bench child failed: {child.stderr[-2000:]}")
    metrics = json.loads(child.stdout.strip().splitlines()[-1])
    return Result(
        scenario="banks",
        metrics={"entries": entries, **metrics},
        targets={
            "text_first_page_ms": "< 200",
            "text_search_one_ms": "< 200",
            "text_search_many_ms": "< 200",
            "location_first_page_ms": "< 200",
            "location_search_ms": "< 200",
        },
    )


if __name__ == "__main__":
    sys.stdout.write(json.dumps(measure(int(sys.argv[1]))) + "\n")
