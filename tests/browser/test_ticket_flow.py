"""The core loop in Chromium: a customer asks, an agent answers, nothing leaks or runs."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import record_dialogs, sign_in
from tickets.models import Macro, Status

pytestmark = pytest.mark.browser

HOSTILE = '<script>alert("script")</script> <img src=x onerror="alert(\'img\')"> Dashboard is blank'


@pytest.fixture
def acme_live(transactional_db, acme, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with acme.scope():
        Macro.objects.create(
            tenant=acme.tenant,
            name="Ask for a screenshot",
            set_status=Status.PENDING,
            body="Hi {{ customer.first_name }}, "
            "could you send a screenshot for #{{ ticket.number }}?",
        )
    return acme


def test_customer_files_agent_answers_with_macro_and_note_customer_sees_only_the_reply(
    browser, page, tenant_url, acme_live, tmp_path
):
    acme = acme_live
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    customer_dialogs = record_dialogs(page)

    # The customer files a request with an attachment and a hostile body.
    page.goto(tenant_url(acme, "/tickets/new/"))
    sign_in(page, acme.customer.email)
    page.get_by_label("Subject").fill("Charts are blank <b>today</b>")
    page.get_by_label("Category").select_option(label="Technical issue")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("Description").fill(HOSTILE)
    page.get_by_label("Attachments").set_input_files(str(screenshot))
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Charts are blank <b>today</b>")
    number = re.search(r"/tickets/(\d+)/", page.url).group(1)
    expect(page.get_by_role("link", name="screen.png")).to_be_visible()

    # An agent finds it in the queue, replies with the macro and adds an internal note.
    agent_context = browser.new_context()
    agent = agent_context.new_page()
    agent_dialogs = record_dialogs(agent)
    agent.goto(tenant_url(acme, "/agent/"))
    sign_in(agent, acme.agent.email)
    agent.get_by_role("link", name="Charts are blank <b>today</b>").click()
    expect(agent.locator(".message-body").first).to_contain_text("Dashboard is blank")
    # The macro picker's script (deferred) must be listening before a macro is chosen:
    # on a busy machine the page's text shows before it runs.
    agent.wait_for_load_state("load")
    agent.get_by_label("Macro").select_option(label="Ask for a screenshot")
    expect(agent.get_by_label("Your reply")).to_have_value(
        f"Hi Carol, could you send a screenshot for #{number}?"
    )
    agent.get_by_role("button", name="Send").click()
    expect(agent.locator(".message-item")).to_have_count(2)
    expect(agent.locator(".status").first).to_have_text("Pending")

    agent.get_by_label("Your reply").fill("Known issue with the cache, see runbook 12.")
    agent.get_by_label("Internal note (agents only)").check()
    agent.get_by_role("button", name="Send").click()
    expect(agent.locator(".message-item.internal")).to_contain_text("runbook 12")
    expect(agent.locator(".audit")).to_contain_text("applied a macro")

    # The customer sees the reply, not the note.
    page.reload()
    expect(page.locator(".message-item")).to_have_count(2)
    expect(page.get_by_text(f"could you send a screenshot for #{number}")).to_be_visible()
    expect(page.get_by_text("runbook 12")).to_have_count(0)

    # Nothing anyone wrote ran as script, on either side.
    page.goto(tenant_url(acme, "/tickets/"))
    agent.goto(tenant_url(acme, "/agent/"))
    expect(agent.get_by_role("link", name="Charts are blank <b>today</b>")).to_be_visible()
    assert customer_dialogs == [] and agent_dialogs == []
    agent_context.close()


def test_agent_works_the_queue_from_the_keyboard(page, tenant_url, acme_live):
    from tests.tickets.factories import make_ticket

    make_ticket(acme_live, subject="First in line")
    make_ticket(acme_live, subject="Second in line")
    page.goto(tenant_url(acme_live, "/agent/"))
    sign_in(page, acme_live.agent.email)
    expect(page.get_by_role("link", name="Second in line")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-shortcuts", "on")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(
        page.locator("table.queue tbody tr").nth(1).locator("input[type=checkbox]")
    ).to_be_checked()
    page.keyboard.press("o")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Second in line")
    expect(page.locator("html")).to_have_attribute("data-shortcuts", "on")
    page.keyboard.press("n")
    expect(page.get_by_label("Internal note (agents only)")).to_be_checked()
    expect(page.get_by_label("Your reply")).to_be_focused()
