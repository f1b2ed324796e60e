"""A person's own account: invitations and password links sent by an administrator,
the record of a password change, and two-factor sign-in (TOTP through django-otp,
with single-use backup codes).

Same contract as the other services: keyword-only, atomic, each writes its audit
entry, and a refusal (ValidationError, PermissionDenied) writes and sends nothing:
the e-mail is sent inside the transaction, so a mail server that refuses it rolls the
change back.
"""

from __future__ import annotations

import io
import smtplib
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from salesops.audit import services as audit
from salesops.org.models import Organisation
from salesops.users.admin_services import ensure_admin, is_admin, save_user
from salesops.users.models import User

BACKUP_CODES = 10


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Invitation links: like password reset links (valid PASSWORD_RESET_TIMEOUT, dead
    once a password is set) but a reset link is not an invitation and the reverse."""

    key_salt = "salesops.users.account_services.InviteTokenGenerator"


invite_token_generator = InviteTokenGenerator()


def _link(name: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    path = reverse(
        name,
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": generator.make_token(user),
        },
    )
    return settings.SITE_ROOT.rstrip("/") + path


def _send(*, user: User, template: str, context: dict[str, Any]) -> None:
    """Mail `user` in their language; a refused or unreachable mail server is a
    ValidationError saying so (and the caller's transaction rolls back)."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {**context, "user": user, "org": Organisation.get()}
        subject = render_to_string(f"users/email/{template}_subject.txt", context)
        body = render_to_string(f"users/email/{template}.txt", context)
        mail = EmailMultiAlternatives(" ".join(subject.split()), body, to=[user.email])
        try:
            mail.send()
        except (smtplib.SMTPException, OSError) as e:
            raise ValidationError(
                _("The e-mail to %(address)s could not be sent (%(error)s); nothing was changed.")
                % {"address": user.email, "error": e.__class__.__name__}
            ) from e


def _needs_email(user: User) -> None:
    if not user.email:
        raise ValidationError({"email": _("Give the person an e-mail address first.")})
    try:
        validate_email(user.email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None


def is_invited(user: User) -> bool:
    """Invited and not yet signed in: no password of their own so far."""
    return not user.has_usable_password() and user.last_login is None


def _mail_link(*, by: User, user: User, template: str, view: str, tokens: Any) -> None:
    """Mail `user` a one-time link to `view` (an invitation or a password reset), valid
    for PASSWORD_RESET_TIMEOUT."""
    _needs_email(user)
    _send(
        user=user,
        template=template,
        context={
            "by": by,
            "link": _link(view, user, tokens),
            "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        },
    )


@transaction.atomic
def invite_user(*, by: User, data: dict[str, Any]) -> User:
    """Add a person who chooses their own password from the link mailed to them."""
    ensure_admin(by)
    if not (data.get("email") or "").strip():
        raise ValidationError({"email": _("Give the person an e-mail address to invite.")})
    if User.objects.filter(email__iexact=data["email"].strip()).exists():
        raise ValidationError({"email": _("Someone with this e-mail address is already here.")})
    user = save_user(by=by, data={**data, "email": data["email"].strip()}, invite=True)
    _mail_link(
        by=by, user=user, template="invite", view="invite_accept", tokens=invite_token_generator
    )
    audit.record(
        by=by,
        obj=user,
        action=audit.Action.CREATED,
        changes={
            **audit.values(user, ["username", "email", "team", "role"]),
            "invitation": user.email,
        },
    )
    return user


@transaction.atomic
def resend_invitation(*, by: User, user: User) -> None:
    ensure_admin(by)
    if not is_invited(user):
        raise ValidationError(_("%(name)s has already accepted the invitation.") % {"name": user})
    _mail_link(
        by=by, user=user, template="invite", view="invite_accept", tokens=invite_token_generator
    )
    audit.record(by=by, obj=user, action=audit.Action.UPDATED, changes={"invitation": user.email})


@transaction.atomic
def send_password_reset(*, by: User, user: User) -> None:
    """An administrator mails a person a link to choose a new password (the current
    one keeps working until then)."""
    ensure_admin(by)
    if not user.is_active:
        raise ValidationError(_("%(name)s is deactivated.") % {"name": user})
    _mail_link(
        by=by,
        user=user,
        template="password_reset",
        view="password_reset_confirm",
        tokens=default_token_generator,
    )
    audit.record(
        by=by, obj=user, action=audit.Action.UPDATED, changes={"password_reset_link": user.email}
    )


def password_changed(*, user: User, how: str) -> None:
    """Put a password change (`how`: "changed", "reset", "invitation") on record."""
    audit.record(by=user, obj=user, action=audit.Action.UPDATED, changes={"password": how})


# -- two-factor sign-in ---------------------------------------------------------------------


def has_two_factor(user: Any) -> bool:
    if not getattr(user, "pk", None):
        return False
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def must_enrol(user: Any) -> bool:
    """An administrator of an organisation that requires two-factor sign-in, with none."""
    return (
        Organisation.get().require_admin_two_factor and is_admin(user) and not has_two_factor(user)
    )


def pending_device(*, user: User) -> TOTPDevice:
    """The authenticator being set up (unconfirmed), made on first ask."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def otpauth_url(device: TOTPDevice) -> str:
    issuer = settings.OTP_TOTP_ISSUER
    label = quote(f"{issuer}:{device.user.get_username()}")
    return device.config_url.replace(quote(device.user.get_username()), label, 1)


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (drawn here, not fetched)."""
    image = qrcode.make(otpauth_url(device), image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


@transaction.atomic
def confirm_two_factor(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Turn on two-factor sign-in once a code from the new authenticator is right;
    the backup codes, to show once."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed:
        raise ValidationError(_("This authenticator is already set up."))
    if not device.verify_token(_digits(code)):
        raise ValidationError(
            {"code": _("The code is not right. Enter the 6 digits the app shows now.")}
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_backup_codes(user)
    audit.record(by=user, obj=user, action=audit.Action.UPDATED, changes={"two_factor": "on"})
    return codes


def _new_backup_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


@transaction.atomic
def turn_off_two_factor(*, user: User, password: str) -> None:
    """Remove the authenticator and backup codes, with the person's password as proof;
    refused for an administrator whose organisation requires two-factor sign-in."""
    if not user.check_password(password):
        raise ValidationError({"password": _("The password is not right.")})
    if Organisation.get().require_admin_two_factor and is_admin(user):
        raise PermissionDenied(
            _("Your organisation requires two-factor sign-in for administrators.")
        )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(by=user, obj=user, action=audit.Action.UPDATED, changes={"two_factor": "off"})


def _digits(code: str) -> str:
    return "".join((code or "").split())


def verify_code(user: User, code: str) -> Any:
    """The device (authenticator or an unused backup code, then used up) that accepts
    `code`, or None."""
    code = _digits(code)
    if not code or len(code) > 16:
        return None
    return match_token(user, code)


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
