"""Service levels in the browser: the agent's badge counts down and turns from
green to amber to red as time passes; the customer reads the promise."""

import re

import pytest
from playwright.sync_api import expect

from helpdesk.models import User
from tests.browser.helpers import sign_in
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def test_the_agents_badge_turns_from_green_to_red_as_time_passes(page, tenant_url, acme_live):
    with acme_live.scope():
        acme_live.org.plan = acme_live.pro_plus  # 2 h, around the clock; warned 30 min before
        acme_live.org.save()
    make_ticket(acme_live, subject="Checkout is down")

    page.clock.install()
    page.goto(tenant_url(acme_live, "/agent/"))
    sign_in(page, acme_live.agent.email)
    row = page.get_by_role("row").filter(has_text="Checkout is down")
    badge = row.locator(".sla")
    expect(badge).to_have_class(re.compile(r"\bsla-on-track\b"))
    expect(badge).to_have_text(re.compile(r"^1h 5\dm$"))

    page.clock.fast_forward("01:31:00")  # inside the last 30 minutes
    expect(badge).to_have_class(re.compile(r"\bsla-warning\b"))
    expect(badge).to_have_text(re.compile(r"^\d+m$"))

    page.clock.fast_forward("00:30:00")  # past the due time
    expect(badge).to_have_class(re.compile(r"\bsla-breached\b"))
    expect(badge).to_have_text(re.compile(r"^overdue \d+m$"))
    page.screenshot(path="test-results/sla-badge-breached.png")


def test_the_live_countdown_keeps_the_readers_language_as_it_ticks(page, tenant_url, acme_live):
    with acme_live.scope():
        acme_live.org.plan = acme_live.pro_plus
        acme_live.org.save()
    make_ticket(acme_live, subject="Checkout is down")
    User.objects.filter(pk=acme_live.agent.pk).update(preferred_language="zh-hans")

    page.clock.install()
    page.goto(tenant_url(acme_live, "/agent/"))
    sign_in(page, acme_live.agent.email)
    badge = page.get_by_role("row").filter(has_text="Checkout is down").locator(".sla")
    expect(badge).to_have_text(re.compile(r"^1 小时 5\d 分$"))
    page.clock.fast_forward("01:31:00")  # the script has written it again since
    expect(badge).to_have_text(re.compile(r"^\d+ 分钟$"))
    page.clock.fast_forward("00:30:00")
    expect(badge).to_have_class(re.compile(r"\bsla-breached\b"))
    expect(badge).not_to_have_text(re.compile(r"[a-z]"))  # no "overdue", no "m"


def test_the_customer_reads_the_promise_and_compares_plans(page, tenant_url, acme_live):
    page.goto(tenant_url(acme_live, "/tickets/new/"))
    sign_in(page, acme_live.customer.email)
    promise = page.locator(".promise")
    expect(promise).to_contain_text(
        "Your plan: Pro — first reply within 24 business hours (Mon-Fri 9:00-18:00, UTC)."
    )
    promise.get_by_role("link", name="Compare service levels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service levels")
    current = page.locator("th.current")
    expect(current).to_contain_text("Pro")
    expect(current).to_contain_text("your plan")
    expect(page.get_by_role("row", name=re.compile("First reply within"))).to_contain_text(
        "2 hours, around the clock"
    )
    # The way up: no upgrade page set, so a request is filed for her.
    page.get_by_role("button", name="Ask us about Pro+").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Upgrade enquiry: Pro+")
    expect(page.get_by_text("we have your question about Pro+")).to_be_visible()
