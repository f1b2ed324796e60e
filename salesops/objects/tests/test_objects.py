"""Custom objects: defined by an administrator, in the registry at once, records within
rights and data scopes, fields validated, every write audited, and the fields'
expression indexes serving filters and sorts."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from salesops.audit.models import AuditEntry
from salesops.crm.tests.factories import CustomerFactory
from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.customization.values import value_of
from salesops.lib.services import NotVisible
from salesops.objects import indexes, services
from salesops.objects.models import CustomRecord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def visit(cast):
    obj = services.define_object(
        by=cast.admin,
        key="site_visit",
        label="Site visit",
        plural="Site visits",
        title_label="Subject",
        links=["customer"],
    )
    for key, label, ftype, extra in [
        (
            "outcome",
            "Outcome",
            "select",
            {"options": [{"value": "good", "label": "Good"}, {"value": "bad", "label": "Bad"}]},
        ),
        ("score", "Score", "number", {}),
        ("visited_on", "Visited on", "date", {"required": True}),
    ]:
        CustomField.objects.create(
            object_type="site_visit", key=key, label=label, field_type=ftype, **extra
        )
    # Every role was given its customer rights on the new object (read afresh, as the
    # next request would).
    for person in (cast.rep, cast.manager, cast.outsider, cast.admin):
        person.role.refresh_from_db()
    return obj


def test_a_new_object_is_in_the_registry_at_once_with_its_fields(visit):
    spec = registry.get("site_visit")
    assert spec.is_custom_object and spec.label == "Site visit"
    assert [f.key for f in spec.fields()][:3] == ["title", "customer", "owner"]
    assert {"outcome", "score", "visited_on"} <= set(spec.keys())
    assert spec.field("title").title == "Subject"
    assert "site_visit" in {s.key for s in registry.objects()}


def test_a_built_in_name_or_a_taken_key_is_refused(cast, visit):
    for key in ("deal", "site_visit", "Bad Key", "x"):
        with pytest.raises(ValidationError):
            services.define_object(by=cast.admin, key=key, label="X", title_label="Name")


def test_only_an_administrator_defines_objects(cast):
    with pytest.raises(PermissionDenied):
        services.define_object(by=cast.manager, key="ticket", label="Ticket", title_label="T")


def test_records_are_validated_owned_and_scoped(cast, visit):
    customer = CustomerFactory(owner=cast.rep)
    record = services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "First visit", "customer": customer.pk},
        custom={"outcome": "good", "score": "7.5", "visited_on": "2026-12-01"},
    )
    assert record.owner == cast.rep and record.customer == customer
    assert record.custom == {"outcome": "good", "score": 7.5, "visited_on": "2026-12-01"}
    spec = registry.get("site_visit")
    assert list(spec.visible(cast.rep)) == [record]
    assert list(spec.visible(cast.manager)) == [record]  # East's manager
    assert list(spec.visible(cast.outsider)) == []  # West
    with pytest.raises(ValidationError) as refused:
        services.create_record(
            by=cast.rep, object_type="site_visit", data={"title": "x"}, custom={"score": "lots"}
        )
    assert "custom.visited_on" in refused.value.message_dict
    assert "custom.score" in refused.value.message_dict
    # A customer the writer cannot see is refused as a link.
    other = CustomerFactory(owner=cast.outsider)
    with pytest.raises(ValidationError):
        services.create_record(
            by=cast.rep,
            object_type="site_visit",
            data={"title": "x", "customer": other.pk},
            custom={"visited_on": "2026-12-01"},
        )
    assert CustomRecord.objects.count() == 1


def test_updates_deletes_and_restores_are_audited_and_checked(cast, visit):
    record = services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "Visit"},
        custom={"visited_on": "2026-12-01"},
    )
    with pytest.raises(NotVisible):
        services.update_record(by=cast.outsider, record=record, data={"title": "Mine"})
    services.update_record(
        by=cast.rep, record=record, data={"title": "Visit 2"}, custom={"score": 3}, version=1
    )
    services.delete_record(by=cast.rep, record=record)
    assert not registry.get("site_visit").visible(cast.rep).exists()
    services.restore_record(by=cast.rep, record=record)
    actions = list(
        AuditEntry.objects.filter(object_type="objects.customrecord", object_id=record.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "updated", "deleted", "restored"]


def test_a_role_without_the_right_on_the_object_sees_none_of_its_records(cast, visit):
    services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "V"},
        custom={"visited_on": "2026-12-01"},
    )
    role = cast.manager.role
    role.rights = {k: v for k, v in role.rights.items() if k != "site_visit"}
    role.save()
    manager = type(cast.manager).objects.get(pk=cast.manager.pk)
    assert not registry.get("site_visit").visible(manager).exists()
    with pytest.raises(PermissionDenied):
        services.create_record(by=manager, object_type="site_visit", data={"title": "V"}, custom={})


def test_each_filterable_field_gets_an_expression_index_that_filters_and_sorts_use(cast, visit):
    spec = registry.get("site_visit")
    created = indexes.ensure(spec)  # the signal made them on commit already
    assert created == []
    assert set(indexes.wanted(spec)) <= indexes.existing()
    score = value_of(spec.field("score"))
    outcome = value_of(spec.field("outcome"))
    qs = (
        CustomRecord.objects.filter(kind_id=spec.custom_object_id)
        .alias(o=outcome, s=score)
        .filter(o="good")
        .order_by("-s", "-id")[:50]
    )
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert "custrec_cf_" in plan, plan


def test_rules_formulas_and_roll_ups_work_on_a_custom_object(cast, visit):
    from salesops.customization import admin_services

    admin_services.create_validation_rule(
        by=cast.admin,
        object_type="site_visit",
        name="Score range",
        condition="score > 10",
        message_en="A score is at most 10.",
        message_zh="评分最多为 10。",
        field="score",
    )
    admin_services.create_custom_field(
        by=cast.admin,
        object_type="site_visit",
        key="double_score",
        label="Double score",
        field_type="formula",
        expression="score * 2",
        result_type="number",
    )
    admin_services.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="visits",
        label="Visits",
        field_type="rollup",
        result_type="number",
        rollup_object="site_visit",
        rollup_link="customer",
        rollup_aggregate="count",
    )
    customer = CustomerFactory(owner=cast.rep)
    with pytest.raises(ValidationError) as refused:
        services.create_record(
            by=cast.rep,
            object_type="site_visit",
            data={"title": "Too good", "customer": customer.pk},
            custom={"score": 11, "visited_on": "2026-12-01"},
        )
    assert "A score is at most 10." in str(refused.value)
    record = services.create_record(
        by=cast.rep,
        object_type="site_visit",
        data={"title": "Fine", "customer": customer.pk},
        custom={"score": 4, "visited_on": "2026-12-01"},
    )
    assert str(record.custom["double_score"]) in ("8", "8.0")
    customer.refresh_from_db()
    assert customer.custom["visits"] == 1
    services.delete_record(by=cast.rep, record=record)
    customer.refresh_from_db()
    assert customer.custom["visits"] == 0


def test_an_owner_outside_the_scope_or_not_a_user_is_refused_and_nothing_is_written(cast, visit):
    for owner in (cast.outsider.pk, "abc", 999999):
        with pytest.raises(ValidationError) as refused:
            services.create_record(
                by=cast.rep,
                object_type="site_visit",
                data={"title": "V", "owner": owner},
                custom={"visited_on": "2026-12-01"},
            )
        assert "owner" in refused.value.message_dict
    assert not CustomRecord.objects.exists()
