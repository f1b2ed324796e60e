"""The expression language of validation rules and formula fields: what it accepts,
what it refuses (with the position), and exact decimal arithmetic."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from salesops.customization.expressions import ExpressionError, compile_expression

pytestmark = pytest.mark.django_db


def ev(text, object_type="deal", **values):
    return compile_expression(text, object_type=object_type).evaluate(values)


def test_a_rule_over_the_records_fields_is_true_or_false():
    rule = "amount > 10000 and not empty(source)"
    assert ev(rule, amount=Decimal("12000.00"), source="web") is True
    assert ev(rule, amount=Decimal("12000.00"), source="") is False
    assert ev(rule, amount=Decimal("9000"), source="web") is False


def test_arithmetic_is_decimal_so_money_stays_exact():
    assert ev("amount * 0.1 + 0.2", amount=Decimal("0.1")) == Decimal("0.21")
    assert ev("amount * probability / 100", amount=Decimal("1000.00"), probability=35) == Decimal(
        "350"
    )


def test_functions_dates_and_membership():
    assert (
        ev(
            "days(created_on, expected_close)",
            created_on=dt.date(2026, 1, 1),
            expected_close=dt.date(2026, 3, 2),
        )
        == 60
    )
    assert ev('status in ("won", "lost")', status="won") is True
    assert ev('contains(name, "ACME")', name="Big acme deal") is True
    assert ev("coalesce(probability, 10)", probability=None) == 10
    assert ev("customer.industry == 'it'", **{"customer.industry": "it"}) is True


def test_the_expression_names_the_fields_it_reads():
    e = compile_expression("amount > 1 and customer.region == 'north'", object_type="deal")
    assert e.names == {"amount", "customer.region"}


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("amount >", 9),
        ("amount > 1 and budgett > 2", 16),
        ("__import__('os')", 1),
        ("amount.__class__", 1),
        ("[x for x in name]", 1),
        ("lambda: 1", 1),
        ("open('/etc/passwd')", 1),
        ("amount ** 99999999", 1),
    ],
)
def test_a_bad_expression_is_refused_with_where_the_problem_is(text, position):
    with pytest.raises(ExpressionError) as refused:
        compile_expression(text, object_type="deal")
    assert refused.value.position == position


def test_the_refusal_speaks_the_persons_language():
    with translation.override("zh-hans"), pytest.raises(ExpressionError) as refused:
        compile_expression("amount > 1 and budgett > 2", object_type="deal")
    assert "budgett" in refused.value.messages[0]
    assert "字段" in refused.value.messages[0]


def test_values_that_do_not_combine_give_a_message_not_a_crash():
    with pytest.raises(ExpressionError):
        ev("name + 1", name="x")
