"""A chat event is published after its commit without the socket's database thread
waiting for Redis (chat/events.py).

Every database call of a process's sockets runs on one thread; while it waited for each
of a line's two publications, every other socket's line waited behind it. Now the thread
hands the publication to the event loop, which sends a process's events one after
another, in the order they were committed.
"""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from chat import events

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sockets_database_call_never_waits_for_the_channel_layer(monkeypatch):
    layer = get_channel_layer()
    real_group_send = layer.group_send
    group = f"test.{uuid.uuid4().hex}"

    async def scenario():
        gate = asyncio.Event()  # Redis "slow" until the socket's call has returned
        published = []

        async def group_send(name, message):
            await gate.wait()
            published.append(message["payload"]["n"])
            await real_group_send(name, message)

        monkeypatch.setattr(layer, "group_send", group_send)
        channel = await layer.new_channel()
        await layer.group_add(group, channel)

        def lines_of_a_socket():
            for n in range(5):
                with transaction.atomic():
                    events.publish(group, {"n": n})
            return "stored"

        try:
            # Waiting for the layer, this call would never return: the gate opens after it.
            stored = await asyncio.wait_for(database_sync_to_async(lines_of_a_socket)(), 10)
            assert stored == "stored" and published == []
        finally:
            gate.set()
        heard = [(await asyncio.wait_for(layer.receive(channel), 10)) for _ in range(5)]
        assert [event["payload"]["n"] for event in heard] == [0, 1, 2, 3, 4]
        await layer.group_discard(group, channel)

    asyncio.run(scenario())


def test_outside_a_sockets_thread_a_publication_is_still_sent():
    """Workers and pages (no event loop of theirs) publish as before, waiting for it."""
    layer = get_channel_layer()
    group = f"test.{uuid.uuid4().hex}"

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        return channel

    async def heard(channel):
        return await asyncio.wait_for(layer.receive(channel), 10)

    loop = asyncio.new_event_loop()
    try:
        channel = loop.run_until_complete(listen())
        with transaction.atomic():
            events.publish(group, {"n": 1})
        assert loop.run_until_complete(heard(channel))["payload"] == {"n": 1}
    finally:
        loop.close()
