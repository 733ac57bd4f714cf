"""The README's environment table claims only what the code does, and documents everything the
settings read from the environment."""

from __future__ import annotations

import re
from pathlib import Path

from coop.core.enums import DeliveryEvent
from coop.enforcement.probe import TEST_EVENT
from coop.integrations.providers import SIGNAL_EVENT

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "coop"
SETTINGS = SRC / "settings.py"
# Modules whose environment variables are the deployer's to set (the demo's and the test
# plugin's are handed from process to process, not configuration).
USER_FACING = [SETTINGS, *sorted((SRC / "management" / "commands").glob("*.py"))]

NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
# Reads only: env("X"…), env_int/env_list(…), os.environ.get("X"…), os.getenv("X"…) and
# os.environ["X"] when not assigned to. Writes such as setdefault() or os.environ["X"] = … do not
# count: a variable nothing reads has no effect.
READS = [
    re.compile(rf"\benv(?:_[a-z]+)?\(\s*{NAME}"),
    re.compile(rf"\bos\.environ\.get\(\s*{NAME}"),
    re.compile(rf"\bos\.getenv\(\s*{NAME}"),
    re.compile(rf"\bos\.environ\[\s*{NAME}\s*\](?!\s*=[^=])"),
]


def read_variables(path: Path) -> set[str]:
    text = path.read_text()
    return {match.group(1) for pattern in READS for match in pattern.finditer(text)}


def documented_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Configuration (environment variables)", 1)[1]
    section = section.split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the README's environment table was not found"
    names = set()
    for row in rows:
        first_cell = row.split("|")[1]
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_the_patterns_see_reads_and_not_writes():
    sample = """
x = env("A_ONE", "d"); y = env_int("A_TWO", 3); z = env_list("A_THREE")
os.environ.get("A_FOUR"); os.getenv('A_FIVE'); os.environ["A_SIX"]
os.environ.setdefault("NOT_ONE", "1"); os.environ["NOT_TWO"] = url; environ("NOT_THREE")
"""
    found = {m.group(1) for pattern in READS for m in pattern.finditer(sample)}
    assert found == {"A_ONE", "A_TWO", "A_THREE", "A_FOUR", "A_FIVE", "A_SIX"}


def test_every_documented_variable_is_read_by_the_code():
    read_anywhere = set()
    for path in SRC.rglob("*.py"):
        read_anywhere |= read_variables(path)
    unread = documented_variables() - read_anywhere
    assert not unread, f"README documents variables nothing reads: {sorted(unread)}"


def test_every_variable_the_settings_read_is_documented():
    read = set()
    for path in USER_FACING:
        read |= read_variables(path)
    assert {"COOP_SECRET_KEY", "COOP_BASE_URL", "DATABASE_URL"} <= read  # the patterns work
    undocumented = {name for name in read if name.startswith("COOP_")} - documented_variables()
    assert not undocumented, f"README's table lacks: {sorted(undocumented)}"


DOCS = ROOT / "docs"
NOT_BUILT = [
    "Settings → Users and roles",
]


def test_pages_that_do_not_exist_are_marked_not_yet_available():
    for path in sorted(DOCS.glob("*.md")):
        text = " ".join(path.read_text().split())  # one line, single spaces
        for page in NOT_BUILT:
            for match in re.finditer(re.escape(page), text):
                nearby = text[match.start() : match.end() + 80]
                assert "not yet available" in nearby, f"{path.name}: {page!r} without the mark"


def test_webhooks_doc_lists_exactly_the_events_coop_sends():
    text = (DOCS / "webhooks.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `Coop-Event`"))
    sent = {str(event) for event in DeliveryEvent} | {SIGNAL_EVENT, TEST_EVENT}
    assert set(re.findall(r"`([a-z-]+)`", row)) - {"Coop-Event"} == sent
