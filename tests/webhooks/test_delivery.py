"""A desk's events reach its endpoints, as docs/webhooks.md says, through a real HTTP
receiver on 127.0.0.1: headers, the signature (checked by the docs' own snippet), the
schema; nothing for unchosen events, inactive endpoints or other desks."""

import re
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.tickets.factories import make_ticket, set_fields
from tests.webhooks.factories import deliveries, make_endpoint
from tickets.models import Priority, Status
from tickets.services import ticket_add_note, ticket_reply
from webhooks.models import WebhookEndpoint
from webhooks.services import chat_text, ticket_payload, webhook_enqueue

pytestmark = pytest.mark.django_db

DOCS = Path(settings.BASE_DIR) / "docs" / "webhooks.md"


def documented_verify():
    """The `verify` function of the docs' verification recipe, run as written."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    recipe = next(block for block in blocks if "def verify(" in block)
    namespace: dict = {}
    exec(compile(recipe, str(DOCS), "exec"), namespace)  # our own docs, run as written
    return namespace["verify"]


def test_a_new_ticket_reaches_a_subscribed_json_endpoint_signed_as_documented(
    acme, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(acme, receiver.url("/in?src=desk"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme, subject="Export stops at row 500", priority=Priority.HIGH)

    [request] = receiver.requests
    assert request.path == "/in?src=desk"
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Helpdesk-Webhooks/1"
    assert headers["X-Helpdesk-Event"] == "ticket.created"
    [delivery] = deliveries(acme)
    assert headers["X-Helpdesk-Delivery"] == str(delivery.delivery_id)
    assert abs(int(headers["X-Helpdesk-Timestamp"]) - time.time()) < 60
    assert headers["X-Helpdesk-Signature"].startswith("v1=")

    verify = documented_verify()
    assert verify(endpoint.secret, headers, request.body)
    assert not verify("another secret", headers, request.body)
    assert not verify(endpoint.secret, headers, request.body + b" ")
    stale = {**headers, "X-Helpdesk-Timestamp": str(int(time.time()) - 301)}
    assert not verify(endpoint.secret, stale, request.body)

    payload = request.json()
    assert payload["type"] == "ticket.created"
    assert payload["version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payload["created_at"])
    assert payload["desk"] == {"slug": "acme", "name": "Acme Analytics"}
    data = payload["data"]["ticket"]
    assert data["number"] == ticket.number
    assert data["subject"] == "Export stops at row 500"
    assert data["status"] == "new"
    assert data["priority"] == "high"
    assert data["channel"] == "web"
    assert data["category"] == "Technical issue"
    assert data["requester"] == {"name": "Carol Customer", "email": acme.customer.email}
    assert data["organization"] == {"name": acme.org.name, "plan": acme.pro.name}
    assert data["assignee"] is None and data["group"] is None
    assert data["tags"] == []
    assert data["url"].endswith(f"acme.localhost/agent/tickets/{ticket.number}/")
    assert set(data) == {
        "number", "subject", "status", "priority", "channel", "category", "group",
        "assignee", "requester", "organization", "tags", "created_at", "updated_at", "url",
    }  # fmt: skip

    delivery = deliveries(acme)[0]
    assert delivery.status == "succeeded" and delivery.attempts == 1
    assert delivery.response_status == 200 and delivery.response_ms is not None
    assert delivery.response_excerpt == '{"ok": true}'
    assert delivery.payload["id"] == payload["id"]


def test_only_the_chosen_events_of_active_endpoints_of_this_desk_are_posted(
    acme, globex, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(acme, receiver.url("/acme-created"), events=["ticket.created"])
    make_endpoint(acme, receiver.url("/acme-off"), events=["ticket.created"], is_active=False)
    make_endpoint(acme, receiver.url("/acme-nothing"), events=[])
    make_endpoint(globex, receiver.url("/globex"), events=["ticket.created", "ticket.changed"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True):
        set_fields(acme, ticket, priority=Priority.HIGH)  # ticket.changed: nobody at Acme

    assert [r.path for r in receiver.requests] == ["/acme-created"]
    assert len(deliveries(acme)) == 1
    assert deliveries(globex) == []

    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(globex)
    assert [r.path for r in receiver.requests] == ["/acme-created", "/globex"]
    assert receiver.requests[-1].json()["desk"]["slug"] == "globex"


def test_the_payload_is_the_ticket_as_the_event_left_it(acme, receiver):
    make_endpoint(acme, receiver.url(), events=["ticket.created", "ticket.changed"])
    # No commit runs the wake-ups here: the deliveries wait in the database, as written.
    ticket = make_ticket(acme, priority=Priority.MEDIUM)
    set_fields(acme, ticket, status=Status.PENDING, priority=Priority.HIGH)
    [created] = deliveries(acme, event_type="ticket.created")
    assert created.payload["data"]["ticket"]["priority"] == "medium"
    assert created.payload["data"]["ticket"]["status"] == "new"
    changed = deliveries(acme, event_type="ticket.changed")
    assert changed[-1].payload["data"]["ticket"]["priority"] == "high"
    assert changed[-1].payload["data"]["ticket"]["status"] == "pending"
    changes = {k: v for d in changed for k, v in d.payload["data"]["changes"].items()}
    assert changes["status"] == {"old": "new", "new": "pending"}
    assert changes["priority"] == {"old": 3, "new": 2}
    assert receiver.requests == []


def test_replies_and_notes_carry_the_message_and_notes_go_to_json_endpoints_only(
    acme, receiver, django_capture_on_commit_callbacks
):
    events = ["ticket.agent_replied", "ticket.note_added", "ticket.customer_replied"]
    make_endpoint(acme, receiver.url("/json"), events=events)
    make_endpoint(acme, receiver.url("/slack"), events=events, format="slack")
    ticket = make_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        ticket_add_note(ticket=ticket, author=acme.agent, body="Customer is on the old plan")
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Fixed: try again please")

    paths = [(r.path, r.header("X-Helpdesk-Event")) for r in receiver.requests]
    assert paths == [
        ("/json", "ticket.note_added"),
        ("/json", "ticket.agent_replied"),
        ("/slack", "ticket.agent_replied"),
    ]
    note = receiver.requests[0].json()["data"]["message"]
    assert note["body"] == "Customer is on the old plan" and note["is_internal"] is True
    assert note["author"] == {"name": "Acme Analytics Agent", "email": acme.agent.email}
    assert "Fixed: try again please" in receiver.requests[2].json()["text"]
    assert "old plan" not in str([r.body for r in receiver.requests[1:]])


def test_a_triggers_call_is_delivered_in_every_format_and_once_per_event_id(
    acme, receiver, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme, subject="Refund please", priority=Priority.HIGH)
    formats = [choice for choice, _label in WebhookEndpoint.Format.choices]
    endpoints = [make_endpoint(acme, receiver.url(f"/{f}"), events=[], format=f) for f in formats]
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        ticket.refresh_from_db()
        for endpoint in endpoints:
            for _twice in range(2):
                webhook_enqueue(
                    endpoint=endpoint,
                    event_type="trigger.fired",
                    event_id=f"ticket.created:7:{ticket.pk}",
                    data={
                        "trigger": {"id": 7, "name": "Urgent to chat"},
                        "ticket": ticket_payload(ticket),
                    },
                )
        line = chat_text(ticket, "trigger.fired", {"trigger": {"id": 7, "name": "Urgent to chat"}})

    assert sorted(r.path for r in receiver.requests) == sorted(f"/{f}" for f in formats)
    assert len(deliveries(acme)) == len(formats)
    by_path = {r.path: r.json() for r in receiver.requests}
    assert by_path["/json"]["data"]["trigger"] == {"id": 7, "name": "Urgent to chat"}
    assert by_path["/json"]["id"] == f"ticket.created:7:{ticket.pk}"
    assert line.startswith(f"Urgent to chat: #{ticket.number} Refund please (high, ")
    assert line.endswith(f"/agent/tickets/{ticket.number}/")
    assert by_path["/slack"] == {"text": line}
    assert by_path["/wecom"] == {"msgtype": "text", "text": {"content": line}}
    assert by_path["/dingtalk"] == {"msgtype": "text", "text": {"content": line}}
    assert by_path["/feishu"] == {"msg_type": "text", "content": {"text": line}}


def test_one_delivery_per_endpoint_and_event_however_often_it_is_enqueued(acme, receiver):
    endpoint = make_endpoint(acme, receiver.url(), events=[])
    with acme.scope():
        event_id = uuid.uuid4().hex
        first = webhook_enqueue(endpoint=endpoint, event_type="ping", event_id=event_id, data={})
        again = webhook_enqueue(endpoint=endpoint, event_type="ping", event_id=event_id, data={})
    assert first.pk == again.pk
    assert len(deliveries(acme)) == 1
