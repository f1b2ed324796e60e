"""Targets in the metadata registry: they live in `users`, below this app, so they are
declared here (see `customization.registry`)."""

from __future__ import annotations

from salesops.customization import registry as r
from salesops.customization.registry import Declare as D


def register() -> None:
    from salesops.users.models import Target

    r.register(
        Target,
        title_field="metric",
        list_url="targets",
        customisable=False,
        field_security=False,
        fields=[
            D("user", list_default=True),
            D("team", list_default=True),
            D("metric", list_default=True),
            D("period_kind", list_default=True),
            D("period_start", sortable=True, list_default=True),
            D("value", type=r.NUMBER, list_default=True),
        ],
    )
