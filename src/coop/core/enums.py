"""The one definition of every enumerated value stored or read from the configuration file.

Plain StrEnums (no Django), so the pure core, the config-file schema (`schema.enum(*Enum)`) and
the models (`choices=Enum.choices`) all derive from the same class. `Choices` adds what Django's
TextChoices offered the models and forms: a `label` per member (the name in title case unless
given as the second element) and `Enum.choices`, the (value, label) pairs of a `choices=`.
Members are `str`, so they compare equal to the strings the database and the file hold.
"""

from __future__ import annotations

import enum
from enum import EnumType, StrEnum


class _ChoicesType(EnumType):
    @property
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]  # type: ignore[attr-defined]

    @property
    def values(cls) -> list[str]:
        return [member.value for member in cls]  # type: ignore[attr-defined]


class Choices(StrEnum, metaclass=_ChoicesType):
    """`NAME = "VALUE"` or `NAME = "VALUE", "Label"`."""

    _label_: str | None

    def __new__(cls, value: str, label: str | None = None) -> Choices:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label_ = label
        return member

    @property
    def label(self) -> str:
        return self._label_ if self._label_ is not None else self.name.replace("_", " ").title()

    # The class is callable: Django templates must not call it when it is in a context.
    do_not_call_in_templates = enum.nonmember(True)


# Catalog (rules.md: item types, policies, banks) -------------------------------------------


class ItemKind(Choices):
    CONTENT = "CONTENT"
    USER = "USER"
    THREAD = "THREAD"


class Penalty(Choices):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    SEVERE = "SEVERE"


class ParameterType(Choices):
    """The type of a custom action's parameter."""

    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"


class BankKind(Choices):
    TEXT = "TEXT"
    REGEX = "REGEX"
    LOCATION = "LOCATION"
    HASH = "HASH"


class ChangeOperation(Choices):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


# Rules ------------------------------------------------------------------------------------


class RuleStatus(Choices):
    LIVE = "LIVE"
    BACKGROUND = "BACKGROUND"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


class RoutingKind(Choices):
    ROUTING = "ROUTING"
    APPEAL = "APPEAL"


class Environment(Choices):
    LIVE = "LIVE"
    BACKGROUND = "BACKGROUND"
    SYNC = "SYNC"  # LIVE rules run before answering POST /content with sync: true


# Review -----------------------------------------------------------------------------------


class QueueOrder(Choices):
    FIFO = "FIFO"
    MOST_REPORTS = "MOST_REPORTS"
    PRIORITY = "PRIORITY"


class ClearDisposition(Choices):
    """What "Clear other reports" does with the item's other pending jobs."""

    NONE = "", "Off"
    SAME_DECISION = "SAME_DECISION", "Close with the same decision"
    IGNORE = "IGNORE", "Close as ignored"


class ClearScope(Choices):
    THIS_QUEUE = "THIS_QUEUE", "This queue"
    ALL_QUEUES = "ALL_QUEUES", "All queues"


class JobKind(Choices):
    DEFAULT = "DEFAULT"
    APPEAL = "APPEAL"
    NCMEC = "NCMEC"


class JobSource(Choices):
    REPORT = "REPORT"
    RULE = "RULE"
    APPEAL = "APPEAL"
    MANUAL = "MANUAL"
    API = "API"
    MOVE = "MOVE"


class JobStatus(Choices):
    PENDING = "PENDING"
    DECIDED = "DECIDED"
    INVALIDATED = "INVALIDATED"


class DecisionType(Choices):
    ACTION = "ACTION"
    IGNORE = "IGNORE"
    MOVE = "MOVE"
    NCMEC = "NCMEC"
    AUTOMATIC_CLOSE = "AUTOMATIC_CLOSE"
    APPEAL_ACCEPT = "APPEAL_ACCEPT"
    APPEAL_REJECT = "APPEAL_REJECT"
    INVALIDATED = "INVALIDATED"
    NCMEC_REPORT = "NCMEC_REPORT"  # Submit to NCMEC, on an NCMEC job


class DecisionSource(Choices):
    """Where a Recent Decisions record comes from (review.md: every decision and every manual
    action is logged)."""

    REVIEW = "REVIEW"  # a reviewer's decision on a job (and automatic closes of jobs)
    API = "API", "API"  # POST /api/v1/actions/
    BULK = "BULK", "Bulk action"
    RETROACTION = "RETROACTION"
    INVESTIGATION = "INVESTIGATION"  # an action taken from the investigation page


# Enforcement ------------------------------------------------------------------------------


class ExecutionSource(Choices):
    RULE = "RULE"
    REVIEW = "REVIEW"
    BULK = "BULK"
    API = "API"
    STRIKE = "STRIKE"
    RETROACTION = "RETROACTION"
    MANUAL = "MANUAL"


class DeliveryEvent(Choices):
    ACTION = "action"
    APPEAL_DECISION = "appeal-decision"
    IGNORE = "ignore"
    PARTIAL_ITEMS = "partial-items"
    NCMEC_ADDITIONAL_INFO = "ncmec-additional-info"
    NCMEC_PRESERVATION = "ncmec-preservation"


class DeliveryStatus(Choices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED", "Failed (retrying)"
    DEAD = "DEAD"


# Ingest, child safety, accounts -----------------------------------------------------------


class SubmissionSource(Choices):
    API = "API"  # items/async and content
    REPORT = "REPORT"  # reported item, thread or additional items of a report
    APPEAL = "APPEAL"
    PARTIAL_ITEMS = "PARTIAL_ITEMS"


class NcmecReportStatus(Choices):
    """A CyberTip report's life in the worker's state machine (review.md, NCMEC)."""

    QUEUED = "QUEUED"  # waiting for the worker
    RUNNING = "RUNNING"
    SUBMITTED = "SUBMITTED"  # `/finish` accepted (preservation may still be pending)
    FAILED = "FAILED"  # stopped at `step`; Retry resumes there


class IncidentType(Choices):
    """The eight CyberTip incident types, as NCMEC spells them on the wire."""

    CHILD_PORNOGRAPHY = (
        "Child Pornography (possession, manufacture, and distribution)",
        "Child pornography (possession, manufacture, and distribution)",
    )
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking", "Child sex trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism", "Child sex tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation", "Child sexual molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name", "Misleading domain name"
    MISLEADING_WORDS_OR_IMAGES = (
        "Misleading Words or Digital Images on the Internet",
        "Misleading words or digital images on the Internet",
    )
    ONLINE_ENTICEMENT = (
        "Online Enticement of Children for Sexual Acts",
        "Online enticement of children for sexual acts",
    )
    UNSOLICITED_OBSCENE_MATERIAL = (
        "Unsolicited Obscene Material Sent to a Child",
        "Unsolicited obscene material sent to a child",
    )


class IndustryClassification(Choices):
    """The industry categorisation of a reported file (A1, A2, B1, B2)."""

    A1 = "A1", "A1: prepubescent, sex act"
    A2 = "A2", "A2: prepubescent, lascivious exhibition"
    B1 = "B1", "B1: pubescent, sex act"
    B2 = "B2", "B2: pubescent, lascivious exhibition"


class FileAnnotation(Choices):
    """CyberTip file annotations; the value is the XML element name."""

    ANIME_DRAWING_VIRTUAL_HENTAI = "animeDrawingVirtualHentai", "Anime, drawing or virtual hentai"
    POTENTIAL_MEME = "potentialMeme", "Potential meme"
    VIRAL = "viral", "Viral"
    POSSIBLE_SELF_PRODUCTION = "possibleSelfProduction", "Possible self-production"
    PHYSICAL_HARM = "physicalHarm", "Physical harm"
    VIOLENCE_GORE = "violenceGore", "Violence or gore"
    BESTIALITY = "bestiality", "Bestiality"
    LIVE_STREAMING = "liveStreaming", "Live streaming"
    INFANT = "infant", "Infant"
    GENERATIVE_AI = "generativeAi", "Generative AI"


class InternetDetailType(Choices):
    WEB_PAGE = "WEB_PAGE"
    EMAIL = "EMAIL"
    NEWSGROUP = "NEWSGROUP"
    CHAT_IM = "CHAT_IM", "Chat / instant messaging"
    ONLINE_GAMING = "ONLINE_GAMING"
    CELL_PHONE = "CELL_PHONE"
    NON_INTERNET = "NON_INTERNET"
    PEER_TO_PEER = "PEER_TO_PEER", "Peer to peer"


class MediaReviewMode(Choices):
    """How many media of an NCMEC job the reviewer must classify before submitting."""

    ALL = "ALL", "Every media item"
    MINIMUM = "MINIMUM", "A minimum number"


class ColorScheme(Choices):
    NONE = "NONE", "Full colour"
    GRAYSCALE = "GRAYSCALE", "Grayscale"
    SEPIA = "SEPIA", "Sepia"
