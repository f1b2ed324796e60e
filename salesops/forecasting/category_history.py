"""The forecast-category history of a deal changed by an ordinary edit (its page's form,
the API, an import). Not a service of its own: a listener registered with
`crm.services.CATEGORY_LISTENERS`, run inside the audited edit's transaction, whose
audit entry it sits beside. (The forecast control's own service,
`services.override_forecast_category`, writes its rows itself.)"""

from __future__ import annotations

from typing import Any

from salesops.forecasting.models import CategoryChange


def record_category_change(*, deal: Any, before: str, by: Any) -> None:
    CategoryChange.objects.create(
        deal=deal, from_category=before, to_category=deal.forecast_category, by=by
    )
