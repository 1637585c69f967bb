"""GET /api/v1/attachments/{key}/: a message's files with the API's authentication,
under the same rules as the help center's links (tickets.selectors.attachment_for_user)."""

import pytest
from django.test import Client

from helpdesk.models import Membership, Role
from tests.api.helpers import json_body, token_client
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket, upload
from tickets.models import Attachment
from tickets.services import ticket_add_note


@pytest.fixture
def files(acme):
    """Carol's ticket with a public file and an internal note's file, and a file on a
    ticket of another organization's customer."""
    ticket = make_ticket(
        acme, uploads=[upload("screenshot.png", b"\x89PNG\r\n\x1a\n fake", "image/png")]
    )
    with acme.scope():
        ticket_add_note(
            ticket=ticket,
            author=acme.agent,
            body="Their admin said so",
            uploads=[upload("call-notes.csv", b"internal only")],
        )
        public, internal = Attachment.objects.filter(ticket=ticket).order_by("pk")
    other = make_ticket(acme, acme.other_customer, uploads=[upload("other.txt", b"Oscar's")])
    with acme.scope():
        others = Attachment.objects.get(ticket=other)
    return {"public": public, "internal": internal, "other_org": others}


def _path(attachment) -> str:
    return f"/api/v1/attachments/{attachment.key}/"


def _org_manager(acme):
    manager = make_member(acme.tenant, "grace@acme-co.example", organization=acme.org)
    with acme.scope():
        Membership.objects.filter(user=manager).update(is_org_manager=True)
    return manager


PERSONAS = ("anonymous", "customer", "org_manager", "other_customer", "agent", "admin", "outsider")
# Expected status for each file and persona, in PERSONAS order. The outsider, a Globex
# agent's session at Acme's host, is nobody here (docs/people.md).
MATRIX = {
    "public": (401, 200, 200, 404, 200, 200, 401),
    "internal": (401, 404, 404, 404, 200, 200, 401),
    "other_org": (401, 404, 404, 200, 200, 200, 401),
}


def _client(acme, globex, persona) -> Client:
    if persona == "anonymous":
        return acme.client()
    if persona == "outsider":  # an agent of Globex, at Acme's host
        return acme.client(globex.agent)
    user = _org_manager(acme) if persona == "org_manager" else getattr(acme, persona)
    return token_client(acme, user)


@pytest.mark.parametrize(
    ("name", "persona", "expected"),
    [
        pytest.param(name, persona, statuses[i], id=f"{name}-{persona}")
        for name, statuses in MATRIX.items()
        for i, persona in enumerate(PERSONAS)
    ],
)
def test_access_matrix(acme, globex, files, name, persona, expected):
    attachment = files[name]
    response = _client(acme, globex, persona).get(_path(attachment))

    assert response.status_code == expected
    if expected == 200:
        with acme.scope():
            assert b"".join(response.streaming_content) == attachment.file.read()
    else:
        assert set(json_body(response)) == {"detail"}
        assert attachment.name not in response.content.decode()
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"


def test_another_tenants_file_is_a_404(acme, globex, files):
    theirs = make_ticket(globex, uploads=[upload("globex.txt", b"Globex")])
    with globex.scope():
        globex_file = Attachment.objects.get(ticket=theirs)
    # Keys are unique across tenants, but each desk only finds its own.
    assert token_client(acme, acme.agent).get(_path(globex_file)).status_code == 404
    response = token_client(globex, globex.agent).get(_path(files["public"]))
    assert response.status_code == 404
    assert set(json_body(response)) == {"detail"}


def test_the_messages_json_lists_a_url_that_works_with_a_token(acme, files):
    client = token_client(acme, acme.customer)
    ticket_number = files["public"].ticket.number
    [first] = json_body(client.get(f"/api/v1/tickets/{ticket_number}/messages/"))["results"]
    [listed] = first["attachments"]
    assert listed["api_url"] == f"http://acme.localhost{_path(files['public'])}"
    assert listed["url"] == f"http://acme.localhost/attachments/{files['public'].key}/"

    response = client.get(listed["api_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG\r\n\x1a\n fake"
    # Served as the help center serves it: inline if harmless, never as a page of ours.
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_other_files_are_downloads_whatever_the_accept_header(acme, files):
    response = token_client(acme, acme.agent).get(
        _path(files["internal"]), HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="call-notes.csv"'


def test_a_session_works_too(acme, files):
    response = acme.client(acme.customer).get(_path(files["public"]))
    assert response.status_code == 200


def test_head_answers_without_the_file(acme, files):
    response = token_client(acme, acme.customer).head(_path(files["public"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_are_a_405(acme, files, method):
    response = getattr(token_client(acme, acme.agent), method)(_path(files["public"]))
    assert response.status_code == 405
    assert set(json_body(response)) == {"detail"}


@pytest.mark.parametrize("key", ["not-a-key", "00000000-0000-0000-0000-000000000000"])
def test_unknown_keys_are_a_json_404(acme, key):
    response = token_client(acme, acme.agent).get(f"/api/v1/attachments/{key}/")
    assert response.status_code == 404
    assert set(json_body(response)) == {"detail"}


def test_a_file_missing_from_storage_is_a_404_not_a_500(acme, files):
    with acme.scope():
        files["public"].file.delete(save=False)
    response = token_client(acme, acme.customer).get(_path(files["public"]))
    assert response.status_code == 404
    assert set(json_body(response)) == {"detail"}


def test_an_agent_elsewhere_is_only_a_customer_here(acme, globex, files):
    person = make_member(
        acme.tenant, globex.agent.email, Role.CUSTOMER, organization=acme.other_org
    )
    client = token_client(acme, person)
    for attachment in files.values():
        assert client.get(_path(attachment)).status_code == 404
