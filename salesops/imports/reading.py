"""Reading spreadsheets people actually send: CSV in any of the usual encodings and
separators, and XLSX, as a stream of rows.

`open_table(stream, filename)` looks at the bytes (never only at the name), refuses a
file that is not what it claims to be with a message saying what it really is, and
returns a `Table`: the header row and an iterator of `Row`s. Blank rows are skipped and
trailing empty columns dropped; `Row.line` is the row number a person sees in Excel
(the header is usually 1), so error reports point at the right place.

Nothing here touches the database; memory stays flat whatever the file size.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import PurePath
from typing import IO, Any, NamedTuple

from django.utils.translation import gettext as _

#: Bytes read to recognise the encoding and the separator.
SAMPLE_BYTES = 1 << 20
#: Largest cell accepted in a CSV file (a whole e-mail thread pasted into one cell fits).
MAX_CELL = 1 << 20
SEPARATORS = (",", ";", "\t", "|")
TEXT_EXTENSIONS = {".csv", ".txt", ".tsv", ".tab"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
#: Largest total uncompressed size of a workbook's members (a 1M-row sheet fits).
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
#: Largest compression ratio of a member bigger than RATIO_FROM: real sheets stay far
#: below it (5–50:1); a zip bomb is past 1,000:1.
MAX_XLSX_RATIO = 200
RATIO_FROM = 1024 * 1024


class FileProblem(ValueError):
    """The file cannot be read; the message tells the person what to do."""


class Row(NamedTuple):
    #: The row number as a spreadsheet shows it (1 = first row of the file).
    line: int
    cells: list[Any]


@dataclass
class Table:
    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[Row]
    encoding: str = ""
    separator: str = ""
    header_line: int = 1
    _closers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- what is this file? ------------------------------------------------------------------


def sniff_kind(head: bytes) -> str:
    """ "xlsx", "text", or the name of something that is not a spreadsheet."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff")) or head[:4] == b"GIF8":
        return "image"
    if head.startswith((b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")):
        return "archive"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return "text"
    stripped = head.lstrip().lstrip()[:200].lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<table")):
        return "html"
    if _utf16_encoding(head) is None and b"\x00" in head[:8192]:
        return "binary"
    return "text"


def _describe(kind: str) -> str:
    return {
        "pdf": _("a PDF document"),
        "xls": _("an old-format Excel (.xls) or Office file"),
        "image": _("an image"),
        "archive": _("a compressed archive"),
        "zip": _("a zip archive that is not an Excel workbook"),
        "docx": _("a Word document"),
        "html": _("a web page (HTML)"),
        "binary": _("a binary file"),
        "text": _("a text (CSV) file"),
        "xlsx": _("an Excel workbook (.xlsx)"),
    }.get(kind, kind)


def _zip_kind(stream: IO[bytes]) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return "archive"
    finally:
        stream.seek(0)
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    return "zip"


def open_table(stream: IO[bytes], filename: str = "") -> Table:
    """Open a CSV or XLSX file given as a seekable binary stream.

    Raises FileProblem when the content is not a spreadsheet we can read, or does not
    match the file's extension (a PDF renamed .csv, a zip renamed .xlsx)."""
    head = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not head.strip():
        raise FileProblem(_("The file is empty."))
    kind = sniff_kind(head)
    if kind == "zip":
        kind = _zip_kind(stream)
    ext = PurePath(filename).suffix.lower()
    claimed = "text" if ext in TEXT_EXTENSIONS else "xlsx" if ext in XLSX_EXTENSIONS else ""
    if ext == ".xls" and kind == "xls":
        raise FileProblem(
            _(
                "Old-format Excel files (.xls) cannot be read; open it in Excel or WPS and save it as .xlsx or CSV."
            )
        )
    if kind not in ("text", "xlsx"):
        raise FileProblem(
            _("“%(name)s” is %(what)s, not a spreadsheet. Upload a CSV or .xlsx file.")
            % {"name": filename or _("The file"), "what": _describe(kind)}
        )
    if claimed and claimed != kind:
        raise FileProblem(
            _(
                "“%(name)s” is named like %(claimed)s but is %(what)s. Check that you chose the right file."
            )
            % {"name": filename, "claimed": _describe(claimed), "what": _describe(kind)}
        )
    if kind == "xlsx":
        return _open_xlsx(stream)
    return _open_csv(stream, head)


# -- CSV -----------------------------------------------------------------------------------


def _utf16_encoding(head: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]

    def texty(half: bytes) -> bool:
        printable = sum(1 for b in half if b in (9, 10, 13) or 32 <= b < 127 or b >= 128)
        return half.count(0) < len(half) * 0.05 and printable > len(half) * 0.8

    if odd.count(0) > len(odd) * 0.4 and texty(even):
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and texty(odd):
        return "utf-16-be"
    return None


def detect_encoding(head: bytes) -> str:
    """The Python codec to read a text file whose first bytes are `head`.

    A BOM decides; then UTF-16 without one; then UTF-8 if the sample is valid UTF-8
    (a character cut at the end of the sample is allowed); else GB18030, the superset
    of GBK and GB2312 that Chinese Excel and WPS write."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_encoding(head)
    if utf16:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def detect_separator(sample: str) -> str:
    """The separator that splits the first lines into the most columns, consistently."""
    lines = [line for line in sample.splitlines()[:-1] or sample.splitlines() if line.strip()]
    lines = lines[:50]
    best, best_score = ",", (0.0, 0)
    for sep in SEPARATORS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=sep) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not widths:
            continue
        width = max(set(widths), key=widths.count)
        if width < 2:
            continue
        score = (widths.count(width) / len(widths), width)
        if score > best_score:
            best, best_score = sep, score
    return best


def _open_csv(stream: IO[bytes], head: bytes) -> Table:
    encoding = detect_encoding(head)
    sample = head.decode(encoding, errors="ignore")
    separator = detect_separator(sample)
    # Undecodable bytes become U+FFFD, found row by row below: the error names the row.
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="replace")
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(text, delimiter=separator)
    label = {"utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16", "gb18030": "GB18030"}.get(
        encoding, encoding.upper()
    )
    records = _records(reader, encoding)
    headers, header_line = _header(records)
    table = Table(
        kind="csv",
        headers=headers,
        rows=_CsvRows(reader, encoding, header_line, len(headers)),
        encoding=label,
        separator=separator,
        header_line=header_line,
    )
    table._closers.append(text.detach)
    return table


def _nul(line: int) -> FileProblem:
    return FileProblem(
        _(
            "Row %(line)s contains a NUL character (\\0), which cannot be stored. Remove it (save the file again from Excel or WPS) and upload it."
        )
        % {"line": line}
    )


def _records(reader: Any, encoding: str) -> Iterator[Row]:
    line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise FileProblem(
                _("Row %(line)s is malformed (%(error)s).") % {"line": line + 1, "error": e}
            ) from None
        line += 1
        if "\x00" in "".join(cells):
            raise _nul(line)
        if "\ufffd" in "".join(cells):
            raise FileProblem(
                _(
                    "Row %(line)s cannot be read as %(encoding)s. Save the file again as UTF-8 (CSV UTF-8 in Excel) and upload it."
                )
                % {"line": line, "encoding": encoding}
            )
        yield Row(line, cells)


class _CsvRows:
    """The data rows after the header: `_records` and `_data_rows` in one loop (CSV
    cells are all text, so a row is blank when its joined cells are). `take(n)` reads
    the next n rows at once for the bulk path: the same rows, lines and problems, with
    the checks made a chunk at a time."""

    def __init__(self, reader: Any, encoding: str, line: int, width: int) -> None:
        self.reader = reader
        self.encoding = encoding
        self.line = line
        self.width = width
        #: A problem met by `take` after rows it still returned: raised on the next call.
        self.problem: FileProblem | None = None

    def __iter__(self) -> _CsvRows:
        return self

    def _malformed(self, line: int, error: Exception) -> FileProblem:
        return FileProblem(
            _("Row %(line)s is malformed (%(error)s).") % {"line": line, "error": error}
        )

    def _undecodable(self, line: int) -> FileProblem:
        return FileProblem(
            _(
                "Row %(line)s cannot be read as %(encoding)s. Save the file again as UTF-8 (CSV UTF-8 in Excel) and upload it."
            )
            % {"line": line, "encoding": self.encoding}
        )

    def __next__(self) -> Row:
        if self.problem is not None:
            raise self.problem
        reader, width = self.reader, self.width
        while True:
            try:
                cells = next(reader)
            except csv.Error as e:
                raise self._malformed(self.line + 1, e) from None
            self.line += 1
            joined = "".join(cells)
            if "\ufffd" in joined:
                raise self._undecodable(self.line)
            if "\x00" in joined:
                raise _nul(self.line)
            if not joined or joined.isspace():
                continue
            if len(cells) != width:
                cells = (
                    cells[:width] if len(cells) > width else cells + [None] * (width - len(cells))
                )
            return Row(self.line, cells)

    def take(self, n: int) -> tuple[list[int], list[list[Any]]]:
        """The next data rows (at most n; none only at the end): their lines and cells."""
        while True:
            lines, records, more = self._take(n)
            if records or not more:
                return lines, records

    def _take(self, n: int) -> tuple[list[int], list[list[Any]], bool]:
        if self.problem is not None:
            raise self.problem
        records: list[list[Any]] = []
        try:
            records.extend(islice(self.reader, n))
        except csv.Error as e:
            # `extend` kept the records read before the malformed one: they go first.
            self.problem = self._malformed(self.line + len(records) + 1, e)
        first = self.line + 1
        self.line += len(records)
        more = len(records) == n and self.problem is None  # maybe more to read
        if "\ufffd" in (joined := "".join(chain.from_iterable(records))) or "\x00" in joined:
            bad = next(
                i for i, cells in enumerate(records) if {"\ufffd", "\x00"} & set("".join(cells))
            )
            text = "".join(records[bad])
            self.problem = self._undecodable(first + bad) if "\ufffd" in text else _nul(first + bad)
            del records[bad:]
        # Blank: all cells empty or spaces; only a row whose first cell is can be.
        blank = [
            i
            for i, cells in enumerate(records)
            if (not cells or not cells[0] or cells[0].isspace())
            and (not (joined := "".join(cells)) or joined.isspace())
        ]
        lines = list(range(first, first + len(records)))
        if blank:  # (rebuilt, not deleted from: an export may end in thousands of them)
            skip = set(blank)
            records = [cells for i, cells in enumerate(records) if i not in skip]
            lines = [line for i, line in enumerate(lines) if i not in skip]
        width = self.width
        if set(map(len, records)) - {width}:
            records = [
                cells
                if len(cells) == width
                else cells[:width]
                if len(cells) > width
                else cells + [None] * (width - len(cells))
                for cells in records
            ]
        if not records and self.problem is not None:
            raise self.problem
        return lines, records, more


# -- XLSX ----------------------------------------------------------------------------------


def check_xlsx_sizes(stream: IO[bytes]) -> None:
    """Refuse a workbook whose members would inflate past MAX_XLSX_UNCOMPRESSED, or
    whose large members are compressed past MAX_XLSX_RATIO, before anything parses it.
    The sizes are the zip directory's: `zipfile` never inflates a member past its
    declared size, so a lying header cannot get round this."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # openpyxl says the file is damaged
    finally:
        stream.seek(0)
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise FileProblem(
            _(
                "The Excel file is %(size)s MB uncompressed, over the limit of %(max)s MB. Split it into smaller files or save it as CSV."
            )
            % {"size": total // (1024 * 1024), "max": MAX_XLSX_UNCOMPRESSED // (1024 * 1024)}
        )
    for m in members:
        if m.file_size > RATIO_FROM and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1):
            raise FileProblem(
                _(
                    "The Excel file is compressed far more than a real workbook can be (a “zip bomb”) and was not opened."
                )
            )


def _xml_refused(e: Exception) -> FileProblem | None:
    from defusedxml import DefusedXmlException

    cause: BaseException | None = e
    while cause is not None and not isinstance(cause, DefusedXmlException):
        cause = cause.__cause__ or cause.__context__  # openpyxl wraps it in a ValueError
    if cause is not None:
        return FileProblem(
            _(
                "The Excel file contains XML declarations (DTD or entities) that are not allowed. Save it again as .xlsx in Excel or WPS and retry."
            )
        )
    return None


def _open_xlsx(stream: IO[bytes]) -> Table:
    from openpyxl import load_workbook

    check_xlsx_sizes(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as e:
        if refused := _xml_refused(e):
            raise refused from None
        raise FileProblem(
            _(
                "The Excel file cannot be opened (%(error)s). Open it in Excel or WPS, save it again as .xlsx and retry."
            )
            % {"error": type(e).__name__}
        ) from None
    if not workbook.worksheets:
        workbook.close()
        raise FileProblem(_("The workbook has no worksheet."))
    sheet: Any = workbook.worksheets[0]
    # Some writers record a wrong sheet size; read every row that is there.
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()

    def records() -> Iterator[Row]:
        try:
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield Row(line, list(values))
        except FileProblem:
            raise
        except Exception as e:
            if refused := _xml_refused(e):
                raise refused from None
            raise FileProblem(
                _("The Excel file is damaged (%(error)s). Save it again as .xlsx and retry.")
                % {"error": type(e).__name__}
            ) from None

    rows = records()
    headers, header_line = _header(rows)
    table = Table(
        kind="xlsx",
        headers=headers,
        rows=_data_rows(rows, len(headers)),
        header_line=header_line,
    )
    table._closers.append(workbook.close)
    return table


# -- rows ------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(rows: Iterator[Row]) -> tuple[list[str], int]:
    """The first non-blank row, as names, without trailing empty columns."""
    for row in rows:
        if all(_blank(c) for c in row.cells):
            continue
        names = ["" if c is None else str(c).strip().lstrip("\ufeff") for c in row.cells]
        while names and not names[-1]:
            names.pop()
        return names, row.line
    raise FileProblem(_("The file has no header row: the first row must name the columns."))


def _data_rows(rows: Iterator[Row], width: int) -> Iterator[Row]:
    for row in rows:
        cells = row.cells
        if all(_blank(c) for c in cells):
            continue
        if len(cells) > width:
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [None] * (width - len(cells))
        yield Row(row.line, cells)


def count_rows(stream: IO[bytes], filename: str = "") -> int:
    """How many data rows the file has (a pass over the whole file)."""
    with open_table(stream, filename) as table:
        total = sum(1 for _row in table.rows)
    stream.seek(0)
    return total
