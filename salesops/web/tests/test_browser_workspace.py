"""The daily workspace in a real browser (Debian's Chromium): signing in in both
languages, a lead turned into a deal that is dragged across the board and won, the
pool cap, another team's deal, and a screenshot of every main page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesops.crm.models import Deal, Lead, PoolRule
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import CustomerFactory, DealFactory, PipelineFactory
from salesops.crm.tests.more_factories import QuoteFactory, QuoteLineFactory
from salesops.users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def console_errors(page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None,
    )
    return errors


def test_each_person_signs_in_to_their_own_language(cast, live_server, new_page, sign_in):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    User.objects.filter(pk=cast.teammate.pk).update(language="zh-hans")
    english = new_page(locale="zh-CN")
    sign_in(english, live_server.url, "rep")
    expect(english.locator("html")).to_have_attribute("lang", "en")
    expect(english.locator("nav")).to_contain_text("Deals")

    chinese = new_page(locale="en-US")
    sign_in(chinese, live_server.url, "teammate")
    expect(chinese.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(chinese.locator("nav")).to_contain_text("商机")
    chinese.get_by_role("button", name="English").click()
    expect(chinese.locator("html")).to_have_attribute("lang", "en")
    assert User.objects.get(pk=cast.teammate.pk).language == "en"


def test_a_lead_becomes_a_deal_that_is_dragged_across_the_board_and_won(
    cast, live_server, new_page, screenshot, sign_in
):
    pipeline = PipelineFactory(name="New business", is_default=True)
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    page = new_page()
    errors = console_errors(page)
    sign_in(page, live_server.url, "rep")

    page.goto(f"{live_server.url}/leads/new/")
    page.fill("#id_name", "Wang Wei")
    page.fill("#id_company", "Starlight Tech")
    page.fill("#id_email", "not-an-address")
    page.locator("main button[type=submit]").click()
    expect(page.locator(".has-error .field-error")).to_be_visible()
    assert not Lead.objects.filter(name="Wang Wei").exists()
    page.fill("#id_email", "wang@example.com")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main h1")).to_contain_text("Wang Wei")

    page.get_by_role("link", name="Convert").click()
    expect(page.locator("#no-duplicates")).to_be_visible()
    page.fill("#id_amount", "88000")
    screenshot(page, "lead-convert")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text("Starlight Tech")
    deal = Deal.objects.get(name="Starlight Tech")

    page.goto(f"{live_server.url}/board/")
    card = page.locator(f"#deal-{deal.pk}")
    propose = page.locator(".column[aria-label=Propose]")
    card.drag_to(propose)
    expect(propose.locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(propose.locator(".count")).to_have_text("1")
    assert Deal.objects.get(pk=deal.pk).stage.name == "Propose"

    page.locator(f"#deal-{deal.pk}").drag_to(page.locator(".column.kind-won"))
    expect(page.locator("#won-dialog")).to_be_visible()
    screenshot(page, "board-won-dialog")
    page.locator("#won-dialog button[type=submit]").click()
    expect(page.locator(f".column.kind-won #deal-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.status == "won"
    stages = list(
        StageHistory.objects.filter(deal=deal)
        .order_by("entered_at")
        .values_list("stage__name", flat=True)
    )
    assert stages == ["Qualify", "Propose", "Won"]
    assert pipeline.pk == deal.pipeline_id
    screenshot(page, "board")
    assert errors == []


def test_claiming_from_the_pool_at_the_cap_shows_why_not(
    cast, live_server, new_page, screenshot, sign_in
):
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    PoolRule.objects.create(name="All", max_customers_per_rep=1)
    CustomerFactory(owner=cast.rep, name="Already mine")
    CustomerFactory(owner=None, owned_since=None, pool_entered_at=timezone.now(), name="Free one")
    page = new_page()
    sign_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}/pool/")
    page.locator("tr", has_text="Free one").get_by_role("button", name="Claim").click()
    expect(page.locator(".msg.error")).to_contain_text("the most allowed is 1")
    screenshot(page, "pool-cap")


def test_a_rep_cannot_reach_another_teams_deal(cast, live_server, new_page, sign_in):
    pipeline = PipelineFactory(is_default=True)
    west = DealFactory(owner=cast.outsider, pipeline=pipeline, name="West secret")
    User.objects.filter(pk=cast.rep.pk).update(language="en")
    page = new_page()
    sign_in(page, live_server.url, "rep")
    response = page.goto(f"{live_server.url}/deals/{west.pk}/")
    assert response.status == 404
    expect(page.locator("#not-found")).to_be_visible()
    assert "West secret" not in page.content()
    page.goto(f"{live_server.url}/deals/?q=West")
    assert "West secret" not in page.content()


def test_screenshots_of_the_main_pages(cast, live_server, new_page, screenshot, sign_in):
    pipeline = PipelineFactory(name="New business", is_default=True)
    customer = CustomerFactory(owner=cast.rep, name="星辰科技")
    deal = DealFactory(
        owner=cast.rep, customer=customer, pipeline=pipeline, name="星辰科技-年度订阅"
    )
    quote = QuoteFactory(owner=cast.rep, customer=customer, deal=deal)
    QuoteLineFactory(quote=quote)
    page = new_page()
    errors = console_errors(page)
    sign_in(page, live_server.url, "rep")
    for name, path in [
        ("home-rep", "/"),
        ("leads", "/leads/"),
        ("customers", "/customers/"),
        ("my-customers", "/customers/mine/"),
        ("pool", "/pool/"),
        ("deals", "/deals/"),
        ("followups", "/followups/"),
        ("tasks", "/tasks/"),
        ("quotes", "/quotes/"),
        ("contracts", "/contracts/"),
        ("payments", "/payments/"),
        ("customer", f"/customers/{customer.pk}/"),
        ("deal", f"/deals/{deal.pk}/"),
        ("quote", f"/quotes/{quote.pk}/"),
        ("quote-print", f"/quotes/{quote.pk}/print/"),
        ("search", "/search/?q=星辰"),
    ]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        screenshot(page, name)
    # Inline edit in the browser: the field becomes a form and saves in place.
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.locator("#f-amount .edit-link").click()
    page.fill("#f-amount input[name=amount]", "4321")
    page.locator("#f-amount button[type=submit]").click()
    expect(page.locator("#f-amount .value")).to_have_text("¥4,321.00")
    # A narrow screen: the rep logs a visit and moves the deal from a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.select_option("#id_fu-kind", "visit")
    page.fill("#id_fu-subject", "拜访客户")
    page.locator("#quick-followup button[type=submit]").click()
    expect(page.locator("#timeline")).to_contain_text("拜访客户")
    screenshot(page, "deal-phone")
    page.goto(f"{live_server.url}/board/")
    page.locator(f"#deal-{deal.pk} summary").click()
    page.locator(f"#deal-{deal.pk} select[name=stage]").select_option(label="Propose")
    page.locator(f"#deal-{deal.pk}").get_by_role("button", name="移动", exact=True).click()
    expect(page.locator(".column[aria-label=Propose]").locator(f"#deal-{deal.pk}")).to_be_visible()
    screenshot(page, "board-phone")

    User.objects.filter(pk=cast.admin.pk).update(language="en")
    admin = new_page()
    sign_in(admin, live_server.url, "admin")
    for name, path in [
        ("home-admin", "/"),
        ("settings", "/settings/"),
        ("settings-roles", "/settings/roles/"),
        ("settings-pipeline", f"/settings/pipelines/{pipeline.pk}/"),
    ]:
        assert admin.goto(live_server.url + path).status == 200, path
        screenshot(admin, name)
    assert errors == []
