"""File uploads kept in memory only and bounded: an uploaded image is hashed and forgotten,
never written to a temporary file (Django's default handler writes large uploads to disk).

A view taking such an upload must choose its handlers before the request body is read, so it
is CSRF-exempt outside and CSRF-protected inside (Django's documented pattern):

    @require_permission(..., methods=("POST",))
    @memory_upload(limit)
    def view(request, ...): ...
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# Room for the multipart envelope and the form's other fields around the file.
ENVELOPE_BYTES = 64 * 1024


class MemoryOnlyUpload(FileUploadHandler):
    """Holds each uploaded file in memory, refusing (and discarding) one over `limit` bytes."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False
        self._buffer = io.BytesIO()
        self._size = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._buffer, self._size = io.BytesIO(), 0
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        self._buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self._buffer.seek(0)
        return InMemoryUploadedFile(
            self._buffer,
            self.field_name,
            self.file_name,
            self.content_type,
            file_size,
            self.charset,
            self.content_type_extra,
        )


def too_large(request: HttpRequest) -> bool:
    """Whether the request's upload was refused for its size (declared or actual)."""
    return getattr(request, "coop_upload_too_large", False) or any(
        getattr(handler, "too_large", False) for handler in request.upload_handlers
    )


def memory_upload(limit: int) -> Callable:
    """Parse the request's files with `MemoryOnlyUpload(limit)`.

    A body declared larger than the limit is not read at all, and the view is called without
    the CSRF check (there is no token to read): when `too_large(request)` it must only answer
    with an error, changing nothing."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        protected = csrf_protect(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.upload_handlers = [MemoryOnlyUpload(request, limit)]
            if int(request.META.get("CONTENT_LENGTH") or 0) > limit + ENVELOPE_BYTES:
                request.coop_upload_too_large = True
                request._post, request._files = QueryDict(), MultiValueDict()  # left unread
                return view(request, *args, **kwargs)
            return protected(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorator
