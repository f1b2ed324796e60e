"""Turning what people type into spreadsheet cells into values: amounts, dates, phone
numbers, e-mail addresses, yes/no, and text with spreadsheet-formula neutralising.

Pure functions. Each raises `CellError` with a message for the person (what to write
instead) when a cell cannot be understood; an empty cell gives None.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from salesops.lib.dedup import EXTENSION as _EXTENSION
from salesops.lib.dedup import NOT_PHONE, canonical_phone, plausible_length
from salesops.lib.dedup import SCIENTIFIC as _SCIENTIFIC

# The de-duplication keys are the shared rule's (imported from here by the engine).
from salesops.lib.dedup import company_key as company_key
from salesops.lib.dedup import phone_key as phone_key


class CellError(ValueError):
    """A cell's value cannot be understood; str(e) says why, for a person."""


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- formulas (CSV injection) -------------------------------------------------------------

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or WPS.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    if text.startswith(FORMULA_START):
        return True
    # A value that already starts with our quote before a formula character gets a
    # second one, so that restoring is exact.
    rest = text.lstrip("'")
    return text.startswith("'") and rest.startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """Make a text cell safe to open in a spreadsheet: prefix a single quote."""
    return "'" + text if _needs_quote(text) else text


def restore(text: str) -> str:
    """Undo `neutralise` (our own exports, or any file quoted the same way)."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text


def clean_text(value: Any) -> str:
    """A text cell: trimmed, numbers written as a person would, our formula quote removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip(" \t\r\n\u00a0\u200b\ufeff\u3000")
    return restore(text)


# -- amounts ------------------------------------------------------------------------------

_CURRENCY = re.compile(
    r"(?i)^(?:rmb|cny|usd|eur|gbp|hkd|jpy|us\$|hk\$|人民币)|(?:rmb|cny|usd|eur|gbp|hkd|jpy|元|人民币|圆)$"
)
_MULTIPLIERS = {"万": Decimal(10_000), "w": Decimal(10_000), "亿": Decimal(100_000_000),
                "千": Decimal(1000), "k": Decimal(1000)}  # fmt: skip
_GROUPED = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")


def parse_amount(value: Any) -> Decimal | None:
    """A number as written in China, Europe or the US: `¥1,234.50`, `1 234,50`,
    `1.234,50`, `12.5万`, `3亿`, `(120)`, `-5`, `USD 99`. Excel numbers pass through."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(_("Write a number here, not yes/no."))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raw = str(value)
    text = unicodedata.normalize("NFKC", raw).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    text = text.replace("\u2212", "-")
    for _i in range(2):
        text = _CURRENCY.sub("", text).strip()
        text = text.strip("¥$€£₩₹").strip()
    if text.startswith("-"):
        negative, text = not negative, text[1:].strip()
    elif text.startswith("+"):
        text = text[1:].strip()
    for _i in range(2):
        text = text.strip("¥$€£₩₹").strip()
    factor = Decimal(1)
    if text and text[-1].lower() in _MULTIPLIERS:
        factor = _MULTIPLIERS[text[-1].lower()]
        text = text[:-1].strip()
    text = re.sub(r"[\s'_\u00a0\u202f\u2009]", "", text)
    text = _decimal_point(text)
    if not _PLAIN.match(text):
        raise CellError(
            _("“%(value)s” is not an amount; write it like 1234.50, ¥1,234.50 or 12.5万.")
            % {"value": raw.strip()}
        )
    try:
        number = Decimal(text) * factor
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not an amount.") % {"value": raw.strip()}) from None
    return -number if negative else number


def _decimal_point(text: str) -> str:
    """`text` with '.' as the decimal point and no thousands separators."""
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            return text.replace(".", "").replace(",", ".")
        return text.replace(",", "")
    if "," in text:
        if _GROUPED.match(text):
            return text.replace(",", "")
        if text.count(",") == 1:
            return text.replace(",", ".")
        return text
    if text.count(".") > 1 and _GROUPED.match(text):
        return text.replace(".", "")
    return text


def parse_int(value: Any) -> int | None:
    number = parse_amount(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise CellError(_("Write a whole number here, such as 30."))
    return int(number)


# -- dates --------------------------------------------------------------------------------

#: Excel's day 0 (serials from 61 on; Excel counts a 29 February 1900 that never was).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s]+(.*))?$")
_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})[-/.](\d{4})(?:[T\s]+(.*))?$")
_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})$")
_TIME = re.compile(
    r"^(上午|下午|凌晨|晚上)?\s*(\d{1,2})\s*[:：时点]\s*(\d{1,2})?\s*(?:[:：分]\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?\s*(am|pm|a\.m\.|p\.m\.)?$",
    re.IGNORECASE,
)
_NAMED_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y",
                  "%b %d %Y", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z")  # fmt: skip


def from_excel_serial(serial: float) -> dt.datetime:
    if not 1 <= serial < 2958466:
        raise CellError(_("%(value)s is not a date Excel can store.") % {"value": serial})
    if serial < 61:
        serial += 1  # before Excel's phantom 29 February 1900
    return _EXCEL_EPOCH + dt.timedelta(days=serial)


def _date_error(raw: Any) -> CellError:
    return CellError(
        _("“%(value)s” is not a date; write it like 2024-03-05 or 2024年3月5日.")
        % {"value": str(raw).strip()}
    )


def _parse_time(text: str, raw: Any) -> dt.time:
    match = _TIME.match(text.strip())
    if not match:
        raise _date_error(raw)
    half, hour, minute, second, ampm = match.groups()
    h, m = int(hour), int(minute or 0)
    s = float(second or 0)
    afternoon = (half in ("下午", "晚上")) or (ampm and ampm.lower().startswith("p"))
    morning = (half in ("上午", "凌晨")) or (ampm and ampm.lower().startswith("a"))
    if afternoon and h < 12:
        h += 12
    elif morning and h == 12:
        h = 0
    try:
        return dt.time(h, m, int(s), round((s % 1) * 1_000_000) % 1_000_000)
    except ValueError:
        raise _date_error(raw) from None


def parse_moment(value: Any, *, day_first: bool = False) -> tuple[dt.date, dt.time | None, Any]:
    """(date, time or None, tzinfo or None) from a cell: a date or datetime from Excel,
    an Excel serial number, or text in the usual Chinese, ISO, US and European forms.
    `day_first` decides 03/05/2024 (5 March when True); 25/12/2024 is never ambiguous,
    and 05.03.2024 is always day first."""
    if isinstance(value, dt.datetime):
        t = value.time()
        return value.date(), (t if t != dt.time(0) else None), value.tzinfo
    if isinstance(value, dt.date):
        return value, None, None
    if isinstance(value, bool):
        raise _date_error(value)
    if isinstance(value, int | float | Decimal):
        moment = from_excel_serial(float(value))
        t = moment.time()
        return moment.date(), (t if t != dt.time(0) else None), None
    raw = value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        if m := _COMPACT.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3])), None, None
        if re.fullmatch(r"\d+(\.\d+)?", text) and 1 <= float(text) < 2958466:
            return parse_moment(float(text))
        if m := _YMD.match(text):
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return day, (_parse_time(m[4], raw) if m[4] else None), None
        if m := _DMY.match(text):
            a, b, year = int(m[1]), int(m[3]), int(m[4])
            # 05.03.2024 is German, Russian, Swiss...: always day first.
            if a > 12 or ((day_first or m[2] == ".") and b <= 12):
                day = dt.date(year, b, a)
            else:
                day = dt.date(year, a, b)
            return day, (_parse_time(m[5], raw) if m[5] else None), None
        iso = dt.datetime.fromisoformat(text)
        return parse_moment(iso)
    except ValueError:
        pass
    for fmt in _NAMED_FORMATS:
        try:
            return parse_moment(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise _date_error(raw)


def parse_date(value: Any, *, day_first: bool = False) -> dt.date | None:
    if is_blank(value):
        return None
    day, _time, _tz = parse_moment(value, day_first=day_first)
    return day


def parse_datetime(value: Any, *, tz: dt.tzinfo, day_first: bool = False) -> dt.datetime | None:
    """An aware datetime; a time written without a zone is in `tz` (the organisation's)."""
    if is_blank(value):
        return None
    day, time, zone = parse_moment(value, day_first=day_first)
    moment = dt.datetime.combine(day, time or dt.time(0))
    if zone is not None:
        return moment.replace(tzinfo=zone)
    return moment.replace(tzinfo=tz)


# -- phones, e-mail, yes/no -----------------------------------------------------------------


def parse_phone(value: Any, *, region: str = "CN") -> str:
    """A phone number in international form: `+86` and the number for Chinese mobiles
    and landlines written without a country code, `+<country>…` otherwise. An
    extension is kept after an `x`. Excel's scientific notation (1.38E+10), which has
    lost digits, is refused."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        raise CellError(_("Write a phone number here."))
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("“%(value)s” is not a phone number.") % {"value": value})
        value = int(value)
    raw = str(value).strip()
    text = unicodedata.normalize("NFKC", raw).strip()
    if _SCIENTIFIC.match(text):
        raise CellError(
            _(
                "“%(value)s” lost digits in Excel; format the column as text and type the number again."
            )
            % {"value": raw}
        )
    extension = ""
    if m := _EXTENSION.search(text):
        extension, text = m[1], text[: m.start()].strip()
    if NOT_PHONE.search(text):
        raise CellError(
            _("“%(value)s” is not a phone number; write it like +86 138 0013 8000.")
            % {"value": raw}
        )
    number = canonical_phone(text, region=region)
    if not plausible_length(number):
        raise CellError(
            _("“%(value)s” is not a phone number; write it like +86 138 0013 8000.")
            % {"value": raw}
        )
    return number + (f"x{extension}" if extension else "")


def parse_email(value: Any) -> str:
    """An e-mail address, lower-cased, from `Name <a@b.com>`, `mailto:a@b.com` or `a@b.com`."""
    if is_blank(value):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if m := re.search(r"<([^<>]+)>\s*$", text):
        text = m[1].strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


_YES = {"true", "1", "yes", "y", "是", "对", "有", "√", "✓", "✔", "x", "on", "t"}
_NO = {"false", "0", "no", "n", "否", "不", "不是", "无", "没有", "off", "f", "×", "✗"}


def parse_bool(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(
        _("“%(value)s” is not yes or no; write 是 / 否 or yes / no.") % {"value": value}
    )
