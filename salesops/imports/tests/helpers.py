"""Running an import from bytes in a test."""

from __future__ import annotations

import io
from typing import Any

from salesops.imports.engine import Report, run_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.reading import open_table


def run(
    data: bytes,
    *,
    user: Any,
    object_type: str,
    name: str = "file.csv",
    columns: dict[str, str] | None = None,
    **options: Any,
) -> Report:
    with open_table(io.BytesIO(data), name) as table:
        if columns is None:
            columns = suggest_mapping(table.headers, spec_for(object_type))
        return run_import(table, user=user, object_type=object_type, columns=columns, **options)


def reasons(report: Report) -> list[tuple[int, str, str]]:
    return [(line, p.column, p.reason) for line, p in report.errors]
