"""Guessing passwords (django-axes): from LOGIN_SLOW_AFTER failures for one account or
from one address, each next try must wait (doubling), and after LOGIN_FAILURE_LIMIT
failures sign-in is refused, the right password too, for the cool-off period, with a
message saying so; API tokens keep working."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import translation

from salesops.api.tokens import create_token

PASSWORD = "pw-for-tests-0"
LIMIT = 5
LOCKED = "Too many failed sign-ins"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.LANGUAGE_CODE = "en"  # signed-out pages in English (the reader is unknown)
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    settings.LOGIN_SLOW_AFTER = 3
    # The lock's tests try faster than the slowing allows: the slowing has its own tests.
    settings.LOGIN_SLOW_SECONDS = 0


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_after_too_many_failures_for_the_account(cast):
    client = Client()
    for _i in range(LIMIT - 1):
        assert sign_in(client, "rep", "wrong").status_code == 200
    # The last failure allowed says so at once.
    assert LOCKED in sign_in(client, "rep", "wrong").content.decode()
    response = sign_in(client, "rep", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED in html and "try again in 15 minutes" in html
    assert not signed_in(client)
    # From another address too: it is the account that is locked.
    other = Client()
    assert sign_in(other, "rep", PASSWORD, ip="10.9.9.9").status_code == 429
    assert not signed_in(other)
    # Someone else signs in as usual from elsewhere.
    assert sign_in(other, "manager", PASSWORD, ip="10.9.9.9").status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(cast):
    client = Client()
    for name in ("a1", "a2", "a3", "a4", "a5"):
        sign_in(client, name, "wrong", ip="10.0.0.7")
    response = sign_in(client, "manager", PASSWORD, ip="10.0.0.7")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert not signed_in(client)
    # The account itself is not locked: from another address it signs in.
    assert sign_in(Client(), "manager", PASSWORD, ip="10.0.0.8").status_code == 302


def test_a_username_that_does_not_exist_is_locked_the_same_way(cast):
    """Nothing tells a guesser which usernames exist."""
    client = Client()
    for _i in range(LIMIT):
        sign_in(client, "no-such-person", "wrong", ip="10.0.1.1")
    unknown = sign_in(client, "no-such-person", "wrong", ip="10.0.1.1")
    for _i in range(LIMIT):
        sign_in(client, "rep", "wrong", ip="10.0.1.2")
    known = sign_in(client, "rep", "wrong", ip="10.0.1.2")
    assert unknown.status_code == known.status_code == 429
    assert LOCKED in unknown.content.decode() and LOCKED in known.content.decode()


def test_after_the_cool_off_the_account_signs_in_again(cast):
    client = Client()
    for _i in range(LIMIT):
        sign_in(client, "rep", "wrong")
    assert sign_in(client, "rep", PASSWORD).status_code == 429
    # The attempts are older than the cool-off period.
    AccessAttempt.objects.update(attempt_time=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert sign_in(client, "rep", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_successful_sign_in_forgets_earlier_failures(cast):
    client = Client()
    for _i in range(LIMIT - 1):
        sign_in(client, "rep", "wrong")
    assert sign_in(client, "rep", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _i in range(LIMIT - 1):
        sign_in(client, "rep", "wrong")
    assert sign_in(client, "rep", PASSWORD).status_code == 302


def test_api_tokens_keep_working_while_sign_in_is_locked(cast):
    token = create_token(user=cast.rep, scope="read")
    client = Client()
    for _i in range(LIMIT + 2):
        sign_in(client, "rep", "wrong")
    assert sign_in(client, "rep", PASSWORD).status_code == 429
    for _i in range(3):
        response = Client().get(
            "/api/v1/deals",
            headers={"Authorization": f"Bearer {token.raw}"},
            REMOTE_ADDR="10.0.0.1",
        )
        assert response.status_code == 200


def test_the_lockout_message_is_in_the_readers_language(cast, settings):
    client = Client()
    for _i in range(LIMIT):
        sign_in(client, "rep", "wrong")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with translation.override("zh-hans"):
        html = sign_in(client, "rep", PASSWORD).content.decode()
    assert "登录失败次数过多" in html and "15" in html


def _age_attempts(seconds: float) -> None:
    """As if the last failures happened `seconds` earlier."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= dt.timedelta(seconds=seconds)
        attempt.save(update_fields=["attempt_time"])


SLOWED = "Several sign-ins failed"


def test_sign_in_is_slowed_before_it_is_locked(cast, settings):
    settings.LOGIN_SLOW_SECONDS = 5
    client = Client()
    for _i in range(2):
        assert sign_in(client, "rep", "wrong").status_code == 200
    # Two failures: the next try is at once.
    assert sign_in(client, "rep", "wrong").status_code == 200
    # Three: the next try waits 5 s, the right password too, and is not counted.
    response = sign_in(client, "rep", PASSWORD)
    assert response.status_code == 429 and not signed_in(client)
    html = response.content.decode()
    assert SLOWED in html and "Wait 5 seconds" in html
    assert int(response["Retry-After"]) == 5
    assert sum(a.failures_since_start for a in AccessAttempt.objects.all()) == 3
    # From another address too: the account is slowed.
    assert sign_in(Client(), "rep", PASSWORD, ip="10.9.9.9").status_code == 429
    # Once the wait has passed, a fourth failure doubles it.
    _age_attempts(6)
    assert sign_in(client, "rep", "wrong").status_code == 200
    response = sign_in(client, "rep", "wrong")
    assert response.status_code == 429 and "Wait 10 seconds" in response.content.decode()
    # A fifth failure after the wait locks for the cool-off period.
    _age_attempts(11)
    assert LOCKED in sign_in(client, "rep", "wrong").content.decode()
    _age_attempts(60)
    response = sign_in(client, "rep", PASSWORD)
    assert response.status_code == 429 and "try again in 15 minutes" in response.content.decode()


def test_a_slowed_account_signs_in_after_the_wait(cast, settings):
    settings.LOGIN_SLOW_SECONDS = 5
    client = Client()
    for _i in range(3):
        sign_in(client, "rep", "wrong")
    assert sign_in(client, "rep", PASSWORD).status_code == 429
    _age_attempts(6)
    assert sign_in(client, "rep", PASSWORD).status_code == 302
    assert signed_in(client)
    # Someone else from another address was never slowed.
    assert sign_in(Client(), "manager", PASSWORD, ip="10.5.5.5").status_code == 302


def test_one_address_guessing_many_accounts_is_slowed(cast, settings):
    settings.LOGIN_SLOW_SECONDS = 5
    client = Client()
    for name in ("b1", "b2", "b3"):
        sign_in(client, name, "wrong", ip="10.0.0.9")
    response = sign_in(client, "manager", PASSWORD, ip="10.0.0.9")
    assert response.status_code == 429 and SLOWED in response.content.decode()
    assert sign_in(Client(), "manager", PASSWORD, ip="10.0.0.10").status_code == 302


def test_the_wait_message_is_in_the_readers_language(cast, settings):
    settings.LOGIN_SLOW_SECONDS = 5
    client = Client()
    for _i in range(3):
        sign_in(client, "rep", "wrong")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with translation.override("zh-hans"):
        html = sign_in(client, "rep", PASSWORD).content.decode()
    assert "请等待 5 秒" in html
