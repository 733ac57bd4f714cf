"""Field types and field roles of item type schemas (spec: rules.md, item types)."""

from __future__ import annotations

from enum import StrEnum

from coop.core.enums import ItemKind


class FieldType(StrEnum):
    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    ID = "ID"
    DATETIME = "DATETIME"
    GEOHASH = "GEOHASH"
    URL = "URL"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    MEDIA = "MEDIA"
    RELATED_ITEM = "RELATED_ITEM"
    POLICY_ID = "POLICY_ID"
    IP_ADDRESS = "IP_ADDRESS"
    EMAIL_ADDRESS = "EMAIL_ADDRESS"
    ARRAY = "ARRAY"
    MAP = "MAP"


CONTAINER_TYPES = frozenset({FieldType.ARRAY, FieldType.MAP})
SCALAR_TYPES = frozenset(FieldType) - CONTAINER_TYPES
MEDIA_TYPES = frozenset({FieldType.IMAGE, FieldType.VIDEO, FieldType.AUDIO, FieldType.MEDIA})
# Types for which "" counts as absent, like null.
EMPTY_STRING_IS_ABSENT = MEDIA_TYPES | {
    FieldType.URL,
    FieldType.GEOHASH,
    FieldType.DATETIME,
    FieldType.IP_ADDRESS,
}


class FieldRole(StrEnum):
    CREATOR_ID = "creatorId"
    THREAD_ID = "threadId"
    PARENT_ID = "parentId"
    CREATED_AT = "createdAt"
    DISPLAY_NAME = "displayName"
    IS_DELETED = "isDeleted"
    IP_ADDRESS = "ipAddress"
    PROFILE_ICON = "profileIcon"
    BACKGROUND_IMAGE = "backgroundImage"
    EMAIL = "email"


# role -> (the scalar field type it must name, the item kinds that may use it; None = all kinds)
ROLE_CONSTRAINTS: dict[FieldRole, tuple[FieldType, frozenset[str] | None]] = {
    FieldRole.CREATOR_ID: (FieldType.RELATED_ITEM, frozenset({ItemKind.CONTENT, ItemKind.THREAD})),
    FieldRole.THREAD_ID: (FieldType.RELATED_ITEM, frozenset({ItemKind.CONTENT})),
    FieldRole.PARENT_ID: (FieldType.RELATED_ITEM, frozenset({ItemKind.CONTENT})),
    FieldRole.CREATED_AT: (FieldType.DATETIME, None),
    FieldRole.DISPLAY_NAME: (FieldType.STRING, None),
    FieldRole.IS_DELETED: (FieldType.BOOLEAN, None),
    FieldRole.IP_ADDRESS: (FieldType.IP_ADDRESS, None),
    FieldRole.PROFILE_ICON: (FieldType.IMAGE, frozenset({ItemKind.USER})),
    FieldRole.BACKGROUND_IMAGE: (FieldType.IMAGE, frozenset({ItemKind.USER})),
    FieldRole.EMAIL: (FieldType.EMAIL_ADDRESS, frozenset({ItemKind.USER})),
}
