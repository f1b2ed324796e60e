import io
import json

from django.core.management import call_command

from salesops.crm import services
from salesops.crm.tests.factories import PipelineFactory


def test_the_kpi_endpoint_returns_exactly_what_the_command_prints_for_that_user(cast, as_user):
    pipeline = PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D", amount="1000")
    services.mark_deal_won(deal=deal, by=cast.rep)
    year = deal.created_on.year
    for user in (cast.rep, cast.manager, cast.outsider):
        out = io.StringIO()
        call_command(
            "kpi",
            "--period",
            str(year),
            "--format",
            "json",
            "--as-user",
            user.username,
            "--pipeline",
            str(pipeline.pk),
            stdout=out,
        )
        r = as_user(user).get("/kpis", {"period": str(year), "pipeline": pipeline.pk})
        assert r.status_code == 200
        assert r.json() == json.loads(out.getvalue())
    assert (
        as_user(cast.rep).get("/kpis", {"period": str(year)}).json()["kpis"]["bookings"]
        == "1000.00"
    )
    assert (
        as_user(cast.outsider).get("/kpis", {"period": str(year)}).json()["kpis"]["bookings"]
        == "0.00"
    )


def test_a_bad_period_or_filter_is_a_422_that_says_what_to_write(cast, as_user):
    r = as_user(cast.rep).get("/kpis", {"period": "soon"})
    assert r.status_code == 422
    assert "2026-Q3" in r.json()["detail"]
    r = as_user(cast.rep).get("/kpis", {"period": "2026", "team": 999999})
    assert r.status_code == 422
