import re

import pytest

from coop.accounts.services import create_api_key
from coop.ingest.models import ItemSubmission
from coop.review.models import Job, Queue
from coop.web.navigation import NAVIGATION, navigation_for


def nav_labels(html: str) -> list[str]:
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    return re.findall(r">([^<>]+)</a>", nav)


def test_layout_has_skip_link_user_role_and_csrf_logout(client, make_user):
    client.force_login(make_user("Analyst", email="ana@example.com"))
    html = client.get("/").content.decode()
    assert '<a class="skip-link" href="#content">' in html
    assert 'id="content"' in html
    assert "ana@example.com" in html
    assert "Analyst" in html
    logout = html.split('action="/logout"')[1].split("</form>")[0]
    assert "csrfmiddlewaretoken" in logout


def test_no_inline_script_or_style(admin_client):
    for path in ["/", "/settings/", "/settings/api-keys", "/login"]:
        response = admin_client.get(path, follow=True)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert re.search(r"\son[a-z]+=", html) is None, path


def test_navigation_is_gated_by_permission(client, make_user):
    client.force_login(make_user("Admin"))
    assert nav_labels(client.get("/").content.decode()) == [
        "Overview",
        "Review analytics",
        "Rule insights",
        "Review Console",
        "Recent Decisions",
        "Investigation",
        "Bulk Actions",
        "Strikes",
        "Rules",
        "Banks",
        "Policies",
        "Routing",
        "NCMEC",
        "Deliveries",
        "Settings",
        "Account",
    ]
    client.force_login(make_user("External Moderator"))
    assert nav_labels(client.get("/", follow=True).content.decode()) == [
        "Overview",
        "Review Console",
        "Account",
    ]


def test_navigation_links_only_pages_that_exist(make_user):
    labels = [item.label for item in NAVIGATION]
    assert labels == [
        "Overview", "Review analytics", "Rule insights", "Review Console", "Recent Decisions",
        "Investigation", "Bulk Actions", "Strikes", "Rules", "Banks", "Policies", "Routing",
        "NCMEC", "Deliveries", "Settings", "Account",
    ]  # fmt: skip
    links = navigation_for(make_user("Admin"), "/settings/api-keys")
    assert [(link.label, link.url, link.active) for link in links] == [
        ("Overview", "/", False),
        ("Review analytics", "/insights/review", False),
        ("Rule insights", "/insights/rules", False),
        ("Review Console", "/queues", False),
        ("Recent Decisions", "/decisions", False),
        ("Investigation", "/investigation", False),
        ("Bulk Actions", "/bulk-actions", False),
        ("Strikes", "/strikes", False),
        ("Rules", "/rules", False),
        ("Banks", "/banks", False),
        ("Policies", "/policies", False),
        ("Routing", "/routing", False),
        ("NCMEC", "/ncmec", False),
        ("Deliveries", "/deliveries", False),
        ("Settings", "/settings/", True),
        ("Account", "/account", False),
    ]


def test_overview_counts(client, make_user):
    moderator = make_user("Moderator")
    default = Queue.objects.get(is_default=True, is_appeals=False)
    default.reviewers.add(moderator)
    Job.objects.create(queue=default, item_id="a", item_type_id="post", source="REPORT")
    Job.objects.create(queue=default, item_id="b", item_type_id="post", source="REPORT")
    Job.objects.create(
        queue=default, item_id="c", item_type_id="post", source="REPORT", status="DECIDED"
    )
    ItemSubmission.objects.create(
        item_id="a", item_type_id="post", item_type_version=1, data={}, source="API"
    )
    create_api_key("k")

    client.force_login(make_user("Admin"))
    admin = client.get("/")
    assert admin.context["overview"].items_today == 1
    assert (default.name, 2) in [(q.name, q.pending) for q in admin.context["overview"].queues]
    assert admin.context["overview"].active_api_keys == 1

    client.force_login(moderator)
    mod = client.get("/").context["overview"]
    assert [(q.name, q.pending) for q in mod.queues] == [(default.name, 2)]
    assert mod.active_api_keys is None

    client.force_login(make_user("Analyst"))
    analyst = client.get("/").context["overview"]
    assert analyst.queues is None
    assert analyst.items_today == 1


def test_the_root_is_the_queues_page_for_users_without_review_data(client, make_user):
    """review.md: `/` is the overview, or the queues page for users without VIEW_MRT_DATA."""
    client.force_login(make_user("External Moderator"))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/queues"
    for role in ["Admin", "Moderator", "Analyst"]:
        client.force_login(make_user(role))
        assert client.get("/").status_code == 200, role


def test_settings_index_lists_what_the_role_may_open(client, make_user):
    client.force_login(make_user("Admin"))
    assert 'href="/settings/api-keys"' in client.get("/settings/").content.decode()
    client.force_login(make_user("Moderator"))
    html = client.get("/settings/").content.decode()
    assert "/settings/api-keys" not in html
    assert "no settings" in html


def test_friendly_404(admin_client):
    response = admin_client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_friendly_500():
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")


def test_403_page_for_missing_permission(client, make_user):
    client.force_login(make_user("Moderator"))
    response = client.get("/settings/api-keys")
    assert response.status_code == 403
    assert "access to this page" in response.content.decode()


def test_overview_lists_pending_ncmec_jobs_to_child_safety_staff(client, make_user):
    from coop.childsafety.models import NcmecCase
    from coop.review.models import Job, JobKind
    from coop.review.services import default_queue

    job = Job.objects.create(
        queue=default_queue(), kind=JobKind.NCMEC, item_id="u-7", item_type_id="user",
        source="RULE",
    )  # fmt: skip
    NcmecCase.objects.create(
        job=job, entries=[{"id": "p-1", "typeId": "post", "source": "RULE", "at": "x"}],
        entry_count=1,
    )  # fmt: skip
    client.force_login(make_user("Child Safety Moderator"))
    page = client.get("/").content.decode()
    assert "Waiting for NCMEC review" in page
    assert "user/u-7" in page
    assert "post/p-1" in page
    assert "No NCMEC queue is set" in page
    client.force_login(make_user("Moderator"))
    assert "user/u-7" not in client.get("/").content.decode()
