"""What the pages do: language, forms that keep bad input beside its field, inline
edit with the version, the pool, conversion, quotes, the board and saved views."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from salesops.activities.models import FollowUp
from salesops.crm.models import Customer, Deal, Lead, PoolRule, Quote
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import CustomerFactory, LeadFactory
from salesops.customization.models import CustomField
from salesops.users.models import Target, User
from salesops.workspace.models import SavedView

XSS = '<svg onload=alert(1)>"><script>alert(2)</script>'


# -- language ----------------------------------------------------------------------------------


def test_switching_language_is_remembered_for_the_person(cast, signed_in):
    client = signed_in(cast.rep, language="zh-hans")
    assert 'lang="zh-hans"' in client.get(reverse("home")).content.decode()
    client.post(reverse("language"), {"language": "en", "next": "/deals/"})
    cast.rep.refresh_from_db()
    assert cast.rep.language == "en"
    assert 'lang="en"' in client.get(reverse("home")).content.decode()


def test_signing_in_applies_the_persons_saved_language(cast, client):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    response = client.post(
        reverse("login"), {"username": "rep", "password": "pw-for-tests-0"}, follow=True
    )
    assert 'lang="en"' in response.content.decode()
    assert client.cookies["django_language"].value == "en"


def test_a_language_switch_to_an_unknown_language_or_site_is_ignored(cast, signed_in):
    client = signed_in(cast.rep)
    response = client.post(reverse("language"), {"language": "fr", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    cast.rep.refresh_from_db()
    assert cast.rep.language == "en"


def test_money_and_dates_follow_the_language(world, signed_in):
    Deal.objects.filter(pk=world.east.deal.pk).update(
        amount=Decimal("1234567.5"), expected_close=dt.date(2026, 3, 5)
    )
    url = reverse("deal_detail", args=[world.east.deal.pk])
    html = signed_in(world.cast.rep, "en").get(url).content.decode()
    assert "¥1,234,567.50" in html and "03/05/2026" in html
    html = signed_in(world.cast.rep, "zh-hans").get(url).content.decode()
    assert "¥1,234,567.50" in html and "2026年3月5日" in html


# -- security of the page itself -------------------------------------------------------------


def test_every_script_has_the_csp_nonce_and_no_inline_handlers(world, signed_in):
    client = signed_in(world.cast.rep)
    for url in [
        reverse("home"),
        reverse("deal_list"),
        reverse("board"),
        reverse("deal_detail", args=[world.east.deal.pk]),
    ]:
        response = client.get(url)
        html = response.content.decode()
        policy = response["Content-Security-Policy"]
        nonce = policy.split("'nonce-")[1].split("'")[0]
        assert html.count("<script") == html.count(f'nonce="{nonce}"') >= 2, url
        assert "/static/django_htmx/htmx-2" in html
        for handler in (" onclick=", " onload=", " onchange=", " onsubmit=", "hx-on"):
            assert handler not in html.lower(), (url, handler)
        assert "style=" not in html, url


def test_a_script_in_a_name_is_shown_as_text(world, signed_in):
    Customer.objects.filter(pk=world.east.customer.pk).update(name=XSS)
    Deal.objects.filter(pk=world.east.deal.pk).update(name=XSS)
    client = signed_in(world.cast.rep)
    for url in [
        reverse("customer_list"),
        reverse("deal_list"),
        reverse("board"),
        reverse("customer_detail", args=[world.east.customer.pk]),
        reverse("deal_detail", args=[world.east.deal.pk]),
        reverse("search") + "?q=svg",
    ]:
        html = client.get(url).content.decode()
        assert "<svg onload" not in html and "<script>alert" not in html, url
        assert "&lt;svg onload=alert(1)&gt;" in html, url


# -- forms -------------------------------------------------------------------------------------


def test_a_bad_e_mail_comes_back_next_to_its_field_and_nothing_is_saved(cast, signed_in):
    client = signed_in(cast.rep)
    response = client.post(
        reverse("lead_new"), {"name": "王伟", "email": "not-an-address", "owner": cast.rep.pk}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "email" in form.errors
    assert not Lead.objects.filter(name="王伟").exists()


def test_a_custom_field_is_in_the_form_and_its_service_error_shows_beside_it(cast, signed_in):
    CustomField.objects.create(
        object_type="lead", key="budget", label="Budget", field_type="number", required=True
    )
    client = signed_in(cast.rep)
    page = client.get(reverse("lead_new"))
    assert 'name="cf_budget"' in page.content.decode()
    response = client.post(reverse("lead_new"), {"name": "Li Lei", "owner": cast.rep.pk})
    assert response.context["form"].errors["cf_budget"] == ["Budget is required."]
    assert not Lead.objects.filter(name="Li Lei").exists()
    response = client.post(
        reverse("lead_new"), {"name": "Li Lei", "owner": cast.rep.pk, "cf_budget": "5000"}
    )
    lead = Lead.objects.get(name="Li Lei")
    assert response["Location"] == reverse("lead_detail", args=[lead.pk])
    assert lead.custom == {"budget": 5000}


def test_creating_a_deal_from_a_customer_calls_the_service(world, signed_in):
    client = signed_in(world.cast.rep)
    customer = world.east.customer
    url = reverse("deal_new") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "customer": customer.pk,
            "name": "Big one",
            "amount": "12000",
            "pipeline": world.pipeline.pk,
            "owner": world.cast.rep.pk,
        },
    )
    deal = Deal.objects.get(name="Big one")
    assert response["Location"] == reverse("deal_detail", args=[deal.pk])
    assert StageHistory.objects.filter(deal=deal).count() == 1
    # Another team's customer cannot be chosen, even by id.
    response = client.post(
        url, {"customer": world.west.customer.pk, "name": "Sneaky", "owner": world.cast.rep.pk}
    )
    assert "customer" in response.context["form"].errors
    assert not Deal.objects.filter(name="Sneaky").exists()
    assert (
        client.get(reverse("deal_new") + f"?customer={world.west.customer.pk}").status_code == 404
    )


# -- inline edit -------------------------------------------------------------------------------


def test_inline_edit_saves_through_the_service_and_returns_the_field(world, signed_in):
    client = signed_in(world.cast.rep)
    deal = world.east.deal
    url = reverse("deal_field", args=[deal.pk, "amount"])
    form = client.get(url, HTTP_HX_REQUEST="true")
    assert 'name="amount"' in form.content.decode()
    response = client.post(url, {"amount": "2500", "version": deal.version}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "¥2,500.00" in html
    assert 'id="record-version"' in html and 'hx-swap-oob="true"' in html
    deal.refresh_from_db()
    assert deal.amount == Decimal("2500.00") and deal.version == 2


def test_inline_edit_with_a_stale_version_shows_the_conflict_and_saves_nothing(world, signed_in):
    client = signed_in(world.cast.rep)
    customer = world.east.customer
    seen = customer.version
    Customer.objects.filter(pk=customer.pk).update(version=seen + 1, name="Changed by someone")
    response = client.post(
        reverse("customer_field", args=[customer.pk, "name"]),
        {"name": "My change", "version": seen},
        HTTP_HX_REQUEST="true",
    )
    assert "Someone else saved this record after you opened it" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "Changed by someone"


def test_inline_edit_of_a_field_the_service_refuses_is_404(world, signed_in):
    client = signed_in(world.cast.rep)
    url = reverse("deal_field", args=[world.east.deal.pk, "owner"])
    assert client.post(url, {"owner": world.cast.outsider.pk, "version": 1}).status_code == 404


def test_the_full_edit_form_includes_custom_fields_and_checks_the_version(world, signed_in):
    CustomField.objects.create(
        object_type="customer",
        key="tier",
        label="Tier",
        field_type="select",
        options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    )
    client = signed_in(world.cast.rep)
    customer = world.east.customer
    url = reverse("customer_edit", args=[customer.pk])
    assert 'name="cf_tier"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": "Renamed",
            "lifecycle_stage": "prospect",
            "cf_tier": "b",
            "version": customer.version,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.name == "Renamed" and customer.custom == {"tier": "b"}
    stale = client.post(
        url, {"name": "Again", "lifecycle_stage": "prospect", "version": customer.version - 1}
    )
    assert "Someone else saved this record" in stale.content.decode()


# -- follow-ups --------------------------------------------------------------------------------


def test_quick_follow_up_from_a_record_updates_its_timeline(world, signed_in):
    client = signed_in(world.cast.rep)
    customer = world.east.customer
    url = reverse("followup_new") + f"?customer={customer.pk}"
    response = client.post(
        url,
        {"fu-kind": "visit", "fu-subject": "Site visit", "fu-outcome": "Good"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="activity"' in html and "Site visit" in html
    followup = FollowUp.objects.get(subject="Site visit")
    assert followup.customer == customer and followup.owner == world.cast.rep
    bad = client.post(
        url, {"fu-kind": "visit", "fu-occurred_at": "2999-01-01T10:00"}, HTTP_HX_REQUEST="true"
    )
    assert "A follow-up cannot be in the future" in bad.content.decode()


# -- the public pool ------------------------------------------------------------------------------


def test_claiming_at_the_cap_shows_the_services_message(cast, signed_in):
    PoolRule.objects.create(name="All", max_customers_per_rep=1)
    CustomerFactory(owner=cast.rep, name="Mine already")
    pooled = CustomerFactory(
        owner=None, owned_since=None, pool_entered_at=timezone.now(), name="Free one"
    )
    client = signed_in(cast.rep)
    pool = client.get(reverse("pool")).content.decode()
    assert "Free one" in pool and "Mine already" not in pool
    assert "You hold 1 customers; the most allowed is 1." in pool
    response = client.post(
        reverse("customer_claim", args=[pooled.pk]) + "?next=/pool/", follow=True
    )
    assert "already holds 1 customers and the most allowed is 1" in response.content.decode()
    pooled.refresh_from_db()
    assert pooled.owner is None


def test_claim_and_release_move_the_customer(cast, signed_in):
    pooled = CustomerFactory(owner=None, owned_since=None, pool_entered_at=timezone.now())
    client = signed_in(cast.rep)
    client.post(reverse("customer_claim", args=[pooled.pk]))
    pooled.refresh_from_db()
    assert pooled.owner == cast.rep
    client.post(reverse("customer_release", args=[pooled.pk]))
    pooled.refresh_from_db()
    assert pooled.owner is None


def test_my_customers_show_days_left_before_the_pool(cast, signed_in):
    PoolRule.objects.create(name="All", reclaim_after_days_without_followup=10)
    CustomerFactory(
        owner=cast.rep,
        name="Quiet one",
        owned_since=timezone.now() - dt.timedelta(days=7),
    )
    html = signed_in(cast.rep).get(reverse("customer_mine")).content.decode()
    assert "Quiet one" in html
    assert 'data-label="Days before the pool">3<' in html
    home = signed_in(cast.rep).get(reverse("home")).content.decode()
    assert "Quiet one" in home and "3 days left" in home


# -- leads ------------------------------------------------------------------------------------


def test_converting_a_lead_warns_of_look_alikes_and_can_attach_to_one(world, signed_in):
    lead = LeadFactory(owner=world.cast.rep, company="East customer", phone="13800138000")
    client = signed_in(world.cast.rep)
    page = client.get(reverse("lead_convert", args=[lead.pk])).content.decode()
    assert 'id="duplicates"' in page and "East customer" in page
    assert "West customer" not in page
    response = client.post(
        reverse("lead_convert", args=[lead.pk]),
        {
            "customer": world.east.customer.pk,
            "with_deal": "on",
            "deal_name": "Upsell",
            "pipeline": world.pipeline.pk,
            "amount": "900",
        },
    )
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_customer == world.east.customer
    assert response["Location"] == reverse("deal_detail", args=[lead.converted_deal_id])
    assert Customer.objects.filter(name="East customer").count() == 1


# -- quotes --------------------------------------------------------------------------------------


def test_a_quote_with_lines_and_discounts_shows_its_totals_and_prints(world, signed_in):
    client = signed_in(world.cast.rep)
    url = reverse("quote_new") + f"?customer={world.east.customer.pk}"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "status": "draft",
        "discount_pct": "10",
        "line-TOTAL_FORMS": "5",
        "line-INITIAL_FORMS": "0",
        "line-0-product": world.product.pk,
        "line-0-quantity": "2",
        "line-0-discount_pct": "0",
        "line-1-description": "Installation",
        "line-1-quantity": "1",
        "line-1-unit_price": "300",
        "line-1-discount_pct": "50",
    }
    response = client.post(url, data)
    quote = Quote.objects.exclude(pk=world.east.quote.pk).get(customer=world.east.customer)
    assert response["Location"] == reverse("quote_detail", args=[quote.pk])
    assert quote.totals() == {
        "subtotal": Decimal("350.00"),
        "discount": Decimal("35.00"),
        "total": Decimal("315.00"),
    }
    html = client.get(reverse("quote_print", args=[quote.pk])).content.decode()
    assert "¥315.00" in html and "Installation" in html

    data["line-1-discount_pct"] = "150"
    response = client.post(url, data)
    assert "Enter a percentage between 0 and 100." in response.content.decode()


# -- board -------------------------------------------------------------------------------------


def test_the_board_shows_counts_and_amounts_per_stage(world, signed_in):
    client = signed_in(world.cast.rep)
    html = client.get(reverse("board")).content.decode()
    assert "East deal" in html and "West deal" not in html
    assert 'class="count">1<' in html


def test_moving_a_deal_on_the_board_writes_history_and_returns_the_board(world, signed_in):
    client = signed_in(world.cast.rep)
    deal = world.east.deal
    propose = world.pipeline.stages.get(name="Propose")
    response = client.post(
        reverse("deal_move", args=[deal.pk]),
        {"stage": propose.pk, "version": deal.version, "from": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert 'id="board"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == propose
    assert StageHistory.objects.filter(deal=deal, stage=propose, left_at=None).exists()


def test_losing_a_deal_needs_a_reason_and_winning_closes_it(world, signed_in):
    client = signed_in(world.cast.rep)
    deal = world.east.deal
    response = client.post(
        reverse("deal_move", args=[deal.pk]),
        {"to": "lost", "from": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert "Say why the deal was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == "open"
    client.post(reverse("deal_move", args=[deal.pk]), {"to": "won"})
    deal.refresh_from_db()
    assert deal.status == "won" and deal.closed_on is not None


def test_a_stale_board_card_does_not_move_the_deal(world, signed_in):
    client = signed_in(world.cast.rep)
    deal = world.east.deal
    propose = world.pipeline.stages.get(name="Propose")
    response = client.post(
        reverse("deal_move", args=[deal.pk]),
        {"stage": propose.pk, "version": deal.version + 5, "from": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert "Someone else changed this deal" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage != propose


def card_of(html, deal):
    """The board card of `deal` in the page's HTML."""
    start = html.rindex("<article", 0, html.index(f'id="deal-{deal.pk}"'))
    return html[start : html.index("</article>", start)]


def test_a_cards_move_menu_names_its_stage_and_version_and_moves_the_deal(world, signed_in):
    client = signed_in(world.cast.rep)
    deal = world.east.deal
    card = card_of(client.get(reverse("board")).text, deal)
    assert f'action="{reverse("deal_move", args=[deal.pk])}?next=' in card
    assert f'name="version" value="{deal.version}"' in card
    assert f'<option value="{deal.stage_id}" selected>' in card
    assert 'name="csrfmiddlewaretoken"' in card and 'name="from" value="board"' in card
    propose = world.pipeline.stages.get(name="Propose")
    assert f'<option value="{propose.pk}">' in card
    client.post(
        reverse("deal_move", args=[deal.pk]),
        {"stage": propose.pk, "version": deal.version, "from": "board"},
    )
    deal.refresh_from_db()
    card = card_of(client.get(reverse("board")).text, deal)
    assert f'<option value="{propose.pk}" selected>' in card  # the column it moved to
    assert f'name="version" value="{deal.version}"' in card


def test_a_closed_deals_card_offers_to_reopen_and_a_viewer_gets_no_menu(world, signed_in):
    deal = world.east.deal
    signed_in(world.cast.rep).post(reverse("deal_move", args=[deal.pk]), {"to": "won"})
    card = card_of(signed_in(world.cast.rep).get(reverse("board")).text, deal)
    assert 'value="reopen"' in card and 'name="stage"' not in card
    role = world.cast.rep.role
    role.rights = {**role.rights, "deal": [r for r in role.rights["deal"] if r != "edit"]}
    role.save()
    card = card_of(signed_in(world.cast.rep).get(reverse("board")).text, deal)
    assert 'draggable="false"' in card and "<form" not in card


def test_owner_choices_keep_the_chosen_person_escape_names_and_stay_within_the_scope(
    world, signed_in
):
    cast = world.cast
    odd = User.objects.filter(pk=cast.teammate.pk)
    odd.update(display_name='<b>Tom & "Jerry"</b>')
    option = f'<option value="{cast.teammate.pk}" selected>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;</option>'
    admin = signed_in(cast.admin)
    assert option in admin.get(reverse("deal_list"), {"owner": cast.teammate.pk}).text
    assert option in admin.get(reverse("board"), {"owner": cast.teammate.pk}).text
    board = admin.get(reverse("board")).text
    assert option.replace(" selected", "") in board
    rep_board = signed_in(cast.rep).get(reverse("board")).text
    assert f'<option value="{cast.outsider.pk}"' not in rep_board  # not in the rep's scope


# -- saved views -----------------------------------------------------------------------------------


def test_a_saved_view_keeps_filters_and_can_be_shared(world, signed_in, cast):
    client = signed_in(cast.rep)
    client.post(
        reverse("deal_list"),
        {
            "action": "save_view",
            "name": "Open ones",
            "query": "status=open&sort=-amount",
            "shared": "on",
        },
    )
    view = SavedView.objects.get(name="Open ones")
    assert view.owner == cast.rep and view.shared
    response = signed_in(cast.teammate).get(reverse("deal_list"), {"view": view.pk})
    assert response["Location"] == "/deals/?status=open&sort=-amount"
    response = signed_in(cast.teammate).post(
        reverse("deal_list"), {"action": "delete_view", "view_id": view.pk}, follow=True
    )
    assert "Only the person who saved a view may delete it." in response.content.decode()
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_filters_sorts_and_custom_field_filters_are_allow_listed(world, signed_in):
    CustomField.objects.create(
        object_type="deal",
        key="segment",
        label="Segment",
        field_type="select",
        options=[{"value": "smb", "label": "SMB"}, {"value": "ent", "label": "Enterprise"}],
    )
    Deal.objects.filter(pk=world.east.deal.pk).update(custom={"segment": "ent"})
    client = signed_in(world.cast.rep)
    html = client.get(reverse("deal_list"), {"cf_segment": "ent"}).content.decode()
    assert "East deal" in html
    html = client.get(reverse("deal_list"), {"cf_segment": "smb"}).content.decode()
    assert "East deal" not in html
    html = client.get(
        reverse("deal_list"), {"cf_segment": "x' OR 1=1", "sort": "password"}
    ).content.decode()
    assert "Choose one of the options." in html and "This list cannot be sorted that way." in html


def test_paging_is_by_keyset_and_more_returns_only_rows(cast, signed_in):
    for i in range(55):
        LeadFactory(owner=cast.rep, name=f"Lead {i:02d}")
    client = signed_in(cast.rep)
    first = client.get(reverse("lead_list"), {"sort": "name"})
    rows = first.context["rows"]
    assert len(rows) == 50 and first.context["next_query"]
    more = client.get("/leads/?" + first.context["next_query"], HTTP_HX_REQUEST="true")
    html = more.content.decode()
    assert "<html" not in html and "Lead 54" in html and "Lead 00" not in html


# -- home -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "manager", "analyst", "admin", "outsider"])
def test_home_renders_for_every_role(world, signed_in, who):
    user = getattr(world.cast, who)
    Target.objects.create(
        user=world.cast.rep,
        metric="bookings",
        period_kind="month",
        period_start=timezone.localdate().replace(day=1),
        value=Decimal(100000),
    )
    response = signed_in(user).get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    if who == "rep":
        assert 'id="my-tasks"' in html and 'id="targets"' in html and "Bookings" in html
    if who in ("analyst", "admin"):
        assert "Open pipeline" in html


def test_a_chooser_lookup_finds_only_records_in_scope(world, signed_in):
    client = signed_in(world.cast.rep)
    found = client.get(reverse("lookup", args=["customer"]), {"q": "customer"}).json()
    assert [r["label"] for r in found["results"]] == ["East customer"]
    assert client.get(reverse("lookup", args=["user"])).status_code == 404


def test_a_list_counts_its_rows_up_to_a_cap(cast, signed_in, monkeypatch):
    from salesops.web import listing

    for i in range(4):
        LeadFactory(owner=cast.rep, name=f"Counted {i}")
    client = signed_in(cast.rep)
    assert "4 records" in client.get(reverse("lead_list")).content.decode()
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    monkeypatch.setattr(listing.count_upto, "__defaults__", (3,))
    assert "More than 3 records" in client.get(reverse("lead_list")).content.decode()
