"""TEXT, REGEX and LOCATION bank pages: banks created and renamed, entries added one at a time,
pasted and imported (every line checked with the file's validator first: one bad line and
nothing is written), removed, searched and paged at 100,000 entries, downloaded; every change
goes through the configuration writer (history, export then apply a no-op) and reaches the
rules on their next evaluation."""

from __future__ import annotations

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from coop.accounts.permissions import PREDEFINED_ROLES
from coop.catalog.models import Bank, BankEntry, ConfigChange
from coop.config import apply_document, export_yaml, parse_text
from coop.config.services import save_object
from coop.enforcement.models import ActionExecution
from coop.rules.tasks import evaluate_submissions

BAD_PATTERN = r"(bit\.ly"


@pytest.fixture
def analyst(client, make_user):
    """Analysts have MUTATE_NON_LIVE_RULES, which manages banks (accounts.md)."""
    client.force_login(make_user("Analyst"))
    return client


def make_bank(bank_id: str, kind: str, entries: list) -> Bank:
    key = "locations" if kind == "LOCATION" else "values"
    result = save_object(
        "banks", {"id": bank_id, "name": bank_id.title(), "kind": kind, key: entries}
    )
    assert result.ok, result.errors
    return Bank.objects.get(pk=bank_id)


def values(bank_id: str) -> list:
    rows = BankEntry.objects.filter(bank_id=bank_id).order_by("position")
    if Bank.objects.get(pk=bank_id).kind == "LOCATION":
        return list(rows.values_list("location", flat=True))
    return list(rows.values_list("value", flat=True))


def changes(bank_id: str) -> int:
    return ConfigChange.objects.filter(kind="banks", object_id=bank_id).count()


def html(response) -> str:
    return response.content.decode()


def apply_message(value: str) -> str:
    """What `coop config apply` says about a REGEX bank holding `value`."""
    text = "banks:\n  - {id: x, name: X, kind: REGEX, values: ['ok', 'VALUE']}\n"
    _, errors = parse_text(text.replace("VALUE", value))
    assert [e.path for e in errors] == ["banks[0].values[1]"]
    return errors[0].message


# Creating and renaming.


@pytest.mark.parametrize(
    ("slug", "kind"), [("text", "TEXT"), ("regex", "REGEX"), ("location", "LOCATION")]
)
def test_a_bank_of_each_kind_is_created_empty_from_its_name(analyst, slug, kind):
    page = html(analyst.get("/banks"))
    assert f'href="/banks/new/{slug}"' in page
    response = analyst.post(f"/banks/new/{slug}", {"name": "Scam words", "description": "d"})
    assert response.status_code == 302
    assert response["Location"] == "/banks/scam-words"
    bank = Bank.objects.get(pk="scam-words")
    assert (bank.kind, bank.name, bank.description, values("scam-words")) == (
        kind,
        "Scam words",
        "d",
        [],
    )
    change = ConfigChange.objects.get(object_id="scam-words")
    assert (change.operation, change.source) == ("CREATE", "console")
    assert "is created" in html(analyst.get("/banks/scam-words"))


def test_creation_refuses_an_unknown_kind_a_taken_id_and_the_reserved_id(analyst, db):
    assert analyst.get("/banks/new/hashes").status_code == 404
    make_bank("words", "TEXT", ["a"])
    taken = analyst.post("/banks/new/text", {"id": "words", "name": "Again"})
    assert taken.status_code == 400
    assert "a bank with this id exists already" in html(taken)
    reserved = analyst.post("/banks/new/text", {"id": "new", "name": "New"})
    assert reserved.status_code == 400
    assert "names a page of the console" in html(reserved)
    derived = analyst.post("/banks/new/text", {"name": "New"})
    assert derived["Location"] == "/banks/new-2"  # /banks/new is the New bank page
    empty = analyst.post("/banks/new/regex", {"name": ""})
    assert empty.status_code == 400
    assert "This field is required" in html(empty)
    assert set(Bank.objects.values_list("pk", flat=True)) == {"words", "new-2"}


def test_rename_keeps_the_entries_and_export_then_apply_is_a_no_op(analyst, db):
    make_bank("words", "TEXT", ["free money", "crypto giveaway"])
    response = analyst.post("/banks/words", {"name": "Scam words", "description": "Known scams"})
    assert response.status_code == 302
    bank = Bank.objects.get(pk="words")
    assert (bank.name, bank.description, bank.version) == ("Scam words", "Known scams", 2)
    assert values("words") == ["free money", "crypto giveaway"]
    assert ConfigChange.objects.filter(object_id="words", operation="UPDATE").get().summary == (
        "name, description"
    )
    document, errors = parse_text(export_yaml())
    assert not errors
    assert apply_document(document, dry_run=True).changes == []
    blank = analyst.post("/banks/words", {"name": ""})
    assert blank.status_code == 400
    assert Bank.objects.get(pk="words").version == 2


def test_a_bank_of_any_kind_is_deleted_unless_a_rule_uses_it(analyst, db):
    make_bank("words", "TEXT", ["a", "b"])
    assert "Its 2 entries will be gone" in html(analyst.get("/banks/words/delete"))
    assert analyst.post("/banks/words/delete").status_code == 302
    assert not Bank.objects.filter(pk="words").exists()


# Pasting, typing and importing entries.


def test_a_paste_with_one_bad_line_adds_nothing_and_names_the_line_as_apply_does(analyst, db):
    make_bank("links", "REGEX", [r"https?://tinyurl\.com/\S+"])
    pasted = "\n".join([r"https?://t\.co/\S+", "", BAD_PATTERN, r"\bfree\s+money\b"])
    response = analyst.post("/banks/links/entries", {"entries": pasted})
    assert response.status_code == 400
    page = html(response)
    message = apply_message(BAD_PATTERN)
    assert message.startswith("invalid regex: missing )")
    assert "Nothing was added: 1 line is not valid." in page
    bad = page.split('data-line="3"')[1].split("</li>")[0]
    assert "Line 3" in bad
    assert message in bad.replace("&#x27;", "'")
    assert r"(bit\.ly" in bad
    assert r"https?://t\.co/\S+" in page.split("<textarea")[1]  # the paste is kept to correct
    assert values("links") == [r"https?://tinyurl\.com/\S+"]
    assert changes("links") == 1

    fixed = pasted.replace(BAD_PATTERN, r"(bit\.ly)/\S+")
    fixed += "\n" + r"https?://t\.co/\S+" + "\n" + r"https?://tinyurl\.com/\S+" + "\n"
    response = analyst.post("/banks/links/entries", {"entries": fixed})
    assert response.status_code == 302
    assert values("links") == [
        r"https?://tinyurl\.com/\S+",
        r"https?://t\.co/\S+",
        r"(bit\.ly)/\S+",
        r"\bfree\s+money\b",
    ]
    shown = html(analyst.get("/banks/links"))
    assert "3 new entries added. Skipped: 1 repeated line and 1 already in the bank." in shown
    change = ConfigChange.objects.filter(object_id="links").first()
    assert (change.source, change.summary, change.version) == ("console", "values (+3 −0)", 2)


def test_a_paste_is_in_the_configuration_history_with_its_diff(analyst, make_user, db):
    make_bank("words", "TEXT", ["free money"])
    assert analyst.post("/banks/words/entries", {"entries": "win big\nact now"}).status_code == 302
    admin_client = Client()  # the history is MANAGE_ORG's
    admin_client.force_login(make_user("Admin"))
    listed = html(admin_client.get("/settings/history?kind=banks"))
    row = listed.split("<code>words</code>")[1].split("</tr>")[0]
    assert "values (+2 −0)" in row
    assert "Console" in listed.split("<code>words</code>")[0].rsplit("<tr>", 1)[1]
    change = ConfigChange.objects.filter(object_id="words", operation="UPDATE").get()
    assert change.changed_by.role.name == "Analyst"
    diff = html(admin_client.get(f"/settings/history/{change.pk}"))
    assert "win big" in diff
    assert "act now" in diff


def test_every_bad_line_is_listed_in_order(analyst, db):
    make_bank("links", "REGEX", [])
    pasted = "\n".join(["a(", "ok", "b[", "   ", "c)"])
    page = html(analyst.post("/banks/links/entries", {"entries": pasted}))
    assert "3 lines are not valid" in page
    assert [int(p.split('"')[0]) for p in page.split('data-line="')[1:]] == [1, 3, 5]
    assert values("links") == []


def test_a_pattern_re2_cannot_compile_adds_nothing_and_large_banks_are_accepted(analyst, db):
    """RE2 bounds a compiled pattern's size: one too large alone is refused at its line. A
    bank of thousands of patterns, too many for one RE2 set, is accepted: the rules engine
    spreads it over several sets (coop.signals.text.matcher.RegexMatcher)."""
    make_bank("links", "REGEX", [])
    too_large_alone = analyst.post("/banks/links/entries", {"entries": "ok\n\\pL{200}x\n"})
    assert too_large_alone.status_code == 400
    assert (
        "invalid regex: too large for RE2 once compiled"
        in html(too_large_alone).split('data-line="2"')[1]
    )
    assert values("links") == []
    patterns = [rf"https?://(www\.)?site{n}\.example/\S*" for n in range(3000)]
    response = analyst.post("/banks/links/entries", {"entries": "\n".join(patterns)})
    assert response.status_code == 302
    assert len(values("links")) == 3000


def test_text_lines_are_trimmed_and_blank_pastes_refused(analyst, db):
    make_bank("words", "TEXT", [])
    assert (
        analyst.post(
            "/banks/words/entries", {"entries": "  free money \r\n\r\nwin big\r\n"}
        ).status_code
        == 302
    )
    assert values("words") == ["free money", "win big"]
    blank = analyst.post("/banks/words/entries", {"entries": "\n  \n"})
    assert blank.status_code == 400
    assert "every line is blank" in html(blank)
    assert values("words") == ["free money", "win big"]


def test_one_entry_is_added_and_a_bad_one_is_an_error_by_its_field(analyst, db):
    make_bank("links", "REGEX", ["a"])
    assert analyst.post("/banks/links/entries", {"entry": r"bit\.ly/\w+"}).status_code == 302
    assert "1 new entry added." in html(analyst.get("/banks/links"))
    response = analyst.post("/banks/links/entries", {"entry": BAD_PATTERN})
    assert response.status_code == 400
    field = html(response).split('class="inline-form entry-form"')[1].split("</form>")[0]
    assert "field--invalid" in field
    assert apply_message(BAD_PATTERN) in field.replace("&#x27;", "'")
    again = analyst.post("/banks/links/entries", {"entry": "a"})
    assert again.status_code == 302
    assert "0 new entries added. Skipped: 1 already in the bank." in html(
        analyst.get("/banks/links")
    )
    assert values("links") == ["a", r"bit\.ly/\w+"]
    assert changes("links") == 2


def test_a_file_is_imported_line_by_line_and_a_bad_line_imports_nothing(analyst, db):
    make_bank("links", "REGEX", [])
    bad = SimpleUploadedFile("links.txt", f"one\ntwo\n{BAD_PATTERN}\n".encode())
    response = analyst.post("/banks/links/import", {"file": bad})
    assert response.status_code == 400
    page = html(response)
    assert "Line 3" in page
    assert apply_message(BAD_PATTERN) in page.replace("&#x27;", "'")
    assert values("links") == []
    good = SimpleUploadedFile("links.txt", "\ufeffone\ntwo\none\n".encode())
    assert analyst.post("/banks/links/import", {"file": good}).status_code == 302
    assert values("links") == ["one", "two"]
    latin = SimpleUploadedFile("l.txt", "é".encode("latin-1"))
    response = analyst.post("/banks/links/import", {"file": latin})
    assert response.status_code == 400
    assert "not UTF-8" in html(response)
    assert values("links") == ["one", "two"]


def test_a_nul_character_is_a_bad_line_not_a_crash(analyst, db):
    """PostgreSQL stores no NUL: the file's validator refuses it, with its line here."""
    make_bank("words", "TEXT", [])
    upload = SimpleUploadedFile("w.txt", b"fine\nbad\x00word\n")
    response = analyst.post("/banks/words/import", {"file": upload})
    assert response.status_code == 400
    assert (
        "must not contain a NUL character"
        in html(response).split('class="line-errors__line">Line 2')[1]
    )
    assert values("words") == []
    make_bank("campus", "LOCATION", [])
    upload = SimpleUploadedFile("c.txt", b'{name: "a\\0b", geohash: 9q}\n')
    response = analyst.post("/banks/campus/import", {"file": upload})
    assert response.status_code == 400
    assert "must not contain a NUL character" in html(response)
    _, errors = parse_text('banks:\n  - {id: x, name: X, kind: REGEX, values: ["a\\0"]}\n')
    assert [(e.path, e.message) for e in errors] == [
        ("banks[0].values[0]", "must not contain a NUL character")
    ]


def test_a_file_over_the_limit_is_refused_unread(analyst, db):
    make_bank("words", "TEXT", [])
    response = analyst.post(
        "/banks/words/import",
        data=b"x",
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(17 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "larger than 16 MB; nothing was imported" in html(response)
    assert values("words") == []
    assert changes("words") == 1


def test_a_huge_paste_of_bad_lines_shows_the_first_hundred(analyst, db):
    make_bank("links", "REGEX", [])
    response = analyst.post("/banks/links/entries", {"entries": "(\n" * 5000})
    assert response.status_code == 400
    page = html(response)
    assert "5000 lines are not valid" in page
    assert page.count('data-line="') == 100
    assert "and 4900 more bad lines" in page


# Locations.


def test_locations_are_added_by_form_with_errors_by_field(analyst, db):
    make_bank("campus", "LOCATION", [{"name": "North campus", "geohash": "9q9p3"}])
    circle = {"name": "Library", "lat": "37.8719", "lng": "-122.2585", "radius": "0.5"}
    assert analyst.post("/banks/campus/locations", circle).status_code == 302
    rect = {"ne_lat": "38", "ne_lng": "-122", "sw_lat": "37", "sw_lng": "-123"}
    assert analyst.post("/banks/campus/locations", rect).status_code == 302
    assert values("campus") == [
        {"name": "North campus", "geohash": "9q9p3"},
        {"name": "Library", "lat": 37.8719, "lng": -122.2585, "radiusMiles": 0.5},
        {
            "bounds": {
                "northeast": {"lat": 38.0, "lng": -122.0},
                "southwest": {"lat": 37.0, "lng": -123.0},
            }
        },
    ]
    page = html(analyst.get("/banks/campus"))
    assert "0.5 mi around 37.8719, -122.2585" in page
    assert "geohash cell 9q9p3" in page

    for data, field, message in [
        (
            {"lat": "1", "lng": "2", "radius": "-1"},
            "radius",
            "radiusMiles must be a positive number",
        ),
        (
            {"ne_lat": "10", "ne_lng": "1", "sw_lat": "20", "sw_lng": "0"},
            "ne_lat",
            "bounds: northeast must be north of southwest",
        ),
        ({"geohash": "9q9a"}, "geohash", "invalid geohash"),
        ({"lat": "1"}, "lng", "This field is required for this kind of place."),
        ({"lat": "1", "geohash": "9q"}, None, "Give one place"),
        ({"lat": "91", "lng": "0", "radius": "1"}, "lat", "less than or equal to 90"),
    ]:
        response = analyst.post("/banks/campus/locations", data)
        assert response.status_code == 400, data
        form = html(response).split('class="location-form"')[1].split("</form>")[0]
        if field:
            block = form.split(f'for="id_location_{field}"')[1].split('<div class="field')[0]
            assert message in block.replace("&#x27;", "'"), (data, block)
        else:
            assert message in form
    assert len(values("campus")) == 3


def test_locations_are_pasted_in_the_files_spelling(analyst, db):
    make_bank("campus", "LOCATION", [])
    pasted = "\n".join(
        [
            "{name: Library, lat: 37.8719, lng: -122.2585, radiusMiles: 0.5}",
            "{name: Broken, lat: 37.8719",
            "{name: Far, lat: 120, lng: 0, radiusMiles: 1}",
            "just words",
        ]
    )
    response = analyst.post("/banks/campus/entries", {"entries": pasted})
    assert response.status_code == 400
    page = html(response)
    assert "3 lines are not valid" in page
    line2 = page.split('data-line="2"')[1].split("</li>")[0]
    assert "not a location: YAML syntax error at column" in line2
    line3 = page.split('data-line="3"')[1].split("</li>")[0]
    assert "lat must be a number from -90 to 90" in line3
    assert "must be a location" in page.split('data-line="4"')[1].split("</li>")[0]
    assert values("campus") == []
    good = "{name: Library, lat: 37.8719, lng: -122.2585, radiusMiles: 0.5}\n{geohash: 9q9p3}\n"
    assert analyst.post("/banks/campus/entries", {"entries": good}).status_code == 302
    assert values("campus") == [
        {"name": "Library", "lat": 37.8719, "lng": -122.2585, "radiusMiles": 0.5},
        {"geohash": "9q9p3"},
    ]
    found = html(analyst.get("/banks/campus?q=LIBR"))
    assert "1 of 2 entries contain “LIBR”" in found
    assert "Library" in found.split("<tbody>")[1]
    assert "1 of 2 entries" in html(analyst.get("/banks/campus?q=9q9p"))  # a geohash
    # The download reads back as it is.
    download = b"".join(analyst.get("/banks/campus/export").streaming_content).decode()
    assert download == good
    assert analyst.post("/banks/campus/entries", {"entries": download}).status_code == 302
    assert "Skipped: 2 already in the bank" in html(analyst.get("/banks/campus"))


def test_a_yaml_bomb_line_is_an_error_not_a_crash(analyst, db):
    make_bank("campus", "LOCATION", [])
    deep = "[" * 5000 + "]" * 5000
    response = analyst.post("/banks/campus/entries", {"entries": deep})
    assert response.status_code == 400
    assert "Line 1" in html(response)
    assert values("campus") == []


# Removing and downloading.


def test_entries_are_removed_one_or_ticked_and_a_stale_page_removes_nothing(analyst, db):
    bank = make_bank("words", "TEXT", ["a", "b", "c", "d"])
    assert (
        analyst.post("/banks/words/entries/remove", {"version": bank.version, "one": 1}).status_code
        == 302
    )
    assert values("words") == ["a", "c", "d"]
    assert "1 entry removed." in html(analyst.get("/banks/words"))
    stale = analyst.post("/banks/words/entries/remove", {"version": bank.version, "selected": [0]})
    assert stale.status_code == 302
    assert "The bank changed since this page was loaded; nothing was removed." in html(
        analyst.get("/banks/words")
    )
    assert values("words") == ["a", "c", "d"]
    version = Bank.objects.get(pk="words").version
    response = analyst.post(
        "/banks/words/entries/remove", {"version": version, "selected": [0, 2], "q": "a"}
    )
    assert response["Location"] == "/banks/words?q=a"
    assert values("words") == ["c"]
    assert "2 entries removed." in html(analyst.get("/banks/words"))
    bad = analyst.post("/banks/words/entries/remove", {"version": "x", "selected": ["zero"]})
    assert bad.status_code == 302
    assert values("words") == ["c"]
    none = analyst.post("/banks/words/entries/remove", {"version": version + 1})
    assert "tick the entries to remove first" in html(analyst.get(none["Location"]))


def test_the_download_is_one_entry_per_line_and_reads_back(analyst, db):
    make_bank("words", "TEXT", ["free money", "crypto giveaway"])
    response = analyst.get("/banks/words/export")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="words.txt"'
    text = b"".join(response.streaming_content).decode()
    assert text == "free money\ncrypto giveaway\n"
    make_bank("copy", "TEXT", [])
    upload = SimpleUploadedFile("words.txt", text.encode())
    assert analyst.post("/banks/copy/import", {"file": upload}).status_code == 302
    assert values("copy") == values("words")


def test_a_value_with_a_line_break_is_not_downloaded_one_per_line(analyst, db):
    make_bank("words", "TEXT", ["free\nmoney", "ok"])
    response = analyst.get("/banks/words/export")
    assert response.status_code == 302
    assert "1 entry holds a line break" in html(analyst.get("/banks/words"))


# Scale: 100,000 entries.


@pytest.fixture
def big_bank(db):
    """A TEXT bank of 100,000 entries, written in one statement."""
    bank = make_bank("big", "TEXT", [])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_bankentry (bank_id, position, value)"
            " SELECT 'big', n, 'phrase ' || n FROM generate_series(0, 99999) AS n"
        )
    return bank


def timed(client, url: str):
    started = time.perf_counter()
    response = client.get(url)
    return response, time.perf_counter() - started


def test_paging_and_search_at_100000_entries(analyst, big_bank):
    # The budget is 200 ms (issue 10); bench/banks_pages.py measures it on a quiet machine.
    # Here, on a shared test machine, each page must only stay well under a second.
    first, took = timed(analyst, "/banks/big")
    page = html(first)
    assert took < 1.0
    assert "<strong>100000</strong> entries" in page
    assert "showing #1–#50" in page
    assert page.count('name="selected"') == 50
    assert 'href="/banks/big?after=49"' in page
    assert 'rel="prev"' not in page

    last, took = timed(analyst, "/banks/big?last=1")
    assert took < 1.0
    assert "showing #99951–#100000" in html(last)
    assert 'rel="next"' not in html(last)
    assert 'href="/banks/big?before=99950"' in html(last)

    middle, took = timed(analyst, "/banks/big?after=70000")
    assert took < 1.0
    assert "phrase 70001<" in html(middle)
    assert "showing #70002–#70051" in html(middle)
    back = html(analyst.get("/banks/big?before=70001"))
    assert "showing #69952–#70001" in back

    found, took = timed(analyst, "/banks/big?q=PHRASE+99998")
    assert took < 1.0
    assert "1 of 100000 entries contain “PHRASE 99998”" in html(found)
    assert "phrase 99998<" in html(found)
    many = html(analyst.get("/banks/big?q=phrase+1234"))
    assert "11 of 100000 entries contain" in many  # 1234 and 12340..12349
    paged = html(analyst.get("/banks/big?q=phrase+1&after=1999"))
    assert "showing #2001–#2050" not in paged  # the search's own order: 10000, 10001...
    assert "phrase 10000<" in paged
    nothing = html(analyst.get("/banks/big?q=absent"))
    assert "No entry contains “absent”." in nothing
    odd = analyst.get("/banks/big?after=x&before=-3&q=" + "y" * 300)
    assert odd.status_code == 200  # a bad cursor shows the first page, never a 500
    assert "showing #1–#50" in html(odd)


def test_an_entry_added_to_a_100000_entry_bank_is_appended(analyst, big_bank):
    started = time.perf_counter()
    assert analyst.post("/banks/big/entries", {"entry": "wire me bitcoin"}).status_code == 302
    assert time.perf_counter() - started < 10
    assert BankEntry.objects.filter(bank_id="big").count() == 100_001
    assert BankEntry.objects.get(bank_id="big", position=100_000).value == "wire me bitcoin"


# Rules and permissions.

RULES = """
itemTypes:
  - {id: post, name: Post, kind: CONTENT, fields: [{name: text, type: STRING, required: true}]}
actions:
  - {id: label, name: Label, callbackUrl: "http://127.0.0.1:9/label"}
banks:
  - {id: scam-words, name: Scam words, kind: TEXT, values: ["free money"]}
rules:
  - id: scam
    name: Scam
    status: LIVE
    itemTypes: [post]
    actions: [label]
    condition:
      all: [{input: {field: text}, signal: TEXT_MATCHING_CONTAINS_TEXT, banks: [scam-words]}]
"""


def test_a_rule_sees_a_pasted_entry_on_its_next_evaluation(analyst, client, api_key, db):
    document, errors = parse_text(RULES)
    assert not errors
    assert not apply_document(document).errors

    def submit(item_id: str) -> int:
        body = {"items": [{"id": item_id, "typeId": "post", "data": {"text": "wire me bitcoin"}}]}
        response = client.post(
            "/api/v1/items/async/",
            body,
            content_type="application/json",
            headers={"X-API-KEY": api_key},
        )
        assert response.status_code == 202, response.content
        (sid,) = response.json()["submissionIds"]
        evaluate_submissions(submission_ids=[sid])
        return sid

    before = submit("p1")
    assert not ActionExecution.objects.filter(submission_id=before).exists()
    assert (
        analyst.post("/banks/scam-words/entries", {"entries": "wire me bitcoin\n"}).status_code
        == 302
    )
    after = submit("p2")
    assert ActionExecution.objects.filter(submission_id=after, action_id="label").exists()


# accounts.md's role table: the roles holding MUTATE_NON_LIVE_RULES.
MANAGES_BANKS = {"Admin", "Rules Manager", "Analyst"}


@pytest.mark.parametrize("role", sorted(PREDEFINED_ROLES))
def test_only_roles_with_mutate_non_live_rules_edit_banks(client, make_user, role):
    bank = make_bank("words", "TEXT", ["a"])
    client.force_login(make_user(role))
    allowed = role in MANAGES_BANKS
    attempts = [
        client.get("/banks/words"),
        client.get("/banks/words/export"),
        client.post("/banks/new/text", {"name": "Other"}),
        client.post("/banks/words/entries", {"entries": "b"}),
        client.post("/banks/words/entries/remove", {"version": bank.version, "one": 0}),
        client.post("/banks/words", {"name": "Renamed"}),
    ]
    codes = [r.status_code for r in attempts]
    if allowed:
        assert all(code in (200, 302) for code in codes), codes
    else:
        assert codes == [403] * len(codes)
        assert values("words") == ["a"]
        assert list(Bank.objects.values_list("pk", "name")) == [("words", "Words")]


def test_coop_banks_import_takes_the_same_files(db, tmp_path):
    make_bank("links", "REGEX", ["a"])
    bad = tmp_path / "bad.txt"
    bad.write_text(f"b\n{BAD_PATTERN}\n")
    with pytest.raises(CommandError) as refused:
        call_command("banks", "import", "links", str(bad))
    assert str(refused.value) == f"{bad}:2: {apply_message(BAD_PATTERN)}"
    assert values("links") == ["a"]
    good = tmp_path / "good.txt"
    good.write_text("a\nb\nb\n")
    out = io.StringIO()
    call_command("banks", "import", "links", str(good), stdout=out)
    assert out.getvalue().strip() == (
        "links: 1 new entry added. Skipped: 1 repeated line and 1 already in the bank."
    )
    assert values("links") == ["a", "b"]
    assert ConfigChange.objects.filter(object_id="links").first().source == "config-file"
