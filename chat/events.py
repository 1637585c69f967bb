"""What the chat tells open sockets, after the write that caused it has committed.

Every event is a row first (a message, a chat's state, an offer): the channel layer only
tells the sockets listening now. A socket that missed one (its process restarted, Redis
blinked) catches up from the database when it says hello again with the last message id
it saw (chat/consumers.py), so a lost publication costs nothing.

A socket's database call (one thread serves every socket of a process) hands its
publications to the event loop and returns without waiting for Redis; the loop sends a
process's publications one after another, in the order they were committed. Anything
else (a page, a worker) publishes and waits, as it has no loop of its own to hand them to.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def chat_group(chat) -> str:
    """The customer's sockets of one chat."""
    return f"chat.{chat.tenant_id}.{chat.key.hex}"


def agent_group(tenant_id: int, agent_id: int) -> str:
    """Every console an agent has open."""
    return f"agent.{tenant_id}.{agent_id}"


def desk_group(tenant_id: int) -> str:
    """Every agent console of a desk (the queue, colleagues' availability)."""
    return f"desk.{tenant_id}"


def publish(group: str, payload: dict) -> None:
    """Send `payload` to the sockets of `group` once the transaction commits."""
    transaction.on_commit(lambda: _send(group, payload))


def _send(group: str, payload: dict) -> None:
    loop = _socket_loop()
    if loop is not None:
        # A socket's database call (chat/consumers.py in_desk): its one thread serves
        # every socket of the process, so it hands the publication to the event loop
        # and goes on with the next socket's line instead of waiting for Redis.
        loop.call_soon_threadsafe(_publish_in_order, loop, group, payload)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _send_now(group, payload)
    else:
        # Synchronous code running under an event loop of its own thread (a test driving
        # a browser): async_to_sync may not run here, so the publication takes a thread.
        thread = threading.Thread(target=_send_now, args=(group, payload))
        thread.start()
        thread.join()


def _socket_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose sync_to_async thread this is, if it is one."""
    main = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if main is None or pid != os.getpid() or main.is_closed() or not main.is_running():
        return None
    return main


# Per event loop, the publications waiting, sent one after another by one task so that a
# socket hears a chat's events in the order they were committed.
_waiting: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _publish_in_order(loop: asyncio.AbstractEventLoop, group: str, payload: dict) -> None:
    waiting = _waiting.get(loop)
    if waiting is None:
        waiting = _waiting[loop] = asyncio.Queue()
        loop.create_task(_publisher(waiting))
    waiting.put_nowait((group, payload))


async def _publisher(waiting: asyncio.Queue) -> None:
    layer = get_channel_layer()
    while True:
        group, payload = await waiting.get()
        try:
            await layer.group_send(group, {"type": "desk.event", "payload": payload})
        except Exception:  # Redis unreachable: the sockets catch up from the database
            logger.warning("chat event to %s not published", group, exc_info=True)


def _send_now(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(group, {"type": "desk.event", "payload": payload})
    except Exception:  # Redis unreachable: the sockets catch up from the database
        logger.warning("chat event to %s not published", group, exc_info=True)
