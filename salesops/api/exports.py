"""`/api/v1/exports/{object_type}`: the API's bulk read, marked as an export.

Every record of a kind the caller may see, as one CSV or XLSX file — the same file as
`salesops export --as-user <caller>` writes (`imports.exporting.export_table`): the
import's columns less the fields the caller's role hides, choices by their labels, rows
within the caller's data scope. It needs the role's export right (403 without); paged
JSON reads (`GET /api/v1/<resource>`) need only the view right.
"""

from __future__ import annotations

import tempfile
from typing import Literal

from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from salesops.api.framework import READ_ERRORS
from salesops.imports.exporting import FORMATS, export_table, write_file
from salesops.imports.fields import importable
from salesops.lib.services import ensure_export, ensure_right

router = Router()


class ExportParams(Schema):
    format: Literal["csv", "xlsx"] = Field("csv", description="csv (UTF-8 with a BOM) or xlsx.")


FILE = {
    "description": "The file, as an attachment.",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.get(
    "/exports/{object_type}",
    response=READ_ERRORS,
    tags=["Exports"],
    operation_id="export_records",
    summary="Export every record of a kind the caller may see (needs the export right)",
    description="object_type: lead, customer, contact, deal, followup, product, payment "
    "or a custom object's key. The columns are the import's (the file imports back), "
    "without the fields the caller's role hides; rows are those of the caller's data "
    "scope. A role without the export right gets 403.",
    openapi_extra={"responses": {"200": FILE}},
)
def export_records(
    request: HttpRequest, object_type: str, params: Query[ExportParams]
) -> FileResponse:
    if not importable(object_type):
        raise Http404
    user = request.user
    ensure_right(user, object_type, "view")  # type: ignore[arg-type]
    ensure_export(user, object_type)  # type: ignore[arg-type]
    headers, rows = export_table(object_type, user=user)
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (the response closes it)
    write_file(params.format, headers, rows, out)
    out.seek(0)
    name = f"{object_type}-{timezone.localdate().isoformat()}.{params.format}"
    response = FileResponse(
        out, as_attachment=True, filename=name, content_type=FORMATS[params.format]
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
