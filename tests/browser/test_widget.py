"""The chat widget in a tenant's product, in Chromium: a page served from another origin
(a tiny web server on another port; 127.0.0.1:<port> and acme.localhost:<port> are two
sites, so our frame is a third-party frame without our cookies) embeds the snippet; the
desk's real server (`make run`'s, tests/chat/server.py) serves the widget and its socket;
an agent answers from the console in a second browser context."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chat.models import Chat
from feedback.models import CsatSurvey
from helpdesk.tenancy import tenant_scope
from tests.browser.test_chat import agent_goes_online
from tests.browser.test_chat import server as server  # a fixture
from tests.chat.sockets import pro_plus_customer
from tests.chat.widget import identity_token, widget_on
from tests.knowledge.factories import make_article
from tickets.models import Message, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def product(tmp_path):
    """The tenant's product: a web server of its own, on another port."""
    site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield Product(tmp_path, site.server_address[1])
    site.shutdown()
    site.server_close()


class Product:
    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        # The same server under another name: another origin, not listed by the desk.
        self.foreign_origin = f"http://localhost:{port}"

    def page_with_widget(self, name: str, script: str, token: str) -> str:
        (self.root / name).write_text(
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Acme App</title>"
            f"<script src='{script}' data-token='{token}' async></script></head>"
            "<body><h1>Acme App dashboard</h1></body></html>"
        )
        return name


def open_product(browser, url: str):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    return page


def test_a_customer_chats_from_the_widget_in_the_tenants_product(browser, server, product, acme):
    widget_on(acme, product.origin)
    pat = pro_plus_customer(acme)
    make_article(acme, "Why the monthly report is slow", "Reports run overnight, after 02:00.")
    console = agent_goes_online(browser, server, acme, acme.agent)
    token = identity_token(acme, pat.email)
    name = product.page_with_widget("app.html", server.url(acme, "/widget.js"), token)

    app = open_product(browser, f"{product.origin}/{name}")
    app.get_by_role("button", name="Chat with us").click()
    widget = app.frame_locator("iframe[src$='/widget/']")
    expect(widget.locator(".widget-head")).to_contain_text("Signed in as Pat Plus")
    widget.get_by_label("What can we help you with?").fill("Reports will not load in the app")
    widget.get_by_role("button", name="Start chat").click()
    expect(widget.locator(".chat-status")).to_contain_text("in the queue")

    offer = console.locator(".console-offer")
    expect(offer).to_contain_text("Reports will not load in the app")
    offer.get_by_role("button", name="Accept").click()
    panel = console.locator(".chat-panel")
    expect(widget.locator(".chat-status")).to_contain_text("is here to help you")
    panel.locator("textarea").fill("Which report is it?")
    panel.get_by_role("button", name="Send").click()
    expect(widget.locator(".chat-log")).to_contain_text("Which report is it?")
    widget.locator("#chat-text").fill("The monthly one")
    widget.get_by_role("button", name="Send").click()
    expect(panel.locator(".chat-log")).to_contain_text("The monthly one")

    with tenant_scope(acme.tenant):
        chat = Chat.objects.get(customer=pat)
        assert list(
            Message.objects.filter(ticket=chat.ticket).order_by("pk").values_list("body", flat=True)
        ) == ["Reports will not load in the app", "Which report is it?", "The monthly one"]
    # The launcher closes the panel and opens it again where it was.
    app.get_by_role("button", name="Close the chat").click()
    app.get_by_role("button", name="Chat with us").click()
    expect(widget.locator(".chat-log")).to_contain_text("The monthly one")

    # The knowledge base is there too: search as you type, read inside the widget.
    widget.get_by_label("Search the knowledge base").fill("monthly report")
    results = widget.locator(".kb-typeahead")
    results.get_by_role("link", name="Why the monthly report is slow").click()
    expect(widget.locator(".kb-article")).to_contain_text("Reports run overnight")
    widget.get_by_role("link", name="Back").click()
    expect(widget.locator(".chat-log")).to_contain_text("The monthly one")

    # The agent ends the chat; the customer rates it in one click, inside the widget.
    console.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Very satisfied").click()
    expect(widget.locator(".notice")).to_contain_text("Thank you for rating this chat.")
    with tenant_scope(acme.tenant):
        assert CsatSurvey.objects.get(ticket=chat.ticket).rating == 5


def test_a_forged_token_is_refused_in_the_widget_and_opens_nothing(browser, server, product, acme):
    widget_on(acme, product.origin)
    pat = pro_plus_customer(acme)
    forged = identity_token(acme, pat.email, secret="a guess at the secret, long enough")
    name = product.page_with_widget("forged.html", server.url(acme, "/widget.js"), forged)

    app = open_product(browser, f"{product.origin}/{name}")
    app.get_by_role("button", name="Chat with us").click()
    widget = app.frame_locator("iframe[src$='/widget/']")
    expect(widget.get_by_role("alert")).to_contain_text(
        "signature does not match this desk's widget secret"
    )
    expect(widget.get_by_label("What can we help you with?")).to_have_count(0)
    with tenant_scope(acme.tenant):
        assert not Chat.objects.exists() and not Ticket.objects.exists()


def test_a_site_the_desk_does_not_list_cannot_show_the_widget(
    browser, server, product, acme, expected_csp_violations
):
    widget_on(acme, product.origin)
    pat = pro_plus_customer(acme)
    token = identity_token(acme, pat.email)
    name = product.page_with_widget("elsewhere.html", server.url(acme, "/widget.js"), token)

    app = open_product(browser, f"{product.foreign_origin}/{name}")
    app.get_by_role("button", name="Chat with us").click()
    # The browser refuses our frame there (frame-ancestors), so nothing of ours runs in it
    # and the launcher says the chat cannot open.
    expect(app.get_by_role("alert")).to_have_text(
        "The chat cannot open on this page.", timeout=20_000
    )
    frame = app.frame(url=lambda url: "/widget/" in url)
    assert frame is None or frame.locator(".widget-head, #widget-shell").count() == 0
    assert any("frame-ancestors" in violation for violation in expected_csp_violations)
    expected_csp_violations.clear()
    with tenant_scope(acme.tenant):
        assert not Chat.objects.exists()
