"""Headers on every page, generated from the URL conf: the Content-Security-Policy on
every response, `Cache-Control: private, no-store` on every signed-in one and never on
the anonymous knowledge base; and no page carries markup the policy would refuse
(inline script, inline event handlers, inline styles), so none breaks under it.

Each route is requested by every persona with real objects for its parameters; a
route that answers no one with a page is listed in NOT_A_PAGE with the reason.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.admindocs.views import simplify_regex
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLResolver, get_resolver, include, reverse
from django.urls import path as url_path
from django.urls.resolvers import RoutePattern

from helpdesk.api_tokens import api_token_create
from helpdesk.security import is_signed_in
from knowledge.models import ArticleImage
from tests.chat.factories import make_chat
from tests.chat.widget import ORIGIN as WIDGET_ORIGIN
from tests.chat.widget import widget_on, widget_ticket
from tests.helpdesk.factories import PASSWORD
from tests.helpdesk.mfa import enrol_totp, operator_client, pass_second_factor
from tests.knowledge.factories import make_article
from tests.success.factories import make_task
from tests.tickets.factories import make_ticket, upload
from tickets.models import Attachment, Macro

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Responses that set a stricter policy of their own: served files run sandboxed.
OWN_POLICY = {"attachment_download", "api-attachment-detail"}
# Pages the help center shows in a frame of its own (the chat launcher's panel).
FRAMED_BY_OUR_PAGES = {"chat_page"}
# The chat widget's pages, framed by the tenant's product: by the sites the desk lists
# (the walk's desk lists one), a session's pages by the site its token came from.
FRAMED_BY_THE_TENANTS_SITES = {"widget_frame", "widget_home", "widget_article"}
# Routes that answer no persona's GET with a page (with these parameters), and why.
NOT_A_PAGE = {
    "hc_ticket_solve": "POST only",
    "hc_ticket_reopen": "POST only",
    "agent_bulk": "POST only",
    "agent_respond": "POST only",
    "agent_change": "POST only",
    "agent_merge": "POST only",
    "agent_mail_review": "POST only",
    "agent_call_log": "POST only",
    "kb_vote": "POST only",
    "success_note_create": "POST only",
    "success_task_claim": "POST only",
    "account_api_token_revoke": "POST only",
    "inbound_email": "POST only, for the mail gateway",
    "set_language": "POST only",
    "api-success-event-list": "POST only",
    "csat_survey": "a signed link: a made-up token gets the page refusing it",
    "csat_rate": "a signed link: a made-up token gets the page refusing it",
    "nps_survey": "a signed link: a made-up token gets the page refusing it",
    "nps_rate": "a signed link: a made-up token gets the page refusing it",
    "survey_opt_out": "a signed link: a made-up token gets the page refusing it",
    "account_confirm_login_code": "only inside allauth's login-by-code flow",
    "account_set_password": "only for people without a password",
    "kb_article_short": "redirects to the article's full address",
    "upgrade_go": "redirects to the plan's upgrade page (tests/plans/test_offer.py)",
    "upgrade_ask": "POST only",
    "chat_start": "POST only",
    "chat_files": "POST only",
    "chat_transcript": "POST only",
    "chat_rate": "POST only",
    "widget_loader": "redirects to the widget's script, for the tenant's page",
    "widget_session": "POST only (JSON)",
    "widget_start": "POST only",
    "widget_files": "POST only",
    "widget_transcript": "POST only",
    "widget_rate": "POST only",
    "widget_upgrade": "POST only",
    "dev_mail_list": "DEBUG only (tests/helpdesk/test_dev_outbox.py)",
    "dev_mail_detail": "DEBUG only",
    "dev_mail_html": "DEBUG only",
    None: "the API's catch-all JSON 404",
    # Two-factor pages (tests/helpdesk/test_mfa.py, tests/browser/test_mfa.py): the
    # sensitive ones first ask to confirm the password (allauth's reauthentication,
    # whose page the walk gets), the others need a sign-in in progress or a key.
    "mfa_activate_totp": "asks to confirm the password first",
    "mfa_deactivate_totp": "asks to confirm the password first",
    "mfa_view_recovery_codes": "asks to confirm the password first",
    "mfa_download_recovery_codes": "asks to confirm the password first",
    "mfa_generate_recovery_codes": "asks to confirm the password first",
    "mfa_add_webauthn": "asks to confirm the password first",
    "mfa_authenticate": "only during a sign-in's second step",
    "mfa_reauthenticate_webauthn": "only for a person with a security key",
    "mfa_edit_webauthn": "only for a security key of one's own",
    "mfa_remove_webauthn": "only for a security key of one's own",
}
# "enrolled": a customer with an authenticator app, past it in this session (the
# two-factor pages).
PERSONAS = ("anonymous", "customer", "enrolled", "agent", "admin", "token")
# Query strings a route needs to answer a page.
QUERIES = {"api-kb-article-search": {"q": "export"}, "kb_search": {"q": "export"}}


def _piece(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", str(pattern))
    return simplify_regex(str(pattern)).lstrip("/")


def routes(urlconf: str) -> list[tuple[str | None, str]]:
    """(name, path with <parameter> placeholders) of every route but the admin's."""

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if inner != "admin":
                    yield from walk(pattern.url_patterns, prefix + _piece(pattern.pattern), inner)
            else:
                yield pattern.name, prefix + _piece(pattern.pattern)

    return list(walk(get_resolver(urlconf).url_patterns, "/", None))


class InlineCode(HTMLParser):
    """What a page would need 'unsafe-inline' for: inline scripts, event handler
    attributes, javascript: URLs, style attributes and <style> elements."""

    DATA_SCRIPTS = ("application/json", "application/ld+json")

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script_open = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f'<{tag} style="{value}">')
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f'<{tag} {name}="{value}">')
        if tag == "style":
            self.found.append("<style>")
        self._script_open = (
            tag == "script"
            and "src" not in attributes
            and attributes.get("type", "") not in self.DATA_SCRIPTS
        )

    def handle_data(self, data):
        if self._script_open and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_open = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def walk_data(acme, tmp_path):
    """One of everything a route can name, visible to Acme's customer and staff."""
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    ticket = make_ticket(acme, uploads=[upload("screen.png", png, "image/png")])
    article = make_article(acme, "Export your data")
    with acme.scope():
        token, key = api_token_create(tenant=acme.tenant, user=acme.agent, name="walk")
        macro = Macro.objects.create(tenant=acme.tenant, name="Thanks", body="Thanks!")
        image = ArticleImage.objects.create(
            tenant=acme.tenant,
            name="Chart",
            file=ContentFile(png, name="chart.png"),
            content_type="image/png",
            size=len(png),
        )
        attachment = Attachment.objects.get(message__ticket=ticket)
    task = make_task(acme, acme.org, owner=acme.agent)
    chat = make_chat(acme)
    widget_on(acme)
    section = article.section
    values = {
        "number": ticket.number,
        "macro_id": macro.pk,
        "rank": 2,  # a plan by rank: Pro+, above the customer's Pro
        "token": "not-a-token",
        "rating": 5,
        "score": 9,
        "category_slug": section.category.slug,
        "uidb36": "1",
        "prefix": token.prefix,
        "name": "20260101T000000000000-0123abcd",
        "ticket": widget_ticket(acme, acme.customer),
    }
    by_route = {
        "kb_image": {"key": image.key},
        "kb_category": {"slug": section.category.slug},
        "kb_section": {"slug": section.slug},
        "kb_article": {"pk": article.pk, "slug": article.slug},
        "success_organization": {"pk": acme.org.pk},
        "success_note_create": {"pk": acme.org.pk},
        "success_task": {"pk": task.pk},
        "success_task_claim": {"pk": task.pk},
        "agent_chat_context": {"key": chat.key},
        "chat_files": {"key": chat.key},
        "chat_transcript": {"key": chat.key},
        "widget_files": {"key": chat.key},
        "widget_transcript": {"key": chat.key},
        "widget_rate": {"key": chat.key},
        "account_confirm_email": {"key": "not-a-key"},
        "account_reset_password_from_key": {"key": "not-a-key"},
    }
    defaults = {"key": attachment.key, "pk": article.pk, "slug": article.slug}

    def path_of(name, template):
        params = {**defaults, **values, **by_route.get(name, {})}
        return re.sub(r"<(\w+)>", lambda m: str(params[m.group(1)]), template)

    return path_of, key


def _client(acme, persona: str, api_key: str) -> Client:
    if persona == "token":
        return Client(HTTP_HOST=acme.host, HTTP_AUTHORIZATION=f"Token {api_key}")
    if persona == "enrolled":
        if not Authenticator.objects.filter(user=acme.other_customer).exists():
            enrol_totp(acme.other_customer)
        return pass_second_factor(acme.client(acme.other_customer), acme.other_customer)
    return acme.client(None if persona == "anonymous" else getattr(acme, persona))


def assert_headers(response, *, signed_in: bool, route, name=None) -> None:
    if name in OWN_POLICY and response.status_code == 200:
        assert "sandbox" in response["Content-Security-Policy"], route
    elif name in FRAMED_BY_OUR_PAGES and response.status_code == 200:
        framed = POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
        assert response["Content-Security-Policy"] == framed, route
    elif name in FRAMED_BY_THE_TENANTS_SITES and response.status_code == 200:
        framed = POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {WIDGET_ORIGIN}")
        assert response["Content-Security-Policy"] == framed, route
        assert "X-Frame-Options" not in response, route
    else:
        assert response["Content-Security-Policy"] == POLICY, route
    cache_control = response.get("Cache-Control", "")
    if signed_in:
        assert {"private", "no-store"} <= {p.strip() for p in cache_control.split(",")}, route
    if response["Content-Type"].startswith("text/html") and response.content:
        assert inline_code(response.content.decode()) == [], route


def test_every_route_carries_the_policy_and_signed_in_responses_are_private(acme, walk_data):
    path_of, api_key = walk_data
    answered_a_page = set()
    for route, template in routes("helpdesk.urls"):
        path = path_of(route, template)
        for persona in PERSONAS:
            if persona == "token" and not path.startswith("/api/"):
                continue
            response = _client(acme, persona, api_key).get(path, QUERIES.get(route))
            assert_headers(
                response, signed_in=persona != "anonymous", route=(route, persona), name=route
            )
            if response.status_code == 200:
                answered_a_page.add(route)
    unanswered = {route for route, _template in routes("helpdesk.urls")} - answered_a_page
    assert unanswered == set(NOT_A_PAGE), (
        "pages nobody got, or listed but got (fix the sample values or list why): "
        f"{sorted(map(str, unanswered ^ set(NOT_A_PAGE)))}"
    )


def test_anonymous_knowledge_base_pages_stay_cacheable(acme, walk_data):
    path_of, _key = walk_data
    public = []
    for route, template in routes("helpdesk.urls"):
        if not template.startswith("/kb/"):
            continue
        response = acme.client().get(path_of(route, template))
        if response.status_code != 200:  # suggestions while filing a request: signed in only
            continue
        public.append(route)
        cache_control = response.get("Cache-Control", "")
        assert "private" not in cache_control and "no-store" not in cache_control, route
        assert "Content-Security-Policy" in response
    # Home, search (page and JSON), category, section, article, image.
    assert len(public) == 7, public


def test_every_admin_page_of_a_desk_carries_the_policy(acme):
    client = acme.client(acme.admin)
    paths = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    for path in paths:
        response = client.get(path)
        # 302: the desk's one settings row opens its change page; 403: platform models.
        assert response.status_code in (200, 302, 403), path
        assert_headers(response, signed_in=True, route=path)
    # The sign-in page, to anyone.
    response = acme.client().get("/admin/login/")
    assert_headers(response, signed_in=False, route="admin login")


def test_the_platform_hosts_pages_carry_the_policy(db):
    client = operator_client()  # past their second factor, as operators must be
    for name, template in routes("helpdesk.urls_platform"):
        for visitor in (Client(HTTP_HOST="localhost"), client):
            response = visitor.get(template)
            assert response["Content-Security-Policy"] == POLICY, name
    for path in ("/", "/admin/", "/admin/helpdesk/tenant/", "/admin/helpdesk/tenant/add/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_headers(response, signed_in=True, route=path)


def test_error_pages_carry_the_policy(acme, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(HTTP_HOST=acme.host, raise_request_exception=False)
    for path, status in (("/no-such-page/", 404), ("/boom/", 500), ("/agent/", 302)):
        response = client.get(path)
        assert response.status_code == status
        assert response["Content-Security-Policy"] == POLICY, path
    assert acme.client(acme.customer).get("/agent/").status_code == 403
    unknown = Client(HTTP_HOST="nobody.localhost").get("/")
    assert unknown.status_code == 404 and unknown["Content-Security-Policy"] == POLICY


def test_the_input_guards_400_page_carries_the_policy(acme):
    client = acme.client(acme.customer)
    in_query = client.get("/kb/search/", {"q": "export\x00"})
    in_cookie = client.get("/kb/search/", HTTP_COOKIE="sessionid=abc\x00def")
    for response in (in_query, in_cookie):
        assert response.status_code == 400
        assert_headers(response, signed_in=True, route="400")


def test_static_files_keep_their_caching_for_signed_in_browsers(acme, settings):
    settings.WHITENOISE_USE_FINDERS = True  # read when the client's handler starts
    settings.WHITENOISE_AUTOREFRESH = True
    response = acme.client(acme.customer).get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_with_debug_djangos_own_error_pages_go_without_the_policy(acme, settings):
    """They are inline styles and scripts; without DEBUG they are never served."""
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    client = Client(HTTP_HOST=acme.host, raise_request_exception=False)
    for path in ("/no-such-page/", "/boom/"):
        assert "Content-Security-Policy" not in client.get(path)
    assert client.get("/service-levels/")["Content-Security-Policy"] == POLICY


def test_a_request_signing_in_gets_a_private_answer(acme):
    client = acme.client()
    response = client.post("/accounts/login/", {"login": acme.customer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]


def test_signed_in_means_credentials_came_with_the_request(rf, settings):
    assert not is_signed_in(rf.get("/"))
    assert is_signed_in(rf.get("/", HTTP_AUTHORIZATION="Token x"))
    cookie_request = rf.get("/")
    cookie_request.COOKIES[settings.SESSION_COOKIE_NAME] = "stale"
    assert is_signed_in(cookie_request)


def test_hsts_for_a_year_with_subdomains_on_https(acme):
    response = acme.client().get("/kb/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in acme.client().get("/kb/")


def test_the_scan_finds_what_the_policy_refuses():
    html = (
        '<p style="color:red" onclick="x()"><a href="javascript:x()">a</a></p>'
        "<style>p{}</style><script>alert(1)</script>"
        '<script src="/static/js/app.js"></script><script type="application/json">{}</script>'
    )
    assert inline_code(html) == [
        '<p style="color:red">',
        "<p onclick=...>",
        '<a href="javascript:x()">',
        "<style>",
        "<script>alert(1)",
    ]


def test_a_form_refused_by_csrf_protection_gets_our_page(acme):
    client = Client(HTTP_HOST=acme.host, enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "x@example.com", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert_headers(response, signed_in=False, route="csrf failure")


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [url_path("boom/", _boom), url_path("", include("helpdesk.urls"))]
