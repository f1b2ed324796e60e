"""The duplicates finder (/duplicates/) and the merge page (/merge/<kind>/)."""

from __future__ import annotations

from salesops.audit.models import AuditEntry
from salesops.crm.models import Customer
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory
from salesops.objects.tests.helpers import hide


def test_the_finder_groups_what_the_reader_may_see_with_merge_links(cast, signed_in):
    a = CustomerFactory(owner=cast.rep, name="Acme Trading")
    b = CustomerFactory(owner=cast.rep, name="ACME Trading Co., Ltd.")
    theirs = CustomerFactory(owner=cast.outsider, name="Acme trading 有限公司")
    page = signed_in(cast.rep).get("/duplicates/customer/?by=name")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme Trading" in html and "ACME Trading Co., Ltd." in html
    assert "有限公司" not in html  # the outsider's record
    assert f"/merge/customer/?ids={a.pk}&amp;ids={b.pk}" in html
    # The administrator sees the three as one group.
    html = signed_in(cast.admin).get("/duplicates/customer/?by=name").content.decode()
    assert "有限公司" in html and f"ids={theirs.pk}" in html
    # The outsider sees one record: no group.
    html = signed_in(cast.outsider).get("/duplicates/customer/?by=name").content.decode()
    assert 'id="no-duplicates"' in html


def test_the_finder_never_groups_by_or_shows_a_hidden_field(cast, signed_in):
    CustomerFactory(owner=cast.rep, name="One", phone="13800138000")
    CustomerFactory(owner=cast.rep, name="Two", phone="138 0013 8000")
    client = signed_in(cast.rep)
    assert "13800138000" in client.get("/duplicates/customer/?by=phone").content.decode()
    hide(cast.rep.role, "customer", "phone", users=(cast.rep,))
    html = client.get("/duplicates/customer/?by=phone").content.decode()
    assert "13800138000" not in html and "138 0013 8000" not in html
    assert 'value="phone"' not in html


def test_a_kind_the_role_may_not_view_is_not_found(cast, signed_in):
    role = cast.rep.role
    role.rights = {k: v for k, v in role.rights.items() if k != "lead"}
    role.save()
    assert signed_in(cast.rep).get("/duplicates/lead/").status_code == 404
    assert signed_in(cast.rep).get("/merge/lead/?ids=1&ids=2").status_code == 404


def test_choose_review_and_merge_two_customers(cast, signed_in):
    a = CustomerFactory(owner=cast.rep, name="Acme", phone="", email="a@acme.cn")
    b = CustomerFactory(owner=cast.rep, name="ACME Ltd", phone="13800138000", email="")
    DealFactory(customer=b, owner=cast.rep)
    ContactFactory(customer=b)
    client = signed_in(cast.rep)
    chooser = client.get(f"/merge/customer/?ids={a.pk}&ids={b.pk}").content.decode()
    # The empty phone of the record kept defaults to the other's value.
    assert f'name="f_phone" value="{b.pk}" checked' in chooser
    assert f'name="f_name" value="{a.pk}" checked' in chooser
    form = {"ids": [a.pk, b.pk], "winner": a.pk, "f_name": b.pk, "f_phone": b.pk}
    review = client.post("/merge/customer/", {**form, "step": "review"}).content.decode()
    assert 'id="merge-review"' in review and not Customer.all_objects.filter(merged_into=a).exists()
    done = client.post("/merge/customer/", {**form, "step": "merge"})
    html = done.content.decode()
    assert 'id="merge-result"' in html and "Deals" in html and "Contacts" in html
    a.refresh_from_db()
    assert (a.name, a.phone, a.email) == ("ACME Ltd", "13800138000", "a@acme.cn")
    assert Customer.all_objects.get(pk=b.pk).merged_into_id == a.pk
    assert AuditEntry.objects.filter(action="merged").count() == 1


def test_the_chooser_leaves_out_hidden_fields(cast, signed_in):
    hide(cast.rep.role, "customer", "email", users=(cast.rep,))
    a = CustomerFactory(owner=cast.rep, email="secret-a@acme.cn")
    b = CustomerFactory(owner=cast.rep, email="secret-b@acme.cn")
    html = signed_in(cast.rep).get(f"/merge/customer/?ids={a.pk}&ids={b.pk}").content.decode()
    assert "secret-" not in html and 'name="f_email"' not in html
    # Posting the hidden field anyway is ignored: the record kept keeps its value.
    response = signed_in(cast.rep).post(
        "/merge/customer/",
        {"ids": [a.pk, b.pk], "winner": a.pk, "f_email": b.pk, "step": "merge"},
    )
    assert response.status_code == 200
    a.refresh_from_db()
    assert a.email == "secret-a@acme.cn" and not Customer.objects.filter(pk=b.pk).exists()


def test_merging_a_record_the_reader_cannot_see_is_not_found(cast, signed_in):
    a = CustomerFactory(owner=cast.rep)
    theirs = CustomerFactory(owner=cast.outsider, name="Secret Co")
    client = signed_in(cast.rep)
    assert client.get(f"/merge/customer/?ids={a.pk}&ids={theirs.pk}").status_code == 404
    response = client.post(
        "/merge/customer/", {"ids": [a.pk, theirs.pk], "winner": a.pk, "step": "merge"}
    )
    assert response.status_code == 404 and Customer.objects.filter(pk=theirs.pk).exists()


def test_the_list_offers_merge_for_the_selection(cast, signed_in):
    a = CustomerFactory(owner=cast.rep)
    b = CustomerFactory(owner=cast.rep)
    client = signed_in(cast.rep)
    assert 'value="merge"' in client.get("/customers/").content.decode()
    response = client.post("/customers/", {"action": "merge", "ids": [a.pk, b.pk]})
    assert response.status_code == 302
    assert response["Location"] == f"/merge/customer/?ids={a.pk}&ids={b.pk}"
    # The analyst may not change customers: no merge offered.
    assert 'value="merge"' not in signed_in(cast.analyst).get("/customers/").content.decode()


def test_the_audit_entry_reads_as_one_merge_with_the_values_changed(cast):
    from django.utils import translation

    from salesops.crm.merge_services import merge_records
    from salesops.web.audit_display import describe

    translation.activate("en")

    a = CustomerFactory(owner=cast.rep, name="Acme", phone="")
    b = CustomerFactory(owner=cast.rep, name="ACME Ltd", phone="13800138000")
    merge_records(
        by=cast.rep,
        object_type="customer",
        winner_id=a.pk,
        loser_ids=[b.pk],
        choices={"phone": b.pk},
    )
    lines = describe(AuditEntry.objects.get(action="merged"), cast.admin).lines
    assert "merged 1 record into this one: ACME Ltd." in lines[0]
    assert any("phone" in line.lower() and "13800138000" in line for line in lines[1:]), lines
    hide(cast.manager.role, "customer", "phone", users=(cast.manager,))
    lines = describe(AuditEntry.objects.get(action="merged"), cast.manager).lines
    assert not any("13800138000" in line for line in lines)
