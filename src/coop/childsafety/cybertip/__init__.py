"""NCMEC's CyberTip reporting API: the client and the XML documents it exchanges."""

from coop.childsafety.cybertip.client import (
    PRODUCTION_URL,
    TEST_URL,
    CyberTipClient,
    CyberTipError,
    base_url,
)
from coop.childsafety.cybertip.documents import (
    Answer,
    ContactPerson,
    Email,
    FileDocument,
    IpEvent,
    ReportDocument,
    ReportedPerson,
    Reporter,
    file_details_xml,
    report_xml,
)

__all__ = [
    "PRODUCTION_URL",
    "TEST_URL",
    "Answer",
    "ContactPerson",
    "CyberTipClient",
    "CyberTipError",
    "Email",
    "FileDocument",
    "IpEvent",
    "ReportDocument",
    "ReportedPerson",
    "Reporter",
    "base_url",
    "file_details_xml",
    "report_xml",
]
