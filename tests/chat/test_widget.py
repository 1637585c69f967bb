"""The chat widget in a tenant's product (chat/widget.py): the identity token a tenant's
backend signs, the exchange for a widget session, the widget ticket, the widget's pages
and socket, the sites that may frame it, and that no desk, customer or site reaches what
it should not."""

import json
from datetime import timedelta

import jwt
import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from chat import services, widget
from chat.consumers import CLOSE_NO_SUCH_CHAT, CLOSE_SIGN_IN
from chat.models import Chat, ChatSettings
from helpdesk.models import Membership, Role, User
from helpdesk.sockets import CLOSE_FOREIGN_ORIGIN
from helpdesk.tenancy import tenant_scope
from tests.chat.sockets import Socket, pro_plus_customer
from tests.chat.widget import ORIGIN, identity_token, secret_of, widget_on, widget_ticket
from tests.helpdesk.factories import make_member
from tests.knowledge.factories import make_article
from tickets.models import Channel, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def identity(desk, token):
    with desk.scope():
        return widget.widget_identity(tenant=desk.tenant, token=token)


def refusal_of(desk, token) -> widget.WidgetRefused:
    with desk.scope(), pytest.raises(widget.WidgetRefused) as refused:
        widget.widget_identity(tenant=desk.tenant, token=token)
    return refused.value


def exchange(desk, token, origin=ORIGIN, **extra):
    return desk.client().post(
        "/widget/session/",
        json.dumps({"token": token, "origin": origin}),
        "application/json",
        **extra,
    )


def people_and_chats(desk):
    with desk.scope():
        return (
            User.objects.count(),
            Membership.objects.count(),
            Chat.objects.count(),
            Ticket.objects.count(),
        )


# -- the identity token -------------------------------------------------------------------------


def test_a_token_signed_with_the_desks_secret_names_its_customer(acme):
    widget_on(acme)
    found = identity(
        acme,
        identity_token(
            acme, acme.customer.email.upper(), external_id=42, organization="Acme Customer Co"
        ),
    )
    assert found.membership.user == acme.customer
    assert (found.external_id, found.organization) == ("42", "Acme Customer Co")


@pytest.mark.parametrize(
    ("case", "status", "code", "words"),
    [
        ("forged", 401, "bad_signature", "signature does not match"),
        ("another_desks_secret", 401, "bad_signature", "signature does not match"),
        ("expired", 401, "expired", "has expired"),
        ("no_exp", 400, "missing_claim", "no “exp” claim"),
        ("a_week_ahead", 400, "too_long", "within 24 hours"),
        ("no_email", 400, "missing_claim", "no “email” claim"),
        ("not_an_email", 400, "bad_claim", "not an email address"),
        ("alg_none", 401, "bad_algorithm", "HS256"),
        ("signed_in_the_future", 401, "not_yet", "not valid yet"),
        ("not_a_jwt", 400, "unreadable", "could not be read"),
        ("empty", 400, "no_token", "No sign-in token"),
        ("unknown_email", 403, "unknown_email", "Ask your account admin"),
        ("staff_email", 403, "staff", "the widget is for customers"),
        ("admin_email", 403, "staff", "the widget is for customers"),
        ("inactive_membership", 403, "inactive", "no longer has access"),
    ],
)
def test_a_bad_token_is_refused_with_a_clear_reason(acme, globex, case, status, code, words):
    widget_on(acme)
    email = acme.customer.email
    now = timezone.now()
    tokens = {
        "forged": lambda: identity_token(acme, email, secret="not-the-secret-" * 3),
        "another_desks_secret": lambda: identity_token(acme, email, secret=secret_of(globex)),
        "expired": lambda: identity_token(acme, email, lifetime=timedelta(minutes=-5)),
        "no_exp": lambda: jwt.encode({"email": email}, secret_of(acme), algorithm="HS256"),
        "a_week_ahead": lambda: identity_token(acme, email, lifetime=timedelta(days=7)),
        "no_email": lambda: jwt.encode(
            {"exp": now + timedelta(minutes=5)}, secret_of(acme), algorithm="HS256"
        ),
        "not_an_email": lambda: identity_token(acme, "carol"),
        "alg_none": lambda: jwt.encode(
            {"email": email, "exp": now + timedelta(minutes=5)}, None, algorithm="none"
        ),
        "signed_in_the_future": lambda: identity_token(
            acme, email, iat=now + timedelta(minutes=10), lifetime=timedelta(minutes=20)
        ),
        "not_a_jwt": lambda: "hello.world",
        "empty": lambda: "",
        "unknown_email": lambda: identity_token(acme, "stranger@acme-co.example"),
        "staff_email": lambda: identity_token(acme, acme.agent.email),
        "admin_email": lambda: identity_token(acme, acme.admin.email),
        "inactive_membership": lambda: identity_token(acme, email),
    }
    if case == "inactive_membership":
        with acme.scope():
            Membership.objects.filter(user=acme.customer).update(is_active=False)
    refused = refusal_of(acme, tokens[case]())
    assert (refused.status, refused.code) == (status, code)
    assert words in refused.message


def test_a_forged_token_learns_nothing_of_the_address_it_names(acme):
    """The signature is checked before anything else is looked at."""
    widget_on(acme)
    for email in (acme.customer.email, "nobody@acme-co.example", acme.agent.email):
        refused = refusal_of(acme, identity_token(acme, email, secret="guess-" * 8))
        assert refused.code == "bad_signature"


def test_a_token_of_desk_a_means_nothing_at_desk_b_even_for_the_same_address(acme, globex):
    widget_on(acme)
    widget_on(globex)
    # The same address at both desks: two people (docs/people.md).
    make_member(globex.tenant, acme.customer.email, Role.CUSTOMER, organization=globex.org)
    answer = globex.client().post(
        "/widget/session/",
        json.dumps({"token": identity_token(acme, acme.customer.email), "origin": ORIGIN}),
        "application/json",
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "bad_signature"


# -- the exchange --------------------------------------------------------------------------------


def test_the_exchange_opens_a_session_and_creates_nothing(acme):
    widget_on(acme)
    before = people_and_chats(acme)
    answer = exchange(acme, identity_token(acme, acme.customer.email))
    assert answer.status_code == 200, answer.content
    url = answer.json()["url"]
    assert url.startswith("/widget/t/")
    assert answer.json()["expires_in"] == widget.TICKET_SECONDS
    assert people_and_chats(acme) == before
    page = acme.client().get(url)
    assert page.status_code == 200
    assert "Signed in as Carol Customer" in page.content.decode()


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 10**12},  # the year 33658
        {"exp": 10**20},
        {"exp": str(10**12)},  # digits as text, which PyJWT accepts
        {"exp": 1e300},
        {"exp": float("nan")},
        {"exp": -(10**20)},
        {"exp": "soon"},
        {"iat": 10**20},
        {"nbf": 10**20},
        {"iat": "yesterday"},
        {"email": ["carol@acme-co.example"]},
        {"name": {"first": "Carol"}},
    ],
    ids=repr,
)
def test_a_token_the_desk_signed_with_odd_claims_is_refused_in_words(acme, claims):
    # The desk's own backend signed it, so only the claims can be wrong: a 4xx saying
    # which, never a 500.
    widget_on(acme)
    now = int(timezone.now().timestamp())
    payload = {"email": acme.customer.email, "iat": now, "exp": now + 600, **claims}
    answer = exchange(acme, jwt.encode(payload, secret_of(acme), algorithm="HS256"))
    assert 400 <= answer.status_code < 500, answer.content
    assert answer.json()["code"] and answer.json()["error"]


def test_a_name_the_account_lacks_comes_from_the_token_and_only_then(acme):
    widget_on(acme)
    nameless = make_member(acme.tenant, "nia@acme-co.example", Role.CUSTOMER, organization=acme.org)
    named = exchange(acme, identity_token(acme, nameless.email, name="Nia Nguyen"))
    assert named.status_code == 200
    renamed = exchange(acme, identity_token(acme, acme.customer.email, name="Someone Else"))
    assert renamed.status_code == 200
    with acme.scope():
        assert User.objects.get(pk=nameless.pk).full_name == "Nia Nguyen"
        assert User.objects.get(pk=acme.customer.pk).full_name == "Carol Customer"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (ORIGIN, True),
        ("https://APP.acme.example:443", True),  # the same origin, written otherwise
        ("http://app.acme.example", False),  # another scheme is another origin
        ("https://app.acme.example:8443", False),
        ("https://evil.example", False),
        ("https://app.acme.example.evil.example", False),
        ("null", False),  # a sandboxed or file: page
        ("", False),
        (None, False),
        (["https://app.acme.example"], False),
    ],
)
def test_the_exchange_takes_tokens_only_from_the_listed_sites(acme, origin, allowed):
    widget_on(acme)
    answer = exchange(acme, identity_token(acme, acme.customer.email), origin=origin)
    if allowed:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 403
        assert answer.json()["code"] == "foreign_origin"
        assert "may not show the chat widget" in answer.json()["error"]


def test_the_exchange_answers_our_own_frame_only(acme):
    """A page elsewhere posting straight to the exchange is refused by its Origin header,
    whatever origin its body claims (browsers set the header, not the page)."""
    widget_on(acme)
    token = identity_token(acme, acme.customer.email)
    answer = exchange(acme, token, HTTP_ORIGIN="https://evil.example")
    assert answer.status_code == 403 and answer.json()["code"] == "foreign_page"
    assert exchange(acme, token, HTTP_ORIGIN=f"http://{acme.host}").status_code == 200


def test_a_foreign_site_is_refused_before_its_token_is_read(acme):
    widget_on(acme)
    answer = exchange(acme, "not even a token", origin="https://evil.example")
    assert answer.json()["code"] == "foreign_origin"


def test_the_widget_turned_off_opens_nothing(acme):
    widget_on(acme, enabled=False)
    answer = exchange(acme, identity_token(acme, acme.customer.email))
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "The chat widget is turned off for this help desk.",
        "code": "off",
    }


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", '"a string"', "{" * 100 + "}" * 100, '{"token": "a\\u0000b"}'],
)
def test_a_bad_exchange_body_is_a_json_400(acme, body):
    widget_on(acme)
    answer = acme.client().post("/widget/session/", body, "application/json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"]


def test_the_exchange_is_post_only(acme):
    assert acme.client().get("/widget/session/").status_code == 405


def test_the_exchange_is_rate_limited_per_address(acme, settings):
    settings.WIDGET_SESSION_RATE = "3/min"
    widget_on(acme)
    token = identity_token(acme, acme.customer.email)
    codes = [exchange(acme, token, REMOTE_ADDR="10.9.8.7").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = exchange(acme, token, REMOTE_ADDR="10.9.8.7")
    assert "Too many sign-in attempts" in refused.json()["error"]
    assert int(refused["Retry-After"]) >= 1
    # Another address is not held up.
    assert exchange(acme, token, REMOTE_ADDR="10.9.8.8").status_code == 200


# -- the widget ticket ---------------------------------------------------------------------------


def widget_page(desk, ticket, path="", client=None, **query):
    return (client or desk.client()).get(f"/widget/t/{ticket}/{path}", query)


def assert_session_ended(response):
    assert response.status_code == 401
    assert "Your chat session has ended" in response.content.decode()


def test_a_widget_page_is_framed_only_by_the_site_its_token_came_from(acme):
    widget_on(acme, ORIGIN, "https://other.acme.example")
    page = widget_page(acme, widget_ticket(acme, acme.customer))
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert f"frame-ancestors {ORIGIN};" in policy + ";"
    assert "other.acme.example" not in policy
    assert "X-Frame-Options" not in page
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]


def test_the_frames_shell_may_be_framed_by_every_listed_site_and_no_other(acme):
    widget_on(acme, ORIGIN, "http://localhost:3000")
    shell = acme.client().get("/widget/")
    assert shell.status_code == 200
    assert f"frame-ancestors {ORIGIN} http://localhost:3000" in shell["Content-Security-Policy"]
    assert "X-Frame-Options" not in shell
    widget_on(acme, enabled=False)
    with acme.scope():
        ChatSettings.objects.update(widget_origins=[])
    assert "frame-ancestors 'none'" in acme.client().get("/widget/")["Content-Security-Policy"]


def test_the_loader_leads_to_the_current_script(acme):
    answer = acme.client().get("/widget.js")
    assert answer.status_code == 302
    assert answer["Location"].endswith(".js") and "/static/js/widget" in answer["Location"]
    assert "max-age=300" in answer["Cache-Control"]


def test_the_ticket_names_its_customer_whatever_session_comes_along(acme):
    """A same-site page sends our session cookie to the frame: the ticket still decides."""
    widget_on(acme)
    ticket = widget_ticket(acme, acme.customer)
    page = widget_page(acme, ticket, client=acme.client(acme.agent)).content.decode()
    assert "Signed in as Carol Customer" in page
    assert acme.agent.full_name not in page


def test_a_ticket_of_desk_a_is_nothing_at_desk_b(acme, globex):
    widget_on(acme)
    widget_on(globex)
    assert_session_ended(widget_page(globex, widget_ticket(acme, acme.customer)))


@pytest.mark.parametrize(
    "change", ["secret_rotated", "origin_removed", "membership_ended", "tampered", "expired"]
)
def test_a_ticket_is_checked_again_at_every_use(acme, change, monkeypatch):
    widget_on(acme, ORIGIN, "https://other.acme.example")
    ticket = widget_ticket(acme, acme.customer)
    assert widget_page(acme, ticket).status_code == 200
    with acme.scope():
        if change == "secret_rotated":
            widget.widget_secret_rotate(tenant=acme.tenant)
        elif change == "origin_removed":
            ChatSettings.objects.update(widget_origins=["https://other.acme.example"])
        elif change == "membership_ended":
            Membership.objects.filter(user=acme.customer).update(is_active=False)
    if change == "tampered":
        payload, rest = ticket.split(":", 1)
        ticket = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest
    if change == "expired":
        monkeypatch.setattr(widget, "TICKET_SECONDS", -1)
    page = widget_page(acme, ticket)
    if change == "origin_removed":
        assert page.status_code == 403
        assert "may not show the chat widget" in page.content.decode()
    else:
        assert_session_ended(page)
    assert "Continue" in page.content.decode() or change == "origin_removed"


def test_a_ticket_opens_only_its_own_customers_chat(acme):
    widget_on(acme)
    pat = pro_plus_customer(acme)
    sam = pro_plus_customer(acme, "sam@plus.example", "Sam Plus")
    with acme.scope():
        sams_chat = services.chat_start(membership=sam.memberships.get(), question="Sam's question")
    pats_ticket = widget_ticket(acme, pat)
    client = acme.client()
    upload = client.post(
        f"/widget/t/{pats_ticket}/chat/{sams_chat.key}/files/", {"attachments": []}
    )
    assert upload.status_code == 404 and upload.json()["code"] == "not_found"
    assert (
        client.post(f"/widget/t/{pats_ticket}/chat/{sams_chat.key}/transcript/").status_code == 404
    )
    assert "Sam&#x27;s question" not in widget_page(acme, pats_ticket).content.decode()

    socket = Socket(f"/ws/widget/{pats_ticket}/chat/{sams_chat.key}/", host=acme.host)
    assert socket.receive_until("error")["message"] == "This chat was not found."
    assert socket.closed() == CLOSE_NO_SUCH_CHAT


# -- the widget: chat and knowledge base -------------------------------------------------------


def online(desk, agent):
    with tenant_scope(desk.tenant):
        services.presence_set(membership=agent.memberships.get(), availability="online")


def test_a_pro_plus_customer_starts_a_chat_in_the_widget_and_talks_over_its_socket(acme):
    widget_on(acme)
    pat = pro_plus_customer(acme)
    online(acme, acme.agent)
    ticket = widget_ticket(acme, pat)
    home = widget_page(acme, ticket).content.decode()
    assert 'name="question"' in home and f"/widget/t/{ticket}/start/" in home

    started = acme.client().post(f"/widget/t/{ticket}/start/", {"question": "Export stuck"})
    assert started.status_code == 302
    assert started["Location"] == f"/widget/t/{ticket}/"
    with acme.scope():
        chat = Chat.objects.get(customer=pat)
        assert chat.ticket.channel == Channel.CHAT
    page = widget_page(acme, ticket).content.decode()
    assert f'data-socket="/ws/widget/{ticket}/chat/{chat.key}/"' in page
    assert "data-csrf" not in page  # no cookie, no CSRF token: the ticket is the key

    with acme.scope():
        services.offer_accept(chat=chat, membership=acme.agent.memberships.get())
    socket = Socket(f"/ws/widget/{ticket}/chat/{chat.key}/", host=acme.host)
    assert socket.connected
    socket.send(type="hello", after=0)
    assert socket.receive_until("state")["state"] == "active"
    socket.send(type="send", client_key="0" * 32, body="Hello from the widget")
    ack = socket.receive_until("ack")
    with acme.scope():
        message = Message.objects.get(pk=ack["id"])
    assert (message.author, message.body) == (pat, "Hello from the widget")
    socket.close()


def test_the_widgets_socket_refuses_a_forged_ticket_and_a_foreign_page(acme):
    widget_on(acme)
    pat = pro_plus_customer(acme)
    with acme.scope():
        chat = services.chat_start(membership=pat.memberships.get(), question="Hi")
    socket = Socket(f"/ws/widget/forged:ticket:abc/chat/{chat.key}/", host=acme.host)
    assert "session has ended" in socket.receive_until("error")["message"]
    assert socket.closed() == CLOSE_SIGN_IN
    # Only our own frame opens it: the tenant's page itself, or any other, is refused.
    ticket = widget_ticket(acme, pat)
    for origin in (ORIGIN, "https://evil.example"):
        socket = Socket(f"/ws/widget/{ticket}/chat/{chat.key}/", host=acme.host, origin=origin)
        assert socket.close_code == CLOSE_FOREIGN_ORIGIN


def test_with_nobody_online_the_widgets_question_becomes_a_request(acme):
    widget_on(acme)
    pat = pro_plus_customer(acme)
    ticket = widget_ticket(acme, pat)
    answer = acme.client().post(f"/widget/t/{ticket}/start/", {"question": "Anyone there?"})
    assert answer.status_code == 200
    assert "We have your message as request #" in answer.content.decode()
    with acme.scope():
        assert Ticket.objects.get(requester=pat).channel == Channel.WEB
        assert not Chat.objects.exists()


def test_a_plan_without_chat_gets_the_upsell_and_the_knowledge_base_only(acme):
    widget_on(acme)
    ticket = widget_ticket(acme, acme.customer)  # Carol is on Pro
    page = widget_page(acme, ticket).content.decode()
    assert "Live chat is not part of your plan" in page
    assert "Ask us about Pro+" in page
    assert 'name="question"' not in page
    assert "Search our help articles" in page
    refused = acme.client().post(f"/widget/t/{ticket}/start/", {"question": "Let me in"})
    assert refused.status_code == 403
    with acme.scope():
        assert not Chat.objects.exists() and not Ticket.objects.exists()

    asked = acme.client().post(f"/widget/t/{ticket}/upgrade/{acme.pro_plus.rank}/")
    assert asked.status_code == 200
    assert "we have your question about Pro+" in asked.content.decode()
    with acme.scope():
        assert Ticket.objects.get().requester == acme.customer


def test_the_knowledge_base_in_the_widget_shows_what_the_customers_plan_may_read(acme):
    widget_on(acme)
    everyone = make_article(acme, "Exporting invoices to Excel")
    plus_only = make_article(acme, "Exporting invoices by API", plans=[acme.pro_plus])
    ticket = widget_page_ticket = widget_ticket(acme, acme.customer)  # on Pro
    found = acme.client().get(f"/widget/t/{ticket}/kb/search.json", {"q": "exporting invoices"})
    assert found.status_code == 200
    results = found.json()["results"]
    assert [r["title"] for r in results] == ["Exporting invoices to Excel"]
    assert results[0]["url"] == reverse("widget_article", args=[ticket, everyone.pk])
    page = widget_page(acme, widget_page_ticket, q="exporting invoices").content.decode()
    assert "Exporting invoices to Excel" in page and "by API" not in page
    article = acme.client().get(results[0]["url"])
    assert article.status_code == 200
    assert "Exporting invoices to Excel" in article.content.decode()
    hidden = acme.client().get(reverse("widget_article", args=[ticket, plus_only.pk]))
    assert hidden.status_code == 404
    assert "This was not found." in hidden.content.decode()


def test_a_forged_ticket_on_a_json_route_is_a_json_401(acme):
    widget_on(acme)
    answer = acme.client().get("/widget/t/forged/kb/search.json", {"q": "x"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "session_ended"


def test_a_nul_in_a_widget_form_is_a_400(acme):
    widget_on(acme)
    pat = pro_plus_customer(acme)
    answer = acme.client().post(
        f"/widget/t/{widget_ticket(acme, pat)}/start/", {"question": "Hi\x00"}
    )
    assert answer.status_code == 400
    assert "NUL character" in answer.content.decode()


# -- the allowed origins and the admin -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://App.Example.com", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://x.example  ", "https://x.example"),
    ],
)
def test_origins_are_written_as_browsers_write_them(typed, origin):
    assert widget.origin_normalized(typed) == origin


@pytest.mark.parametrize(
    "typed",
    [
        "app.example.com",
        "ftp://app.example.com",
        "https://app.example.com/app",
        "https://app.example.com?x=1",
        "https://app.example.com#top",
        "https://user@app.example.com",
        "https://*.example.com",
        "https://app.example.com:99999",
        "https://app.example.com:0",
        "https://exa mple.com",
        "https://bücher.example",
        "https://",
        "javascript:alert(1)",
    ],
)
def test_anything_but_an_origin_is_refused(typed):
    with pytest.raises(widget.ValidationError):
        widget.origin_normalized(typed)


def admin_url(desk, name, *args):
    return reverse(f"admin:chat_chatsettings_{name}", args=args)


def test_admins_list_origins_one_per_line_and_get_them_normalized(acme):
    widget_on(acme, enabled=False)
    with acme.scope():
        rules = ChatSettings.objects.get()
    client = acme.client(acme.admin)
    fields = {
        "capacity": 3,
        "offer_seconds": 30,
        "grace_seconds": 60,
        "widget_enabled": "on",
    }
    bad = client.post(
        admin_url(acme, "change", rules.pk),
        {**fields, "widget_origins": "https://app.example.com/login\nexample.org"},
    )
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "https://app.example.com/login" in body and "is not an origin like" in body
    good = client.post(
        admin_url(acme, "change", rules.pk),
        {
            **fields,
            "widget_origins": "https://App.Example.com:443/\nhttp://localhost:3000, https://app.example.com",
        },
    )
    assert good.status_code == 302
    with acme.scope():
        rules.refresh_from_db()
    assert rules.widget_origins == ["https://app.example.com", "http://localhost:3000"]
    assert rules.widget_enabled


def test_admins_see_their_secret_and_snippet_and_rotate_it_after_confirming(acme, globex):
    widget_on(acme)
    widget_on(globex)
    with acme.scope():
        rules = ChatSettings.objects.get()
    old = rules.widget_secret
    client = acme.client(acme.admin)
    page = client.get(admin_url(acme, "change", rules.pk)).content.decode()
    assert old in page and secret_of(globex) not in page
    assert "/widget.js" in page and "data-token" in page

    confirm = client.get(admin_url(acme, "rotate_widget_secret", rules.pk))
    assert confirm.status_code == 200
    assert secret_of(acme) == old  # asking changes nothing
    assert client.post(admin_url(acme, "rotate_widget_secret", rules.pk)).status_code == 302
    new = secret_of(acme)
    assert new != old
    with acme.scope():
        logged = LogEntry.objects.get(object_id=str(rules.pk))
    assert old not in logged.change_message and new not in logged.change_message
    assert "widget secret" in logged.get_change_message()
    # Tokens signed with the old secret are refused from now on.
    assert exchange(acme, identity_token(acme, acme.customer.email, secret=old)).status_code == 401
    assert exchange(acme, identity_token(acme, acme.customer.email)).status_code == 200


def test_an_admin_cannot_rotate_another_desks_secret_nor_an_agent_their_own(acme, globex):
    widget_on(globex)
    with globex.scope():
        theirs = ChatSettings.objects.get()
    before = secret_of(globex)
    for method in ("get", "post"):
        answer = getattr(acme.client(acme.admin), method)(
            admin_url(acme, "rotate_widget_secret", theirs.pk)
        )
        assert answer.status_code == 404
    assert secret_of(globex) == before
    ours = widget_on(acme)
    answer = acme.client(acme.agent).post(admin_url(acme, "rotate_widget_secret", ours.pk))
    assert answer.status_code in (302, 403)
    assert secret_of(acme) == ours.widget_secret


def test_each_desk_has_its_own_secret(acme, globex):
    assert secret_of(acme) != secret_of(globex)
    assert len(secret_of(acme)) >= 40


def test_platform_operators_browsing_every_desk_do_not_see_its_widget_secret(acme):
    from tests.helpdesk.mfa import operator_client

    rules = widget_on(acme)
    page = operator_client().get(admin_url(acme, "change", rules.pk))
    assert page.status_code == 200
    assert rules.widget_secret not in page.content.decode()


def test_refusals_speak_the_readers_language(acme):
    widget_on(acme)
    forged = identity_token(acme, acme.customer.email, secret="x" * 40)
    answer = exchange(acme, forged, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "签名与此服务台的小组件密钥不符" in answer.json()["error"]
    ended = acme.client().get("/widget/t/forged/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "您的聊天会话已结束" in ended.content.decode()


def test_files_and_the_transcript_from_the_widget(acme):
    from django.core import mail
    from django.core.files.uploadedfile import SimpleUploadedFile

    widget_on(acme)
    online(acme, acme.agent)
    pat = pro_plus_customer(acme)
    with acme.scope():
        chat = services.chat_start(membership=pat.memberships.get(), question="Export fails")
    ticket = widget_ticket(acme, pat)
    client = acme.client()
    sent = client.post(
        f"/widget/t/{ticket}/chat/{chat.key}/files/",
        {"attachments": [SimpleUploadedFile("log.txt", b"row 500 failed", "text/plain")]},
    )
    assert sent.status_code == 200, sent.content
    with acme.scope():
        assert Message.objects.get(pk=sent.json()["id"]).attachments.get().name == "log.txt"
    refused = client.post(
        f"/widget/t/{ticket}/chat/{chat.key}/files/",
        {"attachments": [SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/octet-stream")]},
    )
    assert refused.status_code == 400 and refused.json()["error"]

    mail.outbox.clear()
    answer = client.post(f"/widget/t/{ticket}/chat/{chat.key}/transcript/")
    assert answer.status_code == 302
    assert answer["Location"] == f"/widget/t/{ticket}/?sent=transcript"
    page = client.get(answer["Location"]).content.decode()
    assert f"The transcript is on its way to {pat.email}." in page
    assert [m.to for m in mail.outbox if "Your chat" in m.subject] == [[pat.email]]


def test_the_widgets_chat_ends_with_a_one_click_rating_of_its_own_customer_only(acme):
    from feedback.models import CsatSurvey

    widget_on(acme)
    online(acme, acme.agent)
    pat = pro_plus_customer(acme)
    sam = pro_plus_customer(acme, "sam@plus.example", "Sam Plus")
    with acme.scope():
        chat = services.chat_start(membership=pat.memberships.get(), question="Export fails")
        agent = acme.agent.memberships.get()
        services.offer_accept(chat=chat, membership=agent)
        services.chat_post(chat=chat, author=acme.agent, membership=agent, body="Fixed!")
    ticket = widget_ticket(acme, pat)
    # The open chat carries its rating form, shown by the script when the chat ends.
    page = widget_page(acme, ticket).content.decode()
    assert (
        f'action="/widget/t/{ticket}/chat/{chat.key}/rate/" class="chat-rate card" hidden' in page
    )
    with acme.scope():
        services.chat_end(chat=chat, actor=acme.agent)
    client = acme.client()
    # Another customer's widget cannot rate Pat's chat.
    sams = client.post(f"/widget/t/{widget_ticket(acme, sam)}/chat/{chat.key}/rate/", {"rating": 1})
    assert sams.status_code == 404
    refused = client.post(f"/widget/t/{ticket}/chat/{chat.key}/rate/", {"rating": "six"})
    assert "Choose a rating from 1 to 5." in client.get(refused["Location"]).content.decode()
    answer = client.post(f"/widget/t/{ticket}/chat/{chat.key}/rate/", {"rating": "5"})
    assert answer["Location"] == f"/widget/t/{ticket}/?sent=rating"
    assert "Thank you for rating this chat." in client.get(answer["Location"]).content.decode()
    with acme.scope():
        assert CsatSurvey.objects.get(ticket=chat.ticket).rating == 5
        assert services.chat_json(chat)["can_rate"] is False
