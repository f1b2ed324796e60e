"""The KPI engine: a registry of KPIs by id, and the context they are computed in.

A KPI is a function `(ctx) -> value` registered with `@kpi(id, kind, label)`. The
context holds the viewer (every query goes through `visible_to`), the period, the
filters, and caches shared between KPIs (rates, per-owner facts). New modules add
KPIs by registering more functions; the engine does not change.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from salesops.analytics.formulas import MissingRate, RateTable, money_text
from salesops.analytics.periods import Period
from salesops.crm.models import Deal, DealLine, Lead, Payment
from salesops.lib.models import visibility
from salesops.org.calendar import org_working_days
from salesops.org.models import ExchangeRate, Organisation
from salesops.pipeline.models import Pipeline
from salesops.users.models import Team, User


class Kind(enum.StrEnum):
    MONEY = "money"
    COUNT = "count"
    RATE = "rate"
    DAYS = "days"
    NUMBER = "number"
    OBJECT = "object"


@dataclass(frozen=True)
class KpiDef:
    id: str
    kind: Kind
    label: Any
    compute: Callable[[KpiContext], Any]
    module: str = "analytics"


REGISTRY: dict[str, KpiDef] = {}


def kpi(id: str, kind: Kind, label: Any, *, module: str = "analytics") -> Callable:
    def register(fn: Callable[[KpiContext], Any]) -> Callable[[KpiContext], Any]:
        if id in REGISTRY:
            raise ValueError(f"KPI {id} registered twice")
        REGISTRY[id] = KpiDef(id, kind, label, fn, module)
        return fn

    return register


@dataclass
class Filters:
    """What a KPI is narrowed to, besides the viewer's data scope."""

    team: Team | None = None
    owner: User | None = None
    pipeline: Pipeline | None = None
    product_id: int | None = None
    region: str = ""
    industry: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team.pk if self.team else None,
            "owner": self.owner.pk if self.owner else None,
            "pipeline": self.pipeline.pk if self.pipeline else None,
            "product": self.product_id,
            "region": self.region or None,
            "industry": self.industry or None,
        }


@dataclass
class KpiContext:
    viewer: User
    period: Period
    filters: Filters = field(default_factory=Filters)
    today: dt.date | None = None

    def __post_init__(self) -> None:
        self.org = Organisation.get()
        self.tz = self.org.tz
        if self.today is None:
            self.today = self.org.local_date()
        self.cache: dict[str, Any] = {}
        #: The KPIs being computed (set by `compute`): shared facts are read per owner
        #: only when a KPI that needs them per owner is among them.
        self.wanted: set[str] = set()

    def per_owner(self) -> bool:
        """Whether per-owner facts will be needed anyway (so organisation totals are
        added up from them rather than read a second time)."""
        return bool(self.wanted & {"rep_performance", "attainment"})

    # -- whose records ---------------------------------------------------------------
    @cached_property
    def team_member_ids(self) -> set[int] | None:
        """Users of the filter's team and its sub-teams (None: no team filter)."""
        team = self.filters.team
        if team is None:
            return None
        teams = Team.objects.filter(path__startswith=team.path).values_list("id", flat=True)
        return set(
            User.objects.filter(Q(team_id__in=teams) | Q(extra_teams__in=teams)).values_list(
                "id", flat=True
            )
        )

    def _owner_q(self, field: str) -> Q:
        q = Q()
        if self.filters.owner is not None:
            q &= Q(**{field: self.filters.owner.pk})
        if self.team_member_ids is not None:
            q &= Q(**{f"{field}__in": self.team_member_ids})
        return q

    # -- base querysets: visible to the viewer, narrowed by the filters ------------------
    def deal_q(self, prefix: str = "") -> Q:
        """The viewer's scope and the filters as a condition on deals, stated from a
        model related to them by `prefix` (e.g. "deal__" for stage history)."""
        rule = visibility(Deal, self.viewer, prefix)
        if rule is False:
            return Q(pk__in=[])
        q = Q(**{f"{prefix}deleted_at__isnull": True}) & self._owner_q(f"{prefix}owner_id")
        if rule is not True:
            q &= rule
        f = self.filters
        if f.pipeline is not None:
            q &= Q(**{f"{prefix}pipeline_id": f.pipeline.pk})
        if f.region:
            q &= Q(**{f"{prefix}customer__region": f.region})
        if f.industry:
            q &= Q(**{f"{prefix}customer__industry": f.industry})
        if f.product_id is not None:
            lines = DealLine.objects.filter(product_id=f.product_id).values("deal_id")
            q &= Q(**{f"{prefix}pk__in": lines})
        return q

    def deals(self) -> QuerySet[Deal]:
        return Deal.objects.filter(self.deal_q())

    def payments(self) -> QuerySet[Payment]:
        qs = Payment.objects.visible_to(self.viewer).filter(self._owner_q("owner_id"))
        f = self.filters
        if f.pipeline is not None:
            qs = qs.filter(contract__deal__pipeline_id=f.pipeline.pk)
        if f.region:
            qs = qs.filter(contract__customer__region=f.region)
        if f.industry:
            qs = qs.filter(contract__customer__industry=f.industry)
        if f.product_id is not None:
            qs = qs.filter(
                contract__deal_id__in=DealLine.objects.filter(product_id=f.product_id).values(
                    "deal_id"
                )
            )
        return qs

    def leads(self) -> QuerySet[Lead]:
        """Leads honour the owner, team, region and industry filters (they have no
        pipeline or products yet)."""
        qs = Lead.objects.visible_to(self.viewer).filter(self._owner_q("owner_id"))
        if self.filters.region:
            qs = qs.filter(region=self.filters.region)
        if self.filters.industry:
            qs = qs.filter(industry=self.filters.industry)
        return qs

    @cached_property
    def reps(self) -> list[int]:
        """Reps in scope: active users whose role counts as a rep, within the filter and
        the viewer's data scope."""
        qs = User.objects.filter(is_active=True, role__is_sales_rep=True).filter(
            self._owner_q("id")
        )
        visible = self.viewer.visible_owner_ids()
        if visible is not None:
            qs = qs.filter(id__in=visible)
        return sorted(qs.values_list("id", flat=True))

    @cached_property
    def working_days(self) -> int:
        return org_working_days(self.period.start, self.period.end)

    # -- money ---------------------------------------------------------------------
    @cached_property
    def rates(self) -> RateTable:
        rows = ExchangeRate.objects.values_list("currency_id", "effective_on", "rate")
        return RateTable(str(self.org.base_currency_id), rows)

    def to_base(self, rows: Iterable[tuple[str, dt.date, Decimal | None]]) -> Decimal:
        """Σ amount × rate on the row's date, for rows (currency, date, amount)."""
        total = Decimal(0)
        for code, day, amount in rows:
            if amount:
                total += Decimal(amount) * self.rates.rate_on(code, day)
        return total

    def bounds(self, period: Period | None = None) -> tuple[dt.datetime, dt.datetime]:
        return (period or self.period).bounds(self.tz)

    def memo(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]


def render(kind: Kind, value: Any) -> Any:
    """The machine-readable form: money a 2-decimal string, a rate a float, a count an
    int, undefined null; objects rendered recursively by the KPI itself."""
    if value is None:
        return None
    if kind == Kind.MONEY:
        return money_text(value)
    if kind == Kind.COUNT:
        return int(value)
    if kind in (Kind.RATE, Kind.NUMBER, Kind.DAYS):
        return float(value)
    return value


def compute(
    ctx: KpiContext, ids: Iterable[str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Compute KPIs by id (default: all registered). Returns (values, errors): a KPI that
    cannot be computed (e.g. a missing exchange rate), or that reads a field hidden from
    the viewer (`kpis.withheld`), is null with a message."""
    from salesops.analytics import kpis  # registers the KPIs

    wanted = list(ids) if ids is not None else list(REGISTRY)
    unknown = [i for i in wanted if i not in REGISTRY]
    if unknown:
        from django.core.exceptions import ValidationError

        raise ValidationError(
            _("Unknown KPI: %(ids)s. Known: %(known)s.")
            % {"ids": ", ".join(unknown), "known": ", ".join(REGISTRY)}
        )
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ctx.wanted = set(wanted)
    hidden = kpis.withheld(ctx.viewer, wanted)
    for kpi_id in wanted:
        definition = REGISTRY[kpi_id]
        if kpi_id in hidden:
            values[kpi_id] = None
            errors[kpi_id] = _gettext("Withheld: it reads a field hidden for your role.")
            continue
        try:
            values[kpi_id] = render(definition.kind, definition.compute(ctx))
        except MissingRate as e:
            values[kpi_id] = None
            errors[kpi_id] = _gettext(
                "There is no exchange rate for %(currency)s on or before %(day)s; add one."
            ) % {"currency": e.code, "day": e.day.isoformat()}
    return values, errors
