"""No page grows wider than the window when people type long unbroken text: every page
of tests/pages.py, with a 200-character word in every field a person fills in (subjects,
messages, notes, names, tags, file names, comments, articles, macros...), in a desktop
window and a phone's, for the persona that reads it."""

import re

import pytest

from tests.browser.helpers import sign_in
from tests.pages import page_views, populate

pytestmark = pytest.mark.browser

LONG_WORD = ("Unbroken" * 25)[:200]
# The innermost elements that reach past the window's right edge, to say what is too wide.
OVERFLOWING = """() => {
  const wide = [...document.body.querySelectorAll("*")].filter(
    (e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1);
  return wide.filter((e) => !wide.some((o) => o !== e && e.contains(o))).slice(0, 3).map(
    (e) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className) : "") + " "
      + Math.round(e.getBoundingClientRect().right) + "px");
}"""
WINDOWS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]


@pytest.fixture
def long_data(transactional_db, acme):
    return populate(acme, word=LONG_WORD)


@pytest.fixture
def plain_http_cookies(settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.LANGUAGE_COOKIE_SECURE = False


def _context(browser, data, persona, window, tenant_url):
    context = browser.new_context(locale="en-US", viewport=window)
    page = context.new_page()
    page.set_default_timeout(15_000)
    if persona != "anonymous":
        page.goto(tenant_url(data.desk, "/accounts/login/"))
        sign_in(page, getattr(data.desk, persona).email)
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w['width']}px")
def test_no_page_is_wider_than_the_window_with_long_words(
    browser, tenant_url, long_data, plain_http_cookies, window
):
    views = page_views(long_data)
    too_wide = []
    for persona in sorted({view.page.personas[0] for view in views}):
        context, page = _context(browser, long_data, persona, window, tenant_url)
        for view in views:
            if view.page.personas[0] != persona or view.page.fragment_of:
                continue
            query = "&".join(f"{key}={value}" for key, value in view.page.query.items())
            page.goto(tenant_url(long_data.desk, view.path + (f"?{query}" if query else "")))
            if view.label == "hc_ticket_new":  # with its suggestions (kb_suggest) shown
                page.get_by_label("Subject").fill("exporting invoices")
                page.locator("#kb-suggestions li").first.wait_for()
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > window["width"]:
                culprits = ", ".join(page.evaluate(OVERFLOWING))
                too_wide.append(f"{view.label} ({persona}): {width}px ({culprits})")
                name = re.sub(r"\W+", "-", view.label)
                page.screenshot(path=f"test-results/too-wide-{name}-{window['width']}.png")
        context.close()
    assert too_wide == []
