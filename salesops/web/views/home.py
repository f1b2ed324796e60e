"""Language, search, health, and the home page per role: a rep's day, a
manager's team, an analyst's or administrator's organisation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.activities import queries as activity_queries
from salesops.analytics import engine
from salesops.analytics.kpis import WITHHELD_NOTE, withheld
from salesops.analytics.periods import preset
from salesops.crm import queries
from salesops.crm.models import Deal
from salesops.customization import policy, registry
from salesops.users import admin_services
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.views import targets

LANGUAGES = {code for code, _name in settings.LANGUAGES}


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch between zh-Hans and English; remembered for the person (and the browser)."""
    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    if language not in LANGUAGES:
        return response
    if me(request).is_authenticated:
        admin_services.set_language(user=me(request), language=language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


#: What a search result shows beside its name, per kind (those the reader may see).
RESULT_DETAILS: dict[str, tuple[str, ...]] = {
    "leads": ("phone", "email"),
    "customers": ("phone", "email"),
    "contacts": ("customer", "mobile", "phone", "email"),
    "deals": ("customer", "stage"),
}


def _details(user: Any, results: dict[str, list[Any]]) -> None:
    """Give each result its line of details: the fields of RESULT_DETAILS that the
    reader may see (a contact shows one number: the mobile, else the phone)."""
    for kind, rows in results.items():
        keys = [
            k for k in RESULT_DETAILS[kind] if policy.can_see(user, queries.SEARCH_KINDS[kind], k)
        ]
        for r in rows:
            values = [str(getattr(r, k) or "") for k in keys]
            if kind == "contacts" and "mobile" in keys and "phone" in keys:
                mobile, phone = keys.index("mobile"), keys.index("phone")
                values[phone] = "" if values[mobile] else values[phone]
            r.search_details = " · ".join(v for v in values if v)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    results = queries.global_search(me(request), text)
    _details(me(request), results)
    # Kinds searched only among their newest records: their lists search all of them.
    lists = {
        "leads": ("lead_list", _("Search all leads")),
        "customers": ("customer_list", _("Search all customers")),
        "contacts": ("contact_list", _("Search all contacts")),
        "deals": ("deal_list", _("Search all deals")),
    }
    query = urlencode({"q": text.strip()[:100]})
    # Custom objects' records, under each object's plural name.
    objects = [
        {
            "title": found.spec.plural,
            "rows": [(found.spec.record_url(r.pk), r) for r in found.rows],
            "search_all": f"{found.spec.list_path()}?{query}" if found.partial else "",
        }
        for found in queries.search_custom_objects(me(request), text)
    ]
    return render(
        request,
        "web/search.html",
        {
            "title": _("Search"),
            "search_q": text,
            "results": results,
            "too_short": 0 < len(text.strip()) < 2,
            "found": any(results.values()) or any(o["rows"] for o in objects),
            "objects": objects,
            "window": queries.SEARCH_WINDOW,
            "search_all": [
                (f"{reverse(lists[kind][0])}?{query}", lists[kind][1]) for kind in results.partial
            ],
        },
    )


# -- home -------------------------------------------------------------------------------------


def role_of(user: Any) -> str:
    role = user.role
    if admin_services.is_admin(user):
        return "admin"
    if user.managed_teams.exists():
        return "manager"
    if role is not None and role.is_sales_rep:
        return "rep"
    if user.data_scope in ("all",):
        return "analyst"
    if user.data_scope in ("team", "team_tree", "subordinates"):
        return "manager"
    return "rep"


def _kpis(user: Any, today: dt.date, ids: list[str], **filters: Any) -> dict[str, Any]:
    """This month's KPIs; those withheld from the user (`kpis.withheld`) are None and
    listed under "withheld" for the page to say why."""
    ctx = engine.KpiContext(
        viewer=user,
        period=preset("this_month", today=today),
        filters=engine.Filters(**filters),
        today=today,
    )
    values, _errors = engine.compute(ctx, ids)
    return values


def rep_home(request: HttpRequest, user: Any, today: dt.date) -> dict[str, Any]:
    org: Any = request.org  # type: ignore[attr-defined]
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=org.tz)
    month = preset("this_month", today=today)
    closing = (
        Deal.objects.visible_to(user)
        .open()
        .filter(owner=user)
        .closing_between(month.start, month.end)
    )
    closing_rows = list(closing.select_related("customer", "stage").order_by("expected_close")[:10])
    # The widget shows the deal fields the reader may see: no amounts (nor their total)
    # for a reader from whom a deal's amount is hidden.
    shown = policy.visible_keys(user, "deal")
    closing_total = (
        queries.to_base(
            closing.order_by().values_list("currency_id").annotate(s=Sum("amount")),
            queries.rates_today(),
        )
        if "amount" in shown
        else None
    )
    # This month's, quarter's and year's targets, each against its own period.
    progress = targets.current_progress(user, today, user=user)
    return {
        "tasks": activity_queries.tasks_due(user, until=tomorrow),
        "now": dt.datetime.now(tz=org.tz),
        "closing": closing_rows,
        "closing_total": closing_total,
        "closing_shows": shown,
        "next_step_shown": policy.can_see(user, "followup", "next_step"),
        "returning": queries.returning_soon(user),
        "next_steps": activity_queries.next_steps(user, limit=5),
        "progress": progress,
    }


def team_home(user: Any, today: dt.date) -> dict[str, Any]:
    values = _kpis(
        user,
        today,
        [
            "bookings",
            "won_deals",
            "win_rate",
            "open_pipeline",
            "weighted_pipeline",
            "rep_performance",
        ],
    )
    reps = values.pop("rep_performance", None) or {}
    names = {u.pk: u for u in User.objects.filter(pk__in=[int(k) for k in reps])}
    rows = sorted(
        ({"user": names.get(int(k)), **v} for k, v in reps.items()),
        key=lambda r: -Decimal(r["bookings"] or 0),
    )
    hidden = withheld(user, [*values, "collections"])
    money = {"bookings": "bookings" not in hidden, "collections": "collections" not in hidden}
    return {"kpis": values, "reps": rows, "rep_money": money, **withheld_context(user, values)}


def org_home(user: Any, today: dt.date) -> dict[str, Any]:
    values = _kpis(
        user,
        today,
        [
            "bookings",
            "collections",
            "won_deals",
            "new_customers",
            "win_rate",
            "avg_deal_size",
            "open_pipeline",
            "weighted_pipeline",
            "lead_conversion_rate",
            "sales_cycle_median",
        ],
    )
    return {"kpis": values, **withheld_context(user, values)}


def withheld_context(user: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {"withheld": withheld(user, values), "withheld_note": WITHHELD_NOTE}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = me(request)
    org: Any = request.org  # type: ignore[attr-defined]
    today = org.local_date()
    kind = role_of(user)
    context: dict[str, Any] = {"org": org, "kind": kind, "today": today, "title": _("Home")}
    if kind == "rep":
        context.update(rep_home(request, user, today))
    elif kind == "manager":
        context.update(team_home(user, today))
        context.update(rep_home(request, user, today))
        context["team_progress"] = [
            (team, rows)
            for team in user.managed_teams.order_by("path")
            if (rows := targets.current_progress(user, today, team=team))
        ]
    else:
        context.update(org_home(user, today))
    context["base"] = org.base_currency_id
    return render(request, "web/home.html", context)


#: Chooser kinds: the right needed to see them and their object type in the registry.
LOOKUPS: dict[str, tuple[str, str]] = {
    "customer": ("customer", "customer"),
    "deal": ("deal", "deal"),
    "contact": ("contact", "contact"),
    "lead": ("lead", "lead"),
    "contract": ("contract", "contract"),
    "paymentplan": ("payment", "payment_plan"),
}


def _lookup_label(user: Any, object_type: str, obj: Any) -> str:
    """A chooser's name for `obj`: its `str`, except where that names a field the
    reader may not see (a payment plan's amount, a lead's company)."""
    if object_type == "payment_plan":
        parts = [str(obj.contract), str(obj.due_on)]
        if policy.can_see(user, object_type, "amount"):
            parts.append(str(obj.amount))
        return " ".join(parts)
    if object_type == "lead" and not policy.can_see(user, object_type, "company"):
        return str(obj.name)
    title = registry.get(object_type).title_field
    if not policy.can_see(user, object_type, title):
        return f"#{obj.pk}"
    return str(obj)


@login_required
def lookup(request: HttpRequest, kind: str) -> HttpResponse:
    """Records of one kind matching `q` in the searchable fields the user may see, for
    a chooser in a form (JSON, at most 20), within the user's data scope."""
    from django.apps import apps
    from django.db.models import Q
    from django.http import Http404, JsonResponse

    if kind not in LOOKUPS:
        raise Http404
    right, object_type = LOOKUPS[kind]
    user = me(request)
    if not user.has_right(right, "view"):
        return JsonResponse({"results": []})
    model: Any = apps.get_model("crm", kind)
    text = request.GET.get("q", "").strip()[:100]
    qs = model.objects.visible_to(user)
    if kind == "paymentplan":
        qs = qs.select_related("contract")
    if text:
        condition = Q()
        for path in policy.searchable_paths(user, object_type):
            condition |= Q(**{f"{path}__icontains": text})
        qs = qs.filter(condition) if condition else qs.none()
    rows = [
        {"id": o.pk, "label": _lookup_label(user, object_type, o)} for o in qs.order_by("-id")[:20]
    ]
    return JsonResponse({"results": rows})
