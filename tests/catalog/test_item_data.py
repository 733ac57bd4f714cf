"""Validation and coercion of item data (rules.md, item types): pure functions, no database."""

from __future__ import annotations

import pytest

from coop.catalog.item_data import ItemDataError, ItemRoles, ItemSchema, compiled_schema

FIELDS = [
    {"name": "text", "type": "STRING", "required": True},
    {"name": "n", "type": "NUMBER"},
    {"name": "flag", "type": "BOOLEAN"},
    {"name": "ref", "type": "ID"},
    {"name": "at", "type": "DATETIME"},
    {"name": "geo", "type": "GEOHASH"},
    {"name": "link", "type": "URL"},
    {"name": "pic", "type": "IMAGE"},
    {"name": "clip", "type": "VIDEO"},
    {"name": "author", "type": "RELATED_ITEM"},
    {"name": "policy", "type": "POLICY_ID"},
    {"name": "ip", "type": "IP_ADDRESS"},
    {"name": "email", "type": "EMAIL_ADDRESS"},
    {"name": "images", "type": "ARRAY", "items": "IMAGE"},
    {"name": "counts", "type": "MAP", "values": "NUMBER"},
    {"name": "thread", "type": "RELATED_ITEM"},
]
ROLES = {"creatorId": "author", "threadId": "thread", "ipAddress": "ip"}


@pytest.fixture
def schema() -> ItemSchema:
    return ItemSchema("post", 1, FIELDS, ROLES)


def error(schema: ItemSchema, data: dict, partial: bool = False) -> ItemDataError:
    with pytest.raises(ItemDataError) as info:
        schema.validate(data, partial=partial)
    return info.value


@pytest.mark.parametrize(
    ("field", "given", "expected"),
    [
        ("n", "42", 42),
        ("n", " 2.5 ", 2.5),
        ("n", 7, 7),
        ("flag", "true", True),
        ("flag", "false", False),
        ("flag", "1", True),
        ("flag", "0", False),
        ("flag", False, False),
        ("ref", 12345, "12345"),
        ("ref", "abc", "abc"),
        ("at", "2024-01-15T10:30:00.000Z", "2024-01-15T10:30:00.000Z"),
        ("geo", "U4PRUYDQQVJ", "u4pruydqqvj"),
        ("link", "https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("pic", "https://cdn.example.com/1.jpg", "https://cdn.example.com/1.jpg"),
        ("clip", {"url": "https://cdn.example.com/v.mp4"}, "https://cdn.example.com/v.mp4"),
        ("author", {"id": 9, "typeId": "user", "extra": 1}, {"id": "9", "typeId": "user"}),
        ("policy", "spam", "spam"),
        ("ip", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("ip", "10.0.0.1", "10.0.0.1"),
        ("email", "someone@example.com", "someone@example.com"),
        (
            "images",
            ["https://a.example/1.png", {"url": "https://a.example/2.png"}, None, ""],
            ["https://a.example/1.png", "https://a.example/2.png"],
        ),
        ("counts", {"likes": "3", "gone": None}, {"likes": 3}),
    ],
)
def test_coercions(schema, field, given, expected):
    assert schema.validate({"text": "t", field: given})[field] == expected


@pytest.mark.parametrize("field", ["link", "pic", "clip", "geo", "at", "ip"])
def test_empty_string_is_absent_for_url_like_types(schema, field):
    assert field not in schema.validate({"text": "t", field: ""})


def test_null_is_absent_and_unknown_keys_are_kept(schema):
    out = schema.validate({"text": "t", "n": None, "extra": {"anything": [1, 2]}})
    assert out == {"text": "t", "extra": {"anything": [1, 2]}}


def test_empty_string_is_a_value_for_strings(schema):
    assert schema.validate({"text": ""})["text"] == ""


def test_required_enforced_in_original_and_not_in_partial(schema):
    exc = error(schema, {"n": 1})
    assert (exc.pointer, exc.message) == ("/text", "`text` is required")
    assert error(schema, {"text": None}).pointer == "/text"
    assert schema.validate({"n": 1}, partial=True) == {"n": 1}


@pytest.mark.parametrize(
    ("data", "pointer", "message_part"),
    [
        ({"text": 5}, "/text", "must be a string"),
        ({"n": "many"}, "/n", "must be a number"),
        ({"n": "nan"}, "/n", "finite"),
        ({"n": True}, "/n", "must be a number"),
        ({"flag": "yes"}, "/flag", "boolean"),
        ({"ref": 1.5}, "/ref", "ID"),
        ({"at": "yesterday"}, "/at", "ISO 8601"),
        ({"geo": "abc"}, "/geo", "geohash"),
        ({"link": "ftp://x.example/"}, "/link", "http(s) URL"),
        ({"link": "not a url"}, "/link", "http(s) URL"),
        ({"pic": {"href": "https://x.example"}}, "/pic", "url"),
        ({"author": {"id": "u1"}}, "/author", "typeId"),
        ({"author": "u1"}, "/author", "object"),
        ({"ip": "999.1.1.1"}, "/ip", "IPv4 or IPv6"),
        ({"ip": "fe80::1%eth0"}, "/ip", "IPv4 or IPv6"),
        ({"email": "nobody"}, "/email", "email"),
        ({"images": "https://x.example/1.png"}, "/images", "array"),
        ({"images": ["https://x.example/1.png", 3]}, "/images/1", "URL"),
        ({"counts": {"a/b": "x"}}, "/counts/a~1b", "number"),
        ({"counts": [1]}, "/counts", "object"),
    ],
)
def test_errors_carry_the_field_path(schema, data, pointer, message_part):
    exc = error(schema, {"text": "t", **data})
    assert exc.pointer == pointer
    assert message_part in exc.message


def test_data_must_be_an_object(schema):
    assert error(schema, ["x"]).pointer == ""  # type: ignore[arg-type]


def test_string_length_limit(schema, settings):
    settings.COOP_MAX_STRING_LENGTH = 5
    assert schema.validate({"text": "12345"})["text"] == "12345"
    assert "longer than 5" in error(schema, {"text": "123456"}).message


def test_roles_are_extracted(schema):
    data = schema.validate(
        {
            "text": "t",
            "author": {"id": "u1", "typeId": "user"},
            "thread": {"id": 7, "typeId": "thread"},
            "ip": "192.168.0.1",
        }
    )
    assert schema.roles(data) == ItemRoles("u1", "user", "7", "thread", "192.168.0.1")
    assert schema.roles(schema.validate({"text": "t"})) == ItemRoles()


def test_validate_does_not_mutate_its_input(schema):
    data = {"text": "t", "n": "1", "link": ""}
    schema.validate(data)
    assert data == {"text": "t", "n": "1", "link": ""}


def test_compiled_schemas_are_cached_per_version():
    first = compiled_schema("cached", 1, FIELDS, ROLES)
    assert compiled_schema("cached", 1, [], {}) is first
    second = compiled_schema("cached", 2, [{"name": "x", "type": "NUMBER", "required": True}], {})
    assert second is not first
    assert error(second, {}).pointer == "/x"
