"""In a real browser, in zh-Hans: a person changes their password, makes an API token,
sets up two-factor sign-in and signs in with a code; a guesser is locked out."""

from __future__ import annotations

import hashlib
import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from salesops.api.models import ApiToken
from salesops.users.models import User
from salesops.users.tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-0"
NEW_PASSWORD = "Zh-new-pass-2026"


def submit(page, name):
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def sign_in(page, url, password):
    page.goto(f"{url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def test_a_person_looks_after_their_own_account(live_server, new_page, screenshot, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    UserFactory(username="alice", display_name="Alice", language="zh-hans")
    url = live_server.url
    page = new_page()
    sign_in(page, url, PASSWORD)
    expect(page).to_have_url(f"{url}/")

    page.locator("header .who").click()
    expect(page.locator("main h1")).to_have_text("我的账号")

    # The password.
    page.get_by_role("link", name="修改密码").click()
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    submit(page, "修改密码")
    expect(page.locator(".messages")).to_contain_text("您的密码已修改。")
    assert User.objects.get(username="alice").check_password(NEW_PASSWORD)

    # An API token, shown once.
    page.get_by_role("link", name="管理您的 API 令牌").click()
    page.fill("#id_name", "BI")
    page.select_option("#id_scope", "read_write")
    page.fill("#id_days", "7")
    submit(page, "创建令牌")
    secret = page.get_by_test_id("token-secret").inner_text().strip()
    token = ApiToken.objects.get(user__username="alice")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.scope == "read_write" and token.expires_at is not None
    expect(page.locator("main table")).to_contain_text("尚未使用")
    screenshot(page, "account-tokens-zh-hans")

    # Two-factor sign-in: the QR code, then a code typed from the key.
    page.goto(f"{url}/account/")
    page.get_by_role("link", name="设置双重验证登录").click()
    expect(page.locator(".qr svg")).to_be_visible()
    typed = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    key = b32decode(typed + "=" * (-len(typed) % 8))
    page.fill("#id_code", f"{totp(key):06d}")
    submit(page, "开启")
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    screenshot(page, "account-backup-codes-zh-hans")

    # Signing in again asks for a code after the password.
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, url, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.fill("#id_code", f"{totp(key, drift=1):06d}")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{url}/")
    expect(page.locator("header .who")).to_have_text("Alice")


def test_a_guesser_is_locked_out_with_a_message(live_server, new_page, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="alice", language="zh-hans")
    page = new_page()
    for _i in range(3):
        sign_in(page, live_server.url, "wrong")
    sign_in(page, live_server.url, PASSWORD)
    expect(page.locator("main .error")).to_contain_text("登录失败次数过多")
    expect(page).to_have_url(re.compile(r"/login/"))
