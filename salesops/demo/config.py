"""The demo organisation's set-up: settings, calendar, rates, roles, the team tree, the
people and products; its configuration (picklists, custom fields and objects, pipelines
and stages, validation rules, layouts, the pool rule, saved reports, the dashboard) is
the shipped template `DEMO_TEMPLATE`, applied by the seed before the history is made.

`build_plan` is pure (no database): it returns an `OrgPlan` with every id fixed, which
the loader writes; `configure` applies the template and adds what the history generator
(`history.py`) reads of it: the pipelines and stages with their ids, the options, the
pool rule's days and the values of the template's deal formulas.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from salesops.demo import words
from salesops.demo.bulk import SeedError
from salesops.demo.holidays import china_calendar
from salesops.demo.scales import Scale
from salesops.demo.timeline import Timeline

PASSWORD = "salesops-demo"  # noqa: S105 - the published demo password
#: The shipped template (`orgtemplates/library/`) the demo organisation is built from.
DEMO_TEMPLATE = "b2b_saas"
#: Subscription plans of the template's `plan_tier` field: yearly price of one seat per
#: currency, and the plan by customer size.
PLAN_PRICES = {
    "starter": {"CNY": 600, "USD": 90, "EUR": 80},
    "professional": {"CNY": 1800, "USD": 260, "EUR": 240},
    "enterprise": {"CNY": 3600, "USD": 520, "EUR": 480},
}
SIZE_PLANS = {
    "micro": ("starter", "starter", "professional"),
    "small": ("starter", "professional", "professional"),
    "medium": ("professional", "professional", "enterprise"),
    "large": ("professional", "enterprise", "enterprise"),
}
#: customer size -> the template's `employee_band` option
SIZE_BANDS = {"micro": "1_50", "small": "51_200", "medium": "201_1000", "large": "1000_plus"}
#: What the generator fills, (object, field key) -> the field types it writes.
FILLED = {
    ("customer", "credit_code"): "text",
    ("customer", "employee_band"): "select",
    ("customer", "health_score"): "number",
    ("deal", "contract_term_months"): "number",
    ("deal", "plan_tier"): "select",
    ("deal", "seats"): "number",
    ("deal", "arr"): "money",
    ("contract", "auto_renew"): "boolean",
}

#: region value of customers -> key of the regional team that serves them
REGION_TEAM = {
    "east": "east",
    "central": "east",
    "south": "south",
    "southwest": "south",
    "north": "north",
    "overseas": "intl",
}
TEAM_REGIONS = [
    # key, zh, en, share of the reps
    ("east", "华东", "East", 0.35),
    ("south", "华南", "South", 0.25),
    ("north", "华北", "North", 0.25),
    ("intl", "国际", "International", 0.15),
]

REP_RIGHTS = {
    t: ["view", "create", "edit"]
    for t in (
        "lead",
        "customer",
        "contact",
        "deal",
        "followup",
        "task",
        "quote",
        "contract",
        "payment",
    )
}
REP_RIGHTS |= {"product": ["view"], "target": ["view"]}
ALL_TYPES = [
    "lead",
    "customer",
    "contact",
    "deal",
    "followup",
    "task",
    "product",
    "quote",
    "contract",
    "payment",
    "target",
]
ANALYST_RIGHTS = {t: ["view", "export"] for t in ALL_TYPES}
ANALYST_RIGHTS["product"] = ["view", "create", "edit", "export"]
ANALYST_RIGHTS["target"] = ["view", "create", "edit", "export"]
MANAGER_RIGHTS = {t: ["view", "create", "edit", "delete", "export"] for t in ALL_TYPES}


@dataclass
class TeamPlan:
    id: int
    name: str
    parent_id: int | None
    region: str | None  # key of TEAM_REGIONS, None for HQ
    manager_id: int | None = None


@dataclass
class UserPlan:
    id: int
    username: str
    role_key: str  # admin | analyst | manager | rep
    team_id: int | None
    reports_to_id: int | None
    first_name: str
    last_name: str
    display_name: str
    email: str
    phone: str
    is_staff: bool = False
    is_superuser: bool = False
    #: skill of a rep: multiplies the chance to win, and the deal size, and activity
    win_factor: float = 1.0
    size_factor: float = 1.0
    activity: float = 1.0


@dataclass
class StagePlan:
    id: int
    pipeline_id: int
    name: str
    order: int
    probability: int
    forecast_category: str
    kind: str
    #: fields a deal must have before it enters the stage
    required_fields: tuple[str, ...] = ()


@dataclass
class OrgPlan:
    scale: Scale
    seed: int
    locale: str
    time_zone: str
    org_name: str
    base_currency: str
    timeline: Timeline
    calendar: list[tuple[dt.date, str, str]]
    roles: dict[str, int]
    teams: list[TeamPlan]
    users: list[UserPlan]
    reps: list[UserPlan]
    #: team region key -> reps who serve it
    reps_by_region: dict[str, list[UserPlan]]
    #: id of the manager of each rep's team
    manager_of: dict[int, int]
    #: "new" and "renewal" -> pipeline id (the template's first two pipelines)
    pipelines: dict[str, int]
    stages: dict[str, list[StagePlan]]  # pipeline key -> open stages then won, lost
    products: list[tuple[int, words.ProductSpec]]
    #: month index -> rate to the base currency, per foreign currency
    rates: dict[str, list[float]]
    tags: list[int]
    password_hash: str
    #: customers held by the rep with the most (known once the history is made)
    busiest: int = 0
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    #: picklist key -> its option values (the template's)
    options: dict[str, list[str]] = field(default_factory=dict)
    #: days without a follow-up after which the pool rule takes a customer back
    pool_days: int = 90
    #: (plan tier, currency) -> the values of the deal formulas for a deal of that plan
    deal_formulas: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _person_name(rng: random.Random, locale: str) -> tuple[str, str, str, str]:
    """(family name, given name, full name, ascii handle)."""
    if locale == "zh-hans":
        s, spy = words.ZH_SURNAMES[int(len(words.ZH_SURNAMES) * rng.random() ** 1.6)]
        g1, g1py = words.ZH_GIVEN[int(len(words.ZH_GIVEN) * rng.random())]
        if rng.random() < 0.7:
            g2, g2py = words.ZH_GIVEN[int(len(words.ZH_GIVEN) * rng.random())]
            return s, g1 + g2, s + g1 + g2, f"{spy}.{g1py}{g2py}"
        return s, g1, s + g1, f"{spy}.{g1py}"
    first = words.EN_FIRST[int(len(words.EN_FIRST) * rng.random())]
    last = words.EN_LAST[int(len(words.EN_LAST) * rng.random())]
    handle = f"{first}.{last}".lower().replace("ü", "ue")
    return last, first, f"{first} {last}", handle


def _largest_remainder(total: int, shares: list[float], minimum: int = 0) -> list[int]:
    base = [minimum] * len(shares)
    rest = total - minimum * len(shares)
    s = sum(shares)
    exact = [rest * x / s for x in shares]
    counts = [math.floor(x) for x in exact]
    left = rest - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[:left]:
        counts[i] += 1
    return [b + c for b, c in zip(base, counts, strict=True)]


def history_start(today: dt.date, years_back: int) -> dt.date:
    """The organisation went live with Salesops half a year before the first full year of
    history, so that the ramp-up (deals need a cycle to close) lies before it."""
    return dt.date(today.year - years_back - 1, 7, 1)


def build_plan(
    *, scale: Scale, seed: int, locale: str, today: dt.date, vendor: str, password_hash: str
) -> OrgPlan:
    """Everything but the CRM history, with fixed ids, drawn from `random.Random(seed)`."""
    rng = random.Random(f"{seed}:config")
    zh = locale == "zh-hans"
    time_zone = "Asia/Shanghai" if zh else "UTC"
    start = history_start(today, scale.years_back)
    end = dt.date(today.year + 2, 12, 31)
    calendar = china_calendar(range(start.year, today.year + 2), locale)
    timeline = Timeline(
        start=start,
        today=today,
        end=end,
        time_zone=time_zone,
        locale=locale,
        calendar=calendar,
        datetime_suffix="+00" if vendor == "postgresql" else "",
    )
    fmt = timeline.fmt
    t0 = fmt(timeline.ts(0, 9 * 3600))
    rows: dict[str, list[tuple[Any, ...]]] = {}

    org_name = "星辰科技" if zh else "Stellar Tech"
    rows["organisation"] = [(1, org_name, "CNY", time_zone, 1, locale, 365, "1")]

    # -- exchange rates: monthly, 1 unit = rate CNY ----------------------------------
    n_months = len(timeline.month_start)
    rates: dict[str, list[float]] = {"CNY": [1.0] * n_months}
    rate_rows = []
    rid = 0
    for code, level, swing in (("USD", 7.15, 0.12), ("EUR", 7.80, 0.30)):
        series = []
        walk = 0.0
        for m in range(n_months):
            walk = 0.8 * walk + rng.gauss(0, swing / 6)
            value = round(level + swing * math.sin(m / 5.0 + len(code)) + walk, 4)
            series.append(value)
            rid += 1
            rate_rows.append((rid, code, timeline.month_date(m), f"{value:.4f}"))
        rates[code] = series
    rows["rate"] = rate_rows
    rows["holiday"] = [
        (i + 1, d.isoformat(), kind, name) for i, (d, kind, name) in enumerate(calendar)
    ]

    # -- roles -------------------------------------------------------------------------------
    role_specs = [
        ("admin", "管理员" if zh else "Admin", "all", {}, False, True),
        (
            "analyst",
            "销售运营分析师" if zh else "Sales ops analyst",
            "all",
            ANALYST_RIGHTS,
            False,
            False,
        ),
        (
            "manager",
            "销售经理" if zh else "Sales manager",
            "team_tree",
            MANAGER_RIGHTS,
            False,
            False,
        ),
        ("rep", "销售代表" if zh else "Sales rep", "own", REP_RIGHTS, True, False),
    ]
    roles = {}
    rows["role"] = []
    for i, (key, name, scope, rights, is_rep, is_admin) in enumerate(role_specs, start=1):
        roles[key] = i
        rows["role"].append((i, name, scope, json.dumps(rights), "{}", is_rep, is_admin))

    # -- teams -------------------------------------------------------------------------------
    teams = [TeamPlan(1, "销售部" if zh else "Sales HQ", None, None)]
    region_team: dict[str, TeamPlan] = {}
    for key, name_zh, name_en, _share in TEAM_REGIONS:
        name = (name_zh + "大区" if key != "intl" else "国际业务部") if zh else name_en
        t = TeamPlan(len(teams) + 1, name, 1, key)
        teams.append(t)
        region_team[key] = t
    n_sub = max(6, round(scale.reps / 6))
    per_region = _largest_remainder(n_sub, [s for *_r, s in TEAM_REGIONS], minimum=1)
    subteams: dict[str, list[TeamPlan]] = {}
    for (key, name_zh, name_en, _share), count in zip(TEAM_REGIONS, per_region, strict=True):
        subteams[key] = []
        for k in range(1, count + 1):
            name = f"{name_zh}{words.zh_numeral(k)}组" if zh else f"{name_en} {k}"
            t = TeamPlan(len(teams) + 1, name, region_team[key].id, key)
            teams.append(t)
            subteams[key].append(t)

    # -- people ------------------------------------------------------------------------------
    users: list[UserPlan] = []
    domain = "xingchen.example.com" if zh else "stellartech.example.com"
    used_names: set[str] = set()

    def person(
        username: str, role_key: str, team_id: int | None, reports_to: int | None, **extra: Any
    ) -> UserPlan:
        while True:
            family, given, full, _handle = _person_name(rng, locale)
            if full not in used_names:
                used_names.add(full)
                break
        u = UserPlan(
            id=len(users) + 1,
            username=username,
            role_key=role_key,
            team_id=team_id,
            reports_to_id=reports_to,
            first_name=given,
            last_name=family,
            display_name=full,
            email=f"{username}@{domain}",
            phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
            **extra,
        )
        users.append(u)
        return u

    person("admin", "admin", teams[0].id, None, is_staff=True, is_superuser=True)
    person("analyst", "analyst", teams[0].id, None)
    director = person("director", "manager", teams[0].id, None)
    teams[0].manager_id = director.id
    for key, *_rest in TEAM_REGIONS:
        head = person(f"head_{key}", "manager", region_team[key].id, director.id)
        region_team[key].manager_id = head.id
    all_sub = [t for key, *_r in TEAM_REGIONS for t in subteams[key]]
    for n, t in enumerate(all_sub):
        # `manager` leads the first East team, where rep1 works
        username = "manager" if n == 0 else f"manager{n + 1}"
        assert t.region is not None
        boss = person(username, "manager", t.id, region_team[t.region].manager_id)
        t.manager_id = boss.id
    team_by_id = {t.id: t for t in teams}

    # reps in turn over the teams, region by region (East 1, South 1, North 1,
    # International 1, East 2, …): rep1 in East 1, rep2 in South 1
    rota = sorted(all_sub, key=lambda t: (subteams[t.region or ""].index(t), all_sub.index(t)))
    rep_teams = [rota[n % len(rota)] for n in range(scale.reps)]
    reps = []
    for n, t in enumerate(rep_teams, start=1):
        if n == 1:
            win, size = 1.25, 1.1
        elif n == 2:
            win, size = 0.9, 0.95
        else:
            win = min(1.6, max(0.55, rng.lognormvariate(0, 0.25)))
            size = min(1.6, max(0.6, rng.lognormvariate(0, 0.22)))
        reps.append(
            person(
                f"rep{n}",
                "rep",
                t.id,
                t.manager_id,
                win_factor=win,
                size_factor=size,
                activity=min(1.4, max(0.6, rng.lognormvariate(0, 0.18))),
            )
        )
    reps_by_region: dict[str, list[UserPlan]] = {k: [] for k, *_r in TEAM_REGIONS}
    for r in reps:
        assert r.team_id is not None
        region = team_by_id[r.team_id].region
        assert region is not None
        reps_by_region[region].append(r)
    manager_of = {}
    for r in reps:
        assert r.team_id is not None
        manager_of[r.id] = team_by_id[r.team_id].manager_id or director.id

    joined = t0
    rows["user"] = [
        (
            u.id,
            password_hash,
            None,
            u.is_superuser,
            u.username,
            u.first_name,
            u.last_name,
            u.email,
            u.is_staff,
            True,
            joined,
            u.display_name,
            u.phone,
            locale,
            u.team_id,
            u.reports_to_id,
            roles[u.role_key],
        )
        for u in users
    ]

    # -- products, price lists, tags -----------------------------------------------------
    products = []
    rows["product"] = []
    rows["price_list"] = [
        (1, "标准价目表" if zh else "Standard price list", "CNY", timeline.date_str[0], None, True),
        (
            2,
            "国际价目表（美元）" if zh else "International price list (USD)",
            "USD",
            timeline.date_str[0],
            None,
            True,
        ),
    ]
    rows["price_list_item"] = []
    usd = rates["USD"][-1]
    for pid, spec in enumerate(words.PRODUCTS, start=1):
        products.append((pid, spec))
        rows["product"].append(
            (
                pid,
                t0,
                t0,
                None,
                1,
                spec.zh if zh else spec.en,
                spec.sku,
                spec.category_zh if zh else spec.category_en,
                spec.unit_zh if zh else spec.unit_en,
                spec.price,
                "CNY",
                True,
                "",
                "{}",
            )
        )
        rows["price_list_item"].append((2 * pid - 1, 1, pid, spec.price))
        rows["price_list_item"].append(
            (2 * pid, 2, pid, max(100, round(spec.price / usd / 10) * 10))
        )
    tag_names = words.TAGS[locale]
    rows["tag"] = [(i, name) for i, name in enumerate(tag_names, start=1)]

    return OrgPlan(
        scale=scale,
        seed=seed,
        locale=locale,
        time_zone=time_zone,
        org_name=org_name,
        base_currency="CNY",
        timeline=timeline,
        calendar=calendar,
        roles=roles,
        teams=teams,
        users=users,
        reps=reps,
        reps_by_region=reps_by_region,
        manager_of=manager_of,
        pipelines={},
        stages={},
        products=products,
        rates=rates,
        tags=[i for i, _n in enumerate(tag_names, start=1)],
        password_hash=password_hash,
        rows=rows,
    )


def configure(plan: OrgPlan) -> list[Any]:
    """Apply the demo template (in the caller's transaction, after the organisation,
    its roles, people and teams are written) and read back what the history builds on;
    the template's changes."""
    from salesops.customization import computed
    from salesops.customization.models import CustomField
    from salesops.lib.cache import forget_all
    from salesops.orgtemplates import engine, schema
    from salesops.pipeline.models import Pipeline

    forget_all()  # the organisation, roles and people were written under the ORM
    template = schema.load(schema.resolve(DEMO_TEMPLATE))
    changes = engine.apply(template, lang="zh" if plan.locale == "zh-hans" else "en")

    options = {p.key: [o.value for o in p.options if o.active] for p in template.picklists}
    for key, known in (("industry", words.INDUSTRY_WEIGHTS), ("region", words.REGION_WEIGHTS)):
        if not options.get(key):
            raise SeedError(
                _("The demo template has no %(list)s picklist, which the demo data use.")
                % {"list": key}
            )
        missing = sorted(set(options[key]) - set(known))
        if missing:
            raise SeedError(
                _(
                    "The demo template's %(list)s options %(values)s are not known to the demo "
                    "generator; add them to salesops/demo/words.py."
                )
                % {"list": key, "values": ", ".join(missing)}
            )
    fields = {(f.object_type, f.key): f for f in CustomField.objects.filter(active=True)}
    for (object_type, key), kind in FILLED.items():
        got = fields.get((object_type, key))
        if got is None or got.field_type != kind:
            raise SeedError(
                _("The demo template has no %(type)s field %(field)s, which the demo data fill.")
                % {"type": kind, "field": f"{object_type}.{key}"}
            )
    for tier in PLAN_PRICES:
        if tier not in {str(o["value"]) for o in fields["deal", "plan_tier"].all_options()}:
            raise SeedError(
                _("The demo template's plan_tier field has no option “%(value)s”.")
                % {"value": tier}
            )
    plan.options = options

    pipelines = list(Pipeline.objects.order_by("order", "pk").prefetch_related("stages"))
    if len(pipelines) < 2:
        raise SeedError(_("The demo template needs two pipelines: new business, then renewals."))
    for key, pipeline in zip(("new", "renewal"), pipelines, strict=False):
        stages = sorted(pipeline.stages.all(), key=lambda s: (s.kind != "open", s.kind, s.order))
        # open stages in order, then won, then lost
        stages = [s for s in stages if s.kind == "open"] + [
            s for kind in ("won", "lost") for s in stages if s.kind == kind
        ]
        plan.pipelines[key] = pipeline.pk
        plan.stages[key] = [
            StagePlan(s.pk, pipeline.pk, s.name, s.order, s.probability, s.forecast_category,
                      s.kind, tuple(s.required_fields or ()))
            for s in stages
        ]  # fmt: skip
    rule = template.pool_rules[0] if template.pool_rules else None
    days = rule.numbers.get("reclaim_after_days_without_followup") if rule else None
    plan.pool_days = days or 90

    # ARR is seats × the plan's price of a seat: a formula over them (per seat, say) has
    # one value per plan and currency, computed here by the product's own evaluator.
    for tier, prices in PLAN_PRICES.items():
        for currency, price in prices.items():
            inputs = {"plan_tier": tier, "seats": 1, "arr": f"{price}.00",
                      "contract_term_months": 12}  # fmt: skip
            out = computed.formula_values("deal", {"currency_id": currency}, inputs)
            plan.deal_formulas[tier, currency] = {
                k: v for k, v in out.items() if k not in inputs and v is not None
            }
    return changes


def raise_pool_cap(plan: OrgPlan) -> None:
    """Leave room above the busiest rep's book in the pool rule's cap when the
    template's does not (at the benchmark scales only: the demo keeps the template's)."""
    from salesops.crm.models import PoolRule

    rule = PoolRule.objects.filter(team__isnull=True, active=True).first()
    if rule is None or rule.max_customers_per_rep is None:
        return
    if plan.busiest * 1.1 > rule.max_customers_per_rep:
        cap = math.ceil(plan.busiest * 1.25 / 50) * 50
        PoolRule.objects.filter(pk=rule.pk).update(max_customers_per_rep=cap)
