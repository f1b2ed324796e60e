"""Tokens found recently are remembered for API_AUTH_CACHE_SECONDS with their user's
data scope: a change made in this process is seen at once, a change made by another
process (simulated by writes that send no signals) within those seconds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesops.api import tokens
from salesops.api.models import ApiToken
from salesops.api.tests.conftest import ApiClient
from salesops.crm import services
from salesops.users.models import User


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(tokens.time, "monotonic", lambda: now[0])
    tokens.forget_tokens()
    yield now
    tokens.forget_tokens()


def test_a_revocation_elsewhere_is_honoured_once_the_seconds_have_passed(cast, settings, clock):
    settings.API_AUTH_CACHE_SECONDS = 5
    api = ApiClient(cast.rep)
    assert api.get("/leads").status_code == 200
    ApiToken.objects.filter(pk=api.token.token.pk).update(revoked_at=timezone.now())
    clock[0] += 4
    assert api.get("/leads").status_code == 200  # another process's change, not yet seen
    clock[0] += 1.5
    assert api.get("/leads").status_code == 401


def test_a_scope_change_elsewhere_is_seen_within_the_seconds(cast, settings, clock):
    settings.API_AUTH_CACHE_SECONDS = 5
    services.create_customer(by=cast.outsider, name="West Co")
    api = ApiClient(cast.rep)
    assert api.get("/customers").json()["data"] == []
    User.objects.filter(pk=cast.rep.pk).update(role=cast.analyst.role)
    clock[0] += 6
    assert [c["name"] for c in api.get("/customers").json()["data"]] == ["West Co"]


def test_a_revocation_in_this_process_is_honoured_at_once(cast, settings, clock):
    settings.API_AUTH_CACHE_SECONDS = 5
    api = ApiClient(cast.rep)
    assert api.get("/leads").status_code == 200
    tokens.revoke_token(token=api.token.token)
    assert api.get("/leads").status_code == 401


def test_remembered_tokens_never_answer_for_another_token(cast, settings, clock):
    settings.API_AUTH_CACHE_SECONDS = 5
    services.create_lead(by=cast.rep, name="Mine")
    rep, outsider = ApiClient(cast.rep), ApiClient(cast.outsider)
    assert [x["name"] for x in rep.get("/leads").json()["data"]] == ["Mine"]
    assert outsider.get("/leads").json()["data"] == []
    assert [x["name"] for x in rep.get("/leads").json()["data"]] == ["Mine"]


def test_zero_seconds_turns_the_memory_off(cast, settings, clock):
    settings.API_AUTH_CACHE_SECONDS = 0
    api = ApiClient(cast.rep)
    assert api.get("/leads").status_code == 200
    ApiToken.objects.filter(pk=api.token.token.pk).update(revoked_at=timezone.now())
    assert api.get("/leads").status_code == 401
