"""The SSRF-safe media fetcher (coop.media.fetch), against real local servers."""

from __future__ import annotations

import hashlib
import socket
import threading

import pytest

from coop.media import (
    MAX_REDIRECTS,
    FetchProblem,
    MediaFetchError,
    MediaKind,
    fetch_media,
)
from media import samples
from media.conftest import PUBLIC, Resolutions, WiredBackend
from media.server import (
    dribble,
    headers_then_hold,
    redirect,
    serve,
    status,
    unbounded,
)


def refused(url: str, **options) -> MediaFetchError:
    with pytest.raises(MediaFetchError) as caught:
        fetch_media(url, **options)
    assert caught.value.url == url
    return caught.value


# --- what comes back ------------------------------------------------------------------------


def test_an_image_is_fetched_with_its_sniffed_type_and_digest(host):
    host.routes["/cat.png"] = serve(samples.PNG, "image/png")
    media = fetch_media(f"{host.url}/cat.png")
    assert media.url == media.final_url == f"{host.url}/cat.png"
    assert media.content == samples.PNG
    assert (media.kind, media.mime) == (MediaKind.IMAGE, "image/png")
    assert media.sha256 == hashlib.sha256(samples.PNG).hexdigest()
    assert media.size == len(samples.PNG)
    hit = host.hits[0]
    assert hit.headers["accept-encoding"] == "identity"
    assert "cookie" not in hit.headers


def test_a_video_is_media_too(host):
    host.routes["/clip"] = serve(samples.MP4, None)
    assert fetch_media(f"{host.url}/clip").mime == "video/mp4"


def test_a_lying_content_type_is_not_believed(host):
    host.routes["/page.png"] = serve(samples.HTML, "image/png")
    host.routes["/image.html"] = serve(samples.JPEG, "text/html")
    error = refused(f"{host.url}/page.png")
    assert error.problem is FetchProblem.NOT_MEDIA
    assert "not an image or video" in error.reason
    assert "text/html" in error.reason
    assert fetch_media(f"{host.url}/image.html").mime == "image/jpeg"


def test_the_kinds_asked_for_are_enforced(host):
    host.routes["/clip"] = serve(samples.WEBM, "image/png")
    error = refused(f"{host.url}/clip", kinds={MediaKind.IMAGE})
    assert error.problem is FetchProblem.NOT_MEDIA
    assert error.reason.startswith("not an image: the body is video/webm")


@pytest.mark.parametrize("code", [404, 403, 500])
def test_an_http_error_status_is_the_reason(host, code):
    host.routes["/gone"] = status(code)
    error = refused(f"{host.url}/gone")
    assert error.problem is FetchProblem.HTTP_STATUS
    assert error.reason == f"HTTP {code} from 127.0.0.1"


def test_an_encoded_body_is_refused_not_decoded(host):
    host.routes["/zipped"] = serve(b"\x1f\x8b\x08\x00", "image/png", **{"Content-Encoding": "gzip"})
    assert refused(f"{host.url}/zipped").problem is FetchProblem.BAD_RESPONSE


def test_a_closed_port_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refused(f"http://127.0.0.1:{port}/x").problem is FetchProblem.UNREACHABLE


@pytest.mark.parametrize(
    "url",
    [
        "ftp://media.example/cat.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "/relative/cat.png",
        "http:///no-host",
        "http://user:password@media.example/cat.png",
        "not a url at all",
    ],
)
def test_only_plain_http_and_https_urls_are_fetched(url):
    assert refused(url).problem is FetchProblem.BAD_URL


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.8", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1"]
)
def test_private_addresses_are_refused_before_connecting(address):
    backend = WiredBackend(lambda host, port: [address], allow_private=False)
    error = refused("http://media.test/cat.png", backend=backend)
    assert error.problem is FetchProblem.PRIVATE_ADDRESS
    assert "does not call" in error.reason
    assert backend.connected == []


def test_a_private_literal_url_is_refused_and_never_reached(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    error = refused(f"{host.url}/cat.png", allow_private=False)
    assert error.problem is FetchProblem.PRIVATE_ADDRESS
    assert host.hits == []


def test_allow_private_lets_development_fetch_local_addresses(host):
    host.routes["/cat.png"] = serve(samples.PNG)
    assert fetch_media(f"{host.url}/cat.png", allow_private=True).content == samples.PNG


def test_one_lookup_per_connection_and_the_checked_address_is_connected(host):
    """Two hops over one kept-alive connection: the name is looked up once, and the connection
    goes to that (checked) answer, not to what a second lookup would say."""
    host.routes["/r"] = redirect("/cat.png")
    host.routes["/cat.png"] = serve(samples.PNG)
    dns = Resolutions(["127.0.0.1"], ["127.0.0.2"])  # nothing listens on the second
    backend = WiredBackend(dns, allow_private=True)
    media = fetch_media(f"http://media.test:{host.port}/r", backend=backend)
    assert media.final_url == f"http://media.test:{host.port}/cat.png"
    assert dns.lookups == ["media.test"]
    assert backend.connected == ["127.0.0.1"]
    assert [hit.headers["host"] for hit in host.hits] == [f"media.test:{host.port}"] * 2


def test_a_rebinding_answer_on_the_next_connection_is_checked_and_refused(host):
    """The redirect closes the connection; the next one looks the name up again (once), gets a
    private answer, and is refused: only the checked public answer was ever connected."""
    host.routes["/r"] = redirect("/cat.png", close=True)
    host.routes["/cat.png"] = serve(samples.PNG)
    dns = Resolutions([PUBLIC], ["127.0.0.1"])
    backend = WiredBackend(dns, allow_private=False)
    error = refused(f"http://media.test:{host.port}/r", backend=backend)
    assert error.problem is FetchProblem.PRIVATE_ADDRESS
    assert dns.lookups == ["media.test", "media.test"]
    assert backend.connected == [PUBLIC]
    assert host.hits_of("/cat.png") == 0


# --- redirects ------------------------------------------------------------------------------


def test_up_to_three_redirects_are_followed_relative_or_absolute(host):
    host.routes["/1"] = redirect("/2", 301)
    host.routes["/2"] = redirect(f"{host.url}/3", 307)
    host.routes["/3"] = redirect("cat.png?size=large", 308)
    host.routes["/cat.png"] = serve(samples.GIF, "text/plain")
    media = fetch_media(f"{host.url}/1")
    assert MAX_REDIRECTS == 3
    assert media.url == f"{host.url}/1"
    assert media.final_url == f"{host.url}/cat.png?size=large"
    assert media.mime == "image/gif"


def test_a_fourth_redirect_is_an_error_and_is_not_followed(host):
    for hop in range(1, 5):
        host.routes[f"/{hop}"] = redirect(f"/{hop + 1}")
    host.routes["/5"] = serve(samples.PNG)
    error = refused(f"{host.url}/1")
    assert error.problem is FetchProblem.TOO_MANY_REDIRECTS
    assert "more than 3 redirects" in error.reason
    assert [hit.path for hit in host.hits] == ["/1", "/2", "/3", "/4"]


def test_cookies_a_server_sets_do_not_travel_to_the_next_hop(host):
    host.routes["/r"] = redirect("/cat.png", **{"Set-Cookie": "session=abc; Path=/"})
    host.routes["/cat.png"] = serve(samples.PNG)
    fetch_media(f"{host.url}/r")
    assert [hit.headers.get("cookie") for hit in host.hits] == [None, None]


def test_a_redirect_loop_is_an_error(host):
    host.routes["/a"] = redirect("/b")
    host.routes["/b"] = redirect(f"{host.url}/a#again")
    error = refused(f"{host.url}/a")
    assert error.problem is FetchProblem.REDIRECT_LOOP
    assert [hit.path for hit in host.hits] == ["/a", "/b"]


def test_a_redirect_to_a_private_address_is_refused(host):
    """The first hop is public (checked, then translated to the local server); its redirect
    points at loopback, which is refused without being called."""
    host.routes["/r"] = redirect(f"http://127.0.0.1:{host.port}/secret")
    host.routes["/secret"] = serve(samples.PNG)
    backend = WiredBackend(Resolutions([PUBLIC]), allow_private=False)
    error = refused(f"http://cdn.test:{host.port}/r", backend=backend)
    assert error.problem is FetchProblem.PRIVATE_ADDRESS
    assert "127.0.0.1" in error.reason
    assert backend.connected == [PUBLIC]
    assert host.hits_of("/secret") == 0


def test_a_redirect_to_a_name_of_the_metadata_service_is_refused(host):
    host.routes["/r"] = redirect("http://metadata.test/latest/meta-data/")
    answers = {"cdn.test": [PUBLIC], "metadata.test": ["169.254.169.254"]}
    backend = WiredBackend(lambda name, port: answers[name], allow_private=False)
    error = refused(f"http://cdn.test:{host.port}/r", backend=backend)
    assert error.problem is FetchProblem.PRIVATE_ADDRESS
    assert "169.254.169.254" in error.reason
    assert backend.connected == [PUBLIC]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://cdn.test/x", "gopher://x/"])
def test_a_redirect_to_another_scheme_is_refused(host, location):
    host.routes["/r"] = redirect(location)
    assert refused(f"{host.url}/r").problem is FetchProblem.BAD_URL


def test_a_redirect_without_location_is_an_error(host):
    host.routes["/r"] = status(302)
    assert refused(f"{host.url}/r").problem is FetchProblem.BAD_RESPONSE


# --- size -----------------------------------------------------------------------------------


def test_a_body_of_exactly_the_cap_is_accepted_and_one_byte_more_refused(host):
    host.routes["/fits"] = serve(samples.PNG)
    host.routes["/over"] = serve(samples.PNG + b"\x00")
    cap = len(samples.PNG)
    assert fetch_media(f"{host.url}/fits", max_bytes=cap).size == cap
    error = refused(f"{host.url}/over", max_bytes=cap)
    assert error.problem is FetchProblem.TOO_LARGE
    assert f"the limit is {cap} bytes" in error.reason


def test_a_declared_length_above_the_cap_is_refused_before_any_body(host):
    """The server sends only the headers and then waits: the refusal cannot have read on."""
    host.routes["/huge"] = headers_then_hold(declared=10**9)
    error = refused(f"{host.url}/huge", max_bytes=1000)
    assert error.problem is FetchProblem.TOO_LARGE
    assert "1000000000 bytes" in error.reason


def test_reading_stops_past_the_cap_when_no_length_is_declared(host):
    finished = threading.Event()
    completed: list[bool] = []
    total = 64 * 1024 * 1024  # far more than the sockets' buffers hold
    host.routes["/stream"] = unbounded(samples.PNG * 1000, finished, completed, total)
    error = refused(f"{host.url}/stream", max_bytes=100_000)
    assert error.problem is FetchProblem.TOO_LARGE
    assert finished.wait(10)
    assert completed == [False], "the fetcher read the whole body"


def test_the_default_cap_is_the_setting(host, settings):
    settings.COOP_MEDIA_MAX_BYTES = 10
    host.routes["/cat.png"] = serve(samples.PNG)
    assert refused(f"{host.url}/cat.png").problem is FetchProblem.TOO_LARGE


# --- time -----------------------------------------------------------------------------------


def test_a_body_that_stops_coming_times_out(host):
    host.routes["/stalled"] = headers_then_hold(declared=1000, first=samples.PNG[:16])
    error = refused(f"{host.url}/stalled", timeout=0.3)
    assert error.problem is FetchProblem.TIMED_OUT
    assert "0.3 s" in error.reason


def test_the_whole_fetch_is_bounded_even_when_every_read_is_quick(host):
    """A byte every 20 ms never trips a per-read timeout of 0.3 s; the total limit stops it."""
    host.routes["/drip"] = dribble(samples.PNG * 100, every=0.02)
    error = refused(f"{host.url}/drip", timeout=0.3)
    assert error.problem is FetchProblem.TIMED_OUT
    assert "longer than 0.3 s" in error.reason


@pytest.fixture
def unanswered_port():
    """A port whose listener never accepts and whose queue is full: connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = []
    for _ in range(8):  # fill the accept queue until a connection attempt goes unanswered
        filler = socket.socket()
        filler.settimeout(0.2)
        queued.append(filler)
        try:
            filler.connect(("127.0.0.1", port))
        except TimeoutError:
            break
    else:
        pytest.skip("this system answers every connection; no unanswered port to test with")
    yield port
    for filler in queued:
        filler.close()
    listener.close()


def test_a_connection_that_is_not_answered_times_out(unanswered_port):
    error = refused(f"http://127.0.0.1:{unanswered_port}/x", connect_timeout=0.2)
    assert error.problem is FetchProblem.TIMED_OUT
    assert error.reason == "timed out connecting (limit 0.2 s)"


def test_the_default_time_limit_is_the_setting(host, settings):
    settings.COOP_MEDIA_TIMEOUT = 0.2
    host.routes["/stalled"] = headers_then_hold(declared=1000)
    error = refused(f"{host.url}/stalled")
    assert error.problem is FetchProblem.TIMED_OUT
    assert "0.2 s" in error.reason
