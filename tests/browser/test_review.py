"""The review loop in a real browser: claim, decide, next; two reviewers at once; signed action
and appeal callbacks delivered to a local platform; Skip; Move; the keyboard shortcuts and their
`?` list. Screenshots of the queues page, a job page and Recent Decisions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coop.accounts.services import active_signing_key, create_user
from coop.catalog.models import Action, ItemType, Policy
from coop.config.services import save_object
from coop.enforcement.models import Delivery
from coop.enforcement.tasks import deliver
from coop.ingest.models import ItemSubmission
from coop.review.models import Appeal, Decision, Job, JobSource, JobStatus, Queue, Report, Skip
from coop.review.services import default_appeals_queue, enqueue_for_review
from enforcement.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def platform():
    """The platform's webhook receiver; checks every signature with the public PEM only."""
    with Receiver(active_signing_key().public_pem) as server:
        yield server


@pytest.fixture
def catalog(platform):
    ItemType.objects.create(
        id="post",
        name="Post",
        kind="CONTENT",
        fields=[
            {"name": "text", "type": "STRING", "required": True},
            {"name": "image", "type": "IMAGE"},
            {"name": "link", "type": "URL"},
            {"name": "author", "type": "RELATED_ITEM"},
            {"name": "thread", "type": "RELATED_ITEM"},
            {"name": "createdAt", "type": "DATETIME"},
        ],
        roles={"creatorId": "author", "threadId": "thread", "createdAt": "createdAt"},
    )
    ItemType.objects.create(
        id="user", name="User", kind="USER", fields=[{"name": "name", "type": "STRING"}]
    )
    ItemType.objects.create(id="thread", name="Thread", kind="THREAD", fields=[])
    Policy.objects.create(
        id="spam",
        name="Spam",
        penalty="MEDIUM",
        text="Unsolicited bulk promotion.",
        guidelines="Delete on the first offence; ban repeat offenders.",
    )
    Policy.objects.create(id="harassment", name="Harassment", penalty="HIGH")
    Action.objects.create(
        id="delete",
        name="Delete",
        callback_url=f"{platform.url}/delete",
        item_types=["post"],
        applies_strikes=True,
    )
    Action.objects.create(
        id="ban", name="Ban", callback_url=f"{platform.url}/ban", item_types=["user"]
    )
    return platform


@pytest.fixture
def people(catalog):
    return {
        "mod": create_user("mod@example.com", "Moderator", PASSWORD)[0],
        "mod2": create_user("mod2@example.com", "Moderator", PASSWORD)[0],
        "manager": create_user("manager@example.com", "Moderator Manager", PASSWORD)[0],
    }


@pytest.fixture
def queue(people):
    q = Queue.objects.create(id="spam", name="Spam reports", description="Reported as spam")
    q.reviewers.set([people["mod"], people["mod2"]])
    return q


def submit(item_id: str, text: str = "hello", *, author: str = "u-1", **extra) -> ItemSubmission:
    data = {"text": text, "author": {"id": author, "typeId": "user"}, **extra}
    thread = extra.get("thread")
    return ItemSubmission.objects.create(
        item_id=item_id,
        item_type_id="post",
        item_type_version=1,
        data=data,
        source="API",
        creator_id=author,
        creator_type_id="user",
        thread_id=thread["id"] if thread else None,
        thread_type_id="thread" if thread else None,
    )


def reported(item: ItemSubmission, q: Queue, reporter: str = "r-1", reason: str = "") -> Job:
    report = Report(
        reporter_type_id="user",
        reporter_id=reporter,
        reported_at=timezone.now(),
        policy_id="spam",
        reason=reason,
        item_id=item.item_id,
        item_type_id=item.item_type_id,
        submission=item,
    )
    return enqueue_for_review(item, q, JobSource.REPORT, ["spam"], report=report)


def sign_in_page(page, email: str):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def job_id_of(page) -> str:
    page.wait_for_url("**/jobs/*")
    return page.url.rsplit("/", 1)[1]


def start_reviewing(page, queue_name: str) -> None:
    page.goto("/queues")
    page.get_by_role("button", name=f"Start Reviewing {queue_name}").click()  # a POST form


def test_two_reviewers_never_see_the_same_job(browser, live_server, queue, people):
    jobs = {str(reported(submit(f"p-{i}", f"message {i}"), queue).pk) for i in range(6)}
    pages = []
    for email in ("mod@example.com", "mod2@example.com"):
        context = browser.new_context(base_url=live_server.url)
        pages.append(sign_in_page(context.new_page(), email))
    seen: list[list[str]] = [[], []]
    for index, page in enumerate(pages):
        start_reviewing(page, "Spam reports")
        seen[index].append(job_id_of(page))
    assert seen[0][0] != seen[1][0]
    # Decide in turns: each next job is one the other reviewer does not hold.
    done = [False, False]
    while not all(done):
        for index, page in enumerate(pages):
            if done[index]:
                continue
            page.get_by_role("checkbox", name="Ignore").check()
            page.get_by_role("button", name="Submit decision").click()
            heading = page.get_by_role("heading", level=1)
            expect(heading).not_to_have_text("")
            if "No jobs waiting" in heading.inner_text():
                done[index] = True
            else:
                seen[index].append(job_id_of(page))
                other = seen[1 - index]
                assert seen[index][-1] not in other, "two reviewers got the same job"
    assert set(seen[0]).isdisjoint(seen[1])
    assert set(seen[0]) | set(seen[1]) == jobs
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 0
    assert Decision.objects.count() == 6
    for page in pages:
        page.context.close()


def test_action_decision_delivers_a_signed_callback(page, sign_in, queue, catalog, people):
    job = reported(submit("p-1", "buy cheap pills"), queue, reason="spam link")
    sign_in("mod@example.com", PASSWORD)
    start_reviewing(page, "Spam reports")
    assert job_id_of(page) == str(job.pk)
    page.get_by_role("checkbox", name="Delete", exact=True).check()
    page.get_by_label("Policies for Delete").select_option("spam")
    page.get_by_label("Reason").fill("selling pills")
    page.get_by_role("button", name="Submit decision").click()
    expect(page.get_by_role("heading", name="No jobs waiting")).to_be_visible()
    expect(page.get_by_text("Decision recorded on post/p-1")).to_be_visible()

    deliver(delivery_ids=[str(d.pk) for d in Delivery.objects.all()])
    assert len(catalog.requests) == 1
    request = catalog.requests[0]
    assert request.path == "/delete"
    assert request.signature_valid
    body = json.loads(request.body)
    assert body["item"]["id"] == "p-1"
    assert [p["id"] for p in body["policies"]] == ["spam"]
    assert body["actorEmail"] == "mod@example.com"


def test_appeal_overturn_delivers_the_appeal_callback(page, sign_in, catalog, people):
    assert save_object(
        "settings", {"appeals": {"enabled": True, "callbackUrl": f"{catalog.url}/appeals"}}
    ).ok
    item = submit("p-9", "a joke", author="u-7")
    job = enqueue_for_review(item, default_appeals_queue(), JobSource.APPEAL, ["spam"])
    Appeal.objects.create(
        appeal_id="appeal-7",
        job=job,
        appealed_by_type_id="user",
        appealed_by_id="u-7",
        appealed_at=timezone.now(),
        item_id="p-9",
        item_type_id="post",
        submission=item,
        actions_taken=["delete"],
        reason="It was a joke between friends.",
        violating_policies=["spam"],
    )
    sign_in("manager@example.com", PASSWORD)
    start_reviewing(page, "Appeals")
    assert job_id_of(page) == str(job.pk)
    expect(page.get_by_text("It was a joke between friends.")).to_be_visible()
    page.get_by_role("radio", name="Overturn").check()
    page.get_by_role("button", name="Submit decision").click()
    expect(page.get_by_role("heading", name="No jobs waiting")).to_be_visible()

    deliver(delivery_ids=[str(d.pk) for d in Delivery.objects.all()])
    (request,) = catalog.requests
    assert request.path == "/appeals"
    assert request.signature_valid
    body = json.loads(request.body)
    assert body["appealId"] == "appeal-7"
    assert body["appealDecision"] == "ACCEPT"
    assert body["appealedBy"] == {"id": "u-7", "typeId": "user"}


def test_skip_moves_on_and_is_logged(page, sign_in, queue, people):
    first = reported(submit("p-1", "first"), queue)
    second = reported(submit("p-2", "second"), queue)
    sign_in("mod@example.com", PASSWORD)
    start_reviewing(page, "Spam reports")
    assert job_id_of(page) == str(first.pk)
    page.get_by_role("button", name="Skip").click()
    page.wait_for_url(f"**/jobs/{second.pk}")
    expect(page.get_by_text("Skipped post/p-1")).to_be_visible()
    assert Skip.objects.get().job_id == first.pk
    assert Job.objects.get(pk=first.pk).lease_owner is None


def test_move_to_another_queue(page, sign_in, queue, people):
    other = Queue.objects.create(id="urgent", name="Urgent")
    job = reported(submit("p-1"), queue)
    sign_in("mod@example.com", PASSWORD)
    start_reviewing(page, "Spam reports")
    page.get_by_label("Move to").select_option("urgent")
    page.get_by_role("button", name="Submit decision").click()
    expect(page.get_by_role("heading", name="No jobs waiting")).to_be_visible()
    job.refresh_from_db()
    assert (job.queue_id, job.status) == (other.pk, JobStatus.PENDING)


def test_keyboard_shortcuts_and_their_list(page, sign_in, queue, people):
    first = reported(submit("p-1"), queue)
    reported(submit("p-2"), queue)
    sign_in("mod@example.com", PASSWORD)
    start_reviewing(page, "Spam reports")
    assert job_id_of(page) == str(first.pk)

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Ignore")
    expect(dialog).to_contain_text("Skip this job")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    action = page.get_by_role("checkbox", name="Delete", exact=True)
    page.keyboard.press("1")
    expect(action).to_be_checked()
    page.keyboard.press("1")
    expect(action).not_to_be_checked()

    ignore = page.get_by_role("checkbox", name="Ignore")
    page.keyboard.press("i")
    expect(ignore).to_be_checked()
    # Typing in a field is typing, not a shortcut.
    page.keyboard.press("r")
    expect(page.get_by_label("Reason")).to_be_focused()
    page.keyboard.type("is it ok")
    expect(page.get_by_label("Reason")).to_have_value("is it ok")
    expect(ignore).to_be_checked()
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: "/jobs/" in url and str(first.pk) not in url)
    decision = Decision.objects.get(job=first)
    assert (decision.types, decision.reason) == (["IGNORE"], "is it ok")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("s")
    # The only job left is the one just skipped: it is offered again rather than stranded.
    expect(page.get_by_text("Skipped post/p-2")).to_be_visible()
    assert Skip.objects.count() == 1


def test_refusal_moves_focus_to_the_field(page, sign_in, queue, people):
    assert save_object("settings", {"review": {"requireReasonOnIgnore": True}}).ok
    reported(submit("p-1"), queue)
    sign_in("mod@example.com", PASSWORD)
    start_reviewing(page, "Spam reports")
    page.get_by_role("checkbox", name="Ignore").check()
    page.get_by_role("button", name="Submit decision").click()
    expect(page.get_by_role("alert")).to_contain_text("A decision reason is required.")
    expect(page.get_by_label("Reason")).to_be_focused()
    expect(page.get_by_label("Reason")).to_have_accessible_description(
        "A decision reason is required."
    )
    expect(page.get_by_role("checkbox", name="Ignore")).to_be_checked()


def test_screenshots_of_the_console(page, sign_in, live_server, queue, people, screenshot_dir):
    """Queues, a full job page (images, thread, reports, rule-free) and Recent Decisions."""
    Queue.objects.create(id="hate", name="Hate speech", description="Slurs and attacks")
    Queue.objects.filter(pk="default").update(description="Everything not routed elsewhere")
    image = f"{live_server.url}/static/coop/wellness-sample.svg"
    now = timezone.now()
    thread = {"id": "t-1", "typeId": "thread"}
    for i, text in enumerate(["Anyone selling a bike?", "Yes, DM me", "Check out my shop"]):
        submit(
            f"m-{i}",
            text,
            author=f"u-{i}",
            thread=thread,
            createdAt=(now - timedelta(minutes=10 - i)).isoformat(),
        )
    item = submit(
        "p-42",
        "BUY CHEAP PILLS NOW!!!\nBest prices <b>guaranteed</b>.",
        author="u-9",
        thread=thread,
        image=image,
        link="https://shop.example/pills?ref=42",
        createdAt=now.isoformat(),
    )
    submit("u-9-profile", "other post by the author", author="u-9")
    ItemSubmission.objects.create(
        item_id="u-9",
        item_type_id="user",
        item_type_version=1,
        data={"name": "Pill Seller"},
        source="API",
    )
    job = reported(item, queue, reporter="r-1", reason="Spam in the marketplace thread")
    reported(item, queue, reporter="r-2", reason="scam")
    for i in range(3):
        reported(submit(f"p-{i}", "more"), queue)

    sign_in("manager@example.com", PASSWORD)
    page.goto("/queues")
    page.get_by_role("button", name="Star Hate speech").click()
    expect(page.get_by_role("button", name="Star Hate speech")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    page.screenshot(path=f"{screenshot_dir}/review-queues.png", full_page=True)

    start_reviewing(page, "Spam reports")
    assert job_id_of(page) == str(job.pk)
    expect(page.locator(".thread__msg")).to_have_count(4)
    expect(page.locator("img.wellness__media").first).to_be_visible()
    page.get_by_role("checkbox", name="Delete", exact=True).check()
    page.get_by_role("textbox", name="Add a comment").fill("Seen this seller before.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comments")).to_contain_text("Seen this seller before.")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=f"{screenshot_dir}/review-job.png", full_page=True)
    page.keyboard.press("?")
    page.screenshot(path=f"{screenshot_dir}/review-shortcuts.png")
    page.keyboard.press("Escape")

    page.get_by_label("Policies for Delete").select_option("spam")
    page.get_by_label("Reason").fill("Pill spam")
    page.get_by_role("button", name="Submit decision").click()
    page.wait_for_url("**/jobs/*")
    page.get_by_role("checkbox", name="Ignore").check()
    page.get_by_role("button", name="Submit decision").click()
    page.wait_for_url("**/jobs/*")
    page.goto("/decisions")
    expect(page.get_by_role("heading", name="Recent Decisions")).to_be_visible()
    expect(page.locator("table.decisions tbody tr")).to_have_count(2)
    page.screenshot(path=f"{screenshot_dir}/review-decisions.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "decisions.csv"
