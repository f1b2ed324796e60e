"""`/api/v1/kpis` and `salesops kpi --as-user`: a KPI reading a field the caller's role
hides is null with the reason under "errors"; counts still show."""

import io
import json

from django.core.management import call_command

from salesops.crm import services
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import policy


def test_amount_kpis_are_null_with_a_reason_for_a_role_hiding_the_amount(cast, as_user):
    PipelineFactory(is_default=True)
    customer = services.create_customer(by=cast.rep, name="Acme")
    deal = services.create_deal(by=cast.rep, customer=customer, name="D", amount="1234.56")
    services.mark_deal_won(deal=deal, by=cast.rep)
    period = str(deal.created_on.year)

    shown = as_user(cast.rep).get("/kpis", {"period": period}).json()
    assert shown["kpis"]["bookings"] == "1234.56" and "errors" not in shown

    role = cast.rep.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    policy.forget(cast.rep)
    r = as_user(cast.rep).get("/kpis", {"period": period})
    assert r.status_code == 200
    body = r.json()
    for kpi_id in ("bookings", "avg_deal_size", "open_pipeline", "weighted_pipeline"):
        assert body["kpis"][kpi_id] is None, kpi_id
        assert "hidden for your role" in body["errors"][kpi_id]
    assert body["kpis"]["won_deals"] == 1 and "won_deals" not in body["errors"]
    assert "1234" not in r.content.decode()

    out, err = io.StringIO(), io.StringIO()
    call_command(
        "kpi", "--period", period, "--format", "json", "--as-user", "rep", stdout=out, stderr=err
    )
    assert json.loads(out.getvalue()) == body
    out, err = io.StringIO(), io.StringIO()
    call_command("kpi", "--period", period, "--as-user", "rep", stdout=out, stderr=err)
    assert "1234" not in out.getvalue()
    assert "bookings: Withheld: it reads a field hidden for your role." in err.getvalue()
