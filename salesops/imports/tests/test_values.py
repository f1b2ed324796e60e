"""Cells as people type them: amounts, dates, phones, e-mail, yes/no, formulas."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.imports.values import (
    CellError,
    clean_text,
    company_key,
    neutralise,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_email,
    parse_int,
    parse_phone,
    restore,
)


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("¥1,234.50", "1234.50"),
        ("￥1,234.50", "1234.50"),
        ("1 234,50", "1234.50"),
        ("1\u00a0234,50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("1,5", "1.5"),
        ("12.5万", "125000"),
        ("12.5 万元", "125000"),
        ("3亿", "300000000"),
        ("2k", "2000"),
        ("(120)", "-120"),
        ("-5", "-5"),
        ("−5", "-5"),
        ("RMB 99", "99"),
        ("99元", "99"),
        ("USD 1,000.00", "1000.00"),
        ("$ 12", "12"),
        ("１２３", "123"),
        ("1'234.50", "1234.50"),
        (1234.5, "1234.5"),
        (1234, "1234"),
        (Decimal("7.25"), "7.25"),
        ("0.1", "0.1"),
    ],
)
def test_amounts_are_read_as_people_write_them(cell, amount):
    assert parse_amount(cell) == Decimal(amount)


@pytest.mark.parametrize("cell", ["abc", "1.2.3", "12,34,5", "--5", "1e5", "¥", True, "5%"])
def test_what_is_not_an_amount_is_refused_with_a_message(cell):
    with pytest.raises(CellError):
        parse_amount(cell)


def test_a_blank_amount_is_none():
    assert parse_amount("") is None
    assert parse_amount("  ") is None
    assert parse_amount(None) is None


def test_whole_numbers():
    assert parse_int("30") == 30
    assert parse_int(30.0) == 30
    with pytest.raises(CellError):
        parse_int("2.5")


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024/3/5", dt.date(2024, 3, 5)),
        ("2024.3.5", dt.date(2024, 3, 5)),
        ("2024年3月5日", dt.date(2024, 3, 5)),
        ("2024 年 3 月 5 日", dt.date(2024, 3, 5)),
        ("20240305", dt.date(2024, 3, 5)),
        ("25/12/2024", dt.date(2024, 12, 25)),
        ("12/25/2024", dt.date(2024, 12, 25)),
        ("3/5/2024", dt.date(2024, 3, 5)),
        ("05.03.2024", dt.date(2024, 3, 5)),
        ("5 Mar 2024", dt.date(2024, 3, 5)),
        ("Mar 5, 2024", dt.date(2024, 3, 5)),
        ("5-Mar-24", dt.date(2024, 3, 5)),
        (45356, dt.date(2024, 3, 5)),
        (45356.75, dt.date(2024, 3, 5)),
        ("45356", dt.date(2024, 3, 5)),
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),
        (dt.datetime(2024, 3, 5, 0, 0), dt.date(2024, 3, 5)),
        (dt.date(2024, 3, 5), dt.date(2024, 3, 5)),
        ("2024-03-05 14:30", dt.date(2024, 3, 5)),
    ],
)
def test_dates_in_chinese_iso_us_european_and_excel_serial_forms(cell, day):
    assert parse_date(cell) == day


def test_day_first_decides_an_ambiguous_date():
    assert parse_date("03/05/2024") == dt.date(2024, 3, 5)
    assert parse_date("03/05/2024", day_first=True) == dt.date(2024, 5, 3)


@pytest.mark.parametrize("cell", ["2024-13-01", "2024-02-30", "soon", "32/01/2024", True, -5])
def test_what_is_not_a_date_is_refused(cell):
    with pytest.raises(CellError):
        parse_date(cell)


def test_datetimes_without_a_zone_are_in_the_organisations_zone():
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    moment = parse_datetime("2024/3/5 下午2:30", tz=shanghai)
    assert moment == dt.datetime(2024, 3, 5, 14, 30, tzinfo=shanghai)
    assert parse_datetime("2024-03-05 2:30 PM", tz=shanghai).hour == 14
    assert parse_datetime("2024-03-05 14:30:15", tz=shanghai).second == 15
    assert parse_datetime(45356.5, tz=shanghai) == dt.datetime(2024, 3, 5, 12, 0, tzinfo=shanghai)
    utc = parse_datetime("2024-03-05T06:30:00+00:00", tz=shanghai)
    assert utc == dt.datetime(2024, 3, 5, 6, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("cell", "phone"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        (13800138000, "+8613800138000"),
        (13800138000.0, "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("86 13800138000", "+8613800138000"),
        ("(021) 6123 4567", "+862161234567"),
        ("010-61234567", "+861061234567"),
        ("+86 (0)21 6123 4567", "+862161234567"),
        ("+49 30 1234567", "+49301234567"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("6123 4567", "61234567"),
        ("010-61234567 转 801", "+861061234567x801"),
        ("+1 415 555 0100 ext. 12", "+14155550100x12"),
        ("＋８６ １３８００１３８０００", "+8613800138000"),
    ],
)
def test_phone_numbers_are_normalised_to_international_form(cell, phone):
    assert parse_phone(cell) == phone


@pytest.mark.parametrize("cell", ["1.38001E+10", "call me", "123", "13800138000.5"])
def test_what_is_not_a_phone_number_is_refused(cell):
    with pytest.raises(CellError):
        parse_phone(float(cell) if cell == "13800138000.5" else cell)


def test_email_addresses_are_extracted_and_lower_cased():
    assert parse_email(" Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    assert parse_email("Zhang Wei <zw@example.com>") == "zw@example.com"
    assert parse_email("mailto:zw@example.com") == "zw@example.com"
    assert parse_email("zw＠example.com") == "zw@example.com"
    assert parse_email("") == ""


def test_yes_and_no_in_both_languages():
    assert parse_bool("是") is True
    assert parse_bool("否") is False
    assert parse_bool("Yes") is True
    assert parse_bool("N") is False
    assert parse_bool(1) is True
    assert parse_bool("") is None
    with pytest.raises(CellError):
        parse_bool("maybe")


@pytest.mark.parametrize(
    "text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx", "'=already", "''=twice"]
)
def test_formula_cells_are_neutralised_and_restored_exactly(text):
    safe = neutralise(text)
    assert safe.startswith("'")
    assert restore(safe) == text


@given(st.text(max_size=20))
def test_neutralising_then_restoring_gives_back_any_text(text):
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_text_cells_are_trimmed_and_numbers_written_plainly():
    assert clean_text("  Acme\u00a0") == "Acme"
    assert clean_text(42.0) == "42"
    assert clean_text('\'=HYPERLINK("x")') == '=HYPERLINK("x")'
    assert clean_text(None) == ""


def test_company_names_compare_without_case_spaces_or_legal_form():
    assert company_key("ACME Co., Ltd.") == company_key("acme")
    assert company_key("上海星辰科技有限公司") == company_key("上海星辰科技")
    assert company_key("Ａｃｍｅ Inc") == company_key("acme")
    assert company_key("Acme") != company_key("Acne")
