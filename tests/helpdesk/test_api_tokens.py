"""Personal API tokens: the page at /account/api-tokens/, the services behind it, and
signing in to the REST API with `Authorization: Token <key>`."""

import hashlib
import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.api_tokens import MAX_ACTIVE_TOKENS, api_token_create, api_token_revoke
from helpdesk.models import ApiToken, Membership, Role, User
from tests.helpdesk.factories import make_member, make_user
from tests.tickets.factories import make_ticket
from tickets.models import Ticket

PAGE = "/account/api-tokens/"
PERSONAS = ["customer", "other_customer", "agent", "admin"]


def _text(response) -> str:
    return response.content.decode()


def _create(desk, user, name="Status dashboard") -> tuple[ApiToken, str]:
    with desk.scope():
        return api_token_create(tenant=desk.tenant, user=user, name=name)


def _token(desk, pk) -> ApiToken:
    with desk.scope():
        return ApiToken.objects.get(pk=pk)


def _api(desk, key: str) -> Client:
    return Client(HTTP_HOST=desk.host, HTTP_AUTHORIZATION=f"Token {key}")


def _shown_key(page: str) -> str:
    [key] = re.findall(r'id="new-key" type="text" value="([^"]+)"', page)
    return html.unescape(key)


# -- the page -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(acme):
    for method in ("get", "post"):
        response = getattr(acme.client(), method)(PAGE, {"name": "x"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    with acme.scope():
        assert not ApiToken.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_member_can_open_the_page(acme, persona):
    response = acme.client(getattr(acme, persona)).get(PAGE)
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>API tokens</h1>" in page
    assert "You have no API tokens yet." in page
    assert 'href="/api/docs/"' in page


@pytest.mark.parametrize("persona", ["customer", "agent", "admin"])
def test_people_of_another_desk_are_asked_to_sign_in(acme, globex, persona):
    client = globex.client(getattr(globex, persona))
    client.defaults["HTTP_HOST"] = acme.host  # their Globex session, at Acme
    for response in (client.get(PAGE), client.post(PAGE, {"name": "Sneaky"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    with acme.scope():
        assert not ApiToken.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_creating_a_token_shows_its_key_once(acme, persona):
    user = getattr(acme, persona)
    client = acme.client(user)

    response = client.post(PAGE, {"name": "  Status   dashboard "})

    assert response.status_code == 200
    page = _text(response)
    assert "Your new token “Status dashboard”" in page
    assert "Copy it now: it is shown only this once." in page
    assert "no-store" in response["Cache-Control"]
    key = _shown_key(page)
    with acme.scope():
        token = ApiToken.objects.get()
    assert token.user == user and token.name == "Status dashboard"
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert key not in {token.name, token.prefix, token.digest}
    assert f"<code>{token.prefix}…</code>" in page
    assert "Never" in page
    # The key is not shown again.
    again = _text(client.get(PAGE))
    assert key not in again
    assert "Status dashboard" in again and f"{token.prefix}…" in again


def test_the_new_key_works_on_the_api_and_the_list_shows_when_it_was_used(acme):
    client = acme.client(acme.agent)
    key = _shown_key(_text(client.post(PAGE, {"name": "CI"})))
    make_ticket(acme)

    response = _api(acme, key).get("/api/v1/tickets/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    page = _text(client.get(PAGE))
    assert "Never" not in page


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
    ],
)
def test_a_token_needs_a_sensible_name(acme, name, error):
    response = acme.client(acme.customer).post(PAGE, {"name": name})
    assert response.status_code == 200
    page = _text(response)
    assert html.escape(error) in page or error in page
    assert 'id="new-key"' not in page
    with acme.scope():
        assert not ApiToken.objects.exists()


def test_the_list_shows_only_my_tokens_in_this_tenant(acme, globex):
    _create(acme, acme.customer, "Mine")
    _create(acme, acme.agent, "The agent's")
    # The same address is also a customer's at Globex (their own account there), with a token.
    namesake = make_member(globex.tenant, acme.customer.email, Role.CUSTOMER)
    _create(globex, namesake, "Made at Globex")

    page = _text(acme.client(acme.customer).get(PAGE))

    assert "Mine" in page
    assert "The agent's" not in page and "Made at Globex" not in page


def test_revoking_a_token_stops_it_working(acme):
    token, key = _create(acme, acme.customer)
    client = acme.client(acme.customer)
    assert _api(acme, key).get("/api/v1/tickets/").status_code == 200

    response = client.post(f"{PAGE}{token.prefix}/revoke/", follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    page = _text(response)
    assert "Revoked “Status dashboard”. Programs using it can no longer sign in." in page
    assert "Revoked " in page and "revoke/" not in page  # no revoke button any more
    assert _token(acme, token.pk).revoked_at is not None
    refused = _api(acme, key).get("/api/v1/tickets/")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or revoked token."}


def test_nobody_else_can_revoke_my_token(acme, globex):
    token, key = _create(acme, acme.customer)
    for client in (
        acme.client(acme.other_customer),
        acme.client(acme.admin),
    ):
        response = client.post(f"{PAGE}{token.prefix}/revoke/")
        assert response.status_code == 404
    outsider = globex.client(globex.customer)
    outsider.defaults["HTTP_HOST"] = acme.host
    assert outsider.post(f"{PAGE}{token.prefix}/revoke/").status_code == 302  # to sign in
    assert _token(acme, token.pk).revoked_at is None
    assert _api(acme, key).get("/api/v1/tickets/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", PAGE), ("delete", PAGE), ("get", PAGE + "{prefix}/revoke/")],
)
def test_wrong_http_method_is_405(acme, method, path):
    token, _key = _create(acme, acme.customer)
    response = getattr(acme.client(acme.customer), method)(path.format(prefix=token.prefix))
    assert response.status_code == 405
    assert _token(acme, token.pk).revoked_at is None


# -- the services ---------------------------------------------------------------------------


def test_only_members_of_the_tenant_can_create_tokens(acme, globex):
    with acme.scope(), pytest.raises(ValidationError) as error:
        api_token_create(tenant=acme.tenant, user=globex.agent, name="Sneaky")
    assert error.value.messages == ["Only members of this help desk can create API tokens."]
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(is_active=False)
        with pytest.raises(ValidationError):
            api_token_create(tenant=acme.tenant, user=acme.customer, name="Former")
        assert not ApiToken.objects.exists()


def test_active_tokens_are_limited_and_revoking_one_makes_room(acme):
    tokens = [_create(acme, acme.customer, f"Token {i}")[0] for i in range(MAX_ACTIVE_TOKENS)]
    response = acme.client(acme.customer).post(PAGE, {"name": "One too many"})
    assert "You have 20 active tokens; revoke one before creating another." in _text(response)
    with acme.scope():
        api_token_revoke(token=tokens[0], actor=acme.customer)
    response = acme.client(acme.customer).post(PAGE, {"name": "Now it fits"})
    assert 'id="new-key"' in _text(response)


def test_revoking_twice_keeps_the_first_time_and_strangers_cannot(acme, globex):
    token, _key = _create(acme, acme.customer)
    with acme.scope():
        for stranger in (acme.agent, acme.other_customer, globex.admin):
            with pytest.raises(PermissionDenied):
                api_token_revoke(token=token, actor=stranger)
        assert api_token_revoke(token=token, actor=acme.customer) is True
        first = ApiToken.objects.get(pk=token.pk).revoked_at
        assert api_token_revoke(token=token, actor=acme.customer) is False
        assert ApiToken.objects.get(pk=token.pk).revoked_at == first


def test_an_admin_of_the_tenant_can_revoke_a_members_token(acme):
    token, _key = _create(acme, acme.agent)
    with acme.scope():
        assert api_token_revoke(token=token, actor=acme.admin) is True


# -- signing in to the API with a token -----------------------------------------------------


def test_a_token_acts_as_its_user_with_their_role(acme):
    mine = make_ticket(acme, subject="Carol's")
    theirs = make_ticket(acme, acme.other_customer, subject="Oscar's")
    _token_customer, customer_key = _create(acme, acme.customer)
    _token_agent, agent_key = _create(acme, acme.agent)

    as_customer = _api(acme, customer_key)
    listed = as_customer.get("/api/v1/tickets/").json()["results"]
    assert [t["number"] for t in listed] == [mine.number]
    assert as_customer.get(f"/api/v1/tickets/{theirs.number}/").status_code == 404
    created = as_customer.post(
        "/api/v1/tickets/", {"subject": "Via token", "body": "Hi"}, content_type="application/json"
    )
    assert created.status_code == 201  # no CSRF token needed with a token
    assert created.json()["requester"]["email"] == acme.customer.email

    as_agent = _api(acme, agent_key)
    listed = as_agent.get("/api/v1/tickets/").json()["results"]
    assert {t["number"] for t in listed} == {mine.number, theirs.number, created.json()["number"]}
    assert "assignee" in listed[0]


def test_the_token_wins_over_a_session_in_the_same_request(acme):
    make_ticket(acme, acme.other_customer, subject="Oscar's")
    _token, key = _create(acme, acme.customer)
    client = acme.client(acme.agent)  # signed in as the agent...
    response = client.get("/api/v1/tickets/", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200
    assert response.json()["results"] == []  # ...but acting as the customer


def test_a_token_of_another_tenant_is_refused(acme, globex):
    # The same address is an agent's at both desks; the Globex account's token only
    # works at Globex.
    namesake = make_member(globex.tenant, acme.agent.email, Role.AGENT)
    _token, key = _create(globex, namesake)
    make_ticket(acme)

    response = _api(acme, key).get("/api/v1/tickets/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}
    assert _api(globex, key).get("/api/v1/tickets/").status_code == 200


def test_a_token_stops_working_when_the_membership_or_the_user_ends(acme):
    _token, customer_key = _create(acme, acme.customer)
    _token, agent_key = _create(acme, acme.agent)
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(is_active=False)
    User.objects.filter(pk=acme.agent.pk).update(is_active=False)

    for key in (customer_key, agent_key):
        response = _api(acme, key).get("/api/v1/tickets/")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or revoked token."}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token", "Send the header as “Authorization: Token <key>”."),
        ("Token a b", "Send the header as “Authorization: Token <key>”."),
        ("Token not-a-real-key", "Invalid or revoked token."),
        ("token not-a-real-key", "Invalid or revoked token."),
        ("Bearer not-a-real-key", "Authentication credentials were not provided."),
        ("Basic Zm9vOmJhcg==", "Authentication credentials were not provided."),
    ],
)
def test_bad_authorization_headers_are_a_json_401(acme, header, detail):
    client = Client(HTTP_HOST=acme.host, HTTP_AUTHORIZATION=header)
    for method in ("get", "post"):
        response = getattr(client, method)("/api/v1/tickets/")
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response["WWW-Authenticate"] == "Token"
    with acme.scope():
        assert not Ticket.objects.exists()


def test_a_non_ascii_token_is_a_json_401(acme):
    client = Client(HTTP_HOST=acme.host, HTTP_AUTHORIZATION="Token clé".encode().decode("latin-1"))
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_last_used_is_written_at_most_once_a_minute(acme):
    token, key = _create(acme, acme.customer)
    client = _api(acme, key)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/categories/")
    assert _token(acme, token.pk).last_used_at == start

    with (
        time_machine.travel(start + timedelta(seconds=30), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        client.get("/api/v1/categories/")
    assert _token(acme, token.pk).last_used_at == start
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]

    later = start + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        client.get("/api/v1/categories/")
    assert _token(acme, token.pk).last_used_at == later


def test_a_token_never_appears_in_the_database(acme):
    _token, key = _create(acme, acme.customer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, prefix, digest FROM helpdesk_apitoken")
        [row] = cursor.fetchall()
    assert key not in row


def test_a_person_who_is_not_a_member_cannot_see_the_api(acme):
    stranger = make_user("stranger@nowhere.example", tenant=acme.tenant)  # membership ended
    response = acme.client(stranger).get("/api/v1/tickets/")
    assert response.status_code == 403
    assert response.json() == {"detail": "You have no access to this help desk."}
