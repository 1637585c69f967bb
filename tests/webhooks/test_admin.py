"""The desk's admin for webhooks: endpoints with their events as checkboxes, the
signing secret shown and rotated, a test event, the delivery log; other desks and
weaker roles see and change nothing (tests/helpdesk/test_admin_scoping.py walks every
admin page across desks as well)."""

import pytest

from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


def test_an_admin_adds_an_endpoint_choosing_events_by_checkbox(acme, receiver):
    client = acme.client(acme.admin)
    page = client.get(f"{ENDPOINTS}add/").content.decode()
    assert 'type="checkbox" name="events" value="ticket.created"' in page
    assert "signing secret</label>" not in page.lower()  # made when it is saved
    response = client.post(
        f"{ENDPOINTS}add/",
        {
            "name": "Our CRM",
            "url": receiver.url("/crm"),
            "format": "json",
            "events": ["ticket.created", "csat.rated"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with acme.scope():
        endpoint = WebhookEndpoint.objects.get(name="Our CRM")
    assert endpoint.events == ["ticket.created", "csat.rated"]
    assert len(endpoint.secret) >= 40

    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page
    assert f'value="{endpoint.secret}"' not in page  # shown, not an input


def test_a_chat_tool_secret_is_only_for_dingtalk_and_feishu(acme, receiver):
    response = acme.client(acme.admin).post(
        f"{ENDPOINTS}add/",
        {"name": "Team", "url": receiver.url(), "format": "slack", "chat_secret": "SECx"},
    )
    assert "Only DingTalk and Feishu robots sign with a secret" in response.content.decode()


def test_rotating_the_secret_and_sending_a_test_event(
    acme, globex, receiver, django_capture_on_commit_callbacks
):
    ours = make_endpoint(acme, receiver.url("/ours"), format="slack", events=[])
    theirs = make_endpoint(globex, receiver.url("/theirs"), events=[])
    client = acme.client(acme.admin)
    client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [ours.pk, theirs.pk]})
    with acme.scope():
        assert WebhookEndpoint.objects.get(pk=ours.pk).secret != ours.secret
    with globex.scope():
        assert WebhookEndpoint.objects.get(pk=theirs.pk).secret == theirs.secret

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ENDPOINTS,
            {"action": "send_test_event", "_selected_action": [ours.pk, theirs.pk]},
            follow=True,
        )
    assert "A test event was queued for 1 endpoint" in response.content.decode()
    [request] = receiver.requests
    assert request.path == "/ours"
    assert request.json()["text"] == (
        "Test message from Acme Analytics: this webhook works. https://acme.localhost/agent/"
    )
    [ping] = deliveries(acme)
    assert (ping.event_type, ping.status) == ("ping", "succeeded")
    assert deliveries(globex) == []


def test_the_delivery_log_lists_filters_and_shows_a_delivery(
    acme, receiver, django_capture_on_commit_callbacks
):
    crm = make_endpoint(acme, receiver.url("/crm"), name="CRM")
    make_endpoint(acme, receiver.url("/ops"), name="Ops", events=["ticket.changed"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme, subject="Printer on fire")
    client = acme.client(acme.admin)
    listing = client.get(DELIVERIES)
    assert listing.status_code == 200
    text = listing.content.decode()
    for heading in ("Endpoint", "HTTP status", "Response time (ms)", "Attempts", "Delivered"):
        assert heading in text
    [row] = listing.context["cl"].result_list
    assert (row.endpoint_id, row.response_status) == (crm.pk, 200)
    by_endpoint = client.get(DELIVERIES, {"endpoint__id__exact": crm.pk, "status": "succeeded"})
    assert len(by_endpoint.context["cl"].result_list) == 1
    failed = client.get(DELIVERIES, {"status__exact": "failed"})
    assert len(failed.context["cl"].result_list) == 0

    detail = client.get(f"{DELIVERIES}{row.pk}/change/").content.decode()
    assert "Printer on fire" in detail  # the payload
    assert f"/agent/tickets/{ticket.number}/" in detail
    assert "{&quot;ok&quot;: true}" in detail  # the answer's excerpt
    assert 'id="attempt_log-group"' in detail  # the attempts' lines


def test_another_desks_admin_and_agents_reach_none_of_it(
    acme, globex, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(acme, receiver.url(), name="Acme private hook")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [delivery] = deliveries(acme)
    outsider = globex.client(globex.admin)
    assert "Acme private hook" not in outsider.get(ENDPOINTS).content.decode()
    assert outsider.get(DELIVERIES).context["cl"].result_list.count() == 0
    for url in (f"{ENDPOINTS}{endpoint.pk}/change/", f"{DELIVERIES}{delivery.pk}/change/"):
        response = outsider.get(url, follow=True)
        assert "Acme private hook" not in response.content.decode()
        assert response.status_code == 404 or response.redirect_chain
    outsider.post(f"{ENDPOINTS}{endpoint.pk}/change/", {"name": "hijacked", "url": "x"})
    with acme.scope():
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).name == "Acme private hook"

    for person in (acme.agent, acme.customer):
        client = acme.client(person)
        for url in (ENDPOINTS, f"{ENDPOINTS}{endpoint.pk}/change/", DELIVERIES):
            assert client.get(url).status_code in (302, 403)
