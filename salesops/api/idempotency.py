"""`Idempotency-Key` on POST: the first response to a key is stored and replayed.

The record is inserted (and committed) before the work starts, so among requests
racing with one key exactly one inserts it and does the work; the others wait for
its response and replay it. A key sent again with a different body is refused (422).
Keys are per caller (token or user). Server errors are not stored: the key may be
retried. Records older than IDEMPOTENCY_TTL_HOURS (default 24) may be purged with
`purge_idempotency_records()`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.api.errors import ApiError
from salesops.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag", "Content-Type")
WAIT_SECONDS = 15.0


def _hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0" + request.path.encode() + b"\0")
    try:
        digest.update(request.body)
    except RawPostDataException:
        # A multipart body (a file upload) was streamed into request.POST/FILES: its
        # fields and the files' bytes stand for it.
        for name, value in sorted(request.POST.lists()):
            digest.update(f"{name}={value!r}\0".encode())
        for name, uploads in sorted(request.FILES.lists()):
            for upload in uploads:
                digest.update(f"{name}:{upload.name}:{upload.size}\0".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    headers = dict(record.response_headers or {})
    response = HttpResponse(
        record.response_body,
        status=record.status_code or 200,
        content_type=headers.pop("Content-Type", "application/json"),
    )
    for k, v in headers.items():
        response[k] = v
    response[REPLAYED] = "true"
    return response


def _claim(principal: str, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the record in its own committed transaction; None if it exists."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(principal=principal, key=key, request_hash=digest)
    except IntegrityError:
        return IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    return None


def _wait_for(record: IdempotencyRecord) -> IdempotencyRecord | None:
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.02
    while time.monotonic() < deadline:
        fresh = IdempotencyRecord.objects.filter(pk=record.pk).first()
        if fresh is None or fresh.status_code is not None:
            return fresh
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    return None


def idempotent(api: Any) -> Callable:
    """A ninja "operation" decorator: wraps each view after authentication."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER, "").strip()
            if request.method != "POST" or not key:
                return view(request, *args, **kwargs)
            if len(key) > 255:
                raise ApiError(422, _("The Idempotency-Key is too long (255 characters at most)."))
            principal = getattr(request, "principal", "")
            digest = _hash(request)
            existing = _claim(principal, key, digest)
            if existing is not None:
                if existing.request_hash != digest:
                    raise ApiError(
                        422,
                        _(
                            "This Idempotency-Key was used with a different request; use a new key "
                            "for a new request."
                        ),
                        {HEADER: [str(_("Used before with a different body."))]},
                    )
                if existing.status_code is not None:
                    return _replay(existing)
                done = _wait_for(existing)
                if done is None or done.status_code is None:
                    raise ApiError(
                        409,
                        _("A request with this Idempotency-Key is still running; retry later."),
                    )
                return _replay(done)
            try:
                try:
                    response = view(request, *args, **kwargs)
                except Exception as exc:
                    response = api.on_exception(request, exc)
            except BaseException:
                IdempotencyRecord.objects.filter(principal=principal, key=key).delete()
                raise
            if response.status_code >= 500:
                IdempotencyRecord.objects.filter(principal=principal, key=key).delete()
                return response
            headers = {h: response[h] for h in KEPT_HEADERS if response.has_header(h)}
            IdempotencyRecord.objects.filter(principal=principal, key=key).update(
                status_code=response.status_code,
                response_body=response.content.decode(),
                response_headers=headers,
            )
            return response

        return wrapper

    return decorator


def purge_idempotency_records() -> int:
    hours = int(getattr(settings, "IDEMPOTENCY_TTL_HOURS", 24))
    cutoff = timezone.now() - dt.timedelta(hours=hours)
    deleted, _detail = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
