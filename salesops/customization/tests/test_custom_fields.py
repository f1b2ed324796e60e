import pytest
from django.core.exceptions import ValidationError

from salesops.customization.models import CustomField
from salesops.customization.services import clean_custom_values, normalise_phone

T = CustomField.Type


@pytest.fixture
def fields(db):
    def make(key, field_type, **kw):
        return CustomField.objects.create(
            object_type="customer", key=key, label=key.title(), field_type=field_type, **kw
        )

    make("note", T.TEXT)
    make("headcount", T.NUMBER)
    make("budget", T.MONEY)
    make("founded", T.DATE)
    make("met_at", T.DATETIME)
    make("tier", T.SELECT, options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}])
    make("channels", T.MULTI_SELECT, options=[{"value": "wechat"}, {"value": "mail"}])
    make("vip", T.BOOLEAN)
    make("site", T.URL)
    make("billing", T.EMAIL)
    make("hotline", T.PHONE)
    make("credit_code", T.TEXT, required=True)


def clean(values, existing=None):
    return clean_custom_values(object_type="customer", values=values, existing=existing)


def test_good_values_are_normalised(fields):
    out = clean(
        {
            "credit_code": "91310000",
            "headcount": "1,200",
            "budget": 12.5,
            "founded": "2020-02-29",
            "met_at": "2026-03-01T09:30:00+08:00",
            "tier": "b",
            "channels": ["mail", "wechat", "mail"],
            "vip": "是",
            "site": "https://example.com",
            "billing": "ap@example.com",
            "hotline": "+86 (21) 6888-0000",
        }
    )
    assert out["headcount"] == 1200
    assert out["budget"] == "12.50"
    assert out["met_at"] == "2026-03-01T01:30:00+00:00"
    assert out["channels"] == ["wechat", "mail"]
    assert out["vip"] is True
    assert out["hotline"] == "+862168880000"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("headcount", "many"),
        ("headcount", True),
        ("budget", "NaN"),
        ("founded", "29/02/2020"),
        ("met_at", "yesterday"),
        ("tier", "z"),
        ("channels", ["fax"]),
        ("vip", "perhaps"),
        ("site", "javascript:alert(1)"),
        ("billing", "nobody"),
        ("hotline", "call me"),
        ("note", "x" * 1001),
    ],
)
def test_each_bad_value_names_its_field_and_nothing_is_returned(fields, key, value):
    with pytest.raises(ValidationError) as e:
        clean({"credit_code": "x", key: value})
    assert list(e.value.message_dict) == [f"custom.{key}"]


def test_an_unknown_key_is_refused(fields):
    with pytest.raises(ValidationError) as e:
        clean({"credit_code": "x", "__class__": "y"})
    assert "custom.__class__" in e.value.message_dict


def test_a_required_field_must_be_present_unless_already_stored(fields):
    with pytest.raises(ValidationError) as e:
        clean({"note": "hi"})
    assert "custom.credit_code" in e.value.message_dict
    assert clean({"note": "hi"}, existing={"credit_code": "k"}) == {
        "credit_code": "k",
        "note": "hi",
    }


def test_an_empty_value_clears_the_field(fields):
    assert clean({"note": ""}, existing={"credit_code": "k", "note": "old"}) == {"credit_code": "k"}


def test_inactive_fields_do_not_accept_values(fields):
    CustomField.objects.filter(key="note").update(active=False)
    with pytest.raises(ValidationError):
        clean({"credit_code": "x", "note": "hi"})


def test_a_non_dict_is_refused(fields):
    with pytest.raises(ValidationError):
        clean(["x"])


@pytest.mark.parametrize(
    ("raw", "out"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0044 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_normalised(raw, out):
    assert normalise_phone(raw) == out
