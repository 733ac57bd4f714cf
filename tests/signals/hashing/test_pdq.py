"""PDQ hashing of image bytes (invariants) and hash text parsing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from tests.signals.hashing.images import encode, picture

from coop.signals.hashing import (
    MIN_QUALITY,
    ImageError,
    InvalidHash,
    bytes_to_hash,
    distance,
    hash_image,
    hash_pixels,
    hash_to_bytes,
    is_hash,
    parse_hash,
    parse_hash_lines,
)

# hash_pixels(picture()) with pdqhash 0.2.8 (Meta's reference C++): a regression vector.
PINNED = "3b1688f177542f31f09ebd0f88f076997f30808ec91a66f2d8b6111946e72aaf"
HASH = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


# --- hash text ---------------------------------------------------------------------------


def test_parse_canonicalises_case_and_whitespace():
    assert parse_hash(f"  {HASH.upper()}\n") == HASH
    assert is_hash(HASH)
    assert hash_to_bytes(HASH) == bytes.fromhex(HASH)
    assert bytes_to_hash(bytes.fromhex(HASH)) == HASH


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected 64 hexadecimal characters, got 0"),
        (HASH[:-1], "expected 64 hexadecimal characters, got 63"),
        (HASH + "0", "expected 64 hexadecimal characters, got 65"),
        ("g" + HASH[1:], "'g' is not a hexadecimal digit"),
        (HASH[:10] + " " + HASH[11:], "' ' is not a hexadecimal digit"),
        ("0x" + HASH[2:], "'x' is not a hexadecimal digit"),
    ],
)
def test_parse_rejects_with_a_clear_reason(text, message):
    with pytest.raises(InvalidHash, match="not a PDQ hash") as error:
        parse_hash(text)
    assert message in str(error.value)
    assert error.value.line is None
    assert not is_hash(text)


def test_parse_rejects_non_text():
    with pytest.raises(InvalidHash, match="expected text, got bytes"):
        parse_hash(bytes.fromhex(HASH))  # type: ignore[arg-type]
    with pytest.raises(InvalidHash, match="expected 32 bytes, got 31"):
        bytes_to_hash(b"\0" * 31)


def test_lines_skip_blanks_and_comments_and_name_the_bad_line():
    text = f"# exported bank\n{HASH}\n\n  {HASH.upper()}  \n"
    assert parse_hash_lines(text.splitlines()) == [HASH, HASH]
    with pytest.raises(InvalidHash) as error:
        parse_hash_lines([HASH, "", "# note", "deadbeef", HASH])
    assert str(error.value) == "line 4: not a PDQ hash: expected 64 hexadecimal characters, got 8"
    assert error.value.line == 4


def test_distance():
    other = HASH[:-1] + format(int(HASH[-1], 16) ^ 0b1011, "x")
    assert distance(HASH, HASH) == 0
    assert distance(HASH, other) == 3
    assert distance("0" * 64, "f" * 64) == 256
    with pytest.raises(InvalidHash):
        distance(HASH, "nope")


# --- hashing images ------------------------------------------------------------------------


def test_hash_is_64_hex_with_a_quality():
    result = hash_image(encode(picture()))
    assert parse_hash(result.hash) == result.hash
    assert 0 <= result.quality <= 100
    assert result.usable
    assert result.quality >= MIN_QUALITY


def test_bit_order_is_threatexchanges():
    """The hex is ThreatExchange's: the bit vector read most significant bit first."""
    import pdqhash

    bits, _ = pdqhash.compute(picture())
    bin_str = "".join(str(int(b)) for b in bits)
    assert hash_pixels(picture()).hash == f"{int(bin_str, 2):064x}"


def test_regression_vector():
    """A pinned hash of a synthetic picture: catches a change of library or bit order."""
    assert hash_pixels(picture()).hash == PINNED


def test_re_encoding_keeps_the_hash_close():
    pixels = picture()
    png = hash_image(encode(pixels, "PNG")).hash
    assert distance(png, hash_image(encode(pixels, "JPEG", quality=95)).hash) <= 8
    assert distance(png, hash_image(encode(pixels, "JPEG", quality=50)).hash) <= 16
    assert distance(png, hash_image(encode(pixels, "WEBP", quality=80)).hash) <= 16
    half = np.asarray(Image.fromarray(pixels).resize((240, 180), Image.Resampling.LANCZOS))
    assert distance(png, hash_image(encode(half)).hash) <= 16


def test_rotated_or_different_pictures_are_far():
    pixels = picture()
    original = hash_pixels(pixels).hash
    assert distance(original, hash_pixels(np.ascontiguousarray(np.rot90(pixels))).hash) > 64
    assert distance(original, hash_pixels(np.ascontiguousarray(pixels[:, ::-1])).hash) > 64
    assert distance(original, hash_pixels(picture(variant=3)).hash) > 64


def test_flat_pictures_have_low_quality():
    for colour in ((0, 0, 0), (255, 255, 255), (200, 30, 90)):
        solid = np.full((200, 300, 3), colour, dtype=np.uint8)
        result = hash_image(encode(solid))
        assert result.quality < MIN_QUALITY
        assert not result.usable


def test_exif_orientation_is_applied():
    """A photo stored on its side with Orientation=6 hashes as it is displayed."""
    pixels = picture()
    stored = np.ascontiguousarray(np.rot90(pixels, k=1))  # displayed after rotating 270° CCW
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    upright = hash_pixels(pixels).hash
    assert distance(hash_image(data).hash, upright) <= 8
    assert distance(hash_image(data, exif_transpose=False).hash, upright) > 64


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_any_image_mode_is_hashed_as_rgb(mode):
    image = Image.fromarray(picture()).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = image.convert("I").point(lambda v: v * 256).convert("I;16")
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    out = io.BytesIO()
    image.save(out, format=fmt)
    result = hash_image(out.getvalue())
    assert is_hash(result.hash)


def test_animated_gif_hashes_its_first_frame():
    first, second = Image.fromarray(picture()), Image.fromarray(picture(variant=2))
    out = io.BytesIO()
    first.save(out, format="GIF", save_all=True, append_images=[second])
    assert hash_image(out.getvalue()).hash == hash_image(encode(picture(), "GIF")).hash


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an image"),
        (b"hello, world", "not an image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image"),
        (encode(picture())[:200], "cannot be decoded"),
    ],
)
def test_bad_bytes_raise_image_error(data, message):
    with pytest.raises(ImageError, match=message):
        hash_image(data)


def test_too_many_pixels_are_refused_before_decoding():
    data = encode(picture(width=400, height=300))
    with pytest.raises(ImageError, match="400x300 pixels, more than the 100,000 accepted"):
        hash_image(data, max_pixels=100_000)


def test_hash_pixels_checks_its_array():
    with pytest.raises(ImageError, match="uint8"):
        hash_pixels(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ImageError, match="empty"):
        hash_pixels(np.zeros((0, 10, 3), dtype=np.uint8))
