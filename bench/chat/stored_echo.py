"""The chat benchmark's second baseline: what a chat line must do before anyone hears of
it, and nothing else.

Each text frame is stored (one INSERT in its own transaction, on the bench's database with
its `synchronous_commit`, one line at a time per process as the chat's one socket thread
stores them) and published through Redis; the frame goes back to its socket when the
publication comes back from Redis, as a chat line reaches a console. Served by the same
command and workers as the chat (bench/chat/servers.py). Against the bare echo
(bench/chat/echo.py) it shows what storing and publishing cost; against the chat, what
the chat adds on top of them (Channels, the desk's rules, the ticket).

Any HTTP request gets `200 ok` (the bench's health check). Django is never imported: psycopg
and redis directly, from DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import psycopg
import redis.asyncio as aioredis

from bench.chat.echo import answered_unless_socket

TABLE = "bench_stored_echo_line"


class Process:
    """One per worker process: a database connection, a Redis client and a subscription
    to this process's channel, which hands each publication to its socket's queue."""

    def __init__(self):
        self.sockets: dict[str, asyncio.Queue] = {}
        self.channel = f"bench.stored-echo.{uuid.uuid4().hex}"
        self.storing = asyncio.Lock()  # one line at a time, as the chat's socket thread
        self.db: psycopg.AsyncConnection | None = None

    async def start(self) -> None:
        self.db = await psycopg.AsyncConnection.connect(os.environ["DATABASE_URL"], autocommit=True)
        async with self.db.transaction():  # both worker processes start at once
            await self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
            await self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(id bigserial PRIMARY KEY, body text NOT NULL, "
                "at timestamptz NOT NULL DEFAULT now())"
            )
        self.redis = aioredis.from_url(os.environ["REDIS_URL"])
        self.subscription = self.redis.pubsub()
        await self.subscription.subscribe(self.channel)
        self.listening = asyncio.get_running_loop().create_task(self.listen())

    async def listen(self) -> None:
        async for message in self.subscription.listen():
            if message["type"] != "message":
                continue
            socket, _space, text = message["data"].decode().partition(" ")
            waiting = self.sockets.get(socket)
            if waiting is not None:
                waiting.put_nowait(text)

    async def store_and_publish(self, socket: str, text: str) -> None:
        async with self.storing:
            await self.db.execute(
                f"INSERT INTO {TABLE} (body) VALUES (%s)",  # noqa: S608 - our table
                [text],
            )
        await self.redis.publish(self.channel, f"{socket} {text}")


_process: Process | None = None
_starting = asyncio.Lock()


async def process() -> Process:
    """This process's connections, made by its first socket (the others wait for it)."""
    global _process
    async with _starting:
        if _process is None:
            started = Process()
            await started.start()
            _process = started
    return _process


async def application(scope, receive, send):
    if await answered_unless_socket(scope, send):
        return
    here = await process()
    socket = uuid.uuid4().hex
    back: asyncio.Queue = asyncio.Queue()
    here.sockets[socket] = back

    async def send_back():
        while True:
            await send({"type": "websocket.send", "text": await back.get()})

    sending = asyncio.get_running_loop().create_task(send_back())
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif event["type"] == "websocket.receive":
                text = event.get("text")
                if text is None:
                    text = (event.get("bytes") or b"").decode(errors="replace")
                await here.store_and_publish(socket, text)
            else:  # websocket.disconnect
                return
    finally:
        sending.cancel()
        here.sockets.pop(socket, None)
