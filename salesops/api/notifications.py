"""`/api/v1/notifications`: the caller's own notices (the web's notification centre),
rendered in the caller's language; a record the caller may no longer see is neither
named nor identified. Another person's notice is a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.api.framework import READ_ERRORS, WRITE_ERRORS, json_response
from salesops.notifications import render, services

router = Router()


class NoticeOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    object_type: str | None = Field(
        None, description="Null when the record is no longer yours to see."
    )
    object_id: int | None = None
    url: str | None = Field(None, description="The record's page in the app.")
    created_at: dt.datetime
    read_at: dt.datetime | None = None


class NoticePage(Schema):
    unread: int = Field(..., description="How many in-app notices are unread (the bell).")
    items: list[NoticeOut]
    next_before: int | None = Field(None, description="Pass as `before` for the next page.")


class NoticeParams(Schema):
    before: int | None = Field(None, description="The page after this notice id.")
    unread: bool = Field(False, description="Only unread notices.")
    limit: int = Field(30, ge=1, le=100)


class MarkedOut(Schema):
    marked: int


def _out(shown: render.Shown) -> dict[str, Any]:
    n = shown.notice
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": shown.title,
        "body": shown.body,
        "object_type": shown.record[0] if shown.record else None,
        "object_id": shown.record[1] if shown.record else None,
        "url": shown.url or None,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get(
    "/notifications",
    response={200: NoticePage, **READ_ERRORS},
    tags=["Notifications"],
    operation_id="notifications_list",
    summary="Your notifications, newest first",
)
def notification_list(request: HttpRequest, params: Query[NoticeParams]) -> HttpResponse:
    rows, next_before = services.page_of(
        request.user, before=params.before, unread_only=params.unread, size=params.limit
    )
    return json_response(
        {
            "unread": services.unread_count(request.user),
            "items": [_out(s) for s in render.show(request.user, rows)],
            "next_before": next_before,
        }
    )


@router.post(
    "/notifications/{id}/read",
    response={200: NoticeOut, **WRITE_ERRORS},
    tags=["Notifications"],
    operation_id="notifications_read",
    summary="Mark one of your notifications read",
)
def notification_read(request: HttpRequest, id: int) -> HttpResponse:
    notice = services.mark_read(user=request.user, notification_id=id)
    return json_response(_out(render.show(request.user, [notice])[0]))


@router.post(
    "/notifications/read-all",
    response={200: MarkedOut, **WRITE_ERRORS},
    tags=["Notifications"],
    operation_id="notifications_read_all",
    summary="Mark all your notifications read",
)
def notification_read_all(request: HttpRequest) -> HttpResponse:
    return json_response({"marked": services.mark_all_read(user=request.user)})
