"""Administrators' writes on custom fields, picklists, currencies and roles' hidden
fields: what they refuse, what they keep, and the audit entries they write."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.customization import admin_services as fields_admin
from salesops.customization import policy, registry
from salesops.customization.models import CustomField, Picklist
from salesops.customization.services import clean_custom_values, forget_definitions
from salesops.org.models import Currency, Organisation
from salesops.users import admin_services as users_admin
from salesops.users.models import OBJECT_TYPES, Role, User

T = CustomField.Type
TIERS = [{"value": "a", "label": "Gold"}, {"value": "b", "label": "Silver"}]


def make(by, **kw):
    args = {"object_type": "customer", "key": "tier", "label": "Tier", "field_type": T.TEXT}
    return fields_admin.create_custom_field(by=by, **(args | kw))


def fresh(user):
    return User.objects.select_related("role").get(pk=user.pk)


def test_it_creates_a_field_on_every_object_type(cast):
    for object_type, _label in OBJECT_TYPES:
        field = make(cast.admin, object_type=object_type, key="region_code")
        assert field.active and field.object_type == object_type
    assert {f.object_type for f in CustomField.objects.all()} == {t for t, _l in OBJECT_TYPES}


def test_it_refuses_a_key_of_a_built_in_field(cast):
    for object_type, key in [("deal", "amount"), ("customer", "phone"), ("task", "title")]:
        with pytest.raises(ValidationError) as e:
            make(cast.admin, object_type=object_type, key=key)
        assert "built-in field" in e.value.message_dict["key"][0]
    assert not CustomField.objects.exists()


def test_it_refuses_anyone_but_an_administrator(cast):
    for user in (cast.rep, cast.manager, cast.analyst):
        with pytest.raises(PermissionDenied):
            make(user)
    field = make(cast.admin, field_type=T.SELECT, options=TIERS)
    with pytest.raises(PermissionDenied):
        fields_admin.retire_custom_field(field=field, by=cast.rep)
    with pytest.raises(PermissionDenied):
        fields_admin.add_option(field=field, by=cast.rep, value="c")
    with pytest.raises(PermissionDenied):
        fields_admin.save_picklist(by=cast.rep, data={"key": "regions", "name": "Regions"})
    with pytest.raises(PermissionDenied):
        fields_admin.save_role(by=cast.rep, data={}, role=cast.rep.role, hidden={"deal": []})
    assert CustomField.objects.get(pk=field.pk).active


def test_retiring_keeps_the_values_and_restoring_shows_them_again(cast):
    field = make(cast.admin)
    customer = crm.create_customer(by=cast.rep, name="Acme", custom={"tier": "gold"})
    fields_admin.retire_custom_field(field=field, by=cast.admin)
    assert registry.get("customer").field("tier") is None
    assert "tier" not in policy.visible_keys(cast.admin, "customer")
    customer.refresh_from_db()
    assert customer.custom == {"tier": "gold"}
    # An edit of another field keeps the retired field's value.
    kept = clean_custom_values(object_type="customer", values={}, existing=customer.custom)
    assert kept == {"tier": "gold"}
    fields_admin.restore_custom_field(field=field, by=cast.admin)
    assert registry.get("customer").field("tier") is not None
    customer.refresh_from_db()
    assert customer.custom == {"tier": "gold"}
    actions = list(
        AuditEntry.objects.filter(object_type="customization.customfield").values_list(
            "action", "changes"
        )
    )
    assert ("updated", {"active": {"old": True, "new": False}}) in actions
    assert ("updated", {"active": {"old": False, "new": True}}) in actions


def test_the_default_applies_when_a_record_is_created_without_a_value(cast):
    make(cast.admin, field_type=T.SELECT, options=TIERS, default="b")
    customer = crm.create_customer(by=cast.rep, name="Acme")
    assert customer.custom == {"tier": "b"}
    given = crm.create_customer(by=cast.rep, name="Beta", custom={"tier": "a"})
    assert given.custom == {"tier": "a"}
    # Not on an update: a value cleared on purpose stays cleared.
    cleared = clean_custom_values(object_type="customer", values={"tier": ""}, existing={})
    assert cleared == {}
    assert clean_custom_values(object_type="customer", values={}, creating=True) == {"tier": "b"}


def test_a_default_is_checked_like_a_value(cast):
    with pytest.raises(ValidationError) as e:
        make(cast.admin, field_type=T.NUMBER, default="lots")
    assert "default" in e.value.message_dict
    field = make(cast.admin, field_type=T.MULTI_SELECT, options=TIERS, default="b, a")
    assert field.default == ["a", "b"]
    fields_admin.update_custom_field(field=field, by=cast.admin, data={"default": ""})
    assert CustomField.objects.get(pk=field.pk).default is None


def test_an_option_value_never_changes_and_a_deactivated_option_keeps_its_label(cast):
    field = make(cast.admin, field_type=T.SELECT, options=TIERS)
    with pytest.raises(ValidationError) as e:
        fields_admin.update_custom_field(
            field=field, by=cast.admin, data={"options": [{"value": "gold", "label": "Gold"}]}
        )
    assert "deactivate" in e.value.message_dict["options"][0]
    fields_admin.change_option(field=field, by=cast.admin, value="a", label="Platinum")
    fields_admin.add_option(field=field, by=cast.admin, value="c", label="Bronze")
    fields_admin.change_option(field=field, by=cast.admin, value="c", step=-1)
    field = fields_admin.change_option(field=field, by=cast.admin, value="b", active=False)
    assert [o["value"] for o in field.all_options()] == ["a", "c", "b"]
    assert field.option_values() == ["a", "c"]
    with pytest.raises(ValidationError):
        clean_custom_values(object_type="customer", values={"tier": "b"})
    spec = registry.get("customer").field("tier")
    assert [v for v, _label in spec.options()] == ["a", "c"]
    assert spec.choice_label("b") == "Silver" and spec.choice_label("a") == "Platinum"


def test_moving_a_field_renumbers_its_objects_fields(cast):
    first = make(cast.admin, key="first")
    second = make(cast.admin, key="second")
    third = make(cast.admin, key="third")
    fields_admin.move_custom_field(field=third, by=cast.admin, step=-1)
    order = list(
        CustomField.objects.filter(object_type="customer").order_by("order").values_list("key")
    )
    assert [k for (k,) in order] == ["first", "third", "second"]
    fields_admin.move_custom_field(field=first, by=cast.admin, step=-1)  # already first
    assert [f.key for f in registry.get("customer").fields() if f.is_custom] == [
        "first",
        "third",
        "second",
    ]
    assert second.pk


def test_a_fields_key_object_and_type_cannot_change(cast):
    field = make(cast.admin)
    for data in ({"key": "other"}, {"object_type": "deal"}, {"field_type": T.NUMBER}):
        with pytest.raises(ValidationError):
            fields_admin.update_custom_field(field=field, by=cast.admin, data=data)


def test_picklist_options_are_added_relabelled_moved_and_deactivated_with_fixed_values(cast):
    picklist = fields_admin.save_picklist(by=cast.admin, data={"key": "regions", "name": "Regions"})
    north = fields_admin.add_picklist_option(by=cast.admin, picklist=picklist, value="north")
    south = fields_admin.add_picklist_option(
        by=cast.admin, picklist=picklist, value="south", label="South"
    )
    with pytest.raises(ValidationError):
        fields_admin.add_picklist_option(by=cast.admin, picklist=picklist, value="north")
    with pytest.raises(ValidationError):
        fields_admin.update_picklist_option(by=cast.admin, option=north, data={"value": "n"})
    fields_admin.update_picklist_option(by=cast.admin, option=north, data={"label": "北方"})
    fields_admin.move_picklist_option(by=cast.admin, option=south, step=-1)
    fields_admin.update_picklist_option(by=cast.admin, option=south, data={"active": False})
    rows = list(picklist.options.order_by("order").values_list("value", "label", "active"))
    assert rows == [("south", "South", False), ("north", "北方", True)]
    fields_admin.save_picklist(
        by=cast.admin, data={"key": "zones", "name": "Areas"}, picklist=picklist
    )
    assert Picklist.objects.get(pk=picklist.pk).key == "regions"
    assert AuditEntry.objects.filter(object_type="customization.picklistoption").count() >= 4


def test_hidden_fields_are_saved_from_the_registry_and_the_policy_hides_them(cast):
    make(cast.admin, object_type="deal", key="margin", field_type=T.NUMBER)
    role = cast.rep.role
    fields_admin.save_role(
        by=cast.admin, data={}, role=role, hidden={"deal": ["amount", "margin"], "customer": []}
    )
    assert Role.objects.get(pk=role.pk).hidden_fields == {"deal": ["amount", "margin"]}
    rep = fresh(cast.rep)
    assert {"amount", "margin"} <= policy.hidden_keys(rep, "deal")
    assert "amount" in policy.visible_keys(fresh(cast.manager), "deal")
    entry = AuditEntry.objects.filter(object_type="users.role", object_id=role.pk).latest("at")
    assert entry.changes["hidden_fields"]["new"] == {"deal": ["amount", "margin"]}
    with pytest.raises(ValidationError):
        fields_admin.save_role(by=cast.admin, data={}, role=role, hidden={"deal": ["no_such"]})


def test_a_retired_fields_hidden_entry_is_kept_for_when_it_comes_back(cast):
    field = make(cast.admin, object_type="deal", key="margin", field_type=T.NUMBER)
    role = cast.rep.role
    fields_admin.save_role(by=cast.admin, data={}, role=role, hidden={"deal": ["margin"]})
    fields_admin.retire_custom_field(field=field, by=cast.admin)
    fields_admin.save_role(by=cast.admin, data={}, role=role, hidden={"deal": ["amount"]})
    assert sorted(Role.objects.get(pk=role.pk).hidden_fields["deal"]) == ["amount", "margin"]
    fields_admin.restore_custom_field(field=field, by=cast.admin)
    assert "margin" in policy.hidden_keys(fresh(cast.rep), "deal")


def test_currencies_are_added_and_the_base_currency_stays_in_use(cast):
    users_admin.save_currency(
        by=cast.admin, data={"code": "xts", "name": "Test units", "symbol": "T"}
    )
    units = Currency.objects.get(code="XTS")
    users_admin.save_currency(by=cast.admin, data={"active": False}, currency=units)
    assert not Currency.objects.get(code="XTS").active
    base = Currency.objects.get(code=Organisation.get().base_currency_id)
    with pytest.raises(ValidationError):
        users_admin.save_currency(by=cast.admin, data={"active": False}, currency=base)
    with pytest.raises(PermissionDenied):
        users_admin.save_currency(by=cast.rep, data={"active": True}, currency=units)
    with pytest.raises(ValidationError):
        users_admin.save_currency(by=cast.admin, data={"code": "XTS", "name": "Again"})


def test_a_field_new_records_must_have_cannot_be_hidden_from_a_role(cast):
    CustomField.objects.create(
        object_type="deal", key="budget", label="Budget", field_type="money", required=True
    )
    role = cast.rep.role
    with pytest.raises(ValidationError) as refused:
        fields_admin.save_role(
            by=cast.admin, data={}, role=role, hidden={"deal": ["budget", "source"]}
        )
    assert "Budget" in str(refused.value)
    role.refresh_from_db()
    assert "budget" not in (role.hidden_fields or {}).get("deal", [])
    # Optional fields may be hidden; so may a required one with a default.
    fields_admin.save_role(by=cast.admin, data={}, role=role, hidden={"deal": ["source"]})
    CustomField.objects.filter(key="budget").update(default="100")
    forget_definitions()
    fields_admin.save_role(by=cast.admin, data={}, role=role, hidden={"deal": ["budget"]})
    role.refresh_from_db()
    assert role.hidden_fields["deal"] == ["budget"]
