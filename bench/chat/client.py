"""The chat benchmark's load generator: websocket clients in a process of their own.

    python -m bench.chat.client CONFIG.json

bench/sections/chat.py starts two: one holds the idle customers' sockets (role `idle`),
the other the measured ones (role `active`), so that nothing the idle sockets cost
lands in the measuring process's event loop. Each prints one JSON object per line on
stdout and obeys lines on stdin: `go` starts a round of messages, `stop` ends it (its
figures follow), `quit` closes every socket and exits.

Sockets connect to 127.0.0.1 with the desk's Host and Origin and the person's session
cookie, as a browser on the desk's page would, with the compression browsers
negotiate (permessage-deflate) and no client pings (browsers send none; the server
pings every 20 s).

Mode `chat` (the app): each socket says hello when it opens, as the pages' scripts do
(static/js/chat.js, console.js); consoles send a heartbeat every 15 s. In a round each
active chat's customer sends a line every 1/rate seconds, at a fixed phase of its own,
and the time from just before the send to the moment the agent's console has the
message (same process, same monotonic clock) is its latency. Each agent also replies
every `agent_every` seconds, to their chats in turn, measured to the customer's socket.
A line the console never gets (within `drain` seconds after the round) is lost; one it
gets twice is duplicated.

Mode `echo` (the baseline, bench/chat/echo.py): the same sockets and sends; the latency
is from the send to the same socket receiving its frame back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import sys
import time
import uuid
from collections import Counter

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

OPEN_AT_ONCE = 50  # handshakes in flight at once
DRAIN_SECONDS = 5.0
HELLO_TIMEOUT = 60.0


def emit(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 65536)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Config:
    def __init__(self, data: dict):
        self.role = data["role"]
        self.mode = data["mode"]
        self.port = int(data["port"])
        self.host = data["host"]  # bench.localhost:<port>
        self.cookie_name = data.get("cookie_name", "sessionid")
        self.idle = data.get("idle", [])  # [[path, session], ...]
        self.consoles = data.get("consoles", [])  # [session, ...]
        self.chats = data.get("chats", [])  # [[chat key, session, agent index], ...]
        self.rate = float(data.get("rate", 1.0))
        self.agent_every = float(data.get("agent_every", 0.0))
        self.heartbeat = float(data.get("heartbeat", 15.0))
        self.seed = int(data.get("seed", 17))


async def open_socket(config: Config, path: str, session: str | None):
    headers = {"Cookie": f"{config.cookie_name}={session}"} if session else {}
    return await connect(
        f"ws://{config.host}{path}",
        host="127.0.0.1",
        port=config.port,
        origin=f"http://{config.host}",
        additional_headers=headers,
        proxy=None,
        ping_interval=None,
        open_timeout=HELLO_TIMEOUT,
        max_queue=None,
    )


async def first_of(socket, kind: str, timeout: float) -> dict:
    """Read until a message of `kind` (the hello's answer, the echo)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == kind:
                return message
            if message.get("type") == "error":
                raise RuntimeError(f"error from the server: {message}")


async def stdin_lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            yield "quit"
            return
        yield line.decode().strip()


def hello_for(mode: str, console: bool) -> tuple[dict, str]:
    if mode == "echo":
        return {"type": "hello"}, "hello"
    if console:
        return {"type": "hello", "after": {}}, "queue"
    return {"type": "hello", "after": 0}, "state"


# -- idle sockets ----------------------------------------------------------------------------


async def run_idle(config: Config, commands) -> None:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    background: set[asyncio.Task] = set()
    sockets, failures = [], Counter()
    received = [0]
    dropped = [0]
    quitting = asyncio.Event()

    async def drain(socket) -> None:
        try:
            async for _message in socket:
                received[0] += 1
        except ConnectionClosed:
            pass
        if not quitting.is_set():
            dropped[0] += 1

    async def open_one(path: str, session: str) -> None:
        async with gate:
            try:
                socket = await open_socket(config, path, session)
                hello, answer = hello_for(config.mode, console=False)
                await socket.send(json.dumps(hello))
                await first_of(socket, answer, HELLO_TIMEOUT)
            except Exception as error:  # counted and reported
                failures[f"{type(error).__name__}: {str(error)[:200]}"] += 1
                return
            sockets.append(socket)
            background.add(asyncio.create_task(drain(socket)))

    started = time.perf_counter()
    await asyncio.gather(*(open_one(path, session) for path, session in config.idle))
    emit(
        event="ready",
        opened=len(sockets),
        failed=sum(failures.values()),
        errors=dict(failures.most_common(3)),
        seconds=time.perf_counter() - started,
    )
    async for line in commands:
        if line == "quit":
            break
    quitting.set()
    closing = asyncio.Semaphore(200)

    async def close(socket) -> None:
        async with closing:
            await socket.close()

    await asyncio.gather(*(close(s) for s in sockets), return_exceptions=True)
    emit(event="done", dropped=dropped[0], received=received[0])


# -- measured sockets ------------------------------------------------------------------------


class Round:
    def __init__(self):
        self.sent: dict[str, float] = {}  # client key -> perf_counter before the send
        self.delivered: dict[str, float] = {}  # client key -> latency, seconds
        self.acked: dict[str, float] = {}
        self.replies_sent: dict[str, float] = {}
        self.replies_delivered: dict[str, float] = {}
        self.duplicated = 0
        self.errors: Counter = Counter()
        self.lag: list[float] = []
        self.started = time.perf_counter()
        self.stopped = 0.0

    def by_second(self) -> list[list[float]]:
        """[second of the round, lines sent in it, their median and worst latency (ms)]:
        when in the round the time went."""
        seconds: dict[int, list[float]] = {}
        for key, latency in self.delivered.items():
            seconds.setdefault(int(self.sent[key] - self.started), []).append(latency)
        found = []
        for second, values in sorted(seconds.items()):
            values.sort()
            median = values[len(values) // 2]
            found.append(
                [second, len(values), round(median * 1000, 1), round(values[-1] * 1000, 1)]
            )
        return found

    def figures(self, closed: int) -> dict:
        return {
            "by_second": self.by_second(),
            "event": "round",
            "seconds": self.stopped - self.started,
            "sent": len(self.sent),
            "delivered": len(self.delivered),
            "lost": len(self.sent) - len(self.delivered),
            "duplicated": self.duplicated,
            "latency_ms": [round(v * 1000, 3) for v in self.delivered.values()],
            "acked": len(self.acked),
            "ack_ms": [round(v * 1000, 3) for v in self.acked.values()],
            "replies_sent": len(self.replies_sent),
            "replies_delivered": len(self.replies_delivered),
            "reply_ms": [round(v * 1000, 3) for v in self.replies_delivered.values()],
            "errors": dict(self.errors),
            "closed": closed,
            "lag_ms": sorted(round(v * 1000, 3) for v in self.lag)[-20:],
            "lag_samples": len(self.lag),
        }


async def run_active(config: Config, commands) -> None:
    rng = random.Random(config.seed)  # noqa: S311 - phases, not secrets
    background: set[asyncio.Task] = set()
    current: list[Round | None] = [None]
    closed = [0]
    quitting = asyncio.Event()
    echo = config.mode == "echo"

    def arrived(key: str | None, table: dict, sent: dict, rnd: Round, now: float) -> None:
        if key is None or key not in sent:
            return
        if key in table:
            rnd.duplicated += 1
        else:
            table[key] = now - sent[key]

    async def read(socket, side: str) -> None:
        try:
            async for text in socket:
                now = time.perf_counter()
                rnd = current[0]
                if rnd is None:
                    continue
                message = json.loads(text)
                kind = message.get("type")
                if kind == "error":
                    rnd.errors[message.get("code", "?")] += 1
                elif echo and kind == "send":
                    arrived(message.get("client_key"), rnd.delivered, rnd.sent, rnd, now)
                elif kind == "ack" and side == "customer":
                    key = message.get("client_key")
                    if key in rnd.sent and key not in rnd.acked:
                        rnd.acked[key] = now - rnd.sent[key]
                elif kind == "message":
                    line = message.get("message") or {}
                    key = line.get("client_key")
                    if side == "agent" and line.get("from") == "customer":
                        arrived(key, rnd.delivered, rnd.sent, rnd, now)
                    elif side == "customer" and line.get("from") == "agent":
                        arrived(key, rnd.replies_delivered, rnd.replies_sent, rnd, now)
        except ConnectionClosed:
            pass
        if not quitting.is_set():
            closed[0] += 1

    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one(path: str, session: str | None, console: bool):
        async with gate:
            socket = await open_socket(config, path, session)
            hello, answer = hello_for(config.mode, console=console)
            await socket.send(json.dumps(hello))
            await first_of(socket, answer, HELLO_TIMEOUT)
            return socket

    started = time.perf_counter()
    if echo:
        consoles = []
        customers = await asyncio.gather(
            *(open_one("/echo/", None, console=False) for _ in config.chats)
        )
    else:
        consoles = await asyncio.gather(
            *(open_one("/ws/agent/", session, console=True) for session in config.consoles)
        )
        customers = await asyncio.gather(
            *(
                open_one(f"/ws/chat/{key}/", session, console=False)
                for key, session, _a in config.chats
            )
        )
    for socket in consoles:
        background.add(asyncio.create_task(read(socket, "agent")))
    for socket in customers:
        background.add(asyncio.create_task(read(socket, "customer")))

    async def heartbeats() -> None:
        while not quitting.is_set():
            await asyncio.sleep(config.heartbeat)
            for socket in consoles:
                with contextlib.suppress(ConnectionClosed):
                    await socket.send(json.dumps({"type": "heartbeat"}))

    if consoles:
        background.add(asyncio.create_task(heartbeats()))
    emit(
        event="ready",
        opened=len(consoles) + len(customers),
        failed=0,
        seconds=time.perf_counter() - started,
    )

    async def ticks(first: float, period: float, stop: asyncio.Event):
        """0, 1, 2 ... at `first`, then every `period` seconds, until `stop` is set."""
        at, n = first, 0
        while True:
            delay = at - time.perf_counter()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            if stop.is_set():
                return
            yield n
            n += 1
            at += period

    async def customer_lines(i: int, socket, rnd: Round, stop: asyncio.Event) -> None:
        period = 1 / config.rate
        async for n in ticks(rnd.started + rng.uniform(0, period), period, stop):
            key = uuid.uuid4().hex
            body = {"type": "send", "client_key": key, "body": f"Line {n} of chat {i}"}
            rnd.sent[key] = time.perf_counter()
            try:
                await socket.send(json.dumps(body))
            except ConnectionClosed:
                return

    async def agent_lines(a: int, socket, rnd: Round, stop: asyncio.Event) -> None:
        mine = [uuid.UUID(key).hex for key, _s, agent in config.chats if agent == a]
        if not mine or config.agent_every <= 0:
            return
        first = rnd.started + rng.uniform(0, config.agent_every)
        async for n in ticks(first, config.agent_every, stop):
            key = uuid.uuid4().hex
            chat = mine[n % len(mine)]
            body = {"type": "send", "chat": chat, "client_key": key, "body": f"Reply {n}"}
            rnd.replies_sent[key] = time.perf_counter()
            try:
                await socket.send(json.dumps(body))
            except ConnectionClosed:
                return

    async def lag(rnd: Round, stop: asyncio.Event) -> None:
        """How late this process's event loop wakes up: the generator's own delay."""
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            rnd.lag.append(time.perf_counter() - before - 0.01)

    async for line in commands:
        if line == "quit":
            break
        if line != "go":
            continue
        rnd = Round()
        current[0] = rnd
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(customer_lines(i, s, rnd, stop)) for i, s in enumerate(customers)
        ]
        tasks += [asyncio.create_task(agent_lines(a, s, rnd, stop)) for a, s in enumerate(consoles)]
        tasks.append(asyncio.create_task(lag(rnd, stop)))
        async for line in commands:
            if line in ("stop", "quit"):
                break
        stop.set()
        await asyncio.gather(*tasks)
        rnd.stopped = time.perf_counter()
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline and (
            len(rnd.delivered) < len(rnd.sent) or len(rnd.replies_delivered) < len(rnd.replies_sent)
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a duplicate right behind the first copy
        current[0] = None
        emit(**rnd.figures(closed[0]))
        if line == "quit":
            break
    quitting.set()
    for socket in [*consoles, *customers]:
        with contextlib.suppress(Exception):  # closing anyway
            await socket.close()
    emit(event="done", closed=closed[0])


async def main(path: str) -> None:
    raise_file_limit()
    with open(path) as file:
        config = Config(json.load(file))
    commands = stdin_lines()
    try:
        if config.role == "idle":
            await run_idle(config, commands)
        else:
            await run_active(config, commands)
    except Exception as error:  # the bench reads it
        emit(event="failed", error=f"{type(error).__name__}: {error}")
        raise


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
