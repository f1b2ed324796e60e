"""Ugly files, built by the tests themselves: every encoding, separator and trap that
real spreadsheets from Excel, WPS and other CRMs bring."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

ROWS: list[list[Any]] = [
    ["客户名称", "联系人", "手机", "邮箱", "金额", "日期"],
    [
        "上海星辰科技有限公司",
        "张伟",
        "138 0013 8000",
        "Zhang.Wei@Example.com",
        "￥1,234.50",
        "2024/3/5",
    ],
    ["Acme GmbH", "Anna Müller", "+49 30 1234567", "anna@acme.de", "1 234,50", "05.03.2024"],
    ["北京云图", "李娜", "010-6123 4567", "lina@yuntu.cn", "12.5万", "2024年3月5日"],
]


def csv_bytes(
    rows: Sequence[Sequence[Any]] = ROWS,
    *,
    encoding: str = "utf-8",
    separator: str = ",",
    bom: bool = False,
    line_end: str = "\r\n",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator=line_end)
    for row in rows:
        writer.writerow(row)
    data = buffer.getvalue().encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data


def excel_unicode_text(rows: Sequence[Sequence[Any]] = ROWS) -> bytes:
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated."""
    return csv_bytes(rows, encoding="utf-16", separator="\t")


def xlsx_bytes(
    rows: Sequence[Sequence[Any]] = ROWS, *, number_formats: dict | None = None
) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet: Any = workbook.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # a leading = stays text, as a person typed it
            fmt = (number_formats or {}).get(c)
            if fmt:
                cell.number_format = fmt
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return buffer.getvalue()


def old_xls_bytes() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def dated(day: int) -> dt.date:
    return dt.date(2024, 3, day)
