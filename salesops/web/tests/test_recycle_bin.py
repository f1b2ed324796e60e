"""The recycle bin pages: a person sees and restores what they deleted, an administrator
everyone's; what others deleted, records outside the scope and hidden fields never show."""

import pytest
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.crm import services as crm
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.crm.tests.factories import ContactFactory, CustomerFactory, DealFactory, LeadFactory
from salesops.org.models import Organisation
from salesops.users.models import Role


@pytest.fixture
def acme(cast):
    """The rep's customer with a contact and a deal, and a phone number."""
    customer = CustomerFactory.create(owner=cast.rep, name="Acme 有限公司", phone="+8613800138000")
    ContactFactory.create(customer=customer, name="Zhang San")
    DealFactory.create(owner=cast.rep, customer=customer, name="Acme renewal")
    return customer


def bin_url(key):
    return reverse("recycle_bin", args=[key])


def test_deleting_says_where_and_how_long_it_can_be_restored(cast, signed_in, acme):
    client = signed_in(cast.rep)
    response = client.post(reverse("record_delete", args=["customer", acme.pk]), follow=True)
    text = response.content.decode()
    assert "You can restore it from the Recycle bin (in the menu) within 30 days." in text
    assert reverse("recycle_index") in text  # the menu link


def test_a_rep_restores_a_customer_with_its_contacts_and_deals(cast, signed_in, acme):
    client = signed_in(cast.rep)
    client.post(reverse("record_delete", args=["customer", acme.pk]))
    assert not Customer.objects.filter(pk=acme.pk).exists()
    assert Customer.all_objects.get(pk=acme.pk).deleted_by == cast.rep

    page = client.get(bin_url("customer")).content.decode()
    assert "Acme 有限公司" in page
    # Its contact and deal wait with it, not on their own.
    assert "Zhang San" not in client.get(bin_url("contact")).content.decode()
    assert "Acme renewal" not in client.get(bin_url("deal")).content.decode()

    response = client.post(reverse("recycle_restore", args=["customer", acme.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[acme.pk])
    assert Customer.objects.filter(pk=acme.pk, deleted_by=None).exists()
    assert Contact.objects.filter(customer=acme, name="Zhang San").exists()
    assert Deal.objects.filter(customer=acme, name="Acme renewal").exists()
    assert AuditEntry.objects.of(acme).first().action == AuditEntry.Action.RESTORED
    assert client.get(bin_url("customer")).context["rows"] == []


def test_others_do_not_see_or_restore_what_someone_else_deleted(cast, signed_in, acme):
    crm.delete_customer(customer=acme, by=cast.rep)
    restore = reverse("recycle_restore", args=["customer", acme.pk])
    # The teammate sees the rep's customers, but not the rep's bin.
    for user in (cast.teammate, cast.outsider):
        client = signed_in(user)
        assert "Acme" not in client.get(bin_url("customer")).content.decode()
        assert client.post(restore).status_code == 404
    assert not Customer.objects.filter(pk=acme.pk).exists()
    # The administrator sees everyone's, with who deleted it.
    page = signed_in(cast.admin).get(bin_url("customer")).content.decode()
    assert "Acme 有限公司" in page and str(cast.rep) in page


def test_a_record_deleted_then_moved_out_of_scope_stays_out_of_the_bin(cast, signed_in):
    lead = LeadFactory.create(owner=cast.rep, name="Scoped lead")
    crm.delete_record(obj=lead, by=cast.rep)
    Lead.all_objects.filter(pk=lead.pk).update(owner=cast.outsider)
    client = signed_in(cast.rep)
    assert "Scoped lead" not in client.get(bin_url("lead")).content.decode()
    assert client.post(reverse("recycle_restore", args=["lead", lead.pk])).status_code == 404


def test_the_bin_never_shows_a_hidden_field(cast, signed_in, acme):
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    crm.delete_customer(customer=acme, by=cast.rep)
    cast.rep.refresh_from_db()
    page = signed_in(cast.rep).get(bin_url("customer")).content.decode()
    assert "Acme 有限公司" in page
    assert "13800138000" not in page


def test_the_index_lists_the_registrys_objects_the_role_may_view(cast, signed_in):
    lead = LeadFactory.create(owner=cast.rep, name="Gone lead")
    crm.delete_record(obj=lead, by=cast.rep)
    role = Role.objects.get(name="Rep")
    role.rights = {k: v for k, v in role.rights.items() if k != "deal"}
    role.save()
    client = signed_in(cast.rep)
    page = client.get(reverse("recycle_index"))
    bins = {b["spec"].key: b["count"] for b in page.context["bins"]}
    assert bins["lead"] == 1 and bins["customer"] == 0
    assert {"contact", "followup", "task", "quote", "contract", "product"} <= set(bins)
    assert "deal" not in bins
    assert client.get(bin_url("deal")).status_code == 403
    assert client.get(bin_url("no_such_thing")).status_code == 404


def test_a_role_that_may_not_delete_sees_no_restore_button_and_cannot_restore(cast, signed_in):
    lead = LeadFactory.create(owner=cast.rep, name="Kept lead")
    crm.delete_record(obj=lead, by=cast.rep)
    role = Role.objects.get(name="Rep")
    role.rights = {**role.rights, "lead": ["view", "create", "edit"]}
    role.save()
    client = signed_in(cast.rep)
    page = client.get(bin_url("lead")).content.decode()
    assert "Kept lead" in page and "Restore" not in page
    response = client.post(reverse("recycle_restore", args=["lead", lead.pk]), follow=True)
    assert "does not allow you to delete" in response.content.decode()
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_a_contact_whose_customer_is_deleted_waits_for_the_customer(cast, signed_in, acme):
    contact = Contact.objects.get(customer=acme)
    crm.delete_record(obj=contact, by=cast.rep)
    client = signed_in(cast.rep)
    assert "Zhang San" in client.get(bin_url("contact")).content.decode()
    crm.delete_customer(customer=acme, by=cast.rep)
    assert "Zhang San" not in client.get(bin_url("contact")).content.decode()


def test_the_retention_is_set_by_administrators_in_the_settings(cast, signed_in):
    url = reverse("settings_section", args=["organisation"])
    org = Organisation.get()
    form = {
        "name": org.name,
        "base_currency": org.base_currency_id,
        "time_zone": org.time_zone,
        "fiscal_year_start_month": org.fiscal_year_start_month,
        "locale": org.locale,
        "activity_window_days": org.activity_window_days,
        "gross_margin": org.gross_margin,
        "recycle_retention_days": 90,
    }
    assert signed_in(cast.rep).post(url, form).status_code == 403
    admin = signed_in(cast.admin)
    response = admin.post(url, {**form, "recycle_retention_days": 0})
    assert response.status_code == 200 and Organisation.get().recycle_retention_days == 30
    assert admin.post(url, form).status_code == 302
    assert Organisation.get().recycle_retention_days == 90
    lead = LeadFactory.create(owner=cast.admin, name="Later lead")
    response = admin.post(reverse("record_delete", args=["lead", lead.pk]), follow=True)
    assert "within 90 days" in response.content.decode()
