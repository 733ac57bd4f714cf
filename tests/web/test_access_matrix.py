"""The access-control matrix (accounts.md, quality.md): every console URL × every predefined role.

The URLs come from the URL configuration (`coop.accounts.access.console_urls`), so a view added
later is covered as soon as it is routed; a console view that is neither wrapped in
`require_permission` nor marked `public_view` fails `test_every_console_url_declares_its_access`.
"""

import uuid

import pytest
from django.urls import reverse
from django.urls.converters import IntConverter, UUIDConverter

from coop.accounts.access import console_urls
from coop.accounts.permissions import PREDEFINED_ROLES

PROTECTED = [u for u in console_urls() if u.access is not None]
ROLES = sorted(PREDEFINED_ROLES)


def sample_url(entry) -> str:
    """The URL with placeholder arguments: permission checks run before any object lookup."""
    samples = {}
    for name, converter in entry.converters.items():
        if isinstance(converter, UUIDConverter):
            samples[name] = uuid.uuid4()
        elif isinstance(converter, IntConverter):
            samples[name] = 1
        else:
            samples[name] = "sample"
    return reverse(entry.name, kwargs=samples)


def request(client, entry):
    url = sample_url(entry)
    if "GET" in entry.access.methods:
        return client.get(url)
    return client.post(url)


def test_registry_finds_the_console_views():
    names = {u.name for u in PROTECTED}
    assert {"overview", "settings", "settings-api-keys", "settings-api-key-revoke"} <= names


def test_every_console_url_declares_its_access():
    undeclared = [
        u.route for u in console_urls() if u.access is None and not hasattr(u.view, "coop_public")
    ]
    assert undeclared == [], "wrap these views in require_permission (or mark them public_view)"


def test_every_console_url_is_named():
    assert [u.route for u in console_urls() if not u.name] == []


@pytest.mark.django_db
@pytest.mark.parametrize("entry", PROTECTED, ids=lambda u: u.name)
def test_anonymous_users_are_sent_to_login(client, entry):
    before = accounts_state()
    response = request(client, entry)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    assert accounts_state() == before


# The expected answers come from accounts.md's role table, transcribed here, and from what the
# spec says each page needs (not from the views' decorators, which the tests check against it).

ALL = "ALL"
ROLE_TABLE = {
    "Admin": ALL,
    "Rules Manager": {
        "MUTATE_LIVE_RULES",
        "MUTATE_NON_LIVE_RULES",
        "RUN_RETROACTION",
        "RUN_BACKTEST",
        "VIEW_INSIGHTS",
        "MANUALLY_ACTION_CONTENT",
        "MANAGE_POLICIES",
        "VIEW_INVESTIGATION",
        "VIEW_RULES_DASHBOARD",
    },
    "Analyst": {
        "MUTATE_NON_LIVE_RULES",
        "RUN_BACKTEST",
        "VIEW_INSIGHTS",
        "VIEW_INVESTIGATION",
        "VIEW_RULES_DASHBOARD",
    },
    "Moderator Manager": {
        "VIEW_MRT",
        "VIEW_MRT_DATA",
        "EDIT_MRT_QUEUES",
        "MANAGE_ROUTING_RULES",
        "MANAGE_POLICIES",
        "VIEW_INVESTIGATION",
        "VIEW_RULES_DASHBOARD",
        "VIEW_CHILD_SAFETY_DATA",
        "MANUALLY_ACTION_CONTENT",
    },
    "Moderator": {
        "VIEW_MRT",
        "VIEW_MRT_DATA",
        "MANAGE_POLICIES",
        "MANUALLY_ACTION_CONTENT",
        "VIEW_INVESTIGATION",
        "VIEW_RULES_DASHBOARD",
    },
    "Child Safety Moderator": {
        "VIEW_MRT",
        "VIEW_MRT_DATA",
        "MANAGE_POLICIES",
        "MANUALLY_ACTION_CONTENT",
        "VIEW_INVESTIGATION",
        "VIEW_RULES_DASHBOARD",
        "VIEW_CHILD_SAFETY_DATA",
    },
    "External Moderator": {"VIEW_MRT"},
}


# Custom roles (accounts.md: admins create them), made by the `custom_roles` fixture: one that
# manages users without managing roles or the organisation, and one with no permission at all.
CUSTOM_ROLES = {
    "User Manager": {"MANAGE_USERS", "VIEW_MRT"},
    "No Permissions": set(),
}
ALL_ROLES = ROLES + sorted(CUSTOM_ROLES)


@pytest.fixture
def custom_roles(db):
    from coop.accounts.models import Role

    for name, permissions in CUSTOM_ROLES.items():
        Role.objects.create(name=name, permissions=sorted(permissions))


def has(role: str, permission: str) -> bool:
    granted = ROLE_TABLE.get(role, CUSTOM_ROLES.get(role))
    return granted == ALL or permission in granted


def test_the_table_names_every_predefined_role():
    assert set(ROLE_TABLE) == set(PREDEFINED_ROLES)


# What each console page needs, from the spec: organisation settings and the Deliveries page
# are MANAGE_ORG; managing queues (create, edit, delete, preview, invalidate reports) is
# EDIT_MRT_QUEUES; working the queues is VIEW_MRT (external moderators review jobs in their
# queues); Recent Decisions and its exports are VIEW_MRT_DATA (external moderators see no
# decisions); the overview, the settings index and one's account only need a sign-in. The
# NCMEC Reports page, each report and its Retry are VIEW_CHILD_SAFETY_DATA (review.md: only
# those users see NCMEC reports).
# decisions); the overview, the settings index and one's account only need a sign-in.
# Configuration editing: item types and actions are organisation settings (MANAGE_ORG, the
# reference's Settings pages; "Send test delivery" with them), policies are MANAGE_POLICIES and
# routing rules MANAGE_ROUTING_RULES (accounts.md: policy CRUD; create, edit, delete, reorder).
# decisions); the overview, the settings index and one's account only need a sign-in. Banks
# (list, bank pages of every kind, entries, imports, downloads, image uploads, HMA sync and
# exchanges) are
# MUTATE_NON_LIVE_RULES, as the reference's Matching Banks menu (accounts.md's permissions are
# the reference's).
# Users and invites are MANAGE_USERS, the role matrix and custom roles MANAGE_ROLES (accounts.md,
# and the reference's permission list); changing one's own password needs only a sign-in.
URL_REQUIRES: dict[str, str | None] = {
    "overview": None,
    "insights-review": "VIEW_MRT_DATA",
    "insights-rules": "VIEW_INSIGHTS",
    "insights-csv": None,  # each chart checks its page's permission (tests/insights)
    "insights-rule-activity-csv": "VIEW_RULES_DASHBOARD",
    "settings": None,
    "account": None,
    "account-password": None,
    "settings-users": "MANAGE_USERS",
    "settings-users-invite": "MANAGE_USERS",
    "settings-invite-resend": "MANAGE_USERS",
    "settings-invite-revoke": "MANAGE_USERS",
    "settings-user-role": "MANAGE_USERS",
    "settings-user-deactivate": "MANAGE_USERS",
    "settings-user-reactivate": "MANAGE_USERS",
    "settings-user-password-reset": "MANAGE_USERS",
    "settings-roles": "MANAGE_ROLES",
    "settings-role-create": "MANAGE_ROLES",
    "settings-role-rename": "MANAGE_ROLES",
    "settings-role-delete": "MANAGE_ROLES",
    "settings-role-restore": "MANAGE_ROLES",
    "deliveries": "MANAGE_ORG",
    "deliveries-resend-dead": "MANAGE_ORG",
    "delivery-resend": "MANAGE_ORG",
    "settings-api-keys": "MANAGE_ORG",
    "settings-api-key-revoke": "MANAGE_ORG",
    "settings-signing-key-rotate": "MANAGE_ORG",
    "settings-signing-key-pem": "MANAGE_ORG",
    "settings-wellness": "MANAGE_ORG",
    "settings-integrations": "MANAGE_ORG",
    "settings-integration-save": "MANAGE_ORG",
    "settings-integration-remove": "MANAGE_ORG",
    "settings-integration-test": "MANAGE_ORG",
    "settings-http-signal-create": "MANAGE_ORG",
    "settings-http-signal-edit": "MANAGE_ORG",
    "settings-http-signal-delete": "MANAGE_ORG",
    "settings-http-signal-test": "MANAGE_ORG",
    "settings-ncmec": "MANAGE_ORG",
    "settings-sso": "MANAGE_ORG",  # accounts.md: SSO is an organisation setting
    # accounts.md "Settings pages" and reference 5.1: organisation, Review Console, appeals,
    # strikes and partial items settings, the signing key, and the configuration history
    # (every kind of object, NCMEC details included) are the organisation's: MANAGE_ORG.
    "settings-organization": "MANAGE_ORG",
    "settings-review": "MANAGE_ORG",
    "settings-appeals": "MANAGE_ORG",
    "settings-strikes": "MANAGE_ORG",
    "settings-partial-items": "MANAGE_ORG",
    "settings-signing-key": "MANAGE_ORG",
    "settings-history": "MANAGE_ORG",
    "settings-history-change": "MANAGE_ORG",
    "queue-create": "EDIT_MRT_QUEUES",
    "queue-edit": "EDIT_MRT_QUEUES",
    "queue-delete": "EDIT_MRT_QUEUES",
    "queue-preview": "EDIT_MRT_QUEUES",
    "job-invalidate": "EDIT_MRT_QUEUES",
    "queues": "VIEW_MRT",
    "queue-star": "VIEW_MRT",
    "queue-review": "VIEW_MRT",
    "job": "VIEW_MRT",
    "job-decide": "VIEW_MRT",
    "job-skip": "VIEW_MRT",
    "job-comment": "VIEW_MRT",
    "decisions": "VIEW_MRT_DATA",
    "decisions-csv": "VIEW_MRT_DATA",
    "skips-csv": "VIEW_MRT_DATA",
    "ncmec": "VIEW_CHILD_SAFETY_DATA",
    "ncmec-report": "VIEW_CHILD_SAFETY_DATA",
    "ncmec-report-retry": "VIEW_CHILD_SAFETY_DATA",
    "item-types": "MANAGE_ORG",
    "item-type-create": "MANAGE_ORG",
    "item-type-edit": "MANAGE_ORG",
    "item-type-delete": "MANAGE_ORG",
    "actions": "MANAGE_ORG",
    "action-create": "MANAGE_ORG",
    "action-edit": "MANAGE_ORG",
    "action-delete": "MANAGE_ORG",
    "action-test-delivery": "MANAGE_ORG",
    "policies": "MANAGE_POLICIES",
    "policy-create": "MANAGE_POLICIES",
    "policy-edit": "MANAGE_POLICIES",
    "policy-delete": "MANAGE_POLICIES",
    "routing": "MANAGE_ROUTING_RULES",
    "routing-rule-create": "MANAGE_ROUTING_RULES",
    "routing-rule-edit": "MANAGE_ROUTING_RULES",
    "routing-rule-delete": "MANAGE_ROUTING_RULES",
    "routing-reorder": "MANAGE_ROUTING_RULES",
    # review.md: only VIEW_CHILD_SAFETY_DATA sees (and so decides) NCMEC jobs; whether the
    # user may work the job's queue is checked on the object.
    "ncmec-job-decide": "VIEW_CHILD_SAFETY_DATA",
    "banks": "MUTATE_NON_LIVE_RULES",
    "bank-create": "MUTATE_NON_LIVE_RULES",
    "bank-create-kind": "MUTATE_NON_LIVE_RULES",
    "bank-entries": "MUTATE_NON_LIVE_RULES",
    "bank-entries-remove": "MUTATE_NON_LIVE_RULES",
    "bank-locations": "MUTATE_NON_LIVE_RULES",
    "bank-export": "MUTATE_NON_LIVE_RULES",
    "bank": "MUTATE_NON_LIVE_RULES",
    "bank-import": "MUTATE_NON_LIVE_RULES",
    "bank-image": "MUTATE_NON_LIVE_RULES",
    "bank-delete": "MUTATE_NON_LIVE_RULES",
    "bank-hma-sync": "MUTATE_NON_LIVE_RULES",
    "bank-exchange": "MUTATE_NON_LIVE_RULES",
    "bank-exchange-detach": "MUTATE_NON_LIVE_RULES",
    "bank-exchange-refresh": "MUTATE_NON_LIVE_RULES",
    "banks-hma-test": "MUTATE_NON_LIVE_RULES",
    "bank-hma-removal-retry": "MUTATE_NON_LIVE_RULES",
    # Rules (accounts.md): seen with VIEW_RULES_DASHBOARD (stars and the saved rule's spot
    # test too); the form, its live validation and spot test, archive and delete need
    # MUTATE_NON_LIVE_RULES, and LIVE rules MUTATE_LIVE_RULES as well (checked on the object,
    # tests/web/test_rules_pages.py).
    "rules": "VIEW_RULES_DASHBOARD",
    "rule": "VIEW_RULES_DASHBOARD",
    "rule-star": "VIEW_RULES_DASHBOARD",
    "rule-spot-test": "VIEW_RULES_DASHBOARD",
    "rule-create": "MUTATE_NON_LIVE_RULES",
    "rule-edit": "MUTATE_NON_LIVE_RULES",
    "rule-validate": "MUTATE_NON_LIVE_RULES",
    "rule-spot-test-draft": "MUTATE_NON_LIVE_RULES",
    # rules.md: a backtest of the rule as edited (the rule form's "Backtest as edited").
    "rule-backtest-draft": "RUN_BACKTEST",
    "rule-archive": "MUTATE_NON_LIVE_RULES",
    "rule-delete": "MUTATE_NON_LIVE_RULES",
    # review.md and accounts.md: Investigation is VIEW_INVESTIGATION; taking an action from it
    # and Bulk Actions are MANUALLY_ACTION_CONTENT. The Strikes page shows aggregate
    # enforcement statistics: VIEW_INSIGHTS, as the dashboards.
    "investigation": "VIEW_INVESTIGATION",
    "investigation-action": "MANUALLY_ACTION_CONTENT",
    "bulk-actions": "MANUALLY_ACTION_CONTENT",
    "bulk-action": "MANUALLY_ACTION_CONTENT",
    "bulk-action-start": "MANUALLY_ACTION_CONTENT",
    "bulk-action-csv": "MANUALLY_ACTION_CONTENT",
    "strikes": "VIEW_INSIGHTS",
    # rules.md and accounts.md: backtests need RUN_BACKTEST, retroactions RUN_RETROACTION.
    "rule-backtest": "RUN_BACKTEST",
    "backtest": "RUN_BACKTEST",
    "backtest-cancel": "RUN_BACKTEST",
    "rule-retroaction": "RUN_RETROACTION",
    "retroaction": "RUN_RETROACTION",
    "retroaction-cancel": "RUN_RETROACTION",
}


def allowed_by_spec(role: str, url_name: str) -> bool:
    required = URL_REQUIRES[url_name]
    return required is None or has(role, required)


def test_every_console_page_is_in_the_spec_table():
    assert sorted(u.name for u in PROTECTED if u.name not in URL_REQUIRES) == []


@pytest.mark.parametrize("entry", PROTECTED, ids=lambda u: u.name)
def test_each_view_requires_what_the_spec_says(entry):
    required = URL_REQUIRES[entry.name]
    assert {str(p) for p in entry.access.permissions} == ({required} if required else set())


def accounts_state():
    """What a refused request must leave as it was: users, roles, invites, reset links."""
    from coop.accounts.models import Invite, PasswordResetToken, Role, User

    return (
        sorted(User.objects.values_list("id", "is_active", "role_id", "password", "name")),
        sorted(Role.objects.values_list("id", "name", "permissions")),
        sorted(Invite.objects.values_list("id", "revoked_at", "accepted_at")),
        PasswordResetToken.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("entry", PROTECTED, ids=lambda u: u.name)
def test_each_role_gets_what_its_permissions_allow(client, make_user, custom_roles, entry, role):
    client.force_login(make_user(role))
    allowed = allowed_by_spec(role, entry.name)
    before = accounts_state()
    response = request(client, entry)
    if not allowed:
        assert response.status_code == 403
        assert b"access to this page" in response.content
        assert accounts_state() == before
    elif entry.name == "overview" and has(role, "VIEW_MRT") and not has(role, "VIEW_MRT_DATA"):
        # review.md: `/` is the queues page for users without VIEW_MRT_DATA.
        assert (response.status_code, response["Location"]) == (302, "/queues")
    elif entry.converters:
        # Placeholder ids name nothing (the permission check passed and the lookup failed), or
        # name a built-in row (role 1) that an empty form cannot change.
        assert response.status_code in {200, 302, 400, 404}
    elif "GET" in entry.access.methods:
        assert response.status_code == 200
    else:
        # An empty form: done (302), or refused by the handler for what it lacks (400).
        assert response.status_code in {200, 302, 400}


# Which objects: a job in a queue the user may not work (not a reviewer of it), a child-safety
# job (a DEFAULT job in the NCMEC queue, the user listed as its reviewer), another user's held
# job (in a queue the user works).
CASES = ["unworked_queue", "child_safety", "held_by_another"]
OPERATIONS = ["view", "decide", "comment", "preview", "export"]


def expected(role: str, case: str, operation: str) -> bool:
    """accounts.md and review.md: VIEW_MRT opens the console; a queue is worked by its
    reviewers and by EDIT_MRT_QUEUES; a job is viewed by those who work it and by VIEW_MRT_DATA;
    only VIEW_CHILD_SAFETY_DATA sees child-safety jobs; a held job is decided by its holder or
    an EDIT_MRT_QUEUES manager; preview needs EDIT_MRT_QUEUES; exports need VIEW_MRT_DATA."""
    mrt, data = has(role, "VIEW_MRT"), has(role, "VIEW_MRT_DATA")
    manager, cs = has(role, "EDIT_MRT_QUEUES"), has(role, "VIEW_CHILD_SAFETY_DATA")
    listed = case != "unworked_queue"  # the user is one of the queue's reviewers
    if case == "child_safety" and not cs:
        return False
    works = mrt and (listed or manager)
    if operation in ("view", "comment"):
        return mrt and (works or data)
    if operation == "decide":
        return (
            works and (case != "held_by_another" or manager) and (case != "child_safety" or manager)
        )
    if operation == "preview":
        return manager
    return data  # export: the job's decision is listed


@pytest.fixture
def world(db, make_user):
    from coop.config.services import save_object
    from factories import post, queue, rule_job

    holder = make_user("Moderator", email="holder@example.com")
    queue("unworked_queue")
    ncmec = queue("child_safety")
    assert save_object("ncmec", {"companyReportName": "Acme", "defaultQueue": "child_safety"}).ok
    held = queue("held_by_another")
    jobs = {}
    for q in ("unworked_queue", "child_safety", "held_by_another"):
        from coop.review.models import Queue

        jobs[q] = rule_job(post(f"p-{q}", text=f"text-of-{q}"), Queue.objects.get(pk=q))
        # A decided job per queue, so the export has a row to show or to hide.
        decided = rule_job(post(f"d-{q}", text="decided"), Queue.objects.get(pk=q))
        _decide(decided, f"reason-{q}")
    held.reviewers.add(holder)
    from coop.review.models import Job

    Job.objects.filter(pk=jobs["held_by_another"].pk).update(lease_owner=holder)
    Job.objects.filter(pk=jobs["child_safety"].pk).update(lease_owner=holder)
    return {"jobs": jobs, "queues": {"child_safety": ncmec}, "holder": holder}


def _decide(job, reason: str) -> None:
    from django.utils import timezone

    from coop.review.closing import close_job, record_decision

    now = timezone.now()
    record_decision(job, None, [{"type": "IGNORE"}], reason=reason, now=now)
    close_job(job, now)


def _state():
    from coop.review.models import Comment, Decision, Job

    return (
        sorted(Job.objects.values_list("id", "status", "queue_id", "lease_owner_id")),
        Decision.objects.count(),
        Comment.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_object_level_checks(client, make_user, world, role, case, operation):
    user = make_user(role)
    for q in ("child_safety", "held_by_another"):
        from coop.review.models import Queue

        Queue.objects.get(pk=q).reviewers.add(user)
    client.force_login(user)
    job = world["jobs"][case]
    before = _state()
    if operation == "view":
        response = client.get(f"/jobs/{job.pk}")
    elif operation == "decide":
        response = client.post(f"/jobs/{job.pk}/decide", {"ignore": "on"})
    elif operation == "comment":
        response = client.post(f"/jobs/{job.pk}/comments", {"text": "a comment"})
    elif operation == "preview":
        response = client.get(f"/queues/{case}/preview")
    else:
        response = client.get("/decisions.csv")
    allowed = expected(role, case, operation)
    if operation == "export":
        if not has(role, "VIEW_MRT_DATA"):
            assert response.status_code == 403
        else:
            body = b"".join(response.streaming_content).decode()
            assert (f"reason-{case}" in body) == allowed
        assert _state() == before
        return
    if not allowed:
        assert response.status_code == 403, response.status_code
        assert _state() == before
    else:
        assert response.status_code in {200, 302}, response.status_code
        if operation == "view" or operation == "preview":
            assert f"p-{case}" in response.content.decode()
    client.logout()
    assert client.get(f"/jobs/{job.pk}").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_signed_out_object_requests_go_to_login(client, world, case):
    job = world["jobs"][case]
    before = _state()
    for response in (
        client.get(f"/jobs/{job.pk}"),
        client.post(f"/jobs/{job.pk}/decide", {"ignore": "on"}),
        client.post(f"/jobs/{job.pk}/comments", {"text": "x"}),
        client.get(f"/queues/{case}/preview"),
        client.get("/decisions.csv"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/login?next=")
    assert _state() == before
