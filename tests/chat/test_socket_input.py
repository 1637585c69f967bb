"""Whatever a client sends on a chat socket, the socket answers in words and stays open:
the rule pages and the API follow (helpdesk/input_guard.py: no NUL, no lone surrogate,
no deep nesting; helpdesk/input_values.py: numbers within what the database holds) holds
on both sockets, for every message type and every field, a new one walked without
anyone listing it."""

import json
import logging
import uuid

import pytest

from chat import consumers, services
from chat.consumers import AgentConsoleConsumer, CustomerChatConsumer
from tests.chat.sockets import Socket, pro_plus_customer
from tests.chat.test_chat import membership_of, online, start

pytestmark = pytest.mark.django_db(transaction=True)

# Values as they come in a frame (JSON text, some of it what JSON does not allow).
REFUSED_AT_THE_DOOR = {
    "a NUL": '"a\\u0000b"',
    "a lone surrogate": '"\\ud800"',
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "deep nesting": "[" * 40 + "]" * 40,
}
ODD = {
    "a number past any float": "1e400",
    "a number past bigint": str(10**30),
    "a negative number": "-5",
    "a fraction": "2.5",
    "true": "true",
    "null": "null",
    "a list": "[1, 2]",
    "an object": '{"a": 1}',
    "a long text": json.dumps("x" * 20_000),
}
FIELDS = ("chat", "body", "after", "up_to", "to", "client_key", "availability")


def _types(consumer) -> list[str]:
    # "end" last: what comes after it meets an ended chat, which is fine.
    found = sorted(n.removeprefix("on_") for n in dir(consumer) if n.startswith("on_"))
    return sorted(found, key=lambda name: name == "end")


def _frames(types, values, chat_key: str) -> list[str]:
    frames = []
    for kind in types:
        for raw in values.values():
            for field in FIELDS:
                rest = "" if field == "chat" else f', "chat": "{chat_key}"'
                frames.append(f'{{"type": "{kind}", "{field}": {raw}{rest}}}')
    return frames


@pytest.fixture
def chatting(acme, monkeypatch):
    """A Pro+ customer in a chat the desk's agent took; no rate limit for the walk."""
    monkeypatch.setattr(consumers, "RATE_MESSAGES", 100_000)
    online(acme, acme.agent)
    customer = pro_plus_customer(acme)
    chat = start(acme, customer)
    with acme.scope():
        services.chat_pick(chat=chat, membership=membership_of(acme, acme.agent))
    return customer, chat


def _still_answers(socket, ask: dict, answer: str) -> None:
    socket.send(**ask)
    socket.receive_until(answer, timeout=30)  # raises if the socket closed


@pytest.mark.parametrize("name", sorted(REFUSED_AT_THE_DOOR))
def test_what_nothing_here_can_store_is_refused_in_words_on_both_sockets(acme, chatting, name):
    customer, chat = chatting
    raw = REFUSED_AT_THE_DOOR[name]
    for socket in (
        Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=customer),
        Socket("/ws/agent/", host=acme.host, user=acme.agent),
    ):
        socket.send_text(f'{{"type": "send", "chat": "{chat.key.hex}", "body": {raw}}}')
        error = socket.receive_until("error")
        assert error["code"] == "bad_message"
        assert "JSON" in error["message"] or "read" in error["message"]
        socket.close()
    with acme.scope():
        assert chat.ticket.messages.count() == 1  # the question only


@pytest.mark.parametrize(
    ("consumer", "path"),
    [(CustomerChatConsumer, "customer"), (AgentConsoleConsumer, "console")],
    ids=["customer", "console"],
)
def test_every_message_type_with_odd_values_in_every_field_never_breaks_the_socket(
    acme, chatting, caplog, consumer, path
):
    customer, chat = chatting
    if path == "customer":
        socket = Socket(f"/ws/chat/{chat.key}/", host=acme.host, user=customer)
        ask, answer = {"type": "hello", "after": 0}, "state"
    else:
        socket = Socket("/ws/agent/", host=acme.host, user=acme.agent)
        ask, answer = {"type": "queue"}, "queue"
    values = {**ODD, **REFUSED_AT_THE_DOOR}
    with caplog.at_level(logging.ERROR, logger="chat.consumers"):
        for frame in _frames(_types(consumer), values, chat.key.hex):
            socket.send_text(frame)
        _still_answers(socket, ask, answer)
    socket.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_an_id_is_a_whole_number_an_id_can_be():
    assert consumers._after(42) == 42
    assert consumers._after(" 42 ") == 42
    for odd in (float("inf"), 2.5, True, -1, 2**63, "2e3", "٣", None, [1], str(uuid.uuid4())):
        assert consumers._after(odd) == 0
