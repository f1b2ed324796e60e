"""Exporting a list to CSV or XLSX, within the user's data scope and field hiding.

The columns are the import's targets (from the metadata registry, less the fields hidden
from the user), headed with their labels in the user's language, choices written as
their labels, so an exported file imports back unchanged. Text cells that a spreadsheet would run
as a formula (starting with = + - @, a tab or a carriage return) get a leading single
quote; our import removes it again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone, translation

from salesops.customization import registry
from salesops.imports.fields import Target, spec_for
from salesops.imports.values import neutralise
from salesops.lib.services import ensure_export
from salesops.org.models import Organisation


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def _reader(target: Target) -> Callable[[Any], Any]:
    """How a column's value is taken from a record: a reference by the name the import
    looks it up by, a choice by its label (which the import reads back), a custom
    field from the record's custom values."""
    f = target.field
    assert f is not None
    if target.custom is not None:
        key = f.key
        labels = {str(v): str(label) for v, label in f.choices}

        def custom(obj: Any) -> Any:
            value = (obj.custom or {}).get(key)
            if labels and isinstance(value, list):
                return ", ".join(labels.get(str(v), str(v)) for v in value)
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            if labels and value is not None:
                return labels.get(str(value), value)
            return value

        return custom
    if f.type == registry.REF:
        path = f.name_path.replace("__", ".")
        return lambda obj: _get(obj, path)
    if target.kind == "choice":
        # Picklist options are read once per export (the active ones, in the
        # language of the export); a retired option's value is written as it is.
        labels = {str(v): str(label) for v, label in f.options()}
        attname = f.attname or f.key
        return lambda obj: labels.get(getattr(obj, attname), getattr(obj, attname))
    attname = f.attname or f.key
    return lambda obj: getattr(obj, attname)


def export_table(
    object_type: str, *, user: Any, language: str | None = None
) -> tuple[list[str], Iterator[list[Any]]]:
    """(headers, rows) of every `object_type` record `user` may see, without the
    fields hidden from them (`policy`). The columns are the import's targets (the
    registry's editable fields and the active custom fields), so the file imports back.
    Raises PermissionDenied without the export right; KeyError for an object type that
    cannot be imported."""
    ensure_export(user, object_type)
    spec = spec_for(object_type, user=user)
    targets = [t for t in spec.targets if "." not in t.key.removeprefix("custom.")]
    with translation.override(language or getattr(user, "language", None)):
        headers = [str(t.label) for t in targets]
        readers = [_reader(t) for t in targets]
    related = [
        t.field.key
        for t in targets
        if t.field is not None and t.custom is None and t.field.type == registry.REF
    ]
    # `visible` narrows a custom object's shared table to its own records.
    qs = registry.get(object_type).visible(user).select_related(*related).order_by("pk")
    tz = Organisation.get().tz

    def rows() -> Iterator[list[Any]]:
        for obj in qs.iterator(chunk_size=2000):
            yield [plain(read(obj), tz) for read in readers]

    return headers, rows()


def plain(value: Any, tz: Any) -> Any:
    """A cell as the writers take it: a moment in the organisation's time zone (naive,
    as spreadsheets want), a list joined with commas, a record by its name."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, tz).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if value is None or isinstance(value, str | bool | int | float | Decimal | dt.date):
        return value
    return str(value)


#: The formats every export writes, with their content type.
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def write_file(fmt: str, headers: list[str], rows: Iterator[list[Any]], out: IO[bytes]) -> int:
    """`rows` written as `fmt` ("csv" or "xlsx") to a binary file; the row count."""
    if fmt == "xlsx":
        return write_xlsx(headers, rows, out)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        return write_csv(headers, rows, text)
    finally:
        text.detach()  # leave `out` open for the caller


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
    binary = io.BytesIO()
    write_file(fmt, headers, rows, binary)
    return binary.getvalue()
