"""Investigation (review.md, Investigation): an item with its fields, history, author, strikes,
rule executions, actions, thread, same-IP items, comments and jobs; child-safety data hidden
by the one visibility rule; partial items for what Coop does not store; "Take action on this
item" logged in Recent Decisions."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from coop.catalog import builtins
from coop.catalog.models import ItemType
from coop.config.services import save_object
from coop.core.enums import DecisionSource, ExecutionSource
from coop.core.items import ItemRef
from coop.enforcement.models import ActionExecution, Delivery, StrikeRecord
from coop.ingest.models import ItemSubmission
from coop.review import investigation
from coop.review.comments import add_comment
from coop.review.models import Decision
from coop.rules.models import RuleExecution
from factories import post, queue, rule_job
from integrations.fakes import FakePartialItems

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(db, monkeypatch):
    """The platform's partial-items endpoint (a local fake checking the signed request); a
    test that asks for it must call it."""
    from coop.accounts.services import active_signing_key
    from coop.integrations import calls

    calls.reset()
    monkeypatch.setenv("SECRET_PLATFORM_TOKEN", "Bearer platform-token")
    fake = FakePartialItems(
        active_signing_key().public_pem, {"Authorization": "Bearer platform-token"}
    )
    with fake:
        yield fake
    fake.check()
    calls.reset()


def url(**query) -> str:
    return f"{reverse('investigation')}?{urlencode(query)}"


def page(client, **query) -> str:
    response = client.get(url(**query), follow=True)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def with_ip(sub: ItemSubmission, ip: str) -> ItemSubmission:
    ItemSubmission.objects.filter(pk=sub.pk).update(ip_address=ip)
    return sub


def test_the_item_page_shows_every_section(client, catalog, people):
    client.force_login(people["mod"])
    old = post("p-1", text="first words", submitted_at=timezone.now() - timedelta(hours=1))
    latest = with_ip(post("p-1", text="edited words", thread="t-1"), "203.0.113.7")
    with_ip(post("p-2", author="u-2", text="same address"), "203.0.113.7")
    post("p-3", text="author's other post")
    post("p-4", author="u-3", thread="t-1", text="a reply in the thread")
    ItemSubmission.objects.create(
        item_id="u-1", item_type_id="user", item_type_version=1, data={"name": "Ada"}, source="API"
    )
    RuleExecution.objects.create(
        rule_id="r-spam",
        rule_version=2,
        environment="LIVE",
        submission_id=latest.pk,
        item_id="p-1",
        item_type_id="post",
        outcome="PASSED",
        result={
            "op": "all",
            "outcome": "PASSED",
            "children": [
                {
                    "input": {"field": "text"},
                    "signal": "TEXT_MATCHING_CONTAINS_TEXT",
                    "outcome": "PASSED",
                    "matchedValue": {"value": "edited", "index": 0},
                }
            ],
        },
        duration_us=10,
        created_at=timezone.now(),
    )
    job = rule_job(latest, queue("q", reviewers=[people["mod"]]))
    add_comment(job, people["mod"], "looked at this already")
    ActionExecution.objects.create(
        action_id="ban",
        item_id="u-1",
        item_type_id="user",
        source=ExecutionSource.RULE,
        rules=[{"id": "r-spam", "version": 2, "name": "Spam rule"}],
    )
    StrikeRecord.objects.create(
        user_id="u-1",
        user_type_id="user",
        weight=2,
        policy_id="spam",
        expires_at=timezone.now() + timedelta(days=30),
    )
    StrikeRecord.objects.create(
        user_id="u-1",
        user_type_id="user",
        weight=5,
        policy_id="ads",
        created_at=timezone.now() - timedelta(days=100),
        expires_at=timezone.now() - timedelta(days=10),
    )

    html = page(client, id="p-1")  # no type: the one type storing it
    assert "edited words" in html
    assert "Submission history" in html
    assert "first words" in html
    assert "Rule executions" in html
    assert "TEXT_MATCHING_CONTAINS_TEXT" in html
    assert "matched “edited”" in html
    assert 'Current strikes: <strong class="val-num">2</strong>' in html  # the expired 5 not
    assert "expired" in html
    assert "Ada" in html  # the author's own data
    assert "author&#x27;s other post" in html
    assert "a reply in the thread" in html
    assert "same address" in html
    assert "203.0.113.7" in html
    assert "looked at this already" in html
    assert reverse("job", args=[job.pk]) in html
    assert "Ban" in html
    assert "Spam rule" in html
    assert old.pk  # (the history holds both)


def test_an_id_without_type_stored_under_two_types_offers_both(client, catalog, people):
    client.force_login(people["mod"])
    post("x-1")
    ItemSubmission.objects.create(
        item_id="x-1", item_type_id="user", item_type_version=1, data={}, source="API"
    )
    html = page(client, id="x-1")
    assert url(id="x-1", type="post").replace("&", "&amp;") in html
    assert url(id="x-1", type="user").replace("&", "&amp;") in html


def test_by_ip_lists_the_latest_of_each_item(client, catalog, people):
    client.force_login(people["mod"])
    with_ip(post("p-1", text="one"), "2001:db8::1")
    with_ip(post("p-1", text="one again"), "2001:db8::1")
    with_ip(post("p-2", text="two"), "2001:db8::1")
    post("p-3", text="elsewhere")
    html = page(client, ip="2001:db8::1")
    assert "one again" in html
    assert "two" in html
    assert "elsewhere" not in html
    assert html.count("post/p-1") == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"ip": "not-an-ip"}, "is not an IPv4 or IPv6 address"),
        ({"id": "x" * 300}, "at most 255 characters"),
    ],
)
def test_bad_lookups_are_a_clear_400(client, catalog, people, query, message):
    client.force_login(people["mod"])
    response = client.get(url(**query))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_hidden_fields_and_child_safety_data_stay_hidden(client, catalog, people):
    ItemType.objects.filter(pk="post").update(
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "secret", "type": "STRING"},
            {"name": "author", "type": "RELATED_ITEM"},
        ],
        hidden_fields=["secret"],
    )
    sub = post("p-1")
    ItemSubmission.objects.filter(pk=sub.pk).update(
        data={"text": "visible", "secret": "TOP-SECRET", "author": {"id": "u-1", "typeId": "user"}}
    )
    ncmec_queue = queue("ncmec-q")
    assert save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "ncmec-q"}).ok
    cs_job = rule_job(sub, ncmec_queue)
    add_comment(cs_job, people["cs"], "child safety note")
    ActionExecution.objects.create(
        action_id=builtins.NCMEC, item_id="p-1", item_type_id="post", source=ExecutionSource.API
    )
    client.force_login(people["mod"])
    html = page(client, id="p-1", type="post")
    assert "visible" in html
    assert "TOP-SECRET" not in html
    assert "child safety note" not in html
    assert reverse("job", args=[cs_job.pk]) not in html
    assert "Enqueue to NCMEC" not in html  # neither the execution nor the offered action
    client.force_login(people["cs"])
    html = page(client, id="p-1", type="post")
    assert "child safety note" in html
    assert reverse("job", args=[cs_job.pk]) in html
    assert "TOP-SECRET" not in html  # hidden fields are hidden from everyone


def test_an_item_not_stored_is_fetched_through_partial_items(client, catalog, people, platform):
    assert save_object(
        "settings",
        {
            "partialItems": {
                "endpoint": f"{platform.url}/items",
                "headers": {"Authorization": {"secret": "SECRET_PLATFORM_TOKEN"}},
            }
        },
    ).ok
    platform.items = {("post", "p-9"): {"text": "from the platform"}}
    client.force_login(people["mod"])
    html = page(client, id="p-9", type="post")
    assert "Fetched from the platform" in html
    assert "from the platform" in html
    assert platform.asked() == [[{"id": "p-9", "typeId": "post"}]]
    html = page(client, id="p-10", type="post")
    assert "the platform could not give it: the platform did not return this item" in html


def test_without_partial_items_a_missing_item_says_so(client, catalog, people):
    client.force_login(people["mod"])
    html = page(client, id="ghost", type="post")
    assert "Coop stores no data for this item" in html
    html = page(client, id="ghost")
    assert "Coop stores no item with the id “ghost”" in html


# --- Take action on this item ------------------------------------------------------------------


def act(client, **fields):
    data = {"id": "p-1", "type": "post", "reason": "spam wave", "note": "n", **fields}
    return client.post(reverse("investigation-action"), data)


def test_take_action_executes_and_is_logged_in_recent_decisions(client, catalog, people):
    post("p-1")
    client.force_login(people["mod"])
    response = act(client, action="delete", **{"policies-delete": "spam"})
    assert response.status_code == 302
    assert response["Location"] == url(id="p-1", type="post")
    execution = ActionExecution.objects.get()
    assert (execution.source, execution.actor, execution.policy_ids) == (
        ExecutionSource.MANUAL,
        people["mod"],
        ["spam"],
    )
    assert execution.decision_reason == "spam wave"
    assert Delivery.objects.filter(execution=execution).exists()
    decision = Decision.objects.get()
    assert decision.source == DecisionSource.INVESTIGATION
    assert (decision.item_id, decision.reviewer, decision.reason) == (
        "p-1",
        people["mod"],
        "spam wave",
    )
    assert decision.action_ids == ["delete"]
    assert StrikeRecord.objects.get().user_id == "u-1"  # strikes apply as for any source
    html = client.get(reverse("decisions")).content.decode()
    assert "Investigation" in html
    assert "post/p-1" in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose at least one action"),
        ({"action": "ban"}, "not offered here"),  # a user action, on a post
        ({"action": builtins.NCMEC}, "not offered here"),  # not a child-safety user
        ({"action": "delete", "policies-delete": "nope"}, "Unknown policy"),
    ],
)
def test_refused_actions_write_nothing_and_say_why(client, catalog, people, fields, message):
    post("p-1")
    client.force_login(people["mod"])
    response = act(client, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ActionExecution.objects.count() == 0
    assert Decision.objects.count() == 0


def test_roles_without_manually_action_content_cannot_act(client, catalog, people):
    """accounts.md: Analysts investigate but do not action content."""
    post("p-1")
    client.force_login(people["analyst"])
    assert "Take action on this item" not in page(client, id="p-1", type="post")
    assert act(client, action="delete").status_code == 403
    assert ActionExecution.objects.count() == 0


def test_the_job_page_links_to_investigation(client, catalog, people):
    job = rule_job(post("p-1"), queue("q", reviewers=[people["mod"]]))
    client.force_login(people["mod"])
    html = client.get(reverse("job", args=[job.pk])).content.decode()
    assert url(id="p-1", type="post").replace("&", "&amp;") in html


def test_sections_are_bounded(catalog, people):
    for i in range(investigation.AUTHOR_ITEMS_PAGE + 5):
        post(f"p-{i}")
    found = investigation.investigate(people["mod"], ItemRef("p-0", "post"))
    assert len(found.author.items.object_list) == investigation.AUTHOR_ITEMS_PAGE
    assert found.author.items.paginator.count == investigation.AUTHOR_ITEMS_PAGE + 4  # not p-0
