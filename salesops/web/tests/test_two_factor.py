"""Two-factor sign-in (TOTP, django-otp): setting it up from the account page, the code
asked after the password, backup codes, the organisation's rule for administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from salesops.audit.models import AuditEntry
from salesops.org.models import Organisation
from salesops.users import account_services as accounts
from salesops.users.models import User

PASSWORD = "pw-for-tests-0"


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    # django-otp slows retries after a wrong code (seconds); these tests type a wrong
    # code and then the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.AXES_FAILURE_LIMIT = 5
    settings.LANGUAGE_CODE = "en"  # signed-out pages in English (the reader is unknown)
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    settings.LOGIN_SLOW_SECONDS = 0  # our own slowing has its own test below


def code(device: TOTPDevice, drift: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = accounts.pending_device(user=user)
    codes = accounts.confirm_two_factor(user=user, device=device, code=code(device))
    return device, codes


def password_step(client: Client, username: str, next_url: str = "") -> object:
    return client.post(
        reverse("login") + (f"?next={next_url}" if next_url else ""),
        {"username": username, "password": PASSWORD, "next": next_url},
        REMOTE_ADDR="10.1.1.1",
    )


def is_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_person_sets_up_an_authenticator_from_their_account_page(cast, signed_in):
    client = signed_in(cast.rep)
    account = client.get(reverse("account")).content.decode()
    assert "Set up two-factor sign-in" in account
    page = client.get(reverse("account_two_factor")).content.decode()
    assert "<svg" in page and "<path" in page  # the QR code, drawn here
    assert "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", ""
    )  # nothing fetched from elsewhere
    device = TOTPDevice.objects.get(user=cast.rep)
    assert not device.confirmed
    wrong = client.post(reverse("account_two_factor"), {"code": "000000"}).content.decode()
    assert "The code is not right" in wrong
    device.refresh_from_db()
    assert not device.confirmed
    done = client.post(reverse("account_two_factor"), {"code": code(device)}).content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert done.count("<li><code>") == accounts.BACKUP_CODES
    assert AuditEntry.objects.filter(
        object_type="users.user", object_id=cast.rep.pk, changes__two_factor="on"
    ).exists()
    assert "backup codes left" in client.get(reverse("account")).content.decode()


def test_sign_in_asks_for_the_code_after_the_password(cast):
    device, _codes = enrol(cast.rep)
    client = Client()
    response = password_step(client, "rep", "/deals/")
    assert response.status_code == 302 and response["Location"] == reverse("login_code")
    assert not is_in(client)
    assert client.get(reverse("home")).status_code == 302  # still not in
    page = client.get(reverse("login_code")).content.decode()
    assert "authenticator" in page
    wrong = client.post(reverse("login_code"), {"code": "123456"}, REMOTE_ADDR="10.1.1.1")
    assert "The code is not right" in wrong.content.decode() and not is_in(client)
    right = client.post(reverse("login_code"), {"code": code(device, 1)}, REMOTE_ADDR="10.1.1.1")
    assert right.status_code == 302 and right["Location"] == "/deals/"
    assert is_in(client)
    assert client.get(reverse("home")).status_code == 200


def test_a_backup_code_signs_in_once(cast):
    _device, codes = enrol(cast.rep)
    client = Client()
    password_step(client, "rep")
    assert client.post(reverse("login_code"), {"code": codes[0]}).status_code == 302
    assert is_in(client)
    assert StaticToken.objects.filter(device__user=cast.rep).count() == accounts.BACKUP_CODES - 1
    other = Client()
    password_step(other, "rep")
    again = other.post(reverse("login_code"), {"code": codes[0]})
    assert "The code is not right" in again.content.decode() and not is_in(other)


def test_the_code_step_needs_a_password_step_first(cast):
    enrol(cast.rep)
    client = Client()
    response = client.post(reverse("login_code"), {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not is_in(client)


def test_guessing_codes_locks_the_account_out(cast):
    device, _codes = enrol(cast.rep)
    client = Client()
    password_step(client, "rep")
    statuses = [
        client.post(reverse("login_code"), {"code": "000001"}, REMOTE_ADDR="10.1.1.1").status_code
        for _i in range(5)
    ]
    assert statuses[-1] == 429
    locked = client.post(reverse("login_code"), {"code": code(device, 1)}, REMOTE_ADDR="10.1.1.1")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert not is_in(client)


def test_wrong_codes_slow_the_code_step_like_passwords(cast, settings):
    settings.LOGIN_SLOW_SECONDS = 5
    device, _codes = enrol(cast.rep)
    client = Client()
    password_step(client, "rep")
    for _i in range(3):
        client.post(reverse("login_code"), {"code": "000001"}, REMOTE_ADDR="10.1.1.1")
    slowed = client.post(reverse("login_code"), {"code": code(device)}, REMOTE_ADDR="10.1.1.1")
    assert slowed.status_code == 429 and "Wait 5 seconds" in slowed.content.decode()
    assert not is_in(client)


def test_turning_it_off_needs_the_password(cast, signed_in):
    enrol(cast.rep)
    client = signed_in(cast.rep)
    wrong = client.post(reverse("account_two_factor"), {"password": "nope"}).content.decode()
    assert "The password is not right." in wrong
    assert accounts.has_two_factor(cast.rep)
    client.post(reverse("account_two_factor"), {"password": PASSWORD})
    assert not accounts.has_two_factor(cast.rep)
    assert password_step(Client(), "rep").status_code == 302
    assert AuditEntry.objects.filter(
        object_type="users.user", object_id=cast.rep.pk, changes__two_factor="off"
    ).exists()


def require_for_admins(on: bool = True) -> None:
    org = Organisation.get()
    org.require_admin_two_factor = on
    org.save()


def test_the_organisation_setting_is_on_the_organisation_page(cast, signed_in):
    client = signed_in(cast.admin)
    page = client.get(reverse("settings_section", args=["organisation"])).content.decode()
    assert "require_admin_two_factor" in page
    org = Organisation.get()
    client.post(
        reverse("settings_section", args=["organisation"]),
        {
            "name": org.name,
            "base_currency": org.base_currency_id,
            "time_zone": org.time_zone,
            "fiscal_year_start_month": org.fiscal_year_start_month,
            "locale": org.locale,
            "activity_window_days": org.activity_window_days,
            "gross_margin": org.gross_margin,
            "recycle_retention_days": org.recycle_retention_days,
            "require_admin_two_factor": "on",
        },
    )
    assert Organisation.objects.get().require_admin_two_factor


def test_an_admin_without_an_authenticator_is_sent_to_set_one_up(cast):
    User.objects.filter(pk=cast.admin.pk).update(language="en")
    require_for_admins()
    client = Client()
    response = password_step(client, "admin")
    assert is_in(client)
    home = client.get(response["Location"])
    assert home.status_code == 302 and home["Location"] == reverse("account_two_factor")
    assert client.get(reverse("settings")).status_code == 302
    page = client.get(reverse("account_two_factor")).content.decode()
    assert "requires administrators to use two-factor sign-in" in page
    device = TOTPDevice.objects.get(user=cast.admin)
    client.post(reverse("account_two_factor"), {"code": code(device)})
    assert client.get(reverse("settings")).status_code == 200
    # Nor may they turn it off while the organisation requires it.
    refused = client.post(reverse("account_two_factor"), {"password": PASSWORD})
    assert "requires two-factor sign-in for administrators" in refused.content.decode()
    assert accounts.has_two_factor(cast.admin)


def test_the_rule_is_for_administrators_only(cast):
    require_for_admins()
    client = Client()
    password_step(client, "rep")
    assert client.get(reverse("home")).status_code == 200


def test_an_admin_session_that_skipped_the_code_is_signed_out(cast):
    """A session from before the rule (or before set-up) does not count as verified."""
    enrol(cast.admin)
    require_for_admins()
    client = Client()
    client.force_login(cast.admin)
    response = client.get(reverse("settings"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not is_in(client)


def test_the_django_admin_signs_in_through_the_app_with_its_code_step(cast):
    enrol(cast.admin)
    client = Client()
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/admin/")
    # Its own form is gone: posting a password there signs nobody in.
    client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert not is_in(client)
