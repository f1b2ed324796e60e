"""An uploaded workbook cannot exhaust the server: its uncompressed size and its
compression ratio are checked before openpyxl opens it, and XML tricks (entity
expansion, external entities) are refused by defusedxml, which openpyxl uses."""

import io
import os
import zipfile

import openpyxl
import pytest

from salesops.imports import reading
from salesops.imports.reading import FileProblem, open_table


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "phone"])
    ws.append(["Acme", "123"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _with_member(name: str, content: bytes) -> bytes:
    """The small workbook with one member replaced (or added)."""
    src = zipfile.ZipFile(io.BytesIO(_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != name:
                dst.writestr(item, src.read(item.filename))
        dst.writestr(name, content)
    return out.getvalue()


def _sheet(padding: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<!--" + padding + b"-->"
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        b"</sheetData></worksheet>"
    )


def _read(data: bytes) -> list:
    with open_table(io.BytesIO(data), "upload.xlsx") as table:
        return [table.headers, *(r.cells for r in table.rows)]


def test_a_normal_workbook_still_reads():
    assert _read(_workbook()) == [["name", "phone"], ["Acme", "123"]]


def test_a_workbook_larger_than_the_limit_uncompressed_is_refused(monkeypatch):
    monkeypatch.setattr(reading, "MAX_XLSX_UNCOMPRESSED", 4_000_000)
    # Random hex compresses about 2:1: the size alone decides here, not the ratio.
    data = _with_member("xl/worksheets/sheet1.xml", _sheet(os.urandom(2_500_000).hex().encode()))
    with pytest.raises(FileProblem, match="uncompressed"):
        _read(data)


def test_a_zip_bomb_member_is_refused_by_its_ratio_before_parsing(monkeypatch):
    data = _with_member("xl/worksheets/sheet1.xml", _sheet(b" " * 30_000_000))
    assert len(data) < 100_000
    parsed = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: parsed.append(1))
    with pytest.raises(FileProblem, match="compressed"):
        _read(data)
    assert not parsed


def test_openpyxl_parses_with_defusedxml():
    from openpyxl import xml

    assert xml.DEFUSEDXML is True


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol4;</t></is></c></row></sheetData></worksheet>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("sheet", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_xml_entity_tricks_are_refused_with_a_clear_message(sheet):
    data = _with_member("xl/worksheets/sheet1.xml", sheet)
    with pytest.raises(FileProblem, match="not allowed") as caught:
        _read(data)
    assert "root:" not in str(caught.value)
