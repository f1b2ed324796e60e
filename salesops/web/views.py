"""Pages. Thin: every query goes through the domain's `visible_to(user)`."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesops.activities.models import FollowUp, Task
from salesops.crm.models import Customer, Deal, Lead
from salesops.org.models import Organisation


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A signed-in overview: counts of what this user may see."""
    user = request.user
    org = Organisation.get()
    counts = {
        "leads": Lead.objects.visible_to(user).count(),
        "customers": Customer.objects.visible_to(user).exclude(owner=None).count(),
        "pool": Customer.objects.visible_to(user).filter(owner=None).count(),
        "open_deals": Deal.objects.visible_to(user).open().count(),
        "followups": FollowUp.objects.visible_to(user).count(),
        "tasks": Task.objects.visible_to(user).pending().filter(owner=user).count(),
    }
    return render(request, "web/home.html", {"org": org, "counts": counts})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
