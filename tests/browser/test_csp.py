"""Our Content-Security-Policy in Chromium: the pages that run scripts (htmx, our files,
the admin's, Swagger UI's) work under it and Chromium reports no violation (the
`no_csp_violations` fixture of conftest.py checks every browser test); a customer's
external image is not even requested until the reader asks to see it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from knowledge.demo import load_articles
from tests.browser.helpers import sign_in
from tests.tickets.factories import make_ticket
from tickets.models import Macro

pytestmark = pytest.mark.browser

# A 1x1 transparent PNG: what a tracking pixel is.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


@pytest.fixture
def acme_live(transactional_db, acme):
    with acme.scope():
        load_articles(acme.tenant, demo_only=True)
        Macro.objects.create(tenant=acme.tenant, name="Thanks", body="Thanks, {{ customer.name }}!")
    return acme


@pytest.fixture
def tracker():
    """Another origin (127.0.0.1 on a port of its own) serving a pixel and recording
    every request that reaches it."""
    requests: list[str] = []

    class Pixel(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Cache-Control", "no-store")  # every view would ask again
            self.end_headers()
            self.wfile.write(PIXEL)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_agent_pages_run_their_scripts_under_the_policy(page, tenant_url, acme_live):
    acme = acme_live
    ticket = make_ticket(acme, subject="Export fails")
    page.goto(tenant_url(acme, "/agent/"))
    sign_in(page, acme.agent.email)
    # shortcuts.js and sla.js ran; htmx is loaded without injecting a <style>.
    expect(page.locator("html")).to_have_attribute("data-shortcuts", "on")
    assert page.evaluate("window.htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("window.htmx.config.allowEval") is False

    # The ticket page: htmx polls presence, agent-ticket.js says whether we are typing.
    with page.expect_request(lambda r: r.url.endswith("/presence/")) as first_poll:
        page.goto(tenant_url(acme, f"/agent/tickets/{ticket.number}/"))
    assert "typing=0" in (first_poll.value.post_data or "")
    page.get_by_label("Macro").select_option(label="Thanks")
    expect(page.get_by_label("Your reply")).to_have_value("Thanks, Carol Customer!")
    with page.expect_request(lambda r: r.url.endswith("/presence/"), timeout=15_000) as poll:
        pass
    assert "typing=1" in (poll.value.post_data or "")


def test_admin_pages_dashboards_and_api_docs_log_no_violation(page, tenant_url, acme_live):
    acme = acme_live
    make_ticket(acme, subject="Export fails")
    page.goto(tenant_url(acme, "/accounts/login/?next=/admin/"))
    sign_in(page, acme.admin.email)
    expect(page.get_by_role("heading", name="Configuration", level=1)).to_be_visible()
    for path in (
        "/admin/helpdesk/membership/",  # actions, filters, search
        "/admin/sla/businesscalendar/add/",  # time widgets, inlines
        "/admin/plans/organization/add/",  # date widgets, related-object links
        "/admin/knowledge/article/add/",
        "/admin/tickets/suspendedemail/",
        "/agent/reports/",
        "/agent/reports/sla/",
        "/agent/success/reports/",
        "/agent/kb/insights/",
        "/account/api-tokens/",
    ):
        response = page.goto(tenant_url(acme, path))
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    # Swagger UI starts from its script file and fetches the schema.
    page.goto(tenant_url(acme, "/api/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Helpdesk API")
    expect(page.locator(".opblock").first).to_be_visible()


def test_help_center_and_knowledge_base_log_no_violation(page, tenant_url, acme_live):
    acme = acme_live
    page.goto(tenant_url(acme, "/kb/"))
    page.get_by_label("Search the knowledge base").fill("export")
    expect(page.locator(".kb-typeahead").get_by_role("link").first).to_be_visible()
    page.goto(tenant_url(acme, "/no-such-page/"))
    page.goto(tenant_url(acme, "/tickets/new/"))
    sign_in(page, acme.customer.email)
    page.get_by_label("Subject").fill("export times out")
    expect(page.locator("#kb-suggestions").get_by_role("link").first).to_be_visible()


def test_a_violation_is_caught(page, tenant_url, acme_live, expected_csp_violations):
    """The watch itself: an inline script on one of our pages is reported."""
    page.goto(tenant_url(acme_live, "/kb/"))
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = \"document.title = 'ran'\"; document.head.append(s); }"
    )
    expect(page).not_to_have_title("ran")
    assert any("inline script" in text for text in expected_csp_violations)
    expected_csp_violations.clear()


@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_an_external_image_is_not_requested_until_the_reader_asks(
    page, tenant_url, acme_live, tracker, persona
):
    acme = acme_live
    origin, requests = tracker
    ticket = make_ticket(
        acme, subject="See the chart", body=f"Here: ![chart]({origin}/pixel.png?m=1) thanks"
    )
    path = (
        f"/agent/tickets/{ticket.number}/" if persona == "agent" else f"/tickets/{ticket.number}/"
    )
    page.goto(tenant_url(acme, path))
    sign_in(page, getattr(acme, persona).email)
    expect(page.locator(".notice.external-images")).to_contain_text(
        "External images in this conversation are blocked"
    )
    image = page.locator(".message-body img[alt=chart]")
    expect(image).to_have_attribute("src", "/static/img/external-image.svg")
    page.wait_for_load_state("networkidle")
    assert requests == []

    page.get_by_role("link", name="Show external images").click()
    expect(page.locator(".notice.external-images")).to_contain_text("shown for this view only")
    expect(image).to_have_attribute("src", f"{origin}/pixel.png?m=1")
    page.wait_for_function("document.querySelector('.message-body img[alt=chart]').complete")
    assert page.evaluate("document.querySelector('.message-body img[alt=chart]').naturalWidth") == 1
    assert requests == ["/pixel.png?m=1"]

    # For that view only: the next one blocks them again.
    page.get_by_role("link", name="Hide external images").click()
    expect(image).to_have_attribute("src", "/static/img/external-image.svg")
    page.wait_for_load_state("networkidle")
    assert requests == ["/pixel.png?m=1"]


def test_the_dev_outbox_shows_a_mails_inline_styles_in_its_own_frame(
    page, tenant_url, acme_live, settings, tmp_path
):
    from django.core.mail import EmailMultiAlternatives, get_connection

    from helpdesk.tenancy import tenant_scope

    settings.DEBUG = True
    settings.EMAIL_BACKEND = "helpdesk.mail.DevOutboxBackend"
    settings.DEV_OUTBOX_DIR = tmp_path / "mail"
    message = EmailMultiAlternatives(
        "Styled mail",
        "Plain",
        "desk@acme.example",
        ["carol@acme-co.example"],
        connection=get_connection("helpdesk.mail.DevOutboxBackend"),
    )
    message.attach_alternative('<p style="color: rgb(200, 0, 0)">Red words</p>', "text/html")
    with tenant_scope(acme_live.tenant):
        message.send()
    page.goto(tenant_url(acme_live, "/dev/mail/"))
    page.get_by_role("link", name="Styled mail").click()
    words = page.frame_locator("iframe.mail-frame").get_by_text("Red words")
    expect(words).to_have_css("color", "rgb(200, 0, 0)")
