"""A small world of records per user, created through the API itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from salesops.crm.models import Product
from salesops.crm.tests.factories import PipelineFactory
from salesops.pipeline.models import Pipeline


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)


def shared_setup() -> dict[str, Any]:
    pipeline = Pipeline.objects.filter(is_default=True).first() or PipelineFactory(is_default=True)
    product = Product.objects.create(name="Widget", price="100.00", currency_id="CNY")
    return {"pipeline": pipeline, "product": product}


def build_world(api: Any, user: Any, shared: dict[str, Any], tag: str = "") -> World:
    """One of every owned record for `user`, all through POSTs."""
    w = World()

    def made(name: str, response: Any) -> dict[str, Any]:
        assert response.status_code == 201, (name, response.content)
        body = response.json()
        w.ids[name] = body["id"]
        return body

    made("leads", api.post("/leads", {"name": f"Lead {tag}", "company": f"Co {tag}"}))
    customer = made("customers", api.post("/customers", {"name": f"Customer {tag}"}))
    made("contacts", api.post("/contacts", {"customer": customer["id"], "name": f"Pat {tag}"}))
    made(
        "deals",
        api.post("/deals", {"customer": customer["id"], "name": f"Deal {tag}", "amount": "5000"}),
    )
    made(
        "followups",
        api.post("/followups", {"kind": "call", "customer": customer["id"], "subject": "Hi"}),
    )
    made("tasks", api.post("/tasks", {"title": f"Call back {tag}", "customer": customer["id"]}))
    made(
        "quotes",
        api.post(
            "/quotes",
            {
                "customer": customer["id"],
                "lines": [{"product": shared["product"].pk, "quantity": "2"}],
            },
        ),
    )
    contract = made(
        "contracts",
        api.post(
            "/contracts", {"customer": customer["id"], "title": f"Deal {tag}", "amount": "5000"}
        ),
    )
    made(
        "payment-plans",
        api.post(
            "/payment-plans",
            {"contract": contract["id"], "due_on": "2030-01-01", "amount": "2500"},
        ),
    )
    made(
        "payments",
        api.post(
            "/payments",
            {
                "contract": contract["id"],
                "amount": "1000",
                "received_on": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
            },
        ),
    )
    made(
        "targets",
        api.post(
            "/targets",
            {
                "user": user.pk,
                "metric": "bookings",
                "period_kind": "month",
                "period_start": "2030-01-01",
                "value": "100000",
            },
        ),
    )
    return w
