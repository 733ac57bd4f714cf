from __future__ import annotations

import pytest

from coop.core.media import is_http_url, media_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://x.org/a/photo.JPEG#top", "IMAGE"),
        ("https://x.org/v.mov?x=1.png", "VIDEO"),
        ("https://x.org/clip.avi", "VIDEO"),
        ("https://x.org/song.mp3", None),
        ("https://x.org/noext", None),
        (None, None),
    ],
)
def test_media_kind_from_the_path_extension(url, kind):
    assert media_kind(url) == kind


def test_the_console_shows_a_media_value_as_rules_see_it():
    from coop.review.views.present import value

    assert value("MEDIA", "https://x.org/clip.avi").kind == "video"
    assert value("MEDIA", "https://x.org/photo.png").kind == "image"
    assert value("MEDIA", "https://x.org/unknown").kind == "image"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.example.com/a.png?x=1#y", True),
        ("HTTP://media:8080/x", True),
        ("ftp://x.example/", False),
        ("https://", False),
        ("//evil.example/x.png", False),
        ("https://cdn.example.com/a b.png", False),
        (42, False),
    ],
)
def test_one_http_url_rule(url, ok):
    assert is_http_url(url) is ok
