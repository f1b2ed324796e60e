"""Reading ugly real-world files as a stream of rows."""

import datetime as dt
import io
from typing import Any

import pytest

from salesops.imports.reading import FileProblem, detect_encoding, detect_separator, open_table
from salesops.imports.tests import corpus


def read(data: bytes, name: str = "file.csv"):
    with open_table(io.BytesIO(data), name) as table:
        return table, [(r.line, r.cells) for r in table.rows]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)],
)
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_it_reads_every_usual_encoding_and_separator(encoding, bom, separator):
    table, rows = read(corpus.csv_bytes(encoding=encoding, bom=bom, separator=separator))
    assert table.headers == corpus.ROWS[0]
    assert table.separator == separator
    assert [cells for _line, cells in rows] == corpus.ROWS[1:]


def test_it_reads_excels_unicode_text_export():
    table, rows = read(corpus.excel_unicode_text(), "export.txt")
    assert table.headers == corpus.ROWS[0]
    assert table.separator == "\t"
    assert rows[0][1][0] == "上海星辰科技有限公司"


def test_it_reads_utf16_without_a_bom():
    data = corpus.csv_bytes([["name", "email"], ["Ann", "a@b.c"]], encoding="utf-16-le")
    table, rows = read(data)
    assert table.headers == ["name", "email"]
    assert rows == [(2, ["Ann", "a@b.c"])]


def test_gbk_with_chinese_only_after_the_sample_is_still_read_when_detected_early():
    assert detect_encoding("客户".encode("gbk")) == "gb18030"
    assert detect_encoding("客户".encode()) == "utf-8"
    assert detect_encoding("客户".encode()[:-1]) == "utf-8"  # a character cut by the sample


def test_a_bad_byte_after_the_sample_gives_the_row_to_fix(monkeypatch):
    monkeypatch.setattr("salesops.imports.reading.SAMPLE_BYTES", 64)
    good = corpus.csv_bytes([["name"], *[[f"name {i}"] for i in range(10)]])
    data = good + "坏".encode("gbk") + b"\r\n"
    with pytest.raises(FileProblem, match="Row 12"):
        read(data)


def test_blank_lines_and_trailing_empty_columns_are_ignored():
    data = b"\r\nname,email,,\r\n,,,\r\nAnn,ann@example.com,,\r\n\r\n   ,  ,\r\nBob,bob@example.com\r\n"
    table, rows = read(data)
    assert table.headers == ["name", "email"]
    assert table.header_line == 2
    assert rows == [(4, ["Ann", "ann@example.com"]), (7, ["Bob", "bob@example.com"])]


def test_line_numbers_count_records_like_a_spreadsheet_with_newlines_inside_cells():
    data = b'name,notes\r\nAnn,"two\r\nlines"\r\nBob,x\r\n'
    _table, rows = read(data)
    assert rows == [(2, ["Ann", "two\r\nlines"]), (3, ["Bob", "x"])]


def test_separator_detection_prefers_the_consistent_split():
    assert detect_separator("a;b;c\n1,5;2,5;3\n4;5;6\n") == ";"
    assert detect_separator("a\tb\n1,2\t3\n") == "\t"
    assert detect_separator("only\none\ncolumn\n") == ","


def test_it_reads_xlsx_with_real_dates_and_numbers():
    rows = [
        ["公司", "金额", "日期", "序列号日期"],
        ["Acme", 1234.5, dt.datetime(2024, 3, 5), 45356],
        [None, None, None, None],
        ["=SUM(A1)", 12, dt.datetime(2024, 3, 6, 14, 30), None],
    ]
    table, got = read(corpus.xlsx_bytes(rows), "book.xlsx")
    assert table.kind == "xlsx"
    assert table.headers == ["公司", "金额", "日期", "序列号日期"]
    assert got[0] == (2, ["Acme", 1234.5, dt.datetime(2024, 3, 5), 45356])
    assert got[1][0] == 4
    assert got[1][1][0] == "=SUM(A1)"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (corpus.pdf_bytes(), "customers.csv", "PDF"),
        (corpus.pdf_bytes(), "customers.xlsx", "PDF"),
        (corpus.plain_zip_bytes(), "customers.xlsx", "zip archive"),
        (corpus.old_xls_bytes(), "customers.xls", r"\.xls"),
        (corpus.old_xls_bytes(), "customers.csv", r"\.xls"),
        (corpus.xlsx_bytes(), "customers.csv", "Excel workbook"),
        (corpus.csv_bytes(), "customers.xlsx", "text"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "export.csv", "web page"),
        (b"\x00\x01\x02\x03" * 100, "data.csv", "binary"),
        (b"", "empty.csv", "empty"),
        (b"\r\n\r\n", "blank.csv", "empty"),
    ],
)
def test_a_file_that_is_not_what_it_claims_gets_a_clear_error(data, name, message):
    with pytest.raises(FileProblem, match=message):
        read(data, name)


def test_a_damaged_xlsx_gets_a_clear_error():
    data = corpus.xlsx_bytes()
    broken = data[: len(data) // 2]
    with pytest.raises(FileProblem):
        read(broken, "broken.xlsx")


def test_the_header_row_may_come_after_blank_rows_in_xlsx():
    rows = [[None, None], ["name", "email"], ["Ann", "a@b.c"]]
    table, got = read(corpus.xlsx_bytes(rows), "b.xlsx")
    assert table.headers == ["name", "email"]
    assert got == [(3, ["Ann", "a@b.c"])]


def _iterated(data: bytes) -> tuple[list[tuple[int, list]], str | None]:
    rows: list[tuple[int, list]] = []
    with open_table(io.BytesIO(data), "file.csv") as table:
        try:
            rows.extend((r.line, r.cells) for r in table.rows)
        except FileProblem as e:
            return rows, str(e)
    return rows, None


def _taken(data: bytes, n: int) -> tuple[list[tuple[int, list]], str | None]:
    rows: list[tuple[int, list]] = []
    with open_table(io.BytesIO(data), "file.csv") as table:
        reader: Any = table.rows  # a CSV table's rows can be taken a chunk at a time
        try:
            while True:
                lines, cells = reader.take(n)
                if not lines:
                    return rows, None
                assert len(lines) <= n
                rows.extend(zip(lines, cells, strict=True))
        except FileProblem as e:
            return rows, str(e)


@pytest.mark.parametrize(
    "tail",
    [
        b"",
        b"Dan," + b"x" * 50 + b"\r\nEve,e@f.g\r\n",  # a cell over the limit: malformed
        "坏".encode("gbk") + b",x\r\nFay,f\r\n",  # a byte that is not UTF-8
    ],
)
@pytest.mark.parametrize("n", [1, 2, 3, 100])
def test_reading_a_chunk_at_a_time_gives_the_rows_lines_and_problems_of_reading_row_by_row(
    monkeypatch, tail, n
):
    """The bulk import reads CSV files with `take`: the same rows, line numbers and
    first problem (after the rows before it) as iterating."""
    monkeypatch.setattr("salesops.imports.reading.MAX_CELL", 40)
    monkeypatch.setattr("salesops.imports.reading.SAMPLE_BYTES", 64)
    data = (
        b"name,email\r\nAnn,a@b.c\r\n,\r\n  , \r\n\r\nBob\r\nCy,c@d.e,extra\r\n"
        b'"two\r\nlines",x\r\n\r\nDi,d@e.f\r\n' + tail
    )
    expected = _iterated(data)
    assert expected[0][:3] == [(2, ["Ann", "a@b.c"]), (6, ["Bob", None]), (7, ["Cy", "c@d.e"])]
    assert (expected[1] is None) == (tail == b"")
    assert _taken(data, n) == expected
