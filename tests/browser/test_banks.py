"""The Banks pages in a real browser, as an analyst with an external HMA: create a hash bank,
add an image and import a file, see the HMA sync, attach an NCMEC exchange, delete. Screenshots
of the list, the bank page (fresh, with errors, synced with an exchange), the exchange form and
the delete confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coop.accounts.services import create_user
from coop.catalog.models import Bank
from coop.config.services import save_object
from coop.signals.hashing import hash_image
from hma.conftest import run_jobs, running_fake
from rules.test_image_hashes import PHOTO

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
A = "a" * 64
TEST_ENV = "https://exttest.cybertip.org/hashsharing"


@pytest.fixture
def hma(settings):
    yield from running_fake(settings)


@pytest.fixture
def analyst(page, sign_in, hma):
    assert save_object(
        "banks", {"id": "scam", "name": "Scam words", "kind": "TEXT", "values": ["x"]}
    ).ok
    create_user("analyst@example.com", "Analyst", PASSWORD)
    sign_in("analyst@example.com", PASSWORD)
    return page


def test_a_hash_bank_from_creation_to_deletion(analyst, hma, screenshot_dir, tmp_path, monkeypatch):
    page = analyst
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Banks").click()
    expect(page.get_by_role("heading", name="Banks")).to_be_visible()
    page.get_by_role("link", name="New hash bank").click()
    page.get_by_label("Name").fill("Known images")
    page.get_by_label("Match distance").fill("24")
    page.get_by_role("button", name="Create bank").click()
    expect(page.get_by_role("heading", name="Known images")).to_be_visible()
    expect(page.get_by_text("Hash bank “Known images” is created.")).to_be_visible()

    photo = tmp_path / "photo.png"
    photo.write_bytes(PHOTO)
    page.get_by_label("Image", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Hash and add").click()
    expected = hash_image(PHOTO)
    expect(
        page.get_by_text(f"Hash {expected.hash} (PDQ quality {expected.quality}) added")
    ).to_be_visible()

    bad = tmp_path / "hashes.txt"
    bad.write_text(f"{A}\nnot-a-hash\n")
    page.get_by_label("Hash file").set_input_files(str(bad))
    page.get_by_role("button", name="Import hashes").click()
    expect(page.get_by_text("line 2: not a PDQ hash")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-import-error.png", full_page=True)
    good = tmp_path / "good.txt"
    good.write_text(f"# exported\n{A}\n")
    page.get_by_label("Hash file").set_input_files(str(good))
    page.get_by_role("button", name="Import hashes").click()
    expect(page.get_by_text("1 new hash added.")).to_be_visible()
    assert list(Bank.objects.get(pk="known-images").entries.values_list("value", flat=True)) == [
        expected.hash,
        A,
    ]

    # The worker syncs with HMA after each change (run here in the test process).
    run_jobs()
    page.reload()
    expect(page.get_by_text("In sync").first).to_be_visible()
    assert hma.bank_signals("COOP_KNOWN_IMAGES") == [expected.hash, A]

    page.get_by_role("link", name="Attach exchange…").click()
    page.get_by_label("Exchange").select_option("ncmec")
    page.get_by_role("button", name="Choose").click()
    page.get_by_label("Environment").select_option(TEST_ENV)
    page.get_by_label("User").fill("esp-user")
    page.get_by_label("Password").fill("hunter2-secret")
    page.screenshot(path=f"{screenshot_dir}/bank-exchange-form.png", full_page=True)
    page.get_by_role("button", name="Attach exchange").click()
    expect(page.get_by_text("NCMEC hash sharing is attached")).to_be_visible()
    run_jobs()
    hma.fetched("COOP_KNOWN_IMAGES_NCMEC", ["c" * 64, "d" * 64, "e" * 64])
    page.reload()
    page.get_by_role("button", name="Refresh status").click()
    expect(page.get_by_text("COOP_KNOWN_IMAGES_NCMEC")).to_be_visible()
    assert "hunter2-secret" not in page.content()
    page.screenshot(path=f"{screenshot_dir}/bank.png", full_page=True)

    nav.get_by_role("link", name="Banks").click()
    expect(page.get_by_role("link", name="Known images")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/banks.png", full_page=True)

    page.get_by_role("link", name="Known images").click()
    page.get_by_role("link", name="Delete bank…").click()
    page.screenshot(path=f"{screenshot_dir}/bank-delete.png", full_page=True)
    page.get_by_role("button", name="Delete bank").click()
    expect(page.get_by_text("Bank “Known images” is deleted.")).to_be_visible()
    run_jobs()
    assert "COOP_KNOWN_IMAGES" not in hma.banks


def test_the_bank_form_works_from_the_keyboard(analyst, hma, screenshot_dir):
    page = analyst
    page.goto("/banks/new")
    page.get_by_label("Name").focus()
    page.keyboard.type("Keyboard bank")
    page.screenshot(path=f"{screenshot_dir}/bank-new.png", full_page=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Keyboard bank")).to_be_visible()
    expect(page.get_by_text("Not synced yet").first).to_be_visible()
    expect(page.get_by_role("button", name="Sync now")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-created.png", full_page=True)
    run_jobs()
    assert "COOP_KEYBOARD_BANK" in hma.banks


@pytest.fixture
def analyst_only(page, sign_in):
    create_user("analyst@example.com", "Analyst", PASSWORD)
    sign_in("analyst@example.com", PASSWORD)
    return page


def test_a_regex_bank_paste_with_one_bad_line_then_fixed_and_searched(analyst_only, screenshot_dir):
    page = analyst_only
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Banks").click()
    page.get_by_role("link", name="New regex bank").click()
    page.get_by_label("Name").fill("Short links")
    page.screenshot(path=f"{screenshot_dir}/bank-new-regex.png", full_page=True)
    page.get_by_role("button", name="Create bank").click()
    expect(page.get_by_text("Regex bank “Short links” is created.")).to_be_visible()
    expect(page.get_by_text("No entries yet")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-regex-empty.png", full_page=True)

    entries = page.get_by_label("Paste entries")
    entries.fill(
        "https?://bit\\.ly/\\S+\nhttps?://t\\.co/\\S+\n(tinyurl\\.com\nhttps?://goo\\.gl/\\S+\n"
    )
    page.get_by_role("button", name="Add entries").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was added: 1 line is not valid.")
    expect(alert).to_contain_text("invalid regex: missing )")
    expect(page.get_by_text("No entries yet")).to_be_visible()  # nothing saved
    # The bad line's button selects it in the pasted text, to correct it in place.
    page.get_by_role("button", name="Line 3: select it in the entries").click()
    expect(entries).to_be_focused()
    selected = entries.evaluate("a => a.value.slice(a.selectionStart, a.selectionEnd)")
    assert selected == "(tinyurl\\.com"
    page.screenshot(path=f"{screenshot_dir}/bank-paste-error.png", full_page=True)
    page.keyboard.type("tinyurl\\.com/\\S+")
    page.get_by_role("button", name="Add entries").click()
    expect(page.get_by_text("4 new entries added.")).to_be_visible()
    assert Bank.objects.get(pk="short-links").entries.count() == 4

    page.get_by_label("New entry").fill("https?://bit\\.ly/\\S+")
    page.keyboard.press("Enter")
    expect(page.get_by_text("0 new entries added. Skipped: 1 already in the bank.")).to_be_visible()

    search = page.get_by_role("search", name="Search the entries")
    search.get_by_label("Search entries").fill("GOO")
    search.get_by_label("Search entries").press("Enter")
    expect(page.get_by_text("1 of 4 entries contain “GOO”")).to_be_visible()
    rows = page.locator(".entries-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("https?://goo\\.gl/\\S+")
    page.screenshot(path=f"{screenshot_dir}/bank-regex-search.png", full_page=True)
    rows.first.get_by_role("button", name="Remove entry #4").click()
    expect(page.get_by_text("1 entry removed.")).to_be_visible()
    expect(page.get_by_text("No entry contains “GOO”.")).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    expect(page.locator(".entries-table tbody tr")).to_have_count(3)
    page.screenshot(path=f"{screenshot_dir}/bank-regex.png", full_page=True)


def test_a_location_bank_with_its_form_and_a_large_text_bank(analyst_only, screenshot_dir):
    page = analyst_only
    assert save_object(
        "banks",
        {
            "id": "scam-words",
            "name": "Scam words",
            "kind": "TEXT",
            "values": [f"scam phrase {n}" for n in range(1, 1201)],
        },
    ).ok
    page.goto("/banks/scam-words")
    expect(page.get_by_text("1200 entries; showing #1–#50.")).to_be_visible()
    page.get_by_role("navigation", name="Pages of entries", exact=True).get_by_role(
        "link", name="Last"
    ).click()
    expect(page.get_by_text("showing #1151–#1200")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-text-last-page.png", full_page=True)

    page.goto("/banks/new/location")
    page.get_by_label("Name").fill("Campuses")
    page.get_by_role("button", name="Create bank").click()
    expect(page.get_by_role("heading", name="Campuses")).to_be_visible()
    form = page.locator("form.location-form")
    form.get_by_label("Name").fill("Library")
    form.get_by_label("Latitude", exact=True).fill("37.8719")
    form.get_by_label("Longitude", exact=True).fill("-122.2585")
    form.get_by_label("Radius (miles)").fill("-1")
    form.get_by_role("button", name="Add location").click()
    expect(page.get_by_text("radiusMiles must be a positive number")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-location-error.png", full_page=True)
    page.locator("form.location-form").get_by_label("Radius (miles)").fill("0.5")
    page.locator("form.location-form").get_by_role("button", name="Add location").click()
    expect(page.get_by_text("1 new entry added.")).to_be_visible()
    expect(page.get_by_text("0.5 mi around 37.8719, -122.2585")).to_be_visible()
    page.get_by_label("Paste entries").fill("{name: North campus, geohash: 9q9p3}\n")
    page.get_by_role("button", name="Add entries").click()
    expect(page.get_by_text("geohash cell 9q9p3")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-location.png", full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Banks").click()
    expect(page.get_by_role("link", name="Campuses")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/banks-all-kinds.png", full_page=True)
    page.get_by_role("link", name="Campuses").click()
    page.get_by_role("link", name="Delete bank…").click()
    expect(page.get_by_text("Its 2 entries will be gone.")).to_be_visible()
    page.screenshot(path=f"{screenshot_dir}/bank-location-delete.png", full_page=True)
    page.get_by_role("button", name="Delete bank").click()
    expect(page.get_by_text("Bank “Campuses” is deleted.")).to_be_visible()
    assert not Bank.objects.filter(pk="campuses").exists()
