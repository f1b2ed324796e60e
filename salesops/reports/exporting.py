"""A report's result as a spreadsheet: the same formula-neutralising writers as the
list exports (`imports.exporting`), typed cells (numbers stay numbers)."""

from __future__ import annotations

import io

from salesops.imports.exporting import write_csv, write_xlsx
from salesops.reports.running import ReportResult


def report_xlsx(result: ReportResult) -> bytes:
    """The result's headers and typed cells as an XLSX workbook (one sheet)."""
    out = io.BytesIO()
    write_xlsx(list(result.headers), iter(result.values), out)
    return out.getvalue()


def report_csv(result: ReportResult) -> bytes:
    """The result as UTF-8 CSV with a BOM (Excel shows Chinese correctly)."""
    out = io.StringIO()
    write_csv(list(result.headers), iter(result.values), out)
    return out.getvalue().encode("utf-8")
