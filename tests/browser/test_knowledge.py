"""The knowledge base in the browser: a Free customer filing a request is shown
matching articles as they type, opens one, and never meets a Pro-only article."""

import re

import pytest
from playwright.sync_api import expect

from knowledge.demo import load_articles
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    with acme.scope():
        load_articles(acme.tenant, demo_only=True)
    return acme


def test_a_free_customer_sees_suggestions_opens_one_and_no_pro_article(page, tenant_url, acme_live):
    page.goto(tenant_url(acme_live, "/tickets/new/"))
    sign_in(page, acme_live.other_customer.email)  # on the Free plan
    page.get_by_label("Subject").fill("export times out")
    suggestions = page.locator("#kb-suggestions")
    expect(suggestions.get_by_role("link").first).to_be_visible()
    expect(suggestions).to_contain_text("Exports time out")

    # SSO setup is a Pro article: typing its words suggests nothing of it.
    page.get_by_label("Subject").fill("SAML single sign-on setup")
    expect(suggestions).not_to_contain_text("Set up single sign-on with SAML")
    page.get_by_label("Subject").fill("export times out")
    expect(suggestions).to_contain_text("Exports time out")

    with page.context.expect_page() as opened:
        suggestions.get_by_role("link", name=re.compile("Exports time out")).first.click()
    article = opened.value
    expect(article.get_by_role("heading", level=1)).to_contain_text("Exports time out")
    expect(article.get_by_role("navigation", name="Breadcrumbs")).to_contain_text("Knowledge base")
    article.screenshot(path="test-results/kb-article.png", full_page=True)

    # Nor does searching the knowledge base find it.
    page.goto(tenant_url(acme_live, "/kb/search/?q=SAML"))
    expect(page.locator("main")).not_to_contain_text("Set up single sign-on with SAML")


def test_the_search_box_lists_articles_as_the_reader_types(page, tenant_url, acme_live):
    page.goto(tenant_url(acme_live, "/kb/"))
    page.get_by_label("Search the knowledge base").fill("发票")
    results = page.locator(".kb-typeahead")
    expect(results.get_by_role("link").first).to_be_visible()
    expect(results).to_contain_text("发票")
    expect(results.locator("mark").first).to_have_text("发票")
