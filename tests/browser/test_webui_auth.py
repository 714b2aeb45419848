"""The web UI behind ``nbtrack server --auth``, in chromium.

basic: ``/`` answers 401 with ``WWW-Authenticate: Basic`` (the browser's own prompt), and once the
browser has the user and password (Playwright's ``http_credentials``) it sends them to the API too;
a read-only credential sees the pages and gets its writes refused in place. token: a browser cannot
send a bearer token by itself, so the app asks for it when the API answers 401, checks it, keeps
it in the tab's sessionStorage and sends ``Authorization: Bearer`` from then on.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.webui import UI, real_errors, serve_ui

pytestmark = pytest.mark.browser
TOKEN = "webui-token-123456"
UNAUTHORIZED = "401 (Unauthorized)"


def build(uri: str) -> None:
    import nbtrack

    nbtrack.create_experiment("guarded")
    nbtrack.flush()


@pytest.fixture(scope="module")
def basic_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    creds = tmp_path_factory.mktemp("creds") / "basic.txt"
    creds.write_text("rw ana:ana-password\nro rita:rita-password\n")
    yield from serve_ui(tmp_path_factory, "webui-auth-basic", build, auth="basic", auth_file=str(creds))


@pytest.fixture(scope="module")
def token_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-auth-token", build, auth="token", env={"NBTRACK_TOKEN": TOKEN})


def context_page(browser: Any, **kw: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **kw)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return context, page


def test_basic_auth_challenges_the_browser_on_the_page_itself(basic_ui):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(basic_ui.url + "/", timeout=10)
    assert e.value.code == 401
    assert e.value.headers["WWW-Authenticate"] == 'Basic realm="nbtrack"'
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(basic_ui.url + "/static/main.js", timeout=10)
    assert e.value.code == 401


def test_with_basic_credentials_the_pages_and_the_api_work(browser, basic_ui):
    context, page = context_page(browser, http_credentials={"username": "ana", "password": "ana-password"})
    page.goto(basic_ui.page_url("/experiments"))
    page.locator(".nbt-app-exp-name", has_text="guarded").wait_for()
    page.locator(".nbt-app-exp-new").click()
    page.locator(".nbt-app-exp-create-name").fill("made-with-basic-auth")
    page.locator(".nbt-app-exp-create-ok").click()
    page.wait_for_selector(".nbt-app-page-runs[data-ready='1']")
    assert page.locator("h1").inner_text() == "made-with-basic-auth"
    # the browser answered the challenge; what it shows after is clean
    assert real_errors(page.errors, (UNAUTHORIZED,)) == []
    context.close()


def test_a_read_only_credential_gets_its_writes_refused_in_place(browser, basic_ui):
    context, page = context_page(browser, http_credentials={"username": "rita", "password": "rita-password"})
    page.goto(basic_ui.page_url("/experiments"))
    page.locator(".nbt-app-exp-name", has_text="guarded").wait_for()
    page.locator(".nbt-app-exp-new").click()
    page.locator(".nbt-app-exp-create-name").fill("not-allowed")
    page.locator(".nbt-app-exp-create-ok").click()
    error = page.locator(".nbt-app-exp-create-error .nbt-app-error")
    error.wait_for()
    assert "read-only" in error.inner_text() and "PERMISSION_DENIED" in error.inner_text()
    context.close()


def test_wrong_basic_credentials_see_no_page(browser, basic_ui):
    context, page = context_page(browser, http_credentials={"username": "ana", "password": "wrong-password"})
    response = page.goto(basic_ui.page_url("/experiments"))
    assert response.status == 401
    assert page.locator("#nbt-app").count() == 0
    context.close()


def test_token_mode_asks_for_the_token_and_keeps_it_for_the_tab(browser, token_ui, shot):
    context, page = context_page(browser)
    page.goto(token_ui.page_url("/experiments"))
    dialog = page.locator(".nbt-app-login")
    dialog.wait_for()
    assert "This server needs a token" in dialog.inner_text()
    shot(page, "webui-sign-in")
    page.locator(".nbt-app-token").fill("not-the-token-at-all")
    page.locator(".nbt-app-login button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('.nbt-app-login-error')?.textContent === 'The server refused this token.'")
    page.locator(".nbt-app-token").fill(TOKEN)
    page.locator(".nbt-app-token").press("Enter")
    page.locator(".nbt-app-exp-name", has_text="guarded").wait_for()
    assert page.locator(".nbt-app-login").count() == 0
    assert page.evaluate("sessionStorage.getItem('nbtrack.token')") == TOKEN
    # a reload keeps the token (this tab only); the run table reads through it too
    page.reload()
    page.locator(".nbt-app-exp-name", has_text="guarded").click()
    page.wait_for_selector(".nbt-app-page-runs[data-ready='1']")
    assert page.locator(".nbt-app-login").count() == 0
    assert page.locator(".nbt-app-signout").is_visible()
    page.locator(".nbt-app-signout").click()
    page.locator(".nbt-app-login").wait_for()
    assert page.evaluate("sessionStorage.getItem('nbtrack.token')") is None
    assert real_errors(page.errors, (UNAUTHORIZED,)) == []
    context.close()
