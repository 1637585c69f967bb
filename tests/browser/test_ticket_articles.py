"""The articles beside a ticket, in Chromium: they arrive after the page, internal ones
marked, and "Insert link in reply" puts a public article's link where the agent types."""

import re

from playwright.sync_api import expect

from knowledge.models import Article
from tests.browser.helpers import sign_in
from tests.knowledge.factories import make_article
from tests.tickets.factories import make_ticket


def test_an_agent_inserts_a_suggested_articles_link_into_the_reply(
    page, tenant_url, transactional_db, acme
):
    public = make_article(acme, "How refunds work", "Refunds reach your card in five days.")
    make_article(
        acme,
        "Refund runbook",
        "Refunds above 500 need a second approver.",
        visibility=Article.Visibility.AGENTS,
    )
    ticket = make_ticket(acme, subject="Refund for a double charge", body="Please refund me")

    page.goto(tenant_url(acme, f"/agent/tickets/{ticket.number}/"))
    sign_in(page, acme.agent.email)
    panel = page.locator(".ticket-articles-card")
    expect(panel).to_contain_text("How refunds work")
    expect(panel.locator("li", has_text="Refund runbook")).to_contain_text("Internal")
    page.locator("#id_body").fill("Hello, this explains it:")
    panel.get_by_role("button", name="Insert link in reply").click()
    link = rf"\[How refunds work\]\(http[^)\s]*/kb/articles/{public.pk}/{public.slug}/\)"
    expect(page.locator("#id_body")).to_have_value(
        re.compile(rf"^Hello, this explains it: {link}$")
    )
