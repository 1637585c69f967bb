"""Live chat: websockets and pages on `make run`'s server, against a bare echo server.

In one run (issue 17):

1. Pages under both servers: the bench's WSGI server (bench/server.py: gunicorn's sync
   workers, helpdesk.wsgi) and the server as `make run` now starts it (gunicorn with
   uvicorn workers, helpdesk/asgi.py: pages on a2wsgi's thread pool), the same GET
   targets as the Figures section, 1 at a time and with N clients.
2. On `make run`'s server, with the chat's data (bench/chat/data.py): 2,000 idle customer
   sockets, each of a queued chat, opened by one generator process; the workers'
   resident memory before and after them gives the memory per idle connection. Then a
   second generator process opens the 10 agents' consoles and the 100 active chats'
   customer sockets, and each customer sends a line a second; the time from the send to
   the agent's console having it is the chat's delivery latency (bench/chat/client.py).
   Meanwhile the agent queue (GET /agent/, 1 at a time) is measured again.
3. The bare echo app (bench/chat/echo.py) under the same command and workers, the same
   2,000 idle sockets and 100 sending ones: its send-to-echo latency is the baseline.

A round of messages disturbed by other processes (more than DISTURBED of the CPUs) is
run again on the same sockets, within --retry-budget; the least disturbed is kept.
"""

from __future__ import annotations

import json
import math
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field

from bench import loadgen
from bench.common import BASE_DIR, BENCH_DATABASE, HOST_NAME, LOG_DIR, PY, WORKERS, log
from bench.cpu import DISTURBED, OtherCpu, wait_for_quiet
from bench.section import BenchRun, Section, TargetRow

RATE = 1.0  # lines a second from each active chat's customer
AGENT_EVERY = 2.0  # seconds between an agent's replies (to their chats in turn)
SETTLE = 3.0  # seconds between opening sockets and reading the workers' memory
P95_TARGET_MS = 50
ECHO_RATIO = 3
QUEUE_TARGET_MS = 30
QUEUE = "Agent queue, default view"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as bench/loadgen.py's p95)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


class Generator:
    """A load generator process (bench/chat/client.py), steered over stdin/stdout."""

    def __init__(self, name: str, config: dict, env: dict[str, str]):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        path = LOG_DIR / f"chat-{name}.json"
        path.write_text(json.dumps(config))
        self.name = name
        self.lines: queue.Queue = queue.Queue()
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            [PY, "-m", "bench.chat.client", str(path)],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(LOG_DIR / f"chat-{name}.log").open("w"),
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put({"event": "exited"})

    def expect(self, event: str, timeout: float) -> dict:
        try:
            found = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise SystemExit(f"chat generator {self.name}: no {event} in {timeout:g} s") from None
        if found.get("event") != event:
            self.stop()
            raise SystemExit(
                f"chat generator {self.name}: {found} instead of {event}; "
                f"see {LOG_DIR / f'chat-{self.name}.log'}"
            )
        return found

    def say(self, command: str) -> None:
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # it failed; expect() says how
            pass

    def quit(self) -> dict:
        if self.process.poll() is not None:
            return {}
        try:
            self.say("quit")
            return self.expect("done", 120)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Round:
    figures: dict  # the generator's (bench/chat/client.py Round.figures)
    other: float  # other processes' CPU share meanwhile
    cpu: dict[str, float]  # our processes' CPU shares meanwhile
    queue: loadgen.Result | None = None  # the agent queue meanwhile (chat only)

    def ms(self, name: str = "latency_ms") -> list[float]:
        return self.figures[name]


@dataclass
class SocketRun:
    """One server under the sockets: the chat app or the echo."""

    mode: str
    idle_opened: int = 0
    idle_failed: int = 0
    idle_errors: dict = field(default_factory=dict)
    idle_seconds: float = 0.0
    active_opened: int = 0
    memory_before: dict[int, int] = field(default_factory=dict)  # worker -> RSS KiB
    memory_idle: dict[int, int] = field(default_factory=dict)
    memory_all: dict[int, int] = field(default_factory=dict)
    files_idle: dict[int, int] = field(default_factory=dict)  # worker -> open files
    files_all: dict[int, int] = field(default_factory=dict)  # with the measured sockets too
    rounds: list[Round] = field(default_factory=list)  # the sockets alone
    with_queue: Round | None = None  # then with the agent queue measured meanwhile
    idle_dropped: int = 0  # idle sockets the server closed

    @property
    def best(self) -> Round | None:
        return min(self.rounds, key=lambda r: r.other) if self.rounds else None

    @property
    def per_idle_kib(self) -> float:
        if not self.idle_opened:
            return math.nan
        grown = sum(self.memory_idle.values()) - sum(self.memory_before.values())
        return grown / self.idle_opened


class LiveChat(Section):
    title = "Live chat: websockets on `make run`'s server"

    def __init__(self):
        self.note = ""
        self.files_limit = (0, 0)
        self.wsgi: list = []  # Measured, per page target
        self.asgi: list = []
        self.chat: SocketRun | None = None
        self.echo: SocketRun | None = None
        self.stored_echo: SocketRun | None = None
        self.idle = 0
        self.active = 0
        self.seconds = 0.0

    # -- measuring -----------------------------------------------------------------------

    def measure_in_process(self, run: BenchRun) -> None:
        from django.db import connections

        from bench.chat import data, servers
        from bench.http_load import check_pages, measure
        from bench.sections.figures import HttpFigures
        from bench.server import free_port, start_gunicorn, stop

        args = run.args
        self.files_limit = servers.raise_file_limit()
        people = data.prepare(run.fixtures.tenant, log)
        self.note = people.note
        connections.close_all()
        self.idle = min(args.chat_idle, len(people.idle))
        self.active = len(people.active)
        self.seconds = args.chat_seconds
        pages = [t for t in HttpFigures().http_targets(run) if t.method == "GET"]
        queue_target = next(t for t in pages if t.name == QUEUE)

        wait_for_quiet(args.wait_quiet)
        port = free_port()
        log(f"chat: pages under the WSGI server (sync workers) on {port}")
        server = start_gunicorn(run.env, port)
        try:
            check_pages(port, pages)
            self.wsgi = measure(port, pages, args)
        finally:
            stop(server)

        port = free_port()
        log(f"chat: `make run`'s server (uvicorn workers, helpdesk.asgi) on {port}")
        server = servers.start_web(run.env, port)
        try:
            check_pages(port, pages)
            self.asgi = measure(port, pages, args)
            self.chat = self._sockets(run, server, port, people, "chat", queue_target)
        finally:
            stop(server)

        self.echo = self._echo_round(
            run, people, servers.start_echo, "the echo app under the same command"
        )
        try:
            self.stored_echo = self._echo_round(
                run,
                people,
                servers.start_stored_echo,
                "the echo that stores and publishes each line, same command",
            )
        finally:
            _drop_stored_lines()
        data.forget_messages(run.fixtures.tenant)
        connections.close_all()

    def _echo_round(self, run, people, start, what: str) -> SocketRun:
        """The same sockets and lines against a baseline server (`start`: bench/chat/servers.py)."""
        from bench.server import free_port, stop

        port = free_port()
        log(f"chat: {what} on {port}")
        server = start(run.env, port)
        try:
            return self._sockets(run, server, port, people, "echo", None)
        finally:
            stop(server)

    def _sockets(self, run, server, port, people, mode, queue_target) -> SocketRun:
        from bench.chat import servers

        args = run.args
        host = f"{HOST_NAME}:{port}"
        found = SocketRun(mode)
        workers = servers.worker_pids(server.pid)
        base = {"mode": mode, "port": port, "host": host}
        time.sleep(SETTLE)
        found.memory_before = servers.Memory.of(workers).rss_kib
        idle = Generator(
            f"{mode}-idle",
            {
                **base,
                "role": "idle",
                "idle": [[f"/ws/chat/{key}/", session] for key, session in people.idle][
                    : self.idle
                ],
            },
            run.env,
        )
        active = None
        try:
            ready = idle.expect("ready", 600)
            found.idle_opened, found.idle_failed = ready["opened"], ready["failed"]
            found.idle_errors, found.idle_seconds = ready["errors"], ready["seconds"]
            log(
                f"chat: {mode}: {found.idle_opened:,} idle sockets open in "
                f"{found.idle_seconds:.1f} s ({found.idle_failed} failed)"
            )
            time.sleep(SETTLE)
            memory = servers.Memory.of(workers)
            found.memory_idle, found.files_idle = memory.rss_kib, memory.files
            log(
                f"chat: {mode}: workers' memory "
                f"{sum(found.memory_before.values()) / 1024:.0f} -> "
                f"{memory.total_kib / 1024:.0f} MiB, {found.per_idle_kib:.1f} KiB per idle socket"
            )
            active = Generator(
                f"{mode}-active",
                {
                    **base,
                    "role": "active",
                    "consoles": people.agent_sessions,
                    "chats": [list(chat) for chat in people.active],
                    "rate": RATE,
                    "agent_every": AGENT_EVERY,
                },
                run.env,
            )
            found.active_opened = active.expect("ready", 300)["opened"]
            memory = servers.Memory.of(workers)
            found.memory_all, found.files_all = memory.rss_kib, memory.files
            budget_ends = time.monotonic() + args.retry_budget
            while True:
                found.rounds.append(self._round(run, server, workers, [idle, active], port))
                last = found.rounds[-1]
                if last.other <= DISTURBED or time.monotonic() > budget_ends:
                    break
                log(f"chat: {mode}: disturbed by other processes; measuring it again")
                wait_for_quiet(max(min(60.0, budget_ends - time.monotonic()), 0))
            if queue_target is not None:
                found.with_queue = self._round(
                    run, server, workers, [idle, active], port, queue_target
                )
        finally:
            if active is not None:
                active.quit()
            found.idle_dropped = idle.quit().get("dropped", 0)
        return found

    def _round(self, run, server, workers, generators, port, queue_target=None) -> Round:
        """A round of lines on the open sockets: --chat-seconds of them alone, or for as
        long as the agent queue takes to measure meanwhile (`queue_target`)."""
        from bench.chat import servers

        idle, active = generators
        groups = {
            "server": [server.pid, *workers],
            "generators": [idle.process.pid, active.process.pid],
            "postgres": servers.postgres_backends(BENCH_DATABASE),
            "redis": servers.redis_pids(run.env["REDIS_URL"]),
        }
        cpu = servers.CpuUse(groups)
        other = OtherCpu()
        active.say("go")
        result = None
        if queue_target is not None:
            time.sleep(2.0)  # the lines are flowing
            result = loadgen.sequential(
                port,
                f"{HOST_NAME}:{port}",
                queue_target,
                requests=run.args.requests,
                warmup=run.args.warmup,
            )
        else:
            time.sleep(self.seconds)
        active.say("stop")
        figures = active.expect("round", 120)
        share = other.share()
        shares = cpu.shares({"postgres": servers.postgres_backends(BENCH_DATABASE)})
        r = Round(figures, share, shares, result)
        ms = r.ms()
        label = "chat" if figures.get("replies_sent") else "echo"
        label += " with the agent queue" if queue_target is not None else ""
        log(
            f"chat: {label}: {figures['sent']} lines in "
            f"{figures['seconds']:.0f} s: p50 {percentile(ms, 0.5):.1f} ms, "
            f"p95 {percentile(ms, 0.95):.1f} ms, lost {figures['lost']}, duplicated "
            f"{figures['duplicated']}, errors {figures['errors'] or 0} "
            f"(other processes: {share:.0%}; "
            + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
            + ")"
        )
        if result is not None:
            log(
                f"chat: agent queue meanwhile: median {result.median_ms:.1f} ms, "
                f"p95 {result.p95_ms:.1f} ms, errors {result.errors}"
            )
        return r

    # -- what it found -----------------------------------------------------------------------

    def _queue_pair(self):
        """The agent queue 1 at a time on `make run`'s server: without sockets, with them."""
        without = next((m for m in self.asgi if m.target.name == QUEUE), None)
        under = self.chat.with_queue if self.chat else None
        return without, (under.queue if under else None)

    def targets(self, run: BenchRun) -> list[TargetRow]:
        if self.chat is None or self.echo is None:
            return []
        chat, echo = self.chat.best, self.echo.best
        chat_p95 = percentile(chat.ms(), 0.95)
        echo_p95 = percentile(echo.ms(), 0.95)
        f = chat.figures
        intact = f["lost"] == 0 and f["duplicated"] == 0 and f["sent"] > 0
        rows = [
            (
                f"Chat delivery, a customer's send to the agent's console, p95 < "
                f"{P95_TARGET_MS} ms ({self.chat.idle_opened:,} idle customer sockets, "
                f"{self.active} chats x {RATE:g} line/s), none lost or duplicated",
                f"p95 {chat_p95:.1f} ms (p50 {percentile(chat.ms(), 0.5):.1f}); "
                f"{f['sent']:,} lines, {f['lost']} lost, {f['duplicated']} duplicated",
                chat_p95 < P95_TARGET_MS and intact,
            ),
            (
                f"Chat delivery p95 ≤ {ECHO_RATIO} x a bare websocket echo's p95 (same "
                "workers, sockets and rate, same run)",
                f"{chat_p95:.1f} vs {echo_p95:.1f} ms = {chat_p95 / max(echo_p95, 1e-9):.1f} x",
                chat_p95 <= ECHO_RATIO * echo_p95,
            ),
        ]
        without, under = self._queue_pair()
        if without and under:
            rows.append(
                (
                    f"Agent queue first page (default view), p95 < {QUEUE_TARGET_MS} ms, 1 at a "
                    "time, while the idle sockets and the chats run (`make run`'s server)",
                    f"p95 {under.p95_ms:.1f} ms with them, {without.sequential.p95_ms:.1f} ms "
                    f"without ({under.p95_ms - without.sequential.p95_ms:+.1f} ms)",
                    under.p95_ms < QUEUE_TARGET_MS and not under.errors,
                )
            )
        wsgi = {m.target.name: m for m in self.wsgi}
        for m in self.asgi:
            if m.target.name == "Bare Django JSON view":
                continue
            other = wsgi.get(m.target.name)
            label = m.target.name.split(" (#")[0]
            rows.append(
                (
                    f"{label}, p95 < {QUEUE_TARGET_MS} ms, 1 at a time, under `make run`'s "
                    "server (uvicorn workers, pages on a2wsgi's threads)",
                    f"p95 {m.sequential.p95_ms:.1f} ms (WSGI sync workers, same run: "
                    f"{other.sequential.p95_ms:.1f} ms)"
                    if other
                    else f"p95 {m.sequential.p95_ms:.1f} ms",
                    m.sequential.p95_ms < QUEUE_TARGET_MS and not m.sequential.errors,
                )
            )
        return rows

    def report(self, run: BenchRun) -> list[str]:
        if self.chat is None or self.echo is None:
            return ["Not measured in this run."]
        from bench.chat import data
        from bench.chat.servers import web_command

        args = run.args
        command = " ".join(["python", *web_command(0)[1:]]).replace(":0", ":<free port>")
        lines = [
            f"Data in tenant `bench` (bench/chat/data.py; {self.note}): {data.CUSTOMERS:,} "
            f"customers of {data.ORGANIZATIONS} Pro+ organizations, {data.AGENTS} agents "
            f"online with capacity {data.CAPACITY} each; {self.active} active chats (every "
            f"agent at capacity) and {data.CUSTOMERS - data.ACTIVE:,} queued ones, so routing "
            "offers nothing and the queued customers' sockets stay idle. Each chat is a ticket "
            "of the desk (channel chat), so the agent queue shows them too. No Celery worker "
            "or beat runs.",
            "",
            f"Server: `{command}` (devstack.web_command, as `make run` and the Dockerfile start "
            f"it: {WORKERS} uvicorn worker processes, pages on a2wsgi's thread pool, websockets "
            "through Channels on the Redis pub/sub layer) with the bench's settings (DEBUG=0, "
            "bench.settings) and the settings' database pool. Baseline: the same command "
            "serving bench/chat/echo.py, a bare ASGI app sending each frame back; and "
            "bench/chat/stored_echo.py, which first stores each frame (one INSERT in its "
            "own transaction, one at a time per process) and publishes it through Redis, "
            "sending it back when the publication returns: what a chat line must do before "
            "anyone hears of it, and nothing else.",
            "",
            "Clients (bench/chat/client.py, `websockets` asyncio client, permessage-deflate as "
            f"browsers negotiate, no client pings): one process opens {self.idle:,} idle "
            "customer sockets, each saying hello as the chat page does and then waiting; a "
            f"second opens the {data.AGENTS} agents' consoles (hello, a heartbeat every 15 s) "
            f"and the {self.active} active chats' customer sockets. In a round, each customer "
            f"sends {RATE:g} line a second at a phase of its own and each agent replies every "
            f"{AGENT_EVERY:g} s to their chats in turn; latency is from just before the send "
            "to the other side's socket having the message, both sockets in the same "
            "process, on one monotonic clock. The echo gets the same idle sockets and the "
            "same sends, timed to the frame's return. Open files allowed: "
            f"{self.files_limit[0]:,} (raised to the hard limit, {self.files_limit[1]:,}, for "
            "the servers and clients).",
            "",
            "| | messages | p50 ms | p95 ms | p99 ms | max ms | lost | duplicated | errors "
            "| other processes' CPU |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        chat, echo, busy = self.chat.best, self.echo.best, self.chat.with_queue
        rows = [
            ("Chat: customer's send → agent's console", chat, "latency_ms", self.chat.rounds),
            ("Chat: agent's reply → customer's socket", chat, "reply_ms", self.chat.rounds),
            ("Chat: customer's send → its ack", chat, "ack_ms", self.chat.rounds),
            ("Echo: send → the frame back", echo, "latency_ms", self.echo.rounds),
        ]
        stored = self.stored_echo.best if self.stored_echo else None
        if stored is not None:
            rows.append(
                (
                    "Stored echo: send → stored, published, the frame back",
                    stored,
                    "latency_ms",
                    self.stored_echo.rounds,
                )
            )
        if busy is not None:
            rows.append(
                (
                    "Chat: customer's send → agent's console, while the agent queue is "
                    "measured (below)",
                    busy,
                    "latency_ms",
                    [busy],
                )
            )
        for label, rnd, name, rounds in rows:
            lines.append(self._latency_row(label, rnd, name, rounds))
        if stored is not None:
            chat_p95, stored_p95 = (percentile(r.ms(), 0.95) for r in (chat, stored))
            lines += [
                "",
                f"Chat delivery against the stored echo, p95: {chat_p95:.1f} vs "
                f"{stored_p95:.1f} ms = {chat_p95 / max(stored_p95, 1e-9):.1f} x (against the "
                f"bare echo: {chat_p95 / max(percentile(echo.ms(), 0.95), 1e-9):.1f} x). What "
                "storing and publishing a line cost by themselves, and what the chat adds.",
            ]
        lines += [
            "",
            *self._spread_lines(chat),
            f"Rounds of {self.seconds:g} s; the last chat round lasts as long as the agent "
            "queue takes to measure, 1 at a time, from its second second on. The generators' "
            "own event-loop delay (a 10 ms sleep's overshoot) was at most "
            f"{max(chat.figures['lag_ms'], default=0):.1f} ms in the chat round and "
            f"{max(echo.figures['lag_ms'], default=0):.1f} ms in the echo's; both "
            "measurements include it.",
            "",
            "CPU during the rounds, as a share of all the machine's CPUs:",
            "",
            "| round | server (gunicorn + workers) | generators | PostgreSQL (bench database) "
            "| Redis | other processes |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        shown = [("chat", chat), ("echo", echo)]
        if stored is not None:
            shown.append(("stored echo", stored))
        if busy is not None:
            shown.append(("chat, with the agent queue", busy))
        for label, rnd in shown:
            c = rnd.cpu
            lines.append(
                f"| {label} | {c['server']:.0%} | {c['generators']:.0%} | {c['postgres']:.0%} "
                f"| {c['redis']:.0%} | {rnd.other:.0%} |"
            )
        lines += ["", *self._memory_lines(), "", *self._page_lines(args)]
        return lines

    @staticmethod
    def _latency_row(label: str, rnd: Round, name: str, rounds: list[Round]) -> str:
        f = rnd.figures
        sent, lost, dup = {
            "latency_ms": (f["sent"], f["lost"], f["duplicated"]),
            "reply_ms": (f["replies_sent"], f["replies_sent"] - f["replies_delivered"], "—"),
            "ack_ms": (f["sent"], f["sent"] - f["acked"], "—"),
        }[name]
        ms = rnd.ms(name)
        errors = ", ".join(f"{k} {v}" for k, v in f["errors"].items()) or "0"
        again = f" ({len(rounds)} rounds)" if len(rounds) > 1 else ""
        return (
            f"| {label} | {sent:,} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.95):.1f} "
            f"| {percentile(ms, 0.99):.1f} | {max(ms, default=math.nan):.1f} | {lost} "
            f"| {dup} | {errors} | {rnd.other:.0%}{again} |"
        )

    def _spread_lines(self, chat: Round) -> list[str]:
        """Where the measured sockets landed, and when in the round the time went."""
        s = self.chat
        measured = [
            f"{s.files_all.get(pid, 0) - s.files_idle.get(pid, 0):,}" for pid in sorted(s.files_all)
        ]
        seconds = chat.figures.get("by_second", [])
        worst = max(seconds, key=lambda row: row[2], default=None)
        lines = [
            f"The {s.active_opened} measured sockets (consoles and customers) by worker "
            f"process, from their open files: {' / '.join(measured)} (gunicorn's workers "
            "race for each new connection)."
        ]
        if worst:
            lines[0] += (
                " Median delivery by second of the chat round (ms): "
                + ", ".join(f"{row[2]:.0f}" for row in seconds)
                + f"; the worst second ({worst[0]}) {worst[2]:.0f} ms, its slowest line "
                f"{worst[3]:.0f} ms."
            )
        return [*lines, ""]

    def _memory_lines(self) -> list[str]:
        lines = [
            "Memory: the workers' resident memory (VmRSS of gunicorn's worker processes) before "
            f"and {SETTLE:g} s after the idle sockets opened, and their growth per socket:",
            "",
            "| server | idle sockets open | failed | seconds to open | RSS before MiB "
            "| RSS with them MiB | KiB per idle socket | sockets per worker (open files) |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        servers = [("chat (`make run`'s)", self.chat), ("echo", self.echo)]
        if self.stored_echo is not None:
            servers.append(("stored echo", self.stored_echo))
        for label, s in servers:
            spread = " / ".join(f"{s.files_idle[pid]:,}" for pid in sorted(s.files_idle))
            lines.append(
                f"| {label} | {s.idle_opened:,} | {s.idle_failed} | {s.idle_seconds:.1f} "
                f"| {sum(s.memory_before.values()) / 1024:.0f} "
                f"| {sum(s.memory_idle.values()) / 1024:.0f} | {s.per_idle_kib:.1f} "
                f"| {spread} |"
            )
        for s in (self.chat, self.echo):
            if s.idle_errors:
                lines.append(f"\n{s.mode}: sockets that did not open: {s.idle_errors}.")
            if s.idle_dropped:
                lines.append(f"\n{s.mode}: {s.idle_dropped} idle sockets closed by the server.")
        return lines

    def _page_lines(self, args) -> list[str]:
        without, under = self._queue_pair()
        lines = [
            "Pages under both servers, same run: the bench's WSGI server (bench/server.py: "
            f"`helpdesk.wsgi`, {WORKERS} sync workers, one persistent database connection "
            "each) and `make run`'s (above: uvicorn workers, the WSGI app on a2wsgi's "
            "threads, the database pool). Medians and p95 1 at a time, then "
            f"{args.clients} clients for {args.seconds:g} s:",
            "",
            "| request | server | median ms | p95 ms | req/s | req/s, "
            f"{args.clients} clients | p95 ms, {args.clients} clients | errors "
            "| other processes' CPU |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        wsgi = {m.target.name: m for m in self.wsgi}
        for m in self.asgi:
            for server, found in (("WSGI, sync", wsgi.get(m.target.name)), ("ASGI, uvicorn", m)):
                if found is None:
                    continue
                s, c = found.sequential, found.concurrent
                lines.append(
                    f"| {m.target.method} `{m.target.path}` — {m.target.name} | {server} "
                    f"| {s.median_ms:.1f} | {s.p95_ms:.1f} | {s.rps:.0f} | {c.rps:.0f} "
                    f"| {c.p95_ms:.1f} | {s.errors + c.errors} "
                    f"| {found.sequential_other:.0%} / {found.concurrent_other:.0%} |"
                )
        if without and under:
            lines += [
                "",
                f"The agent queue 1 at a time on `make run`'s server, {args.requests} requests "
                f"after {args.warmup} untimed: without sockets median "
                f"{without.sequential.median_ms:.1f} ms, p95 {without.sequential.p95_ms:.1f} "
                f"ms; while the {self.chat.idle_opened:,} idle sockets and the {self.active} "
                f"chats run, median {under.median_ms:.1f} ms, p95 {under.p95_ms:.1f} ms "
                f"({under.p95_ms - without.sequential.p95_ms:+.1f} ms), {under.errors} errors.",
            ]
        return lines


def _drop_stored_lines() -> None:
    """The stored echo's table (bench/chat/stored_echo.py), made by its first process."""
    from django.db import connection

    from bench.chat.stored_echo import TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
