"""Stage gating on the pages: the board, the deal page and the deal list's bulk
"Move to stage" refuse a move into a stage whose required fields are empty, say which
fields, and leave the deal where it was."""

import datetime as dt

import pytest
from django.urls import reverse

from salesops.crm import services as crm
from salesops.crm.models import Deal
from salesops.crm.models.deals import StageHistory
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin

MESSAGE = "Fill in Expected close date and Budget before moving to Negotiate."


@pytest.fixture
def pipeline(cast):
    pipeline = PipelineFactory.create(is_default=True)
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="budget", label="Budget", field_type="money"
    )
    negotiate = pipeline.stages.get(name="Negotiate")
    negotiate.required_fields = ["expected_close", "budget"]
    negotiate.save()
    return pipeline


@pytest.fixture
def deal(cast, pipeline):
    customer = crm.create_customer(by=cast.rep, name="Acme")
    return crm.create_deal(by=cast.rep, customer=customer, name="Big deal", pipeline=pipeline)


def column_of(html, deal):
    """The stage id of the board column that holds `deal`'s card."""
    at = html.index(f'id="deal-{deal.pk}"')
    start = html.rindex('<section class="column', 0, at)
    tag = html[start : html.index(">", start)]
    return int(tag.split('data-stage="')[1].split('"')[0])


def history(deal):
    return list(StageHistory.objects.filter(deal=deal).values_list("stage", "left_at"))


def move_on_board(client, deal, stage):
    return client.post(
        reverse("deal_move", args=[deal.pk]),
        {"stage": stage.pk, "version": deal.version, "from": "board"},
        HTTP_HX_REQUEST="true",
    )


def test_the_board_refuses_the_move_says_which_fields_and_leaves_the_card(
    cast, signed_in, pipeline, deal
):
    negotiate = pipeline.stages.get(name="Negotiate")
    before = history(deal)
    response = move_on_board(signed_in(cast.rep), deal, negotiate)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="board"' in html
    assert f'<p class="msg error" role="alert">{MESSAGE}</p>' in html
    assert column_of(html, deal) == deal.stage_id != negotiate.pk
    deal.refresh_from_db()
    assert deal.stage.name == "Qualify" and deal.version == 1
    assert history(deal) == before


def test_the_board_moves_the_deal_once_the_fields_are_filled_in(cast, signed_in, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    deal = crm.update_record(
        obj=deal,
        by=cast.rep,
        data={"expected_close": dt.date(2030, 1, 15)},
        custom={"budget": "9000"},
    )
    html = move_on_board(signed_in(cast.rep), deal, negotiate).content.decode()
    assert "Fill in" not in html
    assert column_of(html, deal) == negotiate.pk
    assert Deal.objects.get(pk=deal.pk).stage == negotiate
    assert StageHistory.objects.filter(deal=deal, stage=negotiate, left_at=None).exists()


def test_the_board_names_the_fields_in_the_readers_language(cast, signed_in, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    html = move_on_board(signed_in(cast.rep, language="zh-hans"), deal, negotiate).text
    assert "Budget" in html and "Negotiate" in html and "Expected close date" not in html
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_the_deal_page_refuses_the_move_with_the_message(cast, signed_in, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    client = signed_in(cast.rep)
    response = client.post(
        reverse("deal_move", args=[deal.pk]), {"stage": negotiate.pk}, follow=True
    )
    assert MESSAGE in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_someone_outside_the_deals_scope_cannot_move_it_at_all(cast, signed_in, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    response = move_on_board(signed_in(cast.outsider), deal, negotiate)
    assert response.status_code == 404
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_the_bulk_stage_action_reports_each_refused_deal(cast, signed_in, pipeline, deal):
    negotiate = pipeline.stages.get(name="Negotiate")
    ready = crm.create_deal(
        by=cast.rep,
        customer=deal.customer,
        name="Ready deal",
        pipeline=pipeline,
        expected_close=dt.date(2030, 1, 1),
        custom={"budget": "100"},
    )
    half = crm.create_deal(
        by=cast.rep,
        customer=deal.customer,
        name="Half deal",
        pipeline=pipeline,
        expected_close=dt.date(2030, 1, 1),
    )
    response = signed_in(cast.rep).post(
        reverse("deal_list"),
        {"action": "stage", "stage": negotiate.pk, "ids": [deal.pk, ready.pk, half.pk]},
    )
    results = {r["label"]: (r["ok"], str(r["message"])) for r in response.context["bulk_results"]}
    assert results == {
        "Big deal": (False, MESSAGE),
        "Ready deal": (True, "Done."),
        "Half deal": (False, "Fill in Budget before moving to Negotiate."),
    }
    stages = dict(Deal.objects.values_list("name", "stage__name"))
    assert stages == {"Big deal": "Qualify", "Ready deal": "Negotiate", "Half deal": "Qualify"}
    assert "Fill in Budget before moving to Negotiate." in response.content.decode()
