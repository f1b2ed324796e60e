"""Exporting a list to CSV or XLSX, within the user's data scope and field hiding.

The columns are the import's targets, headed with their labels in the user's language,
so an exported file imports back unchanged. Text cells that a spreadsheet would run
as a formula (starting with = + - @, a tab or a carriage return) get a leading single
quote; our import removes it again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone, translation

from salesops.imports.fields import spec_for
from salesops.imports.values import neutralise
from salesops.lib.services import ensure_right
from salesops.org.models import Organisation

#: How a reference column is written: the name the import looks it up by.
REFERENCE_ATTRS = {
    "owner": "owner.username",
    "customer": "customer.name",
    "contact": "contact.name",
    "deal": "deal.name",
    "lead": "lead.name",
    "pipeline": "pipeline.name",
    "stage": "stage.name",
    "contract": "contract.number",
    "currency": "currency_id",
}
SELECT_RELATED = {
    "owner",
    "customer",
    "contact",
    "deal",
    "lead",
    "pipeline",
    "stage",
    "contract",
}


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def export_table(
    object_type: str, *, user: Any, language: str | None = None
) -> tuple[list[str], Iterator[list[Any]]]:
    """(headers, rows) of every `object_type` record `user` may see, without the
    fields their role hides. Raises PermissionDenied without the export right."""
    ensure_right(user, object_type, "export")
    spec = spec_for(object_type)
    hidden = user.hidden_fields(object_type)
    targets = [
        t
        for t in spec.targets
        if "." not in t.key.replace("custom.", "", 1)
        and t.key not in hidden
        and t.key.removeprefix("custom.") not in hidden
    ]
    with translation.override(language or getattr(user, "language", None)):
        headers = [str(t.label) for t in targets]
    model: Any = spec.model
    related = [t.key for t in targets if t.key in SELECT_RELATED]
    qs = model.objects.visible_to(user).select_related(*related).order_by("pk")
    tz = Organisation.get().tz

    def rows() -> Iterator[list[Any]]:
        for obj in qs.iterator(chunk_size=2000):
            row: list[Any] = []
            for t in targets:
                if t.custom is not None:
                    value = (obj.custom or {}).get(t.custom.key)
                    if isinstance(value, list):
                        value = ", ".join(str(v) for v in value)
                else:
                    value = _get(obj, REFERENCE_ATTRS.get(t.key, t.key))
                if isinstance(value, dt.datetime):
                    value = timezone.localtime(value, tz).replace(tzinfo=None)
                row.append(value)
            yield row

    return headers, rows()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | Decimal | int | float):
        return str(value) if not isinstance(value, dt.date) else value.isoformat()
    return neutralise(str(value))


def write_csv(headers: list[str], rows: Iterator[list[Any]], out: IO[str]) -> int:
    """UTF-8 with a BOM, so that Excel shows Chinese correctly. Returns the row count."""
    head = io.StringIO()
    csv.writer(head, lineterminator="\r\n").writerow([neutralise(h) for h in headers])
    out.write("\ufeff" + head.getvalue())  # one write (OutputWrapper adds "\n" to each)
    writer = csv.writer(out, lineterminator="\r\n")
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        n += 1
    return n


def write_xlsx(headers: list[str], rows: Iterator[list[Any]], out: IO[bytes]) -> int:
    """A streamed workbook (memory stays flat); text cells are stored as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet: Any = workbook.create_sheet()

    def cell(value: Any) -> Any:
        if isinstance(value, str):
            c = WriteOnlyCell(sheet, value=neutralise(value))
            c.data_type = "s"
            return c
        if isinstance(value, Decimal):
            return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
        return value

    sheet.append([cell(h) for h in headers])
    n = 0
    for row in rows:
        sheet.append([cell(v) for v in row])
        n += 1
    workbook.save(out)
    return n


def export_bytes(object_type: str, *, user: Any, fmt: str = "csv") -> bytes:
    headers, rows = export_table(object_type, user=user)
    if fmt == "xlsx":
        binary = io.BytesIO()
        write_xlsx(headers, rows, binary)
        return binary.getvalue()
    text = io.StringIO()
    write_csv(headers, rows, text)
    return text.getvalue().encode("utf-8")
