"""The chat's websockets end to end in-process: the real ASGI app, the real Redis channel
layer, the real database; a customer and an agent talking through them."""

import uuid

import pytest

from chat import services
from helpdesk.tenancy import tenant_scope
from tests.chat.sockets import Socket, pro_plus_customer
from tickets.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


def start_chat(desk, customer, question="My export is stuck at 99%"):
    with tenant_scope(desk.tenant):
        membership = customer.memberships.get()
        return services.chat_start(membership=membership, question=question)


def agent_online(desk, agent):
    socket = Socket("/ws/agent/", host=desk.host, user=agent)
    assert socket.connected
    socket.send(type="availability", availability="online")
    return socket


def test_a_customer_and_an_agent_chat_and_the_transcript_is_the_ticket(acme):
    pat = pro_plus_customer(acme)
    console = agent_online(acme, acme.agent)
    chat = start_chat(acme, pat)
    offer = console.receive_until("offer", chat=chat.key.hex)
    assert offer["subject"] == "My export is stuck at 99%"
    console.send(type="accept", chat=chat.key.hex)

    customer = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    assert customer.connected
    customer.send(type="hello", after=0)
    state = customer.receive_until("state")
    first = customer.receive_until("message")
    assert first["message"]["html"].startswith("<p>My export is stuck")
    assert state["state"] == "active" and state["agent"]

    key = uuid.uuid4().hex
    console.send(type="send", chat=chat.key.hex, client_key=key, body="Let me look <b>now</b>")
    ack = console.receive_until("ack")
    assert ack["client_key"] == key and ack["id"]
    got = customer.receive_until("message")
    assert got["message"]["id"] == ack["id"]
    assert got["message"]["from"] == "agent"
    assert "<b>" not in got["message"]["html"]  # sanitized like any ticket message

    customer.send(type="send", client_key=uuid.uuid4().hex, body="Thanks!")
    thanks = customer.receive_until("ack")["id"]
    # The console hears its own line too (every console of the agent shows it), then hers.
    seen = []
    while thanks not in seen:
        message = console.receive_until("message", chat=chat.key.hex)["message"]
        seen.append(message["id"])
    assert message["from"] == "customer" and message["html"].strip() == "<p>Thanks!</p>"

    with tenant_scope(acme.tenant):
        chat.refresh_from_db()
        assert chat.ticket.channel == Channel.CHAT
        assert chat.ticket.assignee == acme.agent
        lines = list(Message.objects.filter(ticket=chat.ticket).values_list("body", flat=True))
        assert lines == ["My export is stuck at 99%", "Let me look <b>now</b>", "Thanks!"]
        assert chat.first_reply_at is not None
    customer.close()
    console.close()


def test_a_message_sent_again_after_a_lost_ack_is_stored_once(acme):
    pat = pro_plus_customer(acme)
    chat = start_chat(acme, pat)
    key = uuid.uuid4().hex
    first = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    first.send(type="send", client_key=key, body="Hello?")
    stored = first.receive_until("ack")["id"]
    first.close()
    again = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    again.send(type="send", client_key=key, body="Hello?")
    assert again.receive_until("ack")["id"] == stored
    with tenant_scope(acme.tenant):
        assert Message.objects.filter(ticket=chat.ticket, body="Hello?").count() == 1
    again.close()


def test_a_reconnecting_customer_gets_what_they_missed_once(acme):
    pat = pro_plus_customer(acme)
    console = agent_online(acme, acme.agent)
    chat = start_chat(acme, pat)
    console.receive_until("offer")
    console.send(type="accept", chat=chat.key.hex)
    console.receive_until("state", state="active")
    for n in range(3):
        console.send(type="send", chat=chat.key.hex, client_key=uuid.uuid4().hex, body=f"line {n}")
        console.receive_until("ack")
    with tenant_scope(acme.tenant):
        ids = list(
            Message.objects.filter(ticket=chat.ticket).order_by("pk").values_list("pk", flat=True)
        )
    customer = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    customer.send(type="hello", after=ids[1])  # saw the question and "line 0"
    customer.receive_until("state")
    replayed = [customer.receive_until("message")["message"]["id"] for _ in range(2)]
    assert replayed == ids[2:]
    assert customer.nothing_within(0.5)
    customer.close()
    console.close()
