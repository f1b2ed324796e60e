"""A person's own account: the page, changing the password, a forgotten password by
e-mail, accepting an invitation, two-factor sign-in (set-up and the code asked after
the password), and the sign-in page's message when too many attempts failed.

Everything that changes something goes through `users.account_services`."""

from __future__ import annotations

import math
import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_lockout_response
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.utils.translation import ngettext, pgettext_lazy
from django_otp import login as otp_login

from salesops.users import account_services as accounts
from salesops.users.models import User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, show_error

LANGUAGES = {code for code, _name in settings.LANGUAGES}
#: The session key of a sign-in waiting for its second step, and how long it waits.
PENDING = "salesops_2fa_pending"
PENDING_SECONDS = 300


def _signed_in(request: HttpRequest, response: HttpResponse, user: User) -> HttpResponse:
    """The person's saved language applies from the first page after signing in."""
    if user.language in LANGUAGES:
        translation.activate(user.language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
    return response


def seconds_to_wait(request: HttpRequest, credentials: dict[str, Any]) -> int:
    """How long a sign-in must wait before its next try: nothing until an account or an
    address has LOGIN_SLOW_AFTER failures within the cool-off period, then
    LOGIN_SLOW_SECONDS after the last failure, doubled with each further failure, until
    django-axes locks at LOGIN_FAILURE_LIMIT. The failures are axes' own (its database
    table), so every process counts the same; a try refused here is not a failure."""
    base = settings.LOGIN_SLOW_SECONDS
    if base <= 0:
        return 0
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    get_attempts = getattr(handler, "get_user_attempts", None)
    if get_attempts is None:  # a handler that keeps no attempt times
        return 0
    now = timezone.now()
    wait = 0.0
    for attempts in get_attempts(request, credentials):
        seen = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        failures = seen["failures"] or 0
        if failures < settings.LOGIN_SLOW_AFTER or seen["last"] is None:
            continue
        delay = base * 2 ** (failures - settings.LOGIN_SLOW_AFTER)
        wait = max(wait, (seen["last"] - now).total_seconds() + delay)
    return math.ceil(wait) if wait > 0 else 0


def slowed(request: HttpRequest, seconds: int, template: str, context: dict) -> HttpResponse:
    """The page again, with how long to wait (429), the credentials not tried."""
    message = ngettext(
        "Several sign-ins failed for this account or from this address. Wait %(seconds)d "
        "second before trying again.",
        "Several sign-ins failed for this account or from this address. Wait %(seconds)d "
        "seconds before trying again.",
        seconds,
    ) % {"seconds": seconds}
    response = render(request, template, {**context, "locked": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class LoginView(auth_views.LoginView):
    """Sign in; someone with two-factor sign-in is asked for a code next. Sign-in is
    slowed after a few failures (`seconds_to_wait`) and then locked (django-axes)."""

    template_name = "web/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        credentials = {"username": request.POST.get("username", "")}
        if AxesProxyHandler.is_allowed(request, credentials):
            seconds = seconds_to_wait(request, credentials)
            if seconds:
                form = AuthenticationForm(request, initial=credentials)
                return slowed(request, seconds, self.template_name, {"form": form})
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if accounts.has_two_factor(user):
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return HttpResponseRedirect(reverse("login_code"))
        return _signed_in(self.request, super().form_valid(form), user)


def locked_out(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer to a sign-in from a locked account or address: the sign-in
    page with the reason and how long to wait (the same for a username that does not
    exist, so that nothing is learnt about which do)."""
    minutes = max(
        1, int((get_cool_off(request) or settings.AXES_COOLOFF_TIME).total_seconds() // 60)
    )
    message = ngettext(
        "Too many failed sign-ins for this account or from this address. Sign-in is "
        "locked: try again in %(minutes)d minute, or ask an administrator to send you a "
        "link to choose a new password.",
        "Too many failed sign-ins for this account or from this address. Sign-in is "
        "locked: try again in %(minutes)d minutes, or ask an administrator to send you a "
        "link to choose a new password.",
        minutes,
    ) % {"minutes": minutes}
    return render(
        request,
        "web/login.html",
        {"form": AuthenticationForm(request), "locked": message},
        status=429,
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=pgettext_lazy("sign-in code", "Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=L("The 6 digits your authenticator app shows, or one of your backup codes."),
    )


def _pending_user(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    pending = request.session.get(PENDING) or {}
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None, {}
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    return user, pending


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator (or a backup code).
    Wrong codes count as failed sign-ins (django-axes locks them out the same way)."""
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        messages.error(request, _("Sign in again: the sign-in waited too long for its code."))
        return HttpResponseRedirect(reverse("login"))
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        return get_lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        seconds = seconds_to_wait(request, credentials)
        if seconds:
            context = {"form": CodeForm(), "title": _("Sign in")}
            return slowed(request, seconds, "web/account/login_code.html", context)
    if request.method == "POST" and form.is_valid():
        device = accounts.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            response = HttpResponseRedirect(pending.get("next") or reverse("home"))
            return _signed_in(request, response, user)
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return get_lockout_response(request, None, credentials)
        form.add_error("code", _("The code is not right. Enter the code the app shows now."))
    return render(request, "web/account/login_code.html", {"form": form, "title": _("Sign in")})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = me(request)
    return render(
        request,
        "web/account/index.html",
        {
            "title": _("My account"),
            "two_factor": accounts.has_two_factor(user),
            "backup_codes_left": accounts.backup_codes_left(user),
            "must_enrol": accounts.must_enrol(user),
        },
    )


class PasswordForm(forms.Form):
    password = forms.CharField(label=L("Your password"), widget=forms.PasswordInput)


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator (QR code, then a code to confirm), or turn it off."""
    user = me(request)
    if accounts.has_two_factor(user):
        form: forms.Form = PasswordForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                accounts.turn_off_two_factor(user=user, password=form.cleaned_data["password"])
            except REFUSALS as e:
                show_error(form, e)
            else:
                messages.success(request, _("Two-factor sign-in is off."))
                return HttpResponseRedirect(reverse("account"))
        return render(
            request,
            "web/account/two_factor_off.html",
            {"title": _("Two-factor sign-in"), "form": form},
        )
    device = accounts.pending_device(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = accounts.confirm_two_factor(
                user=user, device=device, code=form.cleaned_data["code"]
            )
        except REFUSALS as e:
            show_error(form, e)
        else:
            otp_login(request, device)
            messages.success(request, _("Two-factor sign-in is on."))
            return render(
                request,
                "web/account/backup_codes.html",
                {"title": _("Backup codes"), "codes": codes},
            )
    return render(
        request,
        "web/account/two_factor.html",
        {
            "title": _("Set up two-factor sign-in"),
            "form": form,
            "qr": accounts.qr_svg(device),
            "secret": _base32(device.bin_key),
            "must_enrol": accounts.must_enrol(user),
        },
    )


def _base32(key: bytes) -> str:
    """The secret as authenticator apps take it when typed in, in groups of four."""
    from base64 import b32encode

    text = b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/account/password_change.html"
    success_url = reverse_lazy("account")
    extra_context = {"title": L("Change your password")}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        accounts.password_changed(user=form.user, how="changed")
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, _("Your password is changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/account/password_reset.html"
    email_template_name = "web/account/reset_email.txt"
    subject_template_name = "web/account/reset_email_subject.txt"
    success_url = reverse_lazy("password_reset_done")
    extra_context = {"title": L("Forgot your password?")}

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"site_root": settings.SITE_ROOT.rstrip("/")}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/account/password_reset_done.html"
    extra_context = {"title": L("Check your e-mail")}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/account/password_set.html"
    success_url = reverse_lazy("password_reset_complete")
    extra_context = {"title": L("Choose a new password")}
    how = "reset"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        accounts.password_changed(user=form.user, how=self.how)
        return response


class InviteAcceptView(PasswordResetConfirmView):
    """An invited person chooses their password and is signed in (they have no second
    factor yet; an administrator who must have one is sent to set it up next)."""

    token_generator = accounts.invite_token_generator
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")
    extra_context = {"title": L("Welcome to Salesops"), "invite": True}
    how = "invitation"

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        return user if user is not None and accounts.is_invited(user) else None


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/account/password_reset_complete.html"
    extra_context = {"title": L("Your password is changed")}
