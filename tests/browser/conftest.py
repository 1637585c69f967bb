"""Playwright on Debian's Chromium (never a downloaded browser)."""

import os

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Expectations wait as long as actions do: on a busy machine a page may take longer than
# Playwright's default 5 s to update (the macro picker's fetch, say); one that never
# comes true still fails, later.
expect.set_options(timeout=15_000)


# What Chromium reported as refused by a Content-Security-Policy, in any page of any
# context a test opened (Chromium logs each violation to the console).
CSP_VIOLATIONS: list[str] = []


def watch_csp(context) -> None:
    def on_console(message):
        if "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)


class CspWatchedBrowser:
    """The browser, with every context it opens watched for CSP violations."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        watch_csp(context)
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield CspWatchedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Every browser test fails if a page broke our Content-Security-Policy (an inline
    script, handler or style, an eval, a resource from elsewhere); a test that provokes
    one on purpose takes the list with `expected_csp_violations` and empties it."""
    CSP_VIOLATIONS.clear()
    yield
    if "expected_csp_violations" not in request.fixturenames:
        assert CSP_VIOLATIONS == [], "\n".join(CSP_VIOLATIONS)


@pytest.fixture
def expected_csp_violations():
    return CSP_VIOLATIONS


@pytest.fixture
def page(browser, settings):
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.LANGUAGE_COOKIE_SECURE = False
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def tenant_url(live_server):
    """`tenant_url(desk, "/path")` -> http://<slug>.localhost:<port>/path (Chromium
    resolves *.localhost to the loopback address the live server listens on)."""
    port = live_server.thread.port

    def build(desk, path="/"):
        return f"http://{desk.host}:{port}{path}"

    return build
