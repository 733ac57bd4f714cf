"""Perceptual image hashing for HASH banks: PDQ hashes and an exact distance index.

`pdq` computes, parses and compares PDQ hashes; `index` finds every bank hash within a
distance of a query hash. Neither imports Django (the pure core, docs/architecture.md).
"""

from coop.signals.hashing.index import HashIndex, Match, brute_force
from coop.signals.hashing.pdq import (
    DEFAULT_DISTANCE,
    HASH_HEX_LENGTH,
    MIN_QUALITY,
    ImageError,
    InvalidHash,
    PdqHash,
    bytes_to_hash,
    decode_image,
    distance,
    hash_image,
    hash_pixels,
    hash_to_bytes,
    is_hash,
    parse_hash,
    parse_hash_lines,
)

__all__ = [
    "DEFAULT_DISTANCE",
    "HASH_HEX_LENGTH",
    "MIN_QUALITY",
    "HashIndex",
    "ImageError",
    "InvalidHash",
    "Match",
    "PdqHash",
    "brute_force",
    "bytes_to_hash",
    "decode_image",
    "distance",
    "hash_image",
    "hash_pixels",
    "hash_to_bytes",
    "is_hash",
    "parse_hash",
    "parse_hash_lines",
]
