"""What a body is, from its first bytes (magic numbers), never from a Content-Type header.

Pure: no Django, no I/O. `sniff(data)` looks at the first `SNIFF_BYTES` bytes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SNIFF_BYTES = 64


class MediaKind(StrEnum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    mime: str


OCTET_STREAM = Sniffed(MediaKind.OTHER, "application/octet-stream")

# Fixed prefixes, longest first where one is a prefix of another.
_PREFIXES: list[tuple[bytes, Sniffed]] = [
    (b"\x89PNG\r\n\x1a\n", Sniffed(MediaKind.IMAGE, "image/png")),
    (b"\xff\xd8\xff", Sniffed(MediaKind.IMAGE, "image/jpeg")),
    (b"GIF87a", Sniffed(MediaKind.IMAGE, "image/gif")),
    (b"GIF89a", Sniffed(MediaKind.IMAGE, "image/gif")),
    (b"II*\x00", Sniffed(MediaKind.IMAGE, "image/tiff")),
    (b"MM\x00*", Sniffed(MediaKind.IMAGE, "image/tiff")),
    (b"FLV\x01", Sniffed(MediaKind.VIDEO, "video/x-flv")),
    (b"\x00\x00\x01\xba", Sniffed(MediaKind.VIDEO, "video/mpeg")),  # MPEG program stream
    (b"\x00\x00\x01\xb3", Sniffed(MediaKind.VIDEO, "video/mpeg")),  # MPEG video sequence
    # Not media, named so a refusal can say what the body was.
    (b"%PDF-", Sniffed(MediaKind.OTHER, "application/pdf")),
    (b"PK\x03\x04", Sniffed(MediaKind.OTHER, "application/zip")),
    (b"\x1f\x8b", Sniffed(MediaKind.OTHER, "application/gzip")),
]

# ISO base media file format (MP4, MOV, 3GP, HEIF, AVIF): bytes 4-8 are "ftyp", 8-12 the brand.
_FTYP_BRANDS: dict[bytes, Sniffed] = {
    b"qt  ": Sniffed(MediaKind.VIDEO, "video/quicktime"),
    b"3gp4": Sniffed(MediaKind.VIDEO, "video/3gpp"),
    b"3gp5": Sniffed(MediaKind.VIDEO, "video/3gpp"),
    b"3gp6": Sniffed(MediaKind.VIDEO, "video/3gpp"),
    b"3g2a": Sniffed(MediaKind.VIDEO, "video/3gpp2"),
    b"M4V ": Sniffed(MediaKind.VIDEO, "video/x-m4v"),
    b"heic": Sniffed(MediaKind.IMAGE, "image/heic"),
    b"heix": Sniffed(MediaKind.IMAGE, "image/heic"),
    b"mif1": Sniffed(MediaKind.IMAGE, "image/heif"),
    b"msf1": Sniffed(MediaKind.IMAGE, "image/heif"),
    b"avif": Sniffed(MediaKind.IMAGE, "image/avif"),
    b"avis": Sniffed(MediaKind.IMAGE, "image/avif"),
    b"M4A ": Sniffed(MediaKind.OTHER, "audio/mp4"),
}
_MP4 = Sniffed(MediaKind.VIDEO, "video/mp4")  # isom, iso2..iso6, mp41, mp42, avc1, dash, ...
# Old QuickTime files start with one of these atoms instead of "ftyp".
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
# BMP: "BM", then the DIB header's size at offset 14 is one of the known header versions.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_TEXT_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<svg", b"{", b"[")


def sniff(data: bytes) -> Sniffed:
    """The kind and MIME type of `data`, from its first bytes; `OCTET_STREAM` when unknown."""
    head = data[:SNIFF_BYTES]
    for prefix, found in _PREFIXES:
        if head.startswith(prefix):
            return found
    return _riff(head) or _iso_media(head) or _ebml(head) or _bmp(head) or _text(head)


def _riff(head: bytes) -> Sniffed | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"WEBP":
        return Sniffed(MediaKind.IMAGE, "image/webp")
    if form == b"AVI ":
        return Sniffed(MediaKind.VIDEO, "video/x-msvideo")
    if form == b"WAVE":
        return Sniffed(MediaKind.OTHER, "audio/wav")
    return None


def _iso_media(head: bytes) -> Sniffed | None:
    box = head[4:8]
    if box == b"ftyp" and len(head) >= 12:
        return _FTYP_BRANDS.get(head[8:12], _MP4)
    if box in _QUICKTIME_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return Sniffed(MediaKind.VIDEO, "video/quicktime")
    return None


def _ebml(head: bytes) -> Sniffed | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    if b"webm" in head:
        return Sniffed(MediaKind.VIDEO, "video/webm")
    return Sniffed(MediaKind.VIDEO, "video/x-matroska")


def _bmp(head: bytes) -> Sniffed | None:
    dib_size = int.from_bytes(head[14:18], "little") if len(head) >= 18 else 0
    if head.startswith(b"BM") and dib_size in _BMP_DIB_SIZES:
        return Sniffed(MediaKind.IMAGE, "image/bmp")
    return None


def _text(head: bytes) -> Sniffed:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(_TEXT_STARTS[:2]):
        return Sniffed(MediaKind.OTHER, "text/html")
    if stripped.startswith(_TEXT_STARTS[2:4]):
        return Sniffed(MediaKind.OTHER, "text/xml")  # SVG is refused too: it is a document
    if stripped.startswith(_TEXT_STARTS[4:]):
        return Sniffed(MediaKind.OTHER, "application/json")
    if not head or b"\x00" in head:
        return OCTET_STREAM
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end of the head
            return OCTET_STREAM
    return Sniffed(MediaKind.OTHER, "text/plain")
