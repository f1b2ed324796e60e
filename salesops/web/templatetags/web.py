"""Formatting for people: money, numbers and dates in the reader's language and the
organisation's time zone; query-string helpers for lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import QueryDict
from django.template.defaultfilters import date as date_filter
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# The formatting itself lives in analytics, so e-mails and exports read the same.
from salesops.analytics.display import DASH, SYMBOLS, format_money, format_number, format_percent
from salesops.analytics.display import to_decimal as _decimal
from salesops.users.admin_services import is_admin

__all__ = ["DASH", "SYMBOLS", "format_money", "format_number"]

register = template.Library()


@register.filter
def money(value: Any, currency: Any = "") -> str:
    """12000 and "CNY" → ¥12,000.00; other currencies keep their code (USD: $)."""
    return format_money(value, currency)


@register.filter
def number(value: Any, places: int = 0) -> str:
    return format_number(value, int(places))


@register.filter
def compact(value: Any, currency: Any = "") -> str:
    """A short amount for tiles: 1.23万 / 4.5亿 in Chinese, 12.3K / 4.5M in English."""
    number = _decimal(value)
    if number is None:
        return DASH
    code = str(getattr(currency, "pk", currency) or "")
    prefix = SYMBOLS.get(code, f"{code} " if code else "")
    sign = "-" if number < 0 else ""
    n = abs(number)
    if translation.get_language() == "zh-hans":
        units = [(Decimal(100_000_000), "亿"), (Decimal(10_000), "万")]
    else:
        units = [(Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M"), (Decimal(1_000), "K")]
    for size, unit in units:
        if n >= size:
            short = (n / size).quantize(Decimal("0.01")).normalize()
            return f"{sign}{prefix}{short:f}{unit}"
    return f"{sign}{prefix}{format_number(n, 0 if n == n.to_integral_value() else 2)}"


@register.filter
def percent(value: Any, places: int = 0) -> str:
    """0.256 → 26% (None: a dash; a rate is undefined, not zero)."""
    return format_percent(value, places)


@register.filter(expects_localtime=True)
def day(value: Any) -> str:
    """A date in the reader's short form (2026年3月5日 / 03/05/2026)."""
    if not value:
        return DASH
    return str(date_filter(value, "SHORT_DATE_FORMAT"))


@register.filter(expects_localtime=True)
def moment(value: Any) -> str:
    """A date and time in the organisation's time zone, in the reader's short form."""
    if not value:
        return DASH
    return str(date_filter(value, "SHORT_DATETIME_FORMAT"))


@register.filter
def iso(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return ""


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag(takes_context=True)
def query(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (None drops one)."""
    params = QueryDict(mutable=True)
    params.update(context["request"].GET)
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None and value != "":
            params[key] = value
    return "?" + params.urlencode() if params else "?"


@register.simple_tag
def querystring_of(params: dict[str, Any]) -> str:
    return urlencode(params, doseq=True)


@register.simple_tag
def options(choices: Iterable[tuple[Any, Any]], selected: Any = None) -> SafeString:
    """`<option>` elements of (value, label) pairs, the one whose value reads as
    `selected` marked selected: one join where a template loop paid several tags per
    option (an owner filter lists everyone in an administrator's scope)."""
    chosen = None if selected is None else str(selected)
    # every value and label is escaped
    return mark_safe(
        "".join(
            f'<option value="{escape(value)}"{" selected" if str(value) == chosen else ""}>'
            f"{escape(label)}</option>"
            for value, label in choices
        )
    )


#: The main navigation: (url name, label, object type whose view right it needs).
NAV: list[tuple[str, Any, str | None]] = []


def _nav() -> list[tuple[str, Any, str | None]]:
    from django.utils.translation import gettext_lazy as _
    from django.utils.translation import pgettext_lazy

    if not NAV:
        NAV.extend(
            [
                ("section", _("Customers"), None),
                ("lead_list", _("Leads"), "lead"),
                ("customer_list", _("Customers"), "customer"),
                ("customer_mine", _("My customers"), "customer"),
                ("pool", _("Public pool"), "customer"),
                ("contact_list", _("Contacts"), "contact"),
                ("duplicates", _("Duplicates"), "customer"),
                ("section", _("Sales"), None),
                ("deal_list", _("Deals"), "deal"),
                ("board", _("Pipeline board"), "deal"),
                ("dashboard", _("Dashboards"), "deal"),
                ("targets", _("Targets"), "target"),
                ("forecast_stats", _("Statistical forecast"), "deal"),
                ("subscription_list", _("Subscriptions"), "deal"),
                ("followup_list", _("Follow-ups"), "followup"),
                ("task_list", _("Tasks"), "task"),
                ("section", _("Orders"), None),
                ("product_list", _("Products"), "product"),
                ("quote_list", _("Quotes"), "quote"),
                ("contract_list", _("Contracts"), "contract"),
                ("paymentplan_list", _("Payment plans"), "payment"),
                ("payment_list", _("Payments"), "payment"),
                ("receivables", _("Collections"), "payment"),
                ("section", pgettext_lazy("navigation", "Data"), None),
                ("recycle_index", _("Recycle bin"), None),
            ]
        )
    return NAV


@register.filter(name="is_admin")
def is_admin_filter(user: Any) -> bool:
    return is_admin(user)


@register.simple_tag(takes_context=True)
def main_nav(context: template.Context) -> list[dict[str, Any]]:
    """The links the user's role may use, the current one marked."""
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _

    request = context["request"]
    user = request.user
    items: list[dict[str, Any]] = []
    for name, label, object_type in _nav():
        if name == "section":
            items.append({"section": True, "label": label})
            continue
        if object_type and not user.has_right(object_type, "view"):
            continue
        url = reverse(name)
        items.append({"url": url, "label": label, "current": request.path == url})
    from salesops.web.views.objects import nav_items

    custom = nav_items(user, request.path)
    if custom:
        items.append({"section": True, "label": _("More records")})
        items.extend(custom)
    url = reverse("import_list")
    items.append({"section": True, "label": _("Data")})
    items.append({"url": url, "label": _("Imports"), "current": request.path.startswith(url)})
    if is_admin(user):
        url = reverse("settings")
        items.append({"section": True, "label": _("Administration")})
        items.append({"url": url, "label": _("Settings"), "current": request.path.startswith(url)})
    # Drop section titles left without links.
    return [
        item
        for i, item in enumerate(items)
        if not item.get("section") or (i + 1 < len(items) and not items[i + 1].get("section"))
    ]


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


@register.simple_tag
def cell(obj: Any, column: Any, url: str = "") -> str:
    """One list cell, formatted for its kind and escaped; a link column links `url`."""
    from django.utils.html import conditional_escape, format_html
    from django.utils.timezone import localtime as template_localtime
    from django.utils.translation import gettext as _

    value = column.raw(obj)
    kind = column.kind
    if kind == "money":
        text = format_money(value, _attr(obj, column.currency))
    elif kind == "date":
        text = day(value)
    elif kind == "moment":
        text = moment(template_localtime(value)) if value else DASH
    elif kind == "bool":
        text = DASH if value is None else (_("Yes") if value else _("No"))
    elif kind == "number":
        text = format_number(value, 0 if isinstance(value, int) else 2)
    elif kind == "percent":
        text = DASH if value is None else f"{value}%"
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = DASH if value is None or value == "" else str(value)
    if kind == "link" and url:
        return format_html('<a href="{}">{}</a>', url, text)
    return str(conditional_escape(text))


@register.simple_tag
def page_url(page: Any, name: str, obj: Any, *args: Any) -> str:
    """The address of record `obj`'s `name` page ("detail", "edit", "field"...) as its
    record page names it (a custom object's addresses carry the object's key)."""
    return str(page.url_for(name, obj, *args))
