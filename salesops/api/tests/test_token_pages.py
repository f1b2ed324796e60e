"""Personal API tokens from the account page: made with a scope and an expiry, the
secret shown once, listed with their last use, revoked; nobody manages another's."""

from __future__ import annotations

import re

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from salesops.api.models import ApiToken
from salesops.api.tokens import TOKEN_PREFIX
from salesops.audit.models import AuditEntry


def page_as(user, language: str = "en") -> Client:
    type(user).objects.filter(pk=user.pk).update(language=language)
    client = Client()
    client.force_login(user)
    return client


def secret_in(html: str) -> str:
    found = re.search(r'data-testid="token-secret">([^<]+)<', html)
    assert found, "no secret shown"
    return found.group(1)


def api(raw: str, method: str = "get", path: str = "/api/v1/deals"):
    return getattr(Client(), method)(
        path, headers={"Authorization": f"Bearer {raw}"}, content_type="application/json"
    )


def test_a_person_makes_a_token_sees_it_once_uses_it_and_revokes_it(cast):
    client = page_as(cast.rep)
    html = client.post(
        reverse("api_tokens"), {"name": "BI sync", "scope": "read", "days": "30"}
    ).content.decode()
    raw = secret_in(html)
    assert raw.startswith(TOKEN_PREFIX)
    token = ApiToken.objects.get(user=cast.rep)
    assert token.name == "BI sync" and token.scope == "read"
    assert token.expires_at is not None and 29 <= (token.expires_at - token.created_at).days <= 30
    # Shown once: the list shows its first characters only.
    listing = client.get(reverse("api_tokens")).content.decode()
    assert raw not in listing and token.prefix in listing and "Not used yet" in listing
    assert api(raw).status_code == 200
    assert api(raw, "post", "/api/v1/customers").status_code == 403  # read only
    listing = client.get(reverse("api_tokens")).content.decode()
    assert "Not used yet" not in listing
    client.post(reverse("api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api(raw).status_code == 401
    assert "Revoked" in client.get(reverse("api_tokens")).content.decode()
    actions = list(
        AuditEntry.objects.filter(object_type="api.apitoken", object_id=token.pk).values_list(
            "action", "actor_id"
        )
    )
    assert actions == [("created", cast.rep.pk), ("updated", cast.rep.pk)] or sorted(actions) == [
        ("created", cast.rep.pk),
        ("updated", cast.rep.pk),
    ]


def test_a_read_write_token_without_expiry(cast):
    html = page_as(cast.rep).post(reverse("api_tokens"), {"scope": "read_write", "days": ""})
    token = ApiToken.objects.get(user=cast.rep)
    assert token.expires_at is None and token.can_write
    assert secret_in(html.content.decode())


def test_bad_input_says_what_to_fix_and_makes_nothing(cast):
    client = page_as(cast.rep)
    for data, message in [
        ({"scope": "read", "days": "0"}, "greater than or equal to 1"),
        ({"scope": "read", "days": "99999"}, "less than or equal to 3650"),
        ({"scope": "admin"}, "Select a valid choice"),
        ({"scope": "read", "days": "soon"}, "Enter a whole number"),
    ]:
        html = client.post(reverse("api_tokens"), data).content.decode()
        assert message in html, data
        assert 'data-testid="token-secret"' not in html
    assert not ApiToken.objects.exists()


def test_the_page_reads_in_chinese(cast):
    html = page_as(cast.rep, "zh-hans").post(reverse("api_tokens"), {"scope": "read", "days": "0"})
    text = html.content.decode()
    assert 'lang="zh-hans"' in text and "确保该值大于或等于" in text
    assert "API 令牌" in text


def test_nobody_sees_or_revokes_anothers_tokens(cast):
    page_as(cast.rep).post(reverse("api_tokens"), {"name": "rep's", "scope": "read"})
    token = ApiToken.objects.get(user=cast.rep)
    for other in (cast.outsider, cast.manager, cast.admin):
        client = page_as(other)
        listing = client.get(reverse("api_tokens")).content.decode()
        assert token.prefix not in listing and "rep&#x27;s" not in listing
        assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(cast):
    page_as(cast.rep).post(reverse("api_tokens"), {"scope": "read"})
    token = ApiToken.objects.get(user=cast.rep)
    assert page_as(cast.rep).get(reverse("api_token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_and_the_command_are_one_service(cast, capsys):
    call_command("token", "create", "--user", "rep", "--name", "from the shell")
    listing = page_as(cast.rep).get(reverse("api_tokens")).content.decode()
    assert "from the shell" in listing
    token = ApiToken.objects.get(user=cast.rep)
    assert AuditEntry.objects.filter(
        object_type="api.apitoken", object_id=token.pk, action="created"
    ).exists()


def test_the_tokens_page_needs_a_sign_in(db):
    response = Client().get(reverse("api_tokens"))
    assert response.status_code == 302 and "/login/" in response["Location"]
