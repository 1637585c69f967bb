"""Feedback in the browser: the customer rates a solved ticket from the link in the
survey email and adds a comment; the agent reads it on the ticket and the dashboard."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from feedback.services import csat_send_due
from tests.browser.helpers import sign_in
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def test_rate_from_the_email_then_the_agent_sees_it(page, tenant_url, acme_live, settings):
    settings.PUBLIC_PORT = tenant_url(acme_live).rsplit(":", 1)[1].strip("/")
    ticket = make_ticket(acme_live, subject="Export to CSV fails")

    # The agent solves the request in the workspace.
    page.goto(tenant_url(acme_live, f"/agent/tickets/{ticket.number}/"))
    sign_in(page, acme_live.admin.email)
    page.get_by_label("Status").select_option(label="Solved")
    page.get_by_role("button", name="Update").click()
    expect(page.locator(".status").first).to_have_text("Solved")

    # An hour later the beat sends the survey; the customer opens the email.
    with acme_live.scope():
        assert csat_send_due(tenant=acme_live.tenant, now=timezone.now() + timedelta(hours=2))
    (email,) = [m for m in mail.outbox if m.subject.startswith(f"[#{ticket.number}] How did we")]
    assert email.to == [acme_live.customer.email]
    html = email.alternatives[0][0]
    satisfied = re.search(r'href="([^"]+/rate/4/)"', html).group(1)
    satisfied = satisfied.replace("https://", "http://", 1)  # the live server speaks HTTP

    customer = page.context.browser.new_context(locale="en-US").new_page()
    customer.goto(satisfied)  # one click, no sign-in
    expect(customer.get_by_role("status")).to_contain_text("we recorded your rating: 4/5")
    customer.get_by_label(re.compile("5 · Very satisfied")).check()
    customer.get_by_label("Anything you would like to add?").fill("Fixed within the hour, thanks!")
    customer.get_by_role("button", name="Save my feedback").click()
    expect(customer.get_by_role("status")).to_have_text("Thank you! Your feedback was saved.")
    customer.context.close()

    # The agent sees the rating and the comment on the ticket.
    page.goto(tenant_url(acme_live, f"/agent/tickets/{ticket.number}/"))
    panel = page.get_by_role("region", name="Satisfaction")
    expect(panel).to_contain_text("5/5 · Very satisfied")
    expect(panel).to_contain_text("Fixed within the hour, thanks!")

    # And on the insights dashboard: 100% satisfied, with the comment.
    page.get_by_role("link", name="Insights").click()
    csat = page.get_by_role("region", name="Customer satisfaction (CSAT)")
    expect(csat.locator(".headline").first).to_contain_text("100.0%")
    expect(csat.locator(".comments")).to_contain_text("Fixed within the hour, thanks!")
    expect(csat.locator(".comments")).to_contain_text(f"#{ticket.number} Export to CSV fails")
    csat.screenshot(path="test-results/dashboard-csat.png")
