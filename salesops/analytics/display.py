"""Numbers as people read them: grouped digits, money with its symbol or code, rates
as percentages and "—" for an undefined value. Shared by pages, e-mails and exports, so
a number reads the same wherever it is shown."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.numberformat import format as number_format

#: Currencies shown with a symbol; the rest with their ISO code.
SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}
DASH = "—"


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_number(value: Any, places: int = 2) -> str:
    number = to_decimal(value)
    if number is None:
        return DASH
    return number_format(
        number, ".", decimal_pos=places, grouping=3, thousand_sep=",", force_grouping=True
    )


def format_money(value: Any, currency: Any = "") -> str:
    """12000 and "CNY" → ¥12,000.00; other currencies keep their code."""
    number = to_decimal(value)
    if number is None:
        return DASH
    code = str(getattr(currency, "pk", currency) or "")
    text = format_number(number, 2)
    symbol = SYMBOLS.get(code)
    if symbol:
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{code} {text}".strip()


def format_percent(value: Any, places: int = 0) -> str:
    """0.256 → 26% (None: a dash; a rate is undefined, not zero)."""
    number = to_decimal(value)
    if number is None:
        return DASH
    return f"{format_number(number * 100, int(places))}%"
