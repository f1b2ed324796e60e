"""Every page within the data scope: a rep sees East's records and never West's, on
lists, record pages, inline edits, actions, search and bulk actions."""

import pytest
from django.urls import reverse

from salesops.crm.models import Customer, Deal, Lead
from salesops.crm.models.deals import StageHistory

LISTS = [
    "lead_list",
    "customer_list",
    "customer_mine",
    "contact_list",
    "deal_list",
    "followup_list",
    "task_list",
    "quote_list",
    "contract_list",
    "paymentplan_list",
    "payment_list",
]
MARKERS = {
    "lead_list": "{} lead",
    "customer_list": "{} customer",
    "customer_mine": "{} customer",
    "contact_list": "{} contact",
    "deal_list": "{} deal",
    "followup_list": "{} call",
    "task_list": "{} task",
    "quote_list": "Q-{}",
    "contract_list": "{} contract",
    "paymentplan_list": "{} plan",
    "payment_list": "{} payment",
}
RECORDS = ["lead", "customer", "contact", "deal", "followup", "task", "quote", "contract"]


@pytest.mark.parametrize("name", LISTS)
def test_a_list_shows_the_reps_own_records_and_none_of_another_teams(world, signed_in, name):
    client = signed_in(world.cast.rep)
    if name == "payment_list":
        page = client.get(reverse(name), {"cols": ["received_on", "reference"]})
    else:
        page = client.get(reverse(name))
    assert page.status_code == 200
    html = page.content.decode()
    assert MARKERS[name].format("East") in html
    assert MARKERS[name].format("West") not in html


@pytest.mark.parametrize("kind", RECORDS)
def test_a_rep_opening_another_teams_record_gets_404(world, signed_in, kind):
    client = signed_in(world.cast.rep)
    west = getattr(world.west, kind)
    assert client.get(reverse(f"{kind}_detail", args=[west.pk])).status_code == 404
    own = getattr(world.east, kind)
    assert client.get(reverse(f"{kind}_detail", args=[own.pk])).status_code == 200


@pytest.mark.parametrize("kind", ["lead", "customer", "contact", "deal", "task", "contract"])
def test_editing_another_teams_record_is_404_and_changes_nothing(world, signed_in, kind):
    client = signed_in(world.cast.rep)
    west = getattr(world.west, kind)
    field = "title" if kind in ("task", "contract") else "name"
    url = reverse(f"{kind}_field", args=[west.pk, field])
    assert client.get(url).status_code == 404
    assert client.post(url, {field: "hacked", "version": west.version}).status_code == 404
    assert client.post(reverse(f"{kind}_edit", args=[west.pk]), {field: "x"}).status_code == 404
    west.refresh_from_db()
    assert getattr(west, field) != "hacked"


def test_actions_on_another_teams_records_are_404_and_write_nothing(world, signed_in):
    client = signed_in(world.cast.rep)
    w = world.west
    before = StageHistory.objects.count()
    won = world.pipeline.stages.get(kind="won")
    assert client.post(reverse("deal_move", args=[w.deal.pk]), {"stage": won.pk}).status_code == 404
    assert client.post(reverse("customer_release", args=[w.customer.pk])).status_code == 404
    assert client.post(reverse("task_done", args=[w.task.pk])).status_code == 404
    assert client.post(reverse("record_delete", args=["deal", w.deal.pk])).status_code == 404
    assert client.get(reverse("lead_convert", args=[w.lead.pk])).status_code == 404
    assert client.get(reverse("quote_print", args=[w.quote.pk])).status_code == 404
    followup = reverse("followup_new") + f"?customer={w.customer.pk}"
    assert client.post(followup, {"fu-kind": "call"}).status_code == 404
    assert StageHistory.objects.count() == before
    assert Deal.objects.get(pk=w.deal.pk).status == "open"
    assert Customer.objects.get(pk=w.customer.pk).owner == world.cast.outsider


def test_bulk_delete_skips_what_the_user_may_not_see_or_change(world, signed_in, cast):
    # The analyst sees everything but may only view: the action is refused as a whole.
    client = signed_in(cast.analyst)
    ids = [world.east.lead.pk, world.west.lead.pk]
    page = client.post(reverse("lead_list"), {"action": "delete", "ids": ids}, follow=True)
    assert "Choose what to do with the selected records." in page.content.decode()
    assert Lead.objects.filter(pk__in=ids).count() == 2

    client = signed_in(cast.rep)
    page = client.post(reverse("lead_list"), {"action": "delete", "ids": ids})
    html = page.content.decode()
    assert "This record does not exist or you may not see it." in html
    assert not Lead.objects.filter(pk=world.east.lead.pk).exists()
    assert Lead.objects.filter(pk=world.west.lead.pk).exists()


def test_bulk_assign_refuses_people_outside_the_scope_row_by_row(world, signed_in, cast):
    client = signed_in(cast.manager)
    rep_lead, west_lead = world.east.lead, world.west.lead
    page = client.post(
        reverse("lead_list"),
        {"action": "assign", "owner": cast.outsider.pk, "ids": [rep_lead.pk, west_lead.pk]},
    )
    html = page.content.decode()
    assert "You may only assign records to yourself or people in your data scope." in html
    assert "This record does not exist or you may not see it." in html
    rep_lead.refresh_from_db()
    assert rep_lead.owner == cast.rep

    page = client.post(
        reverse("lead_list"),
        {"action": "assign", "owner": cast.rep_east1.pk, "ids": [rep_lead.pk]},
    )
    rep_lead.refresh_from_db()
    assert rep_lead.owner == cast.rep_east1


def test_bulk_stage_change_moves_visible_deals_through_the_service(world, signed_in, cast):
    client = signed_in(cast.rep)
    propose = world.pipeline.stages.get(name="Propose")
    client.post(
        reverse("deal_list"),
        {"action": "stage", "stage": propose.pk, "ids": [world.east.deal.pk, world.west.deal.pk]},
    )
    assert Deal.objects.get(pk=world.east.deal.pk).stage == propose
    assert Deal.objects.get(pk=world.west.deal.pk).stage != propose
    assert StageHistory.objects.filter(deal=world.east.deal, stage=propose).exists()


def test_global_search_finds_only_what_the_user_may_see(world, signed_in, cast):
    client = signed_in(cast.rep)
    html = client.get(reverse("search"), {"q": "customer"}).content.decode()
    assert "East customer" in html and "West customer" not in html
    html = client.get(reverse("search"), {"q": "West"}).content.decode()
    assert "West" not in html.split("<main", 1)[1].replace('value="West"', "")


def test_settings_are_for_administrators_only(world, signed_in, cast):
    client = signed_in(cast.rep)
    assert client.get(reverse("settings")).status_code == 403
    assert client.get(reverse("settings_section", args=["users"])).status_code == 403
    response = client.post(
        reverse("settings_section", args=["organisation"]), {"name": "Taken over"}
    )
    assert response.status_code == 403
    client = signed_in(cast.admin)
    for key in (
        "organisation",
        "users",
        "teams",
        "roles",
        "pool-rules",
        "custom-fields",
        "exchange-rates",
        "holidays",
    ):
        assert client.get(reverse("settings_section", args=[key])).status_code == 200, key
    assert client.get(reverse("settings")).status_code == 200
    assert client.get(reverse("settings_pipeline", args=[world.pipeline.pk])).status_code == 200


def test_pages_require_signing_in(db, client):
    for name in ["home", "deal_list", "board", "pool", "search", "settings"]:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"], name
