"""HMA bank names for Coop banks: `COOP_<NAME>`, as HMA accepts them (`[A-Z_][A-Z0-9_]*`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

PREFIX = "COOP_"
MAX_LENGTH = 255  # HMA's bank name column
_OUTSIDE = re.compile(r"[^A-Z0-9_]+")
_RUNS = re.compile(r"_+")


def normalise(text: str) -> str:
    """Upper case, accents dropped, every other character outside [A-Z0-9_] an underscore,
    runs of underscores collapsed and trimmed ("Known images – 2024" -> "KNOWN_IMAGES_2024")."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return _RUNS.sub("_", _OUTSIDE.sub("_", ascii_text)).strip("_")


def bank_name(name: str, bank_id: str) -> str:
    """The HMA name a Coop bank asks for: from its name, or its id when the name has no
    letter or digit HMA accepts."""
    return (PREFIX + (normalise(name) or normalise(bank_id)))[: MAX_LENGTH - 8]


def unclaimed(wanted: str, taken: Container[str]) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`... : the first not in `taken`."""
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}_{n}"
    return candidate


def is_variant(name: str, wanted: str) -> bool:
    """Whether `name` is `wanted` or one of its `unclaimed` variants (no rename needed)."""
    if name == wanted:
        return True
    head, _, tail = name.rpartition("_")
    return head == wanted and tail.isdigit()


def exchange_name(bank: str, api: str) -> str:
    """The HMA name of the exchange attached to HMA bank `bank` (also the bank it fills)."""
    return f"{bank}_{normalise(api)}"[:MAX_LENGTH]
