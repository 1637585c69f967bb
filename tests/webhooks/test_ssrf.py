"""An endpoint's URL cannot make our servers call what they must not (server-side
request forgery): refused in words when an admin saves it, and again at delivery (a
DNS answer can change); redirects are not followed; the checked address is the one
connected to."""

import socket

import pytest

from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from tests.webhooks.receiver import Answer, Receiver
from webhooks import network
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

NOT_ALLOWED = "the operator has not allowed such targets."
REFUSED = [
    ("http://127.0.0.1/hook", "127.0.0.1 is this server itself (loopback); " + NOT_ALLOWED),
    ("http://10.1.2.3/hook", "10.1.2.3 is in a private network; " + NOT_ALLOWED),
    ("http://192.168.0.10:8080/", "192.168.0.10 is in a private network; " + NOT_ALLOWED),
    (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a link-local address (where cloud metadata services answer); "
        + NOT_ALLOWED,
    ),
    ("http://[::1]:8080/", "::1 is this server itself (loopback); " + NOT_ALLOWED),
    ("http://localhost/hook", "127.0.0.1 is this server itself (loopback); " + NOT_ALLOWED),
    (
        "http://[::ffff:127.0.0.1]/",
        "::ffff:7f00:1 is this server itself (loopback); " + NOT_ALLOWED,
    ),
    ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 is in a private network; " + NOT_ALLOWED),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://[fec0::1]/hook", "fec0::1 is not a public internet address; " + NOT_ALLOWED),
    ("http://0.0.0.0/", "0.0.0.0 is the unspecified address; " + NOT_ALLOWED),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address; " + NOT_ALLOWED),
    ("http://100.64.0.1/", "100.64.0.1 is not a public internet address; " + NOT_ALLOWED),
    ("http://2130706433/", "Write an IP address in its usual form, such as 203.0.113.7."),
    ("http://0x7f.0.0.1/", "Write an IP address in its usual form, such as 203.0.113.7."),
    ("http://127.1/", "Write an IP address in its usual form, such as 203.0.113.7."),
    ("http://017700000001/", "Write an IP address in its usual form, such as 203.0.113.7."),
    ("ftp://93.184.215.14/", "Use an address that starts with http:// or https://."),
    ("file:///etc/passwd", "Use an address that starts with http:// or https://."),
    ("http://user:secret@93.184.215.14/", "Leave the user name and password out of the address"),
    ("https://no-such-host.invalid/", "The host name no-such-host.invalid could not be found."),
    ("http:///path-only", "The address has no host name."),
]


def save_endpoint(desk, url: str):
    return desk.client(desk.admin).post(
        "/admin/webhooks/webhookendpoint/add/",
        {"name": "Hook", "url": url, "format": "json", "events": ["ticket.created"]},
    )


@pytest.mark.parametrize(("url", "message"), REFUSED, ids=[url for url, _ in REFUSED])
def test_the_admin_refuses_to_save_a_forbidden_address_and_says_why(acme, url, message):
    response = save_endpoint(acme, url)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["url"]
    assert any(error.startswith(message) for error in errors), errors
    with acme.scope():
        assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_saved(acme):
    response = save_endpoint(acme, "https://93.184.215.14/hooks/helpdesk")
    assert response.status_code == 302
    with acme.scope():
        assert WebhookEndpoint.objects.get().url == "https://93.184.215.14/hooks/helpdesk"


def test_the_operator_may_allow_a_network(acme, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["10.20.0.0/16"]
    assert save_endpoint(acme, "http://10.20.3.4/hook").status_code == 302
    response = save_endpoint(acme, "http://10.21.3.4/hook")
    assert "10.21.3.4 is in a private network" in response.content.decode()


@pytest.mark.parametrize(
    "url", [url for url, _ in REFUSED if url.startswith("http:")], ids=lambda url: url
)
def test_deliveries_to_a_forbidden_address_are_refused_at_delivery_too(
    acme, url, django_capture_on_commit_callbacks
):
    make_endpoint(acme, url)  # saved when it was allowed, or its DNS answer changed since
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [delivery] = deliveries(acme)
    assert delivery.status == "pending" and delivery.response_status is None
    assert dict(REFUSED)[url].split(";")[0] in delivery.error


def test_a_local_receiver_gets_nothing_without_the_operators_setting(
    acme, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    receiver = Receiver()
    try:
        make_endpoint(acme, receiver.url())
        make_endpoint(acme, receiver.url().replace("127.0.0.1", "localhost"), name="by name")
        with django_capture_on_commit_callbacks(execute=True):
            make_ticket(acme)
    finally:
        receiver.stop()
    assert receiver.requests == []
    assert all("loopback" in d.error for d in deliveries(acme))


def test_redirects_are_not_followed(acme, receiver, django_capture_on_commit_callbacks):
    elsewhere = Receiver()
    try:
        for location in (elsewhere.url("/next"), "http://169.254.169.254/latest/meta-data/"):
            receiver.answer(Answer(status=302, body=b"", headers=(("Location", location),)))
        make_endpoint(acme, receiver.url(), events=["ticket.created", "ticket.changed"])
        with django_capture_on_commit_callbacks(execute=True):
            make_ticket(acme)
        with django_capture_on_commit_callbacks(execute=True):
            make_ticket(acme)
    finally:
        elsewhere.stop()
    assert elsewhere.requests == []
    assert len(receiver.requests) == 2
    first, second = deliveries(acme)
    assert (first.status, first.response_status) == ("pending", 302)
    assert first.error == f"Redirect to {elsewhere.url('/next')} not followed."
    assert second.error == "Redirect to http://169.254.169.254/latest/meta-data/ not followed."


def test_the_host_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    acme, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """A resolver that answers a loopback address (allowed here) once, then a private
    one, as a rebinding attacker's DNS would: the request goes to the first, with the
    URL's host name in the Host header."""
    answers = ["127.0.0.1", "10.9.9.9"]
    asked = []

    def rebinding_resolver(host, port, *args, **kwargs):
        asked.append(host)
        address = answers[min(len(asked) - 1, 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(network.socket, "getaddrinfo", rebinding_resolver)
    make_endpoint(acme, f"http://hooks.example.test:{receiver.port}/in")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    assert asked == ["hooks.example.test"]
    [request] = receiver.requests
    assert request.header("Host") == f"hooks.example.test:{receiver.port}"
    assert deliveries(acme)[0].status == "succeeded"
