"""Money helpers: amounts are Decimal with 2 places, rounded half-up."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal | int | str | float) -> Decimal:
    """`value` as a Decimal rounded to cents (floats go through str to stay exact)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` in a currency times the rate of that currency to the base, in cents."""
    return money(amount * rate)
