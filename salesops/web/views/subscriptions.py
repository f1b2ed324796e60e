"""Subscriptions: a dashboard or saved report e-mailed weekly or monthly (list, new, edit, pause,
delete). The rules are the service's (`salesops.subscriptions.services`); the form only
parses and puts the service's errors next to their fields. Someone else's subscription
is a 404 (administrators see everyone's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.analytics import dashboard
from salesops.lib.services import NotVisible
from salesops.org.models import Organisation
from salesops.reports.models import SavedReport
from salesops.subscriptions import services
from salesops.subscriptions.models import Subscription
from salesops.subscriptions.slots import next_slot
from salesops.users.models import Team, User
from salesops.web.auth import me

Cadence = Subscription.Cadence


def what_choices(viewer: Any) -> list[tuple[str, str]]:
    """What the viewer may subscribe to: the organisation's dashboard, those of visible
    teams and reps, and the saved reports they may open."""
    options = [("org", str(_("Organisation")))] if viewer.has_right("deal", "view") else []
    for team in services.team_choices(viewer) if options else []:
        options.append((f"team:{team.pk}", _("Team %(name)s") % {"name": team.name}))
    reps = User.objects.filter(is_active=True, role__is_sales_rep=True).order_by("username")
    visible = viewer.visible_owner_ids()
    if visible is not None:
        reps = reps.filter(pk__in=list(visible))
    if not options:
        reps = reps.none()
    options += [(f"rep:{u.pk}", str(u)) for u in reps]
    for report in SavedReport.objects.visible_to(viewer).order_by("name", "id"):
        if viewer.has_right(report.object_type, "view"):
            options.append((f"report:{report.pk}", _("Report: %(name)s") % {"name": report.name}))
    return options


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    what = forms.ChoiceField(label=gettext_lazy("Dashboard or report"))
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=Subscription.Period.choices,
        help_text=gettext_lazy(
            "Dashboards: counted back from the day the e-mail goes out. A report keeps "
            "its own filters."
        ),
    )
    cadence = forms.ChoiceField(label=gettext_lazy("Cadence"), choices=Cadence.choices)
    weekday = forms.TypedChoiceField(
        label=gettext_lazy("Weekday (weekly)"), choices=Subscription.Weekday.choices, coerce=int
    )
    day_of_month = forms.IntegerField(
        label=gettext_lazy("Day of the month (monthly)"),
        help_text=gettext_lazy("1 to 31; 31 means the last day of every month."),
    )
    hour = forms.IntegerField(
        label=gettext_lazy("Hour"), help_text=gettext_lazy("0 to 23, organisation's time zone.")
    )
    recipients = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Recipients"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Each recipient gets the numbers they may see themselves, in their language."
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)

    def __init__(self, *args: Any, viewer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["what"].choices = what_choices(viewer)
        fields["recipients"].queryset = User.objects.filter(is_active=True).order_by("username")

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        recipients = list(data.pop("recipients"))
        kind, _sep, pk = data.pop("what").partition(":")
        data["what"] = kind
        data["team"] = data["rep"] = data["report"] = None
        if kind == "team":
            data["team"] = Team.objects.get(pk=int(pk))
        elif kind == "rep":
            data["rep"] = User.objects.get(pk=int(pk))
        elif kind == "report":
            data["report"] = SavedReport.objects.get(pk=int(pk))
        return {**data, "recipients": recipients}

    def show_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.message_dict.items():
            target = "what" if field in ("team", "rep", "report") else field
            self.add_error(target if target in self.fields else None, errors)


def initial_of(sub: Subscription) -> dict[str, Any]:
    what = {
        "team": f"team:{sub.team_id}",
        "rep": f"rep:{sub.rep_id}",
        "report": f"report:{sub.report_id}",
    }.get(sub.what, sub.what)
    return {
        "name": sub.name,
        "what": what,
        "period": sub.period,
        "cadence": sub.cadence,
        "weekday": sub.weekday,
        "day_of_month": sub.day_of_month,
        "hour": sub.hour,
        "recipients": list(sub.recipients.all()),
        "is_active": sub.is_active,
    }


def cadence_text(sub: Subscription) -> str:
    hour = f"{sub.hour:02d}:00"
    if sub.cadence == Cadence.WEEKLY:
        return _("Every %(day)s at %(hour)s") % {"day": sub.get_weekday_display(), "hour": hour}
    if sub.day_of_month >= 31:
        return _("Monthly on the last day at %(hour)s") % {"hour": hour}
    return _("Monthly on day %(day)s at %(hour)s") % {"day": sub.day_of_month, "hour": hour}


def what_text(sub: Subscription) -> str:
    if sub.report is not None:
        return _("Report: %(name)s") % {"name": sub.report.name}
    return dashboard.Scope(sub.what, team=sub.team, rep=sub.rep).title


def _load(request: HttpRequest, pk: int) -> Subscription:
    try:
        return services.get_subscription(user=me(request), pk=pk)
    except NotVisible:
        raise Http404 from None


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    subs = (
        Subscription.objects.visible_to(viewer)
        .select_related("owner", "team", "rep", "report")
        .prefetch_related("recipients")
    )
    tz = Organisation.get().tz
    now = timezone.now()
    rows = [
        {
            "sub": s,
            "what": what_text(s),
            "cadence": cadence_text(s),
            "next": next_slot(s, now, tz) if s.is_active else None,
        }
        for s in subs
    ]
    return render(
        request, "web/subscriptions/list.html", {"title": _("Subscriptions"), "rows": rows}
    )


def _form_page(
    request: HttpRequest, form: SubscriptionForm, sub: Subscription | None, status: int = 200
) -> HttpResponse:
    runs = list(sub.runs.all()[:10]) if sub is not None else []
    title = _("Edit subscription") if sub is not None else _("New subscription")
    context = {"title": title, "form": form, "sub": sub, "runs": runs}
    return render(request, "web/subscriptions/form.html", context, status=status)


@login_required
def subscription_new(request: HttpRequest) -> HttpResponse:
    viewer = me(request)
    if request.method != "POST":
        initial = {
            "what": request.GET.get("what", "org"),
            "period": Subscription.Period.LAST_WEEK,
            "cadence": Cadence.WEEKLY,
            "weekday": 0,
            "day_of_month": 1,
            "hour": 8,
            "recipients": [viewer],
            "is_active": True,
        }
        return _form_page(request, SubscriptionForm(initial=initial, viewer=viewer), None)
    form = SubscriptionForm(request.POST, viewer=viewer)
    if form.is_valid():
        try:
            sub = services.create_subscription(user=viewer, **form.values())
        except ValidationError as e:
            form.show_errors(e)
        else:
            messages.success(request, _("Subscription “%(name)s” saved.") % {"name": sub.name})
            return redirect("subscription_list")
    return _form_page(request, form, None, status=400)


@login_required
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = me(request)
    sub = _load(request, pk)
    if request.method != "POST":
        return _form_page(request, SubscriptionForm(initial=initial_of(sub), viewer=viewer), sub)
    form = SubscriptionForm(request.POST, viewer=viewer)
    if form.is_valid():
        try:
            services.update_subscription(user=viewer, subscription=sub, **form.values())
        except ValidationError as e:
            form.show_errors(e)
        else:
            messages.success(request, _("Subscription “%(name)s” saved.") % {"name": sub.name})
            return redirect("subscription_list")
    return _form_page(request, form, sub, status=400)


@login_required
@require_POST
def subscription_active(request: HttpRequest, pk: int) -> HttpResponse:
    sub = _load(request, pk)
    active = request.POST.get("active") == "1"
    services.set_active(user=me(request), subscription=sub, active=active)
    text = _("“%(name)s” resumed.") if active else _("“%(name)s” paused.")
    messages.success(request, text % {"name": sub.name})
    return redirect("subscription_list")


@login_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    sub = _load(request, pk)
    services.delete_subscription(user=me(request), subscription=sub)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": sub.name})
    return redirect(reverse("subscription_list"))
