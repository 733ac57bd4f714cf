"""`{% wellness_media %}`: the one way console pages render item images and videos."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from coop.accounts.models import ColorScheme
from coop.accounts.services import create_user, set_wellness_preferences
from coop.accounts.wellness import Wellness
from coop.config.services import save_object

TAG = Template("{% load wellness %}{% wellness_media url kind alt=alt wellness=wellness %}")
IMAGE = "https://cdn.example.com/a.png"
BLURRED = Wellness(3, ColorScheme.GRAYSCALE, mute_video=True)
CLEAR = Wellness(0, ColorScheme.NONE, mute_video=False)


def render(url, kind="image", alt="", wellness=None, user=None) -> str:
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    context = {"url": url, "kind": kind, "alt": alt, "wellness": wellness, "request": request}
    return TAG.render(Context(context))


def test_an_image_gets_the_wellness_classes_and_safe_attributes():
    html = render(IMAGE, alt="A cat", wellness=BLURRED)
    assert 'class="wellness wellness--image wellness-blur-3 wellness-scheme-grayscale"' in html
    assert f'<img class="wellness__media" src="{IMAGE}" alt="A cat"' in html
    assert 'loading="lazy"' in html
    assert 'referrerpolicy="no-referrer"' in html
    assert 'tabindex="0"' in html  # keyboard users reveal it by focusing it
    assert "Hover or focus to reveal" in html
    assert f'<a href="{IMAGE}" target="_blank" rel="noopener noreferrer">Open original</a>' in html


@pytest.mark.parametrize(
    "url", ["http://media:8080/x.png", "HTTPS://CDN.example.com/a.png?x=1#y", f"  {IMAGE}\n"]
)
def test_any_absolute_http_url_is_accepted(url):
    assert f'src="{url.strip()}"' in render(url, wellness=BLURRED)


def test_an_unblurred_image_is_not_a_tab_stop():
    html = render(IMAGE, wellness=CLEAR)
    assert "wellness-blur-0 wellness-scheme-none" in html
    assert "tabindex" not in html


def test_a_video_is_muted_when_the_settings_say_so():
    html = render("https://cdn.example.com/v.mp4", kind="VIDEO", wellness=BLURRED)
    assert "wellness--video wellness-blur-3" in html
    assert "<video " in html
    assert " muted>" in html
    assert " controls " in html
    assert "Play to reveal" in html
    assert " muted" not in render("https://cdn.example.com/v.mp4", kind="video", wellness=CLEAR)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(document.cookie)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "vbscript:msgbox(1)",
        "//evil.example/x.png",
        "/relative.png",
        "https://",
        "https://cdn.example.com/a b.png",
        "https://cdn.example.com/a\x00.png",
        "",
        None,
        {"url": IMAGE},
    ],
)
def test_anything_but_an_http_url_is_refused(url):
    html = render(url, wellness=BLURRED)
    assert "<img" not in html
    assert "href=" not in html
    assert "not an http(s) URL" in html
    assert "<svg" not in html
    assert "alert(1)>" not in html


def test_hostile_urls_and_alt_text_are_escaped():
    url = "https://evil.example/x.png?a=\"><script>alert(1)</script>&b='1"
    html = render(url, alt='"><img src=x onerror=alert(1)>', wellness=BLURRED)
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert 'src="https://evil.example/x.png?a=&quot;&gt;&lt;script&gt;alert(1)' in html
    assert "&amp;b=&#x27;1" in html
    assert 'alt="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html


def test_refused_urls_are_shown_escaped_as_text():
    html = render('javascript:"<b>x</b>"', wellness=BLURRED)
    assert "<code>javascript:&quot;&lt;b&gt;x&lt;/b&gt;&quot;</code>" in html


def test_an_unknown_kind_is_a_template_error():
    with pytest.raises(TemplateSyntaxError, match="kind must be one of"):
        render(IMAGE, kind="audio", wellness=BLURRED)


@pytest.mark.django_db
def test_without_an_explicit_wellness_the_viewer_settings_apply():
    assert save_object(
        "settings", {"wellness": {"blurLevel": 5, "colorScheme": "SEPIA", "muteVideo": True}}
    ).ok
    assert "wellness-blur-5 wellness-scheme-sepia" in render(IMAGE)
    user = create_user("viewer@example.com", "Moderator")[0]
    set_wellness_preferences(user, blur_level=1, color_scheme=None, mute_video=False)
    assert "wellness-blur-1 wellness-scheme-sepia" in render(IMAGE, user=user)
    assert " muted" not in render("https://cdn.example.com/v.mp4", kind="video", user=user)
