"""Self-service accounts: changing one's password, a forgotten password by e-mail (a real
SMTP server on 127.0.0.1), invitations and reset links sent by an administrator, and
who may not do these."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from salesops.audit.models import AuditEntry
from salesops.subscriptions.tests.smtp import smtp, smtp_down  # noqa: F401 - fixtures
from salesops.users.models import User

PASSWORD = "pw-for-tests-0"
NEW_PASSWORD = "a-Long-new-pass-42"


@pytest.fixture(autouse=True)
def _signed_out_pages_in_english(settings):
    settings.LANGUAGE_CODE = "en"  # signed-out pages in English (the reader is unknown)


def link_in(body: str) -> str:
    found = re.search(r"https?://\S+", body)
    assert found, body
    return urlsplit(found.group(0)).path


def entries(user: User, key: str) -> list[AuditEntry]:
    return [
        e
        for e in AuditEntry.objects.filter(object_type="users.user", object_id=user.pk)
        if key in e.changes
    ]


# -- change one's own password ------------------------------------------------------------------


def test_a_person_changes_their_own_password_and_stays_signed_in(cast, signed_in):
    client = signed_in(cast.rep)
    page = client.get(reverse("password_change")).content.decode()
    assert "id_old_password" in page and "id_new_password1" in page
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is changed." in response.content.decode()
    cast.rep.refresh_from_db()
    assert cast.rep.check_password(NEW_PASSWORD)
    assert client.get(reverse("account")).status_code == 200  # still signed in
    [entry] = entries(cast.rep, "password")
    assert entry.actor_id == cast.rep.pk and entry.changes["password"] == "changed"


def test_a_wrong_old_password_or_a_weak_new_one_changes_nothing(cast, signed_in):
    client = signed_in(cast.rep)
    html = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ).content.decode()
    assert "Your old password was entered incorrectly" in html
    html = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    ).content.decode()
    assert "This password is too common." in html
    cast.rep.refresh_from_db()
    assert cast.rep.check_password(PASSWORD)
    assert entries(cast.rep, "password") == []


def test_the_password_page_speaks_chinese(cast, signed_in):
    html = signed_in(cast.rep, "zh-hans").get(reverse("password_change")).content.decode()
    assert 'lang="zh-hans"' in html and "旧密码" in html and "新密码" in html


def test_the_account_pages_need_a_sign_in(client, db):
    for name in ("account", "password_change", "account_two_factor", "api_tokens"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


# -- a forgotten password ------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_from_the_link_mailed(cast, client, smtp):  # noqa: F811
    User.objects.filter(pk=cast.rep.pk).update(email="rep@example.com")
    assert "Forgot your password?" in client.get(reverse("login")).content.decode()
    response = client.post(reverse("password_reset"), {"email": "rep@example.com"}, follow=True)
    assert "Check your e-mail" in response.content.decode()
    [mail] = smtp.to("rep@example.com")
    body = mail.part("text/plain")
    assert "rep" in body
    link = link_in(body)
    page = client.get(link, follow=True)
    assert "id_new_password1" in page.content.decode()
    set_url = page.redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    cast.rep.refresh_from_db()
    assert cast.rep.check_password(NEW_PASSWORD)
    assert entries(cast.rep, "password")[0].changes["password"] == "reset"
    # The link works once.
    again = client.get(link, follow=True).content.decode()
    assert "This link is not valid" in again


def test_asking_for_an_unknown_address_says_the_same_and_sends_nothing(cast, client, smtp):  # noqa: F811
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert "Check your e-mail" in response.content.decode()
    assert smtp.received == []


# -- an administrator invites and sends reset links ----------------------------------------------


def invite(client, **extra):
    data = {
        "username": "newbie",
        "display_name": "New Person",
        "email": "newbie@example.com",
        "language": "en",
        "is_active": "on",
        "invite": "on",
        **extra,
    }
    return client.post(reverse("settings_section", args=["users"]), data, follow=True)


def test_an_admin_invites_a_person_who_chooses_a_password_and_is_signed_in(
    cast,
    signed_in,
    client,
    smtp,  # noqa: F811
):
    admin = signed_in(cast.admin)
    page = admin.get(reverse("settings_section", args=["users"])).content.decode()
    assert "Invite by e-mail" in page
    invite(admin)
    newbie = User.objects.get(username="newbie")
    assert not newbie.has_usable_password()
    [mail] = smtp.to("newbie@example.com")
    assert "invited" in mail.subject
    [entry] = entries(newbie, "invitation")
    assert entry.actor_id == cast.admin.pk and entry.action == "created"
    link = link_in(mail.part("text/plain"))
    assert "/invitation/" in link
    # The invitation is offered again on the users page while it is not accepted.
    page = admin.get(reverse("settings_section", args=["users"])).content.decode()
    assert "Send the invitation again" in page
    admin.post(reverse("logout"))
    page = client.get(link, follow=True)
    assert "Welcome to Salesops" in page.content.decode()
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("home")
    newbie.refresh_from_db()
    assert newbie.check_password(NEW_PASSWORD)
    assert entries(newbie, "password")[0].changes["password"] == "invitation"
    # Used: the link is dead.
    client.post(reverse("logout"))
    assert "This invitation link is not valid" in client.get(link, follow=True).content.decode()


def test_a_password_reset_link_is_not_an_invitation(cast, client, smtp):  # noqa: F811
    """An invitation signs the person in; a reset link used on the invitation address
    must not (it would skip the second factor of someone who has one)."""
    User.objects.filter(pk=cast.rep.pk).update(email="rep@example.com")
    client.post(reverse("password_reset"), {"email": "rep@example.com"})
    link = link_in(smtp.to("rep@example.com")[0].part("text/plain"))
    forged = link.replace("/password-reset/", "/invitation/")
    assert "This invitation link is not valid" in client.get(forged, follow=True).content.decode()


def test_an_invitation_that_cannot_be_mailed_adds_nobody(cast, signed_in, smtp_down):  # noqa: F811
    html = invite(signed_in(cast.admin)).content.decode()
    assert "could not be sent" in html
    assert not User.objects.filter(username="newbie").exists()


def test_an_invitation_needs_an_email_address(cast, signed_in, smtp):  # noqa: F811
    html = invite(signed_in(cast.admin), email="").content.decode()
    assert "Give the person an e-mail address to invite." in html
    assert not User.objects.filter(username="newbie").exists()
    assert smtp.received == []


def test_an_admin_sends_a_person_a_reset_link(cast, signed_in, smtp):  # noqa: F811
    User.objects.filter(pk=cast.rep.pk).update(email="rep@example.com")
    admin = signed_in(cast.admin)
    response = admin.post(
        reverse("settings_section", args=["users"]),
        {"row": cast.rep.pk, "action": "send_reset"},
        follow=True,
    )
    assert "The e-mail is sent." in response.content.decode()
    [mail] = smtp.to("rep@example.com")
    assert "/password-reset/" in mail.part("text/plain")
    [entry] = entries(cast.rep, "password_reset_link")
    assert entry.actor_id == cast.admin.pk
    cast.rep.refresh_from_db()
    assert cast.rep.check_password(PASSWORD)  # the old one works until a new one is chosen


def test_the_reset_mail_reads_in_the_persons_language(cast, signed_in, smtp):  # noqa: F811
    User.objects.filter(pk=cast.rep.pk).update(email="rep@example.com", language="zh-hans")
    signed_in(cast.admin).post(
        reverse("settings_section", args=["users"]), {"row": cast.rep.pk, "action": "send_reset"}
    )
    [mail] = smtp.to("rep@example.com")
    assert "密码" in mail.subject


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_someone_not_an_admin_can_neither_invite_nor_reset_others(
    cast,
    signed_in,
    smtp,  # noqa: F811
    who,
):
    User.objects.filter(pk=cast.outsider.pk).update(email="outsider@example.com")
    client = signed_in(getattr(cast, who))
    response = client.post(
        reverse("settings_section", args=["users"]),
        {"row": cast.outsider.pk, "action": "send_reset"},
    )
    assert response.status_code == 403
    assert invite(client).status_code == 403
    assert smtp.received == []
    assert not User.objects.filter(username="newbie").exists()
    assert entries(cast.outsider, "password_reset_link") == []
