"""The kind and MIME type of a body come from its bytes (coop.media.sniff)."""

from __future__ import annotations

import pytest

from coop.media import MediaKind, sniff
from media import samples

IMAGE, VIDEO, OTHER = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.OTHER


@pytest.mark.parametrize(
    ("body", "kind", "mime"),
    [
        (samples.PNG, IMAGE, "image/png"),
        (samples.JPEG, IMAGE, "image/jpeg"),
        (samples.GIF, IMAGE, "image/gif"),
        (b"GIF87a\x01\x00\x01\x00", IMAGE, "image/gif"),
        (samples.WEBP, IMAGE, "image/webp"),
        (samples.BMP, IMAGE, "image/bmp"),
        (samples.TIFF_LE, IMAGE, "image/tiff"),
        (samples.TIFF_BE, IMAGE, "image/tiff"),
        (samples.HEIC, IMAGE, "image/heic"),
        (samples.MP4, VIDEO, "video/mp4"),
        (samples.MOV, VIDEO, "video/quicktime"),
        (samples.OLD_MOV, VIDEO, "video/quicktime"),
        (samples.WEBM, VIDEO, "video/webm"),
        (samples.MKV, VIDEO, "video/x-matroska"),
        (samples.AVI, VIDEO, "video/x-msvideo"),
        (samples.HTML, OTHER, "text/html"),
        (b"%PDF-1.7\n", OTHER, "application/pdf"),
        (b'{"not": "an image"}', OTHER, "application/json"),
        (b"just some words", OTHER, "text/plain"),
        (b"\x00\x01\x02\x03garbage", OTHER, "application/octet-stream"),
        (b"", OTHER, "application/octet-stream"),
    ],
)
def test_the_bytes_decide(body, kind, mime):
    found = sniff(body)
    assert (found.kind, found.mime) == (kind, mime)


@pytest.mark.parametrize(
    "body",
    [
        b"BM not a bitmap, only the two letters",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # audio
        b"\xff\xd8",  # a cut JPEG marker
        b"\x89PNG\r\n",  # a cut PNG signature
    ],
)
def test_near_misses_are_not_media(body):
    assert sniff(body).kind is OTHER
