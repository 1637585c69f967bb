"""The chat's websockets end to end in-process: the real ASGI app, the real Redis channel
layer, the real database; a customer and an agent talking through them."""

import asyncio
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


def test_a_console_hears_a_customers_line_while_its_own_action_is_still_running(acme, monkeypatch):
    """Every socket of a process shares one database thread: a console waiting for its
    own action (here a heartbeat held back on purpose) still hands its agent the
    customer's lines, and its next action waits its turn."""
    from chat.consumers import AgentConsoleConsumer
    from tests.chat.sockets import _loop

    pat = pro_plus_customer(acme)
    console = agent_online(acme, acme.agent)
    chat = start_chat(acme, pat)
    console.receive_until("offer", chat=chat.key.hex)
    console.send(type="accept", chat=chat.key.hex)
    console.receive_until("state", state="active")

    release = asyncio.Event()

    async def held_heartbeat(self, content):
        await release.wait()
        await self.send_json({"type": "heartbeat_done"})

    monkeypatch.setattr(AgentConsoleConsumer, "on_heartbeat", held_heartbeat)
    console.send(type="heartbeat")
    key = uuid.uuid4().hex
    console.send(type="send", chat=chat.key.hex, client_key=key, body="After the heartbeat")

    customer = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=pat)
    customer.send(type="send", client_key=uuid.uuid4().hex, body="Are you there?")
    customer.receive_until("ack")
    heard = console.receive_until("message", chat=chat.key.hex)["message"]
    assert heard["from"] == "customer" and "Are you there?" in heard["html"]

    _loop.call_soon_threadsafe(release.set)
    after = []
    while not after or after[-1].get("type") != "ack":
        after.append(console.receive())
    kinds = [message["type"] for message in after]
    assert kinds.index("heartbeat_done") < kinds.index("ack")  # in the order they were sent
    assert after[-1]["client_key"] == key
    customer.close()
    console.close()


def test_what_the_desk_publishes_reaches_a_socket_while_the_database_thread_is_busy(acme):
    """The sockets of a process share one database thread (Channels' thread-sensitive
    sync_to_async). Handing a socket an event must not wait for it: a console gets a
    customer's line while that thread is held up by other sockets' queries."""
    import threading

    from asgiref.sync import SyncToAsync

    from chat import events

    console = agent_online(acme, acme.agent)
    console.receive_until("team")
    busy = threading.Event()
    held = SyncToAsync.single_thread_executor.submit(busy.wait, 30)
    try:
        line = {"id": 1, "from": "customer", "html": "<p>Still there?</p>"}
        events._send(
            events.agent_group(acme.tenant.pk, acme.agent.pk),
            {"type": "message", "chat": "c0ffee", "message": line},
        )
        assert console.receive_until("message", timeout=5)["message"] == line
        assert not held.done()  # the database thread was busy all along
    finally:
        busy.set()
    held.result(timeout=10)
    console.close()
