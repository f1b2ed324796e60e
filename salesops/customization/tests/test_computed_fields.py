"""Formula and roll-up fields: stored in the records' custom values and kept exact on
every write path (services, imports, queryset updates, definition changes)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from salesops.crm import services
from salesops.crm.models import Contact, Customer, Deal
from salesops.crm.tests.factories import CustomerFactory, DealFactory, PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import computed, registry
from salesops.customization.models import CustomField
from salesops.imports.bulk import run_bulk_import
from salesops.imports.engine import run_import
from salesops.imports.fields import spec_for, suggest_mapping
from salesops.imports.reading import open_table
from salesops.imports.tests import corpus

pytestmark = pytest.mark.django_db
T = CustomField.Type


@pytest.fixture
def pipeline(db):
    return PipelineFactory.create(name="Sales")


def weighted(cast, **kw):
    return fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="weighted",
        label="Weighted",
        field_type=T.FORMULA,
        expression=kw.pop("expression", "amount * probability / 100"),
        result_type=kw.pop("result_type", "money"),
        **kw,
    )


def won_total(cast, **kw):
    return fields_admin.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="won_total",
        label="Won amount",
        field_type=T.ROLLUP,
        rollup_object="deal",
        rollup_link="customer",
        rollup_aggregate="sum",
        rollup_field="amount",
        rollup_condition='status == "won"',
        **kw,
    )


def contact_count(cast):
    return fields_admin.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="contacts_n",
        label="Contacts",
        field_type=T.ROLLUP,
        rollup_object="contact",
        rollup_link="customer",
        rollup_aggregate="count",
    )


def custom_of(obj):
    return type(obj).all_objects.get(pk=obj.pk).custom


def new_deal(cast, customer, pipeline, amount="1000", probability=50, **kw):
    return services.create_deal(
        by=cast.rep,
        customer=customer,
        name=kw.pop("name", "Deal"),
        pipeline=pipeline,
        amount=amount,
        probability=probability,
        **kw,
    )


# -- formulas ---------------------------------------------------------------------------


def test_a_formula_is_stored_on_create_and_recomputed_on_update(cast, pipeline):
    weighted(cast)
    customer = CustomerFactory.create(owner=cast.rep)
    deal = new_deal(cast, customer, pipeline, amount="12000", probability=25)
    assert custom_of(deal)["weighted"] == "3000.00"
    services.update_record(obj=deal, by=cast.rep, data={"amount": "20000"})
    assert custom_of(deal)["weighted"] == "5000.00"
    services.update_record(obj=deal, by=cast.rep, data={"probability": None})
    assert "weighted" not in custom_of(deal)


def test_a_formula_is_computed_for_every_record_when_created_and_when_changed(cast, pipeline):
    customer = CustomerFactory.create(owner=cast.rep)
    deals = [
        DealFactory.create(customer=customer, pipeline=pipeline, amount=a, probability=p)
        for a, p in ((Decimal(100), 10), (Decimal(200), 50), (Decimal(300), None))
    ]
    field = weighted(cast)
    assert [custom_of(d).get("weighted") for d in deals] == ["10.00", "100.00", None]
    fields_admin.update_custom_field(
        field=field, by=cast.admin, data={"expression": "amount * 2", "result_type": "number"}
    )
    assert [custom_of(d).get("weighted") for d in deals] == [200, 400, 600]


def test_the_recompute_command_rebuilds_an_objects_computed_values(cast, pipeline):
    weighted(cast)
    deal = DealFactory.create(owner=cast.rep, pipeline=pipeline, amount=Decimal(80), probability=50)
    Deal.all_objects.filter(pk=deal.pk).update(custom={"weighted": "1.00"})
    out = io.StringIO()
    call_command("recompute-fields", "deal", stdout=out)
    assert custom_of(deal)["weighted"] == "40.00"
    assert "1" in out.getvalue()


def test_an_evaluation_error_leaves_the_value_empty_and_saves_the_record(cast, pipeline):
    weighted(cast, expression="amount / (probability - 50)", result_type="number")
    customer = CustomerFactory.create(owner=cast.rep)
    deal = new_deal(cast, customer, pipeline, amount="100", probability=50)
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert "weighted" not in custom_of(deal)
    services.update_record(obj=deal, by=cast.rep, data={"probability": 60})
    assert custom_of(deal)["weighted"] == 10


def test_a_value_sent_for_a_formula_is_refused_and_the_stored_one_kept(cast, pipeline):
    weighted(cast)
    customer = CustomerFactory.create(owner=cast.rep)
    deal = new_deal(cast, customer, pipeline, amount="100", probability=50)
    with pytest.raises(ValidationError) as e:
        services.update_record(obj=deal, by=cast.rep, data={}, custom={"weighted": "1"})
    assert list(e.value.message_dict) == ["custom.weighted"]
    assert custom_of(deal)["weighted"] == "50.00"


def test_the_registry_shows_a_formula_as_a_read_only_field_of_its_result_type(cast):
    weighted(cast)
    f = registry.get("deal").field("weighted")
    assert (f.type, f.editable, f.sortable, f.filterable) == (registry.MONEY, False, True, True)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("amount *", "At character"),
        ("amount * nothing", "“nothing”"),
        ("days(created_on, today())", "today()"),
        ("customer", "names another record"),
        ("weighted + 1", "“weighted”"),
    ],
)
def test_a_formula_that_cannot_be_kept_exact_is_refused_with_where_and_why(
    cast, expression, problem
):
    with pytest.raises(ValidationError) as e:
        weighted(cast, expression=expression)
    assert problem in " ".join(e.value.message_dict["expression"])
    assert not CustomField.objects.filter(key="weighted").exists()


def test_only_an_administrator_may_create_or_change_a_computed_field(cast):
    with pytest.raises(PermissionDenied):
        fields_admin.create_custom_field(
            by=cast.manager,
            object_type="deal",
            key="weighted",
            label="W",
            field_type=T.FORMULA,
            expression="amount",
            result_type="money",
        )
    field = weighted(cast)
    with pytest.raises(PermissionDenied):
        fields_admin.update_custom_field(field=field, by=cast.rep, data={"expression": "1"})


# -- roll-ups ---------------------------------------------------------------------------


def test_a_customers_won_amount_stays_exact_through_every_deal_write(cast, pipeline):
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    globex = CustomerFactory.create(owner=cast.rep, name="Globex")
    won_total(cast)
    assert custom_of(acme)["won_total"] == "0.00"

    deal = new_deal(cast, acme, pipeline, amount="1000")
    other = new_deal(cast, acme, pipeline, amount="250")
    assert custom_of(acme)["won_total"] == "0.00"
    services.mark_deal_won(deal=deal, by=cast.rep)
    services.mark_deal_won(deal=other, by=cast.rep)
    assert custom_of(acme)["won_total"] == "1250.00"

    services.update_record(obj=Deal.objects.get(pk=deal.pk), by=cast.rep, data={"amount": "3000"})
    assert custom_of(acme)["won_total"] == "3250.00"

    # Moved to another customer: both are recomputed.
    moved = Deal.objects.get(pk=deal.pk)
    moved.customer = globex
    moved.save()
    assert (custom_of(acme)["won_total"], custom_of(globex)["won_total"]) == ("250.00", "3000.00")

    services.delete_record(obj=Deal.objects.get(pk=other.pk), by=cast.rep)
    assert custom_of(acme)["won_total"] == "0.00"
    services.restore_record(obj=Deal.all_objects.get(pk=other.pk), by=cast.rep)
    assert custom_of(acme)["won_total"] == "250.00"

    services.reopen_deal(deal=Deal.objects.get(pk=other.pk), by=cast.rep)
    assert custom_of(acme)["won_total"] == "0.00"
    Deal.all_objects.filter(pk=deal.pk).delete()
    assert custom_of(globex)["won_total"] == "0.00"


def test_a_roll_up_is_computed_for_every_parent_when_created(cast, pipeline):
    acme = CustomerFactory.create(owner=cast.rep)
    quiet = CustomerFactory.create(owner=cast.rep)
    for amount, status in ((10, "won"), (5, "won"), (7, "open")):
        DealFactory.create(
            owner=cast.rep,
            customer=acme,
            pipeline=pipeline,
            amount=Decimal(amount),
            status=status,
            closed_on=dt.date(2026, 1, 5) if status == "won" else None,
        )
    won_total(cast)
    assert custom_of(acme)["won_total"] == "15.00"
    assert custom_of(quiet)["won_total"] == "0.00"


def test_a_formula_on_the_parent_follows_its_roll_up(cast, pipeline):
    acme = CustomerFactory.create(owner=cast.rep)
    won_total(cast)
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="customer",
        key="commission",
        label="Commission",
        field_type=T.FORMULA,
        expression="won_total * 0.1",
        result_type="money",
    )
    deal = new_deal(cast, acme, pipeline, amount="1234")
    services.mark_deal_won(deal=deal, by=cast.rep)
    assert custom_of(acme)["commission"] == "123.40"


def test_deleting_and_restoring_a_customer_keeps_its_roll_ups(cast, pipeline):
    acme = CustomerFactory.create(owner=cast.rep)
    contact_count(cast)
    services.create_contact(by=cast.rep, customer=acme, name="Ann")
    services.create_contact(by=cast.rep, customer=acme, name="Bob")
    assert custom_of(acme)["contacts_n"] == 2
    services.delete_customer(customer=acme, by=cast.admin)
    assert custom_of(acme)["contacts_n"] == 0
    services.restore_customer(customer=Customer.all_objects.get(pk=acme.pk), by=cast.admin)
    assert custom_of(acme)["contacts_n"] == 2


def contacts_csv(rows):
    return corpus.csv_bytes([["客户名称", "姓名", "手机", "职位"], *rows])


def test_the_row_and_bulk_import_paths_keep_formulas_and_roll_ups(cast):
    acme = CustomerFactory.create(owner=cast.rep, name="Acme")
    globex = CustomerFactory.create(owner=cast.rep, name="Globex")
    contact_count(cast)
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="contact",
        key="badge",
        label="Badge",
        field_type=T.FORMULA,
        expression='upper(name) + " / " + title',
        result_type="text",
    )
    data = contacts_csv(
        [["Acme", "ann", "13900000001", "CEO"], ["Globex", "bob", "13900000002", "CTO"]]
    )
    with open_table(io.BytesIO(data), "c.csv") as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        report = run_import(table, user=cast.rep, object_type="contact", columns=columns)
    assert report.created == 2
    assert Contact.objects.get(name="ann").custom["badge"] == "ANN / CEO"
    assert (custom_of(acme)["contacts_n"], custom_of(globex)["contacts_n"]) == (1, 1)

    data = contacts_csv([["Acme", f"p{i}", f"1380000{i:04d}", "VP"] for i in range(30)])
    with open_table(io.BytesIO(data), "c.csv") as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        report = run_bulk_import(table, user=cast.rep, columns=columns, chunk_size=10)
    assert report.created == 30
    assert Contact.objects.get(name="p7").custom["badge"] == "P7 / VP"
    assert custom_of(acme)["contacts_n"] == 31


def test_a_roll_up_naming_what_does_not_exist_is_refused_with_the_name(cast):
    with pytest.raises(ValidationError) as e:
        fields_admin.create_custom_field(
            by=cast.admin,
            object_type="customer",
            key="bad",
            label="Bad",
            field_type=T.ROLLUP,
            rollup_object="deal",
            rollup_link="supplier",
            rollup_aggregate="sum",
            rollup_field="amount",
        )
    assert "“supplier”" in e.value.message_dict["rollup_link"][0]
    for setting, value, message in (
        ("rollup_field", "weight", "“weight”"),
        ("rollup_condition", "amount > 5", "may only compare"),
    ):
        kwargs = {
            "rollup_object": "deal",
            "rollup_link": "customer",
            "rollup_aggregate": "sum",
            "rollup_field": "amount",
            setting: value,
        }
        with pytest.raises(ValidationError) as e:
            fields_admin.create_custom_field(
                by=cast.admin,
                object_type="customer",
                key="bad",
                label="Bad",
                field_type=T.ROLLUP,
                **kwargs,
            )
        assert message in " ".join(e.value.message_dict[setting])


def test_formulas_that_read_each_other_in_a_circle_are_refused(cast):
    first = weighted(cast, expression="amount * 2", result_type="number")
    fields_admin.create_custom_field(
        by=cast.admin,
        object_type="deal",
        key="doubled",
        label="Doubled",
        field_type=T.FORMULA,
        expression="weighted * 2",
        result_type="number",
    )
    with pytest.raises(ValidationError) as e:
        fields_admin.update_custom_field(
            field=first, by=cast.admin, data={"expression": "doubled + 1"}
        )
    assert "“doubled” uses this field" in e.value.message_dict["expression"][0]


def test_a_roll_up_condition_becomes_a_filter(cast):
    q = computed.condition_filter("deal", 'status == "won" and currency in ("CNY", "USD")')
    assert Deal.objects.filter(q).count() == 0
    q = computed.condition_filter("deal", 'stage != "Lost"')
    assert "stage__name" in str(q)
