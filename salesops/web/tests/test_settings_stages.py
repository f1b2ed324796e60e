"""The pipeline settings page: each stage's required fields (the deal's fields from the
registry, labelled in the reader's language) and the stages' order (up and down).
Administrators only: anyone else gets 403 and changes nothing."""

import pytest
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin


@pytest.fixture
def pipeline(cast):
    fields_admin.create_custom_field(
        by=cast.admin, object_type="deal", key="budget", label="Budget", field_type="money"
    )
    return PipelineFactory.create()


def url(pipeline):
    return reverse("settings_pipeline", args=[pipeline.pk])


def names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def save_stage(client, stage, **extra):
    data = {
        "rename": stage.pk,
        "name": stage.name,
        "probability": stage.probability,
        "forecast_category": stage.forecast_category,
        "required_fields_offered": "1",
    }
    return client.post(url(stage.pipeline), data | extra)


def test_the_page_offers_the_deals_fields_as_checkboxes(cast, signed_in, pipeline):
    html = signed_in(cast.admin).get(url(pipeline)).content.decode()
    for key in ("expected_close", "amount", "budget", "source"):
        assert f'name="required_fields" value="{key}"' in html
    for key in ("name", "status", "pipeline", "stage", "owner"):
        assert f'name="required_fields" value="{key}"' not in html
    assert "> Expected close date</label>" in html and "> Budget</label>" in html


def test_the_labels_are_in_the_readers_language(cast, signed_in, pipeline):
    html = signed_in(cast.admin, language="zh-hans").get(url(pipeline)).content.decode()
    assert 'value="expected_close"' in html and "> Expected close date</label>" not in html


def test_an_administrator_sets_and_clears_a_stages_required_fields(cast, signed_in, pipeline):
    client = signed_in(cast.admin)
    negotiate = pipeline.stages.get(name="Negotiate")
    response = save_stage(client, negotiate, required_fields=["expected_close", "budget"])
    assert response.status_code == 302
    negotiate.refresh_from_db()
    assert negotiate.required_fields == ["expected_close", "budget"]
    html = client.get(url(pipeline)).content.decode()
    assert "Required to enter: Expected close date, Budget" in html
    assert 'value="budget" checked' in html
    save_stage(client, negotiate)
    negotiate.refresh_from_db()
    assert negotiate.required_fields == []


def test_a_rename_from_an_older_form_keeps_the_required_fields(cast, signed_in, pipeline):
    negotiate = pipeline.stages.get(name="Negotiate")
    negotiate.required_fields = ["budget"]
    negotiate.save()
    signed_in(cast.admin).post(url(pipeline), {"rename": negotiate.pk, "name": "Haggle"})
    negotiate.refresh_from_db()
    assert (negotiate.name, negotiate.required_fields) == ("Haggle", ["budget"])


def test_a_field_that_cannot_be_required_is_refused_by_name(cast, signed_in, pipeline):
    negotiate = pipeline.stages.get(name="Negotiate")
    response = save_stage(signed_in(cast.admin), negotiate, required_fields=["status"])
    assert response.status_code == 200
    assert "“status” is not a deal field that a stage can require" in response.content.decode()
    negotiate.refresh_from_db()
    assert negotiate.required_fields == []


def test_an_administrator_moves_stages_up_and_down(cast, signed_in, pipeline):
    client = signed_in(cast.admin)
    negotiate = pipeline.stages.get(name="Negotiate")
    assert client.post(url(pipeline), {"move": negotiate.pk, "step": "-1"}).status_code == 302
    assert names(pipeline) == ["Qualify", "Negotiate", "Propose", "Won", "Lost"]
    client.post(url(pipeline), {"move": negotiate.pk, "step": "1"})
    assert names(pipeline) == ["Qualify", "Propose", "Negotiate", "Won", "Lost"]
    assert (
        AuditEntry.objects.filter(object_type="pipeline.stage", object_id=negotiate.pk).count() == 2
    )


def test_a_move_past_the_won_and_lost_stages_is_refused_with_a_message(cast, signed_in, pipeline):
    client = signed_in(cast.admin)
    negotiate = pipeline.stages.get(name="Negotiate")
    response = client.post(url(pipeline), {"move": negotiate.pk, "step": "1"}, follow=True)
    assert "Open stages come before the won and lost stages." in response.content.decode()
    assert names(pipeline) == ["Qualify", "Propose", "Negotiate", "Won", "Lost"]


def test_the_first_and_last_buttons_are_disabled(cast, signed_in, pipeline):
    html = signed_in(cast.admin).get(url(pipeline)).content.decode()
    assert 'disabled aria-label="Move Qualify up"' in html
    assert 'disabled aria-label="Move Negotiate down"' in html
    assert '<button type="submit" aria-label="Move Propose up">' in html


def test_no_one_but_an_administrator_changes_the_stages(cast, signed_in, pipeline):
    negotiate = pipeline.stages.get(name="Negotiate")
    for user in (cast.manager, cast.rep, cast.analyst):
        client = signed_in(user)
        assert client.get(url(pipeline)).status_code == 403
        assert save_stage(client, negotiate, required_fields=["budget"]).status_code == 403
        response = client.post(url(pipeline), {"move": negotiate.pk, "step": "-1"})
        assert response.status_code == 403
    negotiate.refresh_from_db()
    assert negotiate.required_fields == []
    assert names(pipeline) == ["Qualify", "Propose", "Negotiate", "Won", "Lost"]
