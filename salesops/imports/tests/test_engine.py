"""Importing rows through the services: modes, duplicates, owners, permissions."""

import datetime as dt
from decimal import Decimal

import pytest

from salesops.activities.models import FollowUp
from salesops.crm.models import Contact, Contract, Customer, Deal, Lead, Payment, PoolRule, Product
from salesops.crm.tests.factories import CustomerFactory, LeadFactory, PipelineFactory
from salesops.customization.models import CustomField
from salesops.imports.engine import MappingProblem
from salesops.imports.tests import corpus
from salesops.imports.tests.helpers import reasons, run

pytestmark = pytest.mark.django_db

#: Rows per test file through the per-row service path (about 5 ms a row on SQLite).
MANY = 2_000
BAD = 1_777


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    """Import messages follow the importer's language; these tests read English."""
    for person in (cast.admin, cast.manager, cast.rep, cast.rep_east1, cast.teammate):
        person.language = "en"


def test_customers_come_in_with_their_primary_contact_through_the_service(cast):
    report = run(corpus.csv_bytes(encoding="gbk"), user=cast.rep, object_type="customer")
    assert reasons(report) == []
    assert report.created == 3
    star = Customer.objects.get(name="上海星辰科技有限公司")
    assert star.owner == cast.rep
    contact = star.contacts.get()
    assert (contact.name, contact.mobile, contact.is_primary) == ("张伟", "+8613800138000", True)
    assert contact.email == ""  # 邮箱 is the customer's e-mail in a customer file
    assert star.email == "zhang.wei@example.com"


def test_a_row_whose_contact_fails_leaves_no_customer_behind(cast):
    rows = [["公司", "联系人", "手机", "联系人邮箱"], ["Orphan Ltd", "", "", "x@example.com"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="customer")
    assert report.failed == 1
    assert not Customer.all_objects.filter(name="Orphan Ltd").exists()
    assert not Contact.all_objects.exists()


def test_all_or_nothing_commits_nothing_when_one_row_is_bad(cast):
    rows = [["姓名", "公司", "邮箱"]] + [
        [f"Person {i}", f"Company {i}", f"p{i}@example.com" if i != BAD else "not-an-email"]
        for i in range(MANY)
    ]
    report = run(
        corpus.csv_bytes(rows),
        user=cast.rep,
        object_type="lead",
        mode="all-or-nothing",
        dedupe="create",
        chunk_size=500,
    )
    assert report.failed == 1
    assert report.rolled_back
    assert Lead.objects.count() == 0
    [(line, column, reason)] = reasons(report)
    assert (line, column) == (BAD + 2, "邮箱")
    assert "valid email" in reason


def test_skip_mode_commits_the_good_rows_and_names_the_bad_line(cast):
    rows = [["姓名", "公司", "邮箱"]] + [
        [f"Person {i}", f"Company {i}", f"p{i}@example.com" if i != BAD else "not-an-email"]
        for i in range(MANY)
    ]
    report = run(
        corpus.csv_bytes(rows),
        user=cast.rep,
        object_type="lead",
        mode="skip-errors",
        dedupe="create",
        chunk_size=500,
    )
    assert (report.created, report.failed) == (MANY - 1, 1)
    assert Lead.objects.count() == MANY - 1
    assert [(line, value) for line, p in report.errors for value in [p.value]] == [
        (BAD + 2, "not-an-email")
    ]


def test_a_dry_run_counts_exactly_and_writes_nothing(cast):
    LeadFactory.create(owner=cast.rep, email="old@example.com")
    rows = [
        ["姓名", "邮箱"],
        ["A", "old@example.com"],
        ["B", "new@example.com"],
        ["C", "NEW@example.com"],
        ["", "x@example.com"],
    ]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead", dry_run=True)
    assert report.counts() == {
        "created": 1,
        "updated": 0,
        "skipped": 2,
        "failed": 1,
        "processed": 4,
    }
    assert Lead.objects.count() == 1
    assert reasons(report)[0][:2] == (5, "姓名")


def test_duplicates_by_normalised_phone_are_updated_when_asked(cast):
    lead = LeadFactory.create(owner=cast.rep, phone="138-0013-8000", email="", company="Old")
    rows = [["姓名", "手机", "公司"], ["Zhang", "+86 13800138000", "New Co"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead", dedupe="update")
    assert (report.updated, report.created) == (1, 0)
    lead.refresh_from_db()
    assert lead.company == "New Co"


def test_duplicates_are_looked_for_only_among_records_the_importer_can_see(cast):
    LeadFactory.create(owner=cast.outsider, email="west@example.com")
    rows = [["姓名", "邮箱"], ["Mine", "west@example.com"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead")
    assert report.created == 1
    assert Lead.objects.filter(email="west@example.com").count() == 2


def test_company_names_are_deduplicated_within_the_file(cast):
    rows = [["公司"], ["ACME Co., Ltd."], ["acme"], ["Acme Inc"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="customer")
    assert (report.created, report.skipped) == (1, 2)


def test_owners_come_from_a_column_by_username_display_name_or_email(cast):
    cast.rep_east1.display_name = "王芳"
    cast.rep_east1.save()
    rows = [
        ["姓名", "负责人"],
        ["A", "rep"],
        ["B", "王芳"],
        ["C", cast.teammate.email.upper()],
        ["D", ""],
    ]
    report = run(corpus.csv_bytes(rows), user=cast.manager, object_type="lead", dedupe="create")
    assert reasons(report) == []
    owners = dict(Lead.objects.values_list("name", "owner__username"))
    assert owners == {"A": "rep", "B": "rep_east1", "C": "teammate", "D": "manager"}


def test_an_owner_outside_the_importers_scope_is_refused_per_row(cast):
    rows = [["姓名", "负责人"], ["Mine", "rep"], ["Theirs", "outsider"], ["Nobody", "ghost"]]
    report = run(corpus.csv_bytes(rows), user=cast.manager, object_type="lead", dedupe="create")
    assert report.created == 1
    got = reasons(report)
    assert got[0][:2] == (3, "负责人")
    assert "data scope" in got[0][2]
    assert got[1][:2] == (4, "负责人")
    assert not Lead.objects.filter(owner=cast.outsider).exists()


def test_contacts_go_only_to_customers_the_importer_can_see(cast):
    CustomerFactory.create(owner=cast.rep, name="East Co")
    CustomerFactory.create(owner=cast.outsider, name="West Co")
    rows = [
        ["客户名称", "姓名", "手机"],
        ["East Co", "A", "13800000001"],
        ["West Co", "B", "13800000002"],
    ]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="contact")
    assert report.created == 1
    assert reasons(report)[0][:2] == (3, "客户名称")
    assert not Contact.objects.filter(customer__name="West Co").exists()


def test_the_public_pool_cap_applies_to_imported_customers(cast):
    PoolRule.objects.create(name="cap", max_customers_per_rep=2)
    rows = [["公司"], ["A"], ["B"], ["C"], ["D"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="customer")
    assert (report.created, report.failed) == (2, 2)
    assert "most allowed is 2" in reasons(report)[0][2]


def test_customers_can_go_straight_to_the_public_pool(cast):
    rows = [["公司", "负责人"], ["Pooled", "公海"]]
    run(corpus.csv_bytes(rows), user=cast.rep, object_type="customer")
    assert Customer.objects.get(name="Pooled").owner is None


def test_a_missing_required_column_is_refused_before_any_row(cast):
    with pytest.raises(MappingProblem, match="customer"):
        run(corpus.csv_bytes([["姓名"], ["A"]]), user=cast.rep, object_type="contact")


def test_custom_fields_are_imported_by_label_with_their_own_validation(cast):
    CustomField.objects.create(object_type="lead", key="budget", label="预算", field_type="money")
    CustomField.objects.create(
        object_type="lead",
        key="tier",
        label="Tier",
        field_type="select",
        options=[{"value": "a", "label": "A级"}, {"value": "b", "label": "B级"}],
    )
    rows = [["姓名", "预算", "Tier"], ["X", "12.5万", "A级"], ["Y", "lots", "b"], ["Z", "", "C级"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead", dedupe="create")
    assert Lead.objects.get(name="X").custom == {"budget": "125000.00", "tier": "a"}
    assert [(line, col) for line, col, _r in reasons(report)] == [(3, "预算"), (4, "Tier")]


def test_deals_follow_ups_products_and_payments_import_through_their_services(cast):
    pipeline = PipelineFactory.create(name="Sales")
    customer = CustomerFactory.create(owner=cast.rep, name="Acme")
    deals = [
        ["商机名称", "客户名称", "金额", "阶段", "预计成交日期", "负责人"],
        ["Big deal", "Acme", "¥12,000", "Propose", "2030/1/15", "rep"],
    ]
    report = run(corpus.csv_bytes(deals), user=cast.rep, object_type="deal")
    assert reasons(report) == []
    deal = Deal.objects.get(name="Big deal")
    assert (deal.amount, deal.stage.name, deal.pipeline) == (Decimal("12000"), "Propose", pipeline)
    assert deal.stage_history.count() == 1

    followups = [
        ["跟进方式", "跟进时间", "客户名称", "跟进内容"],
        ["电话", "2024-03-05 10:00", "Acme", "Talked"],
    ]
    report = run(corpus.csv_bytes(followups), user=cast.rep, object_type="followup")
    assert reasons(report) == []
    followup = FollowUp.objects.get()
    assert followup.kind == "call"
    customer.refresh_from_db()
    assert customer.last_followup_at == followup.occurred_at
    again = run(corpus.csv_bytes(followups), user=cast.rep, object_type="followup")
    assert again.skipped == 1

    products = [["产品名称", "编号", "价格"], ["Widget", "W-1", "99.5"], ["Widget 2", "w-1", "1"]]
    report = run(corpus.csv_bytes(products), user=cast.admin, object_type="product")
    assert (report.created, report.skipped) == (1, 1)
    assert Product.objects.get().price == Decimal("99.50")

    Contract.objects.create(
        number="HT-1", title="T", customer=customer, amount=1000, currency_id="CNY", owner=cast.rep
    )
    payments = [
        ["合同编号", "回款金额", "回款日期", "流水号", "付款方式"],
        ["HT-1", "600", "2024-03-01", "TX1", "银行转账"],
        ["HT-1", "600", "2024-03-02", "TX2", "Bank transfer"],
    ]
    report = run(corpus.csv_bytes(payments), user=cast.rep, object_type="payment")
    assert report.created == 1
    assert "more than the contract" in reasons(report)[0][2]
    assert Payment.objects.get().received_on == dt.date(2024, 3, 1)


def test_a_deal_row_into_a_stage_whose_required_fields_are_empty_is_a_row_error(cast):
    pipeline = PipelineFactory.create(name="Sales")
    propose = pipeline.stages.get(name="Propose")
    propose.required_fields = ["expected_close", "source"]
    propose.save()
    CustomerFactory.create(owner=cast.rep, name="Acme")
    deals = [
        ["商机名称", "客户名称", "阶段", "预计成交日期", "来源"],
        ["Gated", "Acme", "Propose", "", ""],
        ["Ready", "Acme", "Propose", "2030/1/15", "Fair"],
        ["First stage", "Acme", "Qualify", "", ""],
    ]
    report = run(corpus.csv_bytes(deals), user=cast.rep, object_type="deal")
    assert [(line, reason) for line, _c, reason in reasons(report)] == [
        (2, "Fill in Expected close date and Source to create the deal in Propose.")
    ]
    assert report.created == 2
    assert dict(Deal.objects.values_list("name", "stage__name")) == {
        "Ready": "Propose",
        "First stage": "Qualify",
    }


def test_messages_are_in_the_importers_language(cast):
    cast.rep.language = "zh-hans"
    rows = [["姓名", "邮箱"], ["A", "bad"]]
    report = run(corpus.csv_bytes(rows), user=cast.rep, object_type="lead")
    assert reasons(report)[0][2] == "输入一个有效的 Email 地址。"
