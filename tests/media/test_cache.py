"""One evaluation batch fetches each URL once (coop.media.FetchCache), within a memory bound."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from coop.media import (
    FetchCache,
    FetchProblem,
    MediaFetcher,
    MediaFetchError,
    MediaKind,
    fetch_batch,
)
from media import samples
from media.server import serve, status


def test_a_url_is_fetched_once_per_batch(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    with fetch_batch() as media:
        first = media.fetch(f"{host.url}/cat.png")
        second = media.fetch(f"{host.url}/cat.png")
    assert first is second
    assert host.hits_of("/cat.png") == 1


def test_a_failure_is_remembered_for_the_batch(host):
    host.routes["/gone"] = status(404)
    with fetch_batch() as media:
        for _ in range(3):
            with pytest.raises(MediaFetchError, match="HTTP 404") as caught:
                media.fetch(f"{host.url}/gone")
            assert caught.value.problem is FetchProblem.HTTP_STATUS
    assert host.hits_of("/gone") == 1


def test_a_refused_address_is_remembered_without_calling_again(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    with fetch_batch(allow_private=False) as media:
        for _ in range(2):
            with pytest.raises(MediaFetchError) as caught:
                media.fetch(f"{host.url}/cat.png")
            assert caught.value.problem is FetchProblem.PRIVATE_ADDRESS
    assert host.hits == []


def test_each_caller_asks_for_its_own_kinds_from_one_download(host):
    host.routes["/clip"] = serve(samples.MP4)
    with fetch_batch() as media:
        with pytest.raises(MediaFetchError, match="not an image: the body is video/mp4"):
            media.fetch(f"{host.url}/clip", kinds={MediaKind.IMAGE})
        assert media.fetch(f"{host.url}/clip").kind is MediaKind.VIDEO
    assert host.hits_of("/clip") == 1


def test_another_batch_fetches_again(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    for _ in range(2):
        with fetch_batch() as media:
            media.fetch(f"{host.url}/cat.png")
        assert len(media) == 0  # emptied when the batch ends
    assert host.hits_of("/cat.png") == 2


def test_memory_is_bounded_least_recently_used_dropped_first(host):
    size = len(samples.PNG)
    for name in ("a", "b", "c"):
        host.routes[f"/{name}"] = serve(samples.PNG)
    with FetchCache(max_total_bytes=2 * size) as media:
        media.fetch(f"{host.url}/a")
        media.fetch(f"{host.url}/b")
        media.fetch(f"{host.url}/a")  # a is now the most recently used
        media.fetch(f"{host.url}/c")  # drops b
        assert media.total_bytes == 2 * size
        media.fetch(f"{host.url}/a")
        media.fetch(f"{host.url}/b")
    assert [host.hits_of(f"/{name}") for name in ("a", "b", "c")] == [1, 2, 1]


def test_a_body_larger_than_the_whole_budget_is_returned_but_not_kept(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    with FetchCache(max_total_bytes=len(samples.PNG) - 1) as media:
        assert media.fetch(f"{host.url}/cat.png").content == samples.PNG
        media.fetch(f"{host.url}/cat.png")
        assert (len(media), media.total_bytes) == (0, 0)
    assert host.hits_of("/cat.png") == 2


def test_threads_sharing_a_batch_fetch_a_url_once(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    url = f"{host.url}/cat.png"
    with FetchCache(MediaFetcher()) as media, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: media.fetch(url), range(16)))
    assert {result.sha256 for result in results} == {results[0].sha256}
    assert host.hits_of("/cat.png") == 1


def test_the_fetcher_options_apply_to_the_batch(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    with fetch_batch(max_bytes=10) as media, pytest.raises(MediaFetchError) as caught:
        media.fetch(f"{host.url}/cat.png")
    assert caught.value.problem is FetchProblem.TOO_LARGE
