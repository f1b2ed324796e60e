"""The pipeline board (kanban): a column per stage with its count and amount in the
base currency, cards paged per column (showing the registry's card fields the reader
may see; no amounts at all for a reader who may not see a deal's amount), drag and drop (static/web/board.js) and a menu
on every card that does the same without a mouse."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from salesops.crm import queries
from salesops.crm.models import Customer, Deal
from salesops.customization import policy
from salesops.customization.models import PicklistOption
from salesops.pipeline.models import Pipeline, Stage
from salesops.users.models import Team
from salesops.web.auth import me
from salesops.web.listing import page_of
from salesops.web.templatetags.web import day, money
from salesops.web.views.listview import people

#: Cards shown per column before "more".
CARDS = 20
#: Won and lost columns show deals closed in this many days.
CLOSED_DAYS = 30


def _deals(request: HttpRequest, pipeline: Pipeline) -> tuple[QuerySet[Deal], dict[str, str]]:
    """The deals of `pipeline` the user may see, narrowed by the owner/team filter."""
    user: Any = me(request)
    qs = Deal.objects.visible_to(user).filter(pipeline=pipeline)
    chosen = {"owner": request.GET.get("owner", ""), "team": request.GET.get("team", "")}
    owner = chosen["owner"]
    if owner == "me":
        qs = qs.filter(owner=user)
    elif owner.isdigit() and int(owner) in {pk for pk, _n in people(user)}:
        qs = qs.filter(owner_id=int(owner))
    else:
        chosen["owner"] = ""
    team = Team.objects.filter(pk=chosen["team"]).first() if chosen["team"].isdigit() else None
    if team is not None:
        qs = qs.filter(owner__team__path__startswith=team.path)
    else:
        chosen["team"] = ""
    return qs, chosen


def _in_column(deals: QuerySet[Deal], stage: Stage, since: dt.date) -> QuerySet[Deal]:
    qs = deals.filter(stage=stage)
    if stage.kind != Stage.Kind.OPEN:
        # The status too (a won stage holds won deals): it lets the database use the
        # (stage, status, id) index instead of reading the whole pipeline.
        status = Deal.Status.WON if stage.kind == Stage.Kind.WON else Deal.Status.LOST
        qs = qs.filter(status=status, closed_on__gte=since)
    else:
        qs = qs.filter(status=Deal.Status.OPEN)
    return qs


def _since(request: HttpRequest) -> dt.date:
    org: Any = request.org  # type: ignore[attr-defined]
    return org.local_date() - dt.timedelta(days=CLOSED_DAYS)


#: What every card needs whatever it shows (its menu, links and move form).
CARD_BASE = ("id", "version", "stage_id", "status")


def card_fields(user: Any) -> set[str]:
    """The keys of the deal fields a card shows to `user`: the registry's card fields
    the user may see (a hidden amount is neither on the cards nor summed per stage)."""
    return {f.key for f in policy.visible_fields(user, "deal") if f.card}


def _only(shown: set[str]) -> list[str]:
    """The columns a card reads; the rest of a deal's (custom fields among them) are not."""
    columns = list(CARD_BASE)
    for key, needs in (
        ("name", ["name"]),
        ("customer", ["customer_id"]),
        ("amount", ["amount", "currency_id"]),
        ("expected_close", ["expected_close"]),
        (
            "owner",
            [
                "owner__id",
                "owner__username",
                "owner__display_name",
                "owner__first_name",
                "owner__last_name",
            ],
        ),
    ):
        if key in shown:
            columns += needs
    return columns


def _column_cards(
    deals: QuerySet[Deal], stage: Stage, since: dt.date, after: str | None, shown: set[str]
) -> tuple[list[Deal], str | None]:
    cards = _in_column(deals, stage, since)
    if "owner" in shown:
        cards = cards.select_related("owner")
    return page_of(
        cards.only(*_only(shown)),
        sort="id",
        descending=True,
        cursor=after,
        size=CARDS,
    )


def _prepare_cards(
    request: HttpRequest,
    cards: list[Deal],
    *,
    pipeline: Pipeline,
    context: dict[str, Any],
) -> None:
    """Give each card what its template shows, formatted here once: the customer's
    name, amount, date, owner, links and its move menu. The menu is the same for every
    card of a stage, so it is rendered once per stage (a page shows up to 20 cards in
    each column; per card, the template tags of the menu cost more than the rest of the
    page)."""
    context["board_url"] = reverse("board_pipeline", args=[pipeline.pk])
    context["move_label"] = _("Move")
    if not cards:
        return
    shown = context["shown"]
    names = (
        dict(
            Customer.all_objects.filter(pk__in={c.customer_id for c in cards}).values_list(
                "id", "name"
            )
        )
        if "customer" in shown
        else {}
    )
    menus: dict[tuple[int, bool], SafeString] = {}
    for card in cards:
        is_open = card.status == Deal.Status.OPEN
        key = (card.stage_id, is_open)
        if context["can_edit"] and key not in menus:
            menus[key] = SafeString(
                render_to_string(
                    "web/board.html#move_menu",
                    {**context, "stage_id": card.stage_id, "is_open": is_open},
                    request=request,
                ).strip()
            )
        card.menu = menus.get(key, "")  # type: ignore[attr-defined]
        card.title = card.name if "name" in shown else f"#{card.pk}"  # type: ignore[attr-defined]
        card.customer_name = names.get(card.customer_id, "") if names else ""  # type: ignore[attr-defined]
        card.amount_text = money(card.amount, card.currency_id) if "amount" in shown else ""  # type: ignore[attr-defined]
        card.close_text = (  # type: ignore[attr-defined]
            day(card.expected_close) if "expected_close" in shown and card.expected_close else ""
        )
        card.owner_text = str(card.owner) if "owner" in shown and card.owner_id else ""  # type: ignore[attr-defined]
        card.detail_url = reverse("deal_detail", args=[card.pk])  # type: ignore[attr-defined]
        card.move_url = reverse("deal_move", args=[card.pk])  # type: ignore[attr-defined]


def _lost_reasons() -> list[tuple[str, str]]:
    return list(
        PicklistOption.objects.filter(picklist__key="lost_reason", active=True).values_list(
            "value", "label"
        )
    )


def render_board(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    error: str | None = None,
    moved: int | None = None,
) -> HttpResponse:
    user: Any = me(request)
    if not user.has_right("deal", "view"):
        raise PermissionDenied(_("Your role does not allow you to see deals."))
    deals, chosen = _deals(request, pipeline)
    stages = list(pipeline.stages.order_by("order"))
    since = _since(request)
    shown = card_fields(user)
    totals = queries.stage_totals(deals, closed_since=since)
    columns = []
    for stage in stages:
        cards, cursor = _column_cards(deals, stage, since, None, shown)
        columns.append(
            {
                "stage": stage,
                "cards": cards,
                "cursor": cursor,
                "count": totals.get(stage.pk, {}).get("count", 0),
                # A reader who may not see amounts gets counts only.
                "amount": totals.get(stage.pk, {}).get("amount", 0) if "amount" in shown else None,
            }
        )
    context = {
        "title": _("Pipeline board"),
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.filter(active=True),
        "columns": columns,
        "stages": stages,
        "open_stages": [s for s in stages if s.kind == Stage.Kind.OPEN],
        "chosen": chosen,
        "people": people(user),
        "teams": Team.objects.values_list("id", "name").order_by("path"),
        "base_currency": request.org.base_currency_id,  # type: ignore[attr-defined]
        "lost_reasons": _lost_reasons(),
        "error": error,
        "moved": moved,
        "can_edit": user.has_right("deal", "edit"),
        "closed_days": CLOSED_DAYS,
        "filter_query": "&".join(f"{k}={v}" for k, v in chosen.items() if v),
        "shown": shown,
    }
    _prepare_cards(
        request,
        [card for column in columns for card in column["cards"]],
        pipeline=pipeline,
        context=context,
    )
    template = "web/board.html#board" if request.htmx else "web/board.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
def board(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None:
        pipeline = Pipeline.default()
        if pipeline is None:
            raise Http404(_("Create a pipeline first."))
    else:
        pipeline = get_object_or_404(Pipeline, pk=pk)
    return render_board(request, pipeline)


@login_required
def column_more(request: HttpRequest, pk: int, stage_pk: int) -> HttpResponse:
    """The next cards of one column."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage = get_object_or_404(Stage, pk=stage_pk, pipeline=pipeline)
    user: Any = me(request)
    if not user.has_right("deal", "view"):
        raise PermissionDenied
    deals, chosen = _deals(request, pipeline)
    shown = card_fields(user)
    cards, cursor = _column_cards(deals, stage, _since(request), request.GET.get("after"), shown)
    stages = list(pipeline.stages.order_by("order"))
    context: dict[str, Any] = {
        "pipeline": pipeline,
        "column": {"stage": stage, "cards": cards, "cursor": cursor},
        "stages": stages,
        "open_stages": [s for s in stages if s.kind == Stage.Kind.OPEN],
        "can_edit": user.has_right("deal", "edit"),
        "filter_query": "&".join(f"{k}={v}" for k, v in chosen.items() if v),
        "lost_reasons": _lost_reasons(),
        "shown": shown,
    }
    _prepare_cards(request, cards, pipeline=pipeline, context=context)
    return render(request, "web/board.html#cards", context)
