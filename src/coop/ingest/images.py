"""The PDQ hashes of submitted images, computed once per image and stored with the submission.

`hash_images(wanted, media)` takes (submission, urls) pairs: an image already stored for its
submission is read back; any other is fetched through the batch's `FetchCache` (SSRF-safe,
each URL once per batch), its bytes' SHA-256 looked up in `ImageHash` (so the same picture is
hashed once across submissions) and hashed only when new. A fetch or decode failure is
returned as its reason and stored nowhere: the rule leaf that needed the image is ERRORED, and
a later submission of the item tries again.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from coop.ingest.models import ImageHash, ItemSubmission, SubmissionImage
from coop.media import FetchCache, MediaFetchError, MediaKind
from coop.signals.hashing import PdqHash, hash_image
from coop.signals.hashing.pdq import ImageError

# What an image became: its hash, or why there is none.
ImageResult = PdqHash | str
# How the reason starts when the image was fetched but could not be decoded here (an external
# hasher may still read it).
UNDECODABLE = "could not hash the image"


def hash_images(
    wanted: Iterable[tuple[ItemSubmission, Iterable[str]]], media: FetchCache
) -> dict[str, ImageResult]:
    """URL -> PdqHash or failure reason, for every URL of every submission given."""
    wanted = [(submission, list(dict.fromkeys(urls))) for submission, urls in wanted]
    wanted = [(submission, urls) for submission, urls in wanted if urls]
    results: dict[str, ImageResult] = {}
    if not wanted:
        return results
    stored = {
        (row.submission_id, row.url): PdqHash(row.image.pdq, row.image.quality)
        for row in SubmissionImage.objects.filter(
            submission_id__in=[s.pk for s, _ in wanted]
        ).select_related("image")
    }
    digests: dict[tuple[int, str], str] = {}
    bodies: dict[str, bytes] = {}
    for submission, urls in wanted:
        for url in urls:
            known = stored.get((submission.pk, url))
            if known is not None:
                results.setdefault(url, known)
                continue
            try:
                fetched = media.fetch(url, (MediaKind.IMAGE,))
            except MediaFetchError as exc:
                results.setdefault(url, f"could not fetch the image: {exc.reason}")
                continue
            digests[(submission.pk, url)] = fetched.sha256
            bodies.setdefault(fetched.sha256, fetched.content)
    if not digests:
        return results
    hashes = {row.sha256: row for row in ImageHash.objects.filter(sha256__in=set(digests.values()))}
    failed: dict[str, str] = {}
    new = []
    for sha256, content in bodies.items():
        if sha256 in hashes:
            continue
        try:
            computed = hash_image(content)
        except ImageError as exc:
            failed[sha256] = f"{UNDECODABLE}: {exc}"
            continue
        row = ImageHash(sha256=sha256, pdq=computed.hash, quality=computed.quality)
        hashes[sha256] = row
        new.append(row)
    rows = []
    for (submission_id, url), sha256 in digests.items():
        if sha256 in failed:
            results.setdefault(url, failed[sha256])
            continue
        image = hashes[sha256]
        results[url] = PdqHash(image.pdq, image.quality)
        rows.append(SubmissionImage(submission_id=submission_id, url=url, image_id=sha256))
    with transaction.atomic():
        # Another worker may store the same digest at the same time: first one wins.
        ImageHash.objects.bulk_create(new, ignore_conflicts=True)
        SubmissionImage.objects.bulk_create(rows, ignore_conflicts=True)
    return results


def stored_hash(url: str) -> PdqHash | None:
    """The hash stored for the most recent submission with an image at `url`, if any."""
    row = (
        SubmissionImage.objects.filter(url=url)
        .select_related("image")
        .order_by("-fetched_at", "-pk")
        .first()
    )
    return PdqHash(row.image.pdq, row.image.quality) if row else None


def hash_url(url: str, media: FetchCache) -> ImageResult:
    """The hash of the image at `url` now, or why there is none (stored nowhere)."""
    try:
        fetched = media.fetch(url, (MediaKind.IMAGE,))
    except MediaFetchError as exc:
        return f"could not fetch the image: {exc.reason}"
    known = ImageHash.objects.filter(sha256=fetched.sha256).first()
    if known is not None:
        return PdqHash(known.pdq, known.quality)
    try:
        return hash_image(fetched.content)
    except ImageError as exc:
        return f"{UNDECODABLE}: {exc}"
