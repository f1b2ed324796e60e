"""The account page for one's own API tokens: make one (scope, expiry; the secret is
shown once), see them with their last use, revoke one. The same service as the
`salesops token` command (`api.tokens`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.views.decorators.http import require_POST

from salesops.api import tokens
from salesops.api.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        label=L("What is it for?"), max_length=100, required=False, help_text=L("e.g. BI sync")
    )
    scope = forms.ChoiceField(label=L("Scope"), choices=ApiToken.Scope.choices)
    days = forms.IntegerField(
        label=L("Valid for (days)"),
        min_value=1,
        max_value=tokens.MAX_DAYS,
        required=False,
        help_text=L("Empty: until you revoke it."),
    )


def _page(request: HttpRequest, form: TokenForm, new: Any = None) -> HttpResponse:
    me: Any = request.user
    return render(
        request,
        "api/tokens.html",
        {
            "title": _("API tokens"),
            "form": form,
            "new": new,
            "tokens": ApiToken.objects.filter(user=me).order_by("-created_at"),
        },
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The signed-in person's tokens; a POST makes one and shows its secret once."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user: Any = request.user
        try:
            new = tokens.create_token(
                user=user,
                by=user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                days=form.cleaned_data["days"],
            )
        except (ValidationError, PermissionDenied) as e:
            form.add_error(None, " ".join(getattr(e, "messages", [str(e)])))
        else:
            return _page(request, TokenForm(), new)
    return _page(request, form)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Another person's token is not found (nor said to exist).
    user: Any = request.user
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    tokens.revoke_token(token=token, by=user)
    messages.success(request, _("The token is revoked."))
    return HttpResponseRedirect(reverse("api_tokens"))
