"""Smoke test in a real browser: sign-in page, language switch, sign in, wrong password."""

import re

import pytest
from playwright.sync_api import expect

from salesops.users.tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread, so the data must be committed. A
    # transactional test ends with a flush; serialized_rollback starts each test with
    # what migrations put in (currencies), whatever an earlier one flushed.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-0"  # UserFactory's


def sign_in(page, url, username, password):
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    return posted.value


def test_the_sign_in_page_is_in_chinese_by_default_and_english_after_switching(
    live_server, new_page, screenshot
):
    # A browser asking for a language we do not offer gets the default, zh-Hans.
    page = new_page(locale="fr-FR")
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main h1")).to_have_text("登录")
    screenshot(page, "login-zh-hans")

    page.get_by_role("button", name="English").click()

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Sign in")
    screenshot(page, "login-en")


def test_a_user_signs_in_and_sees_the_home_page(live_server, new_page, screenshot):
    UserFactory(username="alice", display_name="Alice Zhang")
    page = new_page()
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    sign_in(page, live_server.url, "alice", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("header .who")).to_have_text("Alice Zhang")
    expect(page.locator("main h1")).to_contain_text("Alice Zhang")
    screenshot(page, "home")


def test_a_wrong_password_shows_the_error_without_telling_whether_the_user_exists(
    live_server, new_page, screenshot
):
    UserFactory(username="alice")
    page = new_page(locale="en-US")

    def failed_attempt(username):
        response = sign_in(page, live_server.url, username, "not-the-password")
        error = page.locator("main .error")
        expect(error).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/login/")
        return response.status, error.inner_text(), page.locator("main").inner_text()

    known = failed_attempt("alice")
    screenshot(page, "login-wrong-password")
    unknown = failed_attempt("nobody-by-this-name")

    assert known == unknown
    assert "The username or password is not right" in known[1]
    assert "alice" not in known[2]
