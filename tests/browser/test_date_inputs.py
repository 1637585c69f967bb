"""Date inputs in Chinese, in Chromium: the SLA report opens with its range shown and
submits as it is (it once got "2026/11/07", which Chromium shows as empty, and answered
400 "此字段为必填项"); and every page with a form of dates (tests/pages.py) shows each date
the server put in it and submits without a complaint about them."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpdesk.factories import PASSWORD
from tests.pages import page_views, populate

pytestmark = pytest.mark.browser


@pytest.fixture
def data(transactional_db, acme):
    return populate(acme)


@pytest.fixture
def chinese_admin(browser, settings, tenant_url, data):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.LANGUAGE_COOKIE_SECURE = False
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(data.desk, "/accounts/login/"))
    page.locator("input[name=login]").fill(data.desk.admin.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    yield page
    context.close()


def test_the_sla_report_shows_its_range_and_submits_in_chinese(chinese_admin, tenant_url, data):
    page = chinese_admin
    page.goto(tenant_url(data.desk, "/agent/reports/sla/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    start, end = page.locator("input[name=start]"), page.locator("input[name=end]")
    expect(start).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    expect(end).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    with page.expect_navigation() as shown:
        page.get_by_role("button", name="查看").click()
    assert shown.value.status == 200
    expect(page.get_by_role("heading", name="违约记录")).to_be_visible()
    expect(page.locator(".errorlist")).to_have_count(0)
    # A range chosen in the picker's format comes back as chosen.
    start.fill("2026-01-05")
    with page.expect_navigation() as shown:
        page.get_by_role("button", name="查看").click()
    assert shown.value.status == 200
    expect(page.locator("input[name=start]")).to_have_value("2026-01-05")


def test_every_form_of_dates_shows_them_and_submits_in_chinese(chinese_admin, tenant_url, data):
    page = chinese_admin
    checked = []
    for view in page_views(data):
        if not {"admin", "agent"} & set(view.page.personas) or view.page.fragment_of:
            continue
        page.goto(tenant_url(data.desk, view.path))
        for index in range(page.locator("form:has(input[type=date])").count()):
            form = page.locator("form:has(input[type=date])").nth(index)
            for date_input in form.locator("input[type=date]").all():
                # What the browser shows is what the server wrote: it accepted the value.
                assert date_input.input_value() == (date_input.get_attribute("value") or ""), (
                    view.label,
                    date_input.get_attribute("name"),
                )
            if (form.get_attribute("method") or "get").lower() != "get":
                continue  # a form that changes data (a renewal's outcome): shown, not sent
            with page.expect_navigation() as shown:
                form.locator("button[type=submit]").first.click()
            assert shown.value.status == 200, view.label
            expect(page.locator(".errorlist")).to_have_count(0)
            checked.append(view.label)
            page.goto(tenant_url(data.desk, view.path))
    assert {"sla_report", "insights_dashboard", "success_reports"} <= set(checked)
