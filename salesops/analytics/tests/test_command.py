import io
import json

import pytest
from django.core.management import CommandError, call_command

from salesops.crm.tests.factories import DealFactory


def run(*args):
    out = io.StringIO()
    call_command("kpi", *args, stdout=out)
    return out.getvalue()


def test_json_output_has_every_kpi_by_id_in_the_machine_readable_form(cast):
    DealFactory(owner=cast.rep)
    data = json.loads(run("--period", "2026-Q3", "--format", "json"))
    assert data["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    assert data["currency"] == "CNY"
    k = data["kpis"]
    assert k["bookings"] == "0.00"
    assert k["won_deals"] == 0
    assert k["win_rate"] is None
    assert isinstance(k["stage_conversion"], dict)


def test_as_user_limits_to_that_users_scope(cast):
    from salesops.crm.models import Deal

    d = DealFactory(owner=cast.outsider, expected_close="2026-08-01")
    Deal.objects.filter(pk=d.pk).update(amount=123)
    everyone = json.loads(run("--period", "2026-Q3", "--format", "json", "--kpi", "open_pipeline"))
    rep = json.loads(
        run("--period", "2026-Q3", "--format", "json", "--kpi", "open_pipeline", "--as-user", "rep")
    )
    assert everyone["kpis"] == {"open_pipeline": "123.00"}
    assert rep["kpis"] == {"open_pipeline": "0.00"}


def test_table_output_lists_labels(cast):
    assert "bookings" in run("--period", "2026-07")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "someday"], "is not a period"),
        (["--period", "2026", "--team", "999999"], "no team with id"),
        (["--period", "2026", "--kpi", "happiness"], "Unknown KPI"),
        (["--period", "2026", "--as-user", "nobody"], "no active user"),
    ],
)
def test_bad_arguments_say_what_to_fix(cast, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
