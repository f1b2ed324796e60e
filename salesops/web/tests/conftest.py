"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against
pytest-django's live server. Never `playwright install`: this machine cannot download
browsers, and Debian's Chromium is the one we test with.

Without Chromium, tests marked `browser` are skipped with a message saying so; with
REQUIRE_BROWSER=1 (as in CI) that is a failure instead.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API keeps an asyncio loop in this thread; the ORM calls the tests
# make between browser steps are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
MISSING = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "") in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or browser_required():
        return
    skip = pytest.mark.skip(reason=f"browser test skipped: {MISSING}")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"REQUIRE_BROWSER=1 but {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """`new_page(locale="zh-CN")`: a page in a fresh browser context (own cookies)."""
    contexts = []

    def make(locale: str = "zh-CN") -> Any:
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """`screenshot(page, "name")` saves test-artifacts/browser/name.png."""

    def save(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def sign_in() -> Callable[[Any, str, str], None]:
    """`sign_in(page, live_server.url, username)`: through the login form with
    UserFactory's password, waiting for the home page."""

    def go(page: Any, url: str, username: str) -> None:
        page.goto(f"{url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "pw-for-tests-0")
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/$"))

    return go


@pytest.fixture(autouse=True)
def _product_default_language(settings: Any) -> None:
    """The root conftest reads messages in English; pages served to the browser keep
    the product's default language, zh-Hans, unless the test switches it."""
    settings.LANGUAGE_CODE = "zh-hans"


# -- page tests (added with the daily workspace) ---------------------------------------------


@pytest.fixture
def signed_in(client: Any) -> Callable[..., Any]:
    """`signed_in(user, language="en")`: the test client signed in as `user`, who reads
    the app in `language` (pages follow the person's saved language)."""

    def sign_in(user: Any, language: str = "en") -> Any:
        if user.language != language:
            type(user).objects.filter(pk=user.pk).update(language=language)
            user.language = language
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def world(cast: Any) -> Any:
    """Records of East (rep's) and West (outsider's): the same kinds on both sides, so
    every page can be checked to show one and hide the other."""
    from types import SimpleNamespace

    from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
    from salesops.crm.tests.factories import (
        ContactFactory,
        CustomerFactory,
        DealFactory,
        LeadFactory,
        PipelineFactory,
        ProductFactory,
    )
    from salesops.crm.tests.more_factories import (
        ContractFactory,
        PaymentFactory,
        PaymentPlanFactory,
        QuoteFactory,
    )

    pipeline = PipelineFactory(name="New business", is_default=True)

    def side(owner: Any, tag: str) -> SimpleNamespace:
        customer = CustomerFactory(owner=owner, name=f"{tag} customer")
        contract = ContractFactory(owner=owner, customer=customer, title=f"{tag} contract")
        return SimpleNamespace(
            lead=LeadFactory(owner=owner, name=f"{tag} lead", company=f"{tag} lead company"),
            customer=customer,
            contact=ContactFactory(customer=customer, name=f"{tag} contact"),
            deal=DealFactory(owner=owner, customer=customer, pipeline=pipeline, name=f"{tag} deal"),
            followup=FollowUpFactory(owner=owner, customer=customer, subject=f"{tag} call"),
            task=TaskFactory(owner=owner, customer=customer, title=f"{tag} task"),
            quote=QuoteFactory(owner=owner, customer=customer, number=f"Q-{tag}"),
            contract=contract,
            plan=PaymentPlanFactory(owner=owner, contract=contract, note=f"{tag} plan"),
            payment=PaymentFactory(owner=owner, contract=contract, reference=f"{tag} payment"),
        )

    return SimpleNamespace(
        cast=cast,
        pipeline=pipeline,
        product=ProductFactory(name="Widget", price="100.00", currency_id="CNY"),
        east=side(cast.rep, "East"),
        west=side(cast.outsider, "West"),
    )
