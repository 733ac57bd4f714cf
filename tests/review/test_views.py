"""The Review Console pages with Django's test client: queues, Start Reviewing, the job view and
its forms (decide, skip, comment, invalidate), queue management, Recent Decisions and its CSV
exports. Permissions are checked per page; item data is hostile and must come out escaped."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from coop.catalog.models import ItemType
from coop.config.services import save_object
from coop.ingest.models import ItemSubmission
from coop.review import claims, queues, skips
from coop.review.comments import add_comment
from coop.review.decisions import DecisionInput, decide
from coop.review.models import Appeal, Comment, Decision, Job, JobSource, JobStatus, Queue, Skip
from coop.review.services import default_appeals_queue, enqueue_for_review
from factories import post, queue, report, rule_job, set_review

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def q(catalog, people):
    return queue("q", [people["mod"], people["mod2"]], name="Spam queue")


@pytest.fixture
def job(q):
    return report(post("p-1", author="u-1"), q, reporter="r-1", reason="spammy", policy="spam")


def login(client, user):
    client.force_login(user)
    return client


def claim(client, q) -> Job:
    response = client.post(f"/queues/{q.pk}/review")
    assert response.status_code == 302
    job_id = response["Location"].rsplit("/", 1)[1]
    return Job.objects.get(pk=job_id)


# --- Queues page -------------------------------------------------------------------------


def test_queues_page_lists_workable_queues_with_counts(client, q, job, people):
    queue("other", [], name="Other queue")
    page = login(client, people["mod"]).get("/queues").content.decode()
    assert "Spam queue" in page
    assert "Other queue" not in page
    assert 'action="/queues/q/review"' in page  # Start Reviewing is a POST form
    assert "Start Reviewing" in page
    assert "New queue" not in page
    assert re.search(r'<td class="num">1</td>', page)


def test_managers_see_every_queue_and_management_links(client, q, people):
    queue("other", [], name="Other queue")
    page = login(client, people["manager"]).get("/queues").content.decode()
    assert "Other queue" in page
    for link in ('href="/queues/new"', 'href="/queues/q/edit"', 'href="/queues/q/preview"'):
        assert link in page
    assert 'href="/queues/q/delete"' in page


def test_star_toggle_with_htmx(client, q, people):
    login(client, people["mod"])
    response = client.post("/queues/q/star", {"starred": "1"}, **HX)
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert queues.queues_for(people["mod"])[0].starred
    response = client.post("/queues/q/star", {"starred": "0"})
    assert response.status_code == 302
    assert not queues.queues_for(people["mod"])[0].starred


def test_star_refused_on_a_queue_one_cannot_work(client, people, catalog):
    queue("other", [])
    assert (
        login(client, people["mod"]).post("/queues/other/star", {"starred": "1"}).status_code == 403
    )


# --- Start Reviewing ---------------------------------------------------------------------


def test_start_reviewing_claims_and_redirects_to_the_job(client, job, q, people):
    login(client, people["mod"])
    assert claim(client, q) == job
    assert Job.objects.get(pk=job.pk).lease_owner == people["mod"]
    # Reloading keeps the job.
    assert claim(client, q) == job


def test_a_get_of_start_reviewing_claims_nothing(client, job, q, people):
    login(client, people["mod"])
    response = client.get("/queues/q/review")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<form method="post" action="/queues/q/review"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "1 job waiting" in page
    assert Job.objects.get(pk=job.pk).lease_owner is None  # nothing claimed
    client.head("/queues/q/review")
    assert Job.objects.get(pk=job.pk).lease_owner is None


def test_a_get_of_start_reviewing_shows_the_job_already_held(client, job, q, people):
    login(client, people["mod"])
    assert claim(client, q) == job
    lease = Job.objects.get(pk=job.pk).lease_expires_at
    response = client.get("/queues/q/review")
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}"
    assert Job.objects.get(pk=job.pk).lease_expires_at == lease  # not renewed by a GET


def test_start_reviewing_needs_the_csrf_token(job, q, people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, people["mod"])
    assert client.post("/queues/q/review").status_code == 403
    assert Job.objects.get(pk=job.pk).lease_owner is None
    page = client.get("/queues/q/review").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/queues/q/review", {"csrfmiddlewaretoken": token})
    assert response["Location"] == f"/jobs/{job.pk}"
    assert Job.objects.get(pk=job.pk).lease_owner == people["mod"]


def test_start_reviewing_refused_to_non_reviewers(client, job, people):
    queue("other", [])
    login(client, people["external"])
    assert client.get("/queues/q/review").status_code == 403
    assert client.post("/queues/q/review").status_code == 403
    assert client.get(f"/jobs/{job.pk}").status_code == 403
    assert client.get("/queues/missing/review").status_code == 404


def test_empty_queue_is_calm(client, q, people):
    response = login(client, people["mod"]).get("/queues/q/review")
    assert response.status_code == 200
    assert "No jobs waiting" in response.content.decode()
    assert 'href="/queues"' in response.content.decode()


# --- The job view ------------------------------------------------------------------------


def test_job_page_shows_item_reports_author_policies(client, job, q, people):
    login(client, people["mod"])
    claim(client, q)
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "hello" in page
    assert "spammy" in page
    assert "user/r-1" in page
    assert "user/u-1" in page  # the author
    assert "No spam." in page
    assert "<details" in page
    assert f'action="/jobs/{job.pk}/decide"' in page
    assert 'data-shortcut="1"' in page
    assert 'data-shortcut="s"' in page
    assert 'id="shortcuts"' in page


def test_job_page_without_the_lease_has_no_decision_panel(client, job, q, people):
    login(client, people["mod"])
    claim(client, q)
    page = login(client, people["mod2"]).get(f"/jobs/{job.pk}").content.decode()
    assert "Being reviewed by" in page
    assert "mod@example.com" in page
    assert "/decide" not in page


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def hostile_job(catalog, people, q):
    ItemType.objects.create(
        id="evil",
        name="Evil",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING"},
            {"name": "link", "type": "URL"},
            {"name": "badlink", "type": "URL"},
            {"name": "pic", "type": "IMAGE"},
            {"name": "badpic", "type": "IMAGE"},
            {"name": "clip", "type": "VIDEO"},
            {"name": "media", "type": "MEDIA"},
            {"name": "rel", "type": "RELATED_ITEM"},
            {"name": "n", "type": "NUMBER"},
            {"name": "flag", "type": "BOOLEAN"},
            {"name": "when", "type": "DATETIME"},
            {"name": "tags", "type": "ARRAY", "items": "STRING"},
            {"name": "links", "type": "ARRAY", "items": "URL"},
            {"name": "attrs", "type": "MAP", "values": "STRING"},
            {"name": "email", "type": "EMAIL_ADDRESS"},
            {"name": "ident", "type": "ID"},
        ],
        roles={"creatorId": "rel"},
    )
    data = {
        "text": HOSTILE,
        "link": 'https://example.com/?q="><script>alert(3)</script>',
        "badlink": "javascript:alert(4)",
        "pic": 'https://img.example/a.png" onerror="alert(5)',
        "badpic": "javascript:alert(6)",
        "clip": "https://img.example/v.mp4?<script>",
        "media": "data:text/html,<script>alert(7)</script>",
        "rel": {"id": HOSTILE, "typeId": "user"},
        "n": 1234567,
        "flag": True,
        "when": "2024-05-01T10:00:00+00:00",
        "tags": [HOSTILE, "ok"],
        "links": ["javascript:alert(8)", "https://fine.example/x"],
        "attrs": {HOSTILE: HOSTILE},
        "email": HOSTILE,
        "ident": HOSTILE,
        HOSTILE: HOSTILE,  # a field the schema does not name
    }
    sub = ItemSubmission.objects.create(
        item_id=HOSTILE,
        item_type_id="evil",
        item_type_version=1,
        data=data,
        source="API",
        creator_id=HOSTILE,
        creator_type_id="user",
    )
    job = enqueue_for_review(sub, q, JobSource.RULE, ["spam"])
    add_comment(job, people["mod2"], HOSTILE)
    return job


def test_hostile_item_data_is_escaped_and_never_linked(client, hostile_job, q, people):
    login(client, people["mod"])
    claim(client, q)
    response = client.get(f"/jobs/{hostile_job.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert 'onerror="alert(5)' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # No javascript:/data: URL anywhere in an href or src.
    assert not re.search(r'(href|src)="\s*(javascript|data):', page, re.IGNORECASE)
    # Safe http(s) URLs are links that open without an opener.
    links = re.findall(r"<a [^>]*https://fine\.example/x[^>]*>", page)
    assert links
    assert all('rel="noopener noreferrer"' in a and 'target="_blank"' in a for a in links)
    # Every image and video goes through the wellness tag.
    assert page.count("<img") == page.count('<img class="wellness__media"')
    assert page.count("<video") == page.count('<video class="wellness__media"')
    # A "URL" with a quote and spaces is no URL: shown as text, escaped.
    assert "https://img.example/a.png&quot; onerror=&quot;alert(5)" in page
    assert '<video class="wellness__media" src="https://img.example/v.mp4?&lt;script&gt;"' in page
    assert "1,234,567" in page
    assert "Yes" in page
    assert "2024-05-01 10:00:00" in page


def test_decided_jobs_show_the_decision_read_only(client, job, q, people):
    login(client, people["mod"])
    claim(client, q)
    decide(job.pk, people["mod"], DecisionInput(ignore=True, reason="fine <b>really</b>"))
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "Decided" in page
    assert "Ignore" in page
    assert "fine &lt;b&gt;really&lt;/b&gt;" in page
    assert "/decide" not in page
    # Readers of Recent Decisions may open it too, though not reviewers of the queue.
    other = people["cs"]
    assert login(client, other).get(f"/jobs/{job.pk}").status_code == 200


# --- Deciding ----------------------------------------------------------------------------


def test_decide_with_an_action_and_go_to_the_next_job(client, q, people):
    first = report(post("p-1"), q)
    second = report(post("p-2"), q)
    login(client, people["mod"])
    assert claim(client, q) == first
    response = client.post(
        f"/jobs/{first.pk}/decide",
        {
            "queue": "q",
            "action": ["delete", "label"],
            "policies-delete": ["spam"],
            "reason": "obvious spam",
            "note": "n",
        },
    )
    assert response.status_code == 302
    # The next job loads at once: the decision's POST claimed it.
    assert response["Location"] == f"/jobs/{second.pk}"
    assert Job.objects.get(pk=second.pk).lease_owner == people["mod"]
    decision = Decision.objects.get(job=first)
    assert set(decision.action_ids) == {"delete", "label"}
    assert decision.policy_ids == ["spam"]
    assert (decision.reason, decision.note) == ("obvious spam", "n")
    assert claim(client, q) == second


def test_related_action_on_the_author_and_parameters(client, q, people, job):
    from coop.catalog.models import Action

    Action.objects.filter(pk="ban").update(
        parameters=[{"name": "days", "type": "NUMBER", "required": True}]
    )
    login(client, people["mod"])
    claim(client, q)
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert 'name="related-action" value="ban"' in page
    assert 'name="related-param-ban-days"' in page
    response = client.post(
        f"/jobs/{job.pk}/decide",
        {"ignore": "on", "related-action": "ban", "related-param-ban-days": "x"},
    )
    assert response.status_code == 422
    assert "must be a number" in response.content.decode()
    response = client.post(
        f"/jobs/{job.pk}/decide",
        {"ignore": "on", "related-action": "ban", "related-param-ban-days": "3"},
    )
    assert response.status_code == 302
    component = next(c for c in Decision.objects.get().components if c.get("related"))
    assert component["itemRef"] == {"id": "u-1", "typeId": "user"}
    assert component["parameters"] == {"days": 3}


def test_refusal_is_shown_at_the_field_and_the_form_kept(client, q, job, people):
    set_review(requireReasonOnIgnore=True)
    login(client, people["mod"])
    claim(client, q)
    response = client.post(f"/jobs/{job.pk}/decide", {"ignore": "on", "note": "kept <note>"})
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'id="error-reason" class="field-error" role="alert">A decision reason', page)
    assert re.search(r'<textarea id="reason"[^>]*aria-invalid="true"[^>]*data-focus', page)
    assert re.search(r'name="ignore"[^>]* checked>', page)
    assert 'value="kept &lt;note&gt;"' in page
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING


def test_refusal_without_a_field_is_shown_at_the_top(client, q, job, people):
    login(client, people["mod"])
    claim(client, q)
    response = client.post(f"/jobs/{job.pk}/decide", {})
    assert response.status_code == 422
    assert 'role="alert" tabindex="-1" data-focus>Choose a decision' in response.content.decode()


def test_hidden_actions_are_not_offered_and_refused(client, q, job, people):
    q.hidden_actions = ["delete"]
    q.save()
    login(client, people["mod"])
    claim(client, q)
    assert 'value="delete"' not in client.get(f"/jobs/{job.pk}").content.decode()
    response = client.post(f"/jobs/{job.pk}/decide", {"action": "delete"})
    assert response.status_code == 422
    assert "not offered here" in response.content.decode()


def test_deciding_twice_says_already_decided(client, q, job, people):
    login(client, people["mod"])
    claim(client, q)
    assert client.post(f"/jobs/{job.pk}/decide", {"ignore": "on"}).status_code == 302
    response = client.post(f"/jobs/{job.pk}/decide", {"ignore": "on", "queue": "q"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "This job was already decided" in page
    assert 'action="/queues/q/review"' in page
    assert Decision.objects.count() == 1


def test_decide_refused_to_non_reviewers(client, job, people):
    response = login(client, people["external"]).post(f"/jobs/{job.pk}/decide", {"ignore": "on"})
    assert response.status_code == 403


def test_move_and_next_job_stays_in_the_queue(client, q, job, people):
    queue("q2", [], name="Second")
    login(client, people["mod"])
    claim(client, q)
    response = client.post(f"/jobs/{job.pk}/decide", {"queue": "q", "move_to_queue": "q2"})
    assert response["Location"] == "/queues/q/review"
    assert Job.objects.get(pk=job.pk).queue_id == "q2"


def test_appeal_jobs_offer_overturn_and_uphold(client, catalog, people):
    item = post("p-9", author="u-7")
    job = enqueue_for_review(item, default_appeals_queue(), JobSource.APPEAL, ["spam"])
    Appeal.objects.create(
        appeal_id="a-1",
        job=job,
        appealed_by_type_id="user",
        appealed_by_id="u-7",
        appealed_at=timezone.now(),
        item_id="p-9",
        item_type_id="post",
        submission=item,
        actions_taken=["delete"],
        reason="it was a <joke>",
        violating_policies=["spam"],
    )
    login(client, people["manager"])
    assert claim(client, default_appeals_queue()) == job
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert "Overturn" in page
    assert "Uphold" in page
    assert "it was a &lt;joke&gt;" in page
    assert 'name="action"' not in page
    response = client.post(f"/jobs/{job.pk}/decide", {"appeal": "ACCEPT"})
    assert response.status_code == 302
    assert Decision.objects.get(job=job).types == ["APPEAL_ACCEPT"]


# --- Skip, comments, invalidation --------------------------------------------------------


def test_skip_releases_and_moves_on(client, q, people):
    first = report(post("p-1"), q)
    second = report(post("p-2"), q)
    login(client, people["mod"])
    assert claim(client, q) == first
    response = client.post(f"/jobs/{first.pk}/skip", {"queue": "q"})
    assert response["Location"] == f"/jobs/{second.pk}"  # the skip's POST claimed the next
    assert Skip.objects.get().job == first
    assert claim(client, q) == second


def test_skip_hidden_for_non_admins_when_set(client, q, job, people):
    set_review(hideSkipForNonAdmins=True)
    login(client, people["mod"])
    claim(client, q)
    assert 'form="skip-form"' not in client.get(f"/jobs/{job.pk}").content.decode()
    assert client.post(f"/jobs/{job.pk}/skip").status_code == 403
    assert not Skip.objects.exists()


def test_comments_with_htmx(client, q, job, people):
    login(client, people["mod"])
    response = client.post(f"/jobs/{job.pk}/comments", {"text": "<b>look</b>"}, **HX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="comments"')
    assert "&lt;b&gt;look&lt;/b&gt;" in page
    assert Comment.objects.get().author == people["mod"]
    response = client.post(f"/jobs/{job.pk}/comments", {"text": "  "}, **HX)
    assert 'role="alert">A comment cannot be empty.' in response.content.decode()
    response = client.post(f"/jobs/{job.pk}/comments", {"text": "plain"})
    assert response.status_code == 302
    assert Comment.objects.count() == 2


def test_invalidate_a_reporter_from_the_report_history(client, q, people):
    item = post("p-1")
    report(item, q, reporter="troll")
    job = report(item, q, reporter="honest")
    other = report(post("p-2"), q, reporter="troll")
    login(client, people["manager"])
    page = client.get(f"/jobs/{job.pk}").content.decode()
    assert f'action="/jobs/{job.pk}/invalidate"' in page
    response = client.post(
        f"/jobs/{job.pk}/invalidate",
        {"reporter_id": "troll", "reporter_type_id": "user", "scope": "all"},
    )
    assert response.status_code == 302
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING
    assert Job.objects.get(pk=other.pk).status == JobStatus.INVALIDATED
    # Moderators cannot.
    assert "/invalidate" not in login(client, people["mod"]).get(f"/jobs/{job.pk}").content.decode()
    response = client.post(
        f"/jobs/{job.pk}/invalidate", {"reporter_id": "honest", "reporter_type_id": "user"}
    )
    assert response.status_code == 403


# --- Queue management --------------------------------------------------------------------


def test_queue_form_sets_clear_other_reports(client, catalog, people):
    login(client, people["manager"])
    form = {"name": "Scams", "order": "FIFO", "clear_scope": "ALL_QUEUES"}
    response = client.post(
        "/queues/new",
        {**form, "clear_disposition": "SAME_DECISION", "clear_trigger_actions": ["delete"]},
    )
    assert response.status_code == 302, response.content.decode()
    queue = Queue.objects.get(pk="scams")
    assert (queue.clear_disposition, queue.clear_scope) == ("SAME_DECISION", "ALL_QUEUES")
    assert queue.clear_trigger_actions == ["delete"]
    form_page = client.get("/queues/scams/edit")
    assert form_page.context["form"].initial["clear_disposition"] == "SAME_DECISION"
    client.post("/queues/scams/edit", {**form, "clear_disposition": ""})
    queue.refresh_from_db()
    assert queue.clear_disposition == ""


def test_create_and_edit_a_queue(client, catalog, people):
    login(client, people["manager"])
    assert client.get("/queues/new").status_code == 200
    response = client.post(
        "/queues/new",
        {
            "name": "Hate speech",
            "description": "d",
            "reviewers": ["mod@example.com"],
            "hidden_actions": ["label"],
            "order": "MOST_REPORTS",
            "auto_close_deleted": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    created = Queue.objects.get(pk="hate-speech")
    assert created.order == "MOST_REPORTS"
    assert created.hidden_actions == ["label"]
    assert created.auto_close_deleted
    assert list(created.reviewers.all()) == [people["mod"]]
    response = client.post(
        "/queues/hate-speech/edit", {"name": "Hate", "order": "FIFO", "reviewers": []}
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.name, created.order, created.reviewers.count()) == ("Hate", "FIFO", 0)


def test_queue_form_errors_are_shown_next_to_fields(client, catalog, people):
    login(client, people["manager"])
    response = client.post("/queues/new", {"id": "bad id!", "name": "", "order": "FIFO"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "field--invalid" in page
    assert "This field is required." in page
    response = client.post("/queues/new", {"id": "coop.x", "name": "X", "order": "FIFO"})
    assert response.status_code == 400
    assert "reserved" in response.content.decode()


def test_queue_management_needs_edit_mrt_queues(client, q, people):
    login(client, people["mod"])
    for url in ("/queues/new", "/queues/q/edit", "/queues/q/delete", "/queues/q/preview"):
        assert client.get(url).status_code == 403


def test_delete_confirms_and_names_the_routing_rules(client, q, job, people):
    rule = {
        "id": "to-q",
        "name": "To spam queue",
        "itemTypes": ["post"],
        "queue": "q",
        "condition": {"input": {"field": "deleted"}, "comparator": "EQUALS", "threshold": True},
    }
    assert save_object("routingRules", rule).ok
    login(client, people["manager"])
    page = client.get("/queues/q/delete").content.decode()
    assert "1 pending job will move to the default queue" in page
    response = client.post("/queues/q/delete")
    assert response.status_code == 400
    assert "to-q" in response.content.decode()
    assert Queue.objects.filter(pk="q").exists()
    from coop.config.services import delete_object

    assert delete_object("routingRules", "to-q").ok
    assert client.post("/queues/q/delete").status_code == 302
    assert Job.objects.get(pk=job.pk).queue_id == "default"


def test_preview_lists_jobs_without_claiming(client, q, job, people):
    response = login(client, people["manager"]).get("/queues/q/preview")
    assert response.status_code == 200
    assert f'href="/jobs/{job.pk}"' in response.content.decode()
    assert Job.objects.get(pk=job.pk).lease_owner is None


# --- Recent Decisions --------------------------------------------------------------------


@pytest.fixture
def decided(q, people):
    a = report(post("p-1"), q)
    b = rule_job(post("p-2"), q)
    claims.claim_next(q, people["mod"])
    decide(a.pk, people["mod"], DecisionInput(ignore=True, reason="<i>meh</i>"))
    claims.claim_next(q, people["mod"])
    from coop.review.decisions import ActionChoice

    decide(b.pk, people["mod"], DecisionInput(actions=[ActionChoice("delete", ["spam"])]))
    return a, b


def test_recent_decisions_lists_and_filters(client, decided, people):
    a, b = decided
    login(client, people["mod"])
    page = client.get("/decisions").content.decode()
    assert f'href="/jobs/{a.pk}"' in page
    assert f'href="/jobs/{b.pk}"' in page
    assert "&lt;i&gt;meh&lt;/i&gt;" in page
    assert "Spam queue" in page
    page = client.get("/decisions", {"type": "IGNORE"}).content.decode()
    assert f'href="/jobs/{a.pk}"' in page
    assert f'href="/jobs/{b.pk}"' not in page
    page = client.get("/decisions", {"policy": "spam"}).content.decode()
    assert f'href="/jobs/{a.pk}"' not in page
    assert f'href="/jobs/{b.pk}"' in page
    page = client.get("/decisions", {"start": "2000-01-01", "end": "2000-01-02"}).content.decode()
    assert "No decisions match" in page
    assert 'href="/decisions.csv?' not in client.get("/decisions").content.decode()


def test_recent_decisions_needs_view_mrt_data(client, people, catalog):
    login(client, people["external"])
    for url in ("/decisions", "/decisions.csv", "/decisions/skips.csv"):
        assert client.get(url).status_code == 403


def test_decisions_csv_streams_with_the_filters(client, decided, people):
    _a, b = decided
    login(client, people["mod"])
    response = client.get("/decisions.csv", {"type": "ACTION"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="decisions.csv"'
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("Decision ID,")
    assert len(lines) == 2
    assert f"/jobs/{b.pk}" in lines[1]


def test_skips_csv(client, q, people):
    job = report(post("p-1"), q)
    claims.claim_next(q, people["mod"])
    skips.skip(job, people["mod"])
    response = login(client, people["mod"]).get("/decisions/skips.csv")
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="skips.csv"'
    body = b"".join(response.streaming_content).decode()
    assert "mod@example.com" in body
    assert f"/jobs/{job.pk}" in body


def test_console_pages_have_no_inline_script_style_or_handlers(client, hostile_job, q, people):
    login(client, people["manager"])
    claim(client, q)
    for path in (
        "/queues",
        f"/jobs/{hostile_job.pk}",
        "/decisions",
        "/queues/new",
        "/queues/q/preview",
        "/queues/q/delete",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert re.search(r"<[^>]*\son[a-z]+=", html) is None, path
