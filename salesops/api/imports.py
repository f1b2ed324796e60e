"""`/api/v1/imports`: the import wizard through the API, over the same jobs
(`salesops.imports.jobs`) as the pages and `salesops import`.

* `POST /imports` (multipart: `file`, `object_type`, optional `mapping` as a JSON object
  {column header: field key}, else the suggestion; `mode`, `dedupe`, `day_first`) keeps
  the file, checks the mapping against the fields the caller may set (a hidden field
  is refused like an unknown one) and puts the job on the worker: 201 with its status;
* `GET /imports/{id}`: status, counts and progress;
* `GET /imports/{id}/errors`: the error file (CSV: line, column, value, reason);
* `POST /imports/{id}/cancel`: stop it (at once if not started, else after the chunk).

The role's "create" right on the object is required (403 otherwise). A caller sees their
own imports; an administrator everyone's; any other id is a 404.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from salesops.api.errors import NOT_FOUND, ApiError, field_errors
from salesops.api.framework import READ_ERRORS, WRITE_ERRORS, json_response
from salesops.imports import jobs
from salesops.imports.fields import importable, importable_types
from salesops.imports.models import ImportJob
from salesops.imports.reading import FileProblem
from salesops.lib.services import ensure_right

router = Router()
TAG = "Imports"


class ImportOut(Schema):
    id: int
    object_type: str
    file_name: str
    status: Literal["pending", "queued", "running", "succeeded", "failed", "cancelled"]
    status_label: str
    finished: bool
    mode: Literal["all-or-nothing", "skip-errors"]
    dedupe: Literal["skip", "update", "create"]
    columns: dict[str, str] = Field(..., description="{column header: field key}")
    total: int | None = Field(None, description="Rows in the file, once counted.")
    processed: int
    percent: int
    rate: int = Field(..., description="Rows per second since the job (re)started.")
    created: int
    updated: int
    skipped: int = Field(..., description="Duplicates skipped.")
    errors: int = Field(..., description="Rows with errors.")
    message: str
    has_error_file: bool
    created_by: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class ImportIn(Schema):
    object_type: str = Field(
        ..., max_length=100, description="lead, customer, … or a custom object's key"
    )
    mapping: str | None = Field(
        None, max_length=100_000, description="JSON {column header: field key}; omit: suggested"
    )
    mode: Literal["skip-errors", "all-or-nothing"] = "skip-errors"
    dedupe: Literal["skip", "update", "create"] = "skip"
    day_first: bool = Field(False, description="03/05/2026 is 3 May")


def _out(job: ImportJob, status: int = 200) -> HttpResponse:
    p = jobs.progress(job)
    data = {
        "id": job.pk,
        "object_type": job.object_type,
        "file_name": job.file_name,
        "mode": job.mode,
        "dedupe": job.dedupe,
        "columns": job.columns,
        "created_by": job.created_by_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        **{k: p[k] for k in ("status", "status_label", "finished", "total", "processed")},
        **{k: p[k] for k in ("percent", "rate", "created", "updated", "skipped", "errors")},
        "message": p["message"],
        "has_error_file": p["has_error_file"],
    }
    headers = {"Location": f"/api/v1/imports/{job.pk}"} if status == 201 else None
    return json_response(data, status, headers)


def _job(request: HttpRequest, pk: int) -> ImportJob:
    job = jobs.visible_jobs(request.user).filter(pk=pk).first()
    if job is None:
        raise ApiError(404, NOT_FOUND)
    return job


def _mapping(raw: str | None, *, user: Any, object_type: str, path: str, name: str) -> Any:
    headers = jobs.headers_of(path, name)
    if not raw:
        return jobs.suggest(headers, object_type, user=user)
    try:
        sent = json.loads(raw)
    except ValueError:
        sent = None
    if not isinstance(sent, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in sent.items()
    ):
        raise field_errors(
            "mapping", _('Send the mapping as a JSON object: {"column header": "field key"}.')
        )
    try:
        return jobs.check_columns(user=user, object_type=object_type, headers=headers, columns=sent)
    except ValidationError as e:
        raise ApiError(422, e.messages[0], {"mapping": e.messages}) from e


@router.post(
    "/imports",
    response={201: ImportOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="imports_create",
    summary="Import a CSV or XLSX file on the worker",
    description="Multipart form. `object_type` is one of the importable objects (lead, "
    "customer, contact, deal, followup, product, payment or a custom object's key). "
    "Without `mapping` the columns are matched by their headers. Poll the job with "
    "GET /imports/{id}; the rows that failed are in GET /imports/{id}/errors.",
)
def create_import(
    request: HttpRequest, data: Form[ImportIn], file: File[UploadedFile]
) -> HttpResponse:
    user: Any = request.user
    object_type = data.object_type
    if not importable(object_type):
        choices = ", ".join(key for key, _label in importable_types())
        raise field_errors(
            "object_type",
            _("“%(object)s” cannot be imported; use one of: %(choices)s.")
            % {"object": object_type, "choices": choices},
        )
    ensure_right(user, object_type, "create")
    try:
        path, name = jobs.accept_upload(file, file.name or "import.csv", file.size)
    except FileProblem as e:
        raise field_errors("file", str(e)) from e
    try:
        columns = _mapping(data.mapping, user=user, object_type=object_type, path=path, name=name)
    except ApiError:
        jobs.forget_upload(path)
        raise
    job = jobs.create_job(
        user=user,
        object_type=object_type,
        path=path,
        filename=name,
        columns=columns,
        mode=data.mode,
        dedupe=data.dedupe,
        day_first=data.day_first,
    )
    return _out(jobs.enqueue(job), 201)


@router.get(
    "/imports/{id}",
    response={200: ImportOut, **READ_ERRORS},
    tags=[TAG],
    operation_id="imports_get",
    summary="An import's status, counts and progress",
)
def get_import(request: HttpRequest, id: int) -> HttpResponse:
    return _out(_job(request, id))


@router.get(
    "/imports/{id}/errors",
    response={**READ_ERRORS},
    tags=[TAG],
    operation_id="imports_errors",
    summary="The error file of an import (CSV: line, column, value, reason)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "UTF-8 CSV with a BOM; headers in the caller's language.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def import_errors(request: HttpRequest, id: int) -> StreamingHttpResponse:
    job = _job(request, id)
    response = StreamingHttpResponse(
        jobs.error_csv(job, language=get_language()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@router.post(
    "/imports/{id}/cancel",
    response={200: ImportOut, **WRITE_ERRORS},
    tags=[TAG],
    operation_id="imports_cancel",
    summary="Cancel an import",
    description="At once if it has not started; else after the chunk of rows being "
    "imported (skip-errors mode keeps the rows before it; all-or-nothing keeps none).",
)
def cancel_import(request: HttpRequest, id: int) -> HttpResponse:
    return _out(jobs.request_cancel(_job(request, id), by=request.user))
