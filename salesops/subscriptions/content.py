"""What one recipient receives: the e-mail of a subscription computed as THEM — their
data scope, their language — never a copy of someone else's numbers.

A report e-mail holds the saved report's table as the recipient sees it (their scope,
their hidden fields), a link to the report and the whole result as XLSX.

A dashboard e-mail holds the KPI tiles (the same `analytics.dashboard.tiles` the page
shows) with the previous period, a year before and the target, a link back to the page
and to each number's drill-down, and an XLSX workbook of the tiles' raw values.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from salesops.analytics import dashboard
from salesops.analytics.periods import Period, preset
from salesops.imports.exporting import write_xlsx
from salesops.lib.services import may_export
from salesops.org.models import Organisation
from salesops.reports.exporting import report_xlsx
from salesops.reports.services import run_report

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Content:
    subject: str
    text: str
    html: str
    filename: str
    xlsx: bytes


def scope_of(sub: Any) -> dashboard.Scope:
    if sub.what == "team":
        return dashboard.Scope("team", team=sub.team)
    if sub.what == "rep":
        return dashboard.Scope("rep", rep=sub.rep)
    return dashboard.Scope("org")


def period_of(sub: Any, day: dt.date, org: Organisation) -> Period:
    """The subscription's period preset as of `day` (the slot's business day)."""
    return preset(sub.period, today=day, fiscal_start_month=org.fiscal_year_start_month)


def absolute(path: str) -> str:
    return settings.SITE_ROOT.rstrip("/") + path


def page_link(scope: dashboard.Scope, period: Period) -> str:
    if scope.team is not None:
        path = reverse("dashboard_team", args=[scope.team.pk])
    elif scope.rep is not None:
        path = reverse("dashboard_rep", args=[scope.rep.pk])
    else:
        path = reverse("dashboard")
    return absolute(f"{path}?{urlencode({'period': range_text(period)})}")


def drill_link(scope: dashboard.Scope, period: Period, drill: str) -> str:
    params = {"period": range_text(period), **scope.params()}
    return absolute(f"{reverse('dashboard_drill', args=[drill])}?{urlencode(params)}")


def range_text(period: Period) -> str:
    return f"{period.start.isoformat()}..{period.last_day.isoformat()}"


def period_words(period: Period) -> str:
    start = formats.date_format(period.start, "SHORT_DATE_FORMAT")
    end = formats.date_format(period.last_day, "SHORT_DATE_FORMAT")
    return f"{start} – {end}"


def dashboard_content(sub: Any, recipient: Any, day: dt.date) -> Content:
    """The dashboard e-mail for `recipient`, in their language, with their numbers."""
    org = Organisation.get()
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        scope = scope_of(sub)
        period = period_of(sub, day, org)
        currency = str(org.base_currency_id)
        tiles = dashboard.tiles(recipient, scope, period, currency)
        for tile in tiles:
            tile["url"] = drill_link(scope, period, tile["drill"])
        context = {
            "sub": sub,
            "recipient": recipient,
            "scope_title": scope.title,
            "period_words": period_words(period),
            "tiles": tiles,
            "page_url": page_link(scope, period),
            "manage_url": absolute(reverse("subscription_list")),
        }
        subject = _("%(name)s: %(scope)s, %(period)s") % {
            "name": sub.name,
            "scope": scope.title,
            "period": context["period_words"],
        }
        context["subject"] = subject
        text = render_to_string("subscriptions/email/dashboard.txt", context)
        html = render_to_string("subscriptions/email/dashboard.html", context)
        headers = [
            _("KPI"),
            _("Value"),
            _("Previous period"),
            _("A year before"),
            _("Target"),
        ]
        rows = [tile_row(t) for t in tiles]
        binary = io.BytesIO()
        write_xlsx(headers, iter(rows), binary)
    filename = f"dashboard-{period.start.isoformat()}-{period.last_day.isoformat()}.xlsx"
    return Content(subject, text, html, filename, binary.getvalue())


#: Most report rows in the e-mail's body; the attached workbook has them all.
MAIL_ROWS = 50


def report_content(sub: Any, recipient: Any, day: dt.date) -> Content:
    """The saved report as `recipient` sees it, in their language."""
    report = sub.report
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        result = run_report(report, user=recipient)
        try:
            link = absolute(reverse("report_detail", args=[report.pk]))
        except NoReverseMatch:  # pages without the reports screen
            link = ""
        day_text = formats.date_format(day, "SHORT_DATE_FORMAT")
        subject = _("%(name)s: %(report)s, %(day)s") % {
            "name": sub.name,
            "report": report.name,
            "day": day_text,
        }
        context = {
            "sub": sub,
            "recipient": recipient,
            "subject": subject,
            "result": result,
            "report": report,
            "day_words": day_text,
            "rows": result.rows[:MAIL_ROWS],
            "more": max(0, len(result.rows) - MAIL_ROWS),
            "page_url": link,
            "manage_url": absolute(reverse("subscription_list")),
        }
        text = render_to_string("subscriptions/email/report.txt", context)
        html = render_to_string("subscriptions/email/report.html", context)
        # The workbook is an export: only for a recipient whose role may export.
        xlsx = report_xlsx(result) if may_export(recipient, report.object_type) else b""
    return Content(subject, text, html, f"report-{report.pk}-{day.isoformat()}.xlsx", xlsx)


def build(sub: Any, recipient: Any, day: dt.date) -> Content:
    if sub.what == "report":
        return report_content(sub, recipient, day)
    return dashboard_content(sub, recipient, day)


def tile_row(tile: dict[str, Any]) -> list[Any]:
    """A tile's raw values (money in the base currency, rates as fractions)."""
    compare = {c["key"]: c["value"] for c in tile["compare"]}
    return [
        str(tile["label"]),
        _plain(tile["value"]),
        _plain(compare.get("previous")),
        _plain(compare.get("year")),
        _plain(compare.get("target")),
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def message(content: Content, recipient: Any) -> EmailMultiAlternatives:
    """A multipart e-mail: plain text, HTML alternative, the workbook attached (when
    there is one: a report's workbook goes only to recipients who may export)."""
    mail = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    )
    mail.attach_alternative(content.html, "text/html")
    if content.xlsx:
        mail.attach(content.filename, content.xlsx, XLSX_TYPE)
    return mail
