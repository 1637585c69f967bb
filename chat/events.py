"""What the chat tells open sockets, after the write that caused it has committed.

Every event is a row first (a message, a chat's state, an offer): the channel layer only
tells the sockets listening now. A socket that missed one (its process restarted, Redis
blinked) catches up from the database when it says hello again with the last message id
it saw (chat/consumers.py), so a lost publication costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
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


def _send_now(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(group, {"type": "desk.event", "payload": payload})
    except Exception:  # Redis unreachable: the sockets catch up from the database
        logger.warning("chat event to %s not published", group, exc_info=True)
