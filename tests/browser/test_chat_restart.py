"""Nothing lost, nothing shown twice, when the server dies mid-chat: the real server
(gunicorn with uvicorn workers) killed with SIGKILL while a customer and an agent talk,
a message typed while it is down, the server started again on the same port."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat import services
from helpdesk.tenancy import tenant_scope
from tests.chat.server import WebServer
from tests.chat.sockets import pro_plus_customer, session_cookie
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _page(browser, server, desk, user):
    context = browser.new_context(locale="en-US")
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
    page.set_default_timeout(20_000)
    return page


def test_a_chat_survives_the_server_killed_mid_chat(browser, acme, tmp_path):
    server = WebServer(tmp_path / "web.log").start()
    try:
        pat = pro_plus_customer(acme)
        with tenant_scope(acme.tenant):
            agent = acme.agent.memberships.get()
            services.presence_set(membership=agent, availability="online")
            chat = services.chat_start(membership=pat.memberships.get(), question="Is it saved?")
            services.offer_accept(chat=chat, membership=agent)

        console = _page(browser, server, acme, acme.agent)
        console.goto(server.url(acme, "/agent/chat/"))
        panel = console.locator(".chat-panel")
        expect(panel.locator(".chat-log")).to_contain_text("Is it saved?")
        customer = _page(browser, server, acme, pat)
        customer.goto(server.url(acme, "/chat/"))
        expect(customer.locator(".chat-status")).to_contain_text("is here to help you")

        panel.locator("textarea").fill("Before the crash")
        panel.get_by_role("button", name="Send").click()
        expect(customer.locator(".chat-log")).to_contain_text("Before the crash")

        server.kill()
        # She types while the server is gone: the page keeps it and says so.
        customer.locator("#chat-text").fill("Typed while you were down")
        customer.get_by_role("button", name="Send").click()
        expect(customer.locator(".chat-error")).to_contain_text("Reconnecting")
        expect(customer.locator(".chat-customer .chat-state").last).to_have_text("Sending…")

        server = WebServer(tmp_path / "web.log", port=server.port).start()
        # Both reconnect on their own: her message arrives once, nothing is shown twice.
        expect(panel.locator(".chat-log")).to_contain_text("Typed while you were down")
        panel.locator("textarea").fill("After the restart")
        panel.get_by_role("button", name="Send").click()
        expect(customer.locator(".chat-log")).to_contain_text("After the restart")
        for log in (customer.locator(".chat-log"), panel.locator(".chat-log")):
            expect(log.locator(".chat-line")).to_have_count(4)
        with tenant_scope(acme.tenant):
            bodies = list(
                Message.objects.filter(ticket=chat.ticket)
                .order_by("pk")
                .values_list("body", flat=True)
            )
        assert bodies == [
            "Is it saved?",
            "Before the crash",
            "Typed while you were down",
            "After the restart",
        ]
    finally:
        server.stop()
