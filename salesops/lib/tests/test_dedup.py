"""The phone key's shortcut for numbers already in international form gives what the
full rule gives, on numbers in every shape (hypothesis) and on the edge cases."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.lib import dedup


def full_rule(phone: str) -> str:
    """`stored_phone_key` without its shortcut."""
    text = dedup.unicodedata.normalize("NFKC", phone).strip()
    if dedup.SCIENTIFIC.match(text):
        return dedup.phone_key(phone)
    if m := dedup.EXTENSION.search(text):
        text = text[: m.start()].strip()
    if dedup.NOT_PHONE.search(text):
        return dedup.phone_key(phone)
    number = dedup.canonical_phone(text)
    return number if dedup.plausible_length(number) else dedup.phone_key(phone)


@pytest.mark.parametrize(
    "phone",
    ["+8613800138000", "+86010612345", "+8601061234567", "+86055", "+12025550123",
     "+1234", "+123456789012345678901", "+0123456", "+４４20", "+44 20 7946 0958"],
)  # fmt: skip
def test_the_shortcut_agrees_with_the_full_rule(phone):
    assert dedup.stored_phone_key(phone) == full_rule(phone)


@given(st.from_regex(r"\+?[0-9]{0,22}", fullmatch=True))
def test_the_shortcut_agrees_on_any_run_of_digits(phone):
    if phone:
        assert dedup.stored_phone_key(phone) == full_rule(phone)
