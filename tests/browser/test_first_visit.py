"""A first visit asks for nothing the app does not have: no failed load in the browser's
console, signed out and signed in. Chromium asks every host for /favicon.ico by itself (a
request the page's own events do not show, its 404 only the console)."""

import pytest

from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def test_a_first_visit_gets_no_error_for_anything_the_browser_asks(page, tenant_url, acme_live):
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and failed.append(m.text))
    page.goto(tenant_url(acme_live))
    sign_in(page, acme_live.customer.email)
    page.wait_for_url(tenant_url(acme_live, "/"))
    page.goto(tenant_url(acme_live, "/kb/"))
    page.wait_for_load_state("networkidle")
    assert failed == []
