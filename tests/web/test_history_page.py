"""Settings → History: every configuration change, from the console and from
`coop config apply`, with who, when, the object and its before/after; filters and pages."""

from __future__ import annotations

import getpass
import re
import socket

import pytest

from coop.catalog.models import ConfigChange
from coop.config.history import PAGE_SIZE
from coop.config.services import save_object
from web.settings_support import run_config

pytestmark = pytest.mark.django_db

PAGE = "/settings/history"
POLICY = {"id": "spam", "name": "Spam", "penalty": "LOW", "text": "What counts as spam."}


def rows(html: str) -> list[str]:
    """The history table's rows (without the diff rows)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_a_console_change_is_in_the_export_and_in_the_history(make_user, client):
    """issue 10: change a policy in the console, export the file, see the change in both."""
    editor = make_user("Admin", email="editor@example.com")
    assert save_object("policies", POLICY, user=editor).ok
    result = save_object("policies", {**POLICY, "penalty": "SEVERE"}, user=editor)
    assert result.ok
    assert result.change is not None

    code, exported, _ = run_config("export")
    assert code == 0
    assert "penalty: SEVERE" in exported

    client.force_login(editor)
    html = client.get(PAGE).content.decode()
    newest = rows(html)[0]
    assert "editor@example.com" in newest
    assert "Policies" in newest
    assert "<code>spam</code>" in newest
    assert "Update" in newest
    assert "penalty" in newest
    assert "v2" in newest
    assert "Console" in newest

    change = ConfigChange.objects.get(kind="policies", object_id="spam", version=2)
    assert (change.before["penalty"], change.data["penalty"]) == ("LOW", "SEVERE")
    detail = client.get(f"{PAGE}/{change.pk}").content.decode()
    assert "− penalty: LOW</del>" in detail
    assert "+ penalty: SEVERE</ins>" in detail
    assert "editor@example.com" in detail


def test_coop_config_apply_records_who_ran_it(admin_client, tmp_path):
    text = "policies:\n  - {id: spam, name: Spam, penalty: HIGH}\n"
    assert run_config("apply", tmp_path=tmp_path, text=text)[0] == 0
    change = ConfigChange.objects.get(kind="policies", object_id="spam")
    assert change.changed_by is None
    assert change.actor == f"{getpass.getuser()}@{socket.gethostname()}"
    assert (change.source, change.operation, change.before) == ("config-file", "CREATE", None)
    assert change.summary == "created"
    newest = rows(admin_client.get(PAGE).content.decode())[0]
    assert change.actor in newest
    assert "Configuration file" in newest

    text = text.replace("HIGH", "LOW")
    assert run_config("apply", tmp_path=tmp_path, text=text)[0] == 0
    change = ConfigChange.objects.get(kind="policies", object_id="spam", version=2)
    assert (change.before["penalty"], change.data["penalty"], change.summary) == (
        "HIGH",
        "LOW",
        "penalty",
    )
    assert run_config("apply", "--prune", tmp_path=tmp_path, text="policies: []\n")[0] == 0
    deleted = ConfigChange.objects.get(kind="policies", object_id="spam", operation="DELETE")
    assert (deleted.before["penalty"], deleted.data, deleted.summary) == ("LOW", None, "deleted")


def test_a_dry_run_or_an_invalid_file_records_nothing(tmp_path):
    text = "policies:\n  - {id: spam, name: Spam}\n"
    assert run_config("apply", "--dry-run", tmp_path=tmp_path, text=text)[0] == 0
    assert run_config("apply", tmp_path=tmp_path, text="policies: [{id: x}]\n")[0] == 1
    assert not ConfigChange.objects.exists()


def test_settings_changes_name_the_keys(make_user, admin_client):
    assert save_object("settings", {"review": {"leaseSeconds": 120}}, user=make_user()).ok
    change = ConfigChange.objects.get(kind="settings")
    assert change.summary == "review.leaseSeconds"
    newest = rows(admin_client.get(PAGE).content.decode())[0]
    assert "Settings" in newest
    assert "review.leaseSeconds" in newest
    assert "<code>settings</code>" not in newest  # one block: no id to show
    detail = admin_client.get(f"{PAGE}/{change.pk}").content.decode()
    assert '<span class="diff__where">@ review</span>' in detail
    assert "−   leaseSeconds: 600</del>" in detail
    assert "+   leaseSeconds: 120</ins>" in detail


def test_filter_by_kind_object_and_user(make_user, admin_client, tmp_path):
    alice = make_user("Admin", email="alice@example.com")
    bob = make_user("Admin", email="bob@example.com")
    assert save_object("policies", POLICY, user=alice).ok
    assert save_object("policies", {**POLICY, "id": "ads", "name": "Ads"}, user=bob).ok
    assert save_object("settings", {"review": {"leaseSeconds": 120}}, user=bob).ok
    run_config("apply", tmp_path=tmp_path, text="policies:\n  - {id: scams, name: Scams}\n")

    def shown(query: str) -> list[str]:
        html = admin_client.get(f"{PAGE}?{query}").content.decode()
        return re.findall(r"<code>([\w.-]+)</code></a>", "".join(rows(html))) + (
            ["settings"] if "review.leaseSeconds" in html else []
        )

    assert shown("kind=policies") == ["scams", "ads", "spam"]
    assert shown("kind=settings") == ["settings"]
    assert shown(f"user={alice.pk}") == ["spam"]
    assert sorted(shown(f"user={bob.pk}")) == ["ads", "settings"]
    assert shown("user=0") == ["scams"]  # no Coop user: coop config apply
    assert shown("kind=policies&object=ads") == ["ads"]
    html = admin_client.get(PAGE).content.decode()
    assert '<option value="0">No user (coop config apply)</option>' in html
    assert f'<option value="{alice.pk}">alice@example.com</option>' in html


@pytest.mark.parametrize(
    "query", ["kind=nothing", "user=abc", "user=999999", "before=-1", "object=a%20b", "before=x"]
)
def test_a_bad_filter_is_refused_plainly(admin_client, query):
    response = admin_client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert "The filter is not valid" in response.content.decode()


def test_pages_go_back_in_time_without_gaps_or_repeats(make_user, admin_client):
    editor = make_user()
    for i in range(PAGE_SIZE + 7):
        assert save_object("policies", {**POLICY, "name": f"Spam {i}"}, user=editor).ok
    ids = list(ConfigChange.objects.order_by("-id").values_list("pk", flat=True))
    seen, url = [], f"{PAGE}?kind=policies"
    while url:
        html = admin_client.get(url).content.decode()
        seen += [int(i) for i in re.findall(r'href="/settings/history/(\d+)"', html)]
        match = re.search(r'href="(\?[^"]*before=\d+[^"]*)" rel="next"', html)
        url = PAGE + match.group(1).replace("&amp;", "&") if match else None
    assert seen == ids
    assert len(seen) == PAGE_SIZE + 7


def test_the_page_reads_a_bounded_number_of_rows_without_their_contents(
    make_user, admin_client, django_assert_max_num_queries
):
    editor = make_user()
    for i in range(40):
        assert save_object("policies", {**POLICY, "name": f"Spam {i}"}, user=editor).ok
    with django_assert_max_num_queries(8) as captured:
        admin_client.get(PAGE)
    history_queries = [q["sql"] for q in captured.captured_queries if "configchange" in q["sql"]]
    assert history_queries
    for sql in history_queries:
        assert '"catalog_configchange"."data"' not in sql
        assert '"catalog_configchange"."before"' not in sql


def test_the_diff_comes_inline_for_htmx(admin_client):
    assert save_object("policies", POLICY).ok
    change = ConfigChange.objects.get()
    response = admin_client.get(f"{PAGE}/{change.pk}", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert '<pre class="diff"' in html
    assert "+ name: Spam" in html
    assert admin_client.get(f"{PAGE}/999999").status_code == 404


def test_a_large_bank_change_is_shown_bounded(admin_client):
    values = [f"word {i}" for i in range(20_000)]
    assert save_object("banks", {"id": "w", "name": "W", "kind": "TEXT", "values": values}).ok
    changed = [v for v in values if v != "word 7"] + ["brand new"]
    assert save_object("banks", {"id": "w", "name": "W", "kind": "TEXT", "values": changed}).ok
    change = ConfigChange.objects.get(kind="banks", version=2)
    assert change.summary == "values (+1 −1)"
    html = admin_client.get(f"{PAGE}/{change.pk}").content.decode()
    assert "@ values: 1 removed, 1 added" in html
    assert "− - word 7</del>" in html
    assert "+ - brand new</ins>" in html
    created = ConfigChange.objects.get(kind="banks", version=1)
    html = admin_client.get(f"{PAGE}/{created.pk}").content.decode()
    assert html.count('class="diff__add"') <= 400
    assert "more entries not shown" in html


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_before_from_the_previous_version():
    """catalog 0004: rows written before it get the previous version's content as `before`."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("catalog", "0003_item_type_hidden_fields")])
    old = executor.loader.project_state([("catalog", "0003_item_type_hidden_fields")]).apps
    Change = old.get_model("catalog", "ConfigChange")
    for version, operation, data in [
        (1, "CREATE", {"id": "spam", "penalty": "LOW"}),
        (2, "UPDATE", {"id": "spam", "penalty": "HIGH"}),
        (3, "DELETE", None),
    ]:
        Change.objects.create(
            kind="policies", object_id="spam", version=version, operation=operation, data=data
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    befores = list(
        ConfigChange.objects.filter(object_id="spam")
        .order_by("version")
        .values_list("before", flat=True)
    )
    assert befores == [None, {"id": "spam", "penalty": "LOW"}, {"id": "spam", "penalty": "HIGH"}]
