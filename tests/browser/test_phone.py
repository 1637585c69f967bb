"""The phone channel in Chromium: a Pro+ customer asks for a callback, an agent finds it in
the queue by its badge and logs the answered outbound call that makes it."""

import re

import pytest
from playwright.sync_api import expect

from phone.models import CallbackRequest
from tests.browser.helpers import sign_in
from tests.phone.helpers import next_monday

pytestmark = pytest.mark.browser


@pytest.fixture
def pro_plus_customer(transactional_db, acme):
    # Carol's organization moves to Pro+, whose plan offers phone support (around the clock).
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
    return acme


def test_a_callback_goes_from_the_help_center_to_the_queue_to_a_logged_call(
    browser, page, tenant_url, pro_plus_customer
):
    acme = pro_plus_customer
    day = next_monday()

    # The customer finds "Request a callback" on the help center's front page.
    page.goto(tenant_url(acme, "/"))
    sign_in(page, acme.customer.email)
    page.get_by_role("link", name="Request a callback").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a callback")
    page.get_by_label("Phone number").fill("+86 138 0013 8000")
    page.get_by_label("Day").fill(day.isoformat())
    page.get_by_label("From").fill("10:00")
    page.get_by_label("Until").fill("11:00")
    page.get_by_label("What is it about?").fill("Set up single sign-on with us")
    page.get_by_role("button", name="Request a callback").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Set up single sign-on with us")
    expect(page.locator(".callback-notice")).to_contain_text("+86 138 0013 8000")
    number = re.search(r"/tickets/(\d+)/", page.url).group(1)

    # The agent sees it in the queue with its badge, and opens it.
    agent_context = browser.new_context()
    agent = agent_context.new_page()
    agent.goto(tenant_url(acme, "/agent/"))
    sign_in(agent, acme.agent.email)
    row = agent.locator("tr", has_text="Set up single sign-on with us")
    expect(row.locator(".badge.callback")).to_contain_text("Callback by")
    row.get_by_role("link", name="Set up single sign-on with us").click()
    expect(agent.locator(".callback-facts")).to_contain_text("+86 138 0013 8000")

    # The agent calls, reaches the customer and logs the call.
    agent.get_by_label("Outbound").check()
    agent.get_by_label("Outcome").select_option(label="Answered")
    agent.get_by_label("Minutes").fill("4")
    agent.get_by_label("Seconds").fill("30")
    agent.locator("#id_notes").fill("Set up SSO together; she will test tomorrow.")
    agent.get_by_role("button", name="Log call").click()
    call = agent.locator(".message-item.call")
    expect(call).to_contain_text("Outbound call, Answered, 4:30")
    expect(call).to_contain_text("Set up SSO together")
    expect(agent.locator(".audit")).to_contain_text("callback: made")
    expect(agent.locator(".badge.callback")).to_have_count(0)
    with acme.scope():
        assert CallbackRequest.objects.get(ticket__number=number).called_by == acme.agent

    # The customer hears the callback was made; the call's notes stay with the agents.
    page.reload()
    expect(page.locator(".callback-notice")).to_contain_text("We called you back")
    expect(page.get_by_text("Set up SSO together")).to_have_count(0)
    agent_context.close()
