"""Live chat in two real browsers (a Pro+ customer and an agent) over real websockets:
the server `make run` starts (two processes on one port), the Redis channel layer, the
test database."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat.models import Chat
from feedback.models import CsatSurvey
from helpdesk.tenancy import tenant_scope
from tests.chat.server import WebServer
from tests.chat.sockets import pro_plus_customer, session_cookie
from tickets.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path):
    web = WebServer(tmp_path / "web.log").start()
    yield web
    web.stop()


def signed_in(browser, server, desk, user, *, locale="en-US"):
    context = browser.new_context(locale=locale)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session_cookie(desk.host, user),
                "url": server.url(desk),
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def agent_goes_online(browser, server, desk, agent):
    console = signed_in(browser, server, desk, agent)
    console.goto(server.url(desk, "/agent/chat/"))
    # Connected (the team comes over the socket), then online, and stored as such: a
    # customer's page rendered from now on offers the chat.
    expect(console.locator(".console-team")).to_contain_text(agent.display_name)
    console.select_option("#availability", "online")
    mine = console.locator(".console-team .presence-online").filter(has_text=agent.display_name)
    expect(mine).to_be_visible()
    return console


def customer_starts_chat(browser, server, desk, customer, question):
    page = signed_in(browser, server, desk, customer)
    page.goto(server.url(desk, "/"))
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator(".chat-launcher iframe")
    frame.get_by_label("What can we help you with?").fill(question)
    frame.get_by_role("button", name="Start chat").click()
    expect(frame.locator(".chat-status")).to_contain_text("in the queue")
    return page, frame


def test_a_pro_plus_customer_and_an_agent_chat_in_two_browsers(browser, server, acme):
    pat = pro_plus_customer(acme)
    console = agent_goes_online(browser, server, acme, acme.agent)
    _page, chat = customer_starts_chat(browser, server, acme, pat, "Invoices will not export")

    offer = console.locator(".console-offer")
    expect(offer).to_contain_text("Invoices will not export")
    offer.get_by_role("button", name="Accept").click()
    panel = console.locator(".chat-panel")
    expect(panel.locator(".chat-log")).to_contain_text("Invoices will not export")
    expect(chat.locator(".chat-status")).to_contain_text("is here to help you")
    # The customer panel the ticket page has, beside the chat.
    expect(panel.locator(".chat-panel-context")).to_contain_text(pat.display_name)

    panel.locator("textarea").fill("Which format do you export to?")
    panel.get_by_role("button", name="Send").click()
    expect(chat.locator(".chat-log")).to_contain_text("Which format do you export to?")
    # She has read it: the agent sees so.
    expect(panel.locator(".chat-agent .chat-state")).to_have_text("Read")

    chat.locator("#chat-text").fill("CSV, since this morning")
    chat.get_by_role("button", name="Send").click()
    expect(panel.locator(".chat-log")).to_contain_text("CSV, since this morning")
    # Stored, delivered, and read on the agent's open console.
    expect(chat.locator(".chat-customer .chat-state").last).to_have_text("Read")

    with tenant_scope(acme.tenant):
        chat_row = Chat.objects.get(customer=pat)
        assert list(
            Message.objects.filter(ticket=chat_row.ticket)
            .order_by("pk")
            .values_list("body", flat=True)
        ) == [
            "Invoices will not export",
            "Which format do you export to?",
            "CSV, since this morning",
        ]

    # The customer ends the chat and rates it in one click, recorded as the ticket's CSAT.
    _page.once("dialog", lambda dialog: dialog.accept())
    chat.get_by_role("button", name="End chat").click()
    chat.get_by_role("button", name="Satisfied", exact=True).click()
    expect(chat.locator("body")).to_contain_text("Thank you for rating this chat.")
    with tenant_scope(acme.tenant):
        assert CsatSurvey.objects.get(ticket=chat_row.ticket).rating == 4
