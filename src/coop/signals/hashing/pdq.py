"""PDQ perceptual hashes: computed from image bytes, parsed, formatted and compared.

A PDQ hash is 256 bits, written as 64 lowercase hexadecimal characters, most significant bit
first: the same text HMA and ThreatExchange produce, so hashes move between them unchanged.
The hashing itself is Meta's reference C++ code through the `pdqhash` bindings; Pillow decodes
the image. Like HMA the whole image is hashed at its own resolution (the Jarosz filters
downsample it); unlike HMA the EXIF orientation is applied first, so a photo is hashed the way
it is displayed (`exif_transpose=False` hashes the stored pixels, as HMA does).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
HASH_HEX_LENGTH = HASH_BITS // 4
# The Hamming distance under which two PDQ hashes count as the same image: ThreatExchange's and
# HMA's default, and a HASH bank's default `distance`.
DEFAULT_DISTANCE = 31
# Below this quality (0-100) a hash says little about the image (flat, tiny or blank images):
# ThreatExchange recommends not matching on it.
MIN_QUALITY = 50
# Larger images are refused before their pixels are decoded (a decompression bomb guard).
MAX_PIXELS = 64_000_000
# The formats Pillow may decode here: the common web formats, nothing that runs a helper
# program (EPS) or is rarely seen.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

_HEX_DIGITS = frozenset("0123456789abcdef")
_CANONICAL = re.compile(r"[0-9a-f]{64}")


class InvalidHash(ValueError):
    """Text that is not a PDQ hash; `line` is set when it came from a numbered line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


class ImageError(ValueError):
    """Bytes that cannot be hashed: not an image, a format not accepted, or too large."""


@dataclass(frozen=True, slots=True)
class PdqHash:
    hash: str  # 64 lowercase hex characters
    quality: int  # 0..100

    @property
    def usable(self) -> bool:
        """Whether the hash is good enough to match on (quality >= MIN_QUALITY)."""
        return self.quality >= MIN_QUALITY


def parse_hash(text: str) -> str:
    """The canonical (lowercase) form of a PDQ hash given as text, or InvalidHash."""
    if isinstance(text, str) and _CANONICAL.fullmatch(text):
        return text  # the common case, checked fast
    if not isinstance(text, str):
        raise InvalidHash(f"not a PDQ hash: expected text, got {type(text).__name__}")
    value = text.strip().lower()
    if len(value) != HASH_HEX_LENGTH:
        raise InvalidHash(
            f"not a PDQ hash: expected {HASH_HEX_LENGTH} hexadecimal characters, got {len(value)}"
        )
    bad = next((c for c in value if c not in _HEX_DIGITS), None)
    if bad is not None:
        raise InvalidHash(f"not a PDQ hash: {bad!r} is not a hexadecimal digit")
    return value


def is_hash(text: str) -> bool:
    try:
        parse_hash(text)
    except InvalidHash:
        return False
    return True


def parse_hash_lines(lines: Iterable[str]) -> list[str]:
    """Hashes from one-per-line text (a bank import): blank lines and `#` comments skipped.

    The first bad line raises InvalidHash("line N: not a PDQ hash: ..."), N counted from 1.
    """
    hashes = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            hashes.append(parse_hash(text))
        except InvalidHash as error:
            raise InvalidHash(str(error), line=number) from None
    return hashes


def hash_to_bytes(text: str) -> bytes:
    return bytes.fromhex(parse_hash(text))


def bytes_to_hash(value: bytes) -> str:
    if len(value) != HASH_BYTES:
        raise InvalidHash(f"not a PDQ hash: expected {HASH_BYTES} bytes, got {len(value)}")
    return value.hex()


def distance(a: str, b: str) -> int:
    """The Hamming distance between two PDQ hashes (0..256)."""
    return (int(parse_hash(a), 16) ^ int(parse_hash(b), 16)).bit_count()


def hash_pixels(rgb: np.ndarray) -> PdqHash:
    """The PDQ hash of an RGB image given as a (height, width, 3) uint8 array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageError(f"expected a (height, width, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError("the image is empty")
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    # `bits` holds the most significant bit first (ThreatExchange's text order).
    return PdqHash(np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality))


def decode_image(
    data: bytes, *, exif_transpose: bool = True, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Image bytes as a (height, width, 3) uint8 RGB array (first frame of an animation)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"the image is {width}x{height} pixels, more than the {max_pixels:,} accepted"
                )
            image.load()
            if exif_transpose:
                image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"))
    except UnidentifiedImageError:
        raise ImageError(f"not an image in an accepted format ({', '.join(FORMATS)})") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        if isinstance(error, ImageError):
            raise
        raise ImageError(f"the image cannot be decoded: {error}") from None


def hash_image(
    data: bytes, *, exif_transpose: bool = True, max_pixels: int = MAX_PIXELS
) -> PdqHash:
    """The PDQ hash and quality of an image file's bytes (JPEG, PNG, GIF, WebP, BMP, TIFF)."""
    return hash_pixels(decode_image(data, exif_transpose=exif_transpose, max_pixels=max_pixels))
