import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def test_customer_signs_in_and_reads_the_help_center_in_english_and_chinese(
    page, tenant_url, acme_live
):
    page.goto(tenant_url(acme_live))
    # Support is for logged-in customers: the help center asks to sign in first.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    sign_in(page, acme_live.customer.email)

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Carol")
    expect(page.locator(".promise")).to_contain_text(
        "Your plan: Pro — first reply within 24 business hours (Mon-Fri 9:00-18:00, UTC)."
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("你好，Carol")
    expect(page.locator(".promise")).to_contain_text("24 个工作小时（周一至周五 9:00-18:00，UTC）")
    expect(page.get_by_role("link", name="帮助中心")).to_be_visible()
    page.screenshot(path="test-results/help-center-zh.png", full_page=True)

    # The choice sticks across pages and back.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("你好，Carol")
    page.get_by_label("语言").select_option("en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Carol")


def test_customer_of_another_tenant_is_refused_in_the_browser(page, tenant_url, acme_live, globex):
    page.goto(tenant_url(acme_live, "/accounts/login/"))
    sign_in(page, globex.customer.email)
    # A Globex account is nobody at Acme: the very answer a wrong password gets.
    expect(
        page.get_by_text("The email address and/or password you specified are not correct.")
    ).to_be_visible()
    page.goto(tenant_url(acme_live))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
