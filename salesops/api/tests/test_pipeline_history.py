"""`/api/v1/pipeline/as-of` and `/api/v1/pipeline/waterfall` on the crafted history of
`forecasting/tests/history.py`: the page's figures, the caller's scope (every response is
checked against its OpenAPI schema by the client)."""

from decimal import Decimal

import pytest

from salesops.customization import policy
from salesops.forecasting.tests import history as made

PARAMS = {"start": "2026-07-10", "end": "2026-08-20", "period": "2026-Q3"}


@pytest.fixture
def history(cast):
    made.set_up_org(cast)
    return made.build_history(cast)


def test_the_waterfall_endpoint_answers_the_bars_and_their_deals(cast, history, as_user):
    r = as_user(cast.rep).get("/pipeline/waterfall", PARAMS)
    assert r.status_code == 200
    body = r.json()
    bars = {b["key"]: b for b in body["bars"]}
    assert bars["start"]["amount"] == "16300.00" and bars["end"]["amount"] == "5820.00"
    moves = sum(Decimal(b["amount"]) for k, b in bars.items() if k not in ("start", "end"))
    assert Decimal("16300.00") + moves == Decimal("5820.00")
    assert bars["won"]["deals"] == [history.deals["e"].pk]
    assert body["effective_start"] == "2026-07-10" and body["currency"] == "CNY"


def test_the_outsider_gets_only_their_own_deals(cast, history, as_user):
    body = as_user(cast.outsider).get("/pipeline/waterfall", PARAMS).json()
    z = history.deals["z"].pk
    assert {d for b in body["bars"] for d in b["deals"]} == {z}
    as_of = as_user(cast.outsider).get("/pipeline/as-of", {"day": "2026-08-01"})
    assert [d["deal"] for d in as_of.json()["deals"]] == [z]


def test_as_of_answers_the_nearest_snapshot_and_withholds_hidden_fields(cast, history, as_user):
    body = as_user(cast.rep).get("/pipeline/as-of", {"day": "2026-08-01"}).json()
    assert (body["source"], body["effective_on"], body["count"]) == ("snapshot", "2026-07-10", 8)
    assert body["total"] == "17100.00"
    role = cast.rep.role
    role.hidden_fields = {"deal": ["amount"]}
    role.save()
    policy.forget(cast.rep)
    r = as_user(cast.rep).get("/pipeline/as-of", {"day": "2026-08-01"})
    hidden = r.json()
    assert hidden["total"] is None and {d["amount"] for d in hidden["deals"]} == {None}
    assert hidden["withheld"] == ["amount"] and "17100" not in r.content.decode()
    w = as_user(cast.rep).get("/pipeline/waterfall", PARAMS)
    assert w.json()["bars"] is None and "16300" not in w.content.decode()


def test_bad_dates_are_a_422_that_says_what_to_fix(cast, as_user):
    r = as_user(cast.rep).get("/pipeline/waterfall", {"start": "2026-08-01", "end": "2026-07-01"})
    assert r.status_code == 422 and "after the first day" in r.content.decode()
    assert as_user(cast.rep).get("/pipeline/as-of", {"day": "soon"}).status_code == 422
