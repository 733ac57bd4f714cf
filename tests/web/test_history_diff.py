"""coop.config.history: the summary and the diff the history page shows (no database)."""

from __future__ import annotations

import time

from coop.config.history import MAX_LINES, SUMMARY_LENGTH, diff, summarize

ITEM_TYPE = {
    "id": "user",
    "name": "User",
    "kind": "USER",
    "fields": [
        {"name": "name", "type": "STRING", "required": True},
        {"name": "avatar", "type": "IMAGE", "required": False},
    ],
    "roles": {"displayName": "name"},
}


def shown(before, after) -> list[str]:
    return [f"{line.sign}{line.text}" for line in diff(before, after).lines]


def test_a_nested_change_says_where_it_is():
    after = {**ITEM_TYPE, "fields": [ITEM_TYPE["fields"][0], {**ITEM_TYPE["fields"][1]}]}
    after["fields"][1]["required"] = True
    lines = shown(ITEM_TYPE, after)
    assert lines[0] == "@fields › name: avatar"
    assert "-  required: false" in lines
    assert "+  required: true" in lines
    assert summarize(ITEM_TYPE, after) == "fields"


def test_created_and_deleted_objects():
    assert summarize(None, ITEM_TYPE) == "created"
    assert summarize(ITEM_TYPE, None) == "deleted"
    assert "+name: User" in shown(None, ITEM_TYPE)
    assert "-name: User" in shown(ITEM_TYPE, None)
    assert all(line.sign == "+" or line.sign == "@" for line in diff(None, ITEM_TYPE).lines)


def test_secrets_show_their_variable_and_encrypted_credentials_never_show():
    before = {
        "headers": {"Authorization": {"secret": "SECRET_A"}},
        "password": {"encrypted": "gA1"},
    }
    after = {"headers": {"Authorization": {"secret": "SECRET_B"}}, "password": {"encrypted": "gA2"}}
    lines = shown(before, after)
    assert "-  Authorization: !secret SECRET_A" in lines
    assert "+  Authorization: !secret SECRET_B" in lines
    assert not any("gA1" in line or "gA2" in line for line in lines)
    assert summarize(before, after) == "headers.Authorization, password"


def test_the_summary_counts_list_entries_and_stays_short():
    assert summarize({"values": ["a", "b", "a"]}, {"values": ["a", "c"]}) == "values (+1 −2)"
    assert summarize({"values": ["a", "b"]}, {"values": ["b", "a"]}) == "values (reordered)"
    wide_before = {f"key{i:03}": 0 for i in range(200)}
    wide_after = {key: 1 for key in wide_before}
    text = summarize(wide_before, wide_after)
    assert len(text) <= SUMMARY_LENGTH
    assert text.endswith(" …")
    one_long_key = summarize({"k" * 400: 0}, {"k" * 400: 1})
    assert len(one_long_key) <= SUMMARY_LENGTH


def test_a_huge_list_costs_linear_work_and_shows_a_bounded_diff():
    hashes = [f"{i:064x}" for i in range(100_000)]
    started = time.perf_counter()
    result = diff({"hashes": hashes}, {"hashes": [*hashes[3:], "f" * 64]})
    elapsed = time.perf_counter() - started
    assert elapsed < 2  # measured ~0.2 s; difflib would be quadratic here
    assert result.lines[0].text == "hashes: 3 removed, 1 added"
    assert [line.sign for line in result.lines[1:]] == ["-", "-", "-", "+"]
    assert not result.aligned
    created = diff(None, {"hashes": hashes})
    assert len(created.lines) == MAX_LINES
    assert created.omitted == 100_000 - (MAX_LINES - 1)
